package saml

import (
	"bytes"
	"compress/flate"
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/gatehouse/gatehouse/internal/identity"
	"github.com/gatehouse/gatehouse/internal/store"
)

func TestParseConfig(t *testing.T) {
	idp, _, _ := keys(t)
	pemCert := certPEM(idp.cert)
	bareCert := base64.StdEncoding.EncodeToString(idp.cert.Raw)
	md := idpMetadataXML(testIssuer, testSSO, idp.cert)
	for _, tc := range []struct {
		name string
		raw  map[string]any
		errs []string // fields with errors; nil = valid
		chk  func(*testing.T, *Config)
	}{
		{name: "manual", raw: map[string]any{"sso_target_url": testSSO, "issuer_url": testIssuer, "idp_public_certs": []any{pemCert, bareCert}},
			chk: func(t *testing.T, c *Config) {
				if len(c.Certs) != 2 || c.Binding != BindingRedirect || c.AllowedClockSkew != 90*time.Second || c.AllowIdPInitiated {
					t.Errorf("defaults: %+v", c)
				}
			}},
		{name: "all fields", raw: map[string]any{"sso_target_url": testSSO, "issuer_url": testIssuer, "idp_public_certs": []any{pemCert},
			"sign_request": true, "binding": "post", "email_attribute_name": "mail", "attributes": []any{"dept"},
			"header_attributes":  []any{map[string]any{"attribute_name": "dept", "header_name": "X-Dept"}},
			"allowed_clock_skew": "2m", "allow_idp_initiated": true},
			chk: func(t *testing.T, c *Config) {
				if !c.SignRequest || c.Binding != BindingPost || c.EmailAttributeName != "mail" || c.AllowedClockSkew != 2*time.Minute ||
					!c.AllowIdPInitiated || len(c.HeaderAttributes) != 1 || c.HeaderAttributes[0].HeaderName != "X-Dept" {
					t.Errorf("parsed: %+v", c)
				}
			}},
		{name: "skew in seconds", raw: map[string]any{"sso_target_url": testSSO, "issuer_url": testIssuer, "idp_public_certs": []any{pemCert}, "allowed_clock_skew": 30},
			chk: func(t *testing.T, c *Config) {
				if c.AllowedClockSkew != 30*time.Second {
					t.Errorf("skew %s", c.AllowedClockSkew)
				}
			}},
		{name: "metadata xml", raw: map[string]any{"metadata_xml": md},
			chk: func(t *testing.T, c *Config) {
				if c.IssuerURL != testIssuer || c.SSOURL != testSSO || len(c.Certs) != 1 || c.Binding != BindingRedirect {
					t.Errorf("from metadata: %+v", c)
				}
			}},
		{name: "metadata xml with wrong issuer", raw: map[string]any{"metadata_xml": md, "issuer_url": "https://other"}, errs: []string{"metadata_xml"}},
		{name: "metadata xml with doctype", raw: map[string]any{"metadata_xml": `<!DOCTYPE x>` + md}, errs: []string{"metadata_xml"}},
		{name: "metadata xml with post binding not offered", raw: map[string]any{"metadata_xml": md, "binding": "post"}, errs: []string{"metadata_xml"}},
		{name: "metadata url", raw: map[string]any{"metadata_url": "https://idp.example.org/md"}},
		{name: "metadata url over http", raw: map[string]any{"metadata_url": "http://idp.example.org/md"}, errs: []string{"metadata_url"}},
		{name: "metadata and manual certs", raw: map[string]any{"metadata_url": "https://idp.example.org/md", "idp_public_certs": []any{pemCert}}, errs: []string{"idp_public_certs"}},
		{name: "no certificate", raw: map[string]any{"sso_target_url": testSSO, "issuer_url": testIssuer}, errs: []string{"idp_public_certs"}},
		{name: "empty certificate list", raw: map[string]any{"sso_target_url": testSSO, "issuer_url": testIssuer, "idp_public_certs": []any{}}, errs: []string{"idp_public_certs"}},
		{name: "bad certificate", raw: map[string]any{"sso_target_url": testSSO, "issuer_url": testIssuer, "idp_public_certs": []any{"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----"}}, errs: []string{"idp_public_certs[0]"}},
		{name: "missing everything", raw: map[string]any{}, errs: []string{"idp_public_certs", "issuer_url", "sso_target_url"}},
		{name: "bad values", raw: map[string]any{"sso_target_url": "ftp://x", "issuer_url": testIssuer, "idp_public_certs": []any{pemCert},
			"binding": "artifact", "allowed_clock_skew": "1h", "sign_request": "yes", "bogus": 1,
			"header_attributes": []any{map[string]any{"attribute_name": "a", "header_name": "Bad Header"}}},
			errs: []string{"allowed_clock_skew", "binding", "bogus", "header_attributes[0].header_name", "sign_request", "sso_target_url"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ParseConfig(tc.raw)
			if tc.errs == nil {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if tc.chk != nil {
					tc.chk(t, c)
				}
				return
			}
			var es Errors
			if !errors.As(err, &es) {
				t.Fatalf("error = %v, want Errors", err)
			}
			var fields []string
			for _, e := range es {
				fields = append(fields, e.Field)
			}
			if strings.Join(fields, ",") != strings.Join(tc.errs, ",") {
				t.Errorf("error fields = %v, want %v\n%v", fields, tc.errs, err)
			}
		})
	}
}

