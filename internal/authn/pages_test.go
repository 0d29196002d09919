package authn

import (
	"html"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/store"
)

// actionLinkRE finds the follow-up buttons of a page (main and secondary).
var actionLinkRE = regexp.MustCompile(`<a class="button(?: secondary)?" href="([^"]+)">([^<]+)</a>`)

// actions returns a page's follow-up buttons as "text -> URL", in order.
func (r *reply) actions() []string {
	var out []string
	for _, m := range actionLinkRE.FindAllStringSubmatch(r.body, -1) {
		out = append(out, html.UnescapeString(m[2])+" -> "+html.UnescapeString(m[1]))
	}
	return out
}

func withLauncher(c *store.Config) {
	c.Applications = append(c.Applications, store.Application{ID: "launcher", Type: store.AppAppLauncher, Name: "App Launcher", AUD: aud("launcher"),
		Policies: []store.PolicyLink{{Ref: "staff", Precedence: 1}}})
}

// TestSignedOutPage: the signed-out page is no dead end: it offers signing in again (to the
// application signed out of, or the App Launcher) and the App Launcher when there is one.
func TestSignedOutPage(t *testing.T) {
	for _, tc := range []struct {
		name     string
		launcher bool
		url      string
		want     []string
		text     string
	}{
		{"app host", false, "https://" + wikiHost + prefix + "logout", []string{"Sign in again -> https://wiki.example.com/"}, ""},
		{"app host with launcher", true, "https://" + wikiHost + prefix + "logout",
			[]string{"Sign in again -> https://wiki.example.com/", "App Launcher -> https://auth.example.com/"}, ""},
		{"auth domain", false, authURL(prefix + "logout"), nil, "To sign in again, open an application."},
		{"auth domain with launcher", true, authURL(prefix + "logout"), []string{"Sign in again -> https://auth.example.com/"}, "App Launcher"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var edits []func(*store.Config)
			if tc.launcher {
				edits = append(edits, withLauncher)
			}
			h := newHarness(t, edits...)
			b := h.browser()
			b.fetchSite = "same-origin"
			b.signIn(wikiHost, "/", "Corp SSO")
			r := b.get(tc.url)
			if r.status != http.StatusOK || !strings.Contains(r.body, "You have been signed out of every application.") {
				t.Fatalf("logout: %d\n%s", r.status, r.body)
			}
			if got := r.actions(); strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("links %q, want %q", got, tc.want)
			}
			if !strings.Contains(r.text(), tc.text) {
				t.Errorf("page lacks %q:\n%s", tc.text, r.body)
			}
		})
	}
}

// TestSignInPagesNameOrgAndApp: the chooser, the PIN pages and the block page say which
// organization and which application; a wrong PIN is an error tied to the input.
func TestSignInPagesNameOrgAndApp(t *testing.T) {
	h := newHarness(t, withLauncher, func(c *store.Config) {
		c.Organization.LoginDesign = &store.LoginDesign{BackgroundColor: "#0b1f3a", TextColor: "#fff", LogoPath: "https://cdn.example.com/logo.svg", FooterText: "Help: it@example.com"}
	})
	b := h.browser()
	chooser := b.follow(b.openApp(wikiHost, "/"))
	for _, want := range []string{"<h1>Sign in to Wiki</h1>", `<p class="org-name">Example Corp</p>`, `<img src="https://cdn.example.com/logo.svg"`, "--bg:#0b1f3a", "Help: it@example.com"} {
		if !strings.Contains(chooser.body, want) {
			t.Errorf("chooser lacks %q:\n%s", want, chooser.body)
		}
	}
	form := b.pinForm()
	r := b.sendPIN(form, "not an address")
	for _, want := range []string{"<h1>Sign in to Wiki</h1>", `role="alert"`, `aria-invalid="true" aria-describedby="email-error"`} {
		if !strings.Contains(r.body, want) {
			t.Errorf("PIN e-mail page with a bad address lacks %q:\n%s", want, r.body)
		}
	}
	r = b.sendPIN(form, "alice@example.com")
	if !strings.Contains(r.body, "Signing in to <strong>Wiki</strong>") || strings.Contains(r.body, `aria-invalid="true"`) {
		t.Errorf("PIN code page:\n%s", r.body)
	}
	pin := h.pins.next(t).pin
	wrong := "000000"
	if pin == wrong {
		wrong = "111111"
	}
	r = b.verifyPIN(form, wrong)
	for _, want := range []string{`<p id="code-error" class="alert alert-error" role="alert">That code is not right.`, `aria-invalid="true" aria-describedby="code-error"`} {
		if !strings.Contains(r.body, want) {
			t.Errorf("wrong PIN page lacks %q:\n%s", want, r.body)
		}
	}
	b.verifyPIN(form, pin)

	// alice is staff, not the boss: the block page offers another account and the launcher.
	deny := b.follow(b.openApp(wikiHost, "/admin"))
	for deny.status == http.StatusFound || deny.status == http.StatusSeeOther {
		deny = b.follow(deny)
	}
	if deny.status != http.StatusForbidden {
		t.Fatalf("wiki-admin as alice: %d\n%s", deny.status, deny.body)
	}
	if got := strings.Join(deny.actions(), "\n"); !strings.Contains(got, "Sign in as someone else -> ") || !strings.Contains(got, "App Launcher -> https://auth.example.com/") {
		t.Errorf("block page actions %q", got)
	}
}
