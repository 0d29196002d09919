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
	// pairs, when set, marks the byte pairs (raw, any case) that begin some
	// pattern; in the root state the scanner skips positions whose pair
	// begins none. Only built when every pattern is at least two bytes.
	pairs *[1 << 16]bool
}

// enablePairSkip builds the pair filter, used for the large automata that
// run over whole windows.
func (m *acMatcher) enablePairSkip() {
	var t [1 << 16]bool
	for _, p := range m.pats {
		if len(p) < 2 {
			return
		}
		a, b := lowerASCII(p[0]), lowerASCII(p[1])
		for c0 := 0; c0 < 256; c0++ {
			if lowerASCII(byte(c0)) != a {
				continue
			}
			for c1 := 0; c1 < 256; c1++ {
				if lowerASCII(byte(c1)) == b {
					t[c0<<8|c1] = true
				}
			}
		}
	}
	m.pairs = &t
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
				for i+1 < len(text) && !pairs[int(text[i])<<8|int(text[i+1])] {
					i++
				}
				if i+1 >= len(text) {
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
