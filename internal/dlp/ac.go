package dlp

// acMatcher is a dense-table Aho–Corasick automaton over bytes with ASCII
// case folding. Case-sensitive patterns are folded in the automaton and
// re-checked byte for byte on a hit, which keeps a single pass for both.
type acMatcher struct {
	// trans is indexed by state*nclass + class[byte]; bytes that occur in
	// no pattern share class 0, which keeps the table cache-resident.
	trans  []int32
	class  [256]uint8
	nclass int
	out    [][]int32 // pattern ids recognised in a state (fail closure)
	hasOut []bool
	pats   []string
	exact  []bool // pattern must match case-sensitively
	// rootSkip marks bytes on which the root state stays in the root.
	rootSkip [256]bool
	// pairs, when set, classifies byte pairs (raw, any case), indexed by
	// first<<8|second: bit pairFirst marks pairs that begin some pattern,
	// bit pairAny pairs that begin a pattern or follow its first byte. In
	// the root state the scanner skips positions whose pair begins nothing.
	// Only built when every pattern is at least two bytes.
	pairs *[1 << 16]uint8
	// stride is set when every pattern is at least three bytes: then the
	// skip loop looks at every other position only, testing pairAny (a
	// pattern starting at c has its first pair at c or its second at c+1,
	// and one of the two is looked at).
	stride bool
}

const (
	pairFirst = 1 << iota
	pairAny
)

// enablePairSkip builds the pair filter, used for the large automata that
// run over whole windows.
func (m *acMatcher) enablePairSkip() {
	var t [1 << 16]uint8
	stride := true
	for _, p := range m.pats {
		if len(p) < 2 {
			return
		}
		if len(p) < 3 {
			stride = false
		}
	}
	// Case-sensitive patterns mark their pair as written; the others mark
	// every case variant.
	mark := func(a, b byte, exact bool, bits uint8) {
		if exact {
			t[int(a)<<8|int(b)] |= bits
			return
		}
		a, b = lowerASCII(a), lowerASCII(b)
		for c0 := 0; c0 < 256; c0++ {
			if lowerASCII(byte(c0)) != a {
				continue
			}
			for c1 := 0; c1 < 256; c1++ {
				if lowerASCII(byte(c1)) == b {
					t[c0<<8|c1] |= bits
				}
			}
		}
	}
	for id, p := range m.pats {
		exact := m.exact != nil && m.exact[id]
		mark(p[0], p[1], exact, pairFirst|pairAny)
		if len(p) >= 3 {
			mark(p[1], p[2], exact, pairAny)
		}
	}
	m.pairs, m.stride = &t, stride
}

// nextStart returns the first position c ≥ i whose pair may begin a
// pattern, or a position ≥ len(text)-1 when there is none.
func (m *acMatcher) nextStart(text []byte, i int) int {
	t, n := m.pairs, len(text)
	if !m.stride {
		for i+1 < n && t[int(text[i])<<8|int(text[i+1])]&pairFirst == 0 {
			i++
		}
		return i
	}
	for i+1 < n {
		if t[int(text[i])<<8|int(text[i+1])]&pairFirst != 0 {
			return i
		}
		// Every other position from i+1: a pattern starting at c in
		// (i, k-1) would have shown its first or second pair at a
		// position looked at.
		k := i + 1
		for k+1 < n && t[int(text[k])<<8|int(text[k+1])]&pairAny == 0 {
			k += 2
		}
		if k+1 >= n {
			// The end: look at what the stride stepped over, one by one.
			for i = max(i+1, k-1); i+1 < n && t[int(text[i])<<8|int(text[i+1])]&pairFirst == 0; i++ {
			}
			return i
		}
		if k-1 > i && t[int(text[k-1])<<8|int(text[k])]&pairFirst != 0 {
			return k - 1
		}
		if t[int(text[k])<<8|int(text[k+1])]&pairFirst != 0 {
			return k
		}
		i = k + 1
	}
	return i
}

func lowerASCII(b byte) byte {
	if 'A' <= b && b <= 'Z' {
		return b + 32
	}
	return b
}

