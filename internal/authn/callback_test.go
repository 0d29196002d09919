package authn

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/identity"
	"github.com/gatehouse/gatehouse/internal/store"
)

// samlPost posts an IdP-initiated SAML answer to the callback, cross-site.
func (b *browser) samlPost(relayState string) *reply {
	b.h.t.Helper()
	return b.do(http.MethodPost, authURL(prefix+"callback"), url.Values{"SAMLResponse": {"PHNhbWw+"}, "RelayState": {relayState}}, false)
}

// TestIdPInitiated: an unsolicited SAML answer signs the user in through an IdP that allows
// it and lands on the RelayState when that is an application's URL.
func TestIdPInitiated(t *testing.T) {
	h := newHarness(t)
	h.saml.set(func(f *fakeIdP) { f.unsolicited = true })
	b := h.browser()

	r := b.samlPost("")
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "https://"+authHost+"/" || r.cookie(orgCookie) == nil {
		t.Fatalf("got %d to %q\n%s", r.status, r.header.Get("Location"), r.body)
	}
	ev := h.lastEvent()
	wantEvent(t, ev, "login", true, "idp-initiated")
	if ev.IdPID != "saml" || ev.Email != "alice@example.com" {
		t.Errorf("event = %+v", ev)
	}
	if n := len(h.orgSessions("alice@example.com")); n != 1 {
		t.Errorf("%d sessions", n)
	}
	if r := b.samlPost("https://" + wikiHost + "/docs?a=1"); r.header.Get("Location") != "https://"+wikiHost+"/docs?a=1" {
		t.Errorf("RelayState of an application: to %q", r.header.Get("Location"))
	}
	// A RelayState that names no flow is no flow: it is tried as IdP-initiated too.
	if r := b.samlPost("not-a-flow"); r.status != http.StatusSeeOther || r.header.Get("Location") != "https://"+authHost+"/" {
		t.Errorf("unknown RelayState: %d %q", r.status, r.header.Get("Location"))
	}

	t.Run("refused by the IdP", func(t *testing.T) {
		h.in(t)
		h.saml.set(func(f *fakeIdP) { f.err = fakeFailure })
		defer h.saml.set(func(f *fakeIdP) { f.err = nil })
		r := b.samlPost("")
		fl := h.wantFailure(r, http.StatusForbidden, "saml-signature-invalid")
		ev := h.lastEvent()
		wantEvent(t, ev, "login", false, "saml-signature-invalid", "idp-initiated")
		if ev.RequestID != fl.Ref {
			t.Errorf("event reference %q, page %q", ev.RequestID, fl.Ref)
		}
	})
	t.Run("no e-mail", func(t *testing.T) {
		h.in(t)
		h.saml.set(func(f *fakeIdP) { f.ident = &identity.Identity{} })
		defer h.saml.set(func(f *fakeIdP) { f.ident = &identity.Identity{Email: "alice@example.com"} })
		h.wantFailure(b.samlPost(""), http.StatusForbidden, "idp-no-email")
		wantEvent(t, h.lastEvent(), "login", false, "idp-no-email")
	})
	t.Run("inactive user", func(t *testing.T) {
		h.in(t)
		deactivate(t, h, "carol@example.com")
		h.saml.set(func(f *fakeIdP) { f.ident = &identity.Identity{Email: "carol@example.com"} })
		defer h.saml.set(func(f *fakeIdP) { f.ident = &identity.Identity{Email: "alice@example.com"} })
		h.wantFailure(b.samlPost(""), http.StatusForbidden, "user-inactive")
		wantEvent(t, h.lastEvent(), "login", false, "user-inactive")
	})
	t.Run("rate limited", func(t *testing.T) {
		h.in(t)
		setLimit(t, &LoginFlowsPerIP, Limit{Window: time.Minute, Max: 0})
		h.wantFailure(b.samlPost(""), http.StatusTooManyRequests, "rate-limited")
	})
	t.Run("not allowed", func(t *testing.T) {
		h.in(t)
		h.saml.set(func(f *fakeIdP) { f.unsolicited = false })
		h.wantFailure(b.samlPost(""), http.StatusBadRequest, "callback-unknown-flow")
	})
}

