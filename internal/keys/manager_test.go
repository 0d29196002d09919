package keys

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse/gatehouse/internal/token"
)

const testIssuer = "https://auth.example.com"

var (
	masterA = bytes.Repeat([]byte{0xa1}, MasterKeySize)
	masterB = bytes.Repeat([]byte{0xb2}, MasterKeySize)
)

// env is one store with a fake clock shared by the store and its managers.
type env struct {
	clk  *fakeClock
	st   store.Store
	hook *hookStore // wraps the backend; managers use it
	fake *fakeStore // set for the in-memory backend
	db   string     // set for SQLite: the database file
}

// backends are the stores the rotation tests run against: the in-memory fake and, as in
// production, sqlstore on SQLite.
var backends = []struct {
	name string
	open func(t *testing.T, e *env)
}{
	{"fake", func(t *testing.T, e *env) {
		e.fake = newFakeStore(e.clk.Now)
		e.st = e.fake
	}},
	{"sqlite", func(t *testing.T, e *env) {
		e.db = filepath.Join(t.TempDir(), "db.sqlite")
		// A plain path, not a file: URI: subtest directories can contain "#".
		s, err := sqlstore.Open(t.Context(), "sqlite", e.db, sqlstore.WithClock(e.clk.Now))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		e.st = s
	}},
}

// newEnv returns an env on the in-memory store.
func newEnv(t *testing.T) *env {
	e := &env{clk: newFakeClock()}
	backends[0].open(t, e)
	e.hook = &hookStore{Store: e.st}
	return e
}

// eachBackend runs f against every backend.
func eachBackend(t *testing.T, f func(t *testing.T, e *env)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			e := &env{clk: newFakeClock()}
			b.open(t, e)
			e.hook = &hookStore{Store: e.st}
			f(t, e)
		})
	}
}

