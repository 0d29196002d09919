package proxy_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse/gatehouse/internal/httpx"
	"github.com/gatehouse/gatehouse/internal/identity"
	"github.com/gatehouse/gatehouse/internal/keys"
	"github.com/gatehouse/gatehouse/internal/policy"
	"github.com/gatehouse/gatehouse/internal/proxy"
	"github.com/gatehouse/gatehouse/internal/session"
	"github.com/gatehouse/gatehouse/internal/snapshot"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse/gatehouse/internal/token"
	"github.com/gatehouse/gatehouse/internal/wire"
)

// testNow is the fixed start of every test clock; nothing in these tests reads the wall clock
// for a decision.
var testNow = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

const authDomain = "auth.example.com"

// appCookie is the app session cookie of the default profile on an HTTPS deployment.
var appCookie = wire.Gatehouse.AppCookie(true)

// defaultClient is the resolved client of every request unless a test says otherwise.
var defaultClient = httpx.Client{IP: netip.MustParseAddr("198.51.100.7"), Country: "DE"}

// The signing key is generated once per test binary: RSA key generation dominates the cost of a
// test otherwise. The key manager only reads its store in Load; tests keep their users and
// sessions in stores of their own.
var shared struct {
	once sync.Once
	dir  string
	st   *sqlstore.Store
	km   *keys.Manager
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.st != nil {
		_ = shared.st.Close()
	}
	if shared.dir != "" {
		_ = os.RemoveAll(shared.dir)
	}
	os.Exit(code)
}

func sharedKeys(t testing.TB) *keys.Manager {
	t.Helper()
	shared.once.Do(func() {
		ctx := context.Background()
		if shared.dir, shared.err = os.MkdirTemp("", "gatehouse-proxy-test-"); shared.err != nil {
			return
		}
		shared.st, shared.err = sqlstore.Open(ctx, "sqlite", "file:"+filepath.Join(shared.dir, "keys.db"))
		if shared.err != nil {
			return
		}
		shared.km, shared.err = keys.NewManager(shared.st, make([]byte, 32), keys.Options{Issuer: "https://" + authDomain})
		if shared.err != nil {
			return
		}
		shared.err = shared.km.Load(ctx)
	})
	if shared.err != nil {
		t.Fatalf("shared signing key: %v", shared.err)
	}
	return shared.km
}

// clock is a settable test clock.
type clock struct{ ns atomic.Int64 }

func newClock(t time.Time) *clock {
	c := &clock{}
	c.ns.Store(t.UnixNano())
	return c
}

func (c *clock) Now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *clock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// audOf is the deterministic audience tag of an application in these tests.
func audOf(appID string) string {
	sum := sha256.Sum256([]byte("aud:" + appID))
	return hex.EncodeToString(sum[:])
}

