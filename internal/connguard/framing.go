package connguard

import "fmt"

// FramingError is what a connection's Read returns once the framer finds a request whose framing
// two parsers could read differently. net/http answers it with 400 and closes the connection.
type FramingError struct {
	// Reason is a short, fixed name of what was wrong (metrics and logs).
	Reason string
	// Offset is the position in the connection's byte stream where the framer stopped.
	Offset int64
}

func (e *FramingError) Error() string {
	return fmt.Sprintf("connguard: malformed request framing at byte %d: %s", e.Offset, e.Reason)
}

// framerState is where the framer is in the request stream.
type framerState uint8

const (
	stHeadStart framerState = iota // before a request line; CRLFs here are skipped
	stLeadCR                       // after a CR before a request line
	stMethod
	stTarget
	stVersion
	stRequestLineLF
	stFieldStart
	stFieldName
	stFieldValue
	stFieldLF
	stHeadEndLF
	stBodyLength  // a Content-Length body
	stChunkSize   // the hex size of a chunk
	stChunkExt    // in a chunk extension (see extState)
	stChunkSizeLF // after the CR of a chunk-size line
	stChunkData
	stChunkDataCR
	stChunkDataLF
	stTrailerStart
	stTrailerName
	stTrailerValue
	stTrailerLF
	stTrailerEndLF
	stPreface // after "PRI * HTTP/2.0\r\n\r\n": expecting "SM\r\n\r\n"
	stHold    // a request offered a protocol switch: nothing more until it is decided
	stPassThrough
	stFailed
	// A WebSocket tunnel: the client's frames (RFC 6455, section 5.2).
	stWSHead0
	stWSHead1
	stWSLength
	stWSMask
	stWSPayload
)

// Chunk extension sub-states.
const (
	extNameStart uint8 = iota // after ';'
	extName
	extValueStart // after '='
	extToken
	extQuoted
	extQuotedPair
	extAfterQuote
)

// Field kinds the framer cares about.
const (
	fieldOther uint8 = iota
	fieldContentLength
	fieldTransferEncoding
	fieldUpgrade
	fieldHost
)

// Limits of the framer that do not depend on configuration.
const (
	maxMethodLen    = 32   // longer methods are refused
	maxNameLen      = 32   // longer field names are never framing fields
	maxFramingValue = 64   // longer Content-Length or Transfer-Encoding values are refused
	maxChunkLine    = 4096 // a chunk-size line with its extensions, as net/http's limit
	maxTrailerBytes = 4096 // the trailer section, as net/http's limit
	prefaceRest     = "SM\r\n\r\n"
)

// framer follows the HTTP/1.1 request stream of one connection byte by byte, as a strict RFC
// 9112 reader, and decides how much of it may reach net/http. It approves every byte as it
// examines it, except that the line feed ending a request head is approved only once the whole
// head has been checked: net/http cannot act on a request before it has read that byte, so a
// head the framer refuses never becomes a request. A refused head or chunked body stops the
// stream there.
//
// It refuses what two parsers could frame differently: bare LF or CR, obs-fold, whitespace
// before a field's colon, Transfer-Encoding other than exactly "chunked", Transfer-Encoding with
// Content-Length (in any order), Transfer-Encoding on HTTP/1.0, more than one Content-Length
// field (even with equal values), a Content-Length that is not a plain decimal number,
// look-alike names (Content_Length, Transfer_Encoding), more than one Host field, malformed
// chunk sizes, extensions, chunk ends and trailers. After a request that offers a protocol
// switch (an Upgrade field, or CONNECT) it holds everything until the connection is handed over
// (hijacked) or not; after a WebSocket switch it checks the client's frame headers.
type framer struct {
	st     framerState
	offset int64 // bytes examined so far
	// maxHead bounds a request head; see newFramer.
	maxHead int
	// priorKnowledgeH2 allows the HTTP/2 connection preface as the first bytes.
	priorKnowledgeH2 bool
	started          bool // a request line has been seen on this connection

	// The request head being read.
	headBytes     int
	method        [maxMethodLen]byte
	methodLen     int
	target        [2]byte
	targetLen     int
	version       [8]byte
	versionLen    int
	name          [maxNameLen]byte
	nameLen       int
	nameLong      bool
	kind          uint8
	value         [maxFramingValue]byte
	valueLen      int
	valueLong     bool
	fields        int
	contentLength int
	clValue       [maxFramingValue]byte
	clLen         int
	clLong        bool
	teCount       int
	teValue       [maxFramingValue]byte
	teLen         int
	teLong        bool
	upgrade       bool
	hosts         int

	// The body being read.
	remaining    int64 // bytes left of a Content-Length body or chunk
	chunkSize    uint64
	chunkDigits  int
	chunkLine    int
	ext          uint8
	trailerBytes int
	prefaceIndex int
	// switchAfter holds the stream after the current request's body.
	switchAfter bool
	// requests counts the complete requests framed so far.
	requests int
	// websocketOffer says the request that switched offered exactly "Upgrade: websocket".
	websocketOffer bool
	// The WebSocket frame being read: its header's remaining length bytes, the length so far,
	// the masking key bytes left, and whether it is a control frame.
	wsLengthBytes int
	wsLength      uint64
	wsMaskLeft    int
	wsControl     bool

	// err is why the stream failed; headFailed says it failed in a request head (net/http is
	// then reading a head, not a body).
	err        *FramingError
	headFailed bool
}

