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

// decodeLayer removes the declared content codings (coding.go), then
// recognises a compressed or container format by its magic number (brotli
// and raw deflate, which have none, by a trial decode of a binary head)
// and scans its content one layer deeper; UTF-16 and UTF-32 text (by
// byte order mark, charset or widetext.go's test) is scanned decoded;
// anything else is scanned as text.
func (s *scanner) decodeLayer(br *bufio.Reader, head []byte, p []string, depth int, h Hints) error {
	if codings := contentCodings(h.ContentEncoding); len(codings) > 0 {
		return s.decodeDeclared(br, codings, p, depth, h.ContentType)
	}
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
	case zlibHeader(head) && zlibTrial(br):
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
	full, _ := br.Peek(br.Size()) // up to 4 KiB
	whole := len(full) < br.Size()
	if w, ok := declaredWide(h.ContentType, full); ok {
		return s.scanTextAs(br, p, depth, &w)
	}
	if w := sniffUnicode(full, whole); w.unit != 0 {
		return s.scanTextAs(br, p, depth, &w)
	}
	if !worthScanning(head) {
		// Brotli and raw deflate have no magic number: a binary stream whose
		// head decodes as one of them to text is treated as that encoding.
		// Nothing declared or signed the encoding, so a stream that stops decoding further on
		// was most likely never compressed (a long repeated pattern decodes as deflate for a
		// while): what decoded is scanned, and the end of the decodable part ends the layer
		// without making the verdict incomplete. Nothing is lost: no decoder, the destination's
		// included, can read past that point either.
		switch sniffHeaderless(full, whole) {
		case "br":
			return s.nested(sniffedReader{brotli.NewReader(br)}, with(p, "brotli"), depth)
		case "deflate":
			fr := flate.NewReader(br)
			defer fr.Close()
			return s.nested(sniffedReader{fr}, with(p, "deflate"), depth)
		}
	}
	if b := multipartBoundary(head, h.ContentType); b != "" {
		return s.scanMultipart(br, b, p, depth)
	}
	return s.scanText(br, p, depth)
}

// sniffedReader reads a stream whose encoding was only sniffed: a decoding error ends it like
// io.EOF (budget errors still count).
type sniffedReader struct{ r io.Reader }

func (s sniffedReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err != nil && err != io.EOF && !errors.Is(err, errBudget) {
		err = io.EOF
	}
	return n, err
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
	var fields fieldJoin
	defer func() { s.scanJoinedFields(&fields, p, depth) }()
	for i := 0; ; i++ {
		part, err := mr.NextPart()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("multipart: %w", err)
		}
		name := part.FormName()
		fn := part.FileName()
		if fn != "" {
			name = fn
		}
		// Quoted-printable parts are decoded by the multipart reader.
		var body io.Reader = part
		if strings.EqualFold(part.Header.Get("Content-Transfer-Encoding"), "base64") {
			body = base64.NewDecoder(base64.StdEncoding, part)
		}
		var value *fieldValue
		if fn == "" {
			value = &fieldValue{}
			body = io.TeeReader(body, value)
		}
		s.scanStream(s.budget(body), with(p, "multipart["+strconv.Itoa(i)+":"+name+"]"), depth+1,
			Hints{ContentType: part.Header.Get("Content-Type")})
		fields.add(value)
		if err := s.checkTime(); err != nil {
			return err
		}
	}
}

// fieldValue keeps what a multipart form field held near its ends: all of
// it up to 2·maxTokenLen bytes, else its first and last maxTokenLen bytes.
type fieldValue struct {
	head, tail []byte
	n          int
}

func (f *fieldValue) Write(b []byte) (int, error) {
	n := len(b)
	f.n += n
	if room := 2*maxTokenLen - len(f.head); room > 0 {
		k := min(room, len(b))
		f.head = append(f.head, b[:k]...)
		b = b[k:]
	}
	if len(b) > 0 {
		f.tail = append(f.tail, b...)
		if len(f.tail) > 4*maxTokenLen {
			f.tail = append(f.tail[:0], f.tail[len(f.tail)-maxTokenLen:]...)
		}
	}
	return n, nil
}