func secretHash(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// Service-token credentials of baseConfig.
const (
	clientOK       = "client-ok.access"
	clientDisabled = "client-disabled.access"
	clientExpired  = "client-expired.access"
	clientBadHash  = "client-badhash.access"
	clientSoon     = "client-soon.access"
	secretOK       = "secret-ok"
)

// baseConfig is the configuration most tests run against. Each application forwards to its own
// base path on the one upstream, so the path the origin sees names the application that decided.
//
//	web          app.example.com               allow @example.com; deny mallory, KP, 203.0.113.0/24
//	admin        app.example.com/admin         allow boss@example.com only
//	admin-public app.example.com/admin/public  bypass everyone
//	wild         *.wild.example.com            bypass everyone
//	open         open.example.com              bypass everyone
//	api          api.example.com               service tokens or 192.0.2.0/24 (non_identity only)
//	api401       api401.example.com            service tokens, else @example.com; 401 instead of login
//	cors         cors.example.com              allow @example.com; cors_headers for ui.example.com
//	corsall      corsall.example.com           allow @example.com; cors_headers allowing everything
//	preflight    preflight.example.com         allow @example.com; options_preflight_bypass
func baseConfig(upstream, profile string) *store.Config {
	app := func(id, dest, base string, policies ...string) store.Application {
		a := store.Application{ID: id, Type: store.AppSelfHosted, Name: id, AUD: audOf(id),
			Destinations: []store.Destination{{Type: "public", URI: dest}}, Upstream: upstream + base}
		for i, p := range policies {
			a.Policies = append(a.Policies, store.PolicyLink{Ref: p, Precedence: 10 * (i + 1)})
		}
		return a
	}
	web := app("web", "app.example.com", "/web", "svc-any", "deny-mallory", "deny-kp", "deny-net", "allow-example")
	web.SessionDuration = store.Duration(time.Hour)
	api401 := app("api401", "api401.example.com", "/api401", "svc-any", "allow-example")
	api401.ServiceAuth401Redirect = true
	cors := app("cors", "cors.example.com", "/cors", "allow-example")
	cors.CORSHeaders = &store.CORSHeaders{AllowedOrigins: []string{"https://ui.example.com"},
		AllowedMethods: []string{"GET", "PUT"}, AllowedHeaders: []string{"X-Custom", "Content-Type"},
		MaxAge: 600, AllowCredentials: true}
	corsAll := app("corsall", "corsall.example.com", "/corsall", "allow-example")
	corsAll.CORSHeaders = &store.CORSHeaders{AllowAllOrigins: true, AllowAllMethods: true, AllowAllHeaders: true}
	preflight := app("preflight", "preflight.example.com", "/preflight", "allow-example")
	preflight.OptionsPreflightBypass = true

	return &store.Config{
		Organization:      store.Organization{Name: "Acme", AuthDomain: authDomain, Wire: profile},
		IdentityProviders: []store.IdentityProvider{{ID: "pin", Name: "PIN", Type: store.IdPOneTimePIN}},
		Policies: []store.Policy{
			{ID: "allow-example", Decision: store.DecisionAllow, Include: []store.Rule{{EmailDomain: &store.EmailDomainRule{Domain: "example.com"}}}},
			{ID: "deny-mallory", Decision: store.DecisionDeny, Include: []store.Rule{{Email: &store.EmailRule{Email: "mallory@example.com"}}}},
			{ID: "deny-kp", Decision: store.DecisionDeny, Include: []store.Rule{{Geo: &store.GeoRule{CountryCode: "KP"}}}},
			{ID: "deny-net", Decision: store.DecisionDeny, Include: []store.Rule{{IP: &store.IPRule{IP: "203.0.113.0/24"}}}},
			{ID: "boss-only", Decision: store.DecisionAllow, Include: []store.Rule{{Email: &store.EmailRule{Email: "boss@example.com"}}}},
			{ID: "bypass-all", Decision: store.DecisionBypass, Include: []store.Rule{{Everyone: &store.Empty{}}}},
			{ID: "svc-any", Decision: store.DecisionNonIdentity, Include: []store.Rule{{AnyValidServiceToken: &store.Empty{}}}},
			{ID: "svc-office", Decision: store.DecisionNonIdentity, Include: []store.Rule{{IP: &store.IPRule{IP: "192.0.2.0/24"}}}},
		},
		Applications: []store.Application{
			web,
			app("admin", "app.example.com/admin", "/admin-app", "boss-only"),
			app("admin-public", "app.example.com/admin/public", "/public-app", "bypass-all"),
			app("wild", "*.wild.example.com", "/wild", "bypass-all"),
			app("open", "open.example.com", "/open", "bypass-all"),
			app("api", "api.example.com", "/api", "svc-any", "svc-office"),
			api401, cors, corsAll, preflight,
		},
		ServiceTokens: []store.ServiceToken{
			{ID: "tok-ok", ClientID: clientOK, ClientSecretSHA256: secretHash(secretOK), CreatedAt: testNow.Add(-time.Hour), Duration: store.Duration(48 * time.Hour)},
			{ID: "tok-disabled", ClientID: clientDisabled, ClientSecretSHA256: secretHash(secretOK), Disabled: true},
			{ID: "tok-expired", ClientID: clientExpired, ClientSecretSHA256: secretHash(secretOK), ExpiresAt: testNow.Add(-time.Minute)},
			{ID: "tok-badhash", ClientID: clientBadHash, ClientSecretSHA256: "not-hex"},
			{ID: "tok-soon", ClientID: clientSoon, ClientSecretSHA256: secretHash(secretOK), ExpiresAt: testNow.Add(30 * time.Minute)},
		},
	}
}

// echoed is what the echo upstream saw of a forwarded request.
type echoed struct {
	Method   string      `json:"method"`
	Host     string      `json:"host"`
	Path     string      `json:"path"`
	RawPath  string      `json:"raw_path"`
	Escaped  string      `json:"escaped"`
	RawQuery string      `json:"raw_query"`
	Header   http.Header `json:"header"`
	Body     string      `json:"body"`
	Trailer  http.Header `json:"trailer"`
}

// echoHandler answers every request with a JSON description of it.
func echoHandler(hits *atomic.Int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Upstream", "echo")
		_ = json.NewEncoder(w).Encode(echoed{Method: r.Method, Host: r.Host, Path: r.URL.Path, RawPath: r.URL.RawPath,
			Escaped: r.URL.EscapedPath(), RawQuery: r.URL.RawQuery, Header: r.Header, Body: string(body), Trailer: r.Trailer})
	})
}