// newFramer returns a framer for one connection. maxHead must exceed what net/http itself
// accepts as a request head (MaxHeaderBytes plus its buffering), so that an over-long head is
// answered by net/http's 431 rather than by the framer.
func newFramer(maxHead int, priorKnowledgeH2 bool) *framer {
	return &framer{maxHead: maxHead, priorKnowledgeH2: priorKnowledgeH2}
}

// feed examines p and returns how many of its bytes may be delivered now. When it returns less
// than len(p), either the stream failed (f.err is set) or it is held (f.st == stHold): the rest
// of p must not be delivered, and is fed again after handOver.
func (f *framer) feed(p []byte) int {
	for i := 0; i < len(p); {
		switch f.st {
		case stPassThrough:
			f.offset += int64(len(p) - i)
			return len(p)
		case stHold, stFailed:
			return i
		case stBodyLength, stChunkData, stWSPayload:
			n := int64(len(p) - i)
			if n > f.remaining {
				n = f.remaining
			}
			f.remaining -= n
			f.offset += n
			i += int(n)
			if f.remaining == 0 {
				switch f.st {
				case stBodyLength:
					f.endMessage()
				case stChunkData:
					f.st = stChunkDataCR
				default:
					f.st = stWSHead0
				}
			}
			continue
		}
		if f.st == stFieldValue && f.kind == fieldOther || f.st == stTarget && f.targetLen >= len(f.target) {
			// Fast path through the bulk of a head: field values the framer does not keep, and
			// request targets past their first bytes.
			j := i
			limit := min(len(p), i+f.maxHead-f.headBytes)
			if f.st == stFieldValue {
				for j < limit && p[j] != '\r' && isFieldValueByte(p[j]) {
					j++
				}
			} else {
				for j < limit && p[j] > ' ' && p[j] < 0x7f {
					j++
				}
				f.targetLen += j - i
			}
			f.headBytes += j - i
			f.offset += int64(j - i)
			i = j
			if i == len(p) {
				break
			}
		}
		c := p[i]
		final := f.step(c)
		if f.st == stFailed {
			return i
		}
		if final && !f.checkHead() {
			return i
		}
		f.offset++
		i++
	}
	return len(p)
}

// fail stops the stream at the current byte.
func (f *framer) fail(reason string) bool {
	f.err = &FramingError{Reason: reason, Offset: f.offset}
	f.headFailed = f.st <= stHeadEndLF || f.st == stPreface
	f.st = stFailed
	return false
}

// passThrough stops framing: the connection was handed over (a protocol switch, or the HTTP/2
// preface) and what follows is no longer HTTP/1.1.
func (f *framer) passThrough() { f.st = stPassThrough }

