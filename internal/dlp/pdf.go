package dlp

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/klauspost/compress/zlib"
)

// Bounds of the PDF reader: hostile files must not make it loop, recurse or
// allocate without limit.
const (
	pdfMaxObjects     = 200_000 // indirect objects, top-level and in object streams
	pdfMaxRefDepth    = 8       // references followed to reach one value
	pdfMaxNesting     = 32      // nested arrays and dictionaries; /Parent levels
	pdfMaxCMapEntries = 100_000 // ToUnicode mappings of one font
	pdfMaxFormDepth   = 8       // form XObjects drawn inside form XObjects
	pdfMaxTextRuns    = 1 << 20 // content streams and forms interpreted in one file
	pdfMaxValues      = 4 << 20 // array and dictionary elements kept from objects, or from one stream
	pdfFlushBytes     = 4 << 20 // extracted text is scanned in pieces of about this size
)

// isPDF reports a PDF header in the first KiB (readers accept leading junk).
func isPDF(br *bufio.Reader) bool {
	head, _ := br.Peek(1024)
	return bytes.Contains(head, []byte("%PDF-"))
}

// PDF object syntax, as parsed here.
type (
	pdfName    string
	pdfKeyword string // operators, true/false/null and stray delimiters
	pdfString  []byte // literal or hex string, escapes decoded
	pdfRef     int    // object number of an "N G R" reference
	pdfArray   []any
	pdfEntry   struct {
		key pdfName
		val any
	}
	// pdfDict keeps its entries in file order so that extracted text is
	// deterministic.
	pdfDict []pdfEntry
)

func (d pdfDict) get(key pdfName) any {
	for _, e := range d {
		if e.key == key {
			return e.val
		}
	}
	return nil
}

func (d pdfDict) name(key pdfName) pdfName { n, _ := d.get(key).(pdfName); return n }

type pdfObject struct {
	num    int
	value  any
	stream []byte // raw stream bytes; nil without a stream
	used   bool   // its text was extracted as page content, a CMap or an attachment
}

// pdfDoc is one PDF being scanned.
type pdfDoc struct {
	s         *scanner
	path      []string
	depth     int
	objs      map[int]*pdfObject // the last definition of each object number
	all       []*pdfObject       // every definition, for dictionary strings
	fonts     map[int]*pdfFont
	forms     map[int][]byte
	textRuns  int
	values    int // room left for elements of object values (pdfLexer.room)
	encrypted bool
}

// scanPDF extracts the text of a PDF (pages through their fonts' ToUnicode
// maps, dictionary strings such as form field values, attachments and other
// decodable streams) and scans it one layer deeper. Objects are found by
// scanning the bytes, not through the cross-reference table, which is
// often wrong; bytes outside objects are scanned as they are, so text
// merely prefixed with a PDF header is not skipped.
func (s *scanner) scanPDF(r io.Reader, p []string, depth int) error {
	data, err := io.ReadAll(io.LimitReader(r, s.o.MaxArchiveBytes+1))
	if err != nil {
		return fmt.Errorf("pdf: %w", err)
	}
	if int64(len(data)) > s.o.MaxArchiveBytes {
		s.incomplete("%s: PDF larger than %d bytes", pathString(p), s.o.MaxArchiveBytes)
		_, _ = io.Copy(io.Discard, r)
		return s.scanText(bytes.NewReader(data), p, depth)
	}
	d := newPDFDoc(s, p, depth)
	gaps := d.parseObjects(data)
	// The trailer is in the gaps; a cross-reference stream is an object.
	d.encrypted = bytes.Contains(gaps, []byte("/Encrypt"))
	for _, o := range d.all {
		if dict, ok := o.value.(pdfDict); ok && dict.get("Encrypt") != nil {
			d.encrypted = true
		}
	}
	if d.encrypted {
		s.incomplete("%s: encrypted PDF", pathString(p))
	}
	d.expandObjectStreams()
	if d.values <= 0 {
		s.incomplete("%s: more than %d values in PDF objects", pathString(p), pdfMaxValues)
	}
	if err := d.scanPages(); err != nil {
		return err
	}
	d.scanStrings()
	if err := d.scanStreams(); err != nil {
		return err
	}
	if len(bytes.TrimSpace(gaps)) > 0 {
		// scanText, not scanStream: the gaps start with the PDF header.
		return s.scanText(bytes.NewReader(gaps), with(p, "pdf:raw"), depth+1)
	}
	return nil
}

