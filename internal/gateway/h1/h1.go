// Package h1 reads HTTP/1.1 messages strictly, for the gateway's decrypted tunnels: a request
// read from a client and a response read from a destination become an *http.Request and an
// *http.Response as net/http's http.ReadRequest and http.ReadResponse would make them, but
// anything two parsers could frame differently is refused instead of guessed at: obs-fold,
// whitespace before a colon, bytes outside a token in a field name, control characters in a
// value, bare LF line ends, Content-Length with Transfer-Encoding, differing or malformed
// Content-Lengths, a Transfer-Encoding other than exactly "chunked" (or any on HTTP/1.0),
// malformed chunk sizes and extensions, and heads or chunk lines beyond their bounds. Requests
// carry no trailer fields.
//
// A message read here is never forwarded from its bytes: the caller writes its own framing.
package h1

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
	"sync"

	"golang.org/x/net/http/httpguts"
)

// Limits bound a message's head.
type Limits struct {
	// MaxHeaderBytes bounds the start line and the header section together; default 64 KiB.
	MaxHeaderBytes int
	// MaxHeaders bounds the number of header fields; default 128.
	MaxHeaders int
}

func (l Limits) withDefaults() Limits {
	if l.MaxHeaderBytes <= 0 {
		l.MaxHeaderBytes = 64 << 10
	}
	if l.MaxHeaders <= 0 {
		l.MaxHeaders = 128
	}
	return l
}

// maxChunkLine bounds a chunk-size line with its extensions.
const maxChunkLine = 1024

// Error is a message refused for its syntax or framing. Status is the answer a server gives
// a refused request (400, 431 for a head too large, 501 for an unsupported transfer coding);
// Reason is a short fixed name for logs and metrics.
type Error struct {
	Status int
	Reason string
}

func (e *Error) Error() string { return "h1: malformed message: " + e.Reason }

func malformed(reason string) error { return &Error{Status: http.StatusBadRequest, Reason: reason} }

var errTooLarge = &Error{Status: http.StatusRequestHeaderFieldsTooLarge, Reason: "head-too-large"}

// ErrHeadTooLarge is the error of a head beyond Limits (errors.Is).
var ErrHeadTooLarge error = errTooLarge

// headReader reads the lines of one message head within its byte budget.
type headReader struct {
	br      *bufio.Reader
	budget  int
	scratch []byte
}

