package token_test

import (
	"testing"
)

// FuzzVerify: Verify never panics, and never accepts anything but the tokens that were signed
// with the published key as valid (any other accepted input would be a forgery, since strict
// encoding gives every signed token exactly one spelling).
func FuzzVerify(f *testing.F) {
	k := fixture(f)
	cases := verifyCases(f, "https://attacker.example")
	valid := map[string]bool{}
	for _, tc := range cases {
		f.Add(tc.raw)
		if tc.want == nil {
			valid[tc.raw] = true
		}
	}
	v := k.verifier()
	f.Fuzz(func(t *testing.T, raw string) {
		c, kid, err := v.VerifyKID(raw)
		if err != nil {
			if c != nil || kid != "" {
				t.Fatal("result returned with an error")
			}
			return
		}
		if !valid[raw] {
			t.Fatalf("accepted a token that was never signed: %q", raw)
		}
		if c == nil || kid != k.kid {
			t.Fatal("accepted without claims or kid")
		}
	})
}