func idpMetadataXML(entityID, sso string, certs ...*x509.Certificate) string {
	var kd strings.Builder
	for _, c := range certs {
		fmt.Fprintf(&kd, `<md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>%s</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>`,
			base64.StdEncoding.EncodeToString(c.Raw))
	}
	return fmt.Sprintf(`<?xml version="1.0"?><md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="%s">`+
		`<md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">%s`+
		`<md:KeyDescriptor use="encryption"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>AAAA</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>`+
		`<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="%s"/>`+
		`</md:IDPSSODescriptor></md:EntityDescriptor>`, entityID, kd.String(), sso)
}

func TestNewRequiresReplayAndSigner(t *testing.T) {
	idp, _, _ := keys(t)
	cfg := map[string]any{"sso_target_url": testSSO, "issuer_url": testIssuer, "idp_public_certs": []any{certPEM(idp.cert)}}
	if _, err := New(store.IdentityProvider{ID: "x", Type: "saml", Config: cfg}, identity.Env{}); err == nil {
		t.Error("New without a replay cache succeeded")
	}
	cfg["sign_request"] = true
	if _, err := New(store.IdentityProvider{ID: "x", Type: "saml", Config: cfg}, identity.Env{Replay: alwaysFresh{}}); err == nil {
		t.Error("New with sign_request but no signer succeeded")
	}
}

func signingHarness(t *testing.T, binding string) (*harness, testKey) {
	t.Helper()
	h := newHarness(t, map[string]any{"binding": binding})
	cfg := *h.c.cfg
	cfg.SignRequest = true
	sp := newTestKey(t, "gatehouse", testNow.Add(-time.Hour), testNow.Add(time.Hour))
	c, err := newConnector(testIdPID, &cfg, identity.Env{Now: h.clock.Now, Replay: alwaysFresh{}, Signer: sp.key, Certificate: sp.cert})
	if err != nil {
		t.Fatal(err)
	}
	h.c = c
	return h, sp
}

