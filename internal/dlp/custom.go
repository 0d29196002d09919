package dlp

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// ---- regular expressions ----

type regexEntry struct {
	re   *regexp.Regexp
	luhn bool
}

func (regexEntry) isDetector() {}

func (r regexEntry) find(text []byte, emit func(candidate)) {
	for _, ix := range r.re.FindAllIndex(text, -1) {
		if ix[1]-ix[0] > maxTokenLen || ix[1] == ix[0] {
			continue
		}
		if r.luhn && !luhn(digitsOf(string(text[ix[0]:ix[1]]))) {
			continue
		}
		emit(candidate{start: ix[0], end: ix[1], conf: Medium})
	}
}

// NewRegexEntry compiles a custom pattern entry. Go's regexp is RE2
// (linear time); matches longer than 1024 bytes are ignored so every match
// fits the scanner's window overlap. validation may be "" or "luhn".
func NewRegexEntry(id, pattern, validation string, keywords ...string) (*Entry, error) {
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, fmt.Errorf("dlp: entry %s: %w", id, err)
	}
	if validation != "" && validation != "luhn" {
		return nil, fmt.Errorf("dlp: entry %s: unknown validation %q", id, validation)
	}
	return &Entry{ID: id, Name: id, Kind: "regex", Keywords: keywords,
		det: regexEntry{re: re, luhn: validation == "luhn"}}, nil
}

// ---- word lists ----

type wordListEntry struct {
	ac *acMatcher
}

func (wordListEntry) isDetector() {}

func (w wordListEntry) find(text []byte, emit func(candidate)) {
	w.ac.scan(text, func(pos int, id int32) {
		end := pos + len(w.ac.pats[id])
		if pos > 0 && isWordByte(text[pos-1]) || end < len(text) && isWordByte(text[end]) {
			return
		}
		emit(candidate{start: pos, end: end, conf: High})
	})
}

// NewWordListEntry matches whole-word occurrences of any term.
func NewWordListEntry(id string, terms []string, caseSensitive bool) (*Entry, error) {
	var pats []string
	for _, t := range terms {
		if t = strings.TrimSpace(t); t != "" {
			pats = append(pats, t)
		}
	}
	if len(pats) == 0 {
		return nil, fmt.Errorf("dlp: entry %s: empty word list", id)
	}
	exact := make([]bool, len(pats))
	for i := range exact {
		exact[i] = caseSensitive
	}
	ac := newACMatcher(pats, exact)
	// A word list runs over every window as a detector of its own: the
	// pair filter skips the prose between its terms, as for the triggers.
	ac.enablePairSkip()
	return &Entry{ID: id, Name: id, Kind: "wordlist", det: wordListEntry{ac: ac}}, nil
}

// ---- exact data match ----

// Dataset is an exact data match dataset: only salted HMAC-SHA256 digests
// of normalised cell values are held, never the values.
type Dataset struct {
	Salt     []byte
	Hashes   map[[16]byte]string // digest -> column name
	MaxWords int                 // most words in one cell
	MinLen   int                 // shortest normalised cell
}

// edmNormalize folds case and width (NFKC) and keeps only letters and
// digits, so "123-45-6789" and "123 45 6789" hash alike.
func edmNormalize(s string) string {
	s = norm.NFKC.String(s)
	var b strings.Builder
	for _, r := range s {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}

func (d *Dataset) digest(norm string) [16]byte {
	m := hmac.New(sha256.New, d.Salt)
	m.Write([]byte(norm))
	var out [16]byte
	copy(out[:], m.Sum(nil))
	return out
}

// NewDataset hashes a CSV (header row = column names; each cell of at least
// 6 normalised characters) with salt. The plaintext is not retained.
func NewDataset(r io.Reader, salt []byte) (*Dataset, error) {
	if len(salt) < 16 {
		return nil, errors.New("dlp: dataset salt shorter than 16 bytes")
	}
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("dlp: dataset header: %w", err)
	}
	d := &Dataset{Salt: append([]byte(nil), salt...), Hashes: map[[16]byte]string{}, MinLen: 1 << 30}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("dlp: dataset: %w", err)
		}
		for i, cell := range rec {
			n := edmNormalize(cell)
			if len(n) < 6 {
				continue
			}
			col := fmt.Sprintf("column%d", i)
			if i < len(header) {
				col = header[i]
			}
			d.Hashes[d.digest(n)] = col
			// Text may separate a cell's parts differently ("GB 88 1234" for
			// "GB-88-1234"), so windows span as many tokens as the cell has
			// letter-or-digit runs.
			d.MaxWords = max(d.MaxWords, min(alnumRuns(cell), maxEDMWords))
			d.MinLen = min(d.MinLen, len(n))
		}
	}
	if len(d.Hashes) == 0 {
		return nil, errors.New("dlp: dataset has no usable cells")
	}
	return d, nil
}

// maxEDMWords bounds the tokens one EDM cell may span in scanned text.
const maxEDMWords = 12

func alnumRuns(s string) int {
	n, in := 0, false
	for _, r := range s {
		w := unicode.IsLetter(r) || unicode.IsDigit(r)
		if w && !in {
			n++
		}
		in = w
	}
	return n
}

type edmEntry struct{ d *Dataset }

func (edmEntry) isDetector() {}

// find hashes every window of 1..MaxWords whitespace-separated tokens.
func (e edmEntry) find(text []byte, emit func(candidate)) {
	type tok struct{ s, e int }
	var toks []tok
	for i := 0; i < len(text); {
		for i < len(text) && isEDMSep(text[i]) {
			i++
		}
		j := i
		for j < len(text) && !isEDMSep(text[j]) {
			j++
		}
		if j > i {
			toks = append(toks, tok{i, j})
		}
		i = j
	}
	for i := range toks {
		for k := 1; k <= e.d.MaxWords && i+k <= len(toks); k++ {
			s, end := toks[i].s, toks[i+k-1].e
			n := edmNormalize(string(text[s:end]))
			if len(n) < e.d.MinLen {
				continue
			}
			if col, ok := e.d.Hashes[e.d.digest(n)]; ok {
				emit(candidate{start: s, end: end, conf: High, detail: col})
			}
		}
	}
}

func isEDMSep(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\r', ',', ';', '"', '\'', '<', '>', '(', ')', '[', ']', '{', '}', '|', '=', ':':
		return true
	}
	return false
}

// NewEDMEntry matches values of a dataset; samples are fully redacted.
func NewEDMEntry(id string, d *Dataset) *Entry {
	return &Entry{ID: id, Name: id, Kind: "edm", det: edmEntry{d: d}, redactAll: true}
}
