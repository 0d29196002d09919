package oidcop_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/httpx"
	"github.com/gatehouse/gatehouse/internal/identity"
	"github.com/gatehouse/gatehouse/internal/keys"
	"github.com/gatehouse/gatehouse/internal/policy"
	"github.com/gatehouse/gatehouse/internal/saas"
	"github.com/gatehouse/gatehouse/internal/saas/oidcop"
	"github.com/gatehouse/gatehouse/internal/session"
	"github.com/gatehouse/gatehouse/internal/snapshot"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

// Test fixture values.
const (
	appID        = "wiki-saas"
	clientID     = "wiki-client"
	clientSecret = "s3cret:with%odd&chars"
	redirectURI  = "https://saas.example.com/oauth/callback"
	redirectURI2 = "https://saas.example.com/oauth/callback2?tenant=7"
	userEmail    = "alice@example.com"
	sessionID    = "session-1"
)

var clockStart = time.Date(2031, time.March, 4, 10, 0, 0, 0, time.UTC)

func secretHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return fmt.Sprintf("%x", sum)
}

// baseApp is the OIDC SaaS app every test starts from: confidential client, refresh tokens,
// groups filtered to "eng-*", custom claims.
func baseApp() *store.SaaSApp {
	return &store.SaaSApp{
		AuthType:           store.SaaSAuthOIDC,
		ClientID:           clientID,
		ClientSecretSHA256: secretHash(clientSecret),
		RedirectURIs:       []string{redirectURI, redirectURI2},
		Scopes:             []string{"openid", "email", "profile", "groups"},
		GrantTypes:         []string{"authorization_code", "refresh_tokens"},
		GroupFilterRegex:   "^eng-",
		CustomClaims: []store.OIDCClaim{
			{Name: "department", Scope: "profile", Source: store.AttributeSource{Name: "dept",
				NameByIdP: []store.IdPSourceName{{IdPID: "other-idp", SourceName: "division"}}}},
			{Name: "employee_id", Scope: "email", Source: store.AttributeSource{Name: "empid"}},
		},
	}
}

// harness is one Gatehouse with one OIDC SaaS app, a real SQLite store and key manager, and a
// fake saas.Env whose Authorize and Recheck the test controls.
type harness struct {
	t     testing.TB
	clock *storetest.Clock
	st    *sqlstore.Store
	// faults is the store the provider uses: st, with failures the test switches on.
	faults *faultyStore
	keys   *keys.Manager
	holder *snapshot.Holder
	p      *oidcop.Provider
	user   *store.User
	ident  *identity.Identity
	client func(*http.Request) (netip.Addr, string)

	mu sync.Mutex
	// cookieLogin makes Authorize send browsers without the login cookie to /login, which
	// sets it (see server).
	cookieLogin bool
	loggedOut   bool
	denied      bool
	authorized  int
	returnPaths []string
	// freshness records what each Authorize call asked; loginAt is when the fake org session's
	// login happened (the stored session's CreatedAt until a test moves it).
	freshness []session.Freshness
	loginAt   time.Time
	recheck   func(ctx context.Context, r *http.Request, app *snapshot.App, userID string) (*identity.Identity, policy.Decision, error)
}

type harnessOpts struct {
	app *store.SaaSApp
	// start is the fake clock's start (clockStart when zero); interop tests use the real time
	// so that relying parties accept the tokens' iat and exp.
	start      time.Time
	authDomain string
	snapOpts   snapshot.Options
	benchmark  bool
	// client, when set, is the client the composition root resolved for each request (carried
	// in the request context, as httpx.ClientResolver does).
	client func(*http.Request) (netip.Addr, string)
}

