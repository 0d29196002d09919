package samlidp

import (
	"bytes"
	"compress/flate"
	"context"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
	"golang.org/x/net/html"

	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/identity"
	"github.com/gatehouse/gatehouse/internal/keys"
	"github.com/gatehouse/gatehouse/internal/policy"
	"github.com/gatehouse/gatehouse/internal/saas"
	"github.com/gatehouse/gatehouse/internal/samlxml"
	"github.com/gatehouse/gatehouse/internal/session"
	"github.com/gatehouse/gatehouse/internal/snapshot"
	"github.com/gatehouse/gatehouse/internal/store"
)

const (
	testAppID  = "wiki"
	testSP     = "https://wiki.example.com/saml/metadata"
	testACS    = "https://wiki.example.com/saml/acs"
	testIssuer = "https://auth.example.com"
	testSSO    = "https://auth.example.com/.gatehouse/sso/saml/wiki"
)

// clock is a manually advanced clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// fakeStore implements the parts of store.Store the IdP and keys.Manager use, with the
// documented semantics; any other method panics (the embedded interface is nil).
type fakeStore struct {
	store.Store
	now func() time.Time

	mu       sync.Mutex
	keys     []store.SigningKey
	pending  map[string]store.PendingSAMLRequest
	sessions map[string]store.Session
	events   []store.AuthEvent
	fail     error // returned by the pending-request methods when set
}

func newFakeStore(now func() time.Time) *fakeStore {
	return &fakeStore{now: now, pending: map[string]store.PendingSAMLRequest{}, sessions: map[string]store.Session{}}
}

func (s *fakeStore) SigningKeys(context.Context) ([]store.SigningKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []store.SigningKey
	for _, k := range s.keys {
		if k.RetireAt.IsZero() || s.now().Before(k.RetireAt) {
			out = append(out, k)
		}
	}
	slices.SortStableFunc(out, func(a, b store.SigningKey) int { return b.CreatedAt.Compare(a.CreatedAt) })
	return out, nil
}

func (s *fakeStore) RotateSigningKey(_ context.Context, expectedCurrent string, next *store.SigningKey, overlap time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur := slices.IndexFunc(s.keys, func(k store.SigningKey) bool { return k.RetireAt.IsZero() && k.Use == next.Use })
	curID := ""
	if cur >= 0 {
		curID = s.keys[cur].ID
	}
	if curID != expectedCurrent {
		return store.ErrConflict
	}
	if cur >= 0 {
		s.keys[cur].RetireAt = s.now().Add(overlap)
	}
	s.keys = append(s.keys, *next)
	return nil
}

func (s *fakeStore) CreatePendingSAMLRequest(_ context.Context, p *store.PendingSAMLRequest) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return s.fail
	}
	if _, ok := s.pending[p.ID]; ok {
		return store.ErrAlreadyExists
	}
	s.pending[p.ID] = *p
	return nil
}

func (s *fakeStore) ConsumePendingSAMLRequest(_ context.Context, id string) (*store.PendingSAMLRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return nil, s.fail
	}
	p, ok := s.pending[id]
	switch {
	case !ok || !s.now().Before(p.ExpiresAt):
		return nil, store.ErrNotFound
	case !p.UsedAt.IsZero():
		return nil, store.ErrConflict
	}
	p.UsedAt = s.now()
	s.pending[id] = p
	return &p, nil
}

func (s *fakeStore) GetSession(_ context.Context, id string) (*store.Session, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.sessions[id]
	if !ok {
		return nil, store.ErrNotFound
	}
	return &sess, nil
}

func (s *fakeStore) AppendAuthEvent(_ context.Context, e *store.AuthEvent) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events = append(s.events, *e)
	return nil
}

func (s *fakeStore) authEvents() []store.AuthEvent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.events)
}

// lastEvent returns the last auth event, failing when there is none.
func (s *fakeStore) lastEvent(t *testing.T) store.AuthEvent {
	t.Helper()
	es := s.authEvents()
	if len(es) == 0 {
		t.Fatal("no auth event recorded")
	}
	return es[len(es)-1]
}

var testMaster = bytes.Repeat([]byte{0x5a}, keys.MasterKeySize)

// fakeAuth plays saas.Env.Authorize: a browser with the fake_session cookie (or any browser
// when always is set) gets the grant; others are sent to /fake-login, which sets the cookie
// and comes back to returnPath.
type fakeAuth struct {
	mu      sync.Mutex
	grant   *session.Grant
	always  bool
	returns []string
	// fresh records what each call asked; loginAt is when the fake session's login happened.
	fresh   []session.Freshness
	loginAt time.Time
}

