// Package mailaddr defines the one normal form of e-mail addresses in Gatehouse. Every address
// that names a user (from an identity provider, the PIN form, SCIM, the admin API) and every
// address or domain a policy names goes through Normalize or NormalizeDomain, and addresses are
// then compared byte for byte: there is no other case folding or Unicode matching anywhere.
//
// The normal form is chosen so that two addresses that merely look alike are never equal: a
// character that Unicode case folding or compatibility normalisation would turn into an ASCII
// letter (U+212A KELVIN SIGN, U+017F LONG S, fullwidth and mathematical letters, ligatures) is
// refused rather than mapped, invisible characters are refused, and a non-ASCII letter is kept
// exactly as written. The rules are listed in Normalize.
package mailaddr

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/idna"
	"golang.org/x/text/unicode/norm"
)

// Limits from RFC 5321 section 4.5.3.1, in octets of the normal form.
const (
	// MaxLocalLength is the longest local part.
	MaxLocalLength = 64
	// MaxDomainLength is the longest domain (in its A-label form).
	MaxDomainLength = 253
	// MaxLength is the longest address: a path of 256 octets less its angle brackets.
	MaxLength = 254
	// maxInput bounds the work done on an input before it is refused: the longest normal form
	// written with the longest UTF-8 sequences, with room to spare.
	maxInput = 4 * MaxLength
)

// Error is why an address or domain has no normal form. Its message names the offending
// character by code point, so logs show invisible and look-alike characters unambiguously.
type Error struct {
	// Input is the value as given.
	Input string
	// Domain says Input was a bare domain (NormalizeDomain) rather than an address.
	Domain bool
	// Problem says what is wrong, in words.
	Problem string
}

func (e *Error) Error() string {
	what := "e-mail address"
	if e.Domain {
		what = "e-mail domain"
	}
	in := e.Input
	if len(in) > 2*maxInput {
		in = in[:2*maxInput] + "..."
	}
	// %+q escapes every non-ASCII and non-printing character: a log line shows \u212a, not K.
	return fmt.Sprintf("invalid %s %+q: %s", what, in, e.Problem)
}

// Normalize returns the normal form of the e-mail address s, or an *Error saying why s has none.
//
// An address is a bare addr-spec: exactly one '@' between a local part and a domain, without
// display name, angle brackets, comments, quoted strings, white space or address literals.
//
// The local part is a dot-atom (RFC 5322 atext characters and dots, no leading, trailing or
// doubled dot) in which, as RFC 6532 allows, non-ASCII characters may also appear, subject to:
//   - only letters, decimal digits and combining marks (general categories L, Nd, Mn, Mc); no
//     symbols, punctuation, spaces, controls, format characters or unassigned code points;
//   - no default-ignorable code point (zero-width characters, joiners, bidi controls, variation
//     selectors, Hangul fillers, soft hyphen, tag characters and the like): nothing invisible;
//   - a combining mark only after a non-ASCII letter, digit or mark, never on an ASCII character,
//     at the start or after a dot (where it would decorate a character of an ASCII look-alike);
//   - the local part is in Unicode Normalization Form KC: characters with a compatibility or
//     singleton decomposition (U+212A KELVIN SIGN, U+017F LONG S, fullwidth and mathematical
//     letters, ligatures, superscripts) are refused, not mapped onto the letters they imitate;
//   - letters from one script only, or Latin mixed only with the Chinese, Japanese or Korean
//     scripts as Unicode's "highly restrictive" level (UTS #39) allows, so a Cyrillic or Greek
//     look-alike cannot hide among Latin letters;
//   - no letter that a Unicode case operation maps to ASCII (U+0130 "İ" lower-cases to "i",
//     U+0131 "ı" upper-cases to "I", U+00DF "ß" and U+1E9E "ẞ" fold to "ss"): the address is
//     passed on to origins and SaaS applications that may compare addresses with Unicode case
//     folding, and must not collide with an ASCII address there either;
//   - no upper-case, title-case or variant form of a non-ASCII letter ("É", "Σ", final "ς"):
//     only the lower case of its upper case, the one member of its case orbit, so that no two
//     normal forms differ by letter case alone;
//   - ASCII letters A-Z are lower-cased; every other character is kept as written, never case
//     folded (KELVIN SIGN is never "k", LATIN CAPITAL LETTER I WITH DOT ABOVE is never "i").
//
// The domain is normalised by NormalizeDomain. The whole normal form is at most 254 octets, its
// local part at most 64.
func Normalize(s string) (string, error) {
	fail := func(format string, args ...any) (string, error) {
		return "", &Error{Input: s, Problem: fmt.Sprintf(format, args...)}
	}
	switch {
	case s == "":
		return fail("empty")
	case len(s) > maxInput:
		return fail("longer than %d octets", MaxLength)
	case !utf8.ValidString(s):
		return fail("not valid UTF-8")
	}
	if bad, ok := firstInvisible(s); ok {
		return fail("contains the invisible or formatting character %s", codePoint(bad))
	}
	at := strings.IndexByte(s, '@')
	switch {
	case at < 0:
		return fail("no '@'")
	case strings.IndexByte(s[at+1:], '@') >= 0:
		return fail("more than one '@' (quoted local parts are not accepted)")
	}
	local, err := normalizeLocal(s[:at])
	if err != "" {
		return fail("local part: %s", err)
	}
	domain, err := normalizeDomain(s[at+1:])
	if err != "" {
		return fail("domain: %s", err)
	}
	out := local + "@" + domain
	if len(out) > MaxLength {
		return fail("longer than %d octets", MaxLength)
	}
	return out, nil
}

