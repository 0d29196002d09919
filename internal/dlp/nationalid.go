package dlp

import (
	"strings"
)

// National identifiers with a check digit (gateway-ai-spec §3.2): UK NHS number, Australian
// tax file number, Thai national ID, French social security number (NIR), Singapore NRIC/FIN,
// Hong Kong identity card and Taiwan national ID. All are found from a digit run (the number
// scanner's regions); the letter-prefixed ones look at the letters around it. A random string of
// the right shape passes a mod-11 or mod-97 check often enough (1 in 11, 1 in 97) that these
// entries are Low confidence until a keyword is near.

// ---- digit-only formats ----

// matchNHS: \d{3}[ -]?\d{3}[ -]?\d{4} with the same separator twice.
func matchNHS(b []byte, i int) int {
	if digitsAt(b, i, 3) != 3 {
		return -1
	}
	j := optSepDigits(b, i+3, 3)
	if j < 0 {
		return -1
	}
	return optSepDigits(b, j, 4)
}

// nhsCheck: mod 11 with weights 10..2; a check value of 10 is never issued.
func nhsCheck(m string) (candidate, bool) {
	d := digitsOf(m)
	if len(d) != 10 || !sameSeparators(m) {
		return candidate{}, false
	}
	sum := 0
	for i := 0; i < 9; i++ {
		sum += int(d[i]-'0') * (10 - i)
	}
	check := 11 - sum%11
	if check == 11 {
		check = 0
	}
	if check == 10 || check != int(d[9]-'0') {
		return candidate{}, false
	}
	if string(d) == "9434765919" || string(d) == "4010232137" { // NHS Digital's documentation examples
		return candidate{conf: Low, example: true, noBoost: true}, true
	}
	if !nhsIssuedRange(d) {
		return candidate{}, false
	}
	return candidate{conf: Low}, true
}

// nhsIssuedRange keeps the ranges health numbers are issued from: England, Wales and the Isle
// of Man 400–499 and 600–799 million, Northern Ireland 320–399, and Scotland's CHI numbers,
// which start with the holder's birth date (DDMMYY). Ten-digit Unix timestamps (17…, 18…) and
// most other ten-digit values fall outside.
func nhsIssuedRange(d []byte) bool {
	switch d[0] {
	case '4', '6', '7':
		return true
	}
	if head := int(d[0]-'0')*100 + int(d[1]-'0')*10 + int(d[2]-'0'); head >= 320 && head <= 399 {
		return true
	}
	day := int(d[0]-'0')*10 + int(d[1]-'0')
	month := int(d[2]-'0')*10 + int(d[3]-'0')
	return day >= 1 && day <= 31 && month >= 1 && month <= 12
}

// matchTFN: \d{3}[ -]?\d{3}[ -]?\d{3}.
func matchTFN(b []byte, i int) int { return matchSIN(b, i) }

var tfnWeights = [9]int{1, 4, 3, 7, 5, 8, 6, 9, 10}

// tfnCheck: the weighted sum of the nine digits is a multiple of 11.
func tfnCheck(m string) (candidate, bool) {
	d := digitsOf(m)
	if len(d) != 9 || !sameSeparators(m) {
		return candidate{}, false
	}
	sum := 0
	for i, w := range tfnWeights {
		sum += int(d[i]-'0') * w
	}
	if sum%11 != 0 || allSame(d) {
		return candidate{}, false
	}
	if string(d) == "123456782" { // the ATO's example
		return candidate{conf: Low, example: true, noBoost: true}, true
	}
	return candidate{conf: Low}, true
}

// matchThaiID: \d{13} or \d[- ]\d{4}[- ]\d{5}[- ]\d{2}[- ]\d.
func matchThaiID(b []byte, i int) int {
	if digitsAt(b, i, 13) == 13 {
		return i + 13
	}
	j := i
	for k, n := range []int{1, 4, 5, 2, 1} {
		if k > 0 {
			if j >= len(b) || (b[j] != '-' && b[j] != ' ') {
				return -1
			}
			j++
		}
		if digitsAt(b, j, n) != n {
			return -1
		}
		j += n
	}
	return j
}

// thaiIDCheck: weights 13..2 over the first twelve digits, check = (11 - sum mod 11) mod 10.
func thaiIDCheck(m string) (candidate, bool) {
	d := digitsOf(m)
	if len(d) != 13 || d[0] == '0' || d[0] == '9' || !sameSeparators(m) {
		return candidate{}, false
	}
	sum := 0
	for i := 0; i < 12; i++ {
		sum += int(d[i]-'0') * (13 - i)
	}
	if (11-sum%11)%10 != int(d[12]-'0') {
		return candidate{}, false
	}
	return candidate{conf: Low}, true
}

// matchNIR: [1-478] \d{2} \d{2} \d{2} \d{3} \d{3} \d{2}, spaces optional (15 digits in all; the
// Corsican departments 2A/2B are not matched).
func matchNIR(b []byte, i int) int {
	if i >= len(b) || strings.IndexByte("123478", b[i]) < 0 {
		return -1
	}
	j := i
	for k, n := range []int{1, 2, 2, 2, 3, 3, 2} {
		if k > 0 && j < len(b) && b[j] == ' ' {
			j++
		}
		if digitsAt(b, j, n) != n {
			return -1
		}
		j += n
	}
	return j
}