func (f *fakeAuth) Authorize(w http.ResponseWriter, r *http.Request, _ *snapshot.App, returnPath string, fresh session.Freshness) (*session.Grant, bool) {
	f.mu.Lock()
	f.returns = append(f.returns, returnPath)
	f.fresh = append(f.fresh, fresh)
	grant, always, loginAt := f.grant, f.always, f.loginAt
	f.mu.Unlock()
	stale := !fresh.AuthAfter.IsZero() && loginAt.Before(fresh.AuthAfter)
	if c, err := r.Cookie("fake_session"); !stale && (always || err == nil && c.Value == "1") {
		return grant, false
	}
	http.Redirect(w, r, "/fake-login?"+url.Values{"rd": {returnPath}}.Encode(), http.StatusFound)
	return nil, true
}

func (f *fakeAuth) lastReturn() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.returns) == 0 {
		return ""
	}
	return f.returns[len(f.returns)-1]
}

// serveFakeLogin completes the fake login.
func serveFakeLogin(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: "fake_session", Value: "1", Path: "/"})
	http.Redirect(w, r, r.URL.Query().Get("rd"), http.StatusFound)
}

// testIdentity is the user every test logs in: values with XML-significant characters.
func testIdentity() *identity.Identity {
	return &identity.Identity{
		UserID: "5b3c2f1e-8d4a-4c6b-9e7f-0a1b2c3d4e5f",
		Email:  "alice@example.com",
		Name:   `Alice <&"'> O'Brien`,
		IdP:    identity.IdP{ID: "okta", Type: "saml"},
		Groups: []identity.Group{{ID: "g1", Name: "eng"}, {ID: "g2", Name: "R&D <core>"}},
		AMR:    []string{"pwd", "mfa"},
		SAMLAttributes: map[string][]string{
			"department": {"Platform & Tools"},
			"costCenter": {"cc-1", "cc-2"},
		},
		OIDCClaims: map[string][]string{"locale": {"en-GB"}},
	}
}

// harness is one IdP with a fake Env.
type harness struct {
	clk   *clock
	st    *fakeStore
	keys  *keys.Manager
	snaps *snapshot.Holder
	auth  *fakeAuth
	idp   *IdP
	cfg   *store.Config
}

type harnessOption func(*harnessConfig)

type harnessConfig struct {
	scheme  string
	host    string
	port    int
	saas    *store.SaaSApp
	realNow bool
}

func withSaaS(sa *store.SaaSApp) harnessOption { return func(c *harnessConfig) { c.saas = sa } }

// withListener makes the snapshot's URLs those of a test server on 127.0.0.1 and the IdP's
// clock the real one, for interoperability tests against peers that read the real clock.
func withListener(srvURL string) harnessOption {
	return func(c *harnessConfig) {
		u, err := url.Parse(srvURL)
		if err != nil {
			panic(err)
		}
		c.scheme, c.host = u.Scheme, u.Hostname()
		fmt.Sscan(u.Port(), &c.port)
		c.realNow = true
	}
}

func defaultSaaS() *store.SaaSApp {
	return &store.SaaSApp{AuthType: store.SaaSAuthSAML, SPEntityID: testSP, ConsumerServiceURL: testACS, NameIDFormat: NameIDEmail}
}

// Loaded key managers shared by the tests that do not rotate (RSA key generation is the slow
// part of a harness): one on the fake clock's date, one on the real clock for peers that check
// the certificate's dates.
var (
	sharedKeys     = sync.OnceValues(func() (*keys.Manager, error) { return loadedKeys(newClock().Now) })
	sharedRealKeys = sync.OnceValues(func() (*keys.Manager, error) { return loadedKeys(time.Now) })
)

func loadedKeys(now func() time.Time) (*keys.Manager, error) {
	m, err := keys.NewManager(newFakeStore(now), testMaster, keys.Options{Issuer: testIssuer, Now: now})
	if err != nil {
		return nil, err
	}
	return m, m.Load(context.Background())
}

func discardLog() *slog.Logger { return slog.New(slog.DiscardHandler) }