func newPDFDoc(s *scanner, p []string, depth int) *pdfDoc {
	return &pdfDoc{s: s, path: p, depth: depth, objs: map[int]*pdfObject{}, fonts: map[int]*pdfFont{},
		forms: map[int][]byte{}, values: pdfMaxValues}
}

// fail records a part of the file that could not be read; in an encrypted
// file every stream fails, and the verdict already says why.
func (d *pdfDoc) fail(what string, num int, err error) {
	switch {
	case errors.Is(err, errBudget): // once, not for every stream after it
		d.s.incomplete("%s: %v", pathString(d.path), err)
	case !d.encrypted:
		d.s.incomplete("%s: %s %d: %v", pathString(d.path), what, num, err)
	}
}

// parseObjects registers every "N G obj … endobj" and returns the bytes
// outside objects, without cross-reference entries.
func (d *pdfDoc) parseObjects(data []byte) []byte {
	var gaps []byte
	pos, gapStart := 0, 0
	for {
		i := bytes.Index(data[pos:], []byte("obj"))
		if i < 0 {
			break
		}
		i += pos
		pos = i + 3
		num, start, ok := objectHeader(data, i)
		if !ok || pos < len(data) && !isPDFSpace(data[pos]) && !isPDFDelim(data[pos]) {
			continue
		}
		if len(d.all) >= pdfMaxObjects {
			d.s.incomplete("%s: more than %d PDF objects", pathString(d.path), pdfMaxObjects)
			break
		}
		o, end, closed := parseObjectBody(data, pos, &d.values)
		o.num = num
		d.add(num, o, false)
		if closed {
			gaps = appendGap(gaps, data[gapStart:start])
			gapStart = end
		}
		// An object without endobj (a string or array that never ends, say)
		// may have swallowed text: its bytes stay in the gaps, scanned as
		// they are.
		pos = end
	}
	return appendGap(gaps, data[gapStart:])
}

func (d *pdfDoc) add(num int, o *pdfObject, compressed bool) {
	d.all = append(d.all, o)
	// Without the cross-reference table the newest definition is unknown:
	// a top-level object (an incremental update) wins over a compressed one.
	if _, exists := d.objs[num]; !exists || !compressed {
		d.objs[num] = o
	}
}

// objectHeader checks that "obj" at i follows "num gen " and returns num
// and where the header starts.
func objectHeader(data []byte, i int) (num, start int, ok bool) {
	j := i
	digits := func() int {
		k := j
		for j > 0 && j-k > -10 && data[j-1] >= '0' && data[j-1] <= '9' {
			j--
		}
		return k - j
	}
	spaces := func() int {
		k := j
		for j > 0 && isPDFSpace(data[j-1]) {
			j--
		}
		return k - j
	}
	if spaces() == 0 || digits() == 0 || spaces() == 0 {
		return 0, 0, false
	}
	end := j
	if digits() == 0 || j > 0 && !isPDFSpace(data[j-1]) && !isPDFDelim(data[j-1]) {
		return 0, 0, false
	}
	n, err := strconv.Atoi(string(data[j:end]))
	return n, j, err == nil
}

// parseObjectBody parses the value after "obj" and its stream, if any, and
// returns the offset after the object and whether endobj closed it.
func parseObjectBody(data []byte, pos int, room *int) (*pdfObject, int, bool) {
	l := &pdfLexer{b: data, pos: pos, refs: true, room: room}
	v, _ := l.value(0)
	o := &pdfObject{value: v}
	l.skipSpace()
	if bytes.HasPrefix(data[l.pos:], []byte("stream")) {
		start := l.pos + len("stream")
		if start < len(data) && data[start] == '\r' {
			start++
		}
		if start < len(data) && data[start] == '\n' {
			start++
		}
		end := -1
		if dict, ok := v.(pdfDict); ok {
			if n, ok := dict.get("Length").(float64); ok && n >= 0 && n <= float64(len(data)-start) {
				after := bytes.TrimLeft(data[start+int(n):], " \t\r\n\f\x00")
				if bytes.HasPrefix(after, []byte("endstream")) {
					end = start + int(n)
				}
			}
		}
		next := end
		if end < 0 {
			next = len(data)
			if k := bytes.Index(data[start:], []byte("endstream")); k >= 0 {
				next = start + k
			}
			end = start + trimEOL(data[start:next])
		}
		o.stream = data[start:end]
		if k := bytes.Index(data[next:min(len(data), next+len("endstream")+64)], []byte("endstream")); k >= 0 {
			next += k + len("endstream")
		}
		l.pos = next
		l.skipSpace()
	}
	if bytes.HasPrefix(data[l.pos:], []byte("endobj")) {
		return o, l.pos + len("endobj"), true
	}
	return o, l.pos, false
}