// nirCheck: the key is 97 minus the first 13 digits mod 97; sex 1, 2 (or 3, 4, 7, 8 for
// temporary numbers), month 01-12 or 20-42 or 50-99 (unknown).
func nirCheck(m string) (candidate, bool) {
	d := digitsOf(m)
	if len(d) != 15 || strings.IndexByte("123478", d[0]) < 0 {
		return candidate{}, false
	}
	month := int(d[3]-'0')*10 + int(d[4]-'0')
	if month == 0 || month > 12 && month < 20 || month > 42 && month < 50 {
		return candidate{}, false
	}
	var n uint64
	for _, c := range d[:13] {
		n = n*10 + uint64(c-'0')
	}
	key := int(d[13]-'0')*10 + int(d[14]-'0')
	if 97-int(n%97) != key {
		return candidate{}, false
	}
	return candidate{conf: Low}, true
}

// ---- letter-prefixed formats (anchored on their digit run) ----

// letterIDEntry finds identifiers made of letters around a digit run: it is given each digit
// region and looks at the bytes before and after it.
type letterIDEntry struct {
	find func(text []byte, lo, hi int) (s, e int, ok bool)
}

func (letterIDEntry) isDetector() {}

func (l letterIDEntry) number(text []byte, lo, hi int, emit func(candidate)) {
	s, e, ok := l.find(text, lo, hi)
	if !ok || s > 0 && isWordByte(text[s-1]) || e < len(text) && isWordByte(text[e]) {
		return
	}
	emit(candidate{start: s, end: e, conf: Low})
}

// findNRIC: [STFG]\d{7}[A-Z] with the check letter of the series.
func findNRIC(text []byte, lo, hi int) (int, int, bool) {
	if lo < 1 || hi-lo < 7 || digitsAt(text, lo, 7) != 7 || lo+7 >= len(text) {
		return 0, 0, false
	}
	s, e := lo-1, lo+8
	prefix, check := text[s], text[lo+7]
	if strings.IndexByte("STFG", prefix) < 0 || !isUpperByte(check) {
		return 0, 0, false
	}
	weights := [7]int{2, 7, 6, 5, 4, 3, 2}
	sum := 0
	for i, w := range weights {
		sum += int(text[lo+i]-'0') * w
	}
	if prefix == 'T' || prefix == 'G' {
		sum += 4
	}
	table := "JZIHGFEDCBA"
	if prefix == 'F' || prefix == 'G' {
		table = "XWUTRQPNMLK"
	}
	if table[sum%11] != check {
		return 0, 0, false
	}
	return s, e, true
}

// findHKID: [A-Z]{1,2}\d{6}(\([0-9A]\)|[0-9A]) with the mod-11 check (a one-letter prefix
// counts as a space, value 36, in front).
func findHKID(text []byte, lo, hi int) (int, int, bool) {
	if lo < 1 || digitsAt(text, lo, 6) < 6 || !isUpperByte(text[lo-1]) {
		return 0, 0, false
	}
	s := lo - 1
	first := 36
	if s >= 1 && isUpperByte(text[s-1]) {
		s--
		first = int(text[s]-'A') + 10
	}
	second := int(text[lo-1]-'A') + 10
	j := lo + 6
	var check byte
	switch {
	case j+2 < len(text) && text[j] == '(' && text[j+2] == ')':
		check = text[j+1]
		j += 3
	case j < len(text):
		check = text[j]
		j++
	default:
		return 0, 0, false
	}
	if !isDigit(check) && check != 'A' {
		return 0, 0, false
	}
	sum := first*9 + second*8
	for i := 0; i < 6; i++ {
		sum += int(text[lo+i]-'0') * (7 - i)
	}
	cv := 10
	if isDigit(check) {
		cv = int(check - '0')
	}
	if (sum+cv)%11 != 0 {
		return 0, 0, false
	}
	return s, j, true
}

// twLetterCodes are the area codes of the first letter of a Taiwan ID, A=10 … in the
// registry's order (I, O, W, X, Y, Z were added later).
var twLetterCodes = map[byte]int{'A': 10, 'B': 11, 'C': 12, 'D': 13, 'E': 14, 'F': 15, 'G': 16, 'H': 17,
	'I': 34, 'J': 18, 'K': 19, 'L': 20, 'M': 21, 'N': 22, 'O': 35, 'P': 23, 'Q': 24, 'R': 25, 'S': 26,
	'T': 27, 'U': 28, 'V': 29, 'W': 32, 'X': 30, 'Y': 31, 'Z': 33}

// findTaiwanID: [A-Z][12]\d{8} (nationals) or [A-Z][89]\d{8} (resident certificates since
// 2021) with the weighted mod-10 check.
func findTaiwanID(text []byte, lo, hi int) (int, int, bool) {
	if lo < 1 || hi-lo < 9 || digitsAt(text, lo, 9) != 9 {
		return 0, 0, false
	}
	code, ok := twLetterCodes[text[lo-1]]
	if !ok || strings.IndexByte("1289", text[lo]) < 0 {
		return 0, 0, false
	}
	sum := code/10 + code%10*9
	for i := 0; i < 8; i++ {
		sum += int(text[lo+i]-'0') * (8 - i)
	}
	sum += int(text[lo+8] - '0')
	if sum%10 != 0 {
		return 0, 0, false
	}
	return lo - 1, lo + 9, true
}

// ---- helpers ----

// sameSeparators reports whether every separator in m is the same byte.
func sameSeparators(m string) bool {
	var sep byte
	for i := 0; i < len(m); i++ {
		if c := m[i]; !isDigit(c) {
			if sep != 0 && c != sep {
				return false
			}
			sep = c
		}
	}
	return true
}

func allSame(d []byte) bool {
	for _, c := range d {
		if c != d[0] {
			return false
		}
	}
	return true
}