func newHarness(t testing.TB, opts ...harnessOption) *harness {
	t.Helper()
	hc := &harnessConfig{scheme: "https", host: "auth.example.com", saas: defaultSaaS()}
	for _, o := range opts {
		o(hc)
	}
	h := &harness{clk: newClock(), snaps: &snapshot.Holder{}}
	now := h.clk.Now
	if hc.realNow {
		now = time.Now
	}
	h.st = newFakeStore(now)
	shared := sharedKeys
	if hc.realNow {
		shared = sharedRealKeys
	}
	km, err := shared()
	if err != nil {
		t.Fatal(err)
	}
	h.keys = km
	h.cfg = &store.Config{
		Organization: store.Organization{Name: "Acme <Corp>", AuthDomain: hc.host},
		IdentityProviders: []store.IdentityProvider{
			{ID: "okta", Name: "Okta", Type: store.IdPSAML},
			{ID: "github", Name: "GitHub", Type: store.IdPGitHub},
		},
		Applications: []store.Application{{
			ID: testAppID, Type: store.AppSaaS, Name: "Wiki", SaaSApp: hc.saas,
			Policies: []store.PolicyLink{{Ref: "everyone", Precedence: 1}},
		}},
		Policies: []store.Policy{{ID: "everyone", Decision: store.DecisionAllow, Include: []store.Rule{{Everyone: &store.Empty{}}}}},
	}
	h.compile(t, hc)
	h.st.sessions["sess-1"] = store.Session{ID: "sess-1", CreatedAt: now().Add(-time.Hour), ExpiresAt: now().Add(23 * time.Hour)}
	h.auth = &fakeAuth{grant: &session.Grant{
		Identity: testIdentity(), SessionID: "sess-1",
		Decision: policy.Decision{Action: policy.ActionAllow, PolicyID: "everyone", Reasons: []string{"allow-matched"}},
	}}
	h.idp = New(saas.Env{
		Store: h.st, Keys: h.keys, SAMLKeys: h.keys, Snapshots: h.snaps, Now: now,
		Audit:     &audit.Recorder{Store: h.st, Log: discardLog(), Now: now},
		Log:       discardLog(),
		Authorize: h.auth.Authorize,
	})
	return h
}

func (h *harness) compile(t testing.TB, hc *harnessConfig) {
	t.Helper()
	snap, err := snapshot.Compile(h.cfg, snapshot.Options{Scheme: hc.scheme, Port: hc.port})
	if err != nil {
		t.Fatal(err)
	}
	h.snaps.Store(snap)
}

func (h *harness) app() *snapshot.App { return h.snaps.Load().Apps[testAppID] }

// serve sends r to the SSO endpoint (rest "") or the metadata endpoint.
func (h *harness) serve(r *http.Request, rest string) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.idp.ServeHTTP(w, r, h.app(), rest)
	return w
}

// handler routes like the auth domain does: the app's SAML endpoints and the fake login.
func (h *harness) handler() http.Handler {
	mux := http.NewServeMux()
	prefix := h.snaps.Load().Profile.Prefix + "sso/saml/" + testAppID
	mux.HandleFunc(prefix, func(w http.ResponseWriter, r *http.Request) { h.idp.ServeHTTP(w, r, h.app(), "") })
	mux.HandleFunc(prefix+"/"+EndpointMetadata, func(w http.ResponseWriter, r *http.Request) {
		h.idp.ServeHTTP(w, r, h.app(), EndpointMetadata)
	})
	mux.HandleFunc("/fake-login", serveFakeLogin)
	return mux
}

// authnRequestXML returns an AuthnRequest; attrs override or (with value "-") remove the
// root's attributes.
func authnRequestXML(issuer string, attrs map[string]string) string {
	root := map[string]string{
		"ID": "_req-1", "Version": "2.0", "IssueInstant": "2026-03-01T12:00:00Z",
		"Destination": testSSO, "AssertionConsumerServiceURL": testACS, "ProtocolBinding": bindingPOSTURI,
	}
	for k, v := range attrs {
		if v == "-" {
			delete(root, k)
		} else {
			root[k] = v
		}
	}
	doc := etree.NewDocument()
	el := doc.CreateElement("samlp:AuthnRequest")
	el.CreateAttr("xmlns:samlp", samlxml.NSProtocol)
	el.CreateAttr("xmlns:saml", samlxml.NSAssertion)
	keys := make([]string, 0, len(root))
	for k := range root {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		el.CreateAttr(k, root[k])
	}
	if issuer != "" {
		el.CreateElement("saml:Issuer").SetText(issuer)
	}
	el.CreateElement("samlp:NameIDPolicy").CreateAttr("Format", formatEmail)
	s, err := doc.WriteToString()
	if err != nil {
		panic(err)
	}
	return s
}

// redirectQuery encodes an AuthnRequest for HTTP-Redirect.
func redirectQuery(xml, relay string) url.Values {
	q := url.Values{"SAMLRequest": {base64.StdEncoding.EncodeToString(deflate([]byte(xml)))}}
	if relay != "" {
		q.Set("RelayState", relay)
	}
	return q
}

func deflate(b []byte) []byte {
	var buf bytes.Buffer
	fw, _ := flate.NewWriter(&buf, flate.BestCompression)
	_, _ = fw.Write(b)
	_ = fw.Close()
	return buf.Bytes()
}

func getSSO(q url.Values) *http.Request {
	u := testSSO
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return httptest.NewRequest(http.MethodGet, u, nil)
}