// line returns the next line without its CRLF; the slice is valid until the next call. A
// line ending in a bare LF, or holding a CR elsewhere, is refused.
func (h *headReader) line() ([]byte, error) {
	b, err := h.br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		h.scratch = append(h.scratch[:0], b...)
		for err == bufio.ErrBufferFull {
			if len(h.scratch) > h.budget {
				return nil, errTooLarge
			}
			b, err = h.br.ReadSlice('\n')
			h.scratch = append(h.scratch, b...)
		}
		b = h.scratch
	}
	if len(b) > h.budget {
		return nil, errTooLarge
	}
	if err != nil {
		if err == io.EOF && len(b) > 0 {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	h.budget -= len(b)
	if len(b) < 2 || b[len(b)-2] != '\r' {
		return nil, malformed("bare-lf")
	}
	return b[:len(b)-2], nil
}

// readFields reads header fields up to the empty line into hdr. The values of one head share
// one string and the single-valued fields one slice of strings, as in net/textproto: two
// allocations for the values of a head rather than two a field.
func (h *headReader) readFields(hdr http.Header, maxFields int) error {
	type field struct {
		key        string
		start, end int
	}
	var fieldBuf [32]field
	var arenaBuf [1024]byte
	fields, arena := fieldBuf[:0], arenaBuf[:0]
	for {
		line, err := h.line()
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
		if len(line) == 0 {
			break
		}
		if len(fields) == maxFields {
			return errTooLarge
		}
		colon := -1
		for i, c := range line {
			if c == ':' {
				colon = i
				break
			}
			if !isTokenByte(c) {
				if c == ' ' || c == '\t' {
					if i == 0 {
						return malformed("obs-fold")
					}
					return malformed("space-before-colon")
				}
				return malformed("bad-field-name")
			}
		}
		if colon <= 0 {
			return malformed("bad-field-line")
		}
		v := line[colon+1:]
		for _, c := range v {
			if !isValueByte(c) {
				return malformed("bad-field-value")
			}
		}
		v = trimOWS(v)
		fields = append(fields, field{key: canonicalKey(line[:colon]), start: len(arena), end: len(arena) + len(v)})
		arena = append(arena, v...)
	}
	if len(fields) == 0 {
		return nil
	}
	all := string(arena)
	strs := make([]string, len(fields))
	for i, f := range fields {
		strs[i] = all[f.start:f.end]
		if vv, ok := hdr[f.key]; ok {
			hdr[f.key] = append(vv, strs[i])
		} else {
			hdr[f.key] = strs[i : i+1 : i+1]
		}
	}
	return nil
}

// canonicalKey returns the canonical form of a field name of token bytes, without allocating
// for the common ones.
func canonicalKey(name []byte) string {
	if k, ok := commonKeys[string(name)]; ok {
		return k
	}
	return textproto.CanonicalMIMEHeaderKey(string(name))
}

var commonKeys = func() map[string]string {
	m := map[string]string{}
	for _, k := range []string{"Accept", "Accept-Encoding", "Accept-Language", "Authorization", "Cache-Control",
		"Connection", "Content-Encoding", "Content-Length", "Content-Type", "Cookie", "Date", "Etag", "Expect",
		"Expires", "Host", "If-Modified-Since", "If-None-Match", "Keep-Alive", "Last-Modified", "Location",
		"Origin", "Pragma", "Referer", "Server", "Set-Cookie", "Transfer-Encoding", "Upgrade", "User-Agent",
		"Vary", "Via", "X-Forwarded-For", "X-Request-Id", "Sec-Fetch-Mode", "Sec-Fetch-Site", "Sec-Fetch-Dest",
		"Accept-Ranges", "Age", "Strict-Transport-Security", "X-Content-Type-Options", "Content-Security-Policy"} {
		m[k] = k
		m[strings.ToLower(k)] = k
	}
	return m
}()

func trimOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

func isTokenByte(c byte) bool { return c < 0x80 && tokenTable[c] }

var tokenTable = func() (t [128]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = true, true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return t
}()

// isValueByte: a field value's bytes are HTAB, SP, visible ASCII and obs-text.
func isValueByte(c byte) bool { return c == '\t' || (c >= ' ' && c != 0x7f) }

// ReadRequest reads one request head from br and prepares its body. The request is in the
// form http.ReadRequest gives, with a Host header required (exactly one, valid) on HTTP/1.1,
// and a target in origin form, authority form for CONNECT, "*" for OPTIONS, or absolute form
// naming the same host as Host (which then, as in net/http, takes the URL's host). A malformed
// request is an *Error; io.EOF means the connection ended before a request began.
func ReadRequest(br *bufio.Reader, lim Limits) (*http.Request, error) {
	req := new(http.Request)
	if err := readRequest(br, lim, req); err != nil {
		return nil, err
	}
	return req, nil
}

// ReadRequestContext is ReadRequest giving the request the context ctx (as Request.WithContext
// would, without the copy).
func ReadRequestContext(ctx context.Context, br *bufio.Reader, lim Limits) (*http.Request, error) {
	var req http.Request
	if err := readRequest(br, lim, &req); err != nil {
		return nil, err
	}
	return req.WithContext(ctx), nil
}

// readRequest reads a request into req (a zero Request).
func readRequest(br *bufio.Reader, lim Limits, req *http.Request) error {
	lim = lim.withDefaults()
	h := headReader{br: br, budget: lim.MaxHeaderBytes}
	line, err := h.line()
	if err != nil {
		return err
	}
	req.Header = make(http.Header, 8)
	sp1 := indexByte(line, ' ')
	if sp1 <= 0 {
		return malformed("bad-request-line")
	}
	rest := line[sp1+1:]
	sp2 := indexByte(rest, ' ')
	if sp2 <= 0 {
		return malformed("bad-request-line")
	}
	method, target, proto := line[:sp1], rest[:sp2], rest[sp2+1:]
	for _, c := range method {
		if !isTokenByte(c) {
			return malformed("bad-method")
		}
	}
	for _, c := range target {
		if c <= ' ' || c >= 0x7f {
			return malformed("bad-target")
		}
	}
	switch string(proto) {
	case "HTTP/1.1":
		req.Proto, req.ProtoMajor, req.ProtoMinor = "HTTP/1.1", 1, 1
	case "HTTP/1.0":
		req.Proto, req.ProtoMajor, req.ProtoMinor = "HTTP/1.0", 1, 0
	default:
		return malformed("bad-version")
	}
	req.Method = methodString(method)
	req.RequestURI = string(target)
	if err := parseTarget(req); err != nil {
		return err
	}
	if err := h.readFields(req.Header, lim.MaxHeaders); err != nil {
		return err
	}
	hosts := req.Header["Host"]
	switch {
	case len(hosts) > 1:
		return malformed("duplicate-host")
	case len(hosts) == 1 && !httpguts.ValidHostHeader(hosts[0]):
		return malformed("bad-host")
	case len(hosts) == 0 && req.ProtoMinor == 1:
		return malformed("missing-host")
	}
	delete(req.Header, "Host")
	req.Host = req.URL.Host
	if req.Host == "" {
		if len(hosts) == 1 {
			req.Host = hosts[0]
		}
	} else if req.Method != http.MethodConnect && (len(hosts) == 0 || !strings.EqualFold(hosts[0], req.Host)) {
		return malformed("host-mismatch")
	}
	if p := req.Header["Pragma"]; len(p) > 0 && p[0] == "no-cache" {
		if _, ok := req.Header["Cache-Control"]; !ok {
			req.Header["Cache-Control"] = []string{"no-cache"}
		}
	}
	if _, ok := req.Header["Trailer"]; ok {
		return malformed("request-trailer")
	}
	conn := req.Header["Connection"]
	hasClose := httpguts.HeaderValuesContainsToken(conn, "close")
	if req.ProtoMinor == 0 {
		req.Close = hasClose || !httpguts.HeaderValuesContainsToken(conn, "keep-alive")
	} else {
		req.Close = hasClose
	}
	chunked, length, err := framing(req.Header, req.ProtoMinor)
	if err != nil {
		return err
	}
	switch {
	case chunked:
		delete(req.Header, "Transfer-Encoding")
		req.TransferEncoding = []string{"chunked"}
		req.ContentLength = -1
		req.Body = &Body{r: br, chunked: true, trailers: false}
	case length > 0:
		req.ContentLength = length
		req.Body = &Body{r: br, left: length}
	default:
		req.Body = http.NoBody
	}
	return nil
}

// parseTarget fills req.URL from req.RequestURI as net/http does, within the forms allowed.
func parseTarget(req *http.Request) error {
	raw := req.RequestURI
	switch {
	case req.Method == http.MethodConnect && !strings.HasPrefix(raw, "/"):
		u, err := url.ParseRequestURI("http://" + raw)
		if err != nil || u.Host == "" || u.Path != "" || u.RawQuery != "" || u.User != nil {
			return malformed("bad-target")
		}
		u.Scheme = ""
		req.URL = u
		return nil
	case raw == "*":
		if req.Method != http.MethodOptions {
			return malformed("bad-target")
		}
	case strings.HasPrefix(raw, "/"):
	default:
		if !strings.HasPrefix(raw, "https://") && !strings.HasPrefix(raw, "http://") {
			return malformed("bad-target")
		}
	}
	u, err := url.ParseRequestURI(raw)
	if err != nil || u.User != nil || u.Fragment != "" {
		return malformed("bad-target")
	}
	if u.IsAbs() && u.Host == "" {
		return malformed("bad-target")
	}
	req.URL = u
	return nil
}

// framing decides a message's body framing from its header: chunked, or a length (-1: none
// given). Both, a Transfer-Encoding other than exactly "chunked", one on HTTP/1.0, and
// differing or malformed lengths are refused.
func framing(h http.Header, minor int) (chunked bool, length int64, err error) {
	te, hasTE := h["Transfer-Encoding"]
	cl, hasCL := h["Content-Length"]
	if hasTE {
		if hasCL {
			return false, 0, malformed("length-and-chunked")
		}
		if minor == 0 {
			return false, 0, malformed("transfer-encoding-on-http/1.0")
		}
		if len(te) != 1 || te[0] != "chunked" {
			return false, 0, &Error{Status: http.StatusNotImplemented, Reason: "unsupported-transfer-encoding"}
		}
		return true, -1, nil
	}
	if !hasCL {
		return false, -1, nil
	}
	for _, v := range cl[1:] {
		if v != cl[0] {
			return false, 0, malformed("differing-content-length")
		}
	}
	if len(cl) > 1 {
		h["Content-Length"] = cl[:1]
	}
	n, ok := parseLength(cl[0])
	if !ok {
		return false, 0, malformed("bad-content-length")
	}
	return false, n, nil
}

// parseLength reads 1 to 18 decimal digits.
func parseLength(s string) (int64, bool) {
	if len(s) == 0 || len(s) > 18 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

func indexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}

// statusString returns a status line's code and reason without allocating for the common ones.
func statusString(s []byte) string {
	switch string(s) {
	case "200 OK":
		return "200 OK"
	case "204 No Content":
		return "204 No Content"
	case "304 Not Modified":
		return "304 Not Modified"
	}
	return string(s)
}

// methodString returns the method without allocating for the common ones.
func methodString(m []byte) string {
	switch string(m) {
	case "GET":
		return http.MethodGet
	case "POST":
		return http.MethodPost
	case "HEAD":
		return http.MethodHead
	case "PUT":
		return http.MethodPut
	case "DELETE":
		return http.MethodDelete
	case "OPTIONS":
		return http.MethodOptions
	case "PATCH":
		return http.MethodPatch
	case "CONNECT":
		return http.MethodConnect
	}
	return string(m)
}

// ReadResponse reads one response head from br, the answer to a request with the given
// method, and prepares its body, as http.ReadResponse does but strictly: a status line of
// "HTTP/1.1" or "HTTP/1.0", one space, three digits (100-599) and an optional reason; the same
// field rules as requests; and body framing that is exactly one of Content-Length, chunked, or
// (with neither) until the connection closes. 1xx, 204 and 304 responses and answers to HEAD
// have no body. Trailer fields of a chunked body go to Response.Trailer, as in net/http.
func ReadResponse(br *bufio.Reader, method string, lim Limits) (*http.Response, error) {
	lim = lim.withDefaults()
	h := headReader{br: br, budget: lim.MaxHeaderBytes}
	line, err := h.line()
	if err != nil {
		return nil, err
	}
	resp := &http.Response{Header: make(http.Header, 8)}
	if len(line) < 12 || line[8] != ' ' {
		return nil, malformed("bad-status-line")
	}
	switch string(line[:8]) {
	case "HTTP/1.1":
		resp.Proto, resp.ProtoMajor, resp.ProtoMinor = "HTTP/1.1", 1, 1
	case "HTTP/1.0":
		resp.Proto, resp.ProtoMajor, resp.ProtoMinor = "HTTP/1.0", 1, 0
	default:
		return nil, malformed("bad-version")
	}
	code := 0
	for _, c := range line[9:12] {
		if c < '0' || c > '9' {
			return nil, malformed("bad-status")
		}
		code = code*10 + int(c-'0')
	}
	if code < 100 || code > 599 {
		return nil, malformed("bad-status")
	}
	if len(line) > 12 {
		if line[12] != ' ' {
			return nil, malformed("bad-status-line")
		}
		for _, c := range line[13:] {
			if !isValueByte(c) {
				return nil, malformed("bad-reason")
			}
		}
	}
	resp.StatusCode = code
	resp.Status = statusString(line[9:])
	if err := h.readFields(resp.Header, lim.MaxHeaders); err != nil {
		return nil, err
	}
	chunked, length, err := framing(resp.Header, resp.ProtoMinor)
	if err != nil {
		return nil, err
	}
	conn := resp.Header["Connection"]
	hasClose := httpguts.HeaderValuesContainsToken(conn, "close")
	if resp.ProtoMinor == 0 {
		resp.Close = hasClose || !httpguts.HeaderValuesContainsToken(conn, "keep-alive")
	} else {
		resp.Close = hasClose
		if hasClose {
			delete(resp.Header, "Connection")
		}
	}
	noBody := method == http.MethodHead || code/100 == 1 || code == 204 || code == 304
	if (code/100 == 1 || code == 204) && (chunked || length > 0) {
		return nil, malformed("framing-on-bodiless-status")
	}
	if chunked {
		delete(resp.Header, "Transfer-Encoding")
		resp.TransferEncoding = []string{"chunked"}
	}
	if chunked {
		trailer, err := declaredTrailer(resp.Header)
		if err != nil {
			return nil, err
		}
		resp.Trailer = trailer
	}
	switch {
	case noBody:
		resp.ContentLength = length
		if method != http.MethodHead {
			resp.ContentLength = 0
		}
		if length < 0 && method == http.MethodHead {
			resp.ContentLength = -1
		}
		if chunked && method == http.MethodHead {
			resp.ContentLength = -1
		}
		resp.Body = http.NoBody
	case chunked:
		resp.ContentLength = -1
		resp.Body = &Body{r: br, chunked: true, trailers: true, resp: resp}
	case length == 0:
		resp.Body = http.NoBody
	case length > 0:
		resp.ContentLength = length
		resp.Body = &Body{r: br, left: length}
	default:
		resp.ContentLength = -1
		resp.Close = true
		resp.Body = &Body{r: br, untilEOF: true}
	}
	return resp, nil
}

// declaredTrailer takes the Trailer header of a chunked response as net/http does.
func declaredTrailer(h http.Header) (http.Header, error) {
	vv, ok := h["Trailer"]
	if !ok {
		return nil, nil
	}
	delete(h, "Trailer")
	var trailer http.Header
	for _, v := range vv {
		for _, k := range strings.Split(v, ",") {
			k = textproto.TrimString(k)
			if k == "" {
				continue
			}
			for i := 0; i < len(k); i++ {
				if !isTokenByte(k[i]) {
					return nil, malformed("bad-trailer-name")
				}
			}
			k = textproto.CanonicalMIMEHeaderKey(k)
			switch k {
			case "Transfer-Encoding", "Trailer", "Content-Length":
				return nil, malformed("bad-trailer-name")
			}
			if trailer == nil {
				trailer = http.Header{}
			}
			trailer[k] = nil
		}
	}
	return trailer, nil
}

// Body is a message body read from the connection: a Content-Length body, a chunked one, or
// (responses) one that ends with the connection. Its framing errors are *Error.
type Body struct {
	r        *bufio.Reader
	left     int64 // bytes of the current chunk or the fixed-length body
	chunked  bool
	trailers bool // trailer fields are read (responses); else only an empty trailer section
	untilEOF bool
	resp     *http.Response
	started  bool
	eof      bool
	err      error
	mu       sync.Mutex
	closed   bool
}

// Done reports whether the body was read to its end without error, so that the connection
// is at the next message.
func (b *Body) Done() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.eof && b.err == nil && !b.untilEOF
}

