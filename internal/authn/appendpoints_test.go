package authn

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/wire"
)

// handoff runs a login to path on host up to the hand-off and returns the URL of the app
// host's authorized endpoint with the code.
func (b *browser) handoff(host, path string) *url.URL {
	b.h.t.Helper()
	r := b.idpReturn(b.toIdP(b.openApp(host, path), "Corp SSO"))
	loc := r.location(b.h.t)
	if loc.Path != prefix+"authorized" {
		b.h.t.Fatalf("no hand-off: %s", loc)
	}
	return loc
}

// withHost returns u on another host.
func withHost(u *url.URL, host string) string {
	c := *u
	c.Host = host
	return c.String()
}

// TestHandoff: the single-use code moves the login to the app host that asked for it, in the
// browser that asked for it, once, within its lifetime.
func TestHandoff(t *testing.T) {
	t.Run("replayed", func(t *testing.T) {
		h := newHarness(t)
		b := h.browser()
		code := b.handoff(wikiHost, "/a")
		if r := b.get(code.String()); r.cookie(orgCookie) == nil {
			t.Fatalf("first use: %d\n%s", r.status, r.body)
		}
		r := b.get(code.String())
		h.wantFailure(r, http.StatusBadRequest, "handoff-replayed")
		if r.cookie(orgCookie) != nil {
			t.Error("a replayed code set a cookie")
		}
	})
	t.Run("wrong host", func(t *testing.T) {
		h := newHarness(t)
		b := h.browser()
		code := b.handoff(wikiHost, "/a")
		r := b.get(withHost(code, soloHost))
		h.wantFailure(r, http.StatusBadRequest, "handoff-wrong-host")
		if r.cookie(orgCookie) != nil {
			t.Error("another host got the app cookie")
		}
	})
	t.Run("malformed or unknown code", func(t *testing.T) {
		h := newHarness(t)
		b := h.browser()
		for _, code := range []string{"", "short", strings.Repeat("A", 44), strings.Repeat("A", 43)} {
			h.wantFailure(b.get("https://"+wikiHost+prefix+"authorized?code="+code), http.StatusBadRequest, "handoff-invalid")
		}
	})
	t.Run("another browser", func(t *testing.T) {
		h := newHarness(t)
		victim, attacker := h.browser(), h.browser()
		code := attacker.handoff(wikiHost, "/docs?x=1")
		r := victim.get(code.String())
		if r.cookie(orgCookie) != nil {
			t.Fatal("a code from another browser set the app cookie")
		}
		// The browser is sent to log in itself, to the same page.
		nonce := r.cookie(nonceName)
		loc := r.location(t)
		if nonce == nil || loc.Host != authHost || loc.Path != prefix+"login/"+wikiHost ||
			loc.Query().Get("redirect_url") != "/docs?x=1" || loc.Query().Get("state") != hashValue("app-nonce", nonce.Value) {
			t.Errorf("restart: %s, nonce %+v", loc, nonce)
		}
		// The code is spent either way.
		h.wantFailure(attacker.get(code.String()), http.StatusBadRequest, "handoff-replayed")
	})
	t.Run("code expired", func(t *testing.T) {
		h := newHarness(t)
		b := h.browser()
		code := b.handoff(wikiHost, "/")
		h.clock.Advance(HandoffLifetime + time.Second)
		h.wantFailure(b.get(code.String()), http.StatusBadRequest, "handoff-invalid")
	})
	t.Run("token expired", func(t *testing.T) {
		h := newHarness(t, func(c *store.Config) { c.Applications[0].SessionDuration = store.Duration(30 * time.Second) })
		b := h.browser()
		code := b.handoff(wikiHost, "/")
		h.clock.Advance(31 * time.Second)
		h.wantFailure(b.get(code.String()), http.StatusBadRequest, "handoff-token-invalid")
	})
	t.Run("app cookie attributes", func(t *testing.T) {
		no := false
		h := newHarness(t, func(c *store.Config) {
			c.Applications[0].SameSiteCookieAttribute = "none"
			c.Applications[0].HTTPOnlyCookieAttribute = &no
		})
		b := h.browser()
		c := b.get(b.handoff(wikiHost, "/").String()).cookie(orgCookie)
		if c == nil || c.SameSite != http.SameSiteNoneMode || c.HttpOnly || !c.Secure {
			t.Errorf("app cookie = %+v", c)
		}
	})
}

