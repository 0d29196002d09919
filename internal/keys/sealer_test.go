package keys

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
)

func TestSealer(t *testing.T) {
	master := bytes.Repeat([]byte{7}, MasterKeySize)
	s, err := NewSealer(master, PurposeGatewayCA)
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := s.Seal("ca-1", []byte("secret key"))
	if err != nil {
		t.Fatal(err)
	}
	if pt, err := s.Open("ca-1", sealed); err != nil || string(pt) != "secret key" {
		t.Fatalf("Open = %q, %v", pt, err)
	}
	if _, err := s.Open("ca-2", sealed); !errors.Is(err, ErrWrongMasterKey) {
		t.Errorf("Open under another ID: %v, want ErrWrongMasterKey", err)
	}
	other, _ := NewSealer(bytes.Repeat([]byte{8}, MasterKeySize), PurposeGatewayCA)
	if _, err := other.Open("ca-1", sealed); !errors.Is(err, ErrWrongMasterKey) {
		t.Errorf("Open under another master key: %v, want ErrWrongMasterKey", err)
	}
	// The purpose's key differs from the signing keys' key under the same master key.
	signing, _ := newSealer(master)
	if _, err := open(signing, "ca-1", sealed); !errors.Is(err, ErrWrongMasterKey) {
		t.Errorf("signing-key sealer opened a gateway CA key: %v", err)
	}
	if _, err := NewSealer(master, "other"); err == nil {
		t.Error("unknown purpose accepted")
	}
	if _, err := NewSealer(master[:5], PurposeGatewayCA); err == nil {
		t.Error("short master key accepted")
	}
	for _, f := range []string{"%v", "%+v", "%#v", "%s"} {
		if out := fmt.Sprintf(f, s); out != "keys.Sealer" {
			t.Errorf("%s of a Sealer = %q", f, out)
		}
	}
}
