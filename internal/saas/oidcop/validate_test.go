package oidcop_test

import (
	"errors"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/configfield"
	"github.com/gatehouse/gatehouse/internal/saas/oidcop"
	"github.com/gatehouse/gatehouse/internal/store"
)

func TestValidateApp(t *testing.T) {
	if err := oidcop.ValidateApp(baseApp()); err != nil {
		t.Fatalf("base app: %v", err)
	}
	for name, tc := range map[string]struct {
		mutate func(*store.SaaSApp)
		field  string // "" means valid
	}{
		"public app without secret": {func(a *store.SaaSApp) { a.ClientSecretSHA256, a.AllowPKCEWithoutClientSecret = "", true }, ""},
		"http localhost":            {func(a *store.SaaSApp) { a.RedirectURIs = []string{"http://localhost:8080/cb"} }, ""},
		"http loopback v4":          {func(a *store.SaaSApp) { a.RedirectURIs = []string{"http://127.0.0.1:9/cb"} }, ""},
		"http loopback v6":          {func(a *store.SaaSApp) { a.RedirectURIs = []string{"http://[::1]:9/cb"} }, ""},
		"http loopback 127/8":       {func(a *store.SaaSApp) { a.RedirectURIs = []string{"http://127.3.2.1/cb"} }, ""},
		"http LOCALHOST":            {func(a *store.SaaSApp) { a.RedirectURIs = []string{"http://LOCALHOST:1/cb"} }, ""},
		"query in redirect":         {func(a *store.SaaSApp) { a.RedirectURIs = []string{"https://a.example/cb?x=1"} }, ""},
		"defaults":                  {func(a *store.SaaSApp) { a.Scopes, a.GrantTypes, a.CustomClaims = nil, nil, nil }, ""},
		"lifetime bounds":           {func(a *store.SaaSApp) { a.AccessTokenLifetime = store.Duration(24 * time.Hour) }, ""},

		"wrong auth type":       {func(a *store.SaaSApp) { a.AuthType = "saml" }, "auth_type"},
		"no client id":          {func(a *store.SaaSApp) { a.ClientID = "" }, "client_id"},
		"client id with colon":  {func(a *store.SaaSApp) { a.ClientID = "a:b" }, "client_id"},
		"no secret":             {func(a *store.SaaSApp) { a.ClientSecretSHA256 = "" }, "client_secret_sha256"},
		"secret not a hash":     {func(a *store.SaaSApp) { a.ClientSecretSHA256 = "plaintext" }, "client_secret_sha256"},
		"no redirect uris":      {func(a *store.SaaSApp) { a.RedirectURIs = nil }, "redirect_uris"},
		"javascript":            {func(a *store.SaaSApp) { a.RedirectURIs = []string{"javascript:alert(document.domain)"} }, "redirect_uris[0]"},
		"JavaScript":            {func(a *store.SaaSApp) { a.RedirectURIs = []string{" JavaScript:alert(1)"} }, "redirect_uris[0]"},
		"data":                  {func(a *store.SaaSApp) { a.RedirectURIs = []string{"data:text/html,<script>alert(1)</script>"} }, "redirect_uris[0]"},
		"fragment":              {func(a *store.SaaSApp) { a.RedirectURIs = []string{"https://a.example/cb#x"} }, "redirect_uris[0]"},
		"empty fragment":        {func(a *store.SaaSApp) { a.RedirectURIs = []string{"https://a.example/cb#"} }, "redirect_uris[0]"},
		"wildcard host":         {func(a *store.SaaSApp) { a.RedirectURIs = []string{"https://*.example.com/cb"} }, "redirect_uris[0]"},
		"wildcard path":         {func(a *store.SaaSApp) { a.RedirectURIs = []string{"https://a.example/*"} }, "redirect_uris[0]"},
		"plain http":            {func(a *store.SaaSApp) { a.RedirectURIs = []string{"http://a.example/cb"} }, "redirect_uris[0]"},
		"http localhost-like":   {func(a *store.SaaSApp) { a.RedirectURIs = []string{"http://localhost.evil.com/cb"} }, "redirect_uris[0]"},
		"http mapped loopback":  {func(a *store.SaaSApp) { a.RedirectURIs = []string{"http://[::Ffff:127.0.0.0]"} }, "redirect_uris[0]"},
		"http zoned loopback":   {func(a *store.SaaSApp) { a.RedirectURIs = []string{"http://[::1%25lo0]/cb"} }, "redirect_uris[0]"},
		"http decimal v4":       {func(a *store.SaaSApp) { a.RedirectURIs = []string{"http://2130706433/cb"} }, "redirect_uris[0]"},
		"http hex v4":           {func(a *store.SaaSApp) { a.RedirectURIs = []string{"http://0x7f.1/cb"} }, "redirect_uris[0]"},
		"http short v4":         {func(a *store.SaaSApp) { a.RedirectURIs = []string{"http://127.1/cb"} }, "redirect_uris[0]"},
		"http long-s localhost": {func(a *store.SaaSApp) { a.RedirectURIs = []string{"http://localhoſt/cb"} }, "redirect_uris[0]"},
		"launcher http mapped":  {func(a *store.SaaSApp) { a.AppLauncherURL = "http://[::ffff:127.0.0.1]/" }, "app_launcher_url"},
		"relative":              {func(a *store.SaaSApp) { a.RedirectURIs = []string{"/cb"} }, "redirect_uris[0]"},
		"scheme-relative":       {func(a *store.SaaSApp) { a.RedirectURIs = []string{"//a.example/cb"} }, "redirect_uris[0]"},
		"custom scheme":         {func(a *store.SaaSApp) { a.RedirectURIs = []string{"com.example.app:/cb"} }, "redirect_uris[0]"},
		"no host":               {func(a *store.SaaSApp) { a.RedirectURIs = []string{"https:///cb"} }, "redirect_uris[0]"},
		"userinfo":              {func(a *store.SaaSApp) { a.RedirectURIs = []string{"https://u:p@a.example/cb"} }, "redirect_uris[0]"},
		"backslash":             {func(a *store.SaaSApp) { a.RedirectURIs = []string{`https://a.example\@evil.com/cb`} }, "redirect_uris[0]"},
		"newline":               {func(a *store.SaaSApp) { a.RedirectURIs = []string{"https://a.example/cb\r\nX: y"} }, "redirect_uris[0]"},
		"duplicate":             {func(a *store.SaaSApp) { a.RedirectURIs = []string{redirectURI, redirectURI} }, "redirect_uris[1]"},
		"unknown scope":         {func(a *store.SaaSApp) { a.Scopes = []string{"openid", "admin"} }, "scopes[1]"},
		"no openid":             {func(a *store.SaaSApp) { a.Scopes = []string{"email"} }, "scopes"},
		"hybrid":                {func(a *store.SaaSApp) { a.GrantTypes = []string{"authorization_code", "hybrid"} }, "grant_types[1]"},
		"implicit":              {func(a *store.SaaSApp) { a.GrantTypes = []string{"implicit"} }, "grant_types[0]"},
		"refresh only":          {func(a *store.SaaSApp) { a.GrantTypes = []string{"refresh_tokens"} }, "grant_types"},
		"unknown grant":         {func(a *store.SaaSApp) { a.GrantTypes = []string{"authorization_code", "password"} }, "grant_types[1]"},
		"access too short":      {func(a *store.SaaSApp) { a.AccessTokenLifetime = store.Duration(30 * time.Second) }, "access_token_lifetime"},
		"access too long":       {func(a *store.SaaSApp) { a.AccessTokenLifetime = store.Duration(25 * time.Hour) }, "access_token_lifetime"},
		"refresh 1m": {func(a *store.SaaSApp) {
			a.RefreshTokenOptions = &store.RefreshTokenOptions{Lifetime: store.Duration(time.Minute)}
		}, "refresh_token_options.lifetime"},
		"reuse grace 1m": {func(a *store.SaaSApp) {
			g := store.Duration(time.Minute)
			a.RefreshTokenOptions = &store.RefreshTokenOptions{ReuseGracePeriod: &g}
		}, ""},
		"reuse grace off": {func(a *store.SaaSApp) {
			g := store.Duration(0)
			a.RefreshTokenOptions = &store.RefreshTokenOptions{ReuseGracePeriod: &g}
		}, ""},
		"reuse grace too long": {func(a *store.SaaSApp) {
			g := store.Duration(time.Minute + time.Second)
			a.RefreshTokenOptions = &store.RefreshTokenOptions{ReuseGracePeriod: &g}
		}, "refresh_token_options.reuse_grace_period"},
		"bad regex":       {func(a *store.SaaSApp) { a.GroupFilterRegex = "eng-(" }, "group_filter_regex"},
		"perl lookahead":  {func(a *store.SaaSApp) { a.GroupFilterRegex = "^(?!admin)" }, "group_filter_regex"},
		"reserved claim":  {func(a *store.SaaSApp) { a.CustomClaims[0].Name = "sub" }, "custom_claims[0].name"},
		"duplicate claim": {func(a *store.SaaSApp) { a.CustomClaims[1].Name = a.CustomClaims[0].Name }, "custom_claims[1].name"},
		"claim scope not granted": {func(a *store.SaaSApp) {
			a.Scopes = []string{"openid", "email"}
		}, "custom_claims[0].scope"},
		"claim without source": {func(a *store.SaaSApp) { a.CustomClaims[0].Source.Name = "" }, "custom_claims[0].source.name"},
		"launcher javascript":  {func(a *store.SaaSApp) { a.AppLauncherURL = "javascript:alert(1)" }, "app_launcher_url"},
		"SAML empty groups":    {func(a *store.SaaSApp) { a.SendEmptyGroupsAttribute = new(true) }, "send_empty_groups_attribute"},
	} {
		t.Run(name, func(t *testing.T) {
			app := baseApp()
			tc.mutate(app)
			err := oidcop.ValidateApp(app)
			if tc.field == "" {
				if err != nil {
					t.Fatalf("want valid, got %v", err)
				}
				return
			}
			var es configfield.Errors
			if !errors.As(err, &es) {
				t.Fatalf("got %v, want configfield.Errors", err)
			}
			if !slices.ContainsFunc(es, func(e configfield.FieldError) bool { return e.Field == tc.field }) {
				t.Errorf("errors %v, want one for field %q", es, tc.field)
			}
			if strings.Contains(err.Error(), clientSecret) {
				t.Error("error text contains the secret")
			}
		})
	}
}

