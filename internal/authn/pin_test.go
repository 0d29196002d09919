package authn

import (
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/identity/onetimepin"
	"github.com/gatehouse/gatehouse/internal/store"
)

// pinForm opens wiki's login page and picks the e-mail code; it returns the e-mail form's
// hidden fields (flow and csrf).
func (b *browser) pinForm() url.Values {
	b.h.t.Helper()
	r := b.toIdP(b.openApp(wikiHost, "/docs"), "E-mail code")
	if r.status != http.StatusOK || !strings.Contains(r.body, `action="`+prefix+`pin"`) {
		b.h.t.Fatalf("no PIN e-mail form: %d\n%s", r.status, r.body)
	}
	return r.hidden()
}

// sendPIN submits the e-mail form.
func (b *browser) sendPIN(form url.Values, email string) *reply {
	b.h.t.Helper()
	return b.post(authURL(prefix+"pin"), url.Values{"flow": {form.Get("flow")}, "csrf": {form.Get("csrf")}, "email": {email}})
}

// verifyPIN submits the code form.
func (b *browser) verifyPIN(form url.Values, code string) *reply {
	b.h.t.Helper()
	return b.post(authURL(prefix+"pin/verify"), url.Values{"flow": {form.Get("flow")}, "csrf": {form.Get("csrf")}, "code": {code}})
}

// TestPINLogin: an allowed address gets a PIN; the PIN logs it in and hands off to the app.
func TestPINLogin(t *testing.T) {
	h := newHarness(t)
	b := h.browser()
	form := b.pinForm()
	r := b.sendPIN(form, " Alice@Example.COM ")
	if r.status != http.StatusOK || !strings.Contains(r.body, "<strong>alice@example.com</strong>") || !strings.Contains(r.body, `action="`+prefix+`pin/verify"`) {
		t.Fatalf("code form: %d\n%s", r.status, r.body)
	}
	sent := h.pins.next(t)
	if sent.to != "alice@example.com" || len(sent.pin) != onetimepin.PINLength || !sent.expires.Equal(clockStart.Add(onetimepin.Validity)) {
		t.Errorf("sent %+v", sent)
	}
	ev := h.lastEvent()
	wantEvent(t, ev, "pin_sent", true, "policy-matched", "email_domain-ok")
	if ev.Email != "alice@example.com" || ev.AppID != "wiki" || ev.IdPID != "pin" || ev.IdPType != "onetimepin" || ev.PolicyID != "staff" {
		t.Errorf("pin_sent event = %+v", ev)
	}

	r = b.verifyPIN(r.hidden(), " "+sent.pin+" ")
	org := r.cookie(orgCookie)
	if org == nil {
		t.Fatalf("verify: %d\n%s", r.status, r.body)
	}
	if c := h.claims(org.Value); c.Email != "alice@example.com" || c.IdP.Type != "onetimepin" || len(c.AMR) != 1 || c.AMR[0] != "otp" {
		t.Errorf("org token claims = %+v", c)
	}
	wantEvent(t, h.lastEvent(), "login", true, "policy-matched", "email_domain-ok")
	r = b.follow(r)
	if r.location(t).RequestURI() != "/docs" || r.cookie(orgCookie) == nil {
		t.Errorf("hand-off: %d %s", r.status, r.header.Get("Location"))
	}
	// The flow is spent.
	h.wantFailure(b.verifyPIN(form, sent.pin), http.StatusBadRequest, "flow-invalid")
}

// TestPINNotAllowed: an address no policy admits sees the same page, but no PIN is sent.
func TestPINNotAllowed(t *testing.T) {
	h := newHarness(t)
	b := h.browser()
	form := b.pinForm()
	allowed := b.sendPIN(form, "alice@example.com")
	alicePIN := h.pins.next(t).pin
	refused := b.sendPIN(form, "eve@evil.test")
	if refused.status != allowed.status || strings.ReplaceAll(refused.body, "eve@evil.test", "alice@example.com") != allowed.body {
		t.Errorf("the page tells the addresses apart:\n%s\n---\n%s", allowed.body, refused.body)
	}
	ev := h.lastEvent()
	wantEvent(t, ev, "pin_sent", false, "no-policy-matched", "include-failed-email_domain", "address-not-allowed")
	if ev.Email != "eve@evil.test" {
		t.Errorf("event = %+v", ev)
	}
	select {
	case p := <-h.pins.sent:
		t.Errorf("a PIN was sent to %s", p.to)
	default: // no goroutine was started: nothing can arrive later
	}
	// The flow now waits for the refused address's code, which nobody got: the code sent
	// before does not complete it.
	r := b.verifyPIN(refused.hidden(), alicePIN)
	if r.status != http.StatusOK || !strings.Contains(r.body, "That code is not right.") {
		t.Errorf("verify for a refused address: %d", r.status)
	}
	if ev := h.lastEvent(); ev.Email != "eve@evil.test" || ev.Reasons[0] != "address-not-allowed" {
		t.Errorf("event = %+v", ev)
	}
}