// handOver is told that the connection was handed to a handler after the request that offered
// a switch: after a WebSocket offer the client's frames are checked from here on, so that
// nothing but WebSocket frames reaches the application through the tunnel; after any other
// offer the bytes pass unexamined.
func (f *framer) handOver() {
	if f.st == stHold && f.websocketOffer {
		f.st = stWSHead0
		return
	}
	f.passThrough()
}

// stepWebSocket examines one byte of a client frame header (RFC 6455, section 5.2): RSV2 and RSV3
// clear (RSV1 is permessage-deflate's), a defined opcode, control frames final and at most 125
// bytes, the mask bit set (a client must mask every frame), a minimal length encoding.
func (f *framer) stepWebSocket(c byte) {
	switch f.st {
	case stWSHead0:
		op := c & 0x0f
		f.wsControl = op >= 8
		switch {
		case c&0x30 != 0:
			f.fail("websocket-reserved-bits")
		case op > 2 && op < 8 || op > 10:
			f.fail("websocket-opcode")
		case f.wsControl && c&0x80 == 0:
			f.fail("websocket-fragmented-control")
		default:
			f.st = stWSHead1
		}
	case stWSHead1:
		if c&0x80 == 0 {
			f.fail("websocket-unmasked")
			return
		}
		n := c & 0x7f
		switch {
		case f.wsControl && n > 125:
			f.fail("websocket-control-too-long")
			return
		case n == 126:
			f.wsLengthBytes, f.wsLength = 2, 0
			f.st = stWSLength
		case n == 127:
			f.wsLengthBytes, f.wsLength = 8, 0
			f.st = stWSLength
		default:
			f.wsLength = uint64(n)
			f.wsMaskLeft = 4
			f.st = stWSMask
		}
	case stWSLength:
		if f.wsLengthBytes == 8 && f.wsLength == 0 && c&0x80 != 0 {
			f.fail("websocket-length")
			return
		}
		f.wsLength = f.wsLength<<8 | uint64(c)
		f.wsLengthBytes--
		if f.wsLengthBytes == 0 {
			f.wsMaskLeft = 4
			f.st = stWSMask
		}
	case stWSMask:
		f.wsMaskLeft--
		if f.wsMaskLeft == 0 {
			if f.wsLength == 0 {
				f.st = stWSHead0
				return
			}
			f.remaining = int64(f.wsLength)
			f.st = stWSPayload
		}
	}
}

