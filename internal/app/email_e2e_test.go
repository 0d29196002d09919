package app_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
	"github.com/gatehouse/gatehouse/internal/token"
)

// TestPINLookAlikeIsNotAnotherUser runs the whole binary: kate@example.com logs in with an e-mail
// code; then the e-mail form is given look-alikes of her address (KELVIN SIGN, which Unicode
// lower-casing turns into "k"; a fullwidth letter; a zero-width space; a Cyrillic letter). Each is
// refused on the form with the reason, no code is sent, and the user registry still holds one
// user for kate, whose sub a later login of "KATE@EXAMPLE.COM" gets again.
func TestPINLookAlikeIsNotAnotherUser(t *testing.T) {
	e := testenv.Start(t, "")
	sub := func(b *testenv.Browser) string {
		t.Helper()
		snap := e.G.Snapshots.Load()
		c, err := token.NewVerifier(e.G.Keys, snap.Issuer, time.Now).Verify(appCookie(t, e, b, "app.localhost"))
		if err != nil {
			t.Fatal(err)
		}
		return c.Subject
	}
	kate := e.NewBrowser()
	if resp, body := kate.Login(t, e.URL("app.localhost", "/"), "kate@example.com"); resp.StatusCode != http.StatusOK {
		t.Fatalf("kate's login: %d\n%s", resp.StatusCode, body)
	}
	kateSub := sub(kate)

	for _, spoof := range []string{"\u212Aate@example.com", "\uFF4Bate@example.com", "kate\u200B@example.com", "k\u0430te@example.com", "kate@ex\u0430mple.com"} {
		b := e.NewBrowser()
		resp, page := b.Get(t, e.URL("app.localhost", "/"))
		action, fields := testenv.Form(t, page)
		fields.Set("email", spoof)
		resp, page = b.PostForm(t, resp.Request.URL.ResolveReference(&url.URL{Path: action}).String(), fields)
		if resp.StatusCode != http.StatusOK || !strings.Contains(page, "This e-mail address cannot be used") || !strings.Contains(page, `name="email"`) {
			t.Errorf("%+q: %d, want the e-mail form again with the reason\n%s", spoof, resp.StatusCode, page)
		}
		if n := e.PINs.Count(spoof); n != 0 {
			t.Errorf("%+q: %d PINs sent", spoof, n)
		}
	}
	if n := e.PINs.Count("kate@example.com"); n != 1 {
		t.Errorf("kate was sent %d PINs, want 1", n)
	}
	users, err := e.G.Store.ListUsers(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(users) != 1 || users[0].Email != "kate@example.com" || users[0].ID != kateSub {
		t.Errorf("registry after the look-alikes: %+v", users)
	}

	again := e.NewBrowser()
	if resp, body := again.Login(t, e.URL("app.localhost", "/"), "KATE@EXAMPLE.COM"); resp.StatusCode != http.StatusOK {
		t.Fatalf("KATE@EXAMPLE.COM: %d\n%s", resp.StatusCode, body)
	}
	if got := sub(again); got != kateSub {
		t.Errorf("KATE@EXAMPLE.COM is sub %q, kate is %q", got, kateSub)
	}
}

// TestIdPTestPagePIN runs the whole binary: the e-mail PIN provider's test page
// (/.gatehouse/test-idp/pin) asks for an address, mails a code to one an application admits, and
// the code shows the identity a login produces (e-mail, provider, amr otp) without a session.
func TestIdPTestPagePIN(t *testing.T) {
	e := testenv.Start(t, "")
	b := e.NewBrowser()
	resp, page := b.Get(t, e.URL("auth.localhost", "/.gatehouse/test-idp/pin"))
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, `name="email"`) || !strings.Contains(page, "Identity provider test") {
		t.Fatalf("test page: %d\n%s", resp.StatusCode, page)
	}
	base := resp.Request.URL
	action, fields := testenv.Form(t, page)
	fields.Set("email", "tess@example.com")
	resp, page = b.PostForm(t, base.ResolveReference(&url.URL{Path: action}).String(), fields)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, `name="code"`) {
		t.Fatalf("code form: %d\n%s", resp.StatusCode, page)
	}
	action, fields = testenv.Form(t, page)
	fields.Set("code", e.PINs.Wait(t, "tess@example.com"))
	resp, page = b.PostForm(t, base.ResolveReference(&url.URL{Path: action}).String(), fields)
	text := html.UnescapeString(page)
	if resp.StatusCode != http.StatusOK || !strings.Contains(text, `"email": "tess@example.com"`) || !strings.Contains(text, `"type": "onetimepin"`) || !strings.Contains(text, "No session was created") {
		t.Fatalf("result: %d\n%s", resp.StatusCode, page)
	}
	// No session: the application still asks for a login.
	if resp, page := b.Get(t, e.URL("app.localhost", "/")); !strings.Contains(page, `name="email"`) {
		t.Errorf("after the test the app answers %d without a login form:\n%s", resp.StatusCode, page)
	}
	users, err := e.G.Store.ListUsers(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(users) != 0 {
		t.Errorf("the test created users: %+v", users)
	}
}