// stored returns the keys the store holds (current and not yet retired).
func (e *env) stored(t *testing.T) []store.SigningKey {
	t.Helper()
	sks, err := e.st.SigningKeys(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return sks
}

func (e *env) manager(t *testing.T, master []byte) *Manager {
	t.Helper()
	m, err := NewManager(e.hook, master, Options{Issuer: testIssuer, Now: e.clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func (e *env) loaded(t *testing.T) *Manager {
	t.Helper()
	m := e.manager(t, masterA)
	if err := m.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	return m
}

func currentKID(t *testing.T, m *Manager) string {
	t.Helper()
	s, kid := m.Signer()
	if s == nil || kid == "" {
		t.Fatal("no current key")
	}
	return kid
}

// mint signs a long-lived token with m's current key.
func mint(t *testing.T, m *Manager, now time.Time) string {
	t.Helper()
	raw, err := token.Mint(m, &token.Claims{
		Audience: []string{"aud"}, Issuer: testIssuer, Subject: "u", Type: token.TypeApp,
		IssuedAt: now.Unix(), NotBefore: now.Unix(), ExpiresAt: now.Add(10 * 365 * 24 * time.Hour).Unix(),
	})
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func TestNewManagerValidates(t *testing.T) {
	st := newFakeStore(time.Now)
	for name, f := range map[string]func() (*Manager, error){
		"nil store":         func() (*Manager, error) { return NewManager(nil, masterA, Options{Issuer: testIssuer}) },
		"short master key":  func() (*Manager, error) { return NewManager(st, masterA[:16], Options{Issuer: testIssuer}) },
		"no issuer":         func() (*Manager, error) { return NewManager(st, masterA, Options{}) },
		"issuer with space": func() (*Manager, error) { return NewManager(st, masterA, Options{Issuer: "auth example"}) },
		"negative interval": func() (*Manager, error) {
			return NewManager(st, masterA, Options{Issuer: testIssuer, RotationInterval: -1})
		},
	} {
		if _, err := f(); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	for issuer, host := range map[string]string{
		"https://auth.example.com":          "auth.example.com",
		"https://Auth.example.com:8443/x/y": "Auth.example.com",
		"auth.example.com":                  "auth.example.com",
	} {
		if got, err := issuerHost(issuer); err != nil || got != host {
			t.Errorf("issuerHost(%q) = %q, %v", issuer, got, err)
		}
	}
	m, _ := NewManager(st, masterA, Options{Issuer: testIssuer})
	if m.opts.RotationInterval != 1008*time.Hour || m.opts.Overlap != 168*time.Hour {
		t.Errorf("defaults: %v, %v", m.opts.RotationInterval, m.opts.Overlap)
	}
	if s, kid := m.Signer(); s != nil || kid != "" || m.CertsJSON() != nil || !m.NextRotation().IsZero() {
		t.Error("unloaded manager hands out keys")
	}
	if _, err := m.RotateIfDue(context.Background()); !errors.Is(err, ErrNoCurrentKey) {
		t.Errorf("RotateIfDue before Load: %v", err)
	}
}

func TestLoadCreatesFirstKeyOnce(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		m1 := e.loaded(t)
		kid := currentKID(t, m1)
		s, _ := m1.Signer()
		if want, _ := KeyID(s.Public().(*rsa.PublicKey)); kid != want || !isKID(kid) {
			t.Fatalf("kid %s, want SHA-256 of SPKI %s", kid, want)
		}
		if pub, ok := m1.PublicKey(kid); !ok || !pub.Equal(s.Public()) || pub.N.BitLen() != 2048 {
			t.Fatal("PublicKey(current) wrong")
		}
		m2 := e.loaded(t)
		if currentKID(t, m2) != kid || len(e.stored(t)) != 1 {
			t.Fatalf("second replica: kid %s, %d keys", currentKID(t, m2), len(e.stored(t)))
		}
		if got := m1.NextRotation(); !got.Equal(e.clk.Now().Truncate(time.Microsecond).Add(DefaultRotationInterval)) {
			t.Errorf("NextRotation = %v", got)
		}
		if _, ok := m1.PublicKey("unknown"); ok {
			t.Error("unknown kid published")
		}
	})
}

// Replicas start on an empty store at once: the losers of the compare-and-swap use the winner's
// key.
func TestLoadRace(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		// Deterministic: m2 stores its key between m1's read and m1's swap.
		m1, m2 := e.manager(t, masterA), e.manager(t, masterA)
		e.hook.beforeRotate = func() {
			if err := m2.Load(context.Background()); err != nil {
				t.Error(err)
			}
		}
		if err := m1.Load(context.Background()); err != nil {
			t.Fatal(err)
		}
		if currentKID(t, m1) != currentKID(t, m2) || len(e.stored(t)) != 1 {
			t.Fatalf("replicas disagree or store has %d keys", len(e.stored(t)))
		}
	})
	eachBackend(t, func(t *testing.T, e *env) {
		// Free-running: three replicas at once.
		ms := []*Manager{e.manager(t, masterA), e.manager(t, masterA), e.manager(t, masterA)}
		var wg sync.WaitGroup
		for _, m := range ms {
			wg.Go(func() {
				if err := m.Load(context.Background()); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if len(e.stored(t)) != 1 || currentKID(t, ms[0]) != currentKID(t, ms[1]) || currentKID(t, ms[1]) != currentKID(t, ms[2]) {
			t.Fatalf("store has %d keys", len(e.stored(t)))
		}
	})
}

func TestCertsJSONShape(t *testing.T) {
	e := newEnv(t)
	m := e.loaded(t)
	kid := currentKID(t, m)
	doc := m.CertsJSON()

	var top map[string]json.RawMessage
	if err := json.Unmarshal(doc, &top); err != nil {
		t.Fatal(err)
	}
	if names := slices.Sorted(mapKeys(top)); !slices.Equal(names, []string{"keys", "public_cert", "public_certs"}) {
		t.Fatalf("top-level fields %v", names)
	}
	pub, _ := m.PublicKey(kid)
	wantJWK := `{"kid":"` + kid + `","kty":"RSA","alg":"RS256","use":"sig","e":"AQAB","n":"` +
		base64.RawURLEncoding.EncodeToString(pub.N.Bytes()) + `"}`
	if string(top["keys"]) != "["+wantJWK+"]" {
		t.Errorf("keys = %s\nwant [%s]", top["keys"], wantJWK)
	}
	var pc struct {
		Kid  string `json:"kid"`
		Cert string `json:"cert"`
	}
	if err := json.Unmarshal(top["public_cert"], &pc); err != nil || pc.Kid != kid {
		t.Fatalf("public_cert = %s", top["public_cert"])
	}
	cert := parseCertPEM(t, pc.Cert)
	if cert.Subject.CommonName != "auth.example.com" || !pub.Equal(cert.PublicKey) {
		t.Errorf("certificate CN %q or key wrong", cert.Subject.CommonName)
	}
	if err := cert.CheckSignature(cert.SignatureAlgorithm, cert.RawTBSCertificate, cert.Signature); err != nil {
		t.Errorf("certificate is not self-signed: %v", err)
	}
	if cert.NotAfter.Before(e.clk.Now().Add(2 * (DefaultRotationInterval + DefaultOverlap))) {
		t.Errorf("certificate expires %v", cert.NotAfter)
	}
	var pcs []struct{ Kid, Cert string }
	if err := json.Unmarshal(top["public_certs"], &pcs); err != nil || len(pcs) != 1 || pcs[0].Kid != kid || pcs[0].Cert != pc.Cert {
		t.Fatalf("public_certs = %s", top["public_certs"])
	}
	// Cached: the same bytes until keys change.
	if again := m.CertsJSON(); &again[0] != &doc[0] {
		t.Error("CertsJSON rebuilt without a key change")
	}
}

func mapKeys(m map[string]json.RawMessage) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func parseCertPEM(t *testing.T, s string) *x509.Certificate {
	t.Helper()
	b, _ := pem.Decode([]byte(s))
	if b == nil || b.Type != "CERTIFICATE" {
		t.Fatalf("not a PEM certificate: %q", s)
	}
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

type certsDoc struct {
	Keys []struct {
		Kid string `json:"kid"`
	} `json:"keys"`
	PublicCert struct {
		Kid string `json:"kid"`
	} `json:"public_cert"`
	PublicCerts []struct {
		Kid string `json:"kid"`
	} `json:"public_certs"`
}

// certKIDs returns the kids in keys, public_cert's kid, and the kids in public_certs.
func certKIDs(t *testing.T, m *Manager) ([]string, string, []string) {
	t.Helper()
	var d certsDoc
	if err := json.Unmarshal(m.CertsJSON(), &d); err != nil {
		t.Fatal(err)
	}
	var keys, certs []string
	for _, k := range d.Keys {
		keys = append(keys, k.Kid)
	}
	for _, c := range d.PublicCerts {
		certs = append(certs, c.Kid)
	}
	return keys, d.PublicCert.Kid, certs
}

func TestScheduledRotation(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		m1, m2 := e.loaded(t), e.loaded(t)
		old := currentKID(t, m1)
		oldToken := mint(t, m1, e.clk.Now())
		v := token.NewVerifier(m2, testIssuer, e.clk.Now)

		e.clk.Advance(DefaultRotationInterval - time.Second)
		if rotated, err := m1.RotateIfDue(ctx); err != nil || rotated {
			t.Fatalf("RotateIfDue before the interval = %v, %v", rotated, err)
		}
		e.clk.Advance(time.Second)
		if rotated, err := m1.RotateIfDue(ctx); err != nil || !rotated {
			t.Fatalf("RotateIfDue at the interval = %v, %v", rotated, err)
		}
		rotatedAt := e.clk.Now()
		cur := currentKID(t, m1)
		if cur == old {
			t.Fatal("kid unchanged after rotation")
		}
		if keys, pc, pcs := certKIDs(t, m1); !slices.Equal(keys, []string{cur, old}) || pc != cur || !slices.Equal(pcs, []string{cur, old}) {
			t.Fatalf("certs after rotation: keys %v, public_cert %s, public_certs %v", keys, pc, pcs)
		}

		// The other replica learns about the new key from the store.
		if err := m2.Reload(ctx); err != nil {
			t.Fatal(err)
		}
		if currentKID(t, m2) != cur {
			t.Fatal("replica did not pick up the new key")
		}
		newToken := mint(t, m2, e.clk.Now())
		for name, raw := range map[string]string{"old": oldToken, "new": newToken} {
			if _, err := v.Verify(raw); err != nil {
				t.Fatalf("%s token during overlap: %v", name, err)
			}
		}

		// The old key verifies until exactly RetireAt, by the manager's clock, without a reload.
		e.clk.Advance(DefaultOverlap - time.Nanosecond)
		if _, err := v.Verify(oldToken); err != nil {
			t.Fatalf("old token just before RetireAt: %v", err)
		}
		if keys, _, _ := certKIDs(t, m2); len(keys) != 2 {
			t.Fatalf("certs just before RetireAt: %v", keys)
		}
		e.clk.Advance(time.Nanosecond)
		if !e.clk.Now().Equal(rotatedAt.Add(DefaultOverlap)) {
			t.Fatal("test clock arithmetic")
		}
		if _, err := v.Verify(oldToken); !errors.Is(err, token.ErrUnknownKey) {
			t.Fatalf("old token at RetireAt: %v, want ErrUnknownKey", err)
		}
		if _, ok := m2.PublicKey(old); ok {
			t.Fatal("retired key still published")
		}
		before := m2.CertsJSON()
		if keys, pc, pcs := certKIDs(t, m2); !slices.Equal(keys, []string{cur}) || pc != cur || !slices.Equal(pcs, []string{cur}) {
			t.Fatalf("certs after RetireAt: keys %v, public_cert %s, public_certs %v", keys, pc, pcs)
		}
		if again := m2.CertsJSON(); &again[0] != &before[0] {
			t.Error("certs document rebuilt twice for one retirement")
		}
		if _, err := v.Verify(newToken); err != nil {
			t.Fatalf("new token after RetireAt: %v", err)
		}
		if err := m2.Reload(ctx); err != nil || len(e.stored(t)) != 1 {
			t.Fatalf("reload after retirement: %v", err)
		}
	})
}

func TestRotateIfDueOnceAcrossReplicas(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		m1, m2 := e.loaded(t), e.loaded(t)
		e.clk.Advance(DefaultRotationInterval)

		var wg sync.WaitGroup
		results := make([]bool, 2)
		for i, m := range []*Manager{m1, m2} {
			wg.Go(func() {
				rotated, err := m.RotateIfDue(ctx)
				if err != nil {
					t.Error(err)
				}
				results[i] = rotated
			})
		}
		wg.Wait()
		if results[0] == results[1] {
			t.Fatalf("rotated = %v: want exactly one replica to rotate", results)
		}
		if n := len(e.stored(t)); n != 2 { // the first key, then one rotation
			t.Fatalf("%d keys", n)
		}
		if currentKID(t, m1) != currentKID(t, m2) {
			t.Fatal("replicas disagree on the current key")
		}
	})
}

// The compare-and-swap path: another replica rotates between our read and our swap.
func TestRotateIfDueLosesRace(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		m1, m2 := e.loaded(t), e.loaded(t)
		e.clk.Advance(DefaultRotationInterval + time.Hour)
		e.hook.beforeRotate = func() {
			if rotated, err := m2.RotateIfDue(ctx); err != nil || !rotated {
				t.Errorf("m2.RotateIfDue = %v, %v", rotated, err)
			}
		}
		rotated, err := m1.RotateIfDue(ctx)
		if err != nil || rotated {
			t.Fatalf("losing RotateIfDue = %v, %v; want false, nil", rotated, err)
		}
		if len(e.stored(t)) != 2 || currentKID(t, m1) != currentKID(t, m2) {
			t.Fatalf("%d keys, kids %s %s", len(e.stored(t)), currentKID(t, m1), currentKID(t, m2))
		}
		// A replica with a stale view does not rotate again either.
		m3 := e.loaded(t)
		e.clk.Advance(time.Minute)
		if rotated, err := m3.RotateIfDue(ctx); err != nil || rotated {
			t.Fatalf("RotateIfDue right after a rotation = %v, %v", rotated, err)
		}
	})
}

