package intent

import (
	"slices"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/gatehouse/gatehouse/internal/dlp"
)

// A token is one word of a view after normalisation, with the lexicon's
// categories for it in each channel (0: the text as written, 1: the text
// read through ROT13).
type tok struct {
	cats       [2]uint64
	pend       [2]int32 // last token of a phrase that starts here (else own index)
	lv         int32    // lexicon entry of the key, or -1
	start, end int32    // byte offsets in the view
	koff, klen int32    // the normalised key in tokenizer.arena
	flags      uint8
}

const (
	tokFolded uint8 = 1 << iota // look-alikes, leetspeak, invisible characters or spacing were undone
	tokCJK                      // a bigram of Han, Hiragana or Katakana characters
	tokSingle                   // one ASCII letter (candidate for spaced-out words)
	tokBreak                    // a sentence break (. ! ? ; newline 。) lies between the previous token and this one
)

// markBreaks sets tokBreak once, so the rules test a flag instead of
// rescanning the gap between two tokens.
func (t *tokenizer) markBreaks(text string) {
	toks := t.toks
	for i := 1; i < len(toks); i++ {
		a, b := toks[i-1].end, toks[i].start
		if a >= b {
			continue // adjacent or overlapping (CJK bigrams)
		}
		if b-a == 1 && !breakByte[text[a]] {
			continue // one blank, the usual gap
		}
		g := text[a:b]
		if g == "." && b < int32(len(text)) && text[b] >= 'a' && text[b] <= 'z' {
			continue // "svchost.exe", "evil.example": a dot inside a name
		}
		if len(g) == 2 && g == ". " && titleAbbrev(text[t.toks[i-1].start:a]) {
			continue // "Dr. Helen Marsh": a title, not a sentence end
		}
		for k := 0; k < len(g); k++ {
			c := g[k]
			if c == '.' || c == '!' || c == '?' || c == '\n' || c == ';' || c == 0xE3 && k+2 < len(g) && g[k+1] == 0x80 && g[k+2] == 0x82 {
				toks[i].flags |= tokBreak
				break
			}
		}
	}
}

// breakByte marks the bytes that end a sentence, and the first byte of
// "。".
var breakByte = func() (t [256]bool) {
	for _, c := range []byte{'.', '!', '?', '\n', ';', 0xE3} {
		t[c] = true
	}
	return
}()

// tokenizer turns text into normalised word keys: NFKD with combining marks
// removed (so "précédentes" reads "precedentes" and full-width or
// mathematical letters read as ASCII), invisible format characters (zero
// width space, joiners, soft hyphen, bidi controls) dropped, look-alike
// letters folded to ASCII in words that are not entirely in another script,
// lower case, and a leetspeak skeleton (0→o, 1/l/|→i, 3→e, 4/@→a, 5/$→s,
// 7→t, 8→b, 9→g) in words holding at least one letter. Han and kana runs
// become overlapping bigrams. The lexicon is compiled through the same
// tokenizer, so both sides always agree.
type tokenizer struct {
	lx    *lexicon
	toks  []tok
	arena []byte
	b     []byte // the word as written, once it holds a non-ASCII letter
	dec   []byte
}

// word state while scanning
type wordState struct {
	start       int
	koff        int // where the word starts in the arena
	asciiLetter int
	digitSym    int
	nonASCIIOut int
	symbols     int // leetspeak symbols among digitSym ('@', '$', '|', '!')
	// hash is the FNV-1a hash of the key while the word holds ASCII
	// letters only (digitSym == 0 and !hasB); otherwise emitWord
	// recomputes it.
	hash   uint64
	folded bool
	open   bool
	hasB   bool
}

var asciiLetters = func() (t [256]bool) {
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-32] = true, true
	}
	return
}()

