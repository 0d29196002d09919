package app_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/crewjam/saml/samlsp"
	"golang.org/x/oauth2"

	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/testenv"
)

// saasConfig has an e-mail PIN and a zitadel OIDC IdP, an OIDC SaaS app and a SAML SaaS app;
// the SaaS apps' peer URLs are filled in per test.
const saasConfig = `
organization: {name: T, auth_domain: auth.localhost}
identity_providers:
  - {id: pin, name: E-mail PIN, type: onetimepin}
applications:
  - id: chat
    type: saas
    name: Chat
    policies: [{ref: staff, precedence: 1}]
    saas_app:
      auth_type: oidc
      client_id: chat
      client_secret_sha256: %s
      redirect_uris: [%q]
      scopes: [openid, email, profile]
      grant_types: [authorization_code_with_pkce, refresh_tokens]
  - id: wiki
    type: saas
    name: Wiki
    policies: [{ref: alice-only, precedence: 1}]
    saas_app:
      auth_type: saml
      sp_entity_id: %q
      consumer_service_url: %q
      name_id_format: email
policies:
  - {id: staff, decision: allow, include: [{email_domain: {domain: example.com}}]}
  - {id: alice-only, decision: allow, include: [{email: {email: alice@example.com}}]}
`

// TestPeerSaaSFromAnyIdP: a user who logged in with an e-mail PIN signs into an OIDC SaaS
// app (coreos/go-oidc as the relying party, with a refresh) and into a SAML SaaS app
// (crewjam/saml's samlsp) through Gatehouse, whose policies decide first.
func TestPeerSaaSFromAnyIdP(t *testing.T) {
	// The relying party and the SP run before Gatehouse so their URLs can go into its config.
	rpMux := http.NewServeMux()
	rp := httptest.NewServer(rpMux)
	t.Cleanup(rp.Close)
	spMux := &swapHandler{}
	sp := httptest.NewServer(spMux)
	t.Cleanup(sp.Close)

	const secret = "chat-client-secret-0123456789abcdef"
	e := testenv.Start(t, fmt.Sprintf(saasConfig, sha(secret), rp.URL+"/cb", sp.URL+"/saml/metadata", sp.URL+"/saml/acs"))
	b := e.NewBrowser()
	ctx := oidc.ClientContext(context.Background(), b.Client) // reaches auth.localhost through Gatehouse's listener

	// --- OIDC SaaS with go-oidc ---
	issuer := e.URL("auth.localhost", "/.gatehouse/sso/oidc/chat")
	provider, err := oidc.NewProvider(ctx, issuer)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	oauth := &oauth2.Config{ClientID: "chat", ClientSecret: secret, Endpoint: provider.Endpoint(), RedirectURL: rp.URL + "/cb",
		Scopes: []string{oidc.ScopeOpenID, "email", "profile"}}
	verifier := provider.Verifier(&oidc.Config{ClientID: "chat"})
	state, nonce, pkce := rand.Text(), rand.Text(), oauth2.GenerateVerifier()
	var refreshToken string
	rpMux.HandleFunc("/cb", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("state") != state || r.URL.Query().Get("iss") != issuer {
			http.Error(w, "bad state or iss", 400)
			return
		}
		tok, err := oauth.Exchange(ctx, r.URL.Query().Get("code"), oauth2.VerifierOption(pkce))
		if err != nil {
			http.Error(w, "exchange: "+err.Error(), 400)
			return
		}
		idt, err := verifier.Verify(ctx, tok.Extra("id_token").(string))
		if err != nil || idt.Nonce != nonce {
			http.Error(w, fmt.Sprintf("id token: %v", err), 400)
			return
		}
		var claims map[string]any
		_ = idt.Claims(&claims)
		refreshToken = tok.RefreshToken
		_ = json.NewEncoder(w).Encode(claims)
	})
	authURL := oauth.AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(pkce))
	resp, body := b.Login(t, authURL, "alice@example.com")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("OIDC SaaS login: %d at %s\n%s", resp.StatusCode, resp.Request.URL, body)
	}
	var claims map[string]any
	if err := json.Unmarshal([]byte(body), &claims); err != nil || claims["email"] != "alice@example.com" || claims["sub"] == "" {
		t.Fatalf("RP got %s", body)
	}
	users, _ := e.G.Store.ListUsers(t.Context())
	if len(users) != 1 || claims["sub"] != users[0].ID {
		t.Errorf("sub %v is not the user's stable UUID", claims["sub"])
	}
	if refreshToken == "" {
		t.Fatal("no refresh token")
	}
	ts := oauth.TokenSource(ctx, &oauth2.Token{RefreshToken: refreshToken})
	if _, err := ts.Token(); err != nil {
		t.Fatalf("refresh: %v", err)
	}

	// --- SAML SaaS with crewjam samlsp, same browser: no second login ---
	mdURL, _ := url.Parse(e.URL("auth.localhost", "/.gatehouse/sso/saml/wiki/saml-metadata"))
	md, err := samlsp.FetchMetadata(ctx, b.Client, *mdURL)
	if err != nil {
		t.Fatalf("samlsp cannot read Gatehouse's IdP metadata: %v", err)
	}
	spKey, spCert := testenv.NewKeyPair(t, "wiki sp")
	root, _ := url.Parse(sp.URL)
	mw, err := samlsp.New(samlsp.Options{URL: *root, Key: spKey, Certificate: spCert, IDPMetadata: md})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/saml/", mw)
	mux.Handle("/hello", mw.RequireAccount(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := samlsp.SessionFromContext(r.Context()).(samlsp.JWTSessionClaims)
		_ = json.NewEncoder(w).Encode(map[string]any{"subject": s.Subject, "attributes": s.Attributes})
	})))
	spMux.set(mux)
	resp, page := b.Get(t, sp.URL+"/hello")
	action, form := testenv.ParseForm(t, page)
	if resp.StatusCode != http.StatusOK || action != sp.URL+"/saml/acs" {
		t.Fatalf("SAML SSO: %d, form to %q\n%s", resp.StatusCode, action, page)
	}
	resp, body = b.PostForm(t, action, form)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `"subject":"alice@example.com"`) {
		t.Fatalf("samlsp: %d %s", resp.StatusCode, body)
	}

	// Rotating Gatehouse's token keys leaves the SaaS SAML key alone: the SP keeps the metadata
	// (and certificate) it read before, and a new assertion still verifies against it.
	if err := e.G.Keys.Rotate(ctx); err != nil {
		t.Fatal(err)
	}
	e.G.Reload(ctx, store.Change{Keys: true})
	b.Client.Jar.SetCookies(root, []*http.Cookie{{Name: "token", Value: "", Path: "/", MaxAge: -1}})
	resp, page = b.Get(t, sp.URL+"/hello")
	action, form = testenv.ParseForm(t, page)
	if resp.StatusCode != http.StatusOK || action != sp.URL+"/saml/acs" {
		t.Fatalf("SAML SSO after a token key rotation: %d, form to %q\n%s", resp.StatusCode, action, page)
	}
	if resp, body = b.PostForm(t, action, form); resp.StatusCode != http.StatusOK || !strings.Contains(body, `"subject":"alice@example.com"`) {
		t.Fatalf("the SP rejected an assertion after a token key rotation: %d %s", resp.StatusCode, body)
	}
	if md2, err := samlsp.FetchMetadata(ctx, b.Client, *mdURL); err != nil ||
		len(md2.IDPSSODescriptors[0].KeyDescriptors) != len(md.IDPSSODescriptors[0].KeyDescriptors) ||
		md2.IDPSSODescriptors[0].KeyDescriptors[0].KeyInfo.X509Data.X509Certificates[0].Data != md.IDPSSODescriptors[0].KeyDescriptors[0].KeyInfo.X509Data.X509Certificates[0].Data {
		t.Errorf("SaaS SAML metadata changed with the token keys: %v", err)
	}

	// Both SSOs are in the auth log with the app and the IdP of the login.
	events, _ := e.G.Store.ListAuthEvents(t.Context(), storeQueryEmail("alice@example.com"))
	seen := map[string]bool{}
	for _, ev := range events {
		if ev.Action == "saas_sso" && ev.Allowed && ev.IdPID == "pin" {
			seen[ev.AppID] = true
		}
	}
	if !seen["chat"] || !seen["wiki"] {
		t.Errorf("saas_sso events: %+v", seen)
	}

	// Bob may use chat but not the wiki: after his login (through the OIDC app) the SAML SSO
	// shows the block page and issues no assertion.
	bob := e.NewBrowser()
	state = rand.Text()
	if resp, body := bob.Login(t, oauth.AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(pkce)), "bob@example.com"); resp.StatusCode != http.StatusOK {
		t.Fatalf("bob's OIDC login: %d %s", resp.StatusCode, body)
	}
	resp, page = bob.Get(t, sp.URL+"/hello")
	if resp.StatusCode != http.StatusForbidden || strings.Contains(page, "SAMLResponse") {
		t.Errorf("SAML SSO for a user the app's policies deny: %d\n%s", resp.StatusCode, page)
	}
}