func postSSO(form url.Values) *http.Request {
	r := httptest.NewRequest(http.MethodPost, testSSO, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return r
}

func withSession(r *http.Request) *http.Request {
	r.AddCookie(&http.Cookie{Name: "fake_session", Value: "1"})
	return r
}

// autoPost is the form of an auto-submitting page.
type autoPost struct {
	Action string
	Fields url.Values
}

// parseAutoPost reads the first form of an HTML page.
func parseAutoPost(t testing.TB, body io.Reader) *autoPost {
	t.Helper()
	doc, err := html.Parse(body)
	if err != nil {
		t.Fatal(err)
	}
	var form *autoPost
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			get := func(k string) string {
				for _, a := range n.Attr {
					if a.Key == k {
						return a.Val
					}
				}
				return ""
			}
			switch {
			case n.Data == "form" && form == nil:
				form = &autoPost{Action: get("action"), Fields: url.Values{}}
			case n.Data == "input" && form != nil && get("name") != "":
				form.Fields.Add(get("name"), get("value"))
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	if form == nil {
		t.Fatal("no form in the page")
	}
	return form
}

// samlResponse returns the decoded SAMLResponse of an auto-post page.
func samlResponse(t testing.TB, w *httptest.ResponseRecorder) (*autoPost, []byte) {
	t.Helper()
	if w.Code != http.StatusOK {
		t.Fatalf("status %d, want 200; body: %s", w.Code, w.Body)
	}
	form := parseAutoPost(t, w.Body)
	raw, err := base64.StdEncoding.DecodeString(form.Fields.Get("SAMLResponse"))
	if err != nil {
		t.Fatal(err)
	}
	return form, raw
}

// verified is a Response whose two signatures verified against cert: the elements are the ones
// goxmldsig returns (the signed content), never the received document.
type verified struct {
	Response  *etree.Element
	Assertion *etree.Element
}

// verify checks both signatures of raw against cert only.
func verify(t testing.TB, raw []byte, cert *x509.Certificate, now time.Time) *verified {
	t.Helper()
	doc, err := samlxml.Parse(raw)
	if err != nil {
		t.Fatalf("response does not parse: %v", err)
	}
	vc := dsig.NewDefaultValidationContext(&dsig.MemoryX509CertificateStore{Roots: []*x509.Certificate{cert}})
	vc.Clock = dsig.NewFakeClockAt(now)
	resp, err := vc.Validate(doc.Root())
	if err != nil {
		t.Fatalf("Response signature: %v", err)
	}
	as := samlxml.Children(resp, samlxml.NSAssertion, "Assertion")
	if len(as) != 1 {
		t.Fatalf("%d assertions in the response", len(as))
	}
	a, err := vc.Validate(as[0])
	if err != nil {
		t.Fatalf("Assertion signature: %v", err)
	}
	return &verified{Response: resp, Assertion: a}
}

// text returns the text of the only element at path (tags separated by '/', all in the
// assertion namespace unless prefixed "p:") below el.
func text(t testing.TB, el *etree.Element, path string) string {
	t.Helper()
	cur := el
	for _, tag := range strings.Split(path, "/") {
		ns := samlxml.NSAssertion
		if after, ok := strings.CutPrefix(tag, "p:"); ok {
			ns, tag = samlxml.NSProtocol, after
		}
		next, err := samlxml.Child(cur, ns, tag)
		if err != nil || next == nil {
			t.Fatalf("no single <%s> in %s", tag, path)
		}
		cur = next
	}
	v, err := samlxml.Text(cur)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// find returns the only element at path below el.
func find(t testing.TB, el *etree.Element, path string) *etree.Element {
	t.Helper()
	cur := el
	for _, tag := range strings.Split(path, "/") {
		next, err := samlxml.Child(cur, samlxml.NSAssertion, tag)
		if err != nil || next == nil {
			t.Fatalf("no single <%s> in %s", tag, path)
		}
		cur = next
	}
	return cur
}

// attributeValues returns the AttributeValue texts of every Attribute, raw (untrimmed), by name.
func attributeValues(t testing.TB, assertion *etree.Element) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	st, _ := samlxml.Child(assertion, samlxml.NSAssertion, "AttributeStatement")
	if st == nil {
		return out
	}
	for _, at := range samlxml.Children(st, samlxml.NSAssertion, "Attribute") {
		name := samlxml.Attr(at, "Name")
		for _, v := range samlxml.Children(at, samlxml.NSAssertion, "AttributeValue") {
			out[name] = append(out[name], v.Text())
		}
	}
	return out
}

func encodeStd(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// wrap76 breaks base64 into MIME-style lines, as some SPs post it.
func wrap76(s string) string {
	var b strings.Builder
	for len(s) > 76 {
		b.WriteString(s[:76] + "\r\n")
		s = s[76:]
	}
	b.WriteString(s)
	return b.String()
}