// A replica that missed the change notification after a manual rotation elsewhere catches up
// on its next RotateIfDue tick.
func TestRotateIfDueResyncs(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	m1, m2 := e.loaded(t), e.loaded(t)
	e.clk.Advance(time.Hour)
	if err := m1.Rotate(ctx); err != nil {
		t.Fatal(err)
	}
	if rotated, err := m2.RotateIfDue(ctx); err != nil || rotated {
		t.Fatalf("RotateIfDue = %v, %v", rotated, err)
	}
	if currentKID(t, m2) != currentKID(t, m1) {
		t.Fatal("replica still signs with the rotated-out key")
	}
}

func TestManualRotate(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		m1, m2 := e.loaded(t), e.loaded(t)
		first := currentKID(t, m1)
		// m2 rotates behind m1's back; m1's manual rotation still produces a newer key.
		if err := m2.Rotate(ctx); err != nil {
			t.Fatal(err)
		}
		second := currentKID(t, m2)
		e.clk.Advance(time.Minute)
		if err := m1.Rotate(ctx); err != nil {
			t.Fatal(err)
		}
		third := currentKID(t, m1)
		if third == first || third == second || len(e.stored(t)) != 3 {
			t.Fatalf("kids %s %s %s, %d keys", first, second, third, len(e.stored(t)))
		}
		if keys, _, _ := certKIDs(t, m1); !slices.Equal(keys, []string{third, second, first}) {
			t.Fatalf("certs keys %v", keys)
		}
		if got := m1.NextRotation(); !got.Equal(e.clk.Now().Add(DefaultRotationInterval)) {
			t.Errorf("NextRotation = %v", got)
		}
	})
}

