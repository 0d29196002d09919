package oidcop_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/gatehouse/gatehouse/internal/saas/oidcop"
	"github.com/gatehouse/gatehouse/internal/snapshot"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Interoperability tests: independent relying parties log in to the provider, which the tests
// serve on 127.0.0.1 with the fake Env (the user logs in through a cookie-setting /login page),
// and refresh. They are bounded by interopTimeout.

const interopTimeout = 60 * time.Second

// interopProvider starts a provider on 127.0.0.1 whose app accepts redirectURIs; it returns the
// harness and the issuer.
func interopProvider(t *testing.T, mutate func(*store.SaaSApp), redirectURIs ...string) (*harness, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	app := baseApp()
	app.RedirectURIs = redirectURIs
	if mutate != nil {
		mutate(app)
	}
	h := newHarness(t, harnessOpts{app: app, authDomain: "127.0.0.1", snapOpts: snapshot.Options{Scheme: "http", Port: port},
		start: time.Now().Truncate(time.Second)})
	h.set(func() { h.cookieLogin = true })
	h.serve(t, ln)
	return h, h.issuer()
}

// browserLogin follows redirects from authURL (through the login page and back) until the
// provider sends the browser to callback, and returns that URL.
func browserLogin(ctx context.Context, authURL, callback string) (*url.URL, error) {
	jar, err := cookiejar.New(nil)
	if err != nil {
		return nil, err
	}
	var final *url.URL
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if strings.HasPrefix(req.URL.String(), callback) {
			final = req.URL
			return http.ErrUseLastResponse
		}
		if len(via) > 5 {
			return errors.New("too many redirects")
		}
		return nil
	}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, authURL, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	if final == nil {
		return nil, fmt.Errorf("no redirect to the callback; last answer %d: %s", resp.StatusCode, body)
	}
	return final, nil
}

