package authn

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/identity"
)

// TestRedirectLogin walks one login through every step: the app host starts it, the auth
// domain shows the picker, the IdP answers, the org session starts and the app host takes over
// the hand-off.
func TestRedirectLogin(t *testing.T) {
	h := newHarness(t)
	b := h.browser()

	// The app host sets its nonce cookie and sends the browser to the auth domain.
	r := b.openApp(wikiHost, "/docs/page?q=1")
	nonce := r.cookie(nonceName)
	if nonce == nil || !nonce.HttpOnly || !nonce.Secure || nonce.SameSite != http.SameSiteLaxMode || nonce.MaxAge != int(appNonceMaxAge/time.Second) {
		t.Fatalf("app nonce cookie = %+v", nonce)
	}
	loc := r.location(t)
	if loc.Host != authHost || loc.Path != prefix+"login/"+wikiHost {
		t.Fatalf("login redirect to %s", loc)
	}
	q := loc.Query()
	if q.Get("kid") != aud("wiki") || q.Get("redirect_url") != "/docs/page?q=1" || q.Get("state") != hashValue("app-nonce", nonce.Value) {
		t.Errorf("login query = %v", q)
	}

	// The auth domain binds a flow to this browser and has the app host check that the same
	// browser holds the nonce; a one-time proof brings it back.
	r = b.get(loc.String())
	flowC := r.cookiePrefixed(flowCookie)
	if flowC == nil || !flowC.HttpOnly || !flowC.Secure || flowC.MaxAge != int(FlowLifetime/time.Second) {
		t.Fatalf("flow cookie = %+v", flowC)
	}
	bind := r.location(t)
	if r.status != http.StatusFound || bind.Host != wikiHost || bind.Path != prefix+"bind" {
		t.Fatalf("login sent the browser to %s", bind)
	}
	r = b.get(bind.String())
	bound := r.location(t)
	if bound.Host != authHost || bound.Path != prefix+"bound" || bound.Query().Get("flow") != bind.Query().Get("flow") || bound.Query().Get("proof") == "" {
		t.Fatalf("bind sent the browser to %s", bound)
	}
	// Three IdPs: the picker, each link starting the same flow.
	r = b.get(bound.String())
	if r.status != http.StatusOK || !strings.Contains(r.body, "Sign in to Wiki") {
		t.Fatalf("login page: %d\n%s", r.status, r.body)
	}
	links := r.links()
	if len(links) != 3 || links["Corp SSO"] == "" || links["Corp SAML"] == "" || links["E-mail code"] == "" {
		t.Fatalf("picker links = %v", links)
	}
	start, _ := url.Parse(links["Corp SSO"])
	flowID := start.Query().Get("flow")
	if flowC.Name != flowCookie+flowID[:8] || flowID != bind.Query().Get("flow") {
		t.Errorf("flow cookie %q does not name flow %q", flowC.Name, flowID)
	}
	// The proof is spent.
	h.wantFailure(b.get(bound.String()), http.StatusBadRequest, "flow-proof-invalid")

	// Start: to the IdP, with the connector's private data kept server-side.
	r = b.get(authURL(links["Corp SSO"]))
	if loc := r.location(t); loc.Host != "idp.example" || loc.Query().Get("state") != flowID {
		t.Fatalf("start redirected to %s", loc)
	}
	f, err := h.db.GetLoginFlow(t.Context(), flowID)
	if err != nil {
		t.Fatal(err)
	}
	if f.IdPID != "corp" || f.AppID != "wiki" || f.RedirectURL != "/docs/page?q=1" || f.Data["c:nonce"] != "n:"+flowID || f.Data[flowHost] != wikiHost {
		t.Errorf("stored flow = %+v", f)
	}

	// Callback: the org session starts and the browser goes to the app host with a code.
	r = b.idpReturn(r)
	org := r.cookie(orgCookie)
	if org == nil || !org.HttpOnly || !org.Secure || org.MaxAge != int(24*time.Hour/time.Second) {
		t.Fatalf("org cookie = %+v", org)
	}
	oc := h.claims(org.Value)
	if oc.Type != "org" || !oc.HasAudience(authHost) || oc.Email != "alice@example.com" || oc.IdP.ID != "corp" || oc.Country != "NL" {
		t.Errorf("org token claims = %+v", oc)
	}
	loc = r.location(t)
	if loc.Host != wikiHost || loc.Path != prefix+"authorized" || len(loc.Query().Get("code")) != 43 {
		t.Fatalf("hand-off redirect to %s", loc)
	}
	if _, err := h.db.GetLoginFlow(t.Context(), flowID); err == nil {
		t.Error("the login flow outlived the login")
	}
	sessions := h.orgSessions("alice@example.com")
	if len(sessions) != 1 || sessions[0].ID != oc.IdentityNonce || sessions[0].IdPID != "corp" || sessions[0].IP != "203.0.113.7" || sessions[0].Country != "NL" {
		t.Fatalf("org sessions = %+v", sessions)
	}
	ev := h.lastEvent()
	wantEvent(t, ev, "login", true, "policy-matched", "email_domain-ok")
	if ev.AppID != "wiki" || ev.AppDomain != wikiHost || ev.IdPID != "corp" || ev.IdPType != "oidc" || ev.Email != "alice@example.com" ||
		ev.UserID != sessions[0].UserID || ev.IP != "203.0.113.7" || ev.Country != "NL" || ev.PolicyID != "staff" {
		t.Errorf("login event = %+v", ev)
	}

	// The app host consumes the code: app cookie, nonce cleared, back to the page asked for.
	r = b.follow(r)
	if got := r.location(t); got.Host != wikiHost || got.RequestURI() != "/docs/page?q=1" {
		t.Errorf("after the hand-off the browser goes to %s", got)
	}
	app := r.cookie(orgCookie)
	if app == nil || !app.HttpOnly || !app.Secure || app.SameSite != http.SameSiteLaxMode {
		t.Fatalf("app cookie = %+v", app)
	}
	ac := h.claims(app.Value)
	if ac.Type != "app" || !ac.HasAudience(aud("wiki")) || ac.IdentityNonce != oc.IdentityNonce || ac.ExpiresAt != clockStart.Add(24*time.Hour).Unix() {
		t.Errorf("app token claims = %+v", ac)
	}
	if c := r.cookie(nonceName); c == nil || c.MaxAge >= 0 {
		t.Errorf("nonce cookie not cleared: %+v", c)
	}
	if got := b.cookie(wikiHost, orgCookie); got != app.Value {
		t.Error("the browser does not hold the app cookie")
	}
}

