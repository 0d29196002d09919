package dlp

import (
	"archive/zip"
	"bufio"
	"bytes"
	"compress/flate"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"path"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zlib"
	"github.com/klauspost/compress/zstd"
)

// decodeLayer recognises a compressed or container format by its magic
// number (brotli and raw deflate, which have none, by hint or by a trial
// decode of a binary head) and scans its content one layer deeper;
// anything else is scanned as text.
func (s *scanner) decodeLayer(br *bufio.Reader, head []byte, p []string, depth int, h Hints) error {
	enc := strings.ToLower(strings.TrimSpace(h.ContentEncoding))
	switch {
	case bytes.HasPrefix(head, []byte{0x1f, 0x8b}) && gzipHeaderValid(br):
		zr, err := gzip.NewReader(br)
		if err != nil {
			return fmt.Errorf("gzip: %w", err)
		}
		defer zr.Close()
		return s.nested(zr, with(p, "gzip"), depth)
	case bytes.HasPrefix(head, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		zr, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(64<<20))
		if err != nil {
			return fmt.Errorf("zstd: %w", err)
		}
		defer zr.Close()
		return s.nested(zr, with(p, "zstd"), depth)
	case len(head) >= 2 && head[0]&0x0f == 8 && head[0]>>4 <= 7 && (uint16(head[0])<<8|uint16(head[1]))%31 == 0 && head[1]&0x20 == 0 &&
		zlibTrial(br):
		zr, err := zlib.NewReader(br)
		if err != nil {
			return fmt.Errorf("deflate: %w", err)
		}
		defer zr.Close()
		return s.nested(zr, with(p, "deflate"), depth)
	case bytes.HasPrefix(head, []byte("PK\x03\x04")) || bytes.HasPrefix(head, []byte("PK\x05\x06")):
		return s.scanZip(br, p, depth)
	// A multipart upload whose first part is a PDF is split into parts below.
	case isPDF(br) && multipartBoundary(head, h.ContentType) == "":
		return s.scanPDF(br, p, depth)
	}
	if enc == "" && !worthScanning(head) {
		// Brotli and raw deflate have no magic number: a binary stream whose
		// head decodes as one of them to text is treated as that encoding.
		// The buffer holds up to 4 KiB, enough to tell.
		full, _ := br.Peek(br.Size())
		enc = sniffHeaderless(full, len(full) < br.Size())
	}
	switch enc {
	case "br":
		return s.nested(brotli.NewReader(br), with(p, "brotli"), depth)
	case "deflate":
		fr := flate.NewReader(br)
		defer fr.Close()
		return s.nested(fr, with(p, "deflate"), depth)
	}
	if b := multipartBoundary(head, h.ContentType); b != "" {
		return s.scanMultipart(br, b, p, depth)
	}
	return s.scanText(br, p, depth)
}

// nested scans a decoder's output one level deeper, counting it against
// the decoded-bytes budget; a decoder error makes the verdict incomplete.
func (s *scanner) nested(r io.Reader, p []string, depth int) error {
	s.scanStream(s.budget(r), p, depth+1, Hints{})
	return nil
}

// multipartBoundary returns the boundary from a multipart Content-Type or,
// failing that, from a body that starts with "--boundary\r\n".
func multipartBoundary(head []byte, ct string) string {
	if ct != "" {
		if mt, params, err := mime.ParseMediaType(ct); err == nil && strings.HasPrefix(mt, "multipart/") {
			return params["boundary"]
		}
	}
	if !bytes.HasPrefix(head, []byte("--")) {
		return ""
	}
	nl := bytes.IndexByte(head, '\n')
	if nl < 3 || nl > 75 {
		return ""
	}
	b := strings.TrimRight(string(head[2:nl]), "\r")
	if strings.ContainsAny(b, " \t") || !bytes.Contains(bytes.ToLower(head[nl:]), []byte("content-")) {
		return ""
	}
	return b
}

func (s *scanner) scanMultipart(r io.Reader, boundary string, p []string, depth int) error {
	mr := multipart.NewReader(r, boundary)
	for i := 0; ; i++ {
		part, err := mr.NextPart()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("multipart: %w", err)
		}
		name := part.FormName()
		if fn := part.FileName(); fn != "" {
			name = fn
		}
		var body io.Reader = part
		if strings.EqualFold(part.Header.Get("Content-Transfer-Encoding"), "base64") {
			body = base64.NewDecoder(base64.StdEncoding, part)
		}
		s.scanStream(s.budget(body), with(p, "multipart["+strconv.Itoa(i)+":"+name+"]"), depth+1,
			Hints{ContentType: part.Header.Get("Content-Type")})
		if err := s.checkTime(); err != nil {
			return err
		}
	}
}