// letterKey maps an ASCII letter to its key byte, lower case through the
// skeleton (which, of the letters, only changes 'l'), and any other byte
// to 0.
var letterKey = func() (t [256]byte) {
	for c := 'a'; c <= 'z'; c++ {
		t[c] = skeleton[c]
		t[c-32] = skeleton[c]
	}
	return
}()

func (t *tokenizer) reset() {
	t.toks = t.toks[:0]
	t.arena = t.arena[:0]
}

// run tokenizes text, appending to t.toks. The channel-0 and channel-1
// categories come from the lexicon (none while the lexicon is compiled).
func (t *tokenizer) run(text string) {
	var w wordState
	t.b = t.b[:0]
	// Room for the keys of ASCII words, which are never longer than their
	// text (foldLetters writes them in one pass).
	t.arena = slices.Grow(t.arena, len(text))
	finish := func(end int) {
		if w.open {
			t.emitWord(&w, end)
			// (a closed word leaves w zero and t.b empty: nothing
			// touches them before the next word opens)
			w = wordState{}
			t.b = t.b[:0]
		}
	}
	open := func(i int) {
		if !w.open {
			// the folded word is built in place at the end of the arena
			w.open, w.start, w.koff, w.hash = true, i, len(t.arena), fnvOffset
		}
	}
	for i := 0; i < len(text); {
		c := text[i]
		if c < utf8.RuneSelf {
			switch {
			case asciiLetters[c] && !w.open:
				// A new word: most are ASCII letters ended by a separator,
				// and those are pushed here without the word state.
				koff := len(t.arena)
				var j int
				var h uint64
				t.arena, j, h = foldLetters(t.arena, text, i, fnvOffset)
				if j == len(text) || endsASCIIWord(text, j) {
					var flags uint8
					if j-i == 1 {
						flags = tokSingle
					}
					t.pushHashed(int32(i), int32(j), int32(koff), int32(j-i), flags, h)
				} else {
					w.open, w.start, w.koff, w.hash, w.asciiLetter = true, i, koff, h, j-i
				}
				i = j
				continue
			case asciiLetters[c]:
				open(i)
				// The run goes into the key folded: lower case and the
				// skeleton's 'l' → 'i' (the only letter it maps), so emitWord
				// need not pass over a word of ASCII letters again; the FNV-1a
				// hash of the key is kept up to date alongside.
				var j int
				t.arena, j, w.hash = foldLetters(t.arena, text, i, w.hash)
				if w.hasB {
					for k := i; k < j; k++ {
						t.b = append(t.b, text[k]|0x20)
					}
				}
				w.asciiLetter += j - i
				i = j
				continue
			case c >= '0' && c <= '9':
				open(i)
				t.arena = append(t.arena, c)
				if w.hasB {
					t.b = append(t.b, c)
				}
				w.digitSym++
			case (c == '@' || c == '$' || c == '|') && (w.open || i+1 < len(text) && leetNext(text[i+1])),
				c == '!' && i+1 < len(text) && (isASCIIAlnum(text[i+1]) || leetNext(text[i+1])),
				c == '+' && plusLeet(text, i, w.open, w.digitSym):
				open(i)
				t.arena = append(t.arena, c)
				if w.hasB {
					t.b = append(t.b, c)
				}
				w.digitSym++
				w.symbols++
			case c == '\'' && w.open && i+1 < len(text) && isASCIILetter(text[i+1]):
				// don't → dont
			default:
				finish(i)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(text[i:])
		switch {
		case r == utf8.RuneError:
			finish(i)
		case unicode.Is(unicode.Cf, r) || unicode.Is(unicode.Mn, r) || r >= 0xFE00 && r <= 0xFE0F:
			// invisible: neither a letter nor a separator
			if w.open {
				w.folded = true
			}
		case r == '\u2019' && w.open:
		case isCJK(r):
			finish(i)
			i = t.cjkRun(text, i)
			continue
		case unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mc, r) || unicode.Is(unicode.Nl, r):
			// Nl: letter numbers (ⅼ, Ⅰ) fold to the letters they look like
			// Mc: the spacing vowel signs of Indic scripts belong to the word
			open(i)
			if !w.hasB {
				// t.b (the word as written) is kept apart only once a
				// non-ASCII letter makes it differ from the folded word
				t.b = append(t.b[:0], t.arena[w.koff:]...)
				w.hasB = true
			}
			t.foldRune(&w, r)
		default:
			finish(i)
		}
		i += n
	}
	finish(len(text))
}

// foldLetters appends to key the key bytes of the ASCII letters of text
// from i on, and returns it, where the letters end and the FNV-1a hash h
// carried over them. (A function of its own: in run's loop the compiler
// keeps this loop's variables in memory.)
//
//go:noinline
func foldLetters(key []byte, text string, i int, h uint64) ([]byte, int, uint64) {
	// One pass into the arena's spare room (run reserves room for the
	// text), else a count and a copy.
	n := len(key)
	if spare := key[n:cap(key)]; len(spare) >= len(text)-i {
		src := text[i:]
		k := 0
		for ; k < len(src) && k < len(spare); k++ {
			c := letterKey[src[k]]
			if c == 0 {
				break
			}
			spare[k] = c
			h = (h ^ uint64(c)) * fnvPrime
		}
		return key[:n+k], i + k, h
	}
	j := i
	for j < len(text) && letterKey[text[j]] != 0 {
		j++
	}
	m := j - i
	key = slices.Grow(key, m)[:n+m]
	d, s := key[n:], text[i:j]
	for k := 0; k < len(d) && k < len(s); k++ {
		c := letterKey[s[k]]
		d[k] = c
		h = (h ^ uint64(c)) * fnvPrime
	}
	return key, j, h
}

// endsASCIIWord reports whether the ASCII byte text[j] after a run of
// ASCII letters ends the word in run: a byte that neither continues it (a
// digit, a leetspeak symbol, an apostrophe before a letter) nor starts a
// non-ASCII character, which run decodes.
func endsASCIIWord(text string, j int) bool {
	switch c := text[j]; {
	case c >= utf8.RuneSelf, c >= '0' && c <= '9', c == '@' || c == '$' || c == '|':
		return false
	case c == '!':
		return j+1 >= len(text) || !isASCIIAlnum(text[j+1]) && !leetNext(text[j+1])
	case c == '+':
		// run's rule for a '+' inside an open word of letters (no leetspeak yet)
		return !plusLeet(text, j, true, 0)
	case c == '\'':
		return j+1 >= len(text) || !isASCIILetter(text[j+1])
	}
	return true
}

// titleAbbrev reports a title written with a dot ("Dr", "Mrs", "Prof").
func titleAbbrev(w string) bool {
	switch w {
	case "Dr", "Mr", "Mrs", "Ms", "Prof", "St", "Sr", "Jr", "Capt", "Gen", "Sen", "Rep", "Gov":
		return true
	}
	return false
}

func isASCIILetter(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }

// leetNext reports a byte that can follow a leetspeak symbol inside a
// word: a letter or another symbol ("@$id3", "$@y", "d!$r3g4rd").
func leetNext(c byte) bool { return isASCIILetter(c) || c == '$' || c == '@' || c == '|' }

// plusLeet reports a '+' standing for 't': inside a word that already
// holds leetspeak digits or symbols, or before a letter and a leetspeak
// digit ("+h3", "c0n+3n+", "s+0p"), never in "a+b" or "C++".
func plusLeet(text string, i int, open bool, digitSym int) bool {
	if i+1 == len(text) {
		return open && digitSym > 0
	}
	next := text[i+1]
	if open {
		return digitSym > 0 && (isASCIIAlnum(next) || next == ' ' || next == '.' || next == ',') || next >= '0' && next <= '9'
	}
	return isASCIILetter(next) && i+2 < len(text) && text[i+2] >= '0' && text[i+2] <= '9'
}

func isASCIIAlnum(c byte) bool { return isASCIILetter(c) || c >= '0' && c <= '9' }

func isCJK(r rune) bool {
	return unicode.Is(unicode.Han, r) || unicode.Is(unicode.Hiragana, r) || unicode.Is(unicode.Katakana, r) ||
		r == 0x30FC || r == 0x3005 // ー (long vowel mark) and 々 (repetition mark) are Common, used inside words
}

// foldRune appends the normalised forms of one non-ASCII letter or digit.
func (t *tokenizer) foldRune(w *wordState, r rune) {
	var rb [4]byte
	t.dec = norm.NFKD.Append(t.dec[:0], rb[:utf8.EncodeRune(rb[:], r)]...)
	for d := t.dec; len(d) > 0; {
		q, m := utf8.DecodeRune(d)
		d = d[m:]
		if unicode.Is(unicode.Mn, q) {
			continue
		}
		if q < utf8.RuneSelf {
			c := byte(q)
			if c >= 'A' && c <= 'Z' {
				c |= 0x20
			}
			t.arena, t.b = append(t.arena, c), append(t.b, c)
			if r != q {
				w.folded = true
			}
			continue
		}
		lq := unicode.ToLower(q)
		t.b = utf8.AppendRune(t.b, lq)
		f := dlp.FoldRune(q)
		if f == 0 {
			f = extraFold[q]
		}
		if f != 0 {
			if f >= 'A' && f <= 'Z' {
				f |= 0x20
			}
			t.arena = append(t.arena, f)
			w.folded = true
			continue
		}
		t.arena = utf8.AppendRune(t.arena, lq)
		w.nonASCIIOut++
	}
}

// extraFold are look-alikes the DLP table does not fold (Greek eta for n,
// nu for v, kappa for k, rho for p, chi for x), used only in words mixed
// with Latin letters, as all folding is.
var extraFold = map[rune]byte{'η': 'n', 'ν': 'v', 'κ': 'k', 'ρ': 'p', 'χ': 'x', 'Η': 'n', 'Ν': 'v', 'Κ': 'k', 'Ρ': 'p', 'Χ': 'x'}

// skeleton maps leetspeak digits and symbols, and 'l', to the letter they
// stand for.
var skeleton = func() [256]byte {
	var s [256]byte
	for i := range s {
		s[i] = byte(i)
	}
	for k, v := range map[byte]byte{'0': 'o', '1': 'i', 'l': 'i', '|': 'i', '!': 'i', '3': 'e', '4': 'a', '@': 'a', '5': 's', '$': 's', '7': 't', '+': 't', '8': 'b', '9': 'g'} {
		s[k] = v
	}
	return s
}()

func (t *tokenizer) emitWord(w *wordState, end int) {
	if w.hasB && w.nonASCIIOut > 0 && w.asciiLetter == 0 {
		// a word wholly in another script keeps its letters
		t.arena = append(t.arena[:w.koff], t.b...)
	}
	koff := w.koff
	k := t.arena[koff:]
	// a number is no word; digits with a leetspeak symbol ("1$") may be
	letters := w.asciiLetter > 0 || len(k) > w.digitSym || w.symbols > 0 && w.symbols < w.digitSym
	if !letters && t.leetDigits(k, w.start) {
		letters = true // "n33d 70 r3$p3c7": a short group of digits in leetspeak is a word
	}
	if !letters {
		t.arena = t.arena[:koff]
		return
	}
	leet := false
	h := w.hash
	if w.digitSym > 0 || w.hasB {
		// Digits, symbols or folded non-ASCII letters: the skeleton over
		// the whole key (ASCII letters went through it already, and it
		// leaves its own output alone).
		for i, c := range k {
			if s := skeleton[c]; s != c {
				k[i] = s
				if c != 'l' {
					leet = true
				}
			}
		}
		h = fnv(k)
	}
	var flags uint8
	if w.folded || leet {
		flags |= tokFolded
	}
	if len(k) == 1 && w.asciiLetter == 1 {
		flags |= tokSingle
	}
	t.pushHashed(int32(w.start), int32(end), int32(koff), int32(len(k)), flags, h)
}

// cjkRun emits overlapping bigrams for a run of Han or kana characters
// starting at i and returns the offset after the run.
func (t *tokenizer) cjkRun(text string, i int) int {
	type pos struct{ at, n int }
	var prev pos
	have := false
	for i < len(text) {
		r, n := utf8.DecodeRuneInString(text[i:])
		if !isCJK(r) {
			break
		}
		if have {
			koff := len(t.arena)
			t.arena = append(t.arena, text[prev.at:i+n]...)
			t.push(int32(prev.at), int32(i+n), int32(koff), int32(len(t.arena)-koff), tokCJK)
		}
		prev, have = pos{i, n}, true
		i += n
	}
	return i
}

func (t *tokenizer) push(start, end, koff, klen int32, flags uint8) {
	t.pushHashed(start, end, koff, klen, flags, fnv(t.arena[koff:koff+klen]))
}

// pushHashed is push with the FNV-1a hash of the key already known.
func (t *tokenizer) pushHashed(start, end, koff, klen int32, flags uint8, hash uint64) {
	n := len(t.toks)
	if n == cap(t.toks) {
		t.toks = append(t.toks, tok{})
	}
	t.toks = t.toks[:n+1]
	// Field by field in place: a composite literal is built on the stack
	// and copied, and the copy's wide loads stall on its narrow stores.
	k := &t.toks[n]
	k.cats = [2]uint64{}
	k.pend = [2]int32{int32(n), int32(n)}
	k.lv = -1
	k.start, k.end, k.koff, k.klen, k.flags = start, end, koff, klen, flags
	if t.lx != nil {
		t.lx.lookupHashed(t.arena[koff:koff+klen], hash, k)
	}
}

func (t *tokenizer) key(k *tok) []byte { return t.arena[k.koff : k.koff+k.klen] }

// rejoin undoes two evasions once the words are known: letters spaced out
// ("i g n o r e", "i.g.n.o.r.e") and words cut by a separator ("ig-nore",
// "instruc_tions"), when the joined word is in the lexicon.
func (t *tokenizer) rejoin(text string) {
	if t.lx == nil {
		return
	}
	toks := t.toks
	out := toks[:0]
	for i := 0; i < len(toks); {
		// a run of single letters, each at most two bytes from the next:
		// the longest prefix of it that is a known word (bounded by the
		// longest key, so a long run costs linear time)
		j := i
		if toks[i].flags&tokSingle != 0 {
			for j+1 < len(toks) && j+1-i < min(t.lx.maxKey, maxSpelled) && toks[j+1].flags&tokSingle != 0 && toks[j+1].start-toks[j].end <= 2 && !hasNewline(text[toks[j].end:toks[j+1].start]) {
				j++
			}
		}
		if j-i >= 2 {
			koff := int32(len(t.arena))
			for k := i; k <= j; k++ {
				t.arena = append(t.arena, t.key(&toks[k])...)
			}
			merged := false
			for e := j; e-i >= 2; e-- {
				m := tok{start: toks[i].start, end: toks[e].end, koff: koff, klen: int32(e - i + 1), flags: tokFolded, lv: -1}
				t.lx.lookup(t.arena[koff:koff+m.klen], &m)
				if m.lv >= 0 {
					out = append(out, m)
					i = e + 1
					merged = true
					break
				}
			}
			if merged {
				continue
			}
			t.arena = t.arena[:koff]
		}
		// two unknown words joined by one separator byte, or a short
		// fragment split off by a blank ("ign ore", "dis regard")
		if i+1 < len(toks) && toks[i].lv < 0 && toks[i+1].lv < 0 && toks[i].flags&tokCJK == 0 && toks[i+1].flags&tokCJK == 0 {
			gap := text[toks[i].end:toks[i+1].start]
			short := toks[i].klen <= 4 || toks[i+1].klen <= 4
			if len(gap) == 1 && (gap[0] == '-' || gap[0] == '_' || gap[0] == '.' || gap[0] == '*' || gap[0] == '/' || short && (gap[0] == ' ' || gap[0] == '\n')) ||
				short && quoteJoin(gap) {
				koff := int32(len(t.arena))
				t.arena = append(t.arena, t.key(&toks[i])...)
				t.arena = append(t.arena, t.key(&toks[i+1])...)
				m := tok{start: toks[i].start, end: toks[i+1].end, koff: koff, klen: int32(len(t.arena)) - koff, flags: tokFolded, lv: -1}
				t.lx.lookup(t.arena[koff:], &m)
				if m.lv >= 0 {
					out = append(out, m)
					i += 2
					continue
				}
			}
		}
		if len(out) != i {
			out = append(out, toks[i])
		} else {
			out = out[:i+1] // nothing merged yet: the token is already in place
		}
		i++
	}
	for k := range out {
		out[k].pend = [2]int32{int32(k), int32(k)}
	}
	t.toks = out
}

// leetDigits reports digits that read as a short word ("70" for "to",
// "4" for "a") because the word just before, one blank away, was
// leetspeak: "I have 70 apples" keeps its number.
func (t *tokenizer) leetDigits(k []byte, start int) bool {
	if len(k) > 3 || len(t.toks) == 0 {
		return false
	}
	for _, c := range k {
		if c < '0' || c > '9' || skeleton[c] == c {
			return false
		}
	}
	last := &t.toks[len(t.toks)-1]
	if last.flags&tokFolded == 0 || int(last.end) < start-1 {
		return false
	}
	for _, c := range t.arena[last.koff : last.koff+last.klen] {
		if c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}

// quoteJoin reports the gap between two quoted fragments of one word
// ("'ign' 'ore'", "\"ign\" + \"ore\""): quotes, blanks, '+' or ',' only,
// with a quote on each side.
func quoteJoin(gap string) bool {
	if len(gap) < 2 || len(gap) > 6 || !isQuote(gap[0]) || !isQuote(gap[len(gap)-1]) {
		return false
	}
	for k := 1; k < len(gap)-1; k++ {
		if c := gap[k]; c != ' ' && c != '+' && c != ',' && !isQuote(c) {
			return false
		}
	}
	return true
}

func isQuote(c byte) bool { return c == '\'' || c == '"' || c == '`' }

func hasNewline(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			return true
		}
	}
	return false
}