// NormalizeDomain returns the normal form of an e-mail domain (as the part after '@' of an
// address, or a policy's email_domain without its optional leading '@'), or an *Error.
//
// The normal form is the domain's IDNA2008 A-label form in lower case ("bücher.de" becomes
// "xn--bcher-kva.de"). ASCII letters are lower-cased first; otherwise the domain must already be
// valid as written under IDNA2008's registration rules: characters that UTS #46 would map (upper-
// case non-ASCII letters, U+017F LONG S, U+212A KELVIN SIGN, fullwidth letters) are refused, not
// mapped onto the ASCII letters they imitate. An A-label ("xn--…") must be the exact encoding of a
// valid non-ASCII label. Address literals ("[192.0.2.1]"), a trailing dot, labels of characters
// other than letters, digits and hyphens, and an all-numeric last label are refused. Non-ASCII
// labels hold only letters, digits and combining marks (no symbols such as emoji, which IDNA2008
// disallows too) and follow the script rule of Normalize: one script, or Latin with Chinese,
// Japanese or Korean.
func NormalizeDomain(d string) (string, error) {
	switch {
	case len(d) > maxInput:
		return "", &Error{Input: d, Domain: true, Problem: fmt.Sprintf("longer than %d octets", MaxDomainLength)}
	case !utf8.ValidString(d):
		return "", &Error{Input: d, Domain: true, Problem: "not valid UTF-8"}
	}
	if bad, ok := firstInvisible(d); ok {
		return "", &Error{Input: d, Domain: true, Problem: "contains the invisible or formatting character " + codePoint(bad)}
	}
	out, problem := normalizeDomain(d)
	if problem != "" {
		return "", &Error{Input: d, Domain: true, Problem: problem}
	}
	return out, nil
}

// DomainOf returns the domain of a normal form (the part after its '@'), or "" when addr holds
// no '@'.
func DomainOf(addr string) string {
	at := strings.LastIndexByte(addr, '@')
	if at < 0 {
		return ""
	}
	return addr[at+1:]
}

// atext holds the ASCII characters of RFC 5322 atext besides letters and digits.
const atextSpecials = "!#$%&'*+-/=?^_`{|}~"

// normalizeLocal checks and folds a local part; it returns a problem in words, or "".
func normalizeLocal(l string) (string, string) {
	switch {
	case l == "":
		return "", "empty"
	case l[0] == '.' || l[len(l)-1] == '.' || strings.Contains(l, ".."):
		return "", "a leading, trailing or doubled '.'"
	}
	ascii := true
	prev := rune('.') // as if after a dot: a leading combining mark has no base
	for _, r := range l {
		switch {
		case r < utf8.RuneSelf:
			if !isAtext(byte(r)) && r != '.' {
				return "", fmt.Sprintf("%s is not allowed (quoted local parts are not accepted)", codePoint(r))
			}
		default:
			ascii = false
			if p := nonASCIIProblem(r, prev); p != "" {
				return "", p
			}
		}
		prev = r
	}
	if !ascii {
		if p := compatibilityProblem(l); p != "" {
			return "", p
		}
		if p := scriptProblem(l); p != "" {
			return "", p
		}
	}
	out := foldASCII(l)
	if len(out) > MaxLocalLength {
		return "", fmt.Sprintf("longer than %d octets", MaxLocalLength)
	}
	return out, ""
}

// isAtext reports whether c is an RFC 5322 atext character.
func isAtext(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte(atextSpecials, c) >= 0
}

