package saml

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/gatehouse/gatehouse/internal/identity"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Test constants: the SP (Gatehouse) and the IdP the fixtures pretend to be.
const (
	testACS       = "https://auth.example.com/cdn-cgi/access/callback"
	testSPEntity  = "https://auth.example.com/cdn-cgi/access/saml-metadata"
	testIssuer    = "https://idp.example.org/metadata"
	testSSO       = "https://idp.example.org/sso"
	testRequestID = "_0123456789abcdef0123456789abcdef01234567"
	testIdPID     = "saml-test"
)

var testNow = time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)

// testKey is an RSA key with a self-signed certificate.
type testKey struct {
	key  *rsa.PrivateKey
	cert *x509.Certificate
}

var (
	keyOnce                 sync.Once
	idpKey, evilKey, oldKey testKey
)

func keys(t testing.TB) (idp, evil, old testKey) {
	t.Helper()
	keyOnce.Do(func() {
		idpKey = newTestKey(t, "idp", testNow.Add(-time.Hour), testNow.Add(365*24*time.Hour))
		evilKey = newTestKey(t, "idp", testNow.Add(-time.Hour), testNow.Add(365*24*time.Hour))
		oldKey = newTestKey(t, "idp-old", testNow.Add(-2*365*24*time.Hour), testNow.Add(-24*time.Hour))
	})
	return idpKey, evilKey, oldKey
}

func newTestKey(t testing.TB, cn string, notBefore, notAfter time.Time) testKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    notBefore,
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return testKey{key: k, cert: c}
}

func certPEM(c *x509.Certificate) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}))
}

// respSpec describes a response to build; zero fields get valid defaults from defaults().
type respSpec struct {
	RespID, AssertionID       string
	RespIssuer, Issuer        string
	Destination, Recipient    string
	RespInResponseTo, IRT     string
	NoRespIRT, NoIRT          bool
	Audience                  string
	NameID, NameIDFormat      string
	AuthnClass                string
	AuthnInstant              time.Time // default a minute before testNow
	Status                    string
	NotBefore, NotOnOrAfter   time.Time // Conditions
	SubjNotOnOrAfter          time.Time
	Attributes                []attribute
	SignAssertion, SignResp   bool
	AssertionKey, ResponseKey *testKey
	SigMethod                 string // default RSA-SHA256
	NoKeyInfo                 bool
}

func validSpec(t testing.TB) respSpec {
	idp, _, _ := keys(t)
	return respSpec{
		RespID:           "_resp1",
		AssertionID:      "_assert1",
		RespIssuer:       testIssuer,
		Issuer:           testIssuer,
		Destination:      testACS,
		Recipient:        testACS,
		RespInResponseTo: testRequestID,
		IRT:              testRequestID,
		Audience:         testSPEntity,
		NameID:           "Alice@Example.com",
		NameIDFormat:     nameIDEmail,
		AuthnClass:       "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport",
		Status:           statusSuccess,
		NotBefore:        testNow.Add(-time.Minute),
		NotOnOrAfter:     testNow.Add(5 * time.Minute),
		SubjNotOnOrAfter: testNow.Add(5 * time.Minute),
		Attributes: []attribute{
			{Name: "name", Values: []string{"Alice Liddell"}},
			{Name: "groups", Values: []string{"admins", "eng"}},
			{Name: "department", Values: []string{"R&D"}},
		},
		SignAssertion: true,
		SignResp:      true,
		AssertionKey:  &idp,
		ResponseKey:   &idp,
	}
}

