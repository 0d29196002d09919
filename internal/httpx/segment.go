package httpx

import (
	"bytes"
	"unicode"
	"unicode/utf8"
)

// checkSegment refuses a path segment (in the canonical escaped form of normalizePath's first
// pass, before dot segments are resolved) that common origins read as another segment, so that
// the route table could decide on one name while the origin serves another:
//
//   - Windows and IIS drop trailing dots and spaces ("admin." and "admin%20" open "admin"), and
//     Spring's path matcher trims spaces on both sides: a segment (other than "." and "..")
//     may not end with "." or start or end with a space, neither as a whole nor in the name
//     part before its ";" parameters (which Tomcat removes first).
//   - NTFS opens a file's data through "admin::$DATA" and 8.3 short names such as "ADMINI~1": a
//     segment may not contain ":$", and its name may not look like a short name.
//   - Decoders that accept overlong or otherwise invalid UTF-8 read %C0%AE as ".", and origins
//     that normalise Unicode (NFKC), compare case with Unicode rules or convert to a Windows code
//     page turn fullwidth and compatibility characters, U+212A KELVIN SIGN or U+0131 dotless i
//     into ASCII, and look-alikes into "/", "\" or ".": the decoded segment must be valid UTF-8
//     without any such character (see forbiddenRune).
func checkSegment(seg []byte) error {
	if len(seg) == 0 || isDot(seg) || isDotDot(seg) {
		return nil
	}
	if dotParam(seg) {
		return ambiguous(`";" in a dot segment`)
	}
	var small [256]byte
	dec := decodeSegment(&small, seg)
	name := dec
	if i := bytes.IndexByte(dec, ';'); i >= 0 {
		name = dec[:i]
	}
	for _, part := range [][]byte{dec, name} {
		if len(part) == 0 {
			continue
		}
		switch first, last := part[0], part[len(part)-1]; {
		case last == '.':
			return ambiguous("a segment ends with a dot (Windows drops it)")
		case last == ' ' || first == ' ':
			return ambiguous("a segment starts or ends with a space")
		}
	}
	if bytes.Contains(dec, []byte(":$")) {
		return ambiguous(`":$" in a segment (an NTFS stream such as ::$DATA)`)
	}
	if isShortName(name) {
		return ambiguous("a segment looks like a Windows short (8.3) file name")
	}
	for i := 0; i < len(dec); {
		if dec[i] < utf8.RuneSelf {
			i++
			continue
		}
		r, size := utf8.DecodeRune(dec[i:])
		if r == utf8.RuneError && size <= 1 {
			return ambiguous("invalid UTF-8 (including overlong forms such as %%C0%%AE)")
		}
		if why := forbiddenRune(r); why != "" {
			return ambiguous("character U+%04X in a segment: %s", r, why)
		}
		i += size
	}
	return nil
}

// decodeSegment returns the bytes seg's escapes stand for, in small when they fit. seg comes
// from normalizePath's first pass, so every "%" starts a valid escape.
func decodeSegment(small *[256]byte, seg []byte) []byte {
	if bytes.IndexByte(seg, '%') < 0 {
		return seg
	}
	var dst []byte
	if len(seg) <= len(small) {
		dst = small[:0]
	} else {
		dst = make([]byte, 0, len(seg))
	}
	for i := 0; i < len(seg); i++ {
		if seg[i] == '%' && i+2 < len(seg) {
			dst = append(dst, unhex(seg[i+1])<<4|unhex(seg[i+2]))
			i += 2
			continue
		}
		dst = append(dst, seg[i])
	}
	return dst
}

// isShortName reports a name shaped like a Windows 8.3 short name: one to six characters
// without "~" or ".", "~", one or more digits (eight characters at most so far), and an optional
// extension of up to three characters.
func isShortName(name []byte) bool {
	tilde := bytes.IndexByte(name, '~')
	if tilde < 1 || tilde > 6 || bytes.IndexByte(name[:tilde], '.') >= 0 {
		return false
	}
	rest := name[tilde+1:]
	digits := 0
	for digits < len(rest) && '0' <= rest[digits] && rest[digits] <= '9' {
		digits++
	}
	if digits == 0 || tilde+1+digits > 8 {
		return false
	}
	ext := rest[digits:]
	switch {
	case len(ext) == 0:
		return true
	case ext[0] != '.':
		return false
	}
	ext = ext[1:]
	return len(ext) <= 3 && bytes.IndexByte(ext, '.') < 0 && bytes.IndexByte(ext, '~') < 0
}

// lookalikes are characters without a compatibility decomposition that origins still read as
// "/", "\" or ".": Windows best-fit conversion (U+2215, U+2044, U+2216, ¥ in the Japanese and ₩
// in the Korean code page), IDNA-style full stops (U+3002, U+FF61), and confusable solidi.
var lookalikes = map[rune]string{
	0x2215: "a slash look-alike", 0x2044: "a slash look-alike", 0x29F8: "a slash look-alike",
	0x2571: "a slash look-alike", 0x27CB: "a slash look-alike", 0x2041: "a slash look-alike",
	0x1735: "a slash look-alike",
	0x2216: "a backslash look-alike", 0x29F5: "a backslash look-alike", 0x29F9: "a backslash look-alike",
	0x27CD: "a backslash look-alike", 0x00A5: "a backslash in Windows' Japanese code page",
	0x20A9: "a backslash in Windows' Korean code page",
	0x3002: "a full stop look-alike", 0xFF61: "a full stop look-alike",
}

// forbiddenRune says why a non-ASCII rune may not appear in a path segment, or returns "".
func forbiddenRune(r rune) string {
	switch {
	case unicode.IsControl(r):
		return "a control character"
	case unicode.Is(unicode.White_Space, r):
		return "white space"
	case unicode.Is(unicode.Cf, r), unicode.Is(unicode.Variation_Selector, r), isIgnorable(r):
		return "an invisible character"
	case unicode.Is(unicode.Noncharacter_Code_Point, r):
		return "a noncharacter"
	case unicode.ToUpper(r) < utf8.RuneSelf || unicode.ToLower(r) < utf8.RuneSelf || foldsToASCII(r):
		return "case mapping turns it into ASCII"
	}
	if why := lookalikes[r]; why != "" {
		return why
	}
	if unicode.Is(nfkcToASCII, r) {
		return "Unicode normalisation (NFKC) turns it into ASCII"
	}
	return ""
}

// foldsToASCII reports a rune whose case-folding orbit holds an ASCII letter (U+212A KELVIN SIGN
// and "k", U+017F LONG S and "s").
func foldsToASCII(r rune) bool {
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		if f < utf8.RuneSelf {
			return true
		}
	}
	return false
}

// isIgnorable reports the default-ignorable code points outside the format category: the
// combining grapheme joiner, Hangul fillers, Khmer inherent vowels and Mongolian free variation
// selectors.
func isIgnorable(r rune) bool {
	switch r {
	case 0x034F, 0x115F, 0x1160, 0x17B4, 0x17B5, 0x3164, 0xFFA0:
		return true
	}
	return 0x180B <= r && r <= 0x180F
}