// phrases marks multi-word lexicon entries: the first token gains the
// phrase's categories and pend points at its last token; the tokens inside
// become fillers for distance counting.
func (t *tokenizer) phrases() {
	if t.lx == nil {
		return
	}
	toks := t.toks
	for i := range toks {
		if toks[i].lv < 0 {
			continue
		}
		ph := t.lx.entries[toks[i].lv].ph
		for c := 0; c < 2; c++ {
			if ph[c] < 0 {
				continue
			}
			run := t.lx.phraseRuns[ph[c]]
			for _, p := range t.lx.flat[run[0]:run[1]] {
				if i+int(p.n) >= len(toks) {
					continue
				}
				ok := true
				for k, id := range t.lx.phraseIDs[p.off : p.off+p.n] {
					if toks[i+1+k].lv != id {
						ok = false
						break
					}
				}
				if !ok {
					continue
				}
				last := i + int(p.n)
				toks[i].cats[c] |= p.cats
				if int32(last) > toks[i].pend[c] {
					toks[i].pend[c] = int32(last)
				}
				for k := i + 1; k <= last; k++ {
					toks[k].cats[c] |= catFill
				}
			}
		}
	}
}

// maxSpelled bounds a spaced-out word ("i g n o r e"): longer runs of
// single letters are tried from each start only this far.
const maxSpelled = 16