// TestTestIdP: an IdP test login shows what the IdP returned and starts no session.
func TestTestIdP(t *testing.T) {
	h := newHarness(t)
	b := h.browser()
	r := b.get(authURL(prefix + "test-idp/corp"))
	r = b.idpReturn(r)
	if r.status != http.StatusOK || !strings.Contains(r.body, "Identity provider test: Corp SSO") || !strings.Contains(r.text(), `"email": "alice@example.com"`) {
		t.Fatalf("test result: %d\n%s", r.status, r.body)
	}
	if r.cookie(orgCookie) != nil || len(h.orgSessions("alice@example.com")) != 0 {
		t.Error("an IdP test started a session")
	}
	ev := h.lastEvent()
	wantEvent(t, ev, "idp_test", true)
	if ev.IdPID != "corp" || ev.Email != "alice@example.com" {
		t.Errorf("event = %+v", ev)
	}
	h.wantFailure(b.get(authURL(prefix+"test-idp/nope")), http.StatusNotFound, "idp-unknown")
}

// TestTestIdPOneTimePIN: the e-mail PIN provider's test page asks for an address, sends a PIN to
// an address an application offering the provider admits (and to no other, with the same page),
// and entering it shows the identity a login produces without starting a session.
func TestTestIdPOneTimePIN(t *testing.T) {
	h := newHarness(t)
	b := h.browser()
	r := b.get(authURL(prefix + "test-idp/pin"))
	if r.status != http.StatusOK || !strings.Contains(r.body, "Identity provider test: E-mail code") || !strings.Contains(r.body, `action="`+prefix+`pin"`) ||
		!strings.Contains(r.body, "no session is created") || strings.Contains(r.body, `role="alert"`) {
		t.Fatalf("test page: %d\n%s", r.status, r.body)
	}
	form := r.hidden()

	refused := b.sendPIN(form, "eve@evil.test")
	wantEvent(t, h.lastEvent(), "pin_sent", false, "no-policy-matched", "include-failed-email_domain", "address-not-allowed")
	allowed := b.sendPIN(form, "Alice@Example.com")
	if allowed.status != http.StatusOK || strings.ReplaceAll(refused.body, "eve@evil.test", "alice@example.com") != allowed.body {
		t.Errorf("the page tells the addresses apart:\n%s\n---\n%s", allowed.body, refused.body)
	}
	sent := h.pins.next(t)
	if sent.to != "alice@example.com" {
		t.Fatalf("sent %+v", sent)
	}
	select {
	case p := <-h.pins.sent:
		t.Errorf("a second PIN was sent, to %s", p.to)
	default:
	}
	ev := h.lastEvent()
	wantEvent(t, ev, "pin_sent", true, "policy-matched", "email_domain-ok")
	if ev.IdPID != "pin" || ev.PolicyID != "staff" || ev.AppID != "" {
		t.Errorf("pin_sent event = %+v", ev)
	}

	if r := b.verifyPIN(allowed.hidden(), "000000"); r.status != http.StatusOK || !strings.Contains(r.body, "That code is not right.") {
		t.Errorf("wrong code: %d\n%s", r.status, r.body)
	}
	r = b.verifyPIN(allowed.hidden(), sent.pin)
	if r.status != http.StatusOK || !strings.Contains(r.body, "Identity provider test: E-mail code") ||
		!strings.Contains(r.text(), `"email": "alice@example.com"`) || !strings.Contains(r.text(), `"type": "onetimepin"`) || !strings.Contains(r.text(), `"otp"`) {
		t.Fatalf("test result: %d\n%s", r.status, r.body)
	}
	if r.cookie(orgCookie) != nil || len(h.orgSessions("alice@example.com")) != 0 {
		t.Error("an IdP test started a session")
	}
	ev = h.lastEvent()
	wantEvent(t, ev, "idp_test", true)
	if ev.IdPID != "pin" || ev.IdPType != "onetimepin" || ev.Email != "alice@example.com" {
		t.Errorf("idp_test event = %+v", ev)
	}
	// The flow is spent.
	h.wantFailure(b.verifyPIN(allowed.hidden(), sent.pin), http.StatusBadRequest, "flow-invalid")
	// An application's PIN login is unchanged: its policies decide, and the event names it.
	other := h.browser()
	appForm := other.pinForm()
	if r := other.sendPIN(appForm, "alice@example.com"); r.status != http.StatusOK {
		t.Fatalf("app flow: %d", r.status)
	}
	if p := h.pins.next(t); p.to != "alice@example.com" {
		t.Errorf("sent %+v", p)
	}
	wantEvent(t, h.lastEvent(), "pin_sent", true, "policy-matched", "email_domain-ok")
	if ev := h.lastEvent(); ev.AppID != "wiki" {
		t.Errorf("app flow event = %+v", ev)
	}
}