// swapHandler lets a test install its handler after the server has a URL.
type swapHandler struct {
	mu sync.Mutex
	h  http.Handler
}

func (s *swapHandler) set(h http.Handler) { s.mu.Lock(); s.h = h; s.mu.Unlock() }

func (s *swapHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	h := s.h
	s.mu.Unlock()
	if h == nil {
		http.NotFound(w, r)
		return
	}
	h.ServeHTTP(w, r)
}

// TestPeerSaaSAfterSAMLLogin: a user whose login came from a SAML IdP (crewjam's samlidp)
// signs into an OIDC SaaS app through Gatehouse (coreos/go-oidc as the relying party).
func TestPeerSaaSAfterSAMLLogin(t *testing.T) {
	idp := testenv.StartCrewjamIdP(t, "carol", "carol@example.com", []string{"eng"})
	rpMux := http.NewServeMux()
	rp := httptest.NewServer(rpMux)
	t.Cleanup(rp.Close)
	const secret = "chat-client-secret-0123456789abcdef"
	cfg := fmt.Sprintf(saasConfig, sha(secret), rp.URL+"/cb", "https://wiki.example.com/saml/metadata", "https://wiki.example.com/saml/acs")
	cfg = strings.Replace(cfg, "  - {id: pin, name: E-mail PIN, type: onetimepin}\n", fmt.Sprintf(
		"  - {id: pin, name: E-mail PIN, type: onetimepin}\n  - {id: corp, name: Corp SAML, type: saml, config: {metadata_url: %q, email_attribute_name: %q}}\n",
		idp.URL+"/metadata", oidMail), 1)
	e := testenv.Start(t, cfg)
	b := e.NewBrowser()
	_, md := b.Get(t, e.URL("auth.localhost", "/.gatehouse/saml-metadata"))
	idp.RegisterSP(t, "gatehouse", []byte(md))
	ctx := oidc.ClientContext(context.Background(), b.Client)

	issuer := e.URL("auth.localhost", "/.gatehouse/sso/oidc/chat")
	provider, err := oidc.NewProvider(ctx, issuer)
	if err != nil {
		t.Fatal(err)
	}
	oauth := &oauth2.Config{ClientID: "chat", ClientSecret: secret, Endpoint: provider.Endpoint(), RedirectURL: rp.URL + "/cb", Scopes: []string{oidc.ScopeOpenID, "email"}}
	pkce := oauth2.GenerateVerifier()
	rpMux.HandleFunc("/cb", func(w http.ResponseWriter, r *http.Request) {
		tok, err := oauth.Exchange(ctx, r.URL.Query().Get("code"), oauth2.VerifierOption(pkce))
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		idt, err := provider.Verifier(&oidc.Config{ClientID: "chat"}).Verify(ctx, tok.Extra("id_token").(string))
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		var claims map[string]any
		_ = idt.Claims(&claims)
		_ = json.NewEncoder(w).Encode(claims)
	})

	// The login page lists both IdPs; choose the SAML one.
	_, page := b.Get(t, oauth.AuthCodeURL("st", oauth2.S256ChallengeOption(pkce)))
	start := regexp.MustCompile(`href="([^"]*idp=corp)"`).FindStringSubmatch(page)
	if start == nil {
		t.Fatalf("no SAML choice on the login page:\n%s", page)
	}
	resp, page := b.Get(t, e.URL("auth.localhost", html.UnescapeString(start[1])))
	_, login := testenv.ParseForm(t, page)
	login.Set("user", "carol")
	login.Set("password", "hunter2")
	if resp, body := b.PostForm(t, idp.URL+"/login", login); resp.StatusCode != http.StatusOK {
		t.Fatalf("IdP login: %d %s", resp.StatusCode, body)
	}
	_, page = b.PostForm(t, idp.URL+"/sso", url.Values{"SAMLRequest": {login.Get("SAMLRequest")}, "RelayState": {login.Get("RelayState")}})
	acs, samlResp := testenv.ParseForm(t, page)
	resp, body := b.PostForm(t, acs, samlResp)
	var claims map[string]any
	if resp.StatusCode != http.StatusOK || json.Unmarshal([]byte(body), &claims) != nil || claims["email"] != "carol@example.com" {
		t.Fatalf("OIDC SaaS after a SAML login: %d at %s\n%s", resp.StatusCode, resp.Request.URL, body)
	}
	events, _ := e.G.Store.ListAuthEvents(t.Context(), storeQueryEmail("carol@example.com"))
	var sso bool
	for _, ev := range events {
		sso = sso || (ev.Action == "saas_sso" && ev.Allowed && ev.AppID == "chat" && ev.IdPID == "corp")
	}
	if !sso {
		t.Errorf("no saas_sso event naming the SAML IdP: %+v", events)
	}
}
