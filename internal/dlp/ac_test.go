package dlp

import (
	"math/rand/v2"
	"testing"
)

// TestPairSkipMatchesPlainScan cross-checks the prefilter (pair table and
// strided skip) against the automaton without it, on random texts over a
// small alphabet where patterns overlap and straddle every parity.
func TestPairSkipMatchesPlainScan(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	pats := []string{"abc", "bca", "xyzw", "cab", "aab", "Key"}
	m := newACMatcher(pats, []bool{false, false, false, false, false, true})
	m.enablePairSkip()
	if !m.stride {
		t.Fatal("no stride")
	}
	plain := newACMatcher(pats, []bool{false, false, false, false, false, true})
	for it := 0; it < 20000; it++ {
		n := r.IntN(40)
		b := make([]byte, n)
		for i := range b {
			b[i] = "abcxyzwKke "[r.IntN(11)]
		}
		var got, want [][2]int
		m.scan(b, func(s int, p int32) { got = append(got, [2]int{s, int(p)}) })
		plain.scan(b, func(s int, p int32) { want = append(want, [2]int{s, int(p)}) })
		if len(got) != len(want) {
			t.Fatalf("%q: got %v want %v", b, got, want)
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("%q: got %v want %v", b, got, want)
			}
		}
	}
}