func trimEOL(b []byte) int {
	n := len(b)
	if n > 0 && b[n-1] == '\n' {
		n--
	}
	if n > 0 && b[n-1] == '\r' {
		n--
	}
	return n
}

// appendGap adds bytes found outside objects, without the entries of
// cross-reference tables ("0000000015 00000 n"), which look like numbers.
func appendGap(gaps, b []byte) []byte {
	for len(b) > 0 {
		line := b
		if k := bytes.IndexAny(b, "\r\n"); k >= 0 {
			line = b[:k+1]
		}
		b = b[len(line):]
		t := bytes.TrimSpace(line)
		if len(t) == 18 && t[10] == ' ' && t[16] == ' ' && (t[17] == 'n' || t[17] == 'f') && allDigits(t[:10]) && allDigits(t[11:16]) {
			continue
		}
		gaps = append(gaps, line...)
	}
	return append(gaps, '\n')
}

func allDigits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return len(b) > 0
}

// expandObjectStreams registers the objects stored in /Type /ObjStm
// streams, where modern writers keep page and font dictionaries.
func (d *pdfDoc) expandObjectStreams() {
	for _, num := range slices.Sorted(maps.Keys(d.objs)) {
		o := d.objs[num]
		dict, _ := o.value.(pdfDict)
		if o.stream == nil || dict.name("Type") != "ObjStm" {
			continue
		}
		o.used = true
		data, err := d.decodeStream(o)
		if err != nil {
			d.fail("object stream", num, err)
		}
		n, _ := dict.get("N").(float64)
		first, _ := dict.get("First").(float64)
		if first < 0 || first > float64(len(data)) {
			continue
		}
		header := &pdfLexer{b: data[:int(first)], room: &d.values}
		for i := 0; i < int(n) && len(d.all) < pdfMaxObjects; i++ {
			objNum, ok1 := header.value(0)
			off, ok2 := header.value(0)
			on, isNum := objNum.(float64)
			of, isOff := off.(float64)
			if !ok1 || !ok2 || !isNum || !isOff || of < 0 || first+of >= float64(len(data)) {
				break
			}
			v, _ := (&pdfLexer{b: data, pos: int(first + of), refs: true, room: &d.values}).value(0)
			d.add(int(on), &pdfObject{num: int(on), value: v}, true)
		}
	}
	if len(d.all) >= pdfMaxObjects {
		d.s.incomplete("%s: more than %d PDF objects", pathString(d.path), pdfMaxObjects)
	}
}

var errPDFFilter = errors.New("unsupported filter")

// decodeStream returns a stream's data: as stored, or inflated for
// FlateDecode within the decoded-bytes budget. Other filters and
// predictors (images, cross-reference streams) are not supported. With an
// error, the bytes decoded before it may still be returned.
func (d *pdfDoc) decodeStream(o *pdfObject) ([]byte, error) {
	dict, _ := o.value.(pdfDict)
	var filters []pdfName
	switch f := d.resolve(dict.get("Filter")).(type) {
	case pdfName:
		filters = append(filters, f)
	case pdfArray:
		for _, v := range f {
			n, _ := v.(pdfName)
			filters = append(filters, n)
		}
	}
	if len(filters) == 0 {
		return o.stream, nil
	}
	if len(filters) > 1 || filters[0] != "FlateDecode" {
		return nil, fmt.Errorf("%w %v", errPDFFilter, filters)
	}
	if parms, ok := d.resolve(dict.get("DecodeParms")).(pdfDict); ok {
		if pr, ok := parms.get("Predictor").(float64); ok && pr > 1 {
			return nil, fmt.Errorf("%w: predictor %v", errPDFFilter, pr)
		}
	}
	zr, err := zlib.NewReader(bytes.NewReader(o.stream))
	if err != nil {
		return nil, fmt.Errorf("flate: %w", err)
	}
	defer zr.Close()
	room := max(0, d.s.o.MaxDecodedBytes-d.s.decoded)
	out, err := io.ReadAll(io.LimitReader(zr, room+1))
	if int64(len(out)) > room {
		d.s.decoded += room
		return out[:room], fmt.Errorf("%w: decoded bytes over %d", errBudget, d.s.o.MaxDecodedBytes)
	}
	d.s.decoded += int64(len(out))
	if err != nil {
		return out, fmt.Errorf("flate: %w", err)
	}
	return out, nil
}