// TestInstantRedirect: with one IdP the login page is skipped.
func TestInstantRedirect(t *testing.T) {
	h := newHarness(t)
	b := h.browser()
	r := b.follow(b.openApp(soloHost, "/"))
	loc := r.location(t)
	if loc.Path != prefix+"start" || loc.Query().Get("idp") != "corp" {
		t.Fatalf("login redirected to %s", loc)
	}
	r = b.signIn(soloHost, "/x", "Corp SSO")
	if got := r.location(t).RequestURI(); got != "/x" {
		t.Errorf("ended at %s", got)
	}
}

// TestSAMLLogin: a SAML-like IdP answers by cross-site POST, which carries no flow cookie; the
// answer is kept with the flow and the browser continues on the auth domain, where the flow
// cookie is checked.
func TestSAMLLogin(t *testing.T) {
	h := newHarness(t)
	b := h.browser()
	r := b.toIdP(b.openApp(wikiHost, "/"), "Corp SAML")
	if r.status != http.StatusOK || !strings.Contains(r.body, `action="https://idp.example/sso"`) {
		t.Fatalf("start did not render the auto-post form: %d\n%s", r.status, r.body)
	}
	if csp := r.header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'nonce-") {
		t.Errorf("auto-post CSP = %q", csp)
	}
	flowID := r.hidden().Get("RelayState")

	r = b.idpReturn(r)
	loc := r.location(t)
	if r.status != http.StatusSeeOther || loc.Path != prefix+"callback/continue" || loc.Query().Get("flow") != flowID {
		t.Fatalf("POST callback answered %d to %s", r.status, loc)
	}
	if r.cookie(orgCookie) != nil || len(h.orgSessions("alice@example.com")) != 0 {
		t.Fatal("a session started before the flow cookie was checked")
	}
	f, err := h.db.GetLoginFlow(t.Context(), flowID)
	if err != nil || !strings.Contains(f.Data[flowVerified], `"alice@example.com"`) {
		t.Fatalf("verified identity not kept with the flow: %+v, %v", f, err)
	}

	// Another browser cannot continue the login: the flow is bound to the first one.
	other := h.browser()
	rr := other.get(loc.String())
	h.wantFailure(rr, http.StatusBadRequest, "flow-browser-mismatch")
	if rr.cookie(orgCookie) != nil {
		t.Error("the other browser got an org session")
	}

	r = b.follow(r)
	if r.cookie(orgCookie) == nil {
		t.Fatalf("continue set no org cookie: %d\n%s", r.status, r.body)
	}
	ev := h.lastEvent()
	wantEvent(t, ev, "login", true, "policy-matched", "email_domain-ok")
	if ev.IdPID != "saml" || ev.IdPType != "saml" {
		t.Errorf("login event = %+v", ev)
	}
	r = b.follow(r)
	if r.cookie(orgCookie) == nil {
		t.Fatalf("hand-off set no app cookie: %d", r.status)
	}
	// The continue step is single-use.
	h.wantFailure(b.get(loc.String()), http.StatusBadRequest, "flow-invalid")
}