// Remaining is the number of bytes of a fixed-length body not read yet, or -1 for a chunked
// body and one that runs to the connection's end.
func (b *Body) Remaining() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.chunked || b.untilEOF {
		return -1
	}
	return b.left
}

// ErrBodyClosed is returned by Read after Close.
var ErrBodyClosed = errors.New("h1: read on a closed body")

func (b *Body) Read(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return 0, ErrBodyClosed
	}
	if b.eof {
		return 0, io.EOF
	}
	if b.err != nil {
		return 0, b.err
	}
	n, err := b.read(p)
	if err == io.EOF {
		b.eof = true
	} else if err != nil {
		b.err = err
	}
	return n, err
}

func (b *Body) read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if b.untilEOF {
		return b.r.Read(p)
	}
	if !b.chunked {
		if b.left == 0 {
			return 0, io.EOF
		}
		if int64(len(p)) > b.left {
			p = p[:b.left]
		}
		n, err := b.r.Read(p)
		b.left -= int64(n)
		if err == io.EOF {
			return n, io.ErrUnexpectedEOF
		}
		if b.left == 0 && err == nil {
			return n, io.EOF
		}
		return n, err
	}
	if b.left == 0 {
		if b.started {
			if err := b.crlf(); err != nil {
				return 0, err
			}
		}
		b.started = true
		size, err := b.chunkSize()
		if err != nil {
			return 0, err
		}
		if size == 0 {
			if err := b.trailer(); err != nil {
				return 0, err
			}
			return 0, io.EOF
		}
		b.left = size
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.r.Read(p)
	b.left -= int64(n)
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

func (b *Body) crlf() error {
	var two [2]byte
	if _, err := io.ReadFull(b.r, two[:]); err != nil {
		return unexpected(err)
	}
	if two != [2]byte{'\r', '\n'} {
		return malformed("bad-chunk-end")
	}
	return nil
}

func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// chunkSize reads a chunk-size line: 1-15 hex digits, then extensions of the form
// ;name or ;name=value (tokens, no whitespace), CRLF; at most maxChunkLine bytes.
func (b *Body) chunkSize() (int64, error) {
	line, err := b.r.ReadSlice('\n')
	if err == bufio.ErrBufferFull || len(line) > maxChunkLine {
		return 0, malformed("chunk-line-too-long")
	}
	if err != nil {
		return 0, unexpected(err)
	}
	if len(line) < 3 || line[len(line)-2] != '\r' {
		return 0, malformed("bad-chunk-line")
	}
	line = line[:len(line)-2]
	var size int64
	i := 0
	for ; i < len(line); i++ {
		v := hexValue(line[i])
		if v < 0 {
			break
		}
		if i == 15 {
			return 0, malformed("chunk-too-large")
		}
		size = size<<4 | int64(v)
	}
	if i == 0 {
		return 0, malformed("bad-chunk-size")
	}
	ext := line[i:]
	for len(ext) > 0 {
		if ext[0] != ';' {
			return 0, malformed("bad-chunk-extension")
		}
		ext = ext[1:]
		n := 0
		for n < len(ext) && isTokenByte(ext[n]) {
			n++
		}
		if n == 0 {
			return 0, malformed("bad-chunk-extension")
		}
		ext = ext[n:]
		if len(ext) > 0 && ext[0] == '=' {
			ext = ext[1:]
			n = 0
			for n < len(ext) && isTokenByte(ext[n]) {
				n++
			}
			if n == 0 {
				return 0, malformed("bad-chunk-extension")
			}
			ext = ext[n:]
		}
	}
	return size, nil
}

// trailer reads the trailer section after the last chunk: empty for requests; for responses,
// fields under the head's rules, merged into Response.Trailer.
func (b *Body) trailer() error {
	h := headReader{br: b.r, budget: 16 << 10}
	if !b.trailers {
		line, err := h.line()
		if err != nil {
			return unexpected(err)
		}
		if len(line) != 0 {
			return malformed("request-trailer")
		}
		return nil
	}
	fields := http.Header{}
	if err := h.readFields(fields, 64); err != nil {
		return err
	}
	if len(fields) > 0 {
		if b.resp.Trailer == nil {
			b.resp.Trailer = http.Header{}
		}
		for k, vv := range fields {
			b.resp.Trailer[k] = vv
		}
	}
	return nil
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

// Close marks the body closed; what is left of it is not read (the connection cannot carry
// another message then: see Done).
func (b *Body) Close() error {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	return nil
}

// String describes the body's framing (for debugging).
func (b *Body) String() string {
	switch {
	case b.chunked:
		return "chunked"
	case b.untilEOF:
		return "until-close"
	}
	return fmt.Sprintf("length(%d left)", b.left)
}
