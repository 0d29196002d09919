package dlp

// Hand-written anchored matchers for the fixed-shape number entries. Each
// returns the end of the match that the entry's regular expression (Go's
// leftmost-first semantics) would report when started at b[i], or -1; the
// greedy choice at every optional separator or digit count is the only one
// that can succeed, so no backtracking is needed. numscan_test.go checks
// them against the regular expressions.

// digitsAt returns how many consecutive digits (at most max) start at b[i].
func digitsAt(b []byte, i, max int) int {
	n := 0
	for i+n < len(b) && n < max && isDigit(b[i+n]) {
		n++
	}
	return n
}

func isSpaceDash(c byte) bool { return c == ' ' || c == '-' }

// optSepDigits matches `[ -]?\d{n}` at i (the separator taken when present).
func optSepDigits(b []byte, i, n int) int {
	if i < len(b) && isSpaceDash(b[i]) {
		i++
	}
	if digitsAt(b, i, n) != n {
		return -1
	}
	return i + n
}

// matchSSN: \d{3}[- ]\d{2}[- ]\d{4}
func matchSSN(b []byte, i int) int {
	if digitsAt(b, i, 3) != 3 || i+3 >= len(b) || !isSpaceDash(b[i+3]) ||
		digitsAt(b, i+4, 2) != 2 || i+6 >= len(b) || !isSpaceDash(b[i+6]) || digitsAt(b, i+7, 4) != 4 {
		return -1
	}
	return i + 11
}

// matchABA: \d{9}
func matchABA(b []byte, i int) int {
	if digitsAt(b, i, 9) != 9 {
		return -1
	}
	return i + 9
}

// matchSIN: \d{3}[ -]?\d{3}[ -]?\d{3}
func matchSIN(b []byte, i int) int {
	if digitsAt(b, i, 3) != 3 {
		return -1
	}
	j := optSepDigits(b, i+3, 3)
	if j < 0 {
		return -1
	}
	return optSepDigits(b, j, 3)
}

// matchCard: \d{4}(?:[ -]?\d{4}){2}[ -]?\d{1,4}(?:[ -]?\d{1,3})?|\d{4}[ -]?\d{6}[ -]?\d{4,5}
func matchCard(b []byte, i int) int {
	if digitsAt(b, i, 4) != 4 {
		return -1
	}
	if e := matchCardA(b, i+4); e >= 0 {
		return e
	}
	j := optSepDigits(b, i+4, 6)
	if j < 0 {
		return -1
	}
	if j < len(b) && isSpaceDash(b[j]) && digitsAt(b, j+1, 4) == 4 {
		j++
	}
	n := digitsAt(b, j, 5)
	if n < 4 {
		return -1
	}
	return j + n
}

func matchCardA(b []byte, j int) int {
	for k := 0; k < 2; k++ {
		if j = optSepDigits(b, j, 4); j < 0 {
			return -1
		}
	}
	if j < len(b) && isSpaceDash(b[j]) && digitsAt(b, j+1, 1) == 1 {
		j++
	}
	n := digitsAt(b, j, 4)
	if n == 0 {
		return -1
	}
	j += n
	// Optional tail (?:[ -]?\d{1,3})?
	k := j
	if k < len(b) && isSpaceDash(b[k]) && digitsAt(b, k+1, 1) == 1 {
		k++
	}
	if m := digitsAt(b, k, 3); m > 0 {
		return k + m
	}
	return j
}

// findAllAnchored reports the leftmost-first, non-overlapping matches of m
// in b, as regexp.FindAllIndex does for a pattern that never matches empty.
func findAllAnchored(b []byte, m func([]byte, int) int, fn func(s, e int)) {
	for i := 0; i < len(b); {
		// A match right after a digit or letter fails its left boundary anyway
		// (numberEntry.accept), so such positions are not tried.
		if i > 0 && isWordByte(b[i-1]) {
			i++
			continue
		}
		if e := m(b, i); e > i {
			fn(i, e)
			i = e
			continue
		}
		i++
	}
}

func isPhoneSep(c byte) bool { return c == ' ' || c == '.' || c == '-' }

// matchPhone: \+[1-9]\d{0,2}(?:[ .-]?\(?\d{1,4}\)?){1,4}[ .-]?\d{2,4}|\(?[2-9]\d{2}\)?[ .-]?[2-9]\d{2}[ .-]\d{4}
// The international form needs real backtracking; it is tried in the
// regular expression's priority order with failed (repetitions, position)
// pairs memoised, which keeps it linear.
func matchPhone(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	if b[i] == '+' {
		if i+1 >= len(b) || b[i+1] < '1' || b[i+1] > '9' {
			return -1
		}
		// The memo covers only the positions a match from i can reach: sized to the region,
		// it made a region of many '+' (a long run of digits and separators) quadratic.
		p := &phoneIntl{b: b, base: i}
		for k := digitsAt(b, i+2, 2); k >= 0; k-- {
			if e := p.rep(0, i+2+k); e >= 0 {
				return e
			}
		}
		return -1
	}
	j := i
	if b[j] == '(' {
		j++
	}
	if j >= len(b) || b[j] < '2' || b[j] > '9' || digitsAt(b, j+1, 2) != 2 {
		return -1
	}
	j += 3
	if j < len(b) && b[j] == ')' {
		j++
	}
	if j < len(b) && isPhoneSep(b[j]) {
		j++
	}
	if j >= len(b) || b[j] < '2' || b[j] > '9' || digitsAt(b, j+1, 2) != 2 {
		return -1
	}
	j += 3
	if j >= len(b) || !isPhoneSep(b[j]) || digitsAt(b, j+1, 4) != 4 {
		return -1
	}
	return j + 5
}

type phoneIntl struct {
	b    []byte
	base int // the '+'
	// failed[pos-base] bit n set: rep(n, pos) fails. rep is called at most
	// 4 bytes after the '+' and each of four groups adds at most 7 bytes.
	failed [phoneIntlReach + 1]uint8
}

// phoneIntlReach bounds pos-base for rep.
const phoneIntlReach = 4 + 4*7

// rep matches (?:[ .-]?\(?\d{1,4}\)?){n..4} followed by the tail at pos,
// having already matched n groups.
func (p *phoneIntl) rep(n, pos int) int {
	if p.failed[pos-p.base]&(1<<n) != 0 {
		return -1
	}
	b := p.b
	if n < 4 { // greedy: one more group first
		for _, sep := range [2]bool{true, false} {
			j := pos
			if sep {
				if j >= len(b) || !isPhoneSep(b[j]) {
					continue
				}
				j++
			}
			for _, par := range [2]bool{true, false} {
				k := j
				if par {
					if k >= len(b) || b[k] != '(' {
						continue
					}
					k++
				}
				for d := digitsAt(b, k, 4); d >= 1; d-- {
					m := k + d
					if m < len(b) && b[m] == ')' {
						if e := p.rep(n+1, m+1); e >= 0 {
							return e
						}
					}
					if e := p.rep(n+1, m); e >= 0 {
						return e
					}
				}
			}
		}
	}
	if n >= 1 { // tail [ .-]?\d{2,4}
		for _, sep := range [2]bool{true, false} {
			j := pos
			if sep {
				if j >= len(b) || !isPhoneSep(b[j]) {
					continue
				}
				j++
			}
			if d := digitsAt(b, j, 4); d >= 2 {
				return j + d
			}
		}
	}
	p.failed[pos-p.base] |= 1 << n
	return -1
}
