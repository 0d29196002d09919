package dlp

import (
	"context"
	"math/rand/v2"
	"strings"
	"testing"
)

// TestLongEncodedLookingTextIsComplete: text that merely looks like an encoding (a long run of
// one hex or base64 character, a repeated short pattern, random hex or base64) is scanned to a
// complete verdict. Such runs decode to bytes whose head can pass for raw deflate or brotli;
// the stream then stops decoding, which once made every such body "incomplete" (and a gateway
// that fails closed blocked it).
func TestLongEncodedLookingTextIsComplete(t *testing.T) {
	p, err := PredefinedProfile("all")
	if err != nil {
		t.Fatal(err)
	}
	e := NewEngine(Options{})
	r := rand.New(rand.NewPCG(7, 8))
	const hexAlpha = "0123456789abcdef"
	const b64Alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	pick := func(alpha string, n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = alpha[r.IntN(len(alpha))]
		}
		return string(b)
	}
	var inputs []string
	for _, c := range hexAlpha + "AZz+/" {
		inputs = append(inputs, strings.Repeat(string(c), 20000))
	}
	for range 60 {
		alpha := hexAlpha
		if r.IntN(2) == 0 {
			alpha = b64Alpha
		}
		inputs = append(inputs, strings.Repeat(pick(alpha, 2+r.IntN(7)), 500+r.IntN(5000)))
		inputs = append(inputs, pick(alpha, 64+r.IntN(20000)))
	}
	for i, in := range inputs {
		v, err := e.Scan(context.Background(), strings.NewReader(in), p)
		if err != nil {
			t.Fatal(err)
		}
		if v.Incomplete {
			t.Fatalf("input %d (%d bytes, %q…) is incomplete: %v", i, len(in), in[:min(len(in), 24)], v.Reasons)
		}
	}
}