// TestGetIdentity: get-identity answers with the session's identity under Cloudflare's field
// names while the session lasts, on the auth domain (org cookie) and on app hosts (app cookie
// or header).
func TestGetIdentity(t *testing.T) {
	h := newHarness(t)
	b := h.browser()
	b.signIn(wikiHost, "/", "Corp SSO")
	sess := h.orgSessions("alice@example.com")[0]

	for _, tc := range []struct{ name, url string }{
		{"auth domain", authURL(prefix + "get-identity")},
		{"app host", "https://" + wikiHost + prefix + "get-identity"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h.in(t)
			r := b.get(tc.url)
			if r.status != http.StatusOK || r.header.Get("Content-Type") != "application/json" || r.header.Get("Cache-Control") != "no-store" {
				t.Fatalf("got %d %v\n%s", r.status, r.header, r.body)
			}
			var got map[string]any
			if err := json.Unmarshal([]byte(r.body), &got); err != nil {
				t.Fatal(err)
			}
			want := map[string]any{
				"email": "alice@example.com", "name": "Alice", "user_uuid": sess.UserID, "id": sess.UserID,
				"idp": map[string]any{"id": "corp", "type": "oidc"}, "geo": map[string]any{"country": "NL"},
				"ip": "203.0.113.7", "iat": float64(clockStart.Unix()), "amr": []any{"pwd", "mfa"},
				"identity_nonce": sess.ID, "version": float64(1),
			}
			gotJSON, _ := json.Marshal(got)
			wantJSON, _ := json.Marshal(want)
			if string(gotJSON) != string(wantJSON) {
				t.Errorf("get-identity\n got %s\nwant %s", gotJSON, wantJSON)
			}
		})
	}
	t.Run("token in header", func(t *testing.T) {
		h.in(t)
		raw := b.cookie(wikiHost, orgCookie)
		req := "https://" + wikiHost + prefix + "get-identity"
		r := h.browser().doWith(http.MethodGet, req, func(r *http.Request) { r.Header.Set("Gatehouse-Jwt-Assertion", raw) })
		if r.status != http.StatusOK {
			t.Errorf("got %d", r.status)
		}
	})
	t.Run("wrong token type", func(t *testing.T) {
		h.in(t)
		// The org token is no app token, and the app token no org token.
		org := b.cookie(authHost, orgCookie)
		r := h.browser().doWith(http.MethodGet, "https://"+wikiHost+prefix+"get-identity", func(r *http.Request) { r.Header.Set("Gatehouse-Jwt-Assertion", org) })
		if r.status != http.StatusUnauthorized {
			t.Errorf("org token on an app host: %d", r.status)
		}
		if r := h.browser().get(soloHostIdentity(b)); r.status != http.StatusUnauthorized {
			t.Errorf("wiki's app token for solo: %d", r.status)
		}
	})
	t.Run("no session", func(t *testing.T) {
		h.in(t)
		r := h.browser().get(authURL(prefix + "get-identity"))
		if r.status != http.StatusUnauthorized || r.body != `{"err":"no valid session"}` {
			t.Errorf("got %d %s", r.status, r.body)
		}
	})
	t.Run("store down", func(t *testing.T) {
		h.in(t)
		h.st.failOn("GetSession", store.ErrUnavailable)
		defer h.st.failOn("GetSession", nil)
		if r := b.get(authURL(prefix + "get-identity")); r.status != http.StatusServiceUnavailable {
			t.Errorf("got %d", r.status)
		}
	})
}

// soloHostIdentity returns a request URL on solo's host carrying wiki's app token.
func soloHostIdentity(b *browser) string {
	b.jar.SetCookies(&url.URL{Scheme: "https", Host: soloHost, Path: "/"}, []*http.Cookie{{Name: orgCookie, Value: b.cookie(wikiHost, orgCookie), Path: "/"}})
	return "https://" + soloHost + prefix + "get-identity"
}

// doWith sends a request without cookies after edit.
func (b *browser) doWith(method, rawURL string, edit func(*http.Request)) *reply {
	b.h.t.Helper()
	req := newRequest(method, rawURL, b.client)
	edit(req)
	return b.serve(req)
}