// TestPeerGoOIDC logs in with coreos/go-oidc and golang.org/x/oauth2 as the relying party:
// discovery, authorization code with PKCE S256 and nonce, RFC 9207 iss, the code exchange with
// client_secret_basic and (second login) client_secret_post, ID token verification against the
// jwks (with at_hash), userinfo, a refresh, and the refusals of a replayed code and a reused
// refresh token.
func TestPeerGoOIDC(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), interopTimeout)
	defer cancel()
	const callback = "http://127.0.0.1/go-oidc/callback"
	h, issuer := interopProvider(t, nil, callback)
	provider, err := oidc.NewProvider(ctx, issuer)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	for _, style := range []oauth2.AuthStyle{oauth2.AuthStyleInHeader, oauth2.AuthStyleInParams} {
		t.Run(fmt.Sprintf("authstyle-%d", style), func(t *testing.T) {
			ep := provider.Endpoint()
			ep.AuthStyle = style
			cfg := &oauth2.Config{ClientID: clientID, ClientSecret: clientSecret, Endpoint: ep, RedirectURL: callback,
				Scopes: []string{oidc.ScopeOpenID, "email", "profile", "groups", oidc.ScopeOfflineAccess}}
			verifier := oauth2.GenerateVerifier()
			state, nonce := "st-"+oauth2.GenerateVerifier()[:8], "nn-"+oauth2.GenerateVerifier()[:8]
			cb, err := browserLogin(ctx, cfg.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier), oidc.Nonce(nonce)), callback)
			if err != nil {
				t.Fatalf("browser: %v", err)
			}
			q := cb.Query()
			if q.Get("state") != state || q.Get("iss") != issuer || q.Get("code") == "" {
				t.Fatalf("callback %s: want state %q, iss %q and a code", cb, state, issuer)
			}
			tok, err := cfg.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier))
			if err != nil {
				t.Fatalf("exchange: %v", err)
			}
			idv := provider.Verifier(&oidc.Config{ClientID: clientID})
			rawID, _ := tok.Extra("id_token").(string)
			idt, err := idv.Verify(ctx, rawID)
			if err != nil {
				t.Fatalf("ID token: %v", err)
			}
			if idt.Nonce != nonce || idt.Subject != h.user.ID {
				t.Errorf("ID token nonce %q sub %q, want %q and %q", idt.Nonce, idt.Subject, nonce, h.user.ID)
			}
			if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
				t.Errorf("at_hash: %v", err)
			}
			var claims struct {
				Email  string   `json:"email"`
				Name   string   `json:"name"`
				Groups []string `json:"groups"`
			}
			if err := idt.Claims(&claims); err != nil || claims.Email != userEmail || claims.Name != "Alice Liddell" || len(claims.Groups) != 2 {
				t.Errorf("ID token claims %+v (%v)", claims, err)
			}
			ui, err := provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
			if err != nil || ui.Subject != idt.Subject || ui.Email != userEmail || !ui.EmailVerified {
				t.Errorf("userinfo %+v, %v", ui, err)
			}

			// Replaying the code fails and revokes what it issued.
			_, err = cfg.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier))
			var re *oauth2.RetrieveError
			if !errors.As(err, &re) || re.ErrorCode != "invalid_grant" {
				t.Errorf("replayed code: %v, want invalid_grant", err)
			}
			if _, err := provider.UserInfo(ctx, oauth2.StaticTokenSource(tok)); err == nil {
				t.Error("userinfo accepts the access token of a replayed code")
			}

			// A fresh login, then a refresh through the oauth2 token source.
			cb, err = browserLogin(ctx, cfg.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier), oidc.Nonce(nonce)), callback)
			if err != nil {
				t.Fatalf("browser: %v", err)
			}
			tok, err = cfg.Exchange(ctx, cb.Query().Get("code"), oauth2.VerifierOption(verifier))
			if err != nil {
				t.Fatalf("exchange: %v", err)
			}
			expired := *tok
			expired.Expiry = time.Now().Add(-time.Minute)
			refreshed, err := cfg.TokenSource(ctx, &expired).Token()
			if err != nil {
				t.Fatalf("refresh: %v", err)
			}
			if refreshed.RefreshToken == "" || refreshed.RefreshToken == tok.RefreshToken || refreshed.AccessToken == tok.AccessToken {
				t.Fatalf("refresh did not rotate the tokens")
			}
			rawID, _ = refreshed.Extra("id_token").(string)
			if idt2, err := idv.Verify(ctx, rawID); err != nil || idt2.Subject != h.user.ID {
				t.Errorf("refreshed ID token: %v", err)
			}
			if ui, err := provider.UserInfo(ctx, oauth2.StaticTokenSource(refreshed)); err != nil || ui.Subject != h.user.ID {
				t.Errorf("userinfo after refresh: %+v, %v", ui, err)
			}
			// A concurrent refresh with the rotated-out token, within the reuse grace period,
			// gets fresh tokens and the same successor refresh token.
			again, err := cfg.TokenSource(ctx, &expired).Token()
			if err != nil {
				t.Fatalf("refresh within the reuse grace period: %v", err)
			}
			if again.RefreshToken != refreshed.RefreshToken {
				t.Errorf("refresh within the reuse grace period handed out another refresh token")
			}
			// Reusing the rotated-out refresh token after the grace period revokes the family.
			h.clock.Advance(oidcop.DefaultRefreshReuseGracePeriod)
			_, err = cfg.TokenSource(ctx, &expired).Token()
			if !errors.As(err, &re) || re.ErrorCode != "invalid_grant" {
				t.Errorf("reused refresh token: %v, want invalid_grant", err)
			}
			stale := *refreshed
			stale.Expiry = time.Now().Add(-time.Minute)
			if _, err := cfg.TokenSource(ctx, &stale).Token(); err == nil {
				t.Error("the family's newest refresh token still works after a reuse")
			}
		})
	}
}