// TestUnsentPINCannotBeEntered: for an address no policy admits, the challenge's PIN — never
// sent, but guessable — does not sign it in, even when it is exactly right; the page says what a
// wrong code says. (A guessed PIN used to start an org session that other apps then reused.)
func TestUnsentPINCannotBeEntered(t *testing.T) {
	h := newHarness(t)
	h.svc.NewPIN = func() (string, error) { return "314159", nil }
	b := h.browser()
	form := b.pinForm()
	refused := b.sendPIN(form, "boss@other.test")
	for range 2 {
		r := b.verifyPIN(refused.hidden(), "314159")
		if r.status != http.StatusOK || !strings.Contains(r.body, "That code is not right.") || r.cookie(orgCookie) != nil {
			t.Fatalf("the unsent PIN was accepted: %d %v\n%s", r.status, r.cookie(orgCookie), r.body)
		}
		wantEvent(t, h.lastEvent(), "login", false, "address-not-allowed")
	}
	if n := len(h.orgSessions("boss@other.test")); n != 0 {
		t.Errorf("%d sessions for the refused address", n)
	}
	// The same PIN for an allowed address, sent to it, works.
	b = h.browser()
	form = b.pinForm()
	allowed := b.sendPIN(form, "alice@example.com")
	if sent := h.pins.next(t); sent.pin != "314159" {
		t.Fatalf("sent %+v", sent)
	}
	if r := b.verifyPIN(allowed.hidden(), "314159"); r.cookie(orgCookie) == nil {
		t.Fatalf("the sent PIN was refused: %d\n%s", r.status, r.body)
	}
}

// TestPINWrongCode: a wrong code shows the form again; the right one then works, until the
// attempts run out.
func TestPINWrongCode(t *testing.T) {
	setLimit(t, &PINMaxAttempts, 3)
	h := newHarness(t)
	b := h.browser()
	form := b.pinForm()
	b.sendPIN(form, "alice@example.com")
	pin := h.pins.next(t).pin
	wrong := "000000"
	if pin == wrong {
		wrong = "111111"
	}
	r := b.verifyPIN(form, wrong)
	if r.status != http.StatusOK || !strings.Contains(r.body, "That code is not right.") || r.cookie(orgCookie) != nil {
		t.Fatalf("wrong code: %d\n%s", r.status, r.body)
	}
	wantEvent(t, h.lastEvent(), "login", false, "pin-mismatch")
	if r := b.verifyPIN(form, pin); r.cookie(orgCookie) == nil {
		t.Fatalf("right code after a wrong one: %d\n%s", r.status, r.body)
	}

	t.Run("too many attempts", func(t *testing.T) {
		h.in(t)
		b := h.browser()
		form := b.pinForm()
		b.sendPIN(form, "alice@example.com")
		pin := h.pins.next(t).pin
		for range PINMaxAttempts {
			b.verifyPIN(form, wrong)
		}
		r := b.verifyPIN(form, pin)
		h.wantFailure(r, http.StatusForbidden, "pin-used-or-too-many-attempts")
		if r.cookie(orgCookie) != nil {
			t.Error("logged in after too many attempts")
		}
		wantEvent(t, h.lastEvent(), "login", false, "pin-used-or-too-many-attempts")
	})
	t.Run("expired", func(t *testing.T) {
		h.in(t)
		b := h.browser()
		form := b.pinForm()
		b.sendPIN(form, "alice@example.com")
		pin := h.pins.next(t).pin
		h.clock.Advance(onetimepin.Validity + time.Second)
		h.wantFailure(b.verifyPIN(form, pin), http.StatusForbidden, "pin-expired")
	})
	t.Run("not requested", func(t *testing.T) {
		h.in(t)
		b := h.browser()
		h.wantFailure(b.verifyPIN(b.pinForm(), "123456"), http.StatusForbidden, "pin-not-requested")
	})
}

