package mcp_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/mcp"
)

// FuzzParseChallenge reads arbitrary WWW-Authenticate values: never a panic, and a metadata URL
// only from a Bearer challenge.
func FuzzParseChallenge(f *testing.F) {
	for _, s := range []string{`Bearer resource_metadata="https://a.example/m", scope="a b"`, `Basic realm="x", Bearer error="invalid_token"`,
		`Bearer resource_metadata="https://a.example/m\"x"`, `Bearer ,,,`, `"x`, `Bearer a=`, `Bearer a="`, ``} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		c, err := mcp.ParseChallenge([]string{h})
		if err == nil && c.ResourceMetadata != "" && !strings.Contains(strings.ToLower(h), "bearer") {
			t.Errorf("%q: a metadata URL without a Bearer challenge", h)
		}
	})
}

// FuzzParseMetadata reads arbitrary protected resource and authorization server metadata: never
// a panic, and a document accepted only with what the client relies on.
func FuzzParseMetadata(f *testing.F) {
	for _, s := range []string{`{"resource":"https://mcp.example.com/mcp","authorization_servers":["https://as.example.com"]}`,
		`{"issuer":"https://as.example.com","authorization_endpoint":"https://as.example.com/a","token_endpoint":"https://as.example.com/t","code_challenge_methods_supported":["S256"]}`,
		`{"resource":"https://mcp.example.com","authorization_servers":["http://127.0.0.1:9/"]}`, `null`, `{"issuer":null}`, `[`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if prm, err := mcp.ParseResourceMetadata(b, "https://mcp.example.com/mcp"); err == nil {
			if len(prm.AuthorizationServers) == 0 || !strings.HasPrefix(strings.ToLower(prm.Resource), "https://mcp.example.com") {
				t.Errorf("accepted %s", b)
			}
		}
		if m, err := mcp.ParseAuthServerMetadata(b, "https://as.example.com"); err == nil {
			if m.AuthorizationEndpoint == "" || m.TokenEndpoint == "" {
				t.Errorf("accepted %s", b)
			}
		}
	})
}

// FuzzParseTokenResponse reads arbitrary token endpoint and registration answers: never a
// panic; an accepted token is a usable bearer credential, and an AS error's code is safe to
// show.
func FuzzParseTokenResponse(f *testing.F) {
	for _, s := range []string{`{"access_token":"a","token_type":"Bearer","expires_in":60,"refresh_token":"r"}`, `{"error":"invalid_grant"}`,
		`{"client_id":"c","client_secret":"s"}`, `{"access_token":"a\u0000","token_type":"bearer"}`, `{"expires_in":"1e99"}`, ``} {
		f.Add(200, []byte(s))
		f.Add(400, []byte(s))
	}
	f.Fuzz(func(t *testing.T, status int, b []byte) {
		check := func(err error) {
			var ase *mcp.ASError
			if errors.As(err, &ase) && strings.ContainsAny(ase.Code, " <>\"'\x00\n") {
				t.Errorf("unsafe error code %q", ase.Code)
			}
		}
		tr, err := mcp.ParseTokenResponse(status, "application/json", b)
		check(err)
		if err == nil && (status != 200 || tr == nil || tr.AccessToken == "" || strings.IndexFunc(tr.AccessToken, func(r rune) bool { return r <= ' ' || r >= 0x7f }) >= 0) {
			t.Errorf("accepted status %d: %s", status, b)
		}
		_, err = mcp.ParseRegistration(status, b, "client_secret_basic")
		check(err)
	})
}
