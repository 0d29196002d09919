package authn

import (
	"net/http"
	"strings"
	"testing"
)

// lookAlikesOfKate are addresses that Unicode-aware code could take for kate@example.com: a
// case-mapping or compatibility form, an invisible character, a confusable in another script.
var lookAlikesOfKate = []string{
	"\u212Aate@example.com",        // KELVIN SIGN: strings.ToLower makes it "kate@example.com"
	"\uFF4Bate@example.com",        // FULLWIDTH k: NFKC makes it "k"
	"k\u0430te@example.com",        // CYRILLIC SMALL LETTER A among Latin letters
	"kate\u200B@example.com",       // ZERO WIDTH SPACE
	"ka\u00ADte@example.com",       // SOFT HYPHEN
	"kate@ex\u0430mple.com",        // a Cyrillic letter in the domain
	"kate@\uFF45xample.com",        // FULLWIDTH e in the domain
	"kate\u202E@example.com",       // RIGHT-TO-LEFT OVERRIDE
	"kate@example.com\uFEFF",       // BYTE ORDER MARK
	"\U0001D424ate@example.com",    // MATHEMATICAL BOLD SMALL K
	"kate@exam\u0440le.com",        // CYRILLIC SMALL LETTER ER
	"kate@example.\u0441om",        // CYRILLIC SMALL LETTER ES
	"kat\u0435@example.com",        // CYRILLIC SMALL LETTER IE
	"\u212Aate@EXAMPLE.COM",        // KELVIN SIGN with an upper-case domain
	"kate@xn--exmple-4nf.com",      // the Cyrillic domain as an A-label
	"k\u0430te@xn--exmple-4nf.com", // both
}

// TestLookAlikeEmailIsNotAnotherUser: an identity provider that vouches for a look-alike of an
// existing user's address does not log the browser in as that user: the login is refused with
// email-invalid, whichever way the IdP answers (redirect or cross-site POST), and no session is
// created for anyone. An address that differs only in ASCII case is the same user.
func TestLookAlikeEmailIsNotAnotherUser(t *testing.T) {
	h := newHarness(t)
	h.corp.ident.Email = "kate@example.com"
	kate := h.browser()
	kate.signIn(wikiHost, "/", "Corp SSO")
	kateSub := h.claims(kate.cookie(authHost, orgCookie)).Subject
	if kateSub == "" || len(h.orgSessions("kate@example.com")) != 1 {
		t.Fatalf("kate's login: sub %q, sessions %d", kateSub, len(h.orgSessions("kate@example.com")))
	}

	for _, spoof := range lookAlikesOfKate {
		for _, idp := range []string{"Corp SSO", "Corp SAML"} {
			h.corp.ident.Email, h.saml.ident.Email = spoof, spoof
			b := h.browser()
			r := b.idpReturn(b.toIdP(b.openApp(wikiHost, "/"), idp))
			if r.status == http.StatusSeeOther { // the SAML POST continues same-site
				r = b.follow(r)
			}
			h.wantFailure(r, http.StatusForbidden, "email-invalid")
			wantEvent(t, h.lastEvent(), "login", false, "email-invalid")
			if c := r.cookie(orgCookie); c != nil {
				t.Errorf("%+q via %s: org cookie set for sub %q", spoof, idp, h.claims(c.Value).Subject)
			}
		}
	}
	if n := len(h.orgSessions("kate@example.com")); n != 1 {
		t.Errorf("kate has %d sessions after the look-alike logins, want 1", n)
	}

	// ASCII case is folded: the same user.
	h.corp.ident.Email = "KATE@Example.COM"
	b := h.browser()
	b.signIn(wikiHost, "/", "Corp SSO")
	if sub := h.claims(b.cookie(authHost, orgCookie)).Subject; sub != kateSub {
		t.Errorf("KATE@Example.COM is sub %q, kate is %q", sub, kateSub)
	}
}

// TestLookAlikeInAnotherScriptIsAnotherUser: an address written wholly in another script is a
// valid address of its own: a different user, whom a policy naming the ASCII address does not
// admit.
func TestLookAlikeInAnotherScriptIsAnotherUser(t *testing.T) {
	h := newHarness(t)
	h.corp.ident.Email = "boss@example.com"
	boss := h.browser()
	if r := boss.signIn(vaultHost, "/", "Corp SSO"); r.cookie(orgCookie) == nil && boss.cookie(authHost, orgCookie) == "" {
		t.Fatalf("boss login failed: %d %s", r.status, r.header.Get("Location"))
	}
	bossSub := h.claims(boss.cookie(authHost, orgCookie)).Subject

	h.corp.ident.Email = "\u044C\u043E\u0455\u0455@example.com" // ьоѕѕ: all Cyrillic
	b := h.browser()
	r := b.idpReturn(b.toIdP(b.openApp(vaultHost, "/"), "Corp SSO"))
	if loc := r.location(t); loc.String() != vaultDeny {
		t.Errorf("the Cyrillic look-alike of boss@ was not denied: %d %s", r.status, loc)
	}
	wantEvent(t, h.lastEvent(), "login", false, "no-policy-matched", "include-failed-email")
	if sub := h.claims(b.cookie(authHost, orgCookie)).Subject; sub == "" || sub == bossSub {
		t.Errorf("the Cyrillic look-alike is sub %q, boss is %q", sub, bossSub)
	}
}

// TestPINLookAlikes: the e-mail code form refuses look-alike addresses, saying why, and sends no
// code; the address typed is otherwise taken in its normal form.
func TestPINLookAlikes(t *testing.T) {
	h := newHarness(t)
	b := h.browser()
	form := b.pinForm()
	for _, spoof := range lookAlikesOfKate {
		r := b.sendPIN(form, spoof)
		if r.status != http.StatusOK || !strings.Contains(r.text(), "This e-mail address cannot be used (") {
			t.Errorf("%+q: %d\n%s", spoof, r.status, r.body)
		}
	}
	select {
	case p := <-h.pins.sent:
		t.Errorf("a PIN was sent to %+q", p.to)
	default:
	}
	if len(h.events()) != 0 {
		t.Errorf("refused addresses were audited as PIN sends: %+v", h.events())
	}
}