// step examines one byte of a head, chunk framing or trailer. It reports whether c is the line
// feed ending a request head (which checkHead must accept before it is delivered).
func (f *framer) step(c byte) bool {
	if f.st <= stHeadEndLF {
		f.headBytes++
		if f.headBytes > f.maxHead {
			f.fail("head-too-large")
			return false
		}
	}
	switch f.st {
	case stHeadStart:
		switch {
		case c == '\r':
			f.st = stLeadCR
		case isTokenChar(c):
			f.method[0], f.methodLen = c, 1
			f.st = stMethod
		default:
			f.failByte(c, "invalid-request-line")
		}
	case stLeadCR:
		if c != '\n' {
			f.fail("bare-cr")
			return false
		}
		f.st = stHeadStart
	case stMethod:
		switch {
		case c == ' ':
			f.targetLen = 0
			f.st = stTarget
		case isTokenChar(c) && f.methodLen < maxMethodLen:
			f.method[f.methodLen] = c
			f.methodLen++
		default:
			f.failByte(c, "invalid-method")
		}
	case stTarget:
		switch {
		case c == ' ' && f.targetLen > 0:
			f.versionLen = 0
			f.st = stVersion
		case c > ' ' && c < 0x7f:
			if f.targetLen < len(f.target) {
				f.target[f.targetLen] = c
			}
			f.targetLen++
		default:
			f.failByte(c, "invalid-target")
		}
	case stVersion:
		switch {
		case c == '\r':
			if !f.validVersion() {
				f.fail("invalid-version")
				return false
			}
			f.st = stRequestLineLF
		case f.versionLen < len(f.version) && c > ' ' && c < 0x7f:
			f.version[f.versionLen] = c
			f.versionLen++
		default:
			f.failByte(c, "invalid-version")
		}
	case stRequestLineLF:
		if c != '\n' {
			f.fail("bare-cr")
			return false
		}
		f.st = stFieldStart
	case stFieldStart:
		switch {
		case c == '\r':
			f.st = stHeadEndLF
		case c == ' ' || c == '\t':
			f.fail("obs-fold")
		case isTokenChar(c):
			f.startName(c)
			f.st = stFieldName
		default:
			f.failByte(c, "invalid-field-name")
		}
	case stFieldName:
		switch {
		case c == ':':
			if !f.classifyName() {
				return false
			}
			f.st = stFieldValue
		case isTokenChar(c):
			f.addName(c)
		default:
			f.failByte(c, "invalid-field-name")
		}
	case stFieldValue:
		switch {
		case c == '\r':
			f.st = stFieldLF
		case isFieldValueByte(c):
			if f.kind != fieldOther {
				if f.valueLen < maxFramingValue {
					f.value[f.valueLen] = c
					f.valueLen++
				} else {
					f.valueLong = true
				}
			}
		default:
			f.failByte(c, "invalid-field-value")
		}
	case stFieldLF:
		if c != '\n' {
			f.fail("bare-cr")
			return false
		}
		f.endField()
		f.st = stFieldStart
	case stHeadEndLF:
		if c != '\n' {
			f.fail("bare-cr")
			return false
		}
		return true
	case stChunkSize:
		f.chunkLine++
		switch h := hexValue(c); {
		case h >= 0:
			if f.chunkDigits == 16 || f.chunkSize > (1<<63-1)>>4 {
				f.fail("invalid-chunk-size")
				return false
			}
			f.chunkSize = f.chunkSize<<4 | uint64(h)
			f.chunkDigits++
		case f.chunkDigits == 0:
			f.failByte(c, "invalid-chunk-size")
		case c == ';':
			f.ext = extNameStart
			f.st = stChunkExt
		case c == '\r':
			f.st = stChunkSizeLF
		default:
			f.failByte(c, "invalid-chunk-size")
		}
	case stChunkExt:
		f.chunkLine++
		if f.chunkLine > maxChunkLine {
			f.fail("chunk-line-too-long")
			return false
		}
		f.stepExtension(c)
	case stChunkSizeLF:
		if c != '\n' {
			f.fail("bare-cr")
			return false
		}
		if f.chunkSize == 0 {
			f.trailerBytes = 0
			f.st = stTrailerStart
			return false
		}
		f.remaining = int64(f.chunkSize)
		f.st = stChunkData
	case stChunkDataCR:
		if c != '\r' {
			f.fail("invalid-chunk-end")
			return false
		}
		f.st = stChunkDataLF
	case stChunkDataLF:
		if c != '\n' {
			f.fail("invalid-chunk-end")
			return false
		}
		f.startChunk()
	case stTrailerStart, stTrailerName, stTrailerValue, stTrailerLF, stTrailerEndLF:
		f.trailerBytes++
		if f.trailerBytes > maxTrailerBytes {
			f.fail("trailer-too-large")
			return false
		}
		f.stepTrailer(c)
	case stWSHead0, stWSHead1, stWSLength, stWSMask:
		f.stepWebSocket(c)
	case stPreface:
		if c != prefaceRest[f.prefaceIndex] {
			f.fail("invalid-preface")
			return false
		}
		f.prefaceIndex++
		if f.prefaceIndex == len(prefaceRest) {
			f.st = stPassThrough
		}
	}
	return false
}

// failByte fails on c, naming a bare line feed or carriage return as such.
func (f *framer) failByte(c byte, reason string) {
	switch c {
	case '\n':
		reason = "bare-lf"
	case '\r':
		reason = "bare-cr"
	}
	f.fail(reason)
}