// fieldJoin collects the values of a multipart body's form fields in order;
// a file part or a binary value ends a run of adjacent fields.
type fieldJoin struct {
	b      bytes.Buffer // a JSON array of the values, runs apart
	values int
	joined bool // some run has two values or more
	inRun  bool
}

func (j *fieldJoin) add(f *fieldValue) {
	if f == nil || !worthScanning(f.head) {
		j.inRun = false
		return
	}
	sep := func(far bool) {
		if j.b.Len() == 0 {
			j.b.WriteByte('[')
			return
		}
		j.b.WriteByte(',')
		if far {
			j.b.WriteString(strings.Repeat(" ", maxJoinGap+1))
		}
	}
	if f.n <= 2*maxTokenLen {
		sep(!j.inRun)
		j.b.WriteString(strconv.Quote(string(f.head)))
	} else {
		// A long value joins its neighbours only at its ends.
		sep(!j.inRun)
		j.b.WriteString(strconv.Quote(string(f.head[:maxTokenLen])))
		sep(true)
		j.b.WriteString(strconv.Quote(string(f.tail[max(0, len(f.tail)-maxTokenLen):])))
	}
	if j.inRun {
		j.joined = true
	}
	j.inRun = true
	j.values++
}

// scanJoinedFields scans the collected field values as one JSON array in
// which only matches that cross from one value to the next count: a secret
// split across two form fields is found, and a value whole in one field,
// already reported with its part, is not reported again.
func (s *scanner) scanJoinedFields(j *fieldJoin, p []string, depth int) {
	if !j.joined || j.b.Len() > int(s.o.MaxDecodedBytes) {
		return
	}
	j.b.WriteByte(']')
	prev := s.joinOnly
	s.joinOnly = true
	if err := s.scanText(bytes.NewReader(j.b.Bytes()), with(p, "multipart[fields]"), depth+1); err != nil {
		s.layerError(p, err)
	}
	s.joinOnly = prev
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

// run is a base64 or hex value in a view: one segment, or the lines of a
// value wrapped at any width (MIME's 76, PEM's 64, CRLF or LF, indented
// continuation lines), decoded as one.
type run struct {
	v          *view
	start, end int
	segs       [][2]int // the lines of a wrapped value; nil for one segment
	hex        bool
	pct        bool   // a percent-encoded value that decodes to binary
	payload    []byte // the decoded bytes, once resolve has accepted them
	joined     bool   // found in joined values (the blocks of joinPieces)
	// open marks a run that ends at the end of its text or whose last
	// line does, with only white space after it: the value may go on in
	// data not yet read.
	open bool
}

// src returns the run's characters without the line breaks between lines.
func (r run) src() []byte {
	if r.segs == nil {
		return r.v.text[r.start:r.end]
	}
	var b []byte
	for _, sg := range r.segs {
		b = append(b, r.v.text[sg[0]:sg[1]]...)
	}
	return b
}

// decode returns the decoded bytes, or nil when the run does not decode.
func (r run) decode() []byte {
	src := r.src()
	if r.pct {
		return percentDecode(src)
	}
	if r.hex {
		dec := make([]byte, len(src)/2)
		if _, err := hex.Decode(dec, src[:len(dec)*2]); err != nil {
			return nil
		}
		return dec
	}
	return decodeBase64Loose(src)
}

// lines returns a wrapped run's lines long enough to be runs of their own.
func (r run) lines() []run {
	var out []run
	for _, sg := range r.segs {
		if sg[1]-sg[0] < minB64Run {
			continue
		}
		sr := run{v: r.v, start: sg[0], end: sg[1]}
		src := r.v.text[sg[0]:sg[1]]
		sr.hex = len(src) >= minHexRun && len(src)%2 == 0 && allHexBytes(src)
		out = append(out, sr)
	}
	return out
}

// meaningful reports whether a wrapped run decodes to text or a known
// container, which tells a wrapped value from a list of unrelated values
// (hashes, IDs) one per line. An open run is judged by what is read so far.
func (r run) meaningful() bool {
	src := r.src()
	if r.open {
		keep := len(src) - len(src)%4
		if r.hex {
			keep = len(src) - len(src)%2
		}
		src = src[:keep]
	}
	sr := run{v: &view{text: src}, end: len(src), hex: r.hex}
	dec := sr.decode()
	if dec == nil {
		return false
	}
	if r.open {
		for cut := 0; cut < 3 && !utf8.Valid(dec) && len(dec) > 1; cut++ {
			dec = dec[:len(dec)-1]
		}
	}
	return worthScanning(dec) || sniffUnicode(dec, !r.open).unit != 0
}

// waitFrom reports whether a window must wait for more data before
// decoding the run (it reaches the buffer's end, or is open), and the raw
// offset the next window must start from.
func (r run) waitFrom(bufLen int) (int, bool) {
	start := r.v.rawPos(r.start)
	if r.segs != nil && r.open && !r.meaningful() {
		// Unrelated lines: only the last, as a run of its own, may go on.
		last := r.segs[len(r.segs)-1]
		if last[1]-last[0] >= minB64Run {
			return r.v.rawPos(last[0]), true
		}
		return 0, false
	}
	return start, r.open || r.v.rawPos(r.end) >= bufLen
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

func allHexBytes(b []byte) bool {
	for _, c := range b {
		if b64Class[c]&2 == 0 {
			return false
		}
	}
	return true
}

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
// read per word instead of one per byte. A run that ends a line is joined
// with the lines after it that hold only base64 (a wrapped value).
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
		if j-i < minB64Run {
			continue
		}
		r := run{v: v, start: i, end: e}
		if e == j {
			// No padding: the value may be wrapped onto the next lines.
			r = joinWrapped(r, allHex)
			next = max(next, r.end)
		}
		if l := j - i; r.segs == nil {
			if allHex && l >= minHexRun && l%2 == 0 {
				r.hex = true
			} else if allHex {
				continue
			}
		}
		if r.hex && i >= 1 && t[i-1] == '%' {
			// The two digits of a percent escape ("%2B65776f…") are the escape's, not the
			// payload's: decoded with it, the payload would start with the escaped byte and
			// what follows could read misaligned.
			r.start += 2
		}
		out = append(out, r)
	}
	return out
}