// scanZip buffers an archive (up to MaxArchiveBytes, since zip needs random
// access) and scans every entry; Office Open XML parts are reduced to text.
func (s *scanner) scanZip(r io.Reader, p []string, depth int) error {
	data, err := io.ReadAll(io.LimitReader(r, s.o.MaxArchiveBytes+1))
	if err != nil {
		return fmt.Errorf("zip: %w", err)
	}
	if int64(len(data)) > s.o.MaxArchiveBytes {
		s.incomplete("%s: archive larger than %d bytes", pathString(p), s.o.MaxArchiveBytes)
		_, _ = io.Copy(io.Discard, r)
		return s.scanText(bytes.NewReader(data), p, depth)
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		s.incomplete("%s: undecodable zip: %v", pathString(p), err)
		return s.scanText(bytes.NewReader(data), p, depth)
	}
	office := false
	for _, f := range zr.File {
		if f.Name == "[Content_Types].xml" {
			office = true
		}
	}
	for i, f := range zr.File {
		if i >= s.o.MaxArchiveEntries {
			s.incomplete("%s: more than %d archive entries", pathString(p), s.o.MaxArchiveEntries)
			break
		}
		if f.FileInfo().IsDir() {
			continue
		}
		ep := with(p, "zip:"+f.Name)
		if f.Flags&1 != 0 {
			s.incomplete("%s: encrypted archive entry", pathString(ep))
			continue
		}
		if office && skipOfficePart(f.Name) {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			s.incomplete("%s: undecodable: %v", pathString(ep), err)
			continue
		}
		if office && strings.HasSuffix(f.Name, ".xml") {
			err = s.scanOfficeXML(s.budget(rc), ep, depth+1)
			if err != nil {
				s.layerError(ep, err)
			}
		} else {
			s.scanStream(s.budget(rc), ep, depth+1, Hints{})
		}
		_ = rc.Close()
		if err := s.checkTime(); err != nil {
			return err
		}
	}
	return nil
}

// skipOfficePart drops package plumbing and media that hold no user text.
func skipOfficePart(name string) bool {
	ext := strings.ToLower(path.Ext(name))
	switch ext {
	case ".rels", ".png", ".jpeg", ".jpg", ".gif", ".emf", ".wmf", ".tiff", ".bmp", ".svg", ".ttf", ".odttf":
		return true
	}
	return name == "[Content_Types].xml" || strings.HasPrefix(name, "docProps/") && !strings.HasSuffix(name, "core.xml")
}

// paragraphElements end a line of text in docx/xlsx/pptx XML.
var paragraphElements = map[string]bool{"p": true, "si": true, "row": true, "c": true, "br": true, "tab": true, "tr": true, "tc": true}

// scanOfficeXML extracts character data from an Office Open XML part (text
// runs joined within a paragraph, so values split across runs are whole)
// and scans the text.
func (s *scanner) scanOfficeXML(r io.Reader, p []string, depth int) error {
	pr, pw := io.Pipe()
	go func() {
		dec := xml.NewDecoder(r)
		dec.Strict = false
		bw := bufio.NewWriter(pw)
		var err error
		for {
			var tok xml.Token
			tok, err = dec.RawToken()
			if err != nil {
				break
			}
			switch t := tok.(type) {
			case xml.CharData:
				_, _ = bw.Write(t)
			case xml.EndElement:
				if paragraphElements[t.Name.Local] {
					_ = bw.WriteByte('\n')
				}
			}
		}
		_ = bw.Flush()
		if err == io.EOF {
			err = nil
		}
		if err != nil {
			err = fmt.Errorf("xml: %w", err)
		}
		pw.CloseWithError(err)
	}()
	err := s.scanText(pr, with(p, "text"), depth)
	_ = pr.Close()
	return err
}

// ---- inline base64 and hex runs ----

type run struct {
	v          *view
	start, end int
	hex        bool
}

var b64Class = func() (t [256]uint8) {
	for c := 0; c < 256; c++ {
		b := byte(c)
		if isAlnum(b) || b == '+' || b == '/' || b == '-' || b == '_' {
			t[c] = 1
		}
		if isHexByte(b) {
			t[c] |= 2
		}
	}
	return
}()

// hasCtlOrSpace reports whether a byte of x or y is below 0x21 (exact:
// hasless from "Bit Twiddling Hacks").
func hasCtlOrSpace(x, y uint64) bool {
	const ones = ^uint64(0) / 255
	return (x-ones*0x21)&^x&(ones*0x80) != 0 || (y-ones*0x21)&^y&(ones*0x80) != 0
}

