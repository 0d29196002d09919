package app_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

func TestAppLauncher(t *testing.T) {
	e := testenv.Start(t, `
organization: {name: T, auth_domain: auth.localhost}
identity_providers: [{id: pin, name: E-mail PIN, type: onetimepin}]
applications:
  - {id: launcher, type: app_launcher, name: Launcher, policies: [{ref: staff, precedence: 1}]}
  - {id: app, name: Wiki, destinations: [app.localhost], upstream: UPSTREAM, app_launcher_visible: true, policies: [{ref: staff, precedence: 1}]}
  - {id: admin, name: Admin console, destinations: [admin.localhost], upstream: UPSTREAM, app_launcher_visible: true, policies: [{ref: root, precedence: 1}]}
  - {id: hidden, name: Hidden, destinations: [hidden.localhost], upstream: UPSTREAM, policies: [{ref: staff, precedence: 1}]}
  - {id: status, type: bookmark, name: Status page, domain: "https://status.example.com/", app_launcher_visible: true}
policies:
  - {id: staff, decision: allow, include: [{email_domain: {domain: example.com}}]}
  - {id: root, decision: allow, include: [{email: {email: root@example.com}}]}
`)
	b := e.NewBrowser()
	resp, page := b.Login(t, e.URL("auth.localhost", "/"), "alice@example.com")
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/" {
		t.Fatalf("launcher after login: %d at %s\n%s", resp.StatusCode, resp.Request.URL, page)
	}
	for _, want := range []string{`href="` + e.URL("app.localhost", "/") + `"`, ">Wiki<", `href="https://status.example.com/"`, ">Status page<", `aria-label="Applications"`} {
		if !strings.Contains(page, want) {
			t.Errorf("launcher lacks %q", want)
		}
	}
	for _, unwanted := range []string{"Admin console", "admin.localhost", "Hidden"} {
		if strings.Contains(page, unwanted) {
			t.Errorf("launcher shows %q", unwanted)
		}
	}
	// The tile works through the org session (SSO).
	if resp, _ := b.Get(t, e.URL("app.localhost", "/")); resp.StatusCode != http.StatusOK {
		t.Errorf("tile link: %d", resp.StatusCode)
	}
	// A user the launcher policy does not admit gets the block page, not the tiles.
	mallory := e.NewBrowser()
	resp, page = mallory.Get(t, e.URL("auth.localhost", "/"))
	action, form := testenv.Form(t, page)
	form.Set("email", "mallory@evil.test")
	resp, page = mallory.PostForm(t, resp.Request.URL.ResolveReference(mustParse(t, action)).String(), form)
	if resp.StatusCode != http.StatusOK || e.PINs.Count("mallory@evil.test") != 0 {
		t.Errorf("launcher PIN for a user no policy admits: %d, %d PINs", resp.StatusCode, e.PINs.Count("mallory@evil.test"))
	}
}