// resolve follows references to the value they name.
func (d *pdfDoc) resolve(v any) any {
	for i := 0; i < pdfMaxRefDepth; i++ {
		ref, ok := v.(pdfRef)
		if !ok {
			return v
		}
		o := d.objs[int(ref)]
		if o == nil {
			return nil
		}
		v = o.value
	}
	return nil
}

func (d *pdfDoc) dict(v any) pdfDict { dict, _ := d.resolve(v).(pdfDict); return dict }

func (d *pdfDoc) array(v any) pdfArray { a, _ := d.resolve(v).(pdfArray); return a }

func (a pdfArray) at(i int) any {
	if i < len(a) {
		return a[i]
	}
	return nil
}

// pdfSink collects extracted text, counted against the decoded-bytes
// budget, and scans it in pieces under one path element.
type pdfSink struct {
	d    *pdfDoc
	name string
	buf  bytes.Buffer
}

// write adds text; false means the budget is spent.
func (k *pdfSink) write(b []byte) bool {
	s := k.d.s
	if s.decoded+int64(len(b)) > s.o.MaxDecodedBytes {
		s.incomplete("%s: decoded bytes over %d", pathString(with(k.d.path, k.name)), s.o.MaxDecodedBytes)
		return false
	}
	s.decoded += int64(len(b))
	k.buf.Write(b)
	if k.buf.Len() >= pdfFlushBytes {
		k.flush()
	}
	return true
}

func (k *pdfSink) writeLine(b []byte) bool { return k.write(b) && k.write([]byte{'\n'}) }

func (k *pdfSink) flush() {
	if k.buf.Len() > 0 {
		k.d.s.scanStream(bytes.NewReader(k.buf.Bytes()), with(k.d.path, k.name), k.d.depth+1, Hints{})
		k.buf.Reset()
	}
}

// scanPages extracts the text of every /Type /Page object.
func (d *pdfDoc) scanPages() error {
	sink := &pdfSink{d: d, name: "pdf:text"}
	defer sink.flush()
	for _, num := range slices.Sorted(maps.Keys(d.objs)) {
		page, _ := d.objs[num].value.(pdfDict)
		if page.name("Type") != "Page" {
			continue
		}
		res := d.pageResources(page)
		var text bytes.Buffer
		for _, c := range d.contentStreams(page.get("Contents"), 0) {
			c.used = true
			data, err := d.decodeStream(c)
			if err != nil {
				d.fail("page content stream of page object", num, err)
			}
			d.showText(data, res, &text, 0)
			text.WriteByte('\n')
		}
		if !sink.write(text.Bytes()) {
			return nil
		}
		if err := d.s.checkTime(); err != nil {
			return err
		}
	}
	return nil
}

// pageResources returns a page's /Resources, inherited from the page tree
// when the page has none.
func (d *pdfDoc) pageResources(page pdfDict) pdfDict {
	for i := 0; i < pdfMaxNesting && page != nil; i++ {
		if r := page.get("Resources"); r != nil {
			return d.dict(r)
		}
		page = d.dict(page.get("Parent"))
	}
	return nil
}