// TestLogout: logging out revokes the org session everywhere and clears the cookie.
func TestLogout(t *testing.T) {
	t.Run("auth domain", func(t *testing.T) {
		h := newHarness(t)
		b := h.browser()
		b.fetchSite = "same-origin" // a sign-out link on Gatehouse's or the app's own page
		b.signIn(wikiHost, "/", "Corp SSO")
		sess := h.orgSessions("alice@example.com")[0]
		if r := b.get(authURL(prefix + "get-identity")); r.status != http.StatusOK {
			t.Fatalf("get-identity before logout: %d", r.status)
		}
		org := b.cookie(authHost, orgCookie)

		r := b.get(authURL(prefix + "logout"))
		if r.status != http.StatusOK || !strings.Contains(r.body, "You have been signed out of every application.") {
			t.Fatalf("logout: %d\n%s", r.status, r.body)
		}
		if c := r.cookie(orgCookie); c == nil || c.MaxAge >= 0 || c.Value != "" {
			t.Errorf("org cookie not cleared: %+v", c)
		}
		got, err := h.db.GetSession(t.Context(), sess.ID)
		if err != nil || got.RevokedAt.IsZero() {
			t.Fatalf("session after logout: %+v, %v", got, err)
		}
		ev := h.lastEvent()
		wantEvent(t, ev, "logout", true)
		if ev.UserID != sess.UserID || ev.Email != "alice@example.com" || ev.AppID != "" || ev.IP != "203.0.113.7" {
			t.Errorf("logout event = %+v", ev)
		}
		// The revoked token no longer works, here or on the app host.
		replay := h.browser()
		replay.jar.SetCookies(&url.URL{Scheme: "https", Host: authHost, Path: "/"}, []*http.Cookie{{Name: orgCookie, Value: org, Path: "/"}})
		if r := replay.get(authURL(prefix + "get-identity")); r.status != http.StatusUnauthorized {
			t.Errorf("get-identity after logout: %d", r.status)
		}
		if r := b.get("https://" + wikiHost + prefix + "get-identity"); r.status != http.StatusUnauthorized {
			t.Errorf("app get-identity after logout: %d", r.status)
		}
		// Nor does it skip the IdP at the next login.
		if r := replay.follow(replay.openApp(wikiHost, "/")); r.status != http.StatusOK || len(r.links()) != 3 {
			t.Errorf("login with a revoked org session: %d", r.status)
		}
	})
	t.Run("app host", func(t *testing.T) {
		h := newHarness(t)
		b := h.browser()
		b.fetchSite = "same-origin" // a sign-out link on Gatehouse's or the app's own page
		b.signIn(wikiHost, "/", "Corp SSO")
		sess := h.orgSessions("alice@example.com")[0]
		r := b.get("https://" + wikiHost + prefix + "logout")
		if r.status != http.StatusOK {
			t.Fatalf("logout: %d", r.status)
		}
		if c := r.cookie(orgCookie); c == nil || c.MaxAge >= 0 {
			t.Errorf("app cookie not cleared: %+v", c)
		}
		ev := h.lastEvent()
		wantEvent(t, ev, "logout", true)
		if ev.AppID != "wiki" || ev.UserID != sess.UserID {
			t.Errorf("logout event = %+v", ev)
		}
		// Logout is global: the org session is gone too.
		if r := b.get(authURL(prefix + "get-identity")); r.status != http.StatusUnauthorized {
			t.Errorf("org get-identity after app logout: %d", r.status)
		}
	})
	t.Run("without session", func(t *testing.T) {
		h := newHarness(t)
		b := h.browser()
		b.fetchSite = "same-origin" // a sign-out link on Gatehouse's or the app's own page
		b.jar.SetCookies(&url.URL{Scheme: "https", Host: authHost, Path: "/"}, []*http.Cookie{{Name: orgCookie, Value: "garbage", Path: "/"}})
		if r := b.get(authURL(prefix + "logout")); r.status != http.StatusOK || r.cookie(orgCookie) == nil {
			t.Errorf("logout without a session: %d", r.status)
		}
		if evs := h.events(); len(evs) != 0 {
			t.Errorf("events: %+v", evs)
		}
	})
	t.Run("store down", func(t *testing.T) {
		h := newHarness(t)
		b := h.browser()
		b.fetchSite = "same-origin" // a sign-out link on Gatehouse's or the app's own page
		b.signIn(wikiHost, "/", "Corp SSO")
		h.st.failOn("RevokeSession", store.ErrUnavailable)
		r := b.get(authURL(prefix + "logout"))
		h.wantFailure(r, http.StatusServiceUnavailable, "store-unavailable")
		if r.cookie(orgCookie) != nil {
			t.Error("the cookie was cleared although the session was not revoked")
		}
	})
}

