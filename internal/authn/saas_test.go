package authn

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/httpx"
	"github.com/gatehouse/gatehouse/internal/identity"
	"github.com/gatehouse/gatehouse/internal/policy"
	"github.com/gatehouse/gatehouse/internal/session"
	"github.com/gatehouse/gatehouse/internal/store"
)

// authorize calls Service.Authorize for app on a request to path on the auth domain with the
// browser's cookies.
func (b *browser) authorize(method, path, appID, returnPath string) (*session.Grant, bool, *reply) {
	b.h.t.Helper()
	req := newRequest(method, authURL(path), b.client)
	for _, c := range b.jar.Cookies(req.URL) {
		req.AddCookie(c)
	}
	rec := httptest.NewRecorder()
	g, handled := b.h.svc.Authorize(rec, req, b.h.app(appID), returnPath)
	return g, handled, b.record(req, rec)
}

// TestAuthorize: the SaaS endpoints' login step starts a login on the auth domain, returns to
// the SaaS endpoint, and then grants or denies by the app's policies.
func TestAuthorize(t *testing.T) {
	h := newHarness(t)
	b := h.browser()
	sso := prefix + "sso/crm/authorize?client_id=crm"

	g, handled, r := b.authorize(http.MethodGet, sso, "crm", sso)
	if g != nil || !handled {
		t.Fatalf("without a session: grant %v, handled %v", g, handled)
	}
	start := r.location(t) // crm offers one IdP: straight to it
	if start.Path != prefix+"start" {
		t.Fatalf("login started at %s", start)
	}
	f, err := h.db.GetLoginFlow(t.Context(), start.Query().Get("flow"))
	if err != nil || f.AppID != "crm" || f.Data[flowHost] != authHost || f.RedirectURL != sso || f.Data[flowState] != "" {
		t.Fatalf("flow = %+v, %v", f, err)
	}
	r = b.idpReturn(b.follow(r))
	if loc := r.location(t); loc.Host != authHost || loc.RequestURI() != sso {
		t.Errorf("after login: %s, want back at %s", loc, sso)
	}
	if r.cookie(orgCookie) == nil {
		t.Fatal("no org cookie")
	}

	g, handled, _ = b.authorize(http.MethodGet, sso, "crm", sso)
	if g == nil || handled || g.Identity.Email != "alice@example.com" || g.SessionID != h.orgSessions("alice@example.com")[0].ID ||
		g.Decision.Action != policy.ActionAllow || g.Decision.PolicyID != "staff" {
		t.Fatalf("with a session: grant %+v, handled %v", g, handled)
	}

	t.Run("denied", func(t *testing.T) {
		h := newHarness(t)
		h.corp.ident.Email = "mallory@evil.test"
		b := h.browser()
		_, _, r := b.authorize(http.MethodGet, sso, "crm", sso)
		b.idpReturn(b.follow(r))
		g, handled, r := b.authorize(http.MethodPost, sso, "crm", sso)
		if g != nil || !handled || r.status != http.StatusForbidden || r.header.Get("Gatehouse-Reasons") == "" {
			t.Fatalf("grant %v, handled %v, %d", g, handled, r.status)
		}
		ev := h.lastEvent()
		wantEvent(t, ev, "saas_sso", false, "no-policy-matched", "include-failed-email_domain")
		if ev.AppID != "crm" || ev.Email != "mallory@evil.test" || ev.IdPID != "corp" {
			t.Errorf("event = %+v", ev)
		}
	})
	t.Run("method", func(t *testing.T) {
		h.in(t)
		_, handled, r := h.browser().authorize(http.MethodPut, sso, "crm", sso)
		if !handled {
			t.Error("not handled")
		}
		h.wantFailure(r, http.StatusMethodNotAllowed, "method-not-allowed")
	})
	t.Run("store down", func(t *testing.T) {
		h.in(t)
		h.st.failOn("GetSession", store.ErrUnavailable)
		defer h.st.failOn("GetSession", nil)
		_, handled, r := b.authorize(http.MethodGet, sso, "crm", sso)
		if !handled {
			t.Error("not handled")
		}
		h.wantFailure(r, http.StatusServiceUnavailable, "store-unavailable")
	})
}