// TestInactiveUser: a deactivated user's IdP login starts no session.
func TestInactiveUser(t *testing.T) {
	h := newHarness(t)
	deactivate(t, h, "alice@example.com")
	b := h.browser()
	r := b.idpReturn(b.toIdP(b.openApp(soloHost, "/"), "Corp SSO"))
	h.wantFailure(r, http.StatusForbidden, "user-inactive")
	if !strings.Contains(r.body, "This account has been deactivated.") || r.cookie(orgCookie) != nil {
		t.Errorf("got %d\n%s", r.status, r.body)
	}
	ev := h.lastEvent()
	wantEvent(t, ev, "login", false, "user-inactive")
	if ev.Email != "alice@example.com" || ev.AppID != "solo" {
		t.Errorf("event = %+v", ev)
	}
	if len(h.orgSessions("alice@example.com")) != 0 {
		t.Error("a session was stored")
	}
}

// storeDown is a store failure whose text must stay in the log.
var storeDown = errors.New("sqlite: SECRET-DSN file:/var/lib/gatehouse/gatehouse.db is locked")

// TestStoreFailures: every login step fails closed with 503 when its store access fails.
func TestStoreFailures(t *testing.T) {
	for _, tc := range []struct {
		name, method string
		// step runs the login up to the step that must fail, and returns that step.
		step func(b *browser) func() *reply
	}{
		{"login page: rate limit", "HitRateLimit", func(b *browser) func() *reply {
			r := b.openApp(wikiHost, "/")
			return func() *reply { return b.follow(r) }
		}},
		{"login page: flow", "CreateLoginFlow", func(b *browser) func() *reply {
			r := b.openApp(wikiHost, "/")
			return func() *reply { return b.follow(r) }
		}},
		{"login page: org session", "GetSession", func(b *browser) func() *reply {
			b.signIn(wikiHost, "/", "Corp SSO")
			r := b.openApp(soloHost, "/")
			return func() *reply { return b.follow(r) }
		}},
		{"start: flow", "GetLoginFlow", func(b *browser) func() *reply {
			r := b.follow(b.openApp(soloHost, "/"))
			return func() *reply { return b.follow(r) }
		}},
		{"start: flow update", "DeleteLoginFlow", func(b *browser) func() *reply {
			r := b.follow(b.openApp(soloHost, "/"))
			return func() *reply { return b.follow(r) }
		}},
		{"callback: flow", "GetLoginFlow", func(b *browser) func() *reply {
			r := b.toIdP(b.openApp(soloHost, "/"), "Corp SSO")
			return func() *reply { return b.idpReturn(r) }
		}},
		{"callback: user", "UpsertUserByEmail", func(b *browser) func() *reply {
			r := b.toIdP(b.openApp(soloHost, "/"), "Corp SSO")
			return func() *reply { return b.idpReturn(r) }
		}},
		{"callback: hand-off", "CreateHandoffCode", func(b *browser) func() *reply {
			r := b.toIdP(b.openApp(soloHost, "/"), "Corp SSO")
			return func() *reply { return b.idpReturn(r) }
		}},
		{"callback: POST flow update", "CreateLoginFlow", func(b *browser) func() *reply {
			r := b.toIdP(b.openApp(wikiHost, "/"), "Corp SAML")
			return func() *reply { return b.idpReturn(r) }
		}},
		{"hand-off", "ConsumeHandoffCode", func(b *browser) func() *reply {
			code := b.handoff(soloHost, "/")
			return func() *reply { return b.get(code.String()) }
		}},
		{"PIN send: limit", "HitRateLimit", func(b *browser) func() *reply {
			form := b.pinForm()
			return func() *reply { return b.sendPIN(form, "alice@example.com") }
		}},
		{"PIN send: challenge", "CreatePINChallenge", func(b *browser) func() *reply {
			form := b.pinForm()
			return func() *reply { return b.sendPIN(form, "alice@example.com") }
		}},
		{"PIN send: flow update", "DeleteLoginFlow", func(b *browser) func() *reply {
			form := b.pinForm()
			return func() *reply { return b.sendPIN(form, "alice@example.com") }
		}},
		{"PIN verify: limit", "HitRateLimit", func(b *browser) func() *reply {
			form := b.pinForm()
			b.sendPIN(form, "alice@example.com")
			b.h.pins.next(b.h.t)
			return func() *reply { return b.verifyPIN(form, "123456") }
		}},
		{"PIN verify: challenge", "AttemptPINChallenge", func(b *browser) func() *reply {
			form := b.pinForm()
			b.sendPIN(form, "alice@example.com")
			b.h.pins.next(b.h.t)
			return func() *reply { return b.verifyPIN(form, "123456") }
		}},
		{"PIN verify: user", "UpsertUserByEmail", func(b *browser) func() *reply {
			form := b.pinForm()
			b.sendPIN(form, "alice@example.com")
			pin := b.h.pins.next(b.h.t).pin
			return func() *reply { return b.verifyPIN(form, pin) }
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			b := h.browser()
			step := tc.step(b)
			h.st.failOn(tc.method, storeDown)
			r := step()
			f := h.wantFailure(r, http.StatusServiceUnavailable, "store-unavailable")
			if cause, _ := f.Cause.(string); !strings.Contains(cause, "SECRET-DSN") {
				t.Errorf("logged cause = %v", f.Cause)
			}
			if strings.Contains(r.body, "SECRET-DSN") || !strings.Contains(r.body, "Sign-in is temporarily unavailable.") {
				t.Errorf("error page:\n%s", r.body)
			}
			if r.cookie(orgCookie) != nil && tc.method != "CreateHandoffCode" {
				t.Error("a cookie was set by a failed step")
			}
		})
	}
}