// nonASCIIProblem checks one non-ASCII character of a local part that follows prev.
func nonASCIIProblem(r, prev rune) string {
	switch {
	case unicode.IsLetter(r), unicode.Is(unicode.Nd, r):
		if a, ok := caseMapsToASCII(r); ok {
			return fmt.Sprintf("%s becomes the ASCII %q under Unicode case mapping", codePoint(r), a)
		}
		if c := caseRepresentative(r); c != r {
			return fmt.Sprintf("%s is a case variant of %s; write non-ASCII letters in lower case", codePoint(r), codePoint(c))
		}
		return ""
	case unicode.In(r, unicode.Mn, unicode.Mc):
		if prev < utf8.RuneSelf || !(unicode.IsLetter(prev) || unicode.Is(unicode.Nd, prev) || unicode.In(prev, unicode.Mn, unicode.Mc)) {
			return fmt.Sprintf("the combining mark %s does not follow a non-ASCII letter", codePoint(r))
		}
		return ""
	}
	return fmt.Sprintf("%s is not a letter, digit or combining mark", codePoint(r))
}

// fullFoldASCII are the letters whose full case folding or full upper-casing (Unicode's
// CaseFolding.txt and SpecialCasing.txt, which Go's simple mappings leave out) is all ASCII:
// Python's str.casefold, ICU and many databases map "ß" to "ss".
var fullFoldASCII = map[rune]string{
	'\u00DF': "ss", '\u1E9E': "ss",
	'\uFB00': "ff", '\uFB01': "fi", '\uFB02': "fl", '\uFB03': "ffi", '\uFB04': "ffl", '\uFB05': "st", '\uFB06': "st",
}

// caseMapsToASCII reports whether a case operation that an origin or a SaaS application might
// apply to the address turns the non-ASCII letter r into ASCII: the simple lower, upper and
// title case mappings, the simple case folding orbit (strings.EqualFold), the Turkish and Azeri
// rules, and the full case foldings in fullFoldASCII. Such letters are refused: Gatehouse keeps
// them apart from their ASCII images, and so must every system the address is passed on to.
// It returns the ASCII image in lower case.
func caseMapsToASCII(r rune) (string, bool) {
	for _, m := range []rune{unicode.ToLower(r), unicode.ToUpper(r), unicode.ToTitle(r),
		unicode.TurkishCase.ToLower(r), unicode.TurkishCase.ToUpper(r)} {
		if m < utf8.RuneSelf {
			return foldASCII(string(m)), true
		}
	}
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		if f < utf8.RuneSelf {
			return foldASCII(string(f)), true
		}
	}
	a, ok := fullFoldASCII[r]
	return a, ok
}

// caseRepresentative returns the one letter of r's case orbit (the letters strings.EqualFold
// takes for one another) that a local part may hold: the lower case of its upper case, which is
// the same for every member of an orbit. Admitting only it means that two different normal forms
// never differ by letter case alone, so an origin or application that compares addresses
// case-insensitively never merges two Gatehouse users. It is r for letters without case.
func caseRepresentative(r rune) rune { return unicode.ToLower(unicode.ToUpper(r)) }

// compatibilityProblem returns a problem when l is not in NFKC, naming the first character that
// normalisation changes.
func compatibilityProblem(l string) string {
	if norm.NFKC.IsNormalString(l) {
		return ""
	}
	// Find the culprit for the message: the first character whose NFKC form differs, else the
	// first non-ASCII one (the difference is then one of composition order).
	culprit := rune(-1)
	for _, r := range l {
		if r < utf8.RuneSelf {
			continue
		}
		if culprit < 0 {
			culprit = r
		}
		if s := string(r); norm.NFKC.String(s) != s {
			culprit = r
			break
		}
	}
	if nf := norm.NFKC.String(string(culprit)); nf != string(culprit) {
		return fmt.Sprintf("%s is a compatibility form of %s; write the character it stands for", codePoint(culprit), escape(strconv.Quote(nf)))
	}
	return fmt.Sprintf("not in Unicode normalization form KC (at %s)", codePoint(culprit))
}

