package oidc

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/identity"
	"github.com/gatehouse/gatehouse/internal/store"
)

func TestParseConfigDefaults(t *testing.T) {
	cfg, err := ParseConfig(map[string]any{
		"client_id":     "gh",
		"client_secret": map[string]any{"env": "OIDC_SECRET"},
		"issuer":        "https://idp.example.com/realms/x",
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cfg.Scopes, []string{"openid", "email", "profile"}) || !cfg.PKCE || cfg.EmailClaimName != "email" ||
		cfg.Manual() || cfg.ClientSecret.Env != "OIDC_SECRET" {
		t.Errorf("cfg = %+v", cfg)
	}
	cfg, err = ParseConfig(map[string]any{
		"client_id": "gh", "client_secret": "x", "issuer": "http://127.0.0.1:8080",
		"auth_url": "http://127.0.0.1:8080/a", "token_url": "http://localhost:8080/t", "certs_url": "https://idp.example.com/k",
		"userinfo_url": "https://idp.example.com/u", "scopes": []any{"openid", "groups"}, "pkce_enabled": false,
		"email_claim_name": "upn", "claims": []any{"dept"}, "prompt": "login consent",
	})
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.Manual() || cfg.PKCE || cfg.UserinfoURL == "" || !slices.Equal(cfg.Claims, []string{"dept"}) || cfg.Prompt != "login consent" {
		t.Errorf("cfg = %+v", cfg)
	}
}

func TestParseConfigErrors(t *testing.T) {
	base := func() map[string]any {
		return map[string]any{"client_id": "c", "client_secret": "topsecret-value", "issuer": "https://idp.example.com"}
	}
	tests := []struct {
		name string
		edit func(map[string]any)
		want []string // "field: message substring"
	}{
		{"empty", func(m map[string]any) { clear(m) }, []string{
			"client_id: is required", "client_secret: is required", "issuer: is required"}},
		{"unknown field", func(m map[string]any) { m["redirect_url"] = "x" }, []string{`redirect_url: unknown field "redirect_url"`}},
		{"wrong types", func(m map[string]any) {
			m["client_id"] = 5
			m["pkce_enabled"] = "yes"
			m["claims"] = "dept"
			m["scopes"] = 3
		}, []string{"claims: expected a list", "client_id: expected a string", "pkce_enabled: expected true or false", "scopes: expected a list"}},
		{"http issuer", func(m map[string]any) { m["issuer"] = "http://idp.example.com" }, []string{"issuer: must use https"}},
		{"issuer with query", func(m map[string]any) { m["issuer"] = "https://idp.example.com/?tenant=1" }, []string{"issuer: must not have a query"}},
		{"relative issuer", func(m map[string]any) { m["issuer"] = "idp.example.com" }, []string{"issuer: must be an absolute URL"}},
		{"issuer with userinfo", func(m map[string]any) { m["issuer"] = "https://u:p@idp.example.com" }, []string{"issuer: must not contain user information"}},
		{"partial manual endpoints", func(m map[string]any) { m["auth_url"] = "https://idp.example.com/a" }, []string{
			"certs_url: is required when endpoints are configured by hand", "token_url: is required"}},
		{"bad manual endpoint", func(m map[string]any) {
			m["auth_url"], m["token_url"], m["certs_url"] = "https://idp.example.com/a", "ftp://idp.example.com/t", "https://idp.example.com/k"
		}, []string{"token_url: must use https"}},
		{"userinfo without manual endpoints", func(m map[string]any) { m["userinfo_url"] = "https://idp.example.com/u" }, []string{
			"userinfo_url: is only used with auth_url"}},
		{"scopes without openid", func(m map[string]any) { m["scopes"] = []any{"email"} }, []string{`scopes: must include "openid"`}},
		{"bad scope", func(m map[string]any) { m["scopes"] = []any{"openid", `a"b`} }, []string{`scopes: scope "a\"b"`}},
		{"duplicate claim", func(m map[string]any) { m["claims"] = []any{"a", "a", ""} }, []string{
			`claims[1]: duplicate value "a"`, "claims[2]: must not be empty"}},
		{"bad prompt", func(m map[string]any) { m["prompt"] = "always" }, []string{`prompt: unknown value "always"`}},
		{"prompt none with others", func(m map[string]any) { m["prompt"] = "none login" }, []string{`prompt: "none" cannot be combined`}},
		{"empty email claim", func(m map[string]any) { m["email_claim_name"] = "" }, []string{"email_claim_name: must not be empty"}},
		{"bad secret form", func(m map[string]any) { m["client_secret"] = map[string]any{"vault": "x"} }, []string{"client_secret: unknown field"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := base()
			tt.edit(raw)
			cfg, err := ParseConfig(raw)
			if err == nil {
				t.Fatalf("no error; cfg %+v", cfg)
			}
			var es Errors
			if !errors.As(err, &es) {
				t.Fatalf("error %T is not Errors", err)
			}
			if len(es) != len(tt.want) {
				t.Errorf("got %d errors, want %d:\n%v", len(es), len(tt.want), err)
			}
			for i, w := range tt.want {
				if i < len(es) && !strings.HasPrefix(es[i].Error(), w) {
					t.Errorf("error %d = %q, want prefix %q", i, es[i].Error(), w)
				}
			}
			if strings.Contains(err.Error(), "topsecret-value") {
				t.Error("an error shows the secret")
			}
		})
	}
}

func TestNewResolvesSecret(t *testing.T) {
	raw := map[string]any{"client_id": "c", "client_secret": map[string]any{"env": "GATEHOUSE_TEST_OIDC_SECRET_UNSET"}, "issuer": "https://idp.example.com"}
	if _, err := New(store.IdentityProvider{ID: "x", Type: "oidc", Config: raw}, identity.Env{}); err == nil ||
		!strings.Contains(err.Error(), "GATEHOUSE_TEST_OIDC_SECRET_UNSET") {
		t.Errorf("unset secret: %v", err)
	}
	t.Setenv("GATEHOUSE_TEST_OIDC_SECRET", "from-env")
	raw["client_secret"] = map[string]any{"env": "GATEHOUSE_TEST_OIDC_SECRET"}
	c, err := New(store.IdentityProvider{ID: "x", Type: "oidc", Config: raw}, identity.Env{})
	if err != nil || c.secret != "from-env" || c.Type() != "oidc" {
		t.Fatalf("New: %v", err)
	}
	if _, err := New(store.IdentityProvider{ID: "x", Type: "oidc", Config: map[string]any{}}, identity.Env{}); err == nil {
		t.Error("New accepted an empty config")
	}
}