// TestAuthDomainPages: the status page, certs, SAML metadata and unknown paths.
func TestAuthDomainPages(t *testing.T) {
	h := newHarness(t)
	b := h.browser()
	if r := b.get(authURL("/")); r.status != http.StatusOK || !strings.Contains(r.body, "You are not signed in.") {
		t.Errorf("home without session: %d\n%s", r.status, r.body)
	}
	b.signIn(wikiHost, "/", "Corp SSO")
	if r := b.get(authURL("/")); !strings.Contains(r.body, "You are signed in as alice@example.com.") || !strings.Contains(r.body, prefix+"logout") {
		t.Errorf("home with session:\n%s", r.body)
	}
	rec := httptest.NewRecorder()
	h.svc.ServeStatus(rec, newRequest(http.MethodGet, authURL("/"), defaultClient))
	if !strings.Contains(rec.Body.String(), "You are not signed in.") {
		t.Errorf("ServeStatus without cookie:\n%s", rec.Body)
	}

	for _, u := range []string{authURL(prefix + "certs"), "https://" + wikiHost + prefix + "certs"} {
		r := b.get(u)
		var certs struct {
			Keys []map[string]any `json:"keys"`
		}
		if r.status != http.StatusOK || r.header.Get("Access-Control-Allow-Origin") != "*" || json.Unmarshal([]byte(r.body), &certs) != nil || len(certs.Keys) != 1 {
			t.Errorf("%s: %d %v\n%s", u, r.status, r.header, r.body)
		}
	}
	if r := b.post(authURL(prefix+"certs"), url.Values{}); r.status != http.StatusMethodNotAllowed || r.header.Get("Allow") != "GET, HEAD" {
		t.Errorf("POST certs: %d %v", r.status, r.header)
	}

	for _, p := range []string{prefix + "saml-metadata", prefix + "saml/saml-metadata"} {
		r := b.get(authURL(p))
		want := `<EntityDescriptor entityID="https://` + authHost + prefix + `callback"/>`
		if r.status != http.StatusOK || r.header.Get("Content-Type") != "application/samlmetadata+xml" || r.body != want {
			t.Errorf("%s: %d\n%s", p, r.status, r.body)
		}
	}
	h.wantFailure(b.get(authURL(prefix+"corp/saml-metadata")), http.StatusNotFound, "no-saml-idp")
	h.wantFailure(b.get(authURL(prefix+"nope")), http.StatusNotFound, "not-found")
	h.wantFailure(b.get("https://"+wikiHost+prefix+"nope"), http.StatusNotFound, "not-found")
}