// foldASCII lower-cases ASCII letters and nothing else.
func foldASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; 'A' <= c && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if c := b[j]; 'A' <= c && c <= 'Z' {
					b[j] = c + 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// normalizeDomain converts a domain to its lower-case A-label form; it returns a problem in
// words, or "". Invisible characters have been refused already.
func normalizeDomain(d string) (string, string) {
	switch {
	case d == "":
		return "", "empty"
	case d[0] == '[':
		return "", "address literals are not accepted"
	case strings.HasSuffix(d, "."):
		return "", "a trailing '.'"
	}
	d = foldASCII(d)
	if len(d) > MaxDomainLength && isASCII(d) {
		return "", fmt.Sprintf("longer than %d octets", MaxDomainLength)
	}
	// The registration profile validates and never maps: a character that UTS #46 would map
	// (ſ, K, fullwidth letters, upper-case non-ASCII letters) is an error, not its look-alike.
	a, err := idna.Registration.ToASCII(d)
	if err != nil {
		return "", idnaProblem(d, err)
	}
	if len(a) > MaxDomainLength {
		return "", fmt.Sprintf("longer than %d octets", MaxDomainLength)
	}
	labels := strings.Split(a, ".")
	for _, label := range labels {
		if label == "" || len(label) > 63 {
			return "", "a label is empty or longer than 63 octets"
		}
		if p := aLabelProblem(label); p != "" {
			return "", p
		}
	}
	if last := labels[len(labels)-1]; strings.Trim(last, "0123456789") == "" {
		return "", "the last label is all digits (address literals are not accepted)"
	}
	return a, ""
}

// idnaProblem explains why IDNA refused d: in words for a character that is refused on its own
// because it is a case or compatibility variant, else in the idna package's terms.
func idnaProblem(d string, err error) string {
	for _, r := range d {
		if r < utf8.RuneSelf {
			continue
		}
		if _, e := idna.Registration.ToASCII(string(r)); e == nil {
			continue
		}
		if a, ok := caseMapsToASCII(r); ok {
			return fmt.Sprintf("%s becomes the ASCII %q under Unicode case mapping", codePoint(r), a)
		}
		if unicode.IsUpper(r) || unicode.IsTitle(r) {
			return fmt.Sprintf("%s is an upper-case letter: write non-ASCII letters in lower case", codePoint(r))
		}
		if nf := norm.NFKC.String(string(r)); nf != string(r) {
			return fmt.Sprintf("%s is a compatibility form of %s; write the character it stands for", codePoint(r), escape(strconv.Quote(nf)))
		}
	}
	return "not a valid internationalized domain name: " + escape(strings.TrimPrefix(err.Error(), "idna: "))
}

// aLabelProblem checks that an "xn--" label is the canonical encoding of a valid non-ASCII label
// that follows the script rule; other labels pass.
func aLabelProblem(label string) string {
	if !strings.HasPrefix(label, "xn--") {
		return ""
	}
	u, err := idna.Registration.ToUnicode(label)
	if err != nil {
		return fmt.Sprintf("label %q is not a valid A-label", label)
	}
	back, err := idna.Registration.ToASCII(u)
	if err != nil || back != label || isASCII(u) {
		return fmt.Sprintf("label %q is not the canonical encoding of a non-ASCII label", label)
	}
	for _, r := range u {
		if r >= utf8.RuneSelf && !unicode.IsLetter(r) && !unicode.In(r, unicode.Nd, unicode.Mn, unicode.Mc) {
			return fmt.Sprintf("label %q: %s is not a letter, digit or combining mark", label, codePoint(r))
		}
	}
	if p := scriptProblem(u); p != "" {
		return fmt.Sprintf("label %q: %s", label, p)
	}
	return ""
}

// escape renders s with every non-ASCII or non-printing character escaped, for messages that
// quote input (the idna package's errors do).
func escape(s string) string {
	q := strconv.QuoteToASCII(s)
	return q[1 : len(q)-1]
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// firstInvisible returns the first character of s that is invisible or changes how text around
// it is displayed: controls, format characters (zero-width spaces and joiners, bidi controls,
// soft hyphen, word joiner, BOM, tag characters), other default-ignorable code points (Hangul
// fillers, combining grapheme joiner, Khmer inherent vowels), variation selectors, white space,
// line and paragraph separators, private-use code points and non-characters.
func firstInvisible(s string) (rune, bool) {
	for _, r := range s {
		if r >= ' ' && r < utf8.RuneSelf-1 { // printable ASCII, the common case
			continue
		}
		if isInvisible(r) {
			return r, true
		}
	}
	return 0, false
}

func isInvisible(r rune) bool {
	return unicode.In(r, unicode.Cc, unicode.Cf, unicode.Co, unicode.Zs, unicode.Zl, unicode.Zp,
		unicode.Other_Default_Ignorable_Code_Point, unicode.Variation_Selector, unicode.White_Space,
		unicode.Noncharacter_Code_Point)
}

// codePoint renders r for a message as its number: messages stay printable ASCII, so a log
// line shows which character it was, never something that merely looks like it.
func codePoint(r rune) string {
	return fmt.Sprintf("U+%04X", r)
}