// TestErrorsDoNotLeak: a refused IdP answer shows its public message and a reference, and the
// private cause only reaches the log, under that reference.
func TestErrorsDoNotLeak(t *testing.T) {
	h := newHarness(t)
	h.corp.set(func(f *fakeIdP) { f.err = fakeFailure })
	b := h.browser()
	r := b.idpReturn(b.toIdP(b.openApp(soloHost, "/"), "Corp SSO"))
	f := h.wantFailure(r, http.StatusForbidden, "saml-signature-invalid")
	if strings.Contains(r.body, "SECRET-CAUSE") || strings.Contains(r.body, "deadbeef") || strings.Contains(r.body, "idp.pem") {
		t.Errorf("the cause reached the page:\n%s", r.body)
	}
	if !strings.Contains(r.text(), "The identity provider's answer could not be accepted.") || !strings.Contains(r.body, "Reference: "+f.Ref) {
		t.Errorf("page without public message or reference:\n%s", r.body)
	}
	if cause, _ := f.Cause.(string); !strings.Contains(cause, "SECRET-CAUSE") {
		t.Errorf("the cause is not in the log under the reference: %v", f.Cause)
	}
	if ev := h.lastEvent(); ev.RequestID != f.Ref {
		t.Errorf("event reference %q, page %q", ev.RequestID, f.Ref)
	}
	if ct := r.header.Get("Content-Type"); ct != "text/html; charset=utf-8" || r.header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("headers = %v", r.header)
	}
}

// TestDeletedSession: store.ErrNotFound from session lookups means "not signed in",
// never a failure (a deleted session sends the user to log in again).
func TestDeletedSession(t *testing.T) {
	h := newHarness(t)
	b := h.browser()
	b.signIn(wikiHost, "/", "Corp SSO")
	h.st.failOn("GetSession", store.ErrNotFound)
	r := b.follow(b.openApp(soloHost, "/"))
	if r.status != http.StatusFound || r.location(t).Path != prefix+"start" {
		t.Errorf("login with a missing session: %d %s", r.status, r.header.Get("Location"))
	}
}