func TestEncryptedAtRest(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		m := e.loaded(t)
		priv := m.set.Load().current.priv
		der, err := x509.MarshalPKCS8PrivateKey(priv)
		if err != nil {
			t.Fatal(err)
		}
		stored := e.stored(t)[0].PrivateKeyEncrypted
		secrets := map[string][]byte{
			"PKCS#8 DER":  der,
			"PKCS#1 DER":  x509.MarshalPKCS1PrivateKey(priv),
			"exponent D":  priv.D.Bytes(),
			"prime P":     priv.Primes[0].Bytes(),
			"prime Q":     priv.Primes[1].Bytes(),
			"PKCS#8 head": der[:64],
		}
		for name, s := range secrets {
			if bytes.Contains(stored, s) {
				t.Errorf("stored key contains the %s", name)
			}
		}
		if want := 1 + 12 + len(der) + 16; len(stored) != want || stored[0] != sealVersion {
			t.Errorf("sealed key is %d bytes (version %d), want %d", len(stored), stored[0], want)
		}
		if strings.Contains(string(stored), "PRIVATE KEY") {
			t.Error("stored key is PEM")
		}
		if e.db == "" {
			return
		}
		// What SQLite wrote to disk (database and write-ahead log) holds no key material either.
		var disk []byte
		for _, f := range []string{e.db, e.db + "-wal"} {
			b, err := os.ReadFile(f)
			if err != nil && !errors.Is(err, fs.ErrNotExist) {
				t.Fatal(err)
			}
			disk = append(disk, b...)
		}
		if !bytes.Contains(disk, stored[:32]) {
			t.Fatal("database files do not hold the sealed key; the scan below proves nothing")
		}
		for name, s := range secrets {
			if bytes.Contains(disk, s) {
				t.Errorf("database files contain the %s", name)
			}
		}
	})
}

