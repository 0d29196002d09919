package authn

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/httpx"
	"github.com/gatehouse/gatehouse/internal/identity"
	"github.com/gatehouse/gatehouse/internal/identity/onetimepin"
	"github.com/gatehouse/gatehouse/internal/keys"
	"github.com/gatehouse/gatehouse/internal/session"
	"github.com/gatehouse/gatehouse/internal/snapshot"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
	"github.com/gatehouse/gatehouse/internal/token"
	"github.com/gatehouse/gatehouse/internal/wire"
)

// The test deployment: an auth domain and the app hosts of baseConfig.
const (
	authHost   = "auth.example.com"
	wikiHost   = "wiki.example.com"   // app "wiki": every IdP (picker), staff only
	soloHost   = "solo.example.com"   // app "solo": only "corp" (instant redirect), staff only
	officeHost = "office.example.com" // app "office": anyone, from the Netherlands only
	vaultHost  = "vault.example.com"  // app "vault": boss only, custom deny URL
	vaultDeny  = "https://www.example.com/denied"
)

// Wire names of the default profile.
var (
	prefix     = wire.Gatehouse.Prefix
	orgCookie  = wire.Gatehouse.OrgCookie(true) // HTTPS: __Host-Gatehouse_Authorization (and the app cookie's name)
	nonceName  = wire.Gatehouse.AppFlowCookie(true)
	flowCookie = wire.Gatehouse.FlowCookie(true) + "_"
)

var clockStart = time.Date(2031, time.March, 4, 10, 0, 0, 0, time.UTC)

// defaultClient is where test browsers are: policies in baseConfig want the Netherlands.
var defaultClient = httpx.Client{IP: netip.MustParseAddr("203.0.113.7"), Country: "NL"}

// aud returns a fixed application audience tag for an app ID.
func aud(appID string) string {
	sum := sha256.Sum256([]byte("aud:" + appID))
	return hex.EncodeToString(sum[:])
}

// baseConfig is the configuration every harness starts from.
func baseConfig() *store.Config {
	app := func(id, dest string, policy string, idps ...string) store.Application {
		return store.Application{ID: id, Type: store.AppSelfHosted, Name: strings.ToUpper(id[:1]) + id[1:], AUD: aud(id),
			Upstream: "http://127.0.0.1:1", Destinations: []store.Destination{{Type: "public", URI: dest}},
			AllowedIdPs: idps, Policies: []store.PolicyLink{{Ref: policy, Precedence: 1}}}
	}
	vault := app("vault", vaultHost, "boss", "corp")
	vault.CustomDenyURL = vaultDeny
	return &store.Config{
		Version:      1,
		Organization: store.Organization{Name: "Example Corp", AuthDomain: authHost},
		IdentityProviders: []store.IdentityProvider{
			{ID: "corp", Name: "Corp SSO", Type: store.IdPOIDC},
			{ID: "saml", Name: "Corp SAML", Type: store.IdPSAML},
			{ID: "pin", Name: "E-mail code", Type: store.IdPOneTimePIN},
		},
		Policies: []store.Policy{
			{ID: "staff", Decision: store.DecisionAllow, Include: []store.Rule{{EmailDomain: &store.EmailDomainRule{Domain: "example.com"}}}},
			{ID: "boss", Decision: store.DecisionAllow, Include: []store.Rule{{Email: &store.EmailRule{Email: "boss@example.com"}}}},
			{ID: "in-nl", Decision: store.DecisionAllow, Include: []store.Rule{{Everyone: &store.Empty{}}},
				Require: []store.Rule{{Geo: &store.GeoRule{CountryCode: "NL"}}}},
		},
		Applications: []store.Application{
			app("wiki", wikiHost, "staff"),
			app("wiki-admin", wikiHost+"/admin", "boss", "corp"),
			app("solo", soloHost, "staff", "corp"),
			app("office", officeHost, "in-nl", "corp"),
			vault,
			{ID: "crm", Type: store.AppSaaS, Name: "CRM", AUD: aud("crm"), AllowedIdPs: []string{"corp"},
				Policies: []store.PolicyLink{{Ref: "staff", Precedence: 1}},
				SaaSApp:  &store.SaaSApp{AuthType: store.SaaSAuthOIDC, ClientID: "crm", RedirectURIs: []string{"https://crm.example.net/cb"}}},
		},
	}
}