// TestLogoutCSRF: only the same site signs a user out with a GET; a cross-site link, image or
// form, and a client that does not say where it comes from, get a confirmation page whose button
// posts a token bound to the session cookie. Nothing ends the session without it.
func TestLogoutCSRF(t *testing.T) {
	h := newHarness(t)
	b := h.browser()
	b.signIn(wikiHost, "/", "Corp SSO")
	sess := h.orgSessions("alice@example.com")[0]
	alive := func(when string) {
		t.Helper()
		got, err := h.db.GetSession(t.Context(), sess.ID)
		if err != nil || !got.RevokedAt.IsZero() {
			t.Fatalf("%s: the session ended (%v)", when, err)
		}
	}
	var token string
	for _, tc := range []struct {
		site, method, url string
	}{
		{"cross-site", http.MethodGet, authURL(prefix + "logout")},
		{"cross-site", http.MethodHead, authURL(prefix + "logout")},
		{"none", http.MethodGet, authURL(prefix + "logout")},
		{"", http.MethodGet, authURL(prefix + "logout")},
		{"cross-site", http.MethodGet, "https://" + wikiHost + prefix + "logout"},
	} {
		b.fetchSite = tc.site
		r := b.do(tc.method, tc.url, nil, true)
		if r.status != http.StatusOK || r.cookie(orgCookie) != nil {
			t.Fatalf("%s %s from %q: %d, cookies %v", tc.method, tc.url, tc.site, r.status, r.header["Set-Cookie"])
		}
		if tc.method == http.MethodGet {
			if !strings.Contains(r.body, "Sign out?") || r.hidden().Get("csrf") == "" {
				t.Fatalf("no confirmation page:\n%s", r.body)
			}
			if strings.HasPrefix(tc.url, authURL("")) {
				token = r.hidden().Get("csrf") // bound to the auth domain's cookie
			}
		}
		alive(tc.site + " " + tc.method)
	}
	// A cross-site form posting without the token, or with another session's, is asked again.
	b.fetchSite = "cross-site"
	for _, csrf := range []string{"", "0000", logoutToken("another-session-cookie")} {
		r := b.post(authURL(prefix+"logout"), url.Values{"csrf": {csrf}})
		if r.status != http.StatusOK || !strings.Contains(r.body, "Sign out?") {
			t.Fatalf("POST with csrf %q: %d", csrf, r.status)
		}
		alive("POST with a wrong token")
	}
	if r := b.do(http.MethodPut, authURL(prefix+"logout"), nil, true); r.status != http.StatusMethodNotAllowed {
		t.Errorf("PUT: %d", r.status)
	}
	alive("PUT")
	// The confirmation button signs out.
	r := b.post(authURL(prefix+"logout"), url.Values{"csrf": {token}})
	if r.status != http.StatusOK || !strings.Contains(r.body, "You have been signed out") {
		t.Fatalf("confirmed logout: %d\n%s", r.status, r.body)
	}
	if got, _ := h.db.GetSession(t.Context(), sess.ID); got.RevokedAt.IsZero() {
		t.Error("the confirmed logout left the session alive")
	}
}

// TestCookiesCannotBeTossed: on HTTPS every cookie the login flow sets is a __Host- cookie the
// browser keeps only if it is Secure, host-only and for Path=/, so no sibling subdomain can set
// or overwrite it (cookie tossing); and a browser that sends the org cookie twice (a planted one
// beside its own, possible where the prefix is not: plain HTTP) is not signed in from either.
func TestCookiesCannotBeTossed(t *testing.T) {
	h := newHarness(t)
	b := h.browser()
	var set []*http.Cookie
	r := b.openApp(wikiHost, "/")
	set = append(set, r.cookies...)
	r = b.toIdP(r, "Corp SSO")
	set = append(set, r.cookies...)
	r = b.idpReturn(r)
	set = append(set, r.cookies...)
	r = b.follow(r)
	set = append(set, r.cookies...)
	names := map[string]bool{}
	for _, c := range set {
		names[c.Name] = true
		if !strings.HasPrefix(c.Name, wire.HostPrefix) || !c.Secure || c.Path != "/" || c.Domain != "" {
			t.Errorf("cookie %s: Secure=%v Path=%q Domain=%q; want a __Host- cookie", c.Name, c.Secure, c.Path, c.Domain)
		}
	}
	for _, want := range []string{orgCookie, nonceName} {
		if !names[want] {
			t.Errorf("the login set no %s cookie (set: %v)", want, names)
		}
	}

	// A second org cookie planted for the parent domain: the session is not adopted.
	victim := h.browser()
	victim.signIn(wikiHost, "/", "Corp SSO")
	attacker := h.browser()
	attacker.signIn(soloHost, "/", "Corp SSO")
	tossed := attacker.cookie(authHost, orgCookie)
	victim.jar.SetCookies(&url.URL{Scheme: "https", Host: authHost, Path: "/"},
		[]*http.Cookie{{Name: orgCookie, Value: tossed, Domain: "example.com", Path: "/"}})
	r = victim.follow(victim.openApp(soloHost, "/"))
	if loc := r.header.Get("Location"); r.status != http.StatusFound || !strings.HasPrefix(loc, prefix+"start?") {
		t.Fatalf("with two org cookies the login was not sent to the IdP: %d %s", r.status, loc)
	}
	if !strings.Contains(h.logs.String(), "cookie tossing") {
		t.Error("the duplicate cookie was not logged")
	}
}