// TestCallbackBrowserMismatch: a GET callback carrying another browser's flow (login CSRF) is
// refused and audited; the flow stays for the browser that started it.
func TestCallbackBrowserMismatch(t *testing.T) {
	h := newHarness(t)
	victim, attacker := h.browser(), h.browser()
	r := victim.toIdP(victim.openApp(soloHost, "/"), "Corp SSO")
	state := r.location(t).Query().Get("state")

	cb := authURL(prefix + "callback?" + url.Values{"state": {state}}.Encode())
	// A foreign browser, with or without a flow cookie of its own, is refused before the answer
	// is used: the IdP's code is not redeemed, and the owner's flow survives.
	h.wantFailure(attacker.get(cb), http.StatusBadRequest, "flow-browser-mismatch")
	other := h.browser()
	authRoot := &url.URL{Scheme: "https", Host: authHost, Path: "/"}
	for _, c := range victim.jar.Cookies(authRoot) {
		if strings.HasPrefix(c.Name, flowCookie) {
			other.jar.SetCookies(authRoot, []*http.Cookie{{Name: c.Name, Value: "forged-binding", Path: "/"}})
		}
	}
	h.wantFailure(other.get(cb), http.StatusBadRequest, "flow-browser-mismatch")
	ev := h.lastEvent()
	wantEvent(t, ev, "login", false, "flow-browser-mismatch")
	if ev.Email != "" || ev.AppID != "solo" || ev.IdPID != "corp" {
		t.Errorf("mismatch event = %+v", ev)
	}
	if h.corp.redeemed != 0 {
		t.Errorf("the IdP answer was used %d times by foreign browsers", h.corp.redeemed)
	}
	if len(h.orgSessions("alice@example.com")) != 0 {
		t.Error("a session was created")
	}
	if r := victim.get(cb); r.cookie(orgCookie) == nil {
		t.Errorf("the browser that started the flow cannot finish it: %d\n%s", r.status, r.body)
	}
}