func TestStartLoginRedirect(t *testing.T) {
	for _, signed := range []bool{false, true} {
		t.Run(fmt.Sprint("signed=", signed), func(t *testing.T) {
			h := newHarness(t, nil)
			var sp testKey
			if signed {
				h, sp = signingHarness(t, "redirect")
			}
			start, err := h.c.StartLogin(context.Background(), loginReq())
			if err != nil {
				t.Fatal(err)
			}
			u, err := url.Parse(start.RedirectURL)
			if err != nil || !strings.HasPrefix(start.RedirectURL, testSSO+"?") {
				t.Fatalf("redirect URL %q", start.RedirectURL)
			}
			q := u.Query()
			if q.Get("RelayState") != "state123" {
				t.Errorf("RelayState %q", q.Get("RelayState"))
			}
			deflated, _ := base64.StdEncoding.DecodeString(q.Get("SAMLRequest"))
			xml, err := io.ReadAll(io.LimitReader(flate.NewReader(bytes.NewReader(deflated)), 1<<16))
			if err != nil {
				t.Fatal(err)
			}
			checkAuthnRequest(t, xml, start.FlowData[FlowRequestID])
			if !signed {
				if q.Has("Signature") || q.Has("SigAlg") {
					t.Error("unsigned request carries a signature")
				}
				return
			}
			if q.Get("SigAlg") != dsig.RSASHA256SignatureMethod {
				t.Errorf("SigAlg %q", q.Get("SigAlg"))
			}
			raw := u.RawQuery
			signedPart := raw[:strings.Index(raw, "&Signature=")]
			sig, _ := base64.StdEncoding.DecodeString(q.Get("Signature"))
			sum := sha256.Sum256([]byte(signedPart))
			if err := rsa.VerifyPKCS1v15(sp.cert.PublicKey.(*rsa.PublicKey), crypto.SHA256, sum[:], sig); err != nil {
				t.Errorf("redirect signature does not verify: %v", err)
			}
		})
	}
}

func TestStartLoginPost(t *testing.T) {
	h, sp := signingHarness(t, "post")
	start, err := h.c.StartLogin(context.Background(), loginReq())
	if err != nil {
		t.Fatal(err)
	}
	if start.PostURL != testSSO || start.PostForm.Get("RelayState") != "state123" || start.RedirectURL != "" {
		t.Fatalf("start = %+v", start)
	}
	xml, _ := base64.StdEncoding.DecodeString(start.PostForm.Get("SAMLRequest"))
	checkAuthnRequest(t, xml, start.FlowData[FlowRequestID])
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(xml); err != nil {
		t.Fatal(err)
	}
	if kids := doc.Root().ChildElements(); len(kids) < 2 || kids[1].Tag != "Signature" {
		t.Errorf("signature is not right after the Issuer")
	}
	vc := dsig.NewDefaultValidationContext(&dsig.MemoryX509CertificateStore{Roots: []*x509.Certificate{sp.cert}})
	vc.Clock = dsig.NewFakeClockAt(testNow)
	if _, err := vc.Validate(doc.Root()); err != nil {
		t.Errorf("enveloped AuthnRequest signature does not verify: %v", err)
	}
	if !bytes.Contains(xml, []byte(dsig.RSASHA256SignatureMethod)) {
		t.Error("not RSA-SHA256")
	}
}