// loginCall is one call the proxy made into the login flow.
type loginCall struct {
	Kind        string // "start", "endpoint" or "deny"
	App         string // application ID, "" for nil
	Host        string
	Redirect    string
	Endpoint    string
	Reasons     []string // start: the reasons passed; deny: the decision's
	Ref         string   // deny: the reference ID passed
	PolicyID    string
	Action      policy.Action
	UserEmail   string // identity passed to Deny, "" for nil
	NonIdentity bool
	// DeadlineErr is what setting a write deadline through http.ResponseController returned
	// (endpoint calls only): nil when the writer reaches a real connection.
	DeadlineErr error
}

// fakeLogin records what the proxy asked of the login flow and answers with a recognisable
// status: 302 to start a login, 299 for an endpoint, 403 for a denial.
type fakeLogin struct {
	mu    sync.Mutex
	calls []loginCall
}

var _ proxy.Login = (*fakeLogin)(nil)

func appID(a *snapshot.App) string {
	if a == nil {
		return ""
	}
	return a.ID
}

func (f *fakeLogin) record(c loginCall) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, c)
}

func (f *fakeLogin) StartAppLogin(w http.ResponseWriter, r *http.Request, snap *snapshot.Snapshot, app *snapshot.App, host, redirectPath string, reasons []string) {
	f.record(loginCall{Kind: "start", App: appID(app), Host: host, Redirect: redirectPath, Reasons: reasons})
	http.Redirect(w, r, snap.Issuer+"/login", http.StatusFound)
}

func (f *fakeLogin) ServeAppEndpoint(w http.ResponseWriter, r *http.Request, snap *snapshot.Snapshot, app *snapshot.App, host, endpoint string) {
	err := http.NewResponseController(w).SetWriteDeadline(time.Time{})
	f.record(loginCall{Kind: "endpoint", App: appID(app), Host: host, Endpoint: endpoint, DeadlineErr: err})
	w.WriteHeader(299)
}

func (f *fakeLogin) Deny(w http.ResponseWriter, r *http.Request, snap *snapshot.Snapshot, app *snapshot.App, id *identity.Identity, d policy.Decision, nonIdentity bool, ref string) {
	c := loginCall{Kind: "deny", App: appID(app), Host: r.Host, Reasons: d.Reasons, PolicyID: d.PolicyID, Action: d.Action, NonIdentity: nonIdentity, Ref: ref}
	if id != nil {
		c.UserEmail = id.Email
	}
	f.record(c)
	w.WriteHeader(http.StatusForbidden)
}

// Reset forgets the calls so far.
func (f *fakeLogin) Reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = nil
}

// Calls returns the calls so far.
func (f *fakeLogin) Calls() []loginCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]loginCall(nil), f.calls...)
}