func newACMatcher(pats []string, exact []bool) *acMatcher {
	type node struct {
		next map[byte]int32
		fail int32
		out  []int32
	}
	nodes := []node{{next: map[byte]int32{}}}
	for id, p := range pats {
		s := int32(0)
		for i := 0; i < len(p); i++ {
			c := lowerASCII(p[i])
			n, ok := nodes[s].next[c]
			if !ok {
				n = int32(len(nodes))
				nodes = append(nodes, node{next: map[byte]int32{}})
				nodes[s].next[c] = n
			}
			s = n
		}
		nodes[s].out = append(nodes[s].out, int32(id))
	}
	m := &acMatcher{pats: pats, exact: exact}
	// Byte classes: one per distinct folded pattern byte, plus 0 for the rest.
	m.nclass = 1
	var seen [256]uint8
	for _, p := range pats {
		for i := 0; i < len(p); i++ {
			c := lowerASCII(p[i])
			if seen[c] == 0 {
				if m.nclass == 256 {
					panic("dlp: too many byte classes")
				}
				seen[c] = uint8(m.nclass)
				m.nclass++
			}
		}
	}
	for c := 0; c < 256; c++ {
		m.class[c] = seen[lowerASCII(byte(c))]
	}
	full := make([]int32, len(nodes)*256)
	// BFS to compute fail links and the full goto function.
	queue := []int32{}
	for c := 0; c < 256; c++ {
		lc := lowerASCII(byte(c))
		if n, ok := nodes[0].next[lc]; ok {
			full[c] = n
			if lc == byte(c) {
				nodes[n].fail = 0
				queue = append(queue, n)
			}
		}
	}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		f := nodes[s].fail
		nodes[s].out = append(nodes[s].out, nodes[f].out...)
		for c := 0; c < 256; c++ {
			lc := lowerASCII(byte(c))
			if n, ok := nodes[s].next[lc]; ok {
				full[int(s)<<8|c] = n
				if lc == byte(c) {
					nodes[n].fail = full[int(f)<<8|c]
					queue = append(queue, n)
				}
			} else {
				full[int(s)<<8|c] = full[int(f)<<8|c]
			}
		}
	}
	m.trans = make([]int32, len(nodes)*m.nclass)
	for st := range nodes {
		for c := 0; c < 256; c++ {
			m.trans[st*m.nclass+int(m.class[c])] = full[st<<8|c]
		}
	}
	for c := 0; c < 256; c++ {
		m.rootSkip[c] = m.trans[int(m.class[c])] == 0
	}
	m.out = make([][]int32, len(nodes))
	m.hasOut = make([]bool, len(nodes))
	for i := range nodes {
		m.out[i] = nodes[i].out
		m.hasOut[i] = len(nodes[i].out) > 0
	}
	return m
}

// any reports whether some pattern occurs in text.
func (m *acMatcher) any(text []byte) bool {
	found := false
	m.scanUntil(text, func(int, int32) bool { found = true; return false })
	return found
}

// scan calls fn with the start offset of every pattern occurrence in text.
func (m *acMatcher) scan(text []byte, fn func(start int, pat int32)) {
	m.scanUntil(text, func(start int, pat int32) bool { fn(start, pat); return true })
}

// scanUntil is scan stopping when fn returns false. In the root state the
// loop skips bytes that begin no pattern (class 0 bytes and letters that
// start nothing), which is most of ordinary prose.
func (m *acMatcher) scanUntil(text []byte, fn func(start int, pat int32) bool) {
	var s int32
	trans, hasOut, class, nc, skip, pairs := m.trans, m.hasOut, &m.class, int32(m.nclass), &m.rootSkip, m.pairs
	for i := 0; i < len(text); i++ {
		if s == 0 {
			if pairs != nil {
				if i = m.nextStart(text, i); i+1 >= len(text) {
					return
				}
			} else {
				for i < len(text) && skip[text[i]] {
					i++
				}
				if i == len(text) {
					return
				}
			}
		}
		s = trans[s*nc+int32(class[text[i]])]
		if hasOut[s] {
			for _, id := range m.out[s] {
				p := m.pats[id]
				start := i + 1 - len(p)
				if m.exact != nil && m.exact[id] && string(text[start:i+1]) != p {
					continue
				}
				if !fn(start, id) {
					return
				}
			}
		}
	}
}
