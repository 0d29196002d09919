package ca

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/keys"
	"github.com/gatehouse/gatehouse/internal/store"
)

func TestGenerate(t *testing.T) {
	clock := newTestClock()
	m, st := newTestManager(t, clock.Now)
	info, err := m.Generate(t.Context(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if info.State != store.GatewayCAInactive {
		t.Errorf("new CA state %q, want inactive", info.State)
	}
	block, rest := pem.Decode([]byte(info.CertificatePEM))
	if block == nil || block.Type != "CERTIFICATE" || len(strings.TrimSpace(string(rest))) != 0 {
		t.Fatalf("CertificatePEM is not one PEM certificate: %q", info.CertificatePEM)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(block.Bytes)
	if info.Fingerprint != hex.EncodeToString(sum[:]) {
		t.Errorf("fingerprint %s, want SHA-256 of the DER", info.Fingerprint)
	}
	if !cert.IsCA || !cert.BasicConstraintsValid || cert.MaxPathLen != 0 || !cert.MaxPathLenZero {
		t.Errorf("basic constraints: CA %v valid %v pathlen %d zero %v; want CA:true, pathlen 0", cert.IsCA, cert.BasicConstraintsValid, cert.MaxPathLen, cert.MaxPathLenZero)
	}
	if cert.KeyUsage != x509.KeyUsageCertSign|x509.KeyUsageCRLSign {
		t.Errorf("key usage %b, want CertSign|CRLSign", cert.KeyUsage)
	}
	pub, ok := cert.PublicKey.(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		t.Errorf("public key %T, want ECDSA P-256", cert.PublicKey)
	}
	if cert.Subject.CommonName != "Gatehouse Gateway CA Example Corp" || info.Subject != cert.Subject.CommonName {
		t.Errorf("subject %q (info %q)", cert.Subject.CommonName, info.Subject)
	}
	if err := cert.CheckSignatureFrom(cert); err != nil {
		t.Errorf("not self-signed: %v", err)
	}
	if want := clock.Now().Add(DefaultValidity); !cert.NotAfter.Equal(want) || !info.NotAfter.Equal(want) {
		t.Errorf("NotAfter %v, want %v (five years)", cert.NotAfter, want)
	}
	if want := clock.Now().Add(-time.Hour); !cert.NotBefore.Equal(want) {
		t.Errorf("NotBefore %v, want %v", cert.NotBefore, want)
	}
	if len(cert.SubjectKeyId) == 0 {
		t.Error("no subject key ID")
	}

	// The store holds the key sealed: it opens under the master key to the certificate's key.
	c, err := st.GetGatewayCA(t.Context(), info.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !c.ExpiresAt.Equal(cert.NotAfter) || c.Fingerprint != info.Fingerprint {
		t.Errorf("stored expiry %v fingerprint %s", c.ExpiresAt, c.Fingerprint)
	}
	sealer, _ := keys.NewSealer(testMasterKey, keys.PurposeGatewayCA)
	pkcs8, err := sealer.Open(info.ID, c.PrivateKeyEncrypted)
	if err != nil {
		t.Fatalf("stored key does not open: %v", err)
	}
	key, err := x509.ParsePKCS8PrivateKey(pkcs8)
	if err != nil || !key.(*ecdsa.PrivateKey).PublicKey.Equal(pub) {
		t.Fatalf("stored key %T does not match the certificate (%v)", key, err)
	}
	if strings.Contains(string(c.PrivateKeyEncrypted), string(pkcs8[len(pkcs8)-32:])) {
		t.Error("stored key bytes contain the plaintext key")
	}

	// Another master key cannot use it.
	other, _ := NewManager(st, make([]byte, 32), Options{})
	if _, err := other.Activate(t.Context(), info.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := other.InUse(t.Context()); !errors.Is(err, keys.ErrWrongMasterKey) {
		t.Errorf("InUse under another master key: %v, want ErrWrongMasterKey", err)
	}
}

func TestGenerateValidity(t *testing.T) {
	clock := newTestClock()
	m, _ := newTestManager(t, clock.Now)
	info, err := m.Generate(t.Context(), 365*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if want := clock.Now().Add(365 * 24 * time.Hour); !info.NotAfter.Equal(want) {
		t.Errorf("NotAfter %v, want %v", info.NotAfter, want)
	}
	for _, d := range []time.Duration{time.Hour, MinValidity - time.Second, MaxValidity + time.Second, -time.Hour} {
		if _, err := m.Generate(t.Context(), d); err == nil {
			t.Errorf("Generate(%s) succeeded", d)
		}
	}
}

func TestParseValidity(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"5y":     5 * 365 * 24 * time.Hour,
		"43800h": 43800 * time.Hour,
		"1825d":  1825 * 24 * time.Hour,
		"52w":    52 * 7 * 24 * time.Hour,
		" 10y ":  10 * 365 * 24 * time.Hour,
		"30d":    MinValidity,
		"20y":    MaxValidity,
	} {
		got, err := ParseValidity(in)
		if err != nil || got != want {
			t.Errorf("ParseValidity(%q) = %s, %v; want %s", in, got, err, want)
		}
	}
	for _, in := range []string{"", "y", "0y", "-5y", "5.5y", "21y", "1h", "29d", "abc", "5 years", "99999999999999999999y", "1e3h", "100000y", "106751d", "15250w", "292y", "584y", "2562048h"} {
		if got, err := ParseValidity(in); err == nil {
			t.Errorf("ParseValidity(%q) = %s, want an error", in, got)
		}
	}
}

func TestLifecycle(t *testing.T) {
	clock := newTestClock()
	m, _ := newTestManager(t, clock.Now)
	ctx := t.Context()
	if _, err := m.InUse(ctx); !errors.Is(err, ErrNoCAInUse) {
		t.Fatalf("InUse with no CA: %v", err)
	}
	a, err := m.Generate(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Second)
	b, err := m.Generate(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.InUse(ctx); !errors.Is(err, ErrNoCAInUse) {
		t.Fatalf("InUse with only inactive CAs: %v", err)
	}
	states := func() map[string]string {
		t.Helper()
		list, err := m.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, i := range list {
			out[i.ID] = i.State
		}
		return out
	}

	if got, err := m.Activate(ctx, a.ID); err != nil || got.State != store.GatewayCAInUse {
		t.Fatalf("Activate(a) = %+v, %v", got, err)
	}
	if auth, err := m.InUse(ctx); err != nil || auth.ID() != a.ID || auth.Fingerprint() != a.Fingerprint {
		t.Fatalf("InUse = %v, %v; want a", auth, err)
	}
	if _, err := m.Activate(ctx, b.ID); err != nil {
		t.Fatal(err)
	}
	if s := states(); s[a.ID] != store.GatewayCAAvailable || s[b.ID] != store.GatewayCAInUse {
		t.Fatalf("after activating b: %v; want a available, b in use", s)
	}
	list, _ := m.List(ctx)
	if list[0].ID != b.ID {
		t.Errorf("List is not newest first: %v", list)
	}
	if _, err := m.SetState(ctx, b.ID, store.GatewayCAInactive); !errors.Is(err, ErrState) || !strings.Contains(err.Error(), "in use") {
		t.Errorf("deactivating the CA in use: %v", err)
	}
	if _, err := m.SetState(ctx, a.ID, store.GatewayCAInactive); err != nil {
		t.Errorf("deactivating an available CA: %v", err)
	}
	if _, err := m.SetState(ctx, a.ID, "pending"); !errors.Is(err, ErrState) {
		t.Errorf("unknown state: %v", err)
	}
	if _, err := m.Activate(ctx, "5b0e1c8e-0000-4000-8000-000000000000"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Activate(unknown): %v", err)
	}

	// Export gives the certificate only.
	pemBytes, err := m.Export(ctx, a.ID)
	if err != nil || string(pemBytes) != a.CertificatePEM {
		t.Fatalf("Export = %q, %v", pemBytes, err)
	}
	if strings.Contains(string(pemBytes), "PRIVATE") {
		t.Error("Export contains a private key")
	}
	if _, err := m.Export(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Export(unknown): %v", err)
	}

	// An expired CA cannot be activated.
	short, err := m.Generate(ctx, MinValidity)
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(MinValidity + time.Second)
	if _, err := m.Activate(ctx, short.ID); !errors.Is(err, ErrState) || !strings.Contains(err.Error(), "expired") {
		t.Errorf("activating an expired CA: %v", err)
	}
}

func TestNewManagerRefusesShortMasterKey(t *testing.T) {
	_, st := newTestManager(t, time.Now)
	if _, err := NewManager(st, []byte("short"), Options{}); err == nil {
		t.Fatal("NewManager accepted a 5-byte master key")
	}
}

func TestTrustBundle(t *testing.T) {
	clock := newTestClock()
	m, _ := newTestManager(t, clock.Now)
	ctx := t.Context()
	if b, err := m.TrustBundle(ctx); err != nil || len(b) != 0 {
		t.Fatalf("TrustBundle with no CA = %q, %v", b, err)
	}
	var ids []string
	for range 3 {
		info, err := m.Generate(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, info.ID)
		clock.Advance(time.Second)
	}
	if _, err := m.Activate(ctx, ids[0]); err != nil {
		t.Fatal(err)
	}
	if _, err := m.SetState(ctx, ids[2], store.GatewayCAAvailable); err != nil {
		t.Fatal(err)
	}
	b, err := m.TrustBundle(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rest := b; ; {
		var block *pem.Block
		if block, rest = pem.Decode(rest); block == nil {
			break
		}
		got = append(got, Fingerprint(block.Bytes))
	}
	want := []string{}
	for _, id := range []string{ids[0], ids[2]} { // in use first, then available; not the inactive one
		info, _ := m.Get(ctx, id)
		want = append(want, info.Fingerprint)
	}
	if strings.Join(got, ",") != strings.Join(want, ",") || strings.Contains(string(b), "PRIVATE") {
		t.Errorf("TrustBundle fingerprints %v, want %v", got, want)
	}
}