// joinWrapped extends a run that ends a line with the following lines made
// only of base64 characters (indentation allowed, '=' padding ending the
// value); it marks runs whose last line ends the text, or is followed only
// by white space, as open.
func joinWrapped(r run, allHex bool) run {
	t := r.v.text
	n := len(t)
	segs := [][2]int{{r.start, r.end}}
	total := r.end - r.start
	pos := r.end
	for pos < n {
		ls, ok := nextLine(t, pos)
		if !ok {
			break
		}
		j := ls
		for j < n && b64Class[t[j]] != 0 {
			if b64Class[t[j]]&2 == 0 {
				allHex = false
			}
			j++
		}
		if j == ls {
			break
		}
		e := j
		for e < n && e-j < 2 && t[e] == '=' {
			e++
		}
		if e < n && !endsWrappedLine(t[e]) {
			break
		}
		segs = append(segs, [2]int{ls, e})
		total += e - ls
		pos = e
		if e > j {
			break // padding ends the value
		}
	}
	rest := pos
	for rest < n && (t[rest] == '\r' || t[rest] == '\n' || t[rest] == ' ' || t[rest] == '\t') {
		rest++
	}
	open := rest == n && (pos == n || t[pos] == '\r' || t[pos] == '\n')
	if len(segs) == 1 {
		r.open = open && pos < n
		return r
	}
	r.segs, r.end, r.open = segs, pos, open
	r.hex = allHex && total >= minHexRun && total%2 == 0
	return r
}

