package github

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/gatehouse/gatehouse/internal/identity"
	"github.com/gatehouse/gatehouse/internal/store"
)

// GitHub cannot be reached from tests (and must not be): fakeGitHub is an httptest server on
// 127.0.0.1 playing github.com's OAuth endpoints and the REST API endpoints the connector uses,
// with the pagination (Link headers) and the error answers GitHub documents. The connector is
// pointed at it through the unexported newConnector hook.

const (
	clientID    = "Iv1.test"
	secret      = "gh-secret"
	callbackURL = "https://auth.example.com/cdn-cgi/access/callback"
)

type email struct {
	Email    string `json:"email"`
	Primary  bool   `json:"primary"`
	Verified bool   `json:"verified"`
}

type team struct {
	Slug         string `json:"slug"`
	Organization struct {
		Login string `json:"login"`
	} `json:"organization"`
}

func mkTeam(org, slug string) team {
	t := team{Slug: slug}
	t.Organization.Login = org
	return t
}

type fakeGitHub struct {
	srv *httptest.Server

	emails []email
	orgs   []string
	teams  []team
	// perPage is the fake's page size (GitHub's per_page, kept small to test pagination).
	perPage int
	// nextHost, when set, is put into next links instead of the server's own host.
	nextHost string
	// tokenError makes the token endpoint answer 200 with this error.
	tokenError string
	apiStatus  int
	hugeUser   bool

	mu       sync.Mutex
	codes    map[string][2]string // code -> redirect_uri, code_challenge
	token    string
	apiCalls atomic.Int32
}

func newFakeGitHub(t *testing.T) *fakeGitHub {
	f := &fakeGitHub{
		codes:   map[string][2]string{},
		perPage: 100,
		emails: []email{
			{"alice@personal.example", false, true},
			{"Alice@Example.com", true, true},
		},
		orgs:  []string{"acme", "Umbrella"},
		teams: []team{mkTeam("acme", "platform"), mkTeam("acme", "eng"), mkTeam("Hidden-Org", "ops")},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login/oauth/access_token", f.accessToken)
	mux.HandleFunc("GET /api/user", f.api(func(*http.Request) any {
		u := map[string]any{"login": "alice", "name": "Alice Liddell", "email": "admin@example.com"} // public profile address: never used
		if f.hugeUser {
			u["bio"] = strings.Repeat("x", maxBody)
		}
		return u
	}))
	mux.HandleFunc("GET /api/user/emails", f.list(func() []any { return anySlice(f.emails) }))
	mux.HandleFunc("GET /api/user/orgs", f.list(func() []any {
		out := []any{}
		for _, o := range f.orgs {
			out = append(out, map[string]any{"login": o, "id": 1})
		}
		return out
	}))
	mux.HandleFunc("GET /api/user/teams", f.list(func() []any { return anySlice(f.teams) }))
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func anySlice[T any](s []T) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

func (f *fakeGitHub) endpoints() endpoints {
	return endpoints{authorize: f.srv.URL + "/login/oauth/authorize", token: f.srv.URL + "/login/oauth/access_token", api: f.srv.URL + "/api"}
}

// authorize plays github.com's authorization page for the connector's redirect URL.
func (f *fakeGitHub) authorize(t *testing.T, redirectURL string) url.Values {
	t.Helper()
	u, _ := url.Parse(redirectURL)
	q := u.Query()
	if u.Path != "/login/oauth/authorize" || q.Get("client_id") != clientID || q.Get("scope") != "read:user user:email read:org" ||
		q.Get("code_challenge_method") != "S256" || q.Get("state") == "" {
		t.Fatalf("bad authorization request %s", redirectURL)
	}
	code := fmt.Sprintf("code-%d", len(f.codes))
	f.mu.Lock()
	f.codes[code] = [2]string{q.Get("redirect_uri"), q.Get("code_challenge")}
	f.mu.Unlock()
	return url.Values{"code": {code}, "state": {q.Get("state")}}
}

func (f *fakeGitHub) accessToken(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	w.Header().Set("Content-Type", "application/json")
	f.mu.Lock()
	g, ok := f.codes[r.PostForm.Get("code")]
	delete(f.codes, r.PostForm.Get("code"))
	f.mu.Unlock()
	sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
	switch {
	case f.tokenError != "":
		_ = json.NewEncoder(w).Encode(map[string]string{"error": f.tokenError, "error_description": "nope"})
	case r.PostForm.Get("client_id") != clientID || r.PostForm.Get("client_secret") != secret:
		_ = json.NewEncoder(w).Encode(map[string]string{"error": "incorrect_client_credentials"})
	case !ok || g[0] != r.PostForm.Get("redirect_uri") || base64.RawURLEncoding.EncodeToString(sum[:]) != g[1]:
		// GitHub answers a bad code with HTTP 200 and an error field.
		_ = json.NewEncoder(w).Encode(map[string]string{"error": "bad_verification_code"})
	default:
		f.mu.Lock()
		f.token = "gho_" + strconv.Itoa(len(f.codes)) + "tok"
		tok := f.token
		f.mu.Unlock()
		_ = json.NewEncoder(w).Encode(map[string]string{"access_token": tok, "token_type": "bearer", "scope": "read:org,read:user,user:email"})
	}
}

func (f *fakeGitHub) authorized(w http.ResponseWriter, r *http.Request) bool {
	f.apiCalls.Add(1)
	f.mu.Lock()
	tok := f.token
	f.mu.Unlock()
	switch {
	case tok == "" || r.Header.Get("Authorization") != "Bearer "+tok:
		http.Error(w, `{"message":"Bad credentials"}`, http.StatusUnauthorized)
		return false
	case f.apiStatus != 0:
		http.Error(w, `{"message":"failure"}`, f.apiStatus)
		return false
	}
	return true
}

func (f *fakeGitHub) api(answer func(*http.Request) any) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if f.authorized(w, r) {
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(answer(r))
		}
	}
}