// contentStreams resolves /Contents: one stream or an array of them.
func (d *pdfDoc) contentStreams(v any, depth int) []*pdfObject {
	if depth > pdfMaxRefDepth {
		return nil
	}
	switch c := v.(type) {
	case pdfRef:
		o := d.objs[int(c)]
		if o == nil {
			return nil
		}
		if o.stream != nil {
			return []*pdfObject{o}
		}
		return d.contentStreams(o.value, depth+1)
	case pdfArray:
		var out []*pdfObject
		for _, e := range c {
			if ref, ok := e.(pdfRef); ok {
				if o := d.objs[int(ref)]; o != nil && o.stream != nil {
					out = append(out, o)
				}
			}
		}
		return out
	}
	return nil
}

// scanStrings scans the strings of all dictionaries (form field values,
// annotations, document information) and the attachments they name.
func (d *pdfDoc) scanStrings() {
	sink := &pdfSink{d: d, name: "pdf:fields"}
	attachments := map[*pdfObject]bool{}
	var walk func(v any, key pdfName, depth int) bool
	walk = func(v any, key pdfName, depth int) bool {
		switch x := v.(type) {
		case pdfString:
			switch key {
			case "ID", "O", "U", "OE", "UE", "Perms": // binary: identifiers and encryption keys
				return true
			}
			return sink.writeLine(pdfTextString(x))
		case pdfArray:
			for _, e := range x {
				if depth < pdfMaxNesting && !walk(e, key, depth+1) {
					return false
				}
			}
		case pdfDict:
			if x.name("Type") == "EmbeddedFile" {
				// A stream's dictionary: the stream itself is found below.
				return true
			}
			for _, e := range x {
				if e.key == "EF" {
					for _, f := range d.dict(e.val) {
						if ref, ok := f.val.(pdfRef); ok && d.objs[int(ref)] != nil {
							attachments[d.objs[int(ref)]] = true
						}
					}
				}
				if depth < pdfMaxNesting && !walk(e.val, e.key, depth+1) {
					return false
				}
			}
		}
		return true
	}
	for _, o := range d.all {
		if dict, ok := o.value.(pdfDict); ok && o.stream != nil && dict.name("Type") == "EmbeddedFile" {
			attachments[o] = true
		}
		if !walk(o.value, "", 0) {
			break
		}
	}
	sink.flush()
	for _, o := range d.all {
		if !attachments[o] || o.stream == nil {
			continue
		}
		o.used = true
		data, err := d.decodeStream(o)
		if err != nil {
			d.fail("attachment in object", o.num, err)
		}
		if len(data) > 0 {
			d.s.scanStream(bytes.NewReader(data), with(d.path, "pdf:attachment"), d.depth+1, Hints{})
		}
	}
}

// scanStreams scans the decodable streams whose text was not extracted
// otherwise (metadata, unreferenced content, scripts). Images, fonts and
// cross-reference streams hold no text and are skipped.
func (d *pdfDoc) scanStreams() error {
	sink := &pdfSink{d: d, name: "pdf:streams"}
	defer sink.flush()
	for _, o := range d.all {
		dict, _ := o.value.(pdfDict)
		if o.stream == nil || o.used || dict.get("Length1") != nil || dict.get("DecodeParms") != nil {
			continue
		}
		switch dict.name("Subtype") {
		case "Image", "Type1C", "CIDFontType0C", "OpenType":
			continue
		}
		if dict.name("Type") == "XRef" {
			continue
		}
		data, err := d.decodeStream(o)
		if errors.Is(err, errBudget) {
			d.fail("stream", o.num, err)
			return nil
		}
		if err != nil { // an image or font format, as far as can be told
			continue
		}
		if !sink.writeLine(data) {
			return nil
		}
		if err := d.s.checkTime(); err != nil {
			return err
		}
	}
	return nil
}

// pdfTextString decodes a PDF text string: UTF-16BE or UTF-8 with a byte
// order mark, else PDFDocEncoding (taken as Latin-1).
func pdfTextString(b []byte) []byte {
	switch {
	case len(b) >= 2 && b[0] == 0xfe && b[1] == 0xff:
		return []byte(string(utf16.Decode(utf16Units(b[2:]))))
	case bytes.HasPrefix(b, []byte("\xef\xbb\xbf")):
		return b[3:]
	}
	return latin1(nil, b)
}

func latin1(out, b []byte) []byte {
	for _, c := range b {
		out = utf8.AppendRune(out, rune(c))
	}
	return out
}