// nextLine returns the start of the next line's content when t[pos] ends
// a line (LF, CR or CRLF), after up to 64 bytes of indentation.
func nextLine(t []byte, pos int) (int, bool) {
	switch {
	case t[pos] == '\r' && pos+1 < len(t) && t[pos+1] == '\n':
		pos += 2
	case t[pos] == '\r' || t[pos] == '\n':
		pos++
	default:
		return 0, false
	}
	for k := 0; pos < len(t) && k < 64 && (t[pos] == ' ' || t[pos] == '\t'); k++ {
		pos++
	}
	return pos, pos < len(t)
}

// endsWrappedLine reports the bytes that may follow the last character of
// a wrapped line: a line break, or the delimiter closing a quoted or
// marked-up value.
func endsWrappedLine(c byte) bool {
	switch c {
	case '\r', '\n', '"', '\'', '`', '<', ',', ';', ')', ']', '}':
		return true
	}
	return false
}

// isPercentRunByte reports the bytes of a percent-encoded form value.
func isPercentRunByte(c byte) bool {
	return isAlnum(c) || strings.IndexByte("%._~*!'()+-", c) >= 0
}

// minPercentEscapes is the fewest %XX escapes a percent run holds: binary
// data (a compressed or UTF-16 body) is mostly escapes.
const minPercentEscapes = 8

// findPercentRuns returns the percent-encoded values of v (runs of form
// value bytes holding at least minPercentEscapes escapes) that decode to
// binary: compressed data or wide text that was URL-encoded. Values that
// decode to text are read by the unescaped views instead.
func findPercentRuns(v *view) []run {
	t := v.text
	if bytes.IndexByte(t, '%') < 0 {
		return nil
	}
	var out []run
	for i := 0; i < len(t); {
		k := bytes.IndexByte(t[i:], '%')
		if k < 0 {
			break
		}
		s := i + k
		for s > i && isPercentRunByte(t[s-1]) {
			s--
		}
		e, escapes := s, 0
		for e < len(t) && isPercentRunByte(t[e]) {
			if t[e] == '%' && e+2 < len(t) && isHexByte(t[e+1]) && isHexByte(t[e+2]) {
				escapes++
			}
			e++
		}
		if escapes >= minPercentEscapes {
			r := run{v: v, start: s, end: e, pct: true}
			if dec := r.decode(); !strictText(dec) || isContainerMagic(dec) {
				out = append(out, r)
			}
		}
		i = max(e, s+1)
	}
	return out
}

// percentDecode decodes %XX escapes and '+' as a space.
func percentDecode(src []byte) []byte {
	out := make([]byte, 0, len(src))
	for i := 0; i < len(src); i++ {
		switch c := src[i]; {
		case c == '%' && i+2 < len(src) && isHexByte(src[i+1]) && isHexByte(src[i+2]):
			out = append(out, hexVal(src[i+1])<<4|hexVal(src[i+2]))
			i += 2
		case c == '+':
			out = append(out, ' ')
		default:
			out = append(out, c)
		}
	}
	return out
}

// payloadWorthScanning reports decoded bytes worth scanning: text, UTF-16
// or UTF-32 text, a container, or brotli/raw deflate that decompresses to
// one of those (under 24 bytes they cannot hold a compressed credential);
// random binary (hashes, keys, images) is not.
func payloadWorthScanning(dec []byte) bool {
	return worthScanning(dec) || sniffUnicode(dec, true).unit != 0 ||
		len(dec) >= 24 && sniffHeaderless(dec[:min(len(dec), 4096)], len(dec) <= 4096) != ""
}

// resolve decodes a run: it returns the run with its payload when that is
// worth scanning, nothing when it is not, and for a wrapped run that does
// not decode to anything worth scanning, its lines resolved one by one, as
// unrelated values.
func (r run) resolve() []run {
	dec := r.decode()
	if dec != nil && payloadWorthScanning(dec) {
		r.payload = dec
		return []run{r}
	}
	if !r.hex && !r.pct && r.segs == nil && r.end-r.start > minB64Run && r.v.text[r.start] == '+' {
		// A '+' before a value is often a form-encoded space ("h+ZXdvZ…"), which base64
		// reads as a character of the value, putting every following one out of place.
		t := r
		t.start++
		if dec := t.decode(); dec != nil && payloadWorthScanning(dec) {
			t.payload = dec
			return []run{t}
		}
	}
	var out []run
	if r.segs != nil {
		for _, l := range r.lines() {
			out = append(out, l.resolve()...)
		}
	}
	return out
}