// list serves a paginated list with GitHub's page/per_page parameters and Link headers.
func (f *fakeGitHub) list(items func() []any) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !f.authorized(w, r) {
			return
		}
		all := items()
		page, _ := strconv.Atoi(r.URL.Query().Get("page"))
		page = max(page, 1)
		lo, hi := min((page-1)*f.perPage, len(all)), min(page*f.perPage, len(all))
		if hi < len(all) {
			next := *r.URL
			next.Scheme, next.Host = "http", r.Host
			if f.nextHost != "" {
				next.Host = f.nextHost
			}
			q := next.Query()
			q.Set("page", strconv.Itoa(page+1))
			next.RawQuery = q.Encode()
			w.Header().Set("Link", fmt.Sprintf(`<%s>; rel="next", <%s>; rel="last"`, next.String(), next.String()))
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(all[lo:hi])
	}
}

func (f *fakeGitHub) connector(t *testing.T) *Connector {
	t.Helper()
	c, err := newConnector(store.IdentityProvider{ID: "gh", Type: "github", Config: map[string]any{"client_id": clientID, "client_secret": secret}},
		identity.Env{HTTPClient: f.srv.Client()}, f.endpoints())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (f *fakeGitHub) login(t *testing.T, c *Connector, edit func(url.Values)) (*identity.Identity, error) {
	t.Helper()
	ctx := context.Background()
	req := identity.LoginRequest{State: "flow-1", CallbackURL: callbackURL}
	start, err := c.StartLogin(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	cb := f.authorize(t, start.RedirectURL)
	if edit != nil {
		edit(cb)
	}
	r := httptest.NewRequest(http.MethodGet, callbackURL+"?"+cb.Encode(), nil)
	return c.HandleCallback(ctx, r, req, start.FlowData)
}

func TestLogin(t *testing.T) {
	f := newFakeGitHub(t)
	c := f.connector(t)
	if c.Type() != "github" {
		t.Errorf("Type = %q", c.Type())
	}
	id, err := f.login(t, c, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []identity.GitHubOrg{
		{Name: "acme", Teams: []string{"eng", "platform"}},
		{Name: "Hidden-Org", Teams: []string{"ops"}},
		{Name: "Umbrella"},
	}
	if id.Email != "alice@example.com" || id.Name != "Alice Liddell" || id.IdP != (identity.IdP{ID: "gh", Type: "github"}) {
		t.Errorf("identity %+v", id)
	}
	if fmt.Sprint(id.GitHubOrgs) != fmt.Sprint(want) {
		t.Errorf("GitHubOrgs = %v, want %v", id.GitHubOrgs, want)
	}
}

func TestPagination(t *testing.T) {
	f := newFakeGitHub(t)
	f.perPage = 2
	f.emails = []email{{"a@x.example", false, true}, {"b@x.example", false, true}, {"c@x.example", false, false}, {"Bob@Example.com", true, true}}
	for i := range 7 {
		f.orgs = append(f.orgs, fmt.Sprintf("org%d", i))
	}
	id, err := f.login(t, f.connector(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	if id.Email != "bob@example.com" || len(id.GitHubOrgs) != 10 {
		t.Errorf("identity %+v", id)
	}

	// More than maxPages pages fails the login instead of truncating the list.
	f.perPage = 1
	f.orgs = nil
	for i := range maxPages + 1 {
		f.orgs = append(f.orgs, fmt.Sprintf("org%d", i))
	}
	if _, err := f.login(t, f.connector(t), nil); identity.FailureReason(err) != reasonAPI {
		t.Errorf("too many pages: %v", err)
	}

	// A next link to another host would carry the token away: refused.
	f.perPage, f.nextHost = 1, "evil.example"
	f.apiCalls.Store(0)
	if _, err := f.login(t, f.connector(t), nil); identity.FailureReason(err) != reasonAPI || !strings.Contains(err.Error(), "refusing to follow") {
		t.Errorf("foreign next link: %v", err)
	}
}

func TestLoginFailures(t *testing.T) {
	tests := []struct {
		name  string
		setup func(f *fakeGitHub)
		cb    func(url.Values)
		want  string
	}{
		{name: "wrong state", cb: func(q url.Values) { q.Set("state", "other") }, want: reasonStateMismatch},
		{name: "no state", cb: func(q url.Values) { q.Del("state") }, want: reasonStateMissing},
		{name: "two codes", cb: func(q url.Values) { q.Add("code", "x") }, want: reasonCallbackMalformed},
		{name: "user denied", cb: func(q url.Values) {
			q.Del("code")
			q.Set("error", "access_denied")
			q.Set("error_description", "The user has denied your application access.")
		}, want: reasonIdPError},
		{name: "no code", cb: func(q url.Values) { q.Del("code") }, want: reasonCodeMissing},
		{name: "bad code", cb: func(q url.Values) { q.Set("code", "forged") }, want: reasonTokenExchange},
		{name: "token error", setup: func(f *fakeGitHub) { f.tokenError = "redirect_uri_mismatch" }, want: reasonTokenExchange},
		{name: "api down", setup: func(f *fakeGitHub) { f.apiStatus = http.StatusBadGateway }, want: reasonAPI},
		{name: "api answer too large", setup: func(f *fakeGitHub) { f.hugeUser = true }, want: reasonAPI},
		{name: "primary unverified", setup: func(f *fakeGitHub) {
			f.emails = []email{{"alice@example.com", true, false}, {"alice@other.example", false, true}}
		}, want: reasonEmailUnverified},
		{name: "no primary", setup: func(f *fakeGitHub) { f.emails = []email{{"alice@other.example", false, true}} }, want: reasonEmailMissing},
		{name: "no addresses", setup: func(f *fakeGitHub) { f.emails = nil }, want: reasonEmailMissing},
		{name: "primary with display name", setup: func(f *fakeGitHub) { f.emails = []email{{"Eve <alice@example.com>", true, true}} }, want: reasonEmailInvalid},
		{name: "primary with KELVIN SIGN", setup: func(f *fakeGitHub) { f.emails = []email{{"\u212Aate@example.com", true, true}} }, want: reasonEmailInvalid},
		{name: "primary with a soft hyphen", setup: func(f *fakeGitHub) { f.emails = []email{{"ka\u00ADte@example.com", true, true}} }, want: reasonEmailInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeGitHub(t)
			if tt.setup != nil {
				tt.setup(f)
			}
			id, err := f.login(t, f.connector(t), tt.cb)
			var le *identity.LoginError
			if !errors.As(err, &le) || id != nil {
				t.Fatalf("login = %+v, %v; want a LoginError", id, err)
			}
			if le.Reason != tt.want {
				t.Errorf("reason %q, want %q (%v)", le.Reason, tt.want, err)
			}
		})
	}
}

func TestCallbackState(t *testing.T) {
	c := newFakeGitHub(t).connector(t)
	r := httptest.NewRequest(http.MethodGet, callbackURL+"?state=a%2Bb%20c&code=x", nil)
	if s, err := c.CallbackState(r); err != nil || s != "a+b c" {
		t.Errorf("CallbackState = %q, %v", s, err)
	}
	r = httptest.NewRequest(http.MethodGet, callbackURL+"?code=x", nil)
	if _, err := c.CallbackState(r); identity.FailureReason(err) != reasonStateMissing {
		t.Errorf("no state: %v", err)
	}
}

func TestNextLink(t *testing.T) {
	for _, tt := range []struct {
		headers []string
		want    string
	}{
		{nil, ""},
		{[]string{`<https://api.github.com/user/orgs?page=2>; rel="next", <https://api.github.com/user/orgs?page=5>; rel="last"`}, "https://api.github.com/user/orgs?page=2"},
		{[]string{`<https://a/1>; rel="prev"`, `<https://a/3>; rel="next"`}, "https://a/3"},
		{[]string{`<https://a/3>; rel="last next"`}, "https://a/3"},
		{[]string{`<https://a/3>; REL=next`}, "https://a/3"},
		{[]string{`<https://a/3>; rel="nextpage"`, `garbage`, `<unterminated; rel="next"`}, ""},
	} {
		if got := nextLink(tt.headers); got != tt.want {
			t.Errorf("nextLink(%q) = %q, want %q", tt.headers, got, tt.want)
		}
	}
}

func TestParseConfig(t *testing.T) {
	cfg, err := ParseConfig(map[string]any{"client_id": "id", "client_secret": map[string]any{"env": "GH_SECRET"}})
	if err != nil || cfg.ClientID != "id" || cfg.ClientSecret.Env != "GH_SECRET" {
		t.Fatalf("ParseConfig = %+v, %v", cfg, err)
	}
	_, err = ParseConfig(map[string]any{"client_id": 3, "client_secret": "", "org": "acme"})
	var es Errors
	if !errors.As(err, &es) {
		t.Fatalf("error %v", err)
	}
	var got []string
	for _, e := range es {
		got = append(got, e.Error())
	}
	want := []string{"client_id: expected a string", "client_secret: must not be empty", `org: unknown field "org" (github accepts: client_id, client_secret)`}
	if !slices.Equal(got, want) {
		t.Errorf("errors %q, want %q", got, want)
	}
	if _, err := ParseConfig(nil); err == nil || !strings.Contains(err.Error(), "client_id: is required") {
		t.Errorf("empty config: %v", err)
	}
	if _, err := New(store.IdentityProvider{ID: "gh", Config: map[string]any{"client_id": "x", "client_secret": map[string]any{"env": "GATEHOUSE_TEST_UNSET_GH"}}}, identity.Env{}); err == nil {
		t.Error("New resolved an unset secret")
	}
	c, err := New(store.IdentityProvider{ID: "gh", Config: map[string]any{"client_id": "x", "client_secret": "y"}}, identity.Env{})
	if err != nil || c.ep != githubEndpoints {
		t.Errorf("New: %v", err)
	}
}