const (
	minB64Run = 20
	minHexRun = 32
)

// findRuns returns base64 and hex runs of v long enough to hide a secret.
// Any run of at least minB64Run bytes covers a multiple of minB64Run, so
// only those positions are probed and expanded: prose costs about one
// read per word instead of one per byte.
func findRuns(v *view) []run {
	var out []run
	t := v.text
	n := len(t)
	next := 0 // runs before next were already handled
	for p := minB64Run - 1; p < n; p += minB64Run {
		if p < next || b64Class[t[p]] == 0 {
			continue
		}
		// A run of minB64Run (20) bytes through p covers t[p-10:p+1] or
		// t[p:p+11]; when both hold a control or space byte (ordinary
		// prose), no long run passes here and the word is not expanded.
		if p >= 10 && p+11 <= n &&
			hasCtlOrSpace(binary.LittleEndian.Uint64(t[p-10:]), binary.LittleEndian.Uint64(t[p-7:])) &&
			hasCtlOrSpace(binary.LittleEndian.Uint64(t[p:]), binary.LittleEndian.Uint64(t[p+3:])) {
			continue
		}
		i := p
		for i > next && b64Class[t[i-1]] != 0 {
			i--
		}
		j, allHex := i, true
		for j < n && b64Class[t[j]] != 0 {
			if b64Class[t[j]]&2 == 0 {
				allHex = false
			}
			j++
		}
		next = j
		e := j
		for e < n && e-j < 2 && t[e] == '=' {
			e++
		}
		if l := j - i; l >= minB64Run {
			if allHex && l >= minHexRun && l%2 == 0 {
				out = append(out, run{v: v, start: i, end: e, hex: true})
			} else if !allHex {
				out = append(out, run{v: v, start: i, end: e})
			}
		}
	}
	return out
}

// findEscapedRuns keeps the runs of an unescaped view that covered an
// escape (the others were found in the plain view).
func findEscapedRuns(v, unesc *view) []run {
	var out []run
	for _, r := range findRuns(v) {
		if escapedSpan(v, unesc, r.start, r.end) {
			out = append(out, r)
		}
	}
	return out
}

// decodeRun decodes a base64 or hex run and, when the result is text or a
// known container, scans it one level deeper.
func (s *scanner) decodeRun(r run, p []string, off int64, depth int) {
	src := r.v.text[r.start:r.end]
	var dec []byte
	name := "base64"
	if r.hex {
		name = "hex"
		dec = make([]byte, len(src)/2)
		if _, err := hex.Decode(dec, src); err != nil {
			return
		}
	} else {
		dec = decodeBase64Loose(src)
		if dec == nil {
			return
		}
	}
	// Binary runs are skipped unless they decompress (brotli or raw deflate)
	// to text; under 24 bytes they cannot hold a compressed credential.
	if !worthScanning(dec) && (len(dec) < 24 || sniffHeaderless(dec[:min(len(dec), 4096)], len(dec) <= 4096) == "") {
		return
	}
	if s.decoded+int64(len(dec)) > s.o.MaxDecodedBytes {
		s.incomplete("%s: decoded bytes over %d", pathString(p), s.o.MaxDecodedBytes)
		return
	}
	s.decoded += int64(len(dec))
	s.scanStream(bytes.NewReader(dec), with(p, name+"@"+strconv.FormatInt(off, 10)), depth+1, Hints{})
}

// decodeBase64Loose accepts standard or URL alphabets, padded or not.
func decodeBase64Loose(src []byte) []byte {
	s := strings.TrimRight(string(src), "=")
	if len(s)%4 == 1 {
		s = s[:len(s)-1]
	}
	enc := base64.RawStdEncoding
	if strings.ContainsAny(s, "-_") {
		if strings.ContainsAny(s, "+/") {
			return nil
		}
		enc = base64.RawURLEncoding
	}
	b, err := enc.DecodeString(s)
	if err != nil {
		return nil
	}
	return b
}

// worthScanning accepts decoded bytes that are mostly printable UTF-8 text
// or start with a container magic number; random binary (hashes, keys,
// images) is skipped.
func worthScanning(b []byte) bool {
	if len(b) >= 4 && (isContainerMagic(b) || b[0] == 0x78 && (uint16(b[0])<<8|uint16(b[1]))%31 == 0) {
		return true
	}
	if !utf8.Valid(b) {
		return false
	}
	bad := 0
	for _, c := range b {
		if c < 0x20 && c != '\n' && c != '\r' && c != '\t' {
			bad++
		}
	}
	return bad*20 <= len(b)
}