// TestCallbackFailures: answers that match no flow, or that the connector refuses.
func TestCallbackFailures(t *testing.T) {
	t.Run("unknown state", func(t *testing.T) {
		h := newHarness(t)
		b := h.browser()
		h.wantFailure(b.get(authURL(prefix+"callback?state=nope")), http.StatusBadRequest, "callback-unknown-flow")
		h.wantFailure(b.get(authURL(prefix+"callback")), http.StatusBadRequest, "callback-unknown-flow")
		h.wantFailure(b.do(http.MethodPut, authURL(prefix+"callback"), nil, true), http.StatusMethodNotAllowed, "method-not-allowed")
		if evs := h.events(); len(evs) != 0 {
			t.Errorf("events for unknown flows: %+v", evs)
		}
	})
	t.Run("state mismatch", func(t *testing.T) {
		h := newHarness(t)
		b := h.browser()
		r := b.toIdP(b.openApp(soloHost, "/"), "Corp SSO")
		h.corp.set(func(f *fakeIdP) { f.state = "another-flow" })
		h.wantFailure(b.idpReturn(r), http.StatusBadRequest, "callback-unknown-flow")
		h.corp.set(func(f *fakeIdP) { f.state = "" })
		if r := b.idpReturn(r); r.cookie(orgCookie) == nil {
			t.Errorf("a state mismatch spent the flow: %d\n%s", r.status, r.body)
		}
	})
	t.Run("flow without IdP", func(t *testing.T) {
		h := newHarness(t)
		b := h.browser()
		r := b.follow(b.openApp(wikiHost, "/")) // picker: the flow has no IdP yet
		start, _ := url.Parse(r.links()["Corp SSO"])
		cb := authURL(prefix + "callback?" + url.Values{"state": {start.Query().Get("flow")}}.Encode())
		h.wantFailure(b.get(cb), http.StatusBadRequest, "callback-unknown-flow")
	})
	t.Run("unreadable POST", func(t *testing.T) {
		h := newHarness(t)
		b := h.browser()
		big := url.Values{"RelayState": {strings.Repeat("x", maxCallbackBody)}}
		h.wantFailure(b.do(http.MethodPost, authURL(prefix+"callback"), big, false), http.StatusBadRequest, "callback-unreadable")
	})
	t.Run("connector failure", func(t *testing.T) {
		h := newHarness(t)
		b := h.browser()
		r := b.toIdP(b.openApp(soloHost, "/"), "Corp SSO")
		h.corp.set(func(f *fakeIdP) { f.err = fakeFailure })
		cb := b.idpReturn(r)
		f := h.wantFailure(cb, http.StatusForbidden, "saml-signature-invalid")
		if !strings.Contains(cb.body, "<h1>Sign-in failed</h1>") || !strings.Contains(cb.text(), "The identity provider's answer could not be accepted.") {
			t.Errorf("failure page:\n%s", cb.body)
		}
		ev := h.lastEvent()
		wantEvent(t, ev, "login", false, "saml-signature-invalid")
		if ev.RequestID != f.Ref || ev.IdPID != "corp" || ev.AppID != "solo" || ev.IP != "203.0.113.7" {
			t.Errorf("failure event = %+v, page reference %s", ev, f.Ref)
		}
		// The flow is spent: the same answer fails again, now as an unknown flow.
		h.corp.set(func(f *fakeIdP) { f.err = nil })
		h.wantFailure(b.idpReturn(r), http.StatusBadRequest, "callback-unknown-flow")
	})
	t.Run("no e-mail", func(t *testing.T) {
		h := newHarness(t)
		b := h.browser()
		h.corp.ident.Email = ""
		r := b.idpReturn(b.toIdP(b.openApp(soloHost, "/"), "Corp SSO"))
		h.wantFailure(r, http.StatusForbidden, "idp-no-email")
		wantEvent(t, h.lastEvent(), "login", false, "idp-no-email")
		if r.cookie(orgCookie) != nil {
			t.Error("org cookie set without an e-mail")
		}
	})
	t.Run("app deleted during login", func(t *testing.T) {
		h := newHarness(t)
		b := h.browser()
		r := b.toIdP(b.openApp(soloHost, "/"), "Corp SSO")
		h.cfg.Applications = h.cfg.Applications[:2]
		h.publish()
		h.wantFailure(b.idpReturn(r), http.StatusBadRequest, "app-gone")
	})
}