// redirectURISeeds seed FuzzValidateRedirectURI; testdata/fuzz/FuzzValidateRedirectURI holds the
// inputs it found.
var redirectURISeeds = []string{redirectURI, redirectURI2, "http://localhost/cb", "http://127.0.0.1:8/x", "javascript:alert(1)",
	"https://a.example/cb#f", "https://*.a.example/", "//a.example", "https://u@a.example/", "https:///x", "HTTPS://A.EXAMPLE/%2F",
	"https://[::1]/", "http://[::ffff:127.0.0.1]/", "https://a.example:99999/",
	// Loopback spellings (docs/saas.md): only localhost, 127.x.y.z and [::1] qualify for http.
	"http://[::Ffff:127.0.0.0]", "http://[::ffff:7f00:1]/", "http://[::127.0.0.1]/", "http://[0:0:0:0:0:0:0:1]/",
	"http://[::1%25lo0]/", "http://127.1/", "http://2130706433/", "http://0x7f.1/", "http://0x7f000001/", "http://0177.0.0.1/",
	"http://127.000.0.1/", "http://127.0.0.1./", "http://localhost./", "http://LOCALHOST:8080/cb", "http://localhoſt/cb",
	"http://[::1]:9/cb", "http://127.255.255.255/", "HTTP://127.0.0.1/cb", "http://127.0.0.1:/cb"}