func newHarness(t testing.TB, o harnessOpts) *harness {
	t.Helper()
	if o.app == nil {
		o.app = baseApp()
	}
	if o.authDomain == "" {
		o.authDomain = "auth.example.com"
	}
	if o.snapOpts.Scheme == "" {
		o.snapOpts = snapshot.Options{Scheme: "https", Port: 443}
	}
	if o.start.IsZero() {
		o.start = clockStart
	}
	h := &harness{t: t, clock: storetest.NewClock(o.start), holder: &snapshot.Holder{}}
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, "sqlite", filepath.Join(t.TempDir(), "gatehouse.db"), sqlstore.WithClock(h.clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	h.st = st
	km, err := keys.NewManager(st, bytes.Repeat([]byte{0x42}, keys.MasterKeySize),
		keys.Options{Issuer: "https://" + o.authDomain, Now: h.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	if err := km.Load(ctx); err != nil {
		t.Fatal(err)
	}
	h.keys = km
	h.setApp(o.authDomain, o.snapOpts, o.app)

	h.ident = &identity.Identity{
		Email: userEmail, Name: "Alice Liddell",
		IdP:        identity.IdP{ID: "idp-oidc", Type: "oidc"},
		Groups:     []identity.Group{{Name: "eng-backend"}, {Name: "sales"}, {Name: "eng-oncall"}},
		AMR:        []string{"pwd", "mfa"},
		OIDCClaims: map[string][]string{"dept": {"R&D"}, "empid": {"E-1234"}},
	}
	raw, _ := json.Marshal(h.ident)
	u, err := st.UpsertUserByEmail(ctx, userEmail, store.LastSeen{IdPID: "idp-oidc", IdPType: "oidc", Identity: raw})
	if err != nil {
		t.Fatal(err)
	}
	h.user = u
	h.ident.UserID = u.ID
	h.loginAt = h.clock.Now().Add(-10 * time.Minute)
	if err := st.CreateSession(ctx, &store.Session{ID: sessionID, UserID: u.ID, Email: userEmail, IdPID: "idp-oidc",
		CreatedAt: h.loginAt, ExpiresAt: h.clock.Now().Add(24 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	h.faults = &faultyStore{Store: st}
	env := saas.Env{
		Store: h.faults, Keys: km, Snapshots: h.holder, Log: logger, Now: h.clock.Now,
		Audit:     &audit.Recorder{Store: st, Log: logger, Now: h.clock.Now},
		Authorize: h.authorize,
		Recheck: func(ctx context.Context, r *http.Request, app *snapshot.App, userID string) (*identity.Identity, policy.Decision, error) {
			h.mu.Lock()
			f := h.recheck
			h.mu.Unlock()
			if f != nil {
				return f(ctx, r, app, userID)
			}
			id := *h.ident
			return &id, policy.Decision{Action: policy.ActionAllow, PolicyID: "allow-all", Reasons: []string{"policy-matched"}}, nil
		},
	}
	h.client = o.client
	if o.benchmark {
		env.Audit = nil
	}
	h.p = oidcop.New(env)
	return h
}

// setApp compiles and publishes a configuration with app as the only application.
func (h *harness) setApp(authDomain string, opts snapshot.Options, app *store.SaaSApp) {
	h.t.Helper()
	cfg := &store.Config{
		Version:      1,
		Organization: store.Organization{Name: "Example", AuthDomain: authDomain},
		Applications: []store.Application{{ID: appID, Type: store.AppSaaS, Name: "Wiki SaaS", SaaSApp: app,
			Policies: []store.PolicyLink{{Ref: "allow-all", Precedence: 1}}}},
		Policies: []store.Policy{{ID: "allow-all", Decision: store.DecisionAllow, Include: []store.Rule{{Everyone: &store.Empty{}}}}},
	}
	snap, err := snapshot.Compile(cfg, opts)
	if err != nil {
		h.t.Fatal(err)
	}
	h.holder.Store(snap)
}

// authorize is the fake saas.Env.Authorize: a login redirect when logged out, a 403 block page
// when denied, else a grant for the test user.
func (h *harness) authorize(w http.ResponseWriter, r *http.Request, app *snapshot.App, returnPath string, fresh session.Freshness) (*session.Grant, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.authorized++
	h.returnPaths = append(h.returnPaths, returnPath)
	h.freshness = append(h.freshness, fresh)
	if !fresh.AuthAfter.IsZero() && h.loginAt.Before(fresh.AuthAfter) {
		// Too old a login: a real login step logs in again.
		http.Redirect(w, r, "/login?return="+url.QueryEscape(returnPath), http.StatusFound)
		return nil, true
	}
	loggedIn := true
	if h.cookieLogin {
		c, err := r.Cookie(loginCookie)
		loggedIn = err == nil && c.Value == "alice"
	}
	switch {
	case h.loggedOut || !loggedIn:
		http.Redirect(w, r, "/login?return="+url.QueryEscape(returnPath), http.StatusFound)
		return nil, true
	case h.denied:
		http.Error(w, "blocked", http.StatusForbidden)
		return nil, true
	}
	id := *h.ident
	return &session.Grant{Identity: &id, SessionID: sessionID,
		Decision: policy.Decision{Action: policy.ActionAllow, PolicyID: "allow-all", Reasons: []string{"policy-matched"}}}, false
}

const loginCookie = "test_login"

// server serves the provider and a /login page that logs the browser in (sets the login
// cookie) and sends it back to ?return=, on 127.0.0.1; it returns the listener's port.
func (h *harness) serve(t testing.TB, ln net.Listener) {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		ret := r.URL.Query().Get("return")
		if !strings.HasPrefix(ret, "/") || strings.HasPrefix(ret, "//") {
			http.Error(w, "bad return", http.StatusBadRequest)
			return
		}
		http.SetCookie(w, &http.Cookie{Name: loginCookie, Value: "alice", Path: "/", HttpOnly: true})
		http.Redirect(w, r, ret, http.StatusFound)
	})
	mux.Handle("/", h.handler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
}

func (h *harness) set(f func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	f()
}

func (h *harness) issuer() string {
	s := h.holder.Load()
	return s.Issuer + s.Profile.Prefix + "sso/oidc/" + appID
}

// handler routes <prefix>sso/oidc/<app>/<rest> to the provider, as package authn does.
func (h *harness) handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		snap := h.holder.Load()
		rest, ok := strings.CutPrefix(r.URL.Path, snap.Profile.Prefix+"sso/oidc/")
		if !ok {
			http.NotFound(w, r)
			return
		}
		id, rest, _ := strings.Cut(rest, "/")
		if h.client != nil {
			ip, country := h.client(r)
			r = r.WithContext(httpx.WithClient(r.Context(), httpx.Client{IP: ip, Country: country}))
		}
		h.p.ServeHTTP(w, r, snap.Apps[id], rest)
	})
}

func (h *harness) do(r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.handler().ServeHTTP(w, r)
	return w
}

func (h *harness) get(endpoint string, q url.Values) *httptest.ResponseRecorder {
	u := h.issuer() + "/" + endpoint
	if q != nil {
		u += "?" + q.Encode()
	}
	return h.do(httptest.NewRequest(http.MethodGet, u, nil))
}

// authzParams is a valid authorization request with PKCE for verifier.
func authzParams(verifier string) url.Values {
	q := url.Values{
		"response_type": {"code"}, "client_id": {clientID}, "redirect_uri": {redirectURI},
		"scope": {"openid email profile groups"}, "state": {"state-123"}, "nonce": {"nonce-456"},
	}
	if verifier != "" {
		q.Set("code_challenge", s256(verifier))
		q.Set("code_challenge_method", "S256")
	}
	return q
}

const verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk-verifier-0001"

func s256(v string) string {
	sum := sha256.Sum256([]byte(v))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// location returns the redirect of w, failing unless it is a 302 to redirect_uri.
func location(t testing.TB, w *httptest.ResponseRecorder, wantPrefix string) url.Values {
	t.Helper()
	if w.Code != http.StatusFound {
		t.Fatalf("status %d, want 302; body %.300s", w.Code, w.Body.String())
	}
	loc := w.Header().Get("Location")
	if !strings.HasPrefix(loc, wantPrefix+"?") && !strings.HasPrefix(loc, wantPrefix+"&") {
		t.Fatalf("Location %q, want %q with parameters", loc, wantPrefix)
	}
	u, err := url.Parse(loc)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query()
}

// code runs an authorization request and returns the code.
func (h *harness) code(t testing.TB, q url.Values) string {
	t.Helper()
	w := h.get("authorization", q)
	got := location(t, w, q.Get("redirect_uri"))
	if got.Get("code") == "" || got.Get("error") != "" {
		t.Fatalf("authorization response %v, want a code", got)
	}
	if got.Get("state") != q.Get("state") || got.Get("iss") != h.issuer() {
		t.Fatalf("authorization response state %q iss %q, want %q and %q", got.Get("state"), got.Get("iss"), q.Get("state"), h.issuer())
	}
	return got.Get("code")
}

// auth is how a token request authenticates the client.
type auth int

const (
	authBasic auth = iota
	authPost
	authNone
)

func (h *harness) tokenReq(a auth, form url.Values) *httptest.ResponseRecorder {
	form = cloneValues(form)
	switch a {
	case authPost:
		form.Set("client_id", clientID)
		form.Set("client_secret", clientSecret)
	case authNone:
		if !form.Has("client_id") {
			form.Set("client_id", clientID)
		}
	}
	r := httptest.NewRequest(http.MethodPost, h.issuer()+"/token", strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if a == authBasic {
		r.SetBasicAuth(url.QueryEscape(clientID), url.QueryEscape(clientSecret))
	}
	return h.do(r)
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = slices.Clone(vs)
	}
	return out
}

type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
	IDToken      string `json:"id_token"`
	Scope        string `json:"scope"`
}

func codeForm(code, verifier string) url.Values {
	f := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI}}
	if verifier != "" {
		f.Set("code_verifier", verifier)
	}
	return f
}