// TestAuthDomainPath: after a login for the auth domain the browser only returns to the SaaS
// endpoints or the launcher root.
func TestAuthDomainPath(t *testing.T) {
	snap := targetSnapshot(t)
	for in, want := range map[string]string{
		"/":                               "/",
		prefix + "sso/crm/authorize?x=1":  prefix + "sso/crm/authorize?x=1",
		prefix + "sso//evil.example/":     "/",
		prefix + "sso/x\\y":               "/",
		prefix + "sso/x\r\nSet-Cookie: a": "/",
		prefix + "logout":                 "/",
		"//evil.example/":                 "/",
		"https://evil.example/":           "/",
		"":                                "/",
	} {
		if got := authDomainPath(snap, in); got != want {
			t.Errorf("authDomainPath(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestRecheck: the SaaS token endpoints re-check the user's last login against the app.
func TestRecheck(t *testing.T) {
	h := newHarness(t)
	ctx := t.Context()
	app := h.app("crm")
	req := newRequest(http.MethodPost, authURL("/token"), httpx.Client{IP: defaultClient.IP, Country: "DE"})

	id, d, err := h.svc.Recheck(ctx, req, app, "no-such-user")
	if err != nil || id != nil || d.Action != policy.ActionDeny || d.Reasons[0] != "user-unknown" {
		t.Errorf("unknown user: %v %+v %v", id, d, err)
	}

	raw, _ := json.Marshal(identity.Identity{Email: "alice@example.com", IdP: identity.IdP{ID: "corp", Type: "oidc"}})
	alice, err := h.db.UpsertUserByEmail(ctx, "alice@example.com", store.LastSeen{Identity: raw})
	if err != nil {
		t.Fatal(err)
	}
	id, d, err = h.svc.Recheck(ctx, req, app, alice.ID)
	if err != nil || id == nil || id.UserID != alice.ID || d.Action != policy.ActionAllow || d.PolicyID != "staff" {
		t.Errorf("active user: %+v %+v %v", id, d, err)
	}
	if id, d, _ := h.svc.Recheck(ctx, nil, h.app("office"), alice.ID); id == nil || d.Action != policy.ActionDeny {
		t.Errorf("without a request the client is unknown and the country rule fails: %+v", d)
	}

	mallory, _ := h.db.UpsertUserByEmail(ctx, "mallory@example.com", store.LastSeen{})
	if _, d, _ := h.svc.Recheck(ctx, req, app, mallory.ID); d.Reasons[0] != "user-identity-unknown" {
		t.Errorf("user without identity: %+v", d)
	}
	if _, err := h.db.UpdateUser(ctx, alice.ID, func(u *store.User) error { u.Status = store.UserInactive; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, d, _ := h.svc.Recheck(ctx, req, app, alice.ID); d.Action != policy.ActionDeny || d.Reasons[0] != "user-inactive" {
		t.Errorf("inactive user: %+v", d)
	}
	h.st.failOn("GetUser", errors.New("db down"))
	if _, _, err := h.svc.Recheck(ctx, req, app, alice.ID); err == nil || !strings.Contains(err.Error(), "db down") {
		t.Errorf("store failure: %v", err)
	}
}

// TestDeny: the block page the proxy renders through Deny.
func TestDeny(t *testing.T) {
	h := newHarness(t)
	app := h.app("wiki")
	app.CustomDenyMessage = "Wiki access is by request."
	rec := httptest.NewRecorder()
	d := policy.Decision{Action: policy.ActionDeny, Reasons: []string{"no-policy-matched", "include-failed-ip"}}
	h.svc.Deny(rec, newRequest(http.MethodGet, "https://"+wikiHost+"/", defaultClient), h.snap(), app, &identity.Identity{Email: "bob@example.com"}, d, false, "")
	body := rec.Body.String()
	if rec.Code != http.StatusForbidden || rec.Header().Get("Gatehouse-Reasons") != "no-policy-matched,include-failed-ip" ||
		!strings.Contains(body, "Wiki access is by request.") || !strings.Contains(body, "Sign in as someone else") {
		t.Errorf("%d %v\n%s", rec.Code, rec.Header(), body)
	}
	if rec.Header().Get("X-Frame-Options") != "DENY" || !strings.Contains(rec.Header().Get("Content-Security-Policy"), "frame-ancestors 'none'") {
		t.Errorf("security headers missing: %v", rec.Header())
	}
}
