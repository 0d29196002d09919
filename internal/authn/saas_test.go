package authn

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

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
	// The login through the IdP is in the auth log; the SaaS step records its own decision.
	ev := h.lastEvent()
	wantEvent(t, ev, "login", true, "org-session-started")
	if ev.AppID != "crm" || ev.Email != "alice@example.com" || ev.IdPID != "corp" {
		t.Errorf("login event = %+v", ev)
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
		if ev.AppID != "crm" || ev.Email != "mallory@evil.test" || ev.IdPID != "corp" || ev.RequestID != r.ref(t) {
			t.Errorf("event = %+v (page reference %s)", ev, r.ref(t))
		}
		if ref := r.ref(t); ev.RequestID != ref {
			t.Errorf("event request ID %q, the block page shows %q", ev.RequestID, ref)
		}
	})
	t.Run("method", func(t *testing.T) {
		h.in(t)
		_, handled, r := h.browser().authorize(http.MethodPut, sso, "crm", sso)
		if !handled {
			t.Error("not handled")
		}
		h.wantFailure(r, http.StatusMethodNotAllowed, "method-not-allowed")
		wantSaaSFailureEvent(t, h, r, "method-not-allowed")
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
		wantSaaSFailureEvent(t, h, r, "store-unavailable")
	})
}

// wantSaaSFailureEvent checks that a failed SaaS login step recorded a refused saas_sso event
// with the reference its error page shows (issue 12).
func wantSaaSFailureEvent(t *testing.T, h *harness, r *reply, reason string) {
	t.Helper()
	ev := h.lastEvent()
	wantEvent(t, ev, "saas_sso", false, reason)
	if ref := r.ref(t); ev.RequestID != ref || ev.AppID != "crm" {
		t.Errorf("event request ID %q app %q, the page shows %q", ev.RequestID, ev.AppID, ref)
	}
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
		prefix + "admin/":                 prefix + "admin/",
		prefix + "admin/users/u1":         prefix + "admin/users/u1",
		prefix + "admin/x?y=1":            "/",
		prefix + "admin//evil.example/":   "/",
		prefix + "adminx":                 "/",
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
	ref := "feedfacecafebeef"
	h.svc.Deny(rec, newRequest(http.MethodGet, "https://"+wikiHost+"/", defaultClient), h.snap(), app, &identity.Identity{Email: "bob@example.com"}, d, false, ref)
	body := rec.Body.String()
	// The page's reference is returned (the proxy logs it with the request) and logged with the
	// reasons.
	if len(ref) != 16 || !strings.Contains(body, "Reference: "+ref) {
		t.Errorf("reference %q not on the page", ref)
	}
	if logs := h.logs.String(); !strings.Contains(logs, `"msg":"access denied","ref":"`+ref+`"`) || !strings.Contains(logs, "include-failed-ip") {
		t.Errorf("the denial was not logged under its reference:\n%s", logs)
	}
	if rec.Code != http.StatusForbidden || rec.Header().Get("Gatehouse-Reasons") != "no-policy-matched,include-failed-ip" ||
		!strings.Contains(body, "Wiki access is by request.") || !strings.Contains(body, "Sign in as someone else") {
		t.Errorf("%d %v\n%s", rec.Code, rec.Header(), body)
	}
	if rec.Header().Get("X-Frame-Options") != "DENY" || !strings.Contains(rec.Header().Get("Content-Security-Policy"), "frame-ancestors 'none'") {
		t.Errorf("security headers missing: %v", rec.Header())
	}
}

// TestAuthorizeFresh: a relying party that wants a login at or after some time (OIDC
// prompt=login or max_age, SAML ForceAuthn) gets one: an older org session logs in again through
// the IdP, which is asked to authenticate anew, and the grant then comes from the new session.
func TestAuthorizeFresh(t *testing.T) {
	h := newHarness(t)
	b := h.browser()
	sso := prefix + "sso/crm/authorize?client_id=crm"
	authorize := func(fresh session.Freshness) (*session.Grant, bool, *reply) {
		req := newRequest(http.MethodGet, authURL(sso), b.client)
		for _, c := range b.jar.Cookies(req.URL) {
			req.AddCookie(c)
		}
		rec := httptest.NewRecorder()
		g, handled := h.svc.AuthorizeFresh(rec, req, h.app("crm"), sso, fresh)
		return g, handled, b.record(req, rec)
	}
	_, _, r := authorize(session.Freshness{})
	b.follow(b.idpReturn(b.follow(r)))
	first := h.orgSessions("alice@example.com")[0]
	if g, handled, _ := authorize(session.Freshness{AuthAfter: first.CreatedAt}); handled || g.SessionID != first.ID {
		t.Fatalf("a session exactly as recent as asked was not accepted: %v %v", g, handled)
	}

	h.clock.Advance(10 * time.Minute)
	asked := h.clock.Now()
	g, handled, r := authorize(session.Freshness{AuthAfter: asked})
	if g != nil || !handled || r.location(t).Path != prefix+"start" {
		t.Fatalf("an older session was used: grant %v, %d %s", g, r.status, r.header.Get("Location"))
	}
	r = b.idpReturn(b.follow(r))
	if got := h.corp.forced; len(got) < 2 || !got[len(got)-1] || !got[len(got)-2] {
		t.Errorf("the IdP was not asked to authenticate anew: %v", got)
	}
	g, handled, _ = authorize(session.Freshness{AuthAfter: asked})
	if handled || g == nil || g.SessionID == first.ID {
		t.Fatalf("after the fresh login: grant %+v, handled %v", g, handled)
	}
}