// sniffHeaderless returns "br" or "deflate" when head decodes as brotli
// or raw deflate to text, "" otherwise. whole says head is the entire
// input, which must then be exactly one complete stream; otherwise head is
// a prefix and the decoder may run out of input, but not end early.
// Random binary data fails both: a decoder rejects it within a few bytes
// or produces bytes that are not text.
func sniffHeaderless(head []byte, whole bool) string {
	if len(head) < 4 {
		return ""
	}
	// Raw deflate first: block type 3 is reserved, which rejects a quarter
	// of random heads before any decoding.
	if head[0]&0x06 != 0x06 {
		src := bytes.NewReader(head)
		fr := flatePool.Get().(io.ReadCloser)
		_ = fr.(flate.Resetter).Reset(src, nil)
		ok := decodesToText(fr, src, whole)
		flatePool.Put(fr)
		if ok {
			return "deflate"
		}
	}
	src := bytes.NewReader(head)
	br := brotliPool.Get().(*brotli.Reader)
	_ = br.Reset(src)
	ok := decodesToText(br, src, whole)
	brotliPool.Put(br)
	if ok {
		return "br"
	}
	return ""
}

// Trial decoders are pooled: both allocate tens of KiB of tables.
var (
	flatePool  = sync.Pool{New: func() any { return flate.NewReader(bytes.NewReader(nil)) }}
	brotliPool = sync.Pool{New: func() any { return brotli.NewReader(bytes.NewReader(nil)) }}
)

// decodesToText reads up to 1 KiB from a trial decoder over src. What it
// produced must be at least 16 bytes of text (or start a container). With
// whole, the stream must end exactly where src does; without, the decoder
// may run out of input but must not end before it.
func decodesToText(r io.Reader, src *bytes.Reader, whole bool) bool {
	var buf [1024]byte
	n, complete := 0, false
	for n < len(buf) {
		k, err := r.Read(buf[n:])
		n += k
		if err == io.EOF {
			complete = true
			break
		}
		if err != nil {
			if whole || !errors.Is(err, io.ErrUnexpectedEOF) {
				return false
			}
			break
		}
	}
	if n < 16 {
		return false
	}
	if complete && src.Len() != 0 {
		return false // the stream ended before the input: not this encoding
	}
	if whole && !complete && n < len(buf) {
		return false
	}
	out := buf[:n]
	if isContainerMagic(out) {
		return true
	}
	// A prefix may end inside a UTF-8 sequence.
	for cut := 0; cut < 3 && !utf8.Valid(out) && len(out) > 1; cut++ {
		out = out[:len(out)-1]
	}
	return strictText(out)
}

// strictText reports valid UTF-8 without control characters other than
// tab, CR and LF.
func strictText(b []byte) bool {
	if !utf8.Valid(b) {
		return false
	}
	for _, c := range b {
		if c < 0x20 && c != '\n' && c != '\r' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// isContainerMagic reports a gzip, zstd or zip signature.
func isContainerMagic(b []byte) bool {
	return bytes.HasPrefix(b, []byte{0x1f, 0x8b}) || bytes.HasPrefix(b, []byte{0x28, 0xb5, 0x2f, 0xfd}) ||
		bytes.HasPrefix(b, []byte("PK\x03\x04"))
}

// zlibTrial confirms a zlib header by decoding what the buffer holds: two
// bytes are a weak signature (one random blob in a few thousand has it),
// and binary data that merely starts like zlib must be scanned as bytes,
// not reported undecodable. A real stream decodes without error up to the
// end of the buffered bytes (or to its end, when they are the whole input).
func zlibTrial(br *bufio.Reader) bool {
	full, _ := br.Peek(br.Size())
	whole := len(full) < br.Size()
	zr, err := zlib.NewReader(bytes.NewReader(full))
	if err != nil {
		return false
	}
	_, err = io.Copy(io.Discard, io.LimitReader(zr, 64<<10))
	// A bad Adler-32 is still zlib: its content is scanned and the layer
	// reported incomplete, so a wrong checksum cannot hide a value.
	return err == nil || errors.Is(err, zlib.ErrChecksum) || !whole && errors.Is(err, io.ErrUnexpectedEOF)
}

// gzipHeaderValid parses the gzip header in the buffer: 1f 8b alone is a
// two-byte signature that random data has, and such data is scanned as
// bytes rather than reported undecodable.
func gzipHeaderValid(br *bufio.Reader) bool {
	full, _ := br.Peek(br.Size())
	zr, err := gzip.NewReader(bytes.NewReader(full))
	if err != nil {
		return false
	}
	zr.Close()
	return true
}