func (f *framer) stepExtension(c byte) {
	switch f.ext {
	case extNameStart:
		if !isTokenChar(c) {
			f.failByte(c, "invalid-chunk-extension")
			return
		}
		f.ext = extName
	case extName, extToken:
		switch {
		case isTokenChar(c):
		case c == '=' && f.ext == extName:
			f.ext = extValueStart
		case c == ';':
			f.ext = extNameStart
		case c == '\r':
			f.st = stChunkSizeLF
		default:
			f.failByte(c, "invalid-chunk-extension")
		}
	case extValueStart:
		switch {
		case c == '"':
			f.ext = extQuoted
		case isTokenChar(c):
			f.ext = extToken
		default:
			f.failByte(c, "invalid-chunk-extension")
		}
	case extQuoted:
		switch {
		case c == '"':
			f.ext = extAfterQuote
		case c == '\\':
			f.ext = extQuotedPair
		case c == '\t' || c == ' ' || c == 0x21 || (c >= 0x23 && c <= 0x5b) || (c >= 0x5d && c <= 0x7e) || c >= 0x80:
		default:
			f.failByte(c, "invalid-chunk-extension")
		}
	case extQuotedPair:
		if !(c == '\t' || c == ' ' || (c > ' ' && c != 0x7f)) {
			f.failByte(c, "invalid-chunk-extension")
			return
		}
		f.ext = extQuoted
	case extAfterQuote:
		switch c {
		case ';':
			f.ext = extNameStart
		case '\r':
			f.st = stChunkSizeLF
		default:
			f.failByte(c, "invalid-chunk-extension")
		}
	}
}

func (f *framer) stepTrailer(c byte) {
	switch f.st {
	case stTrailerStart:
		switch {
		case c == '\r':
			f.st = stTrailerEndLF
		case c == ' ' || c == '\t':
			f.fail("obs-fold")
		case isTokenChar(c):
			f.st = stTrailerName
		default:
			f.failByte(c, "invalid-trailer")
		}
	case stTrailerName:
		switch {
		case c == ':':
			f.st = stTrailerValue
		case isTokenChar(c):
		default:
			f.failByte(c, "invalid-trailer")
		}
	case stTrailerValue:
		switch {
		case c == '\r':
			f.st = stTrailerLF
		case isFieldValueByte(c):
		default:
			f.failByte(c, "invalid-trailer")
		}
	case stTrailerLF:
		if c != '\n' {
			f.fail("bare-cr")
			return
		}
		f.st = stTrailerStart
	case stTrailerEndLF:
		if c != '\n' {
			f.fail("bare-cr")
			return
		}
		f.endMessage()
	}
}

func (f *framer) startName(c byte) {
	f.name[0], f.nameLen, f.nameLong = lower(c), 1, false
}

func (f *framer) addName(c byte) {
	if f.nameLen < maxNameLen {
		f.name[f.nameLen] = lower(c)
		f.nameLen++
	} else {
		f.nameLong = true
	}
}

// classifyName decides, at a field's colon, whether the framer keeps its value.
func (f *framer) classifyName() bool {
	f.kind, f.valueLen, f.valueLong = fieldOther, 0, false
	f.fields++
	if f.nameLong {
		return true
	}
	name := string(f.name[:f.nameLen])
	switch name {
	case "content-length":
		f.kind = fieldContentLength
	case "transfer-encoding":
		f.kind = fieldTransferEncoding
	case "upgrade":
		f.kind = fieldUpgrade
	case "host":
		f.kind = fieldHost
	default:
		// Some servers read '_' as '-'; a look-alike of a framing field is refused rather than
		// guessed at.
		folded := []byte(name)
		for i, b := range folded {
			if b == '_' {
				folded[i] = '-'
			}
		}
		if s := string(folded); s == "content-length" || s == "transfer-encoding" {
			return f.fail("framing-field-look-alike")
		}
	}
	return true
}

// endField records a complete framing field.
func (f *framer) endField() {
	switch f.kind {
	case fieldContentLength:
		f.contentLength++
		f.clLen, f.clLong = copy(f.clValue[:], f.value[:f.valueLen]), f.valueLong
	case fieldTransferEncoding:
		f.teCount++
		f.teLen, f.teLong = copy(f.teValue[:], f.value[:f.valueLen]), f.valueLong
	case fieldUpgrade:
		f.upgrade = true
		f.websocketOffer = !f.valueLong && equalFoldASCII(trimOWS(f.value[:f.valueLen]), "websocket")
	case fieldHost:
		f.hosts++
	}
}

