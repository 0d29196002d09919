package google

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/identity"
	"github.com/gatehouse/gatehouse/internal/identity/oidc"
	"github.com/gatehouse/gatehouse/internal/identity/oidc/oidctest"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Tests cannot reach Google: every login here runs against a local oidctest provider, to which
// the preset is pointed through the unexported newConnector hook. What is tested is the preset's
// own part (configuration, hd in the request, the hd claim check); the OIDC checks are package
// oidc's and tested there.

func connector(t *testing.T, p *oidctest.Provider, extra map[string]any) *oidc.Connector {
	t.Helper()
	raw := map[string]any{"client_id": oidctest.ClientID, "client_secret": oidctest.ClientSecret}
	for k, v := range extra {
		raw[k] = v
	}
	c, err := newConnector(store.IdentityProvider{ID: "google", Type: "google", Config: raw},
		identity.Env{HTTPClient: p.Client(), Now: p.Clock.Now}, p.Issuer)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func login(t *testing.T, p *oidctest.Provider, c *oidc.Connector) (*identity.Identity, url.Values, error) {
	t.Helper()
	ctx := context.Background()
	req := identity.LoginRequest{State: "st", CallbackURL: "https://auth.example.com/cdn-cgi/access/callback"}
	start, err := c.StartLogin(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(start.RedirectURL)
	cb := p.Authorize(t, start.RedirectURL)
	r := httptest.NewRequest(http.MethodGet, req.CallbackURL+"?"+cb.Encode(), nil)
	id, err := c.HandleCallback(ctx, r, req, start.FlowData)
	return id, u.Query(), err
}

func TestLogin(t *testing.T) {
	p := oidctest.New(t)
	c := connector(t, p, map[string]any{"prompt": "select_account"})
	if c.Type() != "google" {
		t.Errorf("Type = %q", c.Type())
	}
	id, q, err := login(t, p, c)
	if err != nil {
		t.Fatal(err)
	}
	if id.Email != "alice@example.com" || id.IdP != (identity.IdP{ID: "google", Type: "google"}) {
		t.Errorf("identity %+v", id)
	}
	if q.Has("hd") || q.Get("prompt") != "select_account" || q.Get("code_challenge_method") != "S256" {
		t.Errorf("auth request %v", q)
	}
	// The scheme-less issuer alias is Google's only, not accepted from any other provider.
	p.IDTokenClaims = func(m map[string]any) { m["iss"] = issuerNoScheme }
	if _, _, err := login(t, p, c); identity.FailureReason(err) != "oidc-issuer-mismatch" {
		t.Errorf("alias from a non-Google issuer: %v", err)
	}
}

func TestAppsDomain(t *testing.T) {
	for _, tt := range []struct {
		name string
		hd   any // nil: no hd claim
		want string
	}{
		{"same domain", "sales.example.com", ""},
		{"domain in upper case", "SALES.example.com", ""},
		{"no hd (a consumer account)", nil, reasonHostedDomain},
		{"another domain", "evil.com", reasonHostedDomain},
		{"subdomain", "eu.sales.example.com", reasonHostedDomain},
		{"hd not a string", []string{"sales.example.com"}, reasonHostedDomain},
		{"LONG S look-alike", "\u017Fales.example.com", reasonHostedDomain},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := oidctest.New(t)
			p.IDTokenClaims = func(m map[string]any) {
				if tt.hd != nil {
					m["hd"] = tt.hd
				}
			}
			c := connector(t, p, map[string]any{"apps_domain": "Sales.Example.COM"})
			id, q, err := login(t, p, c)
			if q.Get("hd") != "sales.example.com" {
				t.Errorf("auth request hd = %q", q.Get("hd"))
			}
			if tt.want == "" {
				if err != nil || id == nil {
					t.Fatalf("login: %v", err)
				}
				return
			}
			if got := identity.FailureReason(err); got != tt.want {
				t.Errorf("reason %q, want %q (%v)", got, tt.want, err)
			}
		})
	}
}

func TestParseConfig(t *testing.T) {
	cfg, err := ParseConfig(map[string]any{"client_id": "id", "client_secret": map[string]any{"env": "G"}, "apps_domain": "example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.OIDC.Issuer != Issuer || cfg.AppsDomain != "example.com" || !cfg.OIDC.PKCE || cfg.OIDC.Manual() {
		t.Errorf("cfg %+v / %+v", cfg, cfg.OIDC)
	}
	_, err = ParseConfig(map[string]any{
		"client_secret": "x", "issuer": "https://evil.example", "auth_url": "https://evil.example/a",
		"apps_domain": "https://example.com", "prompt": "sometimes",
	})
	var es oidc.Errors
	if !errors.As(err, &es) {
		t.Fatalf("error %v", err)
	}
	want := []string{
		"apps_domain: must be a domain name",
		`auth_url: unknown field "auth_url" (google accepts`,
		"client_id: is required",
		`issuer: unknown field "issuer"`,
		`prompt: unknown value "sometimes"`,
	}
	if len(es) != len(want) {
		t.Fatalf("errors:\n%v", err)
	}
	for i, w := range want {
		if !strings.HasPrefix(es[i].Error(), w) {
			t.Errorf("error %d = %q, want %q…", i, es[i].Error(), w)
		}
	}
	for _, d := range []string{"", "example", "a..b", "-a.com", "a b.com", "1.2.3.4", "user@example.com"} {
		if _, msg := parseDomain(d); msg == "" {
			t.Errorf("apps_domain %q accepted", d)
		}
	}
	if _, err := New(store.IdentityProvider{ID: "g", Type: "google", Config: map[string]any{"client_id": "x"}}, identity.Env{}); err == nil {
		t.Error("New accepted a config without client_secret")
	}
}