// lockedBuffer is an io.Writer safe for the concurrent writes of a slog handler.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything logged so far.
func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Lines returns the decoded JSON log records with the given message.
func (b *lockedBuffer) Lines(t testing.TB, msg string) []map[string]any {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	for _, line := range bytes.Split(b.buf.Bytes(), []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal(line, &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if rec["msg"] == msg {
			out = append(out, rec)
		}
	}
	return out
}

// failingStore fails GetSession while fail is set, like a database that went away.
type failingStore struct {
	store.Store
	fail atomic.Bool
}

func (s *failingStore) GetSession(ctx context.Context, id string) (*store.Session, error) {
	if s.fail.Load() {
		return nil, fmt.Errorf("get session: dial tcp 10.9.8.7:5432: %w", store.ErrUnavailable)
	}
	return s.Store.GetSession(ctx, id)
}

// setup selects what newEnv builds; the zero value is baseConfig with the gatehouse profile
// behind an echo upstream.
type setup struct {
	profile  string
	config   func(upstream string) *store.Config // default baseConfig(upstream, profile)
	runtime  *snapshot.Runtime
	opts     proxy.Options
	upstream http.Handler // default echoHandler
	failing  bool         // wrap the store in a failingStore
}

// env is one proxy under test with everything it talks to.
type env struct {
	ctx      context.Context
	clock    *clock
	st       store.Store
	failing  *failingStore
	km       *keys.Manager
	snap     *snapshot.Snapshot
	holder   *snapshot.Holder
	rev      *session.Revocations
	login    *fakeLogin
	logs     *lockedBuffer
	reg      *prometheus.Registry
	proxy    *proxy.Proxy
	upstream *httptest.Server
	hits     atomic.Int64
}

func newEnv(t testing.TB, s setup) *env {
	t.Helper()
	e := &env{ctx: context.Background(), clock: newClock(testNow), km: sharedKeys(t),
		login: &fakeLogin{}, logs: &lockedBuffer{}, reg: prometheus.NewRegistry(), rev: &session.Revocations{}}
	h := s.upstream
	if h == nil {
		h = echoHandler(&e.hits)
	}
	e.upstream = httptest.NewServer(h)
	t.Cleanup(e.upstream.Close)

	sq, err := sqlstore.Open(e.ctx, "sqlite", "file:"+filepath.Join(t.TempDir(), "proxy.db"), sqlstore.WithClock(e.clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sq.Close() })
	e.st = sq
	if s.failing {
		e.failing = &failingStore{Store: sq}
		e.st = e.failing
	}

	cfgFn := s.config
	if cfgFn == nil {
		cfgFn = func(upstream string) *store.Config { return baseConfig(upstream, s.profile) }
	}
	e.snap, err = snapshot.Compile(cfgFn(e.upstream.URL), snapshot.Options{Scheme: "https", Port: 443})
	if err != nil {
		t.Fatal(err)
	}
	if s.runtime != nil {
		e.snap = e.snap.WithRuntime(*s.runtime)
	}
	e.holder = &snapshot.Holder{}
	e.holder.Store(e.snap)

	log := slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	verifier := token.NewVerifier(e.km, e.snap.Issuer, e.clock.Now)
	sessions := session.NewVerifier(session.VerifierOptions{Store: e.st, Tokens: verifier, Keys: e.km, Revocations: e.rev, Now: e.clock.Now})
	e.proxy = proxy.New(e.holder, e.login, sessions, e.km, proxy.NewMetrics(e.reg), log, e.clock.Now, s.opts)
	return e
}

// user is a logged-in user with an org session.
type user struct {
	ID      string
	Email   string
	Session string
}

// newUser creates a user and a session whose identity is ident (UserID and Email are filled in).
func (e *env) newUser(t testing.TB, email string, ident identity.Identity) user {
	t.Helper()
	u, err := e.st.UpsertUserByEmail(e.ctx, email, store.LastSeen{})
	if err != nil {
		t.Fatal(err)
	}
	ident.UserID, ident.Email = u.ID, email
	if ident.IdP.ID == "" {
		ident.IdP = identity.IdP{ID: "pin", Type: store.IdPOneTimePIN}
	}
	raw, err := json.Marshal(&ident)
	if err != nil {
		t.Fatal(err)
	}
	sess := &store.Session{ID: "sess-" + email, UserID: u.ID, Email: email, IdPID: ident.IdP.ID,
		CreatedAt: e.clock.Now(), ExpiresAt: e.clock.Now().Add(2 * time.Hour), Identity: raw}
	if err := e.st.CreateSession(e.ctx, sess); err != nil {
		t.Fatal(err)
	}
	return user{ID: u.ID, Email: email, Session: sess.ID}
}

// appToken mints an app token for u and the application appID, valid for an hour; edit may
// change the claims before signing.
func (e *env) appToken(t testing.TB, u user, appID string, edit func(*token.Claims)) string {
	t.Helper()
	now := e.clock.Now()
	c := &token.Claims{Type: token.TypeApp, Audience: []string{audOf(appID)}, Issuer: e.snap.Issuer, Subject: u.ID,
		Email: u.Email, IdentityNonce: u.Session, IssuedAt: now.Unix(), NotBefore: now.Unix(), ExpiresAt: now.Add(time.Hour).Unix()}
	if edit != nil {
		edit(c)
	}
	raw, err := token.Mint(e.km, c)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// req builds a request for target ("http://host/path?query") from the default client.
func req(method, target string, body io.Reader) *http.Request {
	r := httptest.NewRequest(method, target, body)
	return r.WithContext(httpx.WithClient(r.Context(), defaultClient))
}

// withClient returns r resolved to another client.
func withClient(r *http.Request, ip, country string) *http.Request {
	return r.WithContext(httpx.WithClient(r.Context(), httpx.Client{IP: netip.MustParseAddr(ip), Country: country}))
}

// serve runs one request through the proxy.
func (e *env) serve(t testing.TB, r *http.Request) *httptest.ResponseRecorder {
	t.Helper()
	w := httptest.NewRecorder()
	e.proxy.ServeHTTP(w, r)
	return w
}

// forwarded runs r and returns what the origin saw; the proxy must have forwarded it.
func (e *env) forwarded(t testing.TB, r *http.Request) echoed {
	t.Helper()
	before := e.hits.Load()
	w := e.serve(t, r)
	if w.Code != http.StatusOK || w.Header().Get("X-Upstream") != "echo" {
		t.Fatalf("%s %s: status %d, want a forwarded 200; body %q; login calls %+v", r.Method, r.URL, w.Code, w.Body.String(), e.login.Calls())
	}
	if got := e.hits.Load() - before; got != 1 {
		t.Fatalf("upstream saw %d requests, want 1", got)
	}
	var got echoed
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	return got
}

// onlyCall returns the only login call made so far.
func (e *env) onlyCall(t testing.TB) loginCall {
	t.Helper()
	calls := e.login.Calls()
	if len(calls) != 1 {
		t.Fatalf("login calls = %+v, want exactly one", calls)
	}
	return calls[0]
}

// accessLines returns the access-log records written so far.
func (e *env) accessLines(t testing.TB) []map[string]any { return e.logs.Lines(t, "request") }

// lastAccess returns the last access-log record.
func (e *env) lastAccess(t testing.TB) map[string]any {
	t.Helper()
	lines := e.accessLines(t)
	if len(lines) == 0 {
		t.Fatal("no access log line")
	}
	return lines[len(lines)-1]
}

// reasonsOf returns the "reasons" attribute of a log record.
func reasonsOf(rec map[string]any) []string {
	raw, _ := rec["reasons"].([]any)
	out := make([]string, 0, len(raw))
	for _, v := range raw {
		s, _ := v.(string)
		out = append(out, s)
	}
	return out
}

// counter returns the value of the proxy's request counter for the label values.
func (e *env) counter(t testing.TB, app, outcome, code string) float64 {
	t.Helper()
	mfs, err := e.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "gatehouse_proxy_requests_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["app"] == app && labels["outcome"] == outcome && labels["code"] == code {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

// refusals returns the value of the proxy's refusal counter for app and reason.
func (e *env) refusals(t testing.TB, app, reason string) float64 {
	t.Helper()
	mfs, err := e.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "gatehouse_proxy_refusals_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["app"] == app && labels["reason"] == reason {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

// histogramCount returns how many durations the proxy observed for app.
func (e *env) histogramCount(t testing.TB, app string) uint64 {
	t.Helper()
	mfs, err := e.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "gatehouse_proxy_request_duration_seconds" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "app" && l.GetValue() == app {
					return m.GetHistogram().GetSampleCount()
				}
			}
		}
	}
	return 0
}

// refPattern is the reference line of Gatehouse's error page.
var refPattern = regexp.MustCompile(`Reference: [0-9a-f]{16}`)

// assertErrorPage checks an error page: status, a reference ID, the public message, and none of
// the private cause texts.
func assertErrorPage(t testing.TB, w *httptest.ResponseRecorder, status int, public string, causes ...string) {
	t.Helper()
	if w.Code != status {
		t.Fatalf("status = %d, want %d; body %q", w.Code, status, w.Body.String())
	}
	body := w.Body.String()
	if !refPattern.MatchString(body) {
		t.Errorf("error page has no reference ID: %q", body)
	}
	if public != "" && !strings.Contains(body, public) {
		t.Errorf("error page lacks %q: %q", public, body)
	}
	for _, c := range causes {
		if strings.Contains(body, c) {
			t.Errorf("error page shows the cause %q: %q", c, body)
		}
	}
	if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Errorf("Content-Type = %q", ct)
	}
}

// warnReason returns the reason of the last "request failed" record.
func (e *env) warnReason(t testing.TB) string {
	t.Helper()
	lines := e.logs.Lines(t, "request failed")
	if len(lines) == 0 {
		t.Fatal("no request-failed log line")
	}
	s, _ := lines[len(lines)-1]["reason"].(string)
	return s
}

// jwtClaims decodes the payload of a JWT without verifying it, to look at the raw claim set.
func jwtClaims(t testing.TB, raw string) map[string]any {
	t.Helper()
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", raw)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// headerFolded returns every value of the headers in h whose name folds (case, '_' for '-') to
// name.
func headerFolded(h http.Header, name string) []string {
	var out []string
	for k, vs := range h {
		if wire.FoldHeader(k) == wire.FoldHeader(name) {
			out = append(out, vs...)
		}
	}
	return out
}

// profileOf returns the wire profile by name, failing the test for unknown names.
func profileOf(t testing.TB, name string) *wire.Profile {
	t.Helper()
	p, ok := wire.ByName(name)
	if !ok {
		t.Fatalf("unknown profile %q", name)
	}
	return p
}