// TestPINForm: the PIN endpoints only take form posts of this browser's flow with its CSRF
// token, for applications that offer the e-mail code.
func TestPINForm(t *testing.T) {
	h := newHarness(t)
	b := h.browser()
	form := b.pinForm()

	h.wantFailure(b.get(authURL(prefix+"pin")), http.StatusMethodNotAllowed, "method-not-allowed")
	h.wantFailure(b.get(authURL(prefix+"pin/verify")), http.StatusMethodNotAllowed, "method-not-allowed")
	bad := url.Values{"flow": {form.Get("flow")}, "csrf": {"forged"}}
	h.wantFailure(b.sendPIN(bad, "alice@example.com"), http.StatusForbidden, "csrf-mismatch")
	h.wantFailure(b.verifyPIN(bad, "123456"), http.StatusForbidden, "csrf-mismatch")
	h.wantFailure(h.browser().sendPIN(form, "alice@example.com"), http.StatusBadRequest, "flow-browser-mismatch")
	h.wantFailure(b.post(authURL(prefix+"pin"), url.Values{"email": {strings.Repeat("x", maxFormBytes)}}), http.StatusBadRequest, "bad-form")

	for _, addr := range []string{"", "not an address", "Alice <alice@example.com>", "a@b@example.com"} {
		r := b.sendPIN(form, addr)
		if r.status != http.StatusOK || !strings.Contains(r.body, "Enter a valid e-mail address.") {
			t.Errorf("%q: %d", addr, r.status)
		}
	}
	if len(h.events()) != 0 {
		t.Error("invalid addresses were audited as PIN sends")
	}

	t.Run("app without e-mail code", func(t *testing.T) {
		h.in(t)
		r := b.follow(b.openApp(soloHost, "/"))
		flow := r.location(t).Query().Get("flow")
		f, err := h.db.GetLoginFlow(t.Context(), flow)
		if err != nil {
			t.Fatal(err)
		}
		h.wantFailure(b.sendPIN(url.Values{"flow": {flow}, "csrf": {csrfToken(f)}}, "alice@example.com"), http.StatusBadRequest, "idp-not-allowed")
	})
	t.Run("app deleted", func(t *testing.T) {
		h.in(t)
		h.cfg.Applications = h.cfg.Applications[1:]
		h.publish()
		h.wantFailure(b.sendPIN(form, "alice@example.com"), http.StatusBadRequest, "app-gone")
	})
}

// TestPINSendLimits: PIN sends are limited per address and per client address.
func TestPINSendLimits(t *testing.T) {
	setLimit(t, &PINSendsPerEmail, Limit{Window: 10 * time.Minute, Max: 2})
	setLimit(t, &PINSendsPerIP, Limit{Window: 10 * time.Minute, Max: 3})
	h := newHarness(t)
	b := h.browser()
	form := b.pinForm()
	for range 2 {
		b.sendPIN(form, "alice@example.com")
		h.pins.next(t)
	}
	r := b.sendPIN(form, "alice@example.com")
	h.wantFailure(r, http.StatusTooManyRequests, "rate-limited")
	ev := h.lastEvent()
	wantEvent(t, ev, "pin_sent", false, "rate-limited")
	if ev.Email != "alice@example.com" {
		t.Errorf("event = %+v", ev)
	}
	// Another address from the same client: the client's budget is spent, the refused send
	// included.
	h.wantFailure(b.sendPIN(form, "bob@example.com"), http.StatusTooManyRequests, "rate-limited")

	// Another client may still ask for bob, and the window ends.
	other := h.browser()
	other.client.IP = netip.MustParseAddr("198.51.100.9")
	if r := other.sendPIN(other.pinForm(), "bob@example.com"); r.status != http.StatusOK {
		t.Errorf("another client: %d", r.status)
	}
	h.pins.next(t)
	h.clock.Advance(10 * time.Minute)
	if r := b.sendPIN(form, "alice@example.com"); r.status != http.StatusOK {
		t.Errorf("next window: %d", r.status)
	}
	h.pins.next(t)
}

// TestPINVerifyLimit: code checks are limited per client address.
func TestPINVerifyLimit(t *testing.T) {
	setLimit(t, &PINVerifyPerIP, Limit{Window: 10 * time.Minute, Max: 1})
	h := newHarness(t)
	b := h.browser()
	form := b.pinForm()
	b.sendPIN(form, "alice@example.com")
	pin := h.pins.next(t).pin
	b.verifyPIN(form, "x")
	h.wantFailure(b.verifyPIN(form, pin), http.StatusForbidden, "rate-limited")
	wantEvent(t, h.lastEvent(), "login", false, "rate-limited")
}

// TestPINSenderMissing: a onetimepin IdP published without a sender is unavailable, and the
// log says why.
func TestPINSenderMissing(t *testing.T) {
	h := newHarness(t)
	h.rt.PINSenders = nil
	h.publish()
	b := h.browser()
	f := h.wantFailure(b.sendPIN(b.pinForm(), "alice@example.com"), http.StatusServiceUnavailable, "idp-unavailable")
	if cause, _ := f.Cause.(string); !strings.Contains(cause, `no PIN sender for identity provider "pin"`) {
		t.Errorf("logged cause = %v", f.Cause)
	}
}

// TestPINInactiveUser: a deactivated user's correct PIN starts no session.
func TestPINInactiveUser(t *testing.T) {
	h := newHarness(t)
	deactivate(t, h, "alice@example.com")
	b := h.browser()
	form := b.pinForm()
	b.sendPIN(form, "alice@example.com")
	r := b.verifyPIN(form, h.pins.next(t).pin)
	h.wantFailure(r, http.StatusForbidden, "user-inactive")
	wantEvent(t, h.lastEvent(), "login", false, "user-inactive")
	if r.cookie(orgCookie) != nil {
		t.Error("org cookie set")
	}
}

// deactivate stores a deactivated user.
func deactivate(t *testing.T, h *harness, email string) {
	t.Helper()
	if err := h.db.CreateUser(t.Context(), &store.User{Email: email, Status: store.UserInactive}); err != nil {
		t.Fatal(err)
	}
}