func TestWrongMasterKeyFailsLoad(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		e.loaded(t)
		m := e.manager(t, masterB)
		err := m.Load(context.Background())
		if !errors.Is(err, ErrWrongMasterKey) {
			t.Fatalf("Load with another master key = %v, want ErrWrongMasterKey", err)
		}
		if s, _ := m.Signer(); s != nil || len(e.stored(t)) != 1 {
			t.Fatal("a manager with the wrong master key has a key or created one")
		}
	})
}

// Rows changed by someone with store access but without the master key never load.
func TestTamperedStoreFailsLoad(t *testing.T) {
	cases := map[string]func(keys []store.SigningKey){
		"sealed keys swapped between rows": func(k []store.SigningKey) {
			k[0].PrivateKeyEncrypted, k[1].PrivateKeyEncrypted = k[1].PrivateKeyEncrypted, k[0].PrivateKeyEncrypted
		},
		"certificate of the other key": func(k []store.SigningKey) { k[0].CertificatePEM = k[1].CertificatePEM },
		"certificate garbage": func(k []store.SigningKey) {
			k[0].CertificatePEM = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
		},
		"certificate trailing data": func(k []store.SigningKey) { k[0].CertificatePEM += "junk" },
		"algorithm":                 func(k []store.SigningKey) { k[0].Algorithm = "HS256" },
		"kid upper case":            func(k []store.SigningKey) { k[0].ID = strings.ToUpper(k[0].ID) },
		"kid of the other key": func(k []store.SigningKey) {
			k[1].RetireAt = time.Time{}
			k[0].ID = k[1].ID
		},
	}
	for name, tamper := range cases {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			m := e.loaded(t)
			if err := m.Rotate(context.Background()); err != nil {
				t.Fatal(err)
			}
			e.fake.set(tamper)
			fresh := e.manager(t, masterA)
			if err := fresh.Load(context.Background()); err == nil {
				t.Fatal("tampered store loaded")
			}
			// A running replica keeps its last good keys.
			good := currentKID(t, m)
			if err := m.Reload(context.Background()); err == nil {
				t.Fatal("tampered store reloaded")
			}
			if currentKID(t, m) != good {
				t.Fatal("failed reload changed the current key")
			}
		})
	}
}