// fakeFailure is a connector failure whose cause must never reach a user.
var fakeFailure = identity.Fail("saml-signature-invalid", errors.New("SECRET-CAUSE: digest 0xdeadbeef does not match key /etc/gatehouse/idp.pem"))

// TestForeignPOSTLeavesTheFlow: a SAML answer posted cross-site for someone else's flow (no flow
// cookie can travel with it) that the connector refuses does not spend the owner's flow, and
// counts against the poster's login budget; the owner's own answer then completes the login.
func TestForeignPOSTLeavesTheFlow(t *testing.T) {
	h := newHarness(t)
	victim, attacker := h.browser(), h.browser()
	r := victim.toIdP(victim.openApp(wikiHost, "/"), "Corp SAML")
	relay := r.hidden().Get("RelayState")

	h.saml.set(func(f *fakeIdP) { f.err = identity.Fail("saml-bad-signature", errors.New("forged")) })
	forged := attacker.do(http.MethodPost, authURL(prefix+"callback"), url.Values{"SAMLResponse": {"Zm9yZ2Vk"}, "RelayState": {relay}}, false)
	h.wantFailure(forged, http.StatusForbidden, "saml-bad-signature")
	if _, err := h.db.GetLoginFlow(t.Context(), relay); err != nil {
		t.Fatalf("a foreign POST spent the owner's flow: %v", err)
	}
	h.saml.set(func(f *fakeIdP) { f.err = nil })
	if r := victim.follow(victim.idpReturn(r)); r.cookie(orgCookie) == nil {
		t.Fatalf("the owner could not finish after a foreign POST: %d\n%s", r.status, r.body)
	}

	// Unbound POSTs are budgeted like login starts.
	setLimit(t, &LoginFlowsPerIP, Limit{Window: time.Minute, Max: 1})
	other := h.browser()
	other.client.IP = netip.MustParseAddr("198.51.100.77")
	post := func() *reply {
		return other.do(http.MethodPost, authURL(prefix+"callback"), url.Values{"SAMLResponse": {"Zm9yZ2Vk"}, "RelayState": {relay}}, false)
	}
	h.saml.set(func(f *fakeIdP) { f.err = identity.Fail("saml-bad-signature", errors.New("forged")) })
	post()
	h.wantFailure(post(), http.StatusTooManyRequests, "rate-limited")
}