// The loopback rule restated from docs/saas.md for the oracle, sharing no code with the
// validator: "localhost" in ASCII letters of any case, 127 and three decimal octets without
// leading zeros, or exactly [::1]; then nothing or a colon and digits.
var (
	specOctet    = `(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])`
	specLoopback = regexp.MustCompile(`^(localhost|127\.` + specOctet + `\.` + specOctet + `\.` + specOctet + `|\[::1\])(:[0-9]*)?$`)
)

func loopbackBySpec(authority string) bool {
	for i := 0; i < len(authority); i++ {
		if authority[i] >= 0x80 {
			return false
		}
	}
	return specLoopback.MatchString(strings.ToLower(authority))
}

// FuzzValidateRedirectURI checks the property behind redirect URI validation: every accepted URI
// is an absolute http(s) URL with a host, without userinfo or fragment, and https unless the host
// is one of the loopback spellings docs/saas.md allows.
func FuzzValidateRedirectURI(f *testing.F) {
	for _, s := range redirectURISeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		app := baseApp()
		app.RedirectURIs = []string{s}
		if oidcop.ValidateApp(app) != nil {
			return
		}
		u, err := url.Parse(s)
		if err != nil {
			t.Fatalf("accepted %q, which net/url refuses: %v", s, err)
		}
		if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || strings.Contains(s, "#") || u.Opaque != "" {
			t.Fatalf("accepted %q: scheme %q host %q user %v", s, u.Scheme, u.Host, u.User)
		}
		if u.Scheme == "http" && !loopbackBySpec(u.Host) {
			t.Fatalf("accepted plain http for %q", s)
		}
	})
}

// FuzzAuthorizationRedirect sends arbitrary authorization requests: the provider never panics
// and only ever redirects to a registered redirect URI (with parameters added).
func FuzzAuthorizationRedirect(f *testing.F) {
	h := newHarness(f, harnessOpts{})
	f.Add(authzParams(verifier).Encode())
	f.Add(authzParams("").Encode())
	f.Add("response_type=token&client_id=" + clientID + "&redirect_uri=" + url.QueryEscape(redirectURI))
	f.Add("client_id=" + clientID + "&redirect_uri=" + url.QueryEscape(redirectURI+"/../x"))
	f.Add("client_id=" + clientID + "&redirect_uri=" + url.QueryEscape("https://evil.example/") + "&scope=openid")
	f.Fuzz(func(t *testing.T, query string) {
		q, err := url.ParseQuery(query)
		if err != nil {
			return
		}
		w := h.get("authorization", q)
		loc := w.Header().Get("Location")
		if loc == "" {
			return
		}
		if !strings.HasPrefix(loc, redirectURI+"?") && !strings.HasPrefix(loc, redirectURI2+"&") {
			t.Fatalf("query %q redirected to %q", query, loc)
		}
	})
}