func TestReloadKeepsLastGoodOnStoreError(t *testing.T) {
	e := newEnv(t)
	m := e.loaded(t)
	kid := currentKID(t, m)
	e.fake.mu.Lock()
	e.fake.failReads = true
	e.fake.mu.Unlock()
	if err := m.Reload(context.Background()); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Reload = %v", err)
	}
	if currentKID(t, m) != kid || m.CertsJSON() == nil {
		t.Fatal("keys lost on store error")
	}
	e.clk.Advance(DefaultRotationInterval)
	if rotated, err := m.RotateIfDue(context.Background()); rotated || !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("RotateIfDue with store down = %v, %v", rotated, err)
	}
}

func TestSignerBoundToRS256(t *testing.T) {
	e := newEnv(t)
	m := e.loaded(t)
	s, _ := m.Signer()
	if _, ok := s.(*rsa.PrivateKey); ok {
		t.Fatal("Signer exposes the *rsa.PrivateKey")
	}
	d := sha256.Sum256([]byte("x"))
	sig, err := s.Sign(nil, d[:], crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	if err := rsa.VerifyPKCS1v15(s.Public().(*rsa.PublicKey), crypto.SHA256, d[:], sig); err != nil {
		t.Fatal(err)
	}
	d512 := sha512.Sum512([]byte("x"))
	for name, opts := range map[string]crypto.SignerOpts{
		"SHA-512": crypto.SHA512,
		"PSS":     &rsa.PSSOptions{Hash: crypto.SHA256},
		"raw":     crypto.Hash(0),
	} {
		digest := d[:]
		if name == "SHA-512" {
			digest = d512[:]
		}
		if _, err := s.Sign(nil, digest, opts); err == nil {
			t.Errorf("%s signature allowed", name)
		}
	}
}

// Readers run while keys rotate and retire; run with -race.
func TestConcurrentReadsDuringRotation(t *testing.T) {
	e := newEnv(t)
	m := e.loaded(t)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
					runtime.Gosched() // leave the CPU to key generation on small machines
				}
				s, kid := m.Signer()
				if s == nil {
					t.Error("no signer")
					return
				}
				if _, ok := m.PublicKey(kid); !ok {
					// The kid may have been rotated out and retired in between; the current one
					// must always be published.
					if _, cur := m.Signer(); cur == kid {
						t.Error("current key not published")
						return
					}
				}
				var d struct {
					Keys []json.RawMessage `json:"keys"`
				}
				if err := json.Unmarshal(m.CertsJSON(), &d); err != nil || len(d.Keys) == 0 {
					t.Error("bad certs document")
					return
				}
			}
		})
	}
	for range 2 {
		if err := m.Rotate(context.Background()); err != nil {
			t.Error(err)
		}
		e.clk.Advance(DefaultOverlap)
	}
	close(stop)
	wg.Wait()
}