func checkAuthnRequest(t *testing.T, xml []byte, id string) {
	t.Helper()
	doc, err := parseXML(xml)
	if err != nil {
		t.Fatal(err)
	}
	r := doc.Root()
	if !is(r, nsProtocol, "AuthnRequest") {
		t.Fatalf("root %s", r.Tag)
	}
	for k, want := range map[string]string{"ID": id, "Destination": testSSO, "AssertionConsumerServiceURL": testACS,
		"ProtocolBinding": bindingPostURN, "Version": "2.0", "IssueInstant": "2026-03-14T15:09:26.000Z"} {
		if got := attr(r, k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if id == "" || id[0] != '_' {
		t.Errorf("request ID %q", id)
	}
	iss, _ := child(r, nsAssertion, "Issuer")
	if v, _ := text(iss); v != testSPEntity {
		t.Errorf("Issuer %q", v)
	}
	p, _ := child(r, nsProtocol, "NameIDPolicy")
	if p == nil || attr(p, "Format") != nameIDEmail {
		t.Error("NameIDPolicy is not emailAddress")
	}
}

func TestSPMetadata(t *testing.T) {
	h, sp := signingHarness(t, "redirect")
	b, err := h.c.SPMetadata(loginReq())
	if err != nil {
		t.Fatal(err)
	}
	doc, err := parseXML(b)
	if err != nil {
		t.Fatal(err)
	}
	ed := doc.Root()
	if !is(ed, nsMetadata, "EntityDescriptor") || attr(ed, "entityID") != testSPEntity {
		t.Fatalf("root %s entityID %q", ed.Tag, attr(ed, "entityID"))
	}
	d, _ := child(ed, nsMetadata, "SPSSODescriptor")
	if attr(d, "AuthnRequestsSigned") != "true" || attr(d, "WantAssertionsSigned") != "true" {
		t.Errorf("flags: %v", d.Attr)
	}
	acs, _ := child(d, nsMetadata, "AssertionConsumerService")
	if attr(acs, "Binding") != bindingPostURN || attr(acs, "Location") != testACS {
		t.Errorf("ACS: %v", acs.Attr)
	}
	if !bytes.Contains(b, []byte(base64.StdEncoding.EncodeToString(sp.cert.Raw))) || !bytes.Contains(b, []byte(`use="signing"`)) {
		t.Error("no signing KeyDescriptor")
	}
	if !bytes.Contains(b, []byte(nameIDEmail)) {
		t.Error("no emailAddress NameIDFormat")
	}
	// Unsigned requests: no key, AuthnRequestsSigned false.
	b, _ = newHarness(t, nil).c.SPMetadata(loginReq())
	if bytes.Contains(b, []byte("KeyDescriptor")) || !bytes.Contains(b, []byte(`AuthnRequestsSigned="false"`)) {
		t.Errorf("unsigned SP metadata:\n%s", b)
	}
}

func TestHeaderAttributes(t *testing.T) {
	got := newHarness(t, nil).c.HeaderAttributes()
	if len(got) != 1 || got["department"] != "X-Department" {
		t.Errorf("HeaderAttributes() = %v", got)
	}
}

// TestMetadataURLRefresh: metadata is fetched at start and after an hour; a failed refresh keeps
// the last good certificates.
func TestMetadataURLRefresh(t *testing.T) {
	idp, evil, _ := keys(t)
	var (
		body  atomic.Value
		fails atomic.Bool
		hits  atomic.Int32
	)
	body.Store(idpMetadataXML(testIssuer, testSSO, idp.cert))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if fails.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, body.Load().(string))
	}))
	defer srv.Close()
	cl := &clock{t: testNow}
	c, err := New(store.IdentityProvider{ID: testIdPID, Type: "saml", Config: map[string]any{"metadata_url": srv.URL + "/md"}},
		identity.Env{HTTPClient: srv.Client(), Now: cl.Now, Replay: &memReplay{now: cl.Now}, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{c: c, clock: cl}
	if _, err := h.callback(postRequest(validSpec(t).bytes(t)), flow()); err != nil {
		t.Fatalf("login with metadata certs: %v", err)
	}

	// The IdP goes down: refresh fails, the last good certificate stays.
	fails.Store(true)
	if err := c.Refresh(context.Background()); err == nil {
		t.Fatal("refresh against a failing server succeeded")
	}
	s := validSpec(t)
	s.AssertionID = "_assert2"
	if _, err := h.callback(postRequest(s.bytes(t)), flow()); err != nil {
		t.Fatalf("login after a failed refresh: %v", err)
	}

	// Metadata with a DOCTYPE is refused too, keeping the old certificate.
	fails.Store(false)
	body.Store(`<!DOCTYPE x [<!ENTITY a "b">]>` + idpMetadataXML(testIssuer, testSSO, evil.cert))
	if err := c.Refresh(context.Background()); err == nil || !strings.Contains(err.Error(), "DOCTYPE") {
		t.Fatalf("refresh with DOCTYPE: %v", err)
	}

	// The IdP rotates to a new key: a refresh picks it up and the old one is no longer trusted.
	body.Store(idpMetadataXML(testIssuer, testSSO, evil.cert))
	if err := c.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	s.AssertionID = "_assert3"
	if _, err := h.callback(postRequest(s.bytes(t)), flow()); identity.FailureReason(err) != "saml-untrusted-certificate" {
		t.Errorf("old key after rotation: %v", err)
	}
	s.AssertionID, s.AssertionKey, s.ResponseKey = "_assert4", &evil, &evil
	if _, err := h.callback(postRequest(s.bytes(t)), flow()); err != nil {
		t.Errorf("new key after rotation: %v", err)
	}

	// Oversized metadata is refused.
	body.Store(strings.Repeat(" ", maxMetadataSize+1))
	if err := c.Refresh(context.Background()); err == nil {
		t.Error("oversized metadata accepted")
	}
}

// TestMetadataUnavailableAtStart: without metadata the connector logs in nobody, and fetches
// again on use once the retry interval has passed.
func TestMetadataUnavailableAtStart(t *testing.T) {
	idp, _, _ := keys(t)
	var up atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !up.Load() {
			http.Error(w, "down", http.StatusBadGateway)
			return
		}
		io.WriteString(w, idpMetadataXML(testIssuer, testSSO, idp.cert))
	}))
	defer srv.Close()
	cl := &clock{t: testNow}
	c, err := New(store.IdentityProvider{ID: testIdPID, Type: "saml", Config: map[string]any{"metadata_url": srv.URL}},
		identity.Env{HTTPClient: srv.Client(), Now: cl.Now, Replay: &memReplay{now: cl.Now}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.StartLogin(context.Background(), loginReq()); identity.FailureReason(err) != "saml-metadata-unavailable" {
		t.Fatalf("StartLogin without metadata: %v", err)
	}
	up.Store(true)
	if _, err := c.StartLogin(context.Background(), loginReq()); identity.FailureReason(err) != "saml-metadata-unavailable" {
		t.Fatalf("retried before the retry interval: %v", err)
	}
	cl.Set(testNow.Add(metadataRetryInterval))
	if _, err := c.StartLogin(context.Background(), loginReq()); err != nil {
		t.Fatalf("StartLogin after the IdP came back: %v", err)
	}
}

// TestForceAuthn: a forced fresh login sends ForceAuthn="true" and refuses an assertion whose
// AuthnInstant predates the request by more than the allowed skew.
func TestForceAuthn(t *testing.T) {
	h := newHarness(t, nil)
	req := loginReq()
	req.ForceAuthn = true
	start, err := h.c.StartLogin(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(start.RedirectURL)
	deflated, _ := base64.StdEncoding.DecodeString(u.Query().Get("SAMLRequest"))
	xml, _ := io.ReadAll(io.LimitReader(flate.NewReader(bytes.NewReader(deflated)), 1<<16))
	if !bytes.Contains(xml, []byte(`ForceAuthn="true"`)) || start.FlowData[flowAuthAfter] != fmt.Sprint(testNow.Unix()) {
		t.Fatalf("forced AuthnRequest %s, flow %v", xml, start.FlowData)
	}
	ordinary, err := h.c.StartLogin(context.Background(), loginReq())
	if err != nil || strings.Contains(ordinary.RedirectURL, "ForceAuthn") || ordinary.FlowData[flowAuthAfter] != "" {
		t.Errorf("an ordinary login asked ForceAuthn: %v", ordinary.FlowData)
	}

	f := flow()
	f[flowAuthAfter] = fmt.Sprint(testNow.Unix())
	for i, tc := range []struct {
		instant time.Time
		ok      bool
	}{
		{testNow, true},
		{testNow.Add(-30 * time.Second), true}, // within the skew
		{testNow.Add(-time.Hour), false},
	} {
		s := validSpec(t)
		s.AssertionID = fmt.Sprintf("_force%d", i)
		s.AuthnInstant = tc.instant
		_, err := h.callback(postRequest(s.bytes(t)), f)
		if tc.ok && err != nil {
			t.Errorf("AuthnInstant %s refused: %v", tc.instant, err)
		}
		if !tc.ok && identity.FailureReason(err) != "saml-reauthentication-missing" {
			t.Errorf("AuthnInstant %s: %v, want saml-reauthentication-missing", tc.instant, err)
		}
	}
}