func refreshForm(rt string) url.Values {
	return url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}
}

// okTokens decodes a successful token response.
func okTokens(t testing.TB, w *httptest.ResponseRecorder) *tokenResponse {
	t.Helper()
	if w.Code != http.StatusOK {
		t.Fatalf("token endpoint answered %d: %s", w.Code, w.Body.String())
	}
	if cc := w.Header().Get("Cache-Control"); cc != "no-store" {
		t.Errorf("token response Cache-Control %q, want no-store", cc)
	}
	var tr tokenResponse
	if err := json.Unmarshal(w.Body.Bytes(), &tr); err != nil {
		t.Fatal(err)
	}
	return &tr
}

// oauthErr checks an RFC 6749 error response.
func oauthErr(t testing.TB, w *httptest.ResponseRecorder, status int, code string) {
	t.Helper()
	var e struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil {
		t.Fatalf("error body %q: %v", w.Body.String(), err)
	}
	if w.Code != status || e.Error != code {
		t.Fatalf("got %d %q (%s), want %d %q", w.Code, e.Error, e.Description, status, code)
	}
	if w.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("error response Cache-Control %q, want no-store", w.Header().Get("Cache-Control"))
	}
}

func (h *harness) userinfo(accessToken string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodGet, h.issuer()+"/userinfo", nil)
	if accessToken != "" {
		r.Header.Set("Authorization", "Bearer "+accessToken)
	}
	return h.do(r)
}