// decodeRun scans a resolved run's payload one level deeper.
func (s *scanner) decodeRun(r run, p []string, base int64, depth int) {
	off := base + int64(r.v.rawPos(r.start))
	name := "base64"
	switch {
	case r.hex:
		name = "hex"
	case r.pct:
		name = "percent"
	}
	dec := r.payload
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
func sniffHeaderless(head []byte, whole bool) string { return sniffHeaderlessDepth(head, whole, 2) }

// sniffHeaderlessDepth is sniffHeaderless that also accepts a head
// decoding to another brotli or raw deflate stream, up to depth layers.
func sniffHeaderlessDepth(head []byte, whole bool, depth int) string {
	if len(head) < 4 {
		return ""
	}
	// Raw deflate first: block type 3 is reserved, which rejects a quarter
	// of random heads before any decoding.
	if head[0]&0x06 != 0x06 {
		src := bytes.NewReader(head)
		fr := flatePool.Get().(io.ReadCloser)
		_ = fr.(flate.Resetter).Reset(src, nil)
		ok := decodesToText(fr, src, whole, depth)
		flatePool.Put(fr)
		if ok {
			return "deflate"
		}
	}
	src := bytes.NewReader(head)
	br := brotliPool.Get().(*brotli.Reader)
	_ = br.Reset(src)
	ok := decodesToText(br, src, whole, depth)
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
// produced must be at least 16 bytes of text (UTF-8, UTF-16 or UTF-32) or
// start a container (gzip, zstd, zip, zlib). With
// whole, the stream must end exactly where src does; without, the decoder
// may run out of input but must not end before it.
func decodesToText(r io.Reader, src *bytes.Reader, whole bool, depth int) bool {
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
	if isContainerMagic(out) || zlibHeader(out) && trialDecode(zlibReader(out), false) || sniffUnicode(out, complete).unit != 0 ||
		depth > 0 && sniffHeaderlessDepth(out, complete, depth-1) != "" {
		return true
	}
	// A prefix may end inside a UTF-8 sequence.
	for cut := 0; cut < 3 && !utf8.Valid(out) && len(out) > 1; cut++ {
		out = out[:len(out)-1]
	}
	return strictText(out)
}

// zlibReader returns a zlib decoder over b, or a reader that fails.
func zlibReader(b []byte) io.Reader {
	zr, err := zlib.NewReader(bytes.NewReader(b))
	if err != nil {
		return iotestErrReader{err}
	}
	return zr
}

type iotestErrReader struct{ err error }

func (r iotestErrReader) Read([]byte) (int, error) { return 0, r.err }

// strictText reports valid UTF-8 without control characters other than
// tab, CR and LF.
func strictText(b []byte) bool {
	// Printable ASCII eight bytes at a time: most text is all of it.
	i := 0
	for i+8 <= len(b) && printableASCII8(binary.LittleEndian.Uint64(b[i:])) {
		i += 8
	}
	b = b[i:]
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

// printableASCII8 reports whether the eight bytes of x are all printable
// ASCII (0x20…0x7e), with the tests of "Bit Twiddling Hacks" (hasless and
// haszero), exact once no byte has its high bit set.
func printableASCII8(x uint64) bool {
	const ones, high = ^uint64(0) / 255, ^uint64(0) / 255 * 0x80
	if x&high != 0 || (x-ones*0x20)&^x&high != 0 {
		return false // a byte ≥ 0x80 or < 0x20
	}
	d := x ^ ones*0x7f
	return (d-ones)&^d&high == 0 // no DEL
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
