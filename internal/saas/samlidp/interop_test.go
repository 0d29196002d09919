package samlidp

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// interopTimeout bounds each interoperability test, peers included.
const interopTimeout = 60 * time.Second

// requirePeer skips the test loudly when a peer is missing, or fails it when CI=true.
func requirePeer(t *testing.T, what string, err error, install string) {
	t.Helper()
	if err == nil {
		return
	}
	msg := what + " is not available (" + err.Error() + "): run " + install
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip("SKIPPING " + strings.ToUpper(what) + " INTEROPERABILITY: " + msg)
}

// swappable is a handler set after its server started (the IdP and SP need each other's URLs).
type swappable struct{ h http.Handler }

func (s *swappable) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.h.ServeHTTP(w, r) }

// interopIdP starts Gatehouse's IdP on 127.0.0.1 with the real clock. Call configure with the
// SP's settings once the SP's URL is known.
type interopIdP struct {
	*harness
	srv *httptest.Server
}

func startIdP(t *testing.T) *interopIdP {
	t.Helper()
	sw := &swappable{h: http.NotFoundHandler()}
	srv := httptest.NewServer(sw)
	t.Cleanup(srv.Close)
	h := newHarness(t, withListener(srv.URL))
	sw.h = h.handler()
	return &interopIdP{harness: h, srv: srv}
}

// configure installs sa as the application's saas_app and checks it validates.
func (p *interopIdP) configure(t *testing.T, sa *store.SaaSApp) {
	t.Helper()
	if err := ValidateApp(sa); err != nil {
		t.Fatalf("SP settings do not validate: %v", err)
	}
	p.cfg.Applications[0].SaaSApp = sa
	hc := &harnessConfig{}
	withListener(p.srv.URL)(hc)
	p.compile(t, hc)
}

func (p *interopIdP) ssoURL() string      { return EntityID(p.snaps.Load(), p.app()) }
func (p *interopIdP) metadataURL() string { return MetadataURL(p.snaps.Load(), p.app()) }

// trickyCustom maps the identity's "tricky" SAML attribute (every xmlSignificant value) and a
// per-IdP attribute into the assertion.
func trickyCustom() []store.SAMLAttribute {
	return []store.SAMLAttribute{
		{Name: "tricky", Source: store.AttributeSource{Name: "tricky"}},
		{Name: "team", Required: true, Source: store.AttributeSource{Name: "locale",
			NameByIdP: []store.IdPSourceName{{IdPID: "okta", SourceName: "department"}}}},
	}
}

// trickyValues are the values of trickyCustom's "tricky" attribute as an SP should read them,
// minus those an SP's XML parser may legitimately change (line ends: XML normalizes a literal
// CR, so only peers that keep &#xD; can be compared on them).
func trickyValues(keepCR bool) (in, want []string) {
	for _, x := range xmlSignificant {
		if !keepCR && strings.Contains(x.in, "\r") {
			continue
		}
		in, want = append(in, x.in), append(want, x.want)
	}
	return in, want
}

// browser is a cookie-keeping HTTP client that follows redirects, like a browser.
func browser(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, Timeout: 20 * time.Second}
}

// interopKey returns a fresh RSA key and self-signed certificate for an SP.
func interopKey(t *testing.T) (*rsa.PrivateKey, *x509.Certificate) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "sp.test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return key, cert
}

func certPEM(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}

// tamper changes the signed e-mail in a SAMLResponse form value.
func tamper(t *testing.T, samlResponse string) string {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(samlResponse)
	if err != nil {
		t.Fatal(err)
	}
	bad := strings.ReplaceAll(string(raw), "alice@example.com", "mallory@example.com")
	if bad == string(raw) {
		t.Fatal("nothing to tamper with")
	}
	return base64.StdEncoding.EncodeToString([]byte(bad))
}

func contextFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), interopTimeout)
	t.Cleanup(cancel)
	return ctx
}

func equalValues(got, want []string) bool { return slices.Equal(got, want) }
