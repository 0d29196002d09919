package netguard

import (
	"context"
	"errors"
	"net/netip"
	"testing"
)

func TestAllowed(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1": true, "10.1.2.3": true, "192.168.0.10": true, "::1": true, "8.8.8.8": true,
		"169.254.169.254": false, "::ffff:169.254.169.254": false, "0.0.0.0": false, "::": false,
		"fe80::1": false, "224.0.0.1": false, "255.255.255.255": false, "2002:a9fe:a9fe::": false,
		"64:ff9b::a9fe:a9fe": false, "fd00:ec2::254": false, "2002:0808:0808::": true,
	} {
		if got := Allowed(netip.MustParseAddr(addr)); got != want {
			t.Errorf("Allowed(%s) = %v, want %v", addr, got, want)
		}
	}
}

func TestDialRefusesMetadataAddress(t *testing.T) {
	_, err := DialContext(context.Background(), "tcp", "169.254.169.254:80")
	if !errors.Is(err, ErrForbiddenAddress) {
		t.Fatalf("dial metadata address: %v", err)
	}
}