func ts(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// assertionElement builds the unsigned Assertion.
func (s respSpec) assertionElement() *etree.Element {
	a := etree.NewElement("saml:Assertion")
	a.CreateAttr("xmlns:saml", nsAssertion)
	a.CreateAttr("xmlns:xs", "http://www.w3.org/2001/XMLSchema")
	a.CreateAttr("xmlns:xsi", "http://www.w3.org/2001/XMLSchema-instance")
	a.CreateAttr("ID", s.AssertionID)
	a.CreateAttr("Version", "2.0")
	a.CreateAttr("IssueInstant", ts(testNow.Add(-10*time.Second)))
	a.CreateElement("saml:Issuer").SetText(s.Issuer)
	subj := a.CreateElement("saml:Subject")
	nid := subj.CreateElement("saml:NameID")
	if s.NameIDFormat != "" {
		nid.CreateAttr("Format", s.NameIDFormat)
	}
	nid.SetText(s.NameID)
	sc := subj.CreateElement("saml:SubjectConfirmation")
	sc.CreateAttr("Method", cmBearer)
	scd := sc.CreateElement("saml:SubjectConfirmationData")
	if !s.NoIRT {
		scd.CreateAttr("InResponseTo", s.IRT)
	}
	scd.CreateAttr("NotOnOrAfter", ts(s.SubjNotOnOrAfter))
	scd.CreateAttr("Recipient", s.Recipient)
	cond := a.CreateElement("saml:Conditions")
	cond.CreateAttr("NotBefore", ts(s.NotBefore))
	cond.CreateAttr("NotOnOrAfter", ts(s.NotOnOrAfter))
	cond.CreateElement("saml:AudienceRestriction").CreateElement("saml:Audience").SetText(s.Audience)
	as := a.CreateElement("saml:AuthnStatement")
	authnInstant := s.AuthnInstant
	if authnInstant.IsZero() {
		authnInstant = testNow.Add(-time.Minute)
	}
	as.CreateAttr("AuthnInstant", ts(authnInstant))
	as.CreateAttr("SessionIndex", "_session1")
	as.CreateElement("saml:AuthnContext").CreateElement("saml:AuthnContextClassRef").SetText(s.AuthnClass)
	if len(s.Attributes) > 0 {
		st := a.CreateElement("saml:AttributeStatement")
		for _, at := range s.Attributes {
			e := st.CreateElement("saml:Attribute")
			e.CreateAttr("Name", at.Name)
			e.CreateAttr("NameFormat", "urn:oasis:names:tc:SAML:2.0:attrname-format:basic")
			for _, v := range at.Values {
				ve := e.CreateElement("saml:AttributeValue")
				ve.CreateAttr("xsi:type", "xs:string")
				ve.SetText(v)
			}
		}
	}
	return a
}

// sign adds an enveloped signature to el, right after its Issuer.
func sign(t testing.TB, el *etree.Element, k *testKey, method string, keyInfo bool) *etree.Element {
	t.Helper()
	sc, err := dsig.NewSigningContext(k.key, [][]byte{k.cert.Raw})
	if err != nil {
		t.Fatal(err)
	}
	sc.Canonicalizer = dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("")
	if method == "" {
		method = dsig.RSASHA256SignatureMethod
	}
	if err := sc.SetSignatureMethod(method); err != nil {
		t.Fatal(err)
	}
	sig, err := sc.ConstructSignature(el, true)
	if err != nil {
		t.Fatal(err)
	}
	if !keyInfo {
		for _, ki := range sig.SelectElements("KeyInfo") {
			sig.RemoveChild(ki)
		}
	}
	out := el.Copy()
	out.InsertChildAt(1, sig)
	if idp, _, _ := keys(t); k.cert.Equal(idp.cert) && el.Tag == "Assertion" {
		nid := ""
		if e := el.FindElement("./Subject/NameID"); e != nil {
			nid = e.Text()
		}
		signedMu.Lock()
		signedByIdP[attr(el, "ID")+"\x00"+nid] = true
		signedMu.Unlock()
	}
	return out
}

// signedByIdP records every (assertion ID, NameID) the IdP key signed: the fuzz oracle.
var (
	signedMu    sync.Mutex
	signedByIdP = map[string]bool{}
)

// build returns the response document.
func (s respSpec) build(t testing.TB) *etree.Document {
	t.Helper()
	a := s.assertionElement()
	if s.SignAssertion {
		a = sign(t, a, s.AssertionKey, s.SigMethod, !s.NoKeyInfo)
	}
	r := etree.NewElement("samlp:Response")
	r.CreateAttr("xmlns:samlp", nsProtocol)
	r.CreateAttr("xmlns:saml", nsAssertion)
	r.CreateAttr("ID", s.RespID)
	r.CreateAttr("Version", "2.0")
	r.CreateAttr("IssueInstant", ts(testNow.Add(-10*time.Second)))
	r.CreateAttr("Destination", s.Destination)
	if !s.NoRespIRT {
		r.CreateAttr("InResponseTo", s.RespInResponseTo)
	}
	if s.RespIssuer != "" {
		r.CreateElement("saml:Issuer").SetText(s.RespIssuer)
	}
	r.CreateElement("samlp:Status").CreateElement("samlp:StatusCode").CreateAttr("Value", s.Status)
	r.AddChild(a)
	if s.SignResp {
		r = sign(t, r, s.ResponseKey, s.SigMethod, !s.NoKeyInfo)
	}
	doc := etree.NewDocument()
	doc.SetRoot(r)
	return doc
}

func (s respSpec) bytes(t testing.TB) []byte { return docBytes(t, s.build(t)) }

func docBytes(t testing.TB, doc *etree.Document) []byte {
	t.Helper()
	b, err := doc.WriteToBytes()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// memReplay is an in-memory identity.ReplayCache with the store's semantics.
type memReplay struct {
	mu   sync.Mutex
	seen map[string]time.Time
	now  func() time.Time
}

func (m *memReplay) Remember(_ context.Context, key string, expires time.Time) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.seen == nil {
		m.seen = map[string]time.Time{}
	}
	if e, ok := m.seen[key]; ok && m.now().Before(e) {
		return false, nil
	}
	m.seen[key] = expires
	return true, nil
}

// alwaysFresh is a replay cache that never remembers (benchmarks).
type alwaysFresh struct{}

func (alwaysFresh) Remember(context.Context, string, time.Time) (bool, error) { return true, nil }

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

type harness struct {
	c     *Connector
	clock *clock
}

// newHarness returns a connector trusting the given certificates (default: the IdP key), with a
// test clock at testNow.
func newHarness(t testing.TB, extra map[string]any, certs ...*x509.Certificate) *harness {
	t.Helper()
	idp, _, _ := keys(t)
	if len(certs) == 0 {
		certs = []*x509.Certificate{idp.cert}
	}
	var pems []any
	for _, c := range certs {
		pems = append(pems, certPEM(c))
	}
	cfg := map[string]any{
		"sso_target_url":   testSSO,
		"issuer_url":       testIssuer,
		"idp_public_certs": pems,
		"attributes":       []any{"department", "groups"},
		"header_attributes": []any{
			map[string]any{"attribute_name": "department", "header_name": "X-Department"},
		},
	}
	for k, v := range extra {
		cfg[k] = v
	}
	cl := &clock{t: testNow}
	c, err := New(store.IdentityProvider{ID: testIdPID, Type: "saml", Config: cfg}, identity.Env{
		ID:     testIdPID,
		Now:    cl.Now,
		Log:    slog.New(slog.NewTextHandler(io.Discard, nil)),
		Replay: &memReplay{now: cl.Now},
	})
	if err != nil {
		t.Fatal(err)
	}
	return &harness{c: c, clock: cl}
}

func loginReq() identity.LoginRequest {
	return identity.LoginRequest{State: "state123", CallbackURL: testACS, SPEntityID: testSPEntity}
}

// postRequest builds the ACS POST carrying raw as SAMLResponse.
func postRequest(raw []byte) *http.Request {
	form := url.Values{"SAMLResponse": {base64.StdEncoding.EncodeToString(raw)}, "RelayState": {"state123"}}
	r := httptest.NewRequest(http.MethodPost, testACS, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return r
}

// callback runs CallbackState and HandleCallback like authn does.
func (h *harness) callback(r *http.Request, flow map[string]string) (*identity.Identity, error) {
	if _, err := h.c.CallbackState(r); err != nil {
		return nil, err
	}
	return h.c.HandleCallback(context.Background(), r, loginReq(), flow)
}

func flow() map[string]string { return map[string]string{FlowRequestID: testRequestID} }
