package keys

import (
	"bytes"
	"context"
	"crypto/rsa"
	"slices"
	"testing"
	"time"
)

// certificateKIDs returns the kids of m.Certificates(), failing unless each certificate holds a
// key m publishes.
func certificateKIDs(t *testing.T, m *Manager) []string {
	t.Helper()
	var kids []string
	for _, c := range m.Certificates() {
		pub, ok := c.PublicKey.(*rsa.PublicKey)
		if !ok {
			t.Fatalf("certificate holds a %T", c.PublicKey)
		}
		kid, err := KeyID(pub)
		if err != nil {
			t.Fatal(err)
		}
		if p, ok := m.PublicKey(kid); !ok || !p.Equal(pub) {
			t.Fatalf("certificate of %s is not a published key", kid)
		}
		kids = append(kids, kid)
	}
	return kids
}

func TestCertificatesFollowRotation(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		m := e.manager(t, masterA)
		if got := m.Certificates(); got != nil {
			t.Fatalf("Certificates before Load = %v, want nil", got)
		}
		if err := m.Load(ctx); err != nil {
			t.Fatal(err)
		}
		first := currentKID(t, m)
		if got := certificateKIDs(t, m); !slices.Equal(got, []string{first}) {
			t.Fatalf("Certificates after Load: %v, want [%s]", got, first)
		}
		if !bytes.Equal(m.Certificates()[0].Raw, m.Certificate().Raw) {
			t.Fatal("Certificates()[0] is not Certificate()")
		}

		e.clk.Advance(time.Minute)
		if err := m.Rotate(ctx); err != nil {
			t.Fatal(err)
		}
		second := currentKID(t, m)
		if got := certificateKIDs(t, m); !slices.Equal(got, []string{second, first}) {
			t.Fatalf("Certificates after rotation: %v, want [%s %s] (current first)", got, second, first)
		}
		if _, _, pcs := certKIDs(t, m); !slices.Equal(pcs, certificateKIDs(t, m)) {
			t.Fatalf("Certificates %v disagree with public_certs %v", certificateKIDs(t, m), pcs)
		}
		signer, _ := m.Signer()
		if !m.Certificates()[0].PublicKey.(*rsa.PublicKey).Equal(signer.Public()) {
			t.Fatal("the first certificate is not the signer's")
		}

		// The rotated-out certificate stays until exactly RetireAt, without a reload.
		e.clk.Advance(DefaultOverlap - time.Nanosecond)
		if got := certificateKIDs(t, m); len(got) != 2 {
			t.Fatalf("Certificates just before RetireAt: %v", got)
		}
		e.clk.Advance(time.Nanosecond)
		if got := certificateKIDs(t, m); !slices.Equal(got, []string{second}) {
			t.Fatalf("Certificates at RetireAt: %v, want [%s]", got, second)
		}
	})
}
