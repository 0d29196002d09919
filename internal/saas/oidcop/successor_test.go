package oidcop

import "testing"

// TestSealedSuccessor: only the holder of the rotated token opens its successor; a tampered or
// truncated seal does not open.
func TestSealedSuccessor(t *testing.T) {
	old, next := randomValue(), randomValue()
	sealed, err := sealSuccessor(old, next)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := openSuccessor(old, sealed); err != nil || got != next {
		t.Fatalf("openSuccessor = %q, %v; want the successor", got, err)
	}
	if _, err := openSuccessor(randomValue(), sealed); err == nil {
		t.Error("another token opened the successor")
	}
	if _, err := openSuccessor(hashValue(old), sealed); err == nil {
		t.Error("the stored hash of the token opened the successor")
	}
	tampered := append([]byte(nil), sealed...)
	tampered[len(tampered)-1] ^= 1
	if _, err := openSuccessor(old, tampered); err == nil {
		t.Error("a tampered seal opened")
	}
	if _, err := openSuccessor(old, sealed[:5]); err == nil {
		t.Error("a truncated seal opened")
	}
	again, _ := sealSuccessor(old, next)
	if string(again) == string(sealed) {
		t.Error("two seals of one successor are identical (nonce reused)")
	}
}
