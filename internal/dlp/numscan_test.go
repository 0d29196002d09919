package dlp

import (
	"math/rand/v2"
	"reflect"
	"regexp"
	"testing"
)

// TestNumberMatchersAgreeWithRegexp checks the hand-written number matchers
// against the regular expressions they replace, anchored at every position
// of random digit and separator strings.
func TestNumberMatchersAgreeWithRegexp(t *testing.T) {
	cases := []struct {
		id string
		m  func([]byte, int) int
	}{{"payment_card", matchCard}, {"us_ssn", matchSSN}, {"us_aba_routing", matchABA}, {"ca_sin", matchSIN}, {"phone", matchPhone},
		{"uk_nhs", matchNHS}, {"au_tfn", matchTFN}, {"th_id", matchThaiID}, {"fr_nir", matchNIR}}
	r := rand.New(rand.NewPCG(1, 2))
	const alphabet = "0123456789012345678901234567890123456789  --..()()/+++x"
	for _, c := range cases {
		e, _ := PredefinedEntry(c.id)
		re := regexp.MustCompile(`^(?:` + e.det.(numberEntry).re.String() + `)`)
		for n := 0; n < 100000; n++ {
			b := make([]byte, 1+r.IntN(40))
			for i := range b {
				b[i] = alphabet[r.IntN(len(alphabet))]
			}
			for i := range b {
				want := -1
				if ix := re.FindIndex(b[i:]); ix != nil && ix[1] > 0 {
					want = i + ix[1]
				}
				if got := c.m(b, i); got != want && !(got <= i && want < 0) {
					t.Fatalf("%s on %q at %d: regexp ends at %d, matcher at %d", c.id, b, i, want, got)
				}
			}
		}
	}
}

func TestMayHaveDigit(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for n := 0; n < 1000000; n++ {
		var b [8]byte
		want := false
		for i := range b {
			b[i] = byte(r.IntN(256))
			if n%3 == 0 {
				b[i] = byte(40 + r.IntN(30))
			}
			want = want || isDigit(b[i])
		}
		x := uint64(0)
		for i := 7; i >= 0; i-- {
			x = x<<8 | uint64(b[i])
		}
		if mayHaveDigit(x) != want {
			t.Fatalf("mayHaveDigit(%q) = %v", b[:], !want)
		}
	}
}

// findRunsReference is findRuns without the word-skipping shortcut.
func findRunsReference(v *view) []run {
	var out []run
	t := v.text
	n := len(t)
	next := 0
	for p := minB64Run - 1; p < n; p += minB64Run {
		if p < next || b64Class[t[p]] == 0 {
			continue
		}
		i := p
		for i > next && b64Class[t[i-1]] != 0 {
			i--
		}
		j, allHex := i, true
		for j < n && b64Class[t[j]] != 0 {
			if b64Class[t[j]]&2 == 0 {
				allHex = false
			}
			j++
		}
		next = j
		e := j
		for e < n && e-j < 2 && t[e] == '=' {
			e++
		}
		if j-i < minB64Run {
			continue
		}
		r := run{v: v, start: i, end: e}
		if e == j {
			r = joinWrapped(r, allHex)
			next = max(next, r.end)
		}
		if l := j - i; r.segs == nil {
			if allHex && l >= minHexRun && l%2 == 0 {
				r.hex = true
			} else if allHex {
				continue
			}
		}
		out = append(out, r)
	}
	return out
}

func TestFindRunsShortcut(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	const alphabet = "abcdef0123456789ABCXYZ+/-_=      \n\t\x00\x7f\xc3"
	inputs := [][]byte{benchData("prose"), benchData("code"), benchData("pii")}
	for n := 0; n < 20000; n++ {
		b := make([]byte, r.IntN(300))
		sp := 1 + r.IntN(40)
		for i := range b {
			b[i] = alphabet[r.IntN(22)]
			if r.IntN(sp) == 0 {
				b[i] = alphabet[22+r.IntN(len(alphabet)-22)]
			}
		}
		inputs = append(inputs, b)
	}
	for _, b := range inputs {
		v := &view{text: b}
		got, want := findRuns(v), findRunsReference(v)
		if len(got) != len(want) {
			t.Fatalf("findRuns on %q: %d runs, reference %d", b[:min(len(b), 200)], len(got), len(want))
		}
		for i := range got {
			if !reflect.DeepEqual(got[i], want[i]) {
				t.Fatalf("findRuns run %d: %+v, reference %+v", i, got[i], want[i])
			}
		}
	}
}
