package mcp_test

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/gatehouse/gatehouse/internal/mcp"
	"github.com/gatehouse/gatehouse/internal/snapshot"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
)

// testAS is a small authorization server whose issuer has a path (so that discovery must find
// its OpenID configuration below the issuer), without dynamic client registration: clients
// are registered by hand and authenticate with client_secret_post.
type testAS struct {
	*httptest.Server
	issuer string
	now    func() time.Time
	// noS256 leaves code_challenge_methods_supported out of the metadata.
	noS256 bool

	mu        sync.Mutex
	codes     map[string]string // code -> PKCE challenge
	refresh   map[string]bool
	refreshes int
	// refuse makes the token endpoint answer invalid_grant.
	refuse bool
}

const (
	staticClient = "gatehouse-static"
	staticSecret = "s3cret&=+"
)

func startTestAS(t *testing.T, now func() time.Time) *testAS {
	t.Helper()
	a := &testAS{now: now, codes: map[string]string{}, refresh: map[string]bool{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /tenant/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		m := map[string]any{"issuer": a.issuer, "authorization_endpoint": a.URL + "/tenant/authorize", "token_endpoint": a.URL + "/tenant/token",
			"response_types_supported": []string{"code"}, "token_endpoint_auth_methods_supported": []string{"client_secret_post"},
			"authorization_response_iss_parameter_supported": true}
		a.mu.Lock()
		noS256 := a.noS256
		a.mu.Unlock()
		if !noS256 {
			m["code_challenge_methods_supported"] = []string{"plain", "S256"}
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		_ = json.NewEncoder(w).Encode(m)
	})
	mux.HandleFunc("POST /tenant/token", func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		defer a.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if r.PostFormValue("client_id") != staticClient || r.PostFormValue("client_secret") != staticSecret || a.refuse {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"error":"invalid_grant","error_description":"no"}`))
			return
		}
		switch r.PostFormValue("grant_type") {
		case "authorization_code":
			sum := sha256.Sum256([]byte(r.PostFormValue("code_verifier")))
			if a.codes[r.PostFormValue("code")] != base64.RawURLEncoding.EncodeToString(sum[:]) {
				w.WriteHeader(http.StatusBadRequest)
				_, _ = w.Write([]byte(`{"error":"invalid_grant"}`))
				return
			}
			delete(a.codes, r.PostFormValue("code"))
		case "refresh_token":
			a.refreshes++ // attempts, refused or not
			if !a.refresh[r.PostFormValue("refresh_token")] {
				w.WriteHeader(http.StatusBadRequest)
				_, _ = w.Write([]byte(`{"error":"invalid_grant"}`))
				return
			}
			delete(a.refresh, r.PostFormValue("refresh_token"))
			time.Sleep(20 * time.Millisecond) // long enough for concurrent callers to pile up
		}
		rt := rand.Text()
		a.refresh[rt] = true
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": "at-" + rand.Text(), "token_type": "bearer", "expires_in": "120", "refresh_token": rt})
	})
	a.Server = httptest.NewServer(mux)
	a.issuer = a.URL + "/tenant"
	t.Cleanup(a.Close)
	return a
}

// authorize plays the browser at the AS: it returns the callback query for an authorization
// URL.
func (a *testAS) authorize(t *testing.T, authURL string) url.Values {
	t.Helper()
	u, _ := url.Parse(authURL)
	q := u.Query()
	code := rand.Text()
	a.mu.Lock()
	a.codes[code] = q.Get("code_challenge")
	a.mu.Unlock()
	return url.Values{"code": {code}, "state": {q.Get("state")}, "iss": {a.issuer}}
}

// resourceServer serves protected resource metadata at the origin's root only (no challenge).
func resourceServer(t *testing.T, resource func(base string) string, as string) *httptest.Server {
	t.Helper()
	var s *httptest.Server
	s = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/.well-known/oauth-protected-resource" {
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(map[string]any{"resource": resource(s.URL), "authorization_servers": []string{as}})
			return
		}
		http.NotFound(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newVault(t *testing.T, now func() time.Time) (*mcp.Vault, store.MCPUpstreamAuth) {
	t.Helper()
	st, err := sqlstore.Open(t.Context(), "sqlite", filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	v, err := mcp.NewVault(mcp.VaultOptions{Store: st, MasterKey: key, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return v, st
}

// TestVaultStaticClient: discovery through root protected resource metadata and OpenID
// configuration below an issuer with a path; a static confidential client (client_secret_post);
// the refresh before expiry happens once however many callers want the token at once; a
// refresh the AS refuses deletes the grant and asks for authorization.
func TestVaultStaticClient(t *testing.T) {
	clock := &fakeClock{t: time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)}
	as := startTestAS(t, clock.Now)
	rs := resourceServer(t, func(base string) string { return base }, as.issuer)
	v, st := newVault(t, clock.Now)
	t.Setenv("GATEHOUSE_TEST_STATIC_SECRET", staticSecret)
	srv := &store.MCPServer{ID: "wiki", URL: rs.URL + "/v1/mcp", AuthType: store.MCPAuthOAuth,
		OAuth: &store.MCPServerOAuth{ClientID: staticClient, ClientSecret: map[string]any{"env": "GATEHOUSE_TEST_STATIC_SECRET"}, Scopes: []string{"wiki.read", "wiki.write"}}}
	const cb = "https://auth.example.com/.gatehouse/mcp/servers-callback"
	authURL, expires, err := v.Begin(t.Context(), srv, mcp.Principal{UserID: "u1", Email: "a@example.com", PortalID: "agents"}, cb)
	if err != nil {
		t.Fatal(err)
	}
	if !expires.Equal(clock.Now().Add(mcp.StateLifetime)) {
		t.Errorf("expires %v", expires)
	}
	u, _ := url.Parse(authURL)
	q := u.Query()
	for k, want := range map[string]string{"client_id": staticClient, "redirect_uri": cb, "resource": rs.URL, "scope": "wiki.read wiki.write",
		"code_challenge_method": "S256", "response_type": "code"} {
		if q.Get(k) != want {
			t.Errorf("%s = %q, want %q", k, q.Get(k), want)
		}
	}
	if u.Path != "/tenant/authorize" || !strings.HasPrefix(q.Get("state"), "agents~") || len(q.Get("code_challenge")) != 43 {
		t.Errorf("authorization URL %s", authURL)
	}

	// Only the user who started it finishes it, and only with the AS's iss.
	cbq := as.authorize(t, authURL)
	bad := url.Values{"code": cbq["code"], "state": cbq["state"], "iss": {"https://evil.example"}}
	if _, err := v.Finish(t.Context(), bad, "u1"); err == nil {
		t.Fatal("a response with another issuer finished")
	}
	authURL, _, _ = v.Begin(t.Context(), srv, mcp.Principal{UserID: "u1", PortalID: "agents"}, cb)
	cbq = as.authorize(t, authURL)
	if _, err := v.Finish(t.Context(), cbq, "u2"); !errors.Is(err, mcp.ErrStateWrongUser) {
		t.Fatalf("another user finishing: %v", err)
	}
	authURL, _, _ = v.Begin(t.Context(), srv, mcp.Principal{UserID: "u1", PortalID: "agents"}, cb)
	cbq = as.authorize(t, authURL)
	if _, err := v.Finish(t.Context(), cbq, "u1"); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Finish(t.Context(), cbq, "u1"); !errors.Is(err, mcp.ErrStateUnknown) {
		t.Errorf("a state finished twice: %v", err)
	}
	tok, err := v.Token(t.Context(), "wiki", "u1", false)
	if err != nil || !strings.HasPrefix(tok, "at-") {
		t.Fatalf("token %q %v", tok, err)
	}
	if _, err := v.Token(t.Context(), "wiki", "", false); !errors.Is(err, mcp.ErrAuthorizationRequired) {
		t.Errorf("the administrator's token without an authorization: %v", err)
	}

	// Expiry: 30 callers at once, one refresh.
	clock.Advance(90 * time.Second) // within the minute before expiry
	var wg sync.WaitGroup
	toks := make([]string, 30)
	errs := make([]error, 30)
	for i := range toks {
		wg.Go(func() { toks[i], errs[i] = v.Token(t.Context(), "wiki", "u1", false) })
	}
	wg.Wait()
	for i := range toks {
		if errs[i] != nil || toks[i] == tok || toks[i] != toks[0] {
			t.Fatalf("caller %d: %q %v (first %q, old %q)", i, toks[i], errs[i], toks[0], tok)
		}
	}
	as.mu.Lock()
	if as.refreshes != 1 {
		t.Errorf("%d refreshes, want 1", as.refreshes)
	}
	as.mu.Unlock()

	// The AS refuses the next refresh: the grant is gone.
	as.mu.Lock()
	as.refuse = true
	as.mu.Unlock()
	if _, err := v.Token(t.Context(), "wiki", "u1", true); !errors.Is(err, mcp.ErrAuthorizationRequired) {
		t.Fatalf("a refused refresh: %v", err)
	}
	if _, err := st.GetMCPUpstreamGrant(t.Context(), "wiki", "u1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the grant after a refused refresh: %v", err)
	}
}

// TestVaultRefusals: what Begin refuses before sending anyone to an authorization server, and
// an error the AS returns at the callback.
func TestVaultRefusals(t *testing.T) {
	clock := &fakeClock{t: time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)}
	as := startTestAS(t, clock.Now)
	v, _ := newVault(t, clock.Now)
	const cb = "https://auth.example.com/cb"
	static := &store.MCPServerOAuth{ClientID: staticClient}

	// Metadata for another server.
	rs := resourceServer(t, func(string) string { return "https://elsewhere.example/mcp" }, as.issuer)
	if _, _, err := v.Begin(t.Context(), &store.MCPServer{ID: "x", URL: rs.URL + "/mcp", AuthType: store.MCPAuthOAuth, OAuth: static}, mcp.Principal{}, cb); err == nil || !strings.Contains(err.Error(), "is not the server") {
		t.Errorf("resource of another server: %v", err)
	}
	// No PKCE with S256.
	as.mu.Lock()
	as.noS256 = true
	as.mu.Unlock()
	rs = resourceServer(t, func(base string) string { return base + "/mcp" }, as.issuer)
	if _, _, err := v.Begin(t.Context(), &store.MCPServer{ID: "x", URL: rs.URL + "/mcp", AuthType: store.MCPAuthOAuth, OAuth: static}, mcp.Principal{}, cb); err == nil || !strings.Contains(err.Error(), "S256") {
		t.Errorf("an AS without S256: %v", err)
	}
	as.mu.Lock()
	as.noS256 = false
	as.mu.Unlock()
	// No registration endpoint and no client.
	if _, _, err := v.Begin(t.Context(), &store.MCPServer{ID: "x", URL: rs.URL + "/mcp", AuthType: store.MCPAuthOAuth}, mcp.Principal{}, cb); err == nil || !strings.Contains(err.Error(), "oauth.client_id") {
		t.Errorf("no way to register: %v", err)
	}
	// An authorization server on a non-loopback http URL.
	rs = resourceServer(t, func(base string) string { return base + "/mcp" }, "http://as.example.com")
	if _, _, err := v.Begin(t.Context(), &store.MCPServer{ID: "x", URL: rs.URL + "/mcp", AuthType: store.MCPAuthOAuth, OAuth: static}, mcp.Principal{}, cb); err == nil || !strings.Contains(err.Error(), "not https") {
		t.Errorf("an http authorization server: %v", err)
	}
	// Not an oauth server.
	if _, _, err := v.Begin(t.Context(), &store.MCPServer{ID: "x", URL: rs.URL + "/mcp"}, mcp.Principal{}, cb); err == nil {
		t.Error("Begin on an unauthenticated server")
	}

	// The AS's error at the callback: the state is spent, nothing is stored.
	rs = resourceServer(t, func(base string) string { return base + "/mcp" }, as.issuer)
	srv := &store.MCPServer{ID: "x", URL: rs.URL + "/mcp", AuthType: store.MCPAuthOAuth, OAuth: static}
	authURL, _, err := v.Begin(t.Context(), srv, mcp.Principal{}, cb)
	if err != nil {
		t.Fatal(err)
	}
	state := mustQuery(t, authURL).Get("state")
	_, err = v.Finish(t.Context(), url.Values{"state": {state}, "error": {"access_denied"}, "error_description": {"the user said no\x00<script>"}, "iss": {as.issuer}}, "")
	var ase *mcp.ASError
	if !errors.As(err, &ase) || ase.Code != "access_denied" || strings.ContainsRune(ase.Description, 0) {
		t.Errorf("the AS's error: %v", err)
	}
	if _, err := v.Token(t.Context(), "x", "", false); !errors.Is(err, mcp.ErrAuthorizationRequired) {
		t.Errorf("a grant after the AS refused: %v", err)
	}
}

func mustQuery(t *testing.T, raw string) url.Values {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query()
}

func TestParseChallenge(t *testing.T) {
	for _, tc := range []struct {
		in             []string
		metadata, scop string
	}{
		{[]string{`Bearer resource_metadata="https://a.example/.well-known/oauth-protected-resource/mcp", scope="files:read files:write"`},
			"https://a.example/.well-known/oauth-protected-resource/mcp", "files:read files:write"},
		{[]string{`Basic realm="x"`, `bearer error="invalid_token", resource_metadata="https://b.example/m"`}, "https://b.example/m", ""},
		{[]string{`Basic realm="x", Bearer resource_metadata="https://c.example/m"`}, "https://c.example/m", ""},
		{[]string{`Basic realm="x"`}, "", ""},
	} {
		c, err := mcp.ParseChallenge(tc.in)
		if err != nil || c.ResourceMetadata != tc.metadata || c.Scope != tc.scop {
			t.Errorf("%q: %+v %v", tc.in, c, err)
		}
	}
}

func TestParseMetadata(t *testing.T) {
	const srv = "https://mcp.example.com/team/mcp"
	for _, tc := range []struct {
		doc string
		ok  bool
	}{
		{`{"resource":"https://mcp.example.com/team/mcp","authorization_servers":["https://as.example.com"]}`, true},
		{`{"resource":"https://MCP.example.com/team","authorization_servers":["https://as.example.com"]}`, true},
		{`{"resource":"https://mcp.example.com/","authorization_servers":["https://as.example.com"]}`, true},
		{`{"resource":"https://mcp.example.com/tea","authorization_servers":["https://as.example.com"]}`, false},
		{`{"resource":"https://evil.example.com/team/mcp","authorization_servers":["https://as.example.com"]}`, false},
		{`{"resource":"http://mcp.example.com/team/mcp","authorization_servers":["https://as.example.com"]}`, false},
		{`{"resource":"https://mcp.example.com/team/mcp","authorization_servers":[]}`, false},
		{`{"resource":"https://mcp.example.com/team/mcp","authorization_servers":["javascript:alert(1)"]}`, false},
		{`{"resource":"https://mcp.example.com/team/mcp","authorization_servers":["http://as.example.com"]}`, false},
		{`{"resource":"https://mcp.example.com/team/mcp#x","authorization_servers":["https://as.example.com"]}`, false},
		{`[]`, false},
	} {
		_, err := mcp.ParseResourceMetadata([]byte(tc.doc), srv)
		if (err == nil) != tc.ok {
			t.Errorf("%s: %v", tc.doc, err)
		}
	}
	base := `"authorization_endpoint":"https://as.example.com/a","token_endpoint":"https://as.example.com/t","code_challenge_methods_supported":["S256"]`
	for _, tc := range []struct {
		doc string
		ok  bool
	}{
		{`{"issuer":"https://as.example.com",` + base + `}`, true},
		{`{"issuer":"https://as.example.com/",` + base + `}`, true},
		{`{"issuer":"https://other.example.com",` + base + `}`, false},
		{`{"issuer":"https://as.example.com","authorization_endpoint":"https://as.example.com/a","token_endpoint":"https://as.example.com/t","code_challenge_methods_supported":["plain"]}`, false},
		{`{"issuer":"https://as.example.com","authorization_endpoint":"https://as.example.com/a","code_challenge_methods_supported":["S256"]}`, false},
		{`{"issuer":"https://as.example.com","authorization_endpoint":"http://as.example.com/a","token_endpoint":"https://as.example.com/t","code_challenge_methods_supported":["S256"]}`, false},
		{`{"issuer":"https://as.example.com",` + base + `,"registration_endpoint":"javascript:x"}`, false},
		{`{"issuer":"https://as.example.com",` + base + `,"response_types_supported":["token"]}`, false},
	} {
		_, err := mcp.ParseAuthServerMetadata([]byte(tc.doc), "https://as.example.com")
		if (err == nil) != tc.ok {
			t.Errorf("%s: %v", tc.doc, err)
		}
	}
}

func TestParseTokenResponse(t *testing.T) {
	for _, tc := range []struct {
		status int
		body   string
		ok     bool
		code   string
	}{
		{200, `{"access_token":"a","token_type":"Bearer","expires_in":60}`, true, ""},
		{200, `{"access_token":"a","token_type":"mac"}`, false, ""},
		{200, `{"access_token":"","token_type":"Bearer"}`, false, ""},
		{200, `{"access_token":"a b","token_type":"Bearer"}`, false, ""},
		{200, `{"error":"invalid_grant"}`, false, "invalid_grant"},
		{400, `{"error":"invalid_grant","error_description":"expired"}`, false, "invalid_grant"},
		{400, `{"error":"<script>"}`, false, "invalid_error"},
		{502, `<html>bad gateway</html>`, false, "server_error"},
	} {
		_, err := mcp.ParseTokenResponse(tc.status, "application/json", []byte(tc.body))
		var ase *mcp.ASError
		if (err == nil) != tc.ok || tc.code != "" && (!errors.As(err, &ase) || ase.Code != tc.code) {
			t.Errorf("%d %s: %v", tc.status, tc.body, err)
		}
	}
}

// TestOnBehalfHiddenFromServiceTokens: a server a portal uses on behalf of its users is
// neither listed to nor callable by a service token, which has no user whose grant could be
// used (and never gets the administrator's instead).
func TestOnBehalfHiddenFromServiceTokens(t *testing.T) {
	e := newEnv(t)
	e.cfg.MCPPortals[0].Servers[0].OnBehalf = true
	snap, err := snapshot.Compile(e.cfg, snapshot.Options{Scheme: "https"})
	if err != nil {
		t.Fatal(err)
	}
	e.holder.Store(snap)
	before := adminOnlyRuns.Load()
	cs := connect(t, e, "admin.access", adminSecret)
	if got := toolNames(t, cs); len(got) != 0 {
		t.Errorf("a service token sees on_behalf tools: %v", got)
	}
	if _, err := cs.CallTool(t.Context(), &sdk.CallToolParams{Name: "tickets_admin_only", Arguments: map[string]any{}}); err == nil {
		t.Error("a service token called an on_behalf tool")
	}
	if adminOnlyRuns.Load() != before {
		t.Error("the upstream ran the tool")
	}
}

// BenchmarkVaultToken is the grant lookup every call of an oauth server pays: the opened grant
// kept for StateTTL, from parallel callers.
func BenchmarkVaultToken(b *testing.B) {
	clock := &fakeClock{t: time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)}
	st, err := sqlstore.Open(b.Context(), "sqlite", filepath.Join(b.TempDir(), "db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	key := make([]byte, 32)
	v, err := mcp.NewVault(mcp.VaultOptions{Store: st, MasterKey: key, Now: clock.Now})
	if err != nil {
		b.Fatal(err)
	}
	as := httptest.NewServer(http.NotFoundHandler())
	defer as.Close()
	if err := mcp.PutGrantForTest(b.Context(), v, "wiki", "u1", "at-1", clock.Now().Add(time.Hour)); err != nil {
		b.Fatal(err)
	}
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := v.Token(b.Context(), "wiki", "u1", false); err != nil {
				b.Fatal(err)
			}
		}
	})
}