// lastEvent returns the newest auth event with the given action.
func (h *harness) lastEvent(t testing.TB, action string) store.AuthEvent {
	t.Helper()
	evs, err := h.st.ListAuthEvents(context.Background(), store.AuthEventQuery{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs {
		if e.Action == action {
			return e
		}
	}
	t.Fatalf("no %s auth event", action)
	return store.AuthEvent{}
}

// wantEvent checks the newest event of action.
func (h *harness) wantEvent(t testing.TB, action string, allowed bool, reason string) {
	t.Helper()
	e := h.lastEvent(t, action)
	if e.Allowed != allowed || !slices.Contains(e.Reasons, reason) || e.AppID != appID {
		t.Errorf("last %s event: allowed %v, reasons %v, app %q; want allowed %v with reason %q for %q", action, e.Allowed, e.Reasons, e.AppID, allowed, reason, appID)
	}
}

// decodeJWT verifies a JWT with the harness's keys and returns its header and claims.
func (h *harness) decodeJWT(t testing.TB, raw string) (header, claims map[string]any) {
	t.Helper()
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		t.Fatalf("JWT has %d parts", len(parts))
	}
	hb, err1 := base64.RawURLEncoding.DecodeString(parts[0])
	pb, err2 := base64.RawURLEncoding.DecodeString(parts[1])
	if err1 != nil || err2 != nil || json.Unmarshal(hb, &header) != nil || json.Unmarshal(pb, &claims) != nil {
		t.Fatalf("undecodable JWT %q", raw)
	}
	kid, _ := header["kid"].(string)
	pub, ok := h.keys.PublicKey(kid)
	if !ok || header["alg"] != "RS256" {
		t.Fatalf("JWT header %v: unknown key or alg", header)
	}
	if err := verifyRS256(pub, parts); err != nil {
		t.Fatalf("JWT signature: %v", err)
	}
	return header, claims
}

func verifyRS256(pub *rsa.PublicKey, parts []string) error {
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return err
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	return rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig)
}

var httpsOpts = snapshot.Options{Scheme: "https", Port: 443}

// faultyStore is a store whose OIDC code creation and session reads fail while the test says so.
type faultyStore struct {
	store.Store
	failCreateCode, failGetSession atomic.Bool
}

var errInjected = errors.New("injected store failure")

func (f *faultyStore) CreateOIDCCode(ctx context.Context, c *store.OIDCCode) error {
	if f.failCreateCode.Load() {
		return fmt.Errorf("create code: %w: %w", store.ErrUnavailable, errInjected)
	}
	return f.Store.CreateOIDCCode(ctx, c)
}

func (f *faultyStore) GetSession(ctx context.Context, id string) (*store.Session, error) {
	if f.failGetSession.Load() {
		return nil, fmt.Errorf("get session: %w: %w", store.ErrUnavailable, errInjected)
	}
	return f.Store.GetSession(ctx, id)
}