// TestLoginBoundToOneBrowser: a login started in one browser and opened in another never gets a
// hand-off code minted for the first browser's nonce. Each hop a login link could be opened at —
// the login URL, the app host's bind step, the auth domain's bound step, the hand-off — refuses
// the other browser (or starts a login of its own for it), and the IdP is never asked before the
// binding is proven.
func TestLoginBoundToOneBrowser(t *testing.T) {
	h := newHarness(t)
	attacker, victim := h.browser(), h.browser()
	victim.signIn(wikiHost, "/", "Corp SSO") // the victim has an org session

	// 1. The attacker's login URL opened by the victim: the app host finds no nonce for it in the
	// victim's browser and starts the victim's own login instead.
	start := attacker.openApp(soloHost, "/secret")
	attackerState := start.location(t).Query().Get("state")
	r := victim.get(start.location(t).String()) // login: a flow bound to the victim on the auth domain
	r = victim.get(r.location(t).String())      // bind on the app host: no matching nonce
	loc := r.location(t)
	if loc.Host != authHost || loc.Path != prefix+"login/"+soloHost || loc.Query().Get("state") == attackerState {
		t.Fatalf("a foreign login link went on as the attacker's: %s", loc)
	}
	wantEvent(t, h.lastEvent(), "login", false, "flow-foreign-browser")
	if r.cookie(nonceName) == nil {
		t.Error("the victim's own login did not set the victim's nonce")
	}

	// 2. The attacker binds its own flow and sends the victim the bound link: the victim's browser
	// lacks the flow's auth-domain cookie.
	r = attacker.get(start.location(t).String())
	r = attacker.get(r.location(t).String())
	bound := r.location(t)
	if bound.Path != prefix+"bound" {
		t.Fatalf("attacker's bind: %s", bound)
	}
	h.wantFailure(victim.get(bound.String()), http.StatusBadRequest, "flow-browser-mismatch")
	wantEvent(t, h.lastEvent(), "login", false, "flow-foreign-browser")

	// 3. The IdP is never asked for a flow the browser has not bound.
	fresh := h.browser()
	r = fresh.get(fresh.openApp(wikiHost, "/").location(t).String())
	flowID := r.location(t).Query().Get("flow")
	h.corp.set(func(f *fakeIdP) { f.startErr = errors.New("the IdP must not be asked") })
	h.wantFailure(fresh.get(authURL(prefix+"start?"+url.Values{"flow": {flowID}, "idp": {"corp"}}.Encode())), http.StatusBadRequest, "flow-not-bound")
	h.corp.set(func(f *fakeIdP) { f.startErr = nil })

	// 4. A hand-off code presented by a browser without its nonce is spent and recorded.
	owner := h.browser()
	r = owner.idpReturn(owner.toIdP(owner.openApp(soloHost, "/"), "Corp SSO"))
	code := r.location(t)
	if code.Path != prefix+"authorized" {
		t.Fatalf("owner's hand-off: %s", code)
	}
	r = attacker.get(code.String())
	if r.cookie(orgCookie) != nil || r.location(t).Path != prefix+"login/"+soloHost {
		t.Fatalf("a foreign browser used the code: %d %s", r.status, r.header.Get("Location"))
	}
	wantEvent(t, h.lastEvent(), "login", false, "handoff-foreign-browser")
	h.wantFailure(owner.get(code.String()), http.StatusBadRequest, "handoff-replayed")
}

// TestRefusedCredentialsAreAudited: when the proxy sends a browser to log in because the
// credential it presented was refused (expired, revoked, forged…), the refusal is in the auth log
// with its reasons; a browser that presented none is not; and one client address cannot put more
// than refusalEventsPerIP a minute there.
func TestRefusedCredentialsAreAudited(t *testing.T) {
	h := newHarness(t)
	start := func(ip string, reasons ...string) {
		t.Helper()
		b := h.browser()
		b.client.IP = netip.MustParseAddr(ip)
		req := newRequest(http.MethodGet, "https://"+wikiHost+"/docs", b.client)
		rec := httptest.NewRecorder()
		h.svc.StartAppLogin(rec, req, h.snap(), h.app("wiki"), wikiHost, "/docs", reasons)
		if rec.Code != http.StatusFound {
			t.Fatalf("StartAppLogin: %d", rec.Code)
		}
	}
	start("198.51.100.1", "identity-required")
	if evs := h.events(); len(evs) != 0 {
		t.Fatalf("a request without a credential was audited: %+v", evs)
	}
	start("198.51.100.1", "identity-required", "token-expired")
	ev := h.lastEvent()
	wantEvent(t, ev, "access", false, "identity-required", "token-expired")
	if ev.AppID != "wiki" || ev.AppDomain != wikiHost || ev.IP != "198.51.100.1" {
		t.Errorf("refusal event = %+v", ev)
	}
	for range refusalEventsPerIP + 5 {
		start("198.51.100.2", "identity-required", "token-bad-signature")
	}
	start("198.51.100.3", "identity-required", "session-revoked")
	n := map[string]int{}
	for _, e := range h.events() {
		n[e.IP]++
	}
	if n["198.51.100.2"] != refusalEventsPerIP || n["198.51.100.3"] != 1 {
		t.Errorf("events per address: %v, want %d for the flooding one", n, refusalEventsPerIP)
	}
	// The next minute has a new budget.
	h.clock.Advance(time.Minute)
	start("198.51.100.2", "identity-required", "token-bad-signature")
	if ev := h.lastEvent(); ev.IP != "198.51.100.2" || ev.Time.Before(h.clock.Now()) {
		t.Errorf("no event in the next minute: %+v", ev)
	}
}
