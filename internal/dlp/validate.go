package dlp

import (
	"encoding/base64"
	"encoding/json"
	"hash/crc32"
	"math"
	"strings"
)

// digitsOf returns the ASCII digits of s in order.
func digitsOf(s string) []byte {
	d := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			d = append(d, s[i])
		}
	}
	return d
}

// luhn reports whether the digit string passes the Luhn (mod 10) check.
func luhn(d []byte) bool {
	if len(d) < 2 {
		return false
	}
	sum := 0
	double := false
	for i := len(d) - 1; i >= 0; i-- {
		n := int(d[i] - '0')
		if double {
			n *= 2
			if n > 9 {
				n -= 9
			}
		}
		sum += n
		double = !double
	}
	return sum%10 == 0
}

func prefixNum(d []byte, n int) int {
	v := 0
	for i := 0; i < n && i < len(d); i++ {
		v = v*10 + int(d[i]-'0')
	}
	return v
}

// cardBrand returns the brand of a card number by IIN range and length, or
// "" when no brand matches.
func cardBrand(d []byte) string {
	l := len(d)
	p1, p2, p3, p4, p6 := prefixNum(d, 1), prefixNum(d, 2), prefixNum(d, 3), prefixNum(d, 4), prefixNum(d, 6)
	switch {
	case p1 == 4 && (l == 13 || l == 16 || l == 19):
		return "visa"
	case (p2 >= 51 && p2 <= 55 || p4 >= 2221 && p4 <= 2720) && l == 16:
		return "mastercard"
	case (p2 == 34 || p2 == 37) && l == 15:
		return "amex"
	case (p4 == 6011 || p3 >= 644 && p3 <= 649 || p2 == 65 || p6 >= 622126 && p6 <= 622925) && l >= 16 && l <= 19:
		return "discover"
	case p4 >= 3528 && p4 <= 3589 && l >= 16 && l <= 19:
		return "jcb"
	case (p3 >= 300 && p3 <= 305 || p2 == 36 || p2 == 38 || p2 == 39) && l >= 14 && l <= 19:
		return "diners"
	case p2 == 62 && l >= 16 && l <= 19:
		return "unionpay"
	}
	return ""
}

// ssnValid applies the SSA rules: area not 000, 666 or 900-999; group not
// 00; serial not 0000.
func ssnValid(d []byte) bool {
	if len(d) != 9 {
		return false
	}
	area, group, serial := prefixNum(d, 3), prefixNum(d[3:], 2), prefixNum(d[5:], 4)
	return area != 0 && area != 666 && area < 900 && group != 0 && serial != 0
}

// abaValid checks the ABA routing number checksum (weights 3,7,1) and the
// Federal Reserve prefix ranges.
func abaValid(d []byte) bool {
	if len(d) != 9 {
		return false
	}
	p := prefixNum(d, 2)
	if !(p <= 12 || p >= 21 && p <= 32 || p >= 61 && p <= 72 || p == 80) {
		return false
	}
	w := [9]int{3, 7, 1, 3, 7, 1, 3, 7, 1}
	sum := 0
	for i, c := range d {
		sum += int(c-'0') * w[i]
	}
	return sum%10 == 0
}

// sinValid checks a Canadian SIN: nine digits, Luhn, first digit not 0 or 8.
func sinValid(d []byte) bool {
	return len(d) == 9 && d[0] != '0' && d[0] != '8' && luhn(d)
}

// ibanLengths is the ISO 13616 registry length per country.
var ibanLengths = map[string]int{
	"AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BI": 27,
	"BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DJ": 27, "DK": 18, "DO": 28,
	"EE": 20, "EG": 29, "ES": 24, "FI": 18, "FK": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23,
	"GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27,
	"JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "LY": 25,
	"MC": 27, "MD": 24, "ME": 22, "MK": 19, "MN": 20, "MR": 27, "MT": 31, "MU": 30, "NI": 28, "NL": 18,
	"NO": 15, "OM": 23, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "RU": 33,
	"SA": 24, "SC": 31, "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25, "SV": 28,
	"TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20, "YE": 30,
}

// ibanValid checks an IBAN without separators: country length and mod-97.
func ibanValid(s string) bool {
	if len(s) < 15 || len(s) > 34 {
		return false
	}
	if n, ok := ibanLengths[s[:2]]; !ok || n != len(s) {
		return false
	}
	if s[2] < '0' || s[2] > '9' || s[3] < '0' || s[3] > '9' {
		return false
	}
	r := 0
	for _, c := range s[4:] + s[:4] {
		switch {
		case c >= '0' && c <= '9':
			r = (r*10 + int(c-'0')) % 97
		case c >= 'A' && c <= 'Z':
			r = (r*100 + int(c-'A'+10)) % 97
		default:
			return false
		}
	}
	return r == 1
}

// ninoValid checks UK National Insurance number prefix rules (HMRC): first
// letter not D, F, I, Q, U, V; second not D, F, I, O, Q, U, V; prefixes
// BG, GB, KN, NK, NT, TN, ZZ are never issued; suffix A–D.
func ninoValid(s string) bool {
	if len(s) != 9 {
		return false
	}
	a, b := s[0], s[1]
	if strings.IndexByte("DFIQUV", a) >= 0 || strings.IndexByte("DFIOQUV", b) >= 0 {
		return false
	}
	switch s[:2] {
	case "BG", "GB", "KN", "NK", "NT", "TN", "ZZ":
		return false
	}
	for i := 2; i < 8; i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s[8] >= 'A' && s[8] <= 'D'
}

const base62Alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// base62Checksum encodes v as six base62 digits, most significant first.
func base62Checksum(v uint32) string {
	var b [6]byte
	for i := 5; i >= 0; i-- {
		b[i] = base62Alphabet[v%62]
		v /= 62
	}
	return string(b[:])
}

// tokenChecksumValid verifies the CRC32/base62 checksum of GitHub classic
// (ghp_, gho_, ghu_, ghs_, ghr_) and npm (npm_) tokens: four prefix
// characters, 30 random characters and six base62 digits of the CRC32 of
// the random part (github.blog 2021-04-05 and 2021-09-23).
func tokenChecksumValid(tok string) bool {
	if len(tok) != 40 {
		return false
	}
	return base62Checksum(crc32.ChecksumIEEE([]byte(tok[4:34]))) == tok[34:]
}

// shannon returns the Shannon entropy of s in bits per byte.
func shannon(s string) float64 {
	if s == "" {
		return 0
	}
	var counts [256]int
	for i := 0; i < len(s); i++ {
		counts[s[i]]++
	}
	h := 0.0
	n := float64(len(s))
	for _, c := range counts {
		if c > 0 {
			p := float64(c) / n
			h -= p * math.Log2(p)
		}
	}
	return h
}

// charClasses counts which of lower, upper, digit and other classes occur.
func charClasses(s string) int {
	var lo, up, dg, ot int
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z':
			lo = 1
		case c >= 'A' && c <= 'Z':
			up = 1
		case c >= '0' && c <= '9':
			dg = 1
		default:
			ot = 1
		}
	}
	return lo + up + dg + ot
}

// jwtHeaderValid reports whether the first part of a JWT decodes to a JSON
// object with an "alg" member; it returns that alg.
func jwtHeaderValid(part string) (string, bool) {
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(part, "="))
	if err != nil {
		return "", false
	}
	var h map[string]any
	if json.Unmarshal(b, &h) != nil {
		return "", false
	}
	alg, ok := h["alg"].(string)
	return alg, ok
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