// harness is one login service over a real SQLite store, with a fake clock, fake identity
// providers and a fake PIN sender. Its logger keeps every record for the test to read.
type harness struct {
	t      *testing.T
	clock  *storetest.Clock
	db     *sqlstore.Store // the real store
	st     *faultStore     // what the service sees
	holder *snapshot.Holder
	svc    *Service
	cfg    *store.Config
	rt     snapshot.Runtime
	corp   *fakeIdP  // "corp": OIDC-like, answers by redirect (GET)
	saml   *fakeSAML // "saml": SAML-like, answers by cross-site POST
	pins   *fakeSender
	logs   *lockedBuffer
}

func newHarness(t *testing.T, edits ...func(*store.Config)) *harness {
	t.Helper()
	ctx := context.Background()
	h := &harness{t: t, clock: storetest.NewClock(clockStart), holder: &snapshot.Holder{}, logs: &lockedBuffer{}}
	db, err := sqlstore.Open(ctx, "sqlite", filepath.Join(t.TempDir(), "authn.db"), sqlstore.WithClock(h.clock.Now), sqlstore.WithPollInterval(0))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	h.db, h.st = db, &faultStore{Store: db}
	h.cfg = baseConfig()
	for _, edit := range edits {
		edit(h.cfg)
	}
	h.corp = &fakeIdP{typ: store.IdPOIDC, ident: &identity.Identity{Email: "Alice@Example.com", Name: "Alice", AMR: []string{"pwd", "mfa"}}}
	h.saml = &fakeSAML{fakeIdP: fakeIdP{typ: store.IdPSAML, post: true, ident: &identity.Identity{Email: "alice@example.com",
		SAMLAttributes: map[string][]string{"dept": {"R&D"}}}}}
	h.pins = &fakeSender{sent: make(chan sentPIN, 16)}
	h.rt = snapshot.Runtime{
		Connectors: map[string]identity.Connector{"corp": h.corp, "saml": h.saml},
		PINSenders: map[string]onetimepin.Sender{"pin": h.pins},
	}
	snap := h.publish()
	km := loadKeys(t, db, snap.Issuer, h.clock.Now)
	log := slog.New(slog.NewJSONHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h.svc = &Service{
		Store: h.st, Snapshots: h.holder, Keys: km, Log: log, Now: h.clock.Now,
		Sessions: session.NewVerifier(session.VerifierOptions{Store: h.st, Tokens: token.NewVerifier(km, snap.Issuer, h.clock.Now),
			Keys: km, Revocations: &session.Revocations{}, Now: h.clock.Now}),
		Audit: &audit.Recorder{Store: h.st, Log: log, Now: h.clock.Now},
	}
	return h
}

// in makes the harness (and its browsers) report failures to subtest t until t ends, for
// subtests that share their parent's harness. Subtests run one at a time.
func (h *harness) in(t *testing.T) {
	parent := h.t
	h.t = t
	t.Cleanup(func() { h.t = parent })
}

// publish compiles h.cfg with h.rt and publishes it.
func (h *harness) publish() *snapshot.Snapshot {
	h.t.Helper()
	snap, err := snapshot.Compile(h.cfg, snapshot.Options{Scheme: "https", Port: 443})
	if err != nil {
		h.t.Fatal(err)
	}
	snap = snap.WithRuntime(h.rt)
	h.holder.Store(snap)
	return snap
}

func (h *harness) snap() *snapshot.Snapshot { return h.holder.Load() }

// app returns a compiled application.
func (h *harness) app(id string) *snapshot.App {
	h.t.Helper()
	a := h.snap().Apps[id]
	if a == nil {
		h.t.Fatalf("no application %q", id)
	}
	return a
}

// signingKey is the one RSA key every harness uses: generating one per test would dominate the
// package's run time.
var signingKey struct {
	sync.Mutex
	key *store.SigningKey
}

var masterKey = bytes.Repeat([]byte{0x42}, keys.MasterKeySize)

func loadKeys(t *testing.T, st store.Store, issuer string, now func() time.Time) *keys.Manager {
	t.Helper()
	ctx := context.Background()
	signingKey.Lock()
	defer signingKey.Unlock()
	if signingKey.key != nil {
		k := *signingKey.key
		if err := st.RotateSigningKey(ctx, "", &k, keys.DefaultOverlap); err != nil {
			t.Fatal(err)
		}
	}
	km, err := keys.NewManager(st, masterKey, keys.Options{Issuer: issuer, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if err := km.Load(ctx); err != nil {
		t.Fatal(err)
	}
	if signingKey.key == nil {
		ks, err := st.SigningKeys(ctx)
		if err != nil || len(ks) != 1 {
			t.Fatalf("signing keys: %v, %v", ks, err)
		}
		signingKey.key = &ks[0]
	}
	return km
}

// events returns the stored auth events, oldest first.
func (h *harness) events() []store.AuthEvent {
	h.t.Helper()
	evs, err := h.db.ListAuthEvents(context.Background(), store.AuthEventQuery{Limit: 1000})
	if err != nil {
		h.t.Fatal(err)
	}
	slices.Reverse(evs)
	return evs
}

// lastEvent returns the newest auth event.
func (h *harness) lastEvent() store.AuthEvent {
	h.t.Helper()
	evs := h.events()
	if len(evs) == 0 {
		h.t.Fatal("no auth event was recorded")
	}
	return evs[len(evs)-1]
}

// wantEvent fails unless ev has the action, outcome and reasons given.
func wantEvent(t *testing.T, ev store.AuthEvent, action string, allowed bool, reasons ...string) {
	t.Helper()
	if ev.Action != action || ev.Allowed != allowed || !slices.Equal(ev.Reasons, reasons) {
		t.Errorf("auth event = %s allowed=%v reasons=%q, want %s allowed=%v reasons=%q", ev.Action, ev.Allowed, ev.Reasons, action, allowed, reasons)
	}
}

// failure is one error the error adapter rendered, as it logged it.
type failure struct {
	Ref    string `json:"ref"`
	Status int    `json:"status"`
	Reason string `json:"reason"`
	Cause  any    `json:"cause"`
}

// failures returns the errors rendered so far, oldest first.
func (h *harness) failures() []failure {
	var out []failure
	for line := range strings.SplitSeq(h.logs.String(), "\n") {
		var rec struct {
			Msg string `json:"msg"`
			failure
		}
		if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "request failed" {
			out = append(out, rec.failure)
		}
	}
	return out
}

// lastFailure returns the newest rendered error.
func (h *harness) lastFailure() failure {
	h.t.Helper()
	fs := h.failures()
	if len(fs) == 0 {
		h.t.Fatal("no error was rendered")
	}
	return fs[len(fs)-1]
}

// wantFailure fails unless r is the error page of the newest rendered error, with the status
// and reason given, showing the reference that was logged.
func (h *harness) wantFailure(r *reply, status int, reason string) failure {
	h.t.Helper()
	f := h.lastFailure()
	if r.status != status || f.Status != status || f.Reason != reason {
		h.t.Fatalf("got %d (logged %d %s), want %d %s\n%s", r.status, f.Status, f.Reason, status, reason, r.body)
	}
	if got := r.ref(h.t); got != f.Ref {
		h.t.Errorf("page shows reference %q, the log %q", got, f.Ref)
	}
	return f
}

// orgSessions returns the user's unexpired org sessions.
func (h *harness) orgSessions(email string) []store.Session {
	h.t.Helper()
	ctx := context.Background()
	u, err := h.db.GetUserByEmail(ctx, email)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		h.t.Fatal(err)
	}
	ss, err := h.db.ListUserSessions(ctx, u.ID)
	if err != nil {
		h.t.Fatal(err)
	}
	return ss
}

// claims verifies a token minted by the service.
func (h *harness) claims(raw string) *token.Claims {
	h.t.Helper()
	c, err := h.svc.Sessions.Tokens().Verify(raw)
	if err != nil {
		h.t.Fatalf("token does not verify: %v", err)
	}
	return c
}

// setLimit overrides a package rate limit for the test.
func setLimit[T any](t *testing.T, v *T, to T) {
	old := *v
	*v = to
	t.Cleanup(func() { *v = old })
}

// browser is one user agent: a cookie jar and a client address.
type browser struct {
	h      *harness
	jar    *cookiejar.Jar
	client httpx.Client
	// fetchSite, when set, is sent as Sec-Fetch-Site (a browser says where a request came from).
	fetchSite string
}

func (h *harness) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{h: h, jar: jar, client: defaultClient}
}

// reply is a response to a browser request.
type reply struct {
	status  int
	header  http.Header
	body    string
	cookies []*http.Cookie
	url     *url.URL // the request's
}

// location returns the redirect target, resolved against the request URL.
func (r *reply) location(t *testing.T) *url.URL {
	t.Helper()
	if r.status != http.StatusFound && r.status != http.StatusSeeOther {
		t.Fatalf("got %d, want a redirect\n%s", r.status, r.body)
	}
	loc, err := r.url.Parse(r.header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// cookie returns the cookie the response set, or nil.
func (r *reply) cookie(name string) *http.Cookie {
	for _, c := range r.cookies {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// cookiePrefixed returns the first cookie set whose name starts with p, or nil.
func (r *reply) cookiePrefixed(p string) *http.Cookie {
	for _, c := range r.cookies {
		if strings.HasPrefix(c.Name, p) {
			return c
		}
	}
	return nil
}

var (
	refRE   = regexp.MustCompile(`Reference: ([0-9a-f]{16})`)
	inputRE = regexp.MustCompile(`name="(\w+)" value="([^"]*)"`)
	linkRE  = regexp.MustCompile(`<a class="button" href="([^"]+)">([^<]+)</a>`)
)

// ref returns the reference ID the page shows.
func (r *reply) ref(t *testing.T) string {
	t.Helper()
	m := refRE.FindStringSubmatch(r.body)
	if m == nil {
		t.Fatalf("no reference on the page:\n%s", r.body)
	}
	return m[1]
}

// text returns the body with HTML entities decoded.
func (r *reply) text() string { return html.UnescapeString(r.body) }

// hidden returns the hidden form fields of the page.
func (r *reply) hidden() url.Values {
	v := url.Values{}
	for _, m := range inputRE.FindAllStringSubmatch(r.body, -1) {
		v.Set(m[1], html.UnescapeString(m[2]))
	}
	return v
}

// links returns the picker's links by IdP name.
func (r *reply) links() map[string]string {
	out := map[string]string{}
	for _, m := range linkRE.FindAllStringSubmatch(r.body, -1) {
		out[html.UnescapeString(m[2])] = html.UnescapeString(m[1])
	}
	return out
}

// do sends a request the way the composition root would route it: the auth domain to
// ServeHTTP, reserved endpoints of app hosts to ServeAppEndpoint. withCookies false models a
// cross-site POST, which carries no SameSite=Lax cookies.
func (b *browser) do(method, rawURL string, form url.Values, withCookies bool) *reply {
	b.h.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req := httptest.NewRequest(method, rawURL, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req = req.WithContext(httpx.WithClient(req.Context(), b.client))
	if b.fetchSite != "" {
		req.Header.Set("Sec-Fetch-Site", b.fetchSite)
	}
	if withCookies {
		for _, c := range b.jar.Cookies(req.URL) {
			req.AddCookie(c)
		}
	}
	return b.serve(req)
}

// newRequest returns a request from client without body or cookies.
func newRequest(method, rawURL string, client httpx.Client) *http.Request {
	req := httptest.NewRequest(method, rawURL, nil)
	return req.WithContext(httpx.WithClient(req.Context(), client))
}

// serve routes req as the composition root does and records the cookies the answer sets.
func (b *browser) serve(req *http.Request) *reply {
	b.h.t.Helper()
	rec := httptest.NewRecorder()
	snap := b.h.snap()
	switch host := req.Host; {
	case host == authHost:
		b.h.svc.ServeHTTP(rec, req)
	case strings.HasPrefix(req.URL.Path, prefix):
		var app *snapshot.App
		if id, ok := snap.Routes.Match(host, "/"); ok {
			app = snap.Apps[id]
		}
		b.h.svc.ServeAppEndpoint(rec, req, snap, app, host, strings.TrimPrefix(req.URL.Path, prefix))
	default:
		b.h.t.Fatalf("%s is not a reserved endpoint; use openApp", req.URL)
	}
	return b.record(req, rec)
}

func (b *browser) record(req *http.Request, rec *httptest.ResponseRecorder) *reply {
	res := rec.Result()
	b.jar.SetCookies(req.URL, res.Cookies())
	return &reply{status: res.StatusCode, header: res.Header, body: rec.Body.String(), cookies: res.Cookies(), url: req.URL}
}

func (b *browser) get(rawURL string) *reply {
	b.h.t.Helper()
	return b.do(http.MethodGet, rawURL, nil, true)
}

func (b *browser) post(rawURL string, form url.Values) *reply {
	b.h.t.Helper()
	return b.do(http.MethodPost, rawURL, form, true)
}

// follow requests the redirect target of r, and then through the hops that bind a login to this
// browser (login → the app host's bind → the auth domain's bound), as a browser follows them
// without the user seeing anything. Tests of those hops themselves use get.
func (b *browser) follow(r *reply) *reply {
	b.h.t.Helper()
	r = b.get(r.location(b.h.t).String())
	for r.status == http.StatusFound {
		loc := r.location(b.h.t)
		if loc.Path != prefix+wire.EndpointBind && loc.Path != prefix+endpointBound {
			break
		}
		r = b.get(loc.String())
	}
	return r
}

// openApp is the proxy's answer to a browser without an app session opening path on host: it
// starts the app login.
func (b *browser) openApp(host, path string) *reply {
	b.h.t.Helper()
	snap := b.h.snap()
	id, ok := snap.Routes.Match(host, path)
	if !ok {
		b.h.t.Fatalf("no application for %s%s", host, path)
	}
	req := newRequest(http.MethodGet, "https://"+host+path, b.client)
	rec := httptest.NewRecorder()
	b.h.svc.StartAppLogin(rec, req, snap, snap.Apps[id], host, path, nil)
	return b.record(req, rec)
}

// authURL returns an absolute URL on the auth domain for a path.
func authURL(path string) string { return "https://" + authHost + path }

// loginURL returns the login URL of an app host as an app host would send a browser to it.
func loginURL(host string, q url.Values) string {
	return authURL(prefix + "login/" + host + "?" + q.Encode())
}

// idpReturn plays the identity provider: it takes the browser's redirect to the fake IdP and
// sends the browser back to the callback (a GET for "corp", a cross-site POST for "saml").
func (b *browser) idpReturn(r *reply) *reply {
	b.h.t.Helper()
	if r.status == http.StatusOK && strings.Contains(r.body, "SAMLRequest") {
		relay := r.hidden().Get("RelayState")
		return b.do(http.MethodPost, authURL(prefix+"callback"), url.Values{"SAMLResponse": {"PHNhbWw+"}, "RelayState": {relay}}, false)
	}
	loc := r.location(b.h.t)
	if loc.Host != "idp.example" {
		b.h.t.Fatalf("expected a redirect to the IdP, got %s", loc)
	}
	return b.get(authURL(prefix + "callback?" + url.Values{"state": {loc.Query().Get("state")}, "code": {"ok"}}.Encode()))
}

// toIdP opens the login page for an app login in progress (r: the app host's redirect to the
// auth domain) and picks idpName on the picker if there is one; it returns the answer that
// sends the browser to the IdP.
func (b *browser) toIdP(r *reply, idpName string) *reply {
	b.h.t.Helper()
	r = b.follow(r)
	if r.status == http.StatusOK {
		link, ok := r.links()[idpName]
		if !ok {
			b.h.t.Fatalf("no %q on the login page:\n%s", idpName, r.body)
		}
		r = b.get(authURL(link))
	} else {
		r = b.follow(r)
	}
	return r
}

// signIn logs the browser in to path on host through IdP idpName and returns the app host's
// final answer (the redirect to path with the app cookie set).
func (b *browser) signIn(host, path, idpName string) *reply {
	b.h.t.Helper()
	r := b.idpReturn(b.toIdP(b.openApp(host, path), idpName))
	if r.status == http.StatusSeeOther { // cross-site POST: continue on the auth domain
		r = b.follow(r)
	}
	return b.follow(r)
}

// cookie returns the value the jar holds for name on host.
func (b *browser) cookie(host, name string) string {
	for _, c := range b.jar.Cookies(&url.URL{Scheme: "https", Host: host, Path: "/"}) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

// fakeIdP is a redirect-based identity provider connector whose answer the test sets.
type fakeIdP struct {
	typ string
	mu  sync.Mutex
	// ident is returned (a copy) by HandleCallback unless err is set.
	ident *identity.Identity
	err   error
	// startErr fails StartLogin.
	startErr error
	// post answers by cross-site POST (SAML HTTP-POST binding) instead of a redirect.
	post bool
	// state, when set, is what CallbackState reports instead of the request's state.
	state string
	// unsolicited is what AcceptsUnsolicited reports (fakeSAML only).
	unsolicited bool
	// redeemed counts HandleCallback calls (each would redeem a code or check a response).
	redeemed int
	// forced records, per StartLogin and HandleCallback, whether a fresh authentication was asked.
	forced []bool
}

var _ identity.CallbackConnector = (*fakeIdP)(nil)
var _ identity.RedirectConnector = (*fakeIdP)(nil)

func (f *fakeIdP) Type() string { return f.typ }

func (f *fakeIdP) set(update func(*fakeIdP)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	update(f)
}

func (f *fakeIdP) StartLogin(_ context.Context, req identity.LoginRequest) (*identity.LoginStart, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.startErr != nil {
		return nil, f.startErr
	}
	f.forced = append(f.forced, req.ForceAuthn)
	data := map[string]string{"nonce": "n:" + req.State}
	if f.post {
		return &identity.LoginStart{PostURL: "https://idp.example/sso", FlowData: data,
			PostForm: url.Values{"SAMLRequest": {"PHJlcT4="}, "RelayState": {req.State}}}, nil
	}
	return &identity.LoginStart{RedirectURL: "https://idp.example/authorize?" + url.Values{"state": {req.State}}.Encode(), FlowData: data}, nil
}

func (f *fakeIdP) CallbackState(r *http.Request) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.state != "" {
		return f.state, nil
	}
	if r.Method == http.MethodPost {
		return r.PostForm.Get("RelayState"), nil
	}
	return r.URL.Query().Get("state"), nil
}

func (f *fakeIdP) HandleCallback(_ context.Context, _ *http.Request, req identity.LoginRequest, flowData map[string]string) (*identity.Identity, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.redeemed++
	f.forced = append(f.forced, req.ForceAuthn)
	if flowData != nil && flowData["nonce"] != "n:"+req.State {
		return nil, identity.Fail("fake-nonce-mismatch", errors.New("flow data was not handed back"))
	}
	if f.err != nil {
		return nil, f.err
	}
	id := *f.ident
	return &id, nil
}

// fakeSAML adds SP metadata and IdP-initiated logins to fakeIdP.
type fakeSAML struct{ fakeIdP }

var _ identity.UnsolicitedConnector = (*fakeSAML)(nil)
var _ identity.MetadataConnector = (*fakeSAML)(nil)

func (f *fakeSAML) AcceptsUnsolicited() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.unsolicited
}

func (f *fakeSAML) SPMetadata(req identity.LoginRequest) ([]byte, error) {
	return []byte(`<EntityDescriptor entityID="` + req.SPEntityID + `"/>`), nil
}

// fakeSender records PINs. SendPIN runs in the service's goroutine; tests receive from sent.
type fakeSender struct{ sent chan sentPIN }

type sentPIN struct {
	to, pin string
	expires time.Time
}

func (s *fakeSender) SendPIN(_ context.Context, to, pin string, expires time.Time) error {
	s.sent <- sentPIN{to: to, pin: pin, expires: expires}
	return nil
}

// next waits for the next PIN sent.
func (s *fakeSender) next(t *testing.T) sentPIN {
	t.Helper()
	select {
	case p := <-s.sent:
		return p
	case <-time.After(5 * time.Second):
		t.Fatal("no PIN was sent")
		return sentPIN{}
	}
}

// faultStore is the store with chosen methods failing.
type faultStore struct {
	store.Store
	mu   sync.Mutex
	fail map[string]error
}

// failOn makes method fail with err until the test ends.
func (f *faultStore) failOn(method string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail == nil {
		f.fail = map[string]error{}
	}
	f.fail[method] = err
}

func (f *faultStore) err(method string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.fail[method]
}

func (f *faultStore) CreateLoginFlow(ctx context.Context, fl *store.LoginFlow) error {
	if err := f.err("CreateLoginFlow"); err != nil {
		return err
	}
	return f.Store.CreateLoginFlow(ctx, fl)
}

func (f *faultStore) GetLoginFlow(ctx context.Context, id string) (*store.LoginFlow, error) {
	if err := f.err("GetLoginFlow"); err != nil {
		return nil, err
	}
	return f.Store.GetLoginFlow(ctx, id)
}

func (f *faultStore) DeleteLoginFlow(ctx context.Context, id string) error {
	if err := f.err("DeleteLoginFlow"); err != nil {
		return err
	}
	return f.Store.DeleteLoginFlow(ctx, id)
}

func (f *faultStore) HitRateLimit(ctx context.Context, key string, window time.Duration, limit int) (bool, error) {
	if err := f.err("HitRateLimit"); err != nil {
		return false, err
	}
	return f.Store.HitRateLimit(ctx, key, window, limit)
}

func (f *faultStore) CreateHandoffCode(ctx context.Context, c *store.HandoffCode) error {
	if err := f.err("CreateHandoffCode"); err != nil {
		return err
	}
	return f.Store.CreateHandoffCode(ctx, c)
}

func (f *faultStore) ConsumeHandoffCode(ctx context.Context, codeHash string) (*store.HandoffCode, error) {
	if err := f.err("ConsumeHandoffCode"); err != nil {
		return nil, err
	}
	return f.Store.ConsumeHandoffCode(ctx, codeHash)
}

func (f *faultStore) UpsertUserByEmail(ctx context.Context, email string, seen store.LastSeen) (*store.User, error) {
	if err := f.err("UpsertUserByEmail"); err != nil {
		return nil, err
	}
	return f.Store.UpsertUserByEmail(ctx, email, seen)
}

func (f *faultStore) GetSession(ctx context.Context, id string) (*store.Session, error) {
	if err := f.err("GetSession"); err != nil {
		return nil, err
	}
	return f.Store.GetSession(ctx, id)
}

func (f *faultStore) RevokeSession(ctx context.Context, id string) error {
	if err := f.err("RevokeSession"); err != nil {
		return err
	}
	return f.Store.RevokeSession(ctx, id)
}

func (f *faultStore) CreatePINChallenge(ctx context.Context, c *store.PINChallenge) error {
	if err := f.err("CreatePINChallenge"); err != nil {
		return err
	}
	return f.Store.CreatePINChallenge(ctx, c)
}

func (f *faultStore) AttemptPINChallenge(ctx context.Context, id string, maxAttempts int, check func(*store.PINChallenge) bool) (*store.PINChallenge, bool, error) {
	if err := f.err("AttemptPINChallenge"); err != nil {
		return nil, false, err
	}
	return f.Store.AttemptPINChallenge(ctx, id, maxAttempts, check)
}

func (f *faultStore) GetUser(ctx context.Context, id string) (*store.User, error) {
	if err := f.err("GetUser"); err != nil {
		return nil, err
	}
	return f.Store.GetUser(ctx, id)
}

// lockedBuffer is a log sink safe for the PIN sender's goroutine.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