func (f *framer) validVersion() bool {
	v := string(f.version[:f.versionLen])
	return v == "HTTP/1.1" || v == "HTTP/1.0" || (v == "HTTP/2.0" && f.isPreface())
}

// isPreface reports whether the request line read so far is that of the HTTP/2 connection
// preface at the start of a connection that accepts it.
func (f *framer) isPreface() bool {
	return f.priorKnowledgeH2 && !f.started && string(f.method[:f.methodLen]) == "PRI" && f.targetLen == 1 && f.target[0] == '*'
}

// checkHead decides a complete request head (its final line feed is the current byte): the
// body's framing, or failure.
func (f *framer) checkHead() bool {
	if !f.upgrade {
		f.websocketOffer = false
	}
	preface := f.isPreface() && string(f.version[:f.versionLen]) == "HTTP/2.0"
	f.started = true
	if preface {
		if f.fields != 0 {
			return f.fail("invalid-preface")
		}
		f.prefaceIndex = 0
		f.st = stPreface
		return true
	}
	http10 := string(f.version[:f.versionLen]) == "HTTP/1.0"
	f.switchAfter = f.upgrade || string(f.method[:f.methodLen]) == "CONNECT"
	switch {
	case f.hosts > 1:
		// Servers and proxies pick different ones (net/http the first); RFC 9112 section 3.2.
		return f.fail("multiple-host")
	case f.teCount > 0 && http10:
		return f.fail("transfer-encoding-in-http10")
	case f.teCount > 0 && f.contentLength > 0:
		return f.fail("content-length-and-transfer-encoding")
	case f.teCount > 1:
		return f.fail("multiple-transfer-encoding")
	case f.teCount == 1:
		if f.teLong || !equalFoldASCII(trimOWS(f.teValue[:f.teLen]), "chunked") {
			return f.fail("transfer-encoding-not-chunked")
		}
		f.startChunk()
		return true
	case f.contentLength > 1:
		return f.fail("multiple-content-length")
	case f.contentLength == 1:
		n, ok := parseContentLength(trimOWS(f.clValue[:f.clLen]))
		if f.clLong || !ok {
			return f.fail("invalid-content-length")
		}
		if n > 0 {
			f.remaining = n
			f.st = stBodyLength
			return true
		}
	}
	f.endMessage()
	return true
}

// startChunk prepares for the next chunk-size line.
func (f *framer) startChunk() {
	f.chunkSize, f.chunkDigits, f.chunkLine = 0, 0, 0
	f.st = stChunkSize
}

// endMessage ends the current request: the next one starts, or the stream is held until a
// protocol switch is decided.
func (f *framer) endMessage() {
	f.requests++
	f.headBytes, f.methodLen, f.targetLen, f.versionLen = 0, 0, 0, 0
	f.fields, f.contentLength, f.teCount, f.upgrade, f.hosts = 0, 0, 0, false, 0
	if f.switchAfter {
		// websocketOffer stays as the held request set it, for handOver.
		f.switchAfter = false
		f.st = stHold
		return
	}
	f.st = stHeadStart
}

// parseContentLength parses 1*DIGIT (at most 18 digits, so that it fits an int64).
func parseContentLength(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

func trimOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

func equalFoldASCII(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		if lower(b[i]) != s[i] {
			return false
		}
	}
	return true
}

func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func hexValue(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// isTokenChar reports whether c is a tchar (RFC 9110, section 5.6.2).
func isTokenChar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	switch c {
	case '!', '#', '$', '%', '&', '\'', '*', '+', '-', '.', '^', '_', '`', '|', '~':
		return true
	}
	return false
}

// isFieldValueByte reports whether c may appear in a field value: VCHAR, obs-text, SP, HTAB.
func isFieldValueByte(c byte) bool {
	return c == '\t' || c == ' ' || (c > ' ' && c != 0x7f)
}