// The JWK's n and e are the key's modulus and exponent.
func TestJWKEncodesKey(t *testing.T) {
	e := newEnv(t)
	m := e.loaded(t)
	var d struct {
		Keys []struct{ Kid, E, N string } `json:"keys"`
	}
	if err := json.Unmarshal(m.CertsJSON(), &d); err != nil {
		t.Fatal(err)
	}
	pub, _ := m.PublicKey(d.Keys[0].Kid)
	n, err := base64.RawURLEncoding.DecodeString(d.Keys[0].N)
	if err != nil || new(big.Int).SetBytes(n).Cmp(pub.N) != 0 || n[0] == 0 {
		t.Fatal("n does not encode the modulus minimally")
	}
	eb, _ := base64.RawURLEncoding.DecodeString(d.Keys[0].E)
	if new(big.Int).SetBytes(eb).Int64() != int64(pub.E) {
		t.Fatal("e wrong")
	}
}

// TestUsesAreIndependent: a token key Manager and a manual-only SaaS SAML key Manager share one
// store; scheduled rotation moves the token keys only, a manual rotation of the SAML keys leaves
// the token keys alone, and each publishes only its own certificates.
func TestUsesAreIndependent(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		tokens := e.loaded(t)
		saml, err := NewManager(e.hook, masterA, Options{Issuer: testIssuer, Now: e.clk.Now, Use: store.SigningKeyUseSaaSSAML, ManualOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		if err := saml.Load(ctx); err != nil {
			t.Fatal(err)
		}
		tok0, saml0 := currentKID(t, tokens), currentKID(t, saml)
		if tok0 == saml0 {
			t.Fatal("the two uses share a key")
		}
		if len(e.stored(t)) != 2 {
			t.Fatalf("store holds %d keys, want one per use", len(e.stored(t)))
		}
		// Well past the rotation interval: the token keys rotate, the SAML key stays.
		e.clk.Advance(DefaultRotationInterval + time.Hour)
		for _, m := range []*Manager{tokens, saml} {
			if _, err := m.RotateIfDue(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if currentKID(t, tokens) == tok0 {
			t.Error("token key did not rotate on schedule")
		}
		if currentKID(t, saml) != saml0 || !saml.NextRotation().IsZero() {
			t.Error("manual-only SAML key rotated on schedule")
		}
		cert := saml.Certificates()[0]
		if cert.NotAfter.Sub(cert.NotBefore) < 9*365*24*time.Hour {
			t.Errorf("SAML certificate valid for %v only", cert.NotAfter.Sub(cert.NotBefore))
		}
		tok1 := currentKID(t, tokens)
		if err := saml.Rotate(ctx); err != nil {
			t.Fatal(err)
		}
		if err := tokens.Reload(ctx); err != nil {
			t.Fatal(err)
		}
		if currentKID(t, saml) == saml0 || currentKID(t, tokens) != tok1 {
			t.Error("manual SAML rotation did not rotate only the SAML key")
		}
		for _, kid := range certificateKIDs(t, tokens) {
			if _, ok := saml.PublicKey(kid); ok {
				t.Errorf("token key %s published by the SAML Manager", kid)
			}
		}
	})
}
