package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/gatehouse/gatehouse/internal/demo"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/testenv"
	"github.com/gatehouse/gatehouse/internal/web"
	"github.com/gatehouse/gatehouse/internal/wire"
)

// orgLogo is the organization's logo of the browser test (a data: URL, as login_design allows).
const orgLogo = "data:image/svg+xml;base64,PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciIHZpZXdCb3g9IjAgMCA0MCA0MCI+PGNpcmNsZSBjeD0iMjAiIGN5PSIyMCIgcj0iMTgiIGZpbGw9IiNmZmI4MDAiLz48cGF0aCBkPSJNMTIgMjhsOC0xNiA4IDE2eiIgZmlsbD0iIzBiMWYzYSIvPjwvc3ZnPg=="

// tileLogo is the Wiki tile's logo, served over HTTPS by the test.
const tileLogo = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 40 40"><rect width="40" height="40" rx="8" fill="#0f766e"/><path d="M8 12h24v4H8zm0 8h24v4H8zm0 8h16v4H8z" fill="#fff"/></svg>`

const pagesConfig = `
organization:
  name: Acme Corporation
  auth_domain: auth.localhost
  login_design:
    background_color: "#0b1f3a"
    text_color: "#ffffff"
    logo_path: "%s"
    header_text: Single sign-on for Acme staff and contractors
    footer_text: "Need help? Write to it-help@acme.example or call extension 4357."
identity_providers:
  - {id: pin, name: E-mail code, type: onetimepin}
  - {id: corp, name: Acme Okta, type: oidc, config: {client_id: gatehouse, client_secret: not-used-by-this-test-0123456789abcdef, issuer: "http://127.0.0.1:1"}}
applications:
  - {id: launcher, type: app_launcher, name: App Launcher, policies: [{ref: staff, precedence: 1}]}
  - id: app
    name: Team Wiki
    destinations: [app.localhost]
    upstream: UPSTREAM
    app_launcher_visible: true
    logo_url: "%s/wiki.svg"
    policies: [{ref: staff, precedence: 1}]
  - {id: grafana, name: Grafana dashboards, destinations: [grafana.localhost], upstream: UPSTREAM, app_launcher_visible: true, policies: [{ref: staff, precedence: 1}]}
  - {id: expenses, name: Expense reports, type: bookmark, domain: "https://expenses.example.com/", app_launcher_visible: true}
  - {id: payroll, name: Payroll administration, destinations: [payroll.localhost], upstream: UPSTREAM, app_launcher_visible: true, policies: [{ref: payroll-team, precedence: 1}]}
policies:
  - {id: staff, decision: allow, include: [{email_domain: {domain: example.com}}]}
  - {id: payroll-team, decision: allow, include: [{email: {email: carol@example.com}}]}
`

// viewport is a screen size every page is checked at.
type viewport struct {
	name          string
	width, height int64
	mobile        bool
}

var pageViewports = []viewport{{"desktop", 1280, 900, false}, {"phone", 360, 740, true}}

// axeResult is the part of axe.run's result the test reads.
type axeResult struct {
	Violations []struct {
		ID     string `json:"id"`
		Impact string `json:"impact"`
		Help   string `json:"help"`
		Nodes  []struct {
			Target []any  `json:"target"`
			HTML   string `json:"html"`
		} `json:"nodes"`
	} `json:"violations"`
}

// repoRoot is the module root (the directory holding go.mod).
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the test's directory")
		}
		dir = parent
	}
}

// axeSource returns axe-core's axe.min.js: $GATEHOUSE_AXE_JS, or the copy interop/install-axe.sh
// installs. Without it the test is skipped, loudly, except under CI (CI=true), where it fails.
func axeSource(t *testing.T) string {
	t.Helper()
	path := os.Getenv("GATEHOUSE_AXE_JS")
	if path == "" {
		path = filepath.Join(repoRoot(t), "interop", "axe-core", "node_modules", "axe-core", "axe.min.js")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("axe-core is not installed (%v); run interop/install-axe.sh (scripts/install-test-deps.sh runs it)", err)
		}
		t.Skipf("SKIPPED: axe-core is not installed (%v); run interop/install-axe.sh; the page accessibility checks did not run", err)
	}
	return string(b)
}

// artifactDir is where screenshots go: $GATEHOUSE_ARTIFACTS/screenshots, else
// .artifacts/screenshots at the repository root (git-ignored). It survives the test.
func artifactDir(t *testing.T) string {
	t.Helper()
	base := os.Getenv("GATEHOUSE_ARTIFACTS")
	if base == "" {
		base = filepath.Join(repoRoot(t), ".artifacts")
	}
	dir := filepath.Join(base, "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// pageChecker checks the page the browser shows: axe-core finds no serious or critical
// violation, nothing scrolls sideways at phone width, interactive elements are at least 44px
// tall, and a screenshot at each size is kept.
type pageChecker struct {
	t   *testing.T
	axe string
	dir string
}

func (c *pageChecker) check(ctx context.Context, name string) {
	t := c.t
	t.Helper()
	for _, vp := range pageViewports {
		opts := []chromedp.EmulateViewportOption{}
		if vp.mobile {
			opts = append(opts, chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulatePortrait)
		}
		if err := chromedp.Do(ctx, chromedp.EmulateViewport(vp.width, vp.height, opts...)); err != nil {
			t.Fatalf("%s: viewport %s: %v", name, vp.name, err)
		}
		// Let the layout settle at the new size before measuring.
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(true))))`, chromedp.EvalAwaitPromise)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("%s: screenshot: %v", name, err)
		}
		file := filepath.Join(c.dir, fmt.Sprintf("%s-%s.png", name, vp.name))
		if err := os.WriteFile(file, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot %s", file)

		overflow, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth - document.documentElement.clientWidth`))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if overflow > 0 {
			t.Errorf("%s (%s): the page scrolls sideways by %dpx (%s)", name, vp.name, overflow, file)
		}
		if !vp.mobile {
			c.checkFocus(ctx, name)
		}
		if vp.mobile {
			small, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('a[href], button, input:not([type=hidden]), select, textarea')]
				.filter(e => !e.classList.contains('skip') && e.getClientRects().length > 0)
				.filter(e => { const r = e.getBoundingClientRect(); return r.height < 44 || r.width < 44 })
				.map(e => e.outerHTML.slice(0, 120) + ' (' + Math.round(e.getBoundingClientRect().width) + 'x' + Math.round(e.getBoundingClientRect().height) + ')')`))
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			for _, s := range small {
				t.Errorf("%s (%s): tap target smaller than 44x44px: %s", name, vp.name, s)
			}
		}

		for _, v := range c.run(ctx, name+" ("+vp.name+")").Violations {
			var where []string
			for _, n := range v.Nodes {
				where = append(where, n.HTML)
			}
			msg := fmt.Sprintf("%s (%s): axe %s [%s] %s: %s", name, vp.name, v.ID, v.Impact, v.Help, strings.Join(where, " | "))
			if v.Impact == "serious" || v.Impact == "critical" {
				t.Error(msg)
			} else {
				t.Log(msg)
			}
		}
	}
}

// checkFocus tabs through the page from the top, as a keyboard user would, and checks that
// every element that takes the focus shows a visible outline (at least 2px) and that the
// main action can be reached.
func (c *pageChecker) checkFocus(ctx context.Context, name string) {
	t := c.t
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.activeElement && document.activeElement.blur && document.activeElement.blur(), window.scrollTo(0, 0), true`)); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	seen := map[string]bool{}
	for range 12 {
		if err := chromedp.Do(ctx, chromedp.KeyEvent("\t")); err != nil {
			t.Fatalf("%s: Tab: %v", name, err)
		}
		type focused struct {
			Tag, HTML, Style string
			Width            float64
		}
		f, err := chromedp.Run(ctx, chromedp.Evaluate[focused](`(() => { const e = document.activeElement; const s = getComputedStyle(e);
			return {Tag: e.tagName, HTML: e.outerHTML.slice(0, 100), Style: s.outlineStyle, Width: parseFloat(s.outlineWidth) || 0} })()`))
		if err != nil {
			t.Fatalf("%s: focus: %v", name, err)
		}
		if f.Tag == "BODY" || seen[f.HTML] {
			break // through the page and back to the browser chrome, or round again
		}
		seen[f.HTML] = true
		if f.Style == "none" || f.Width < 2 {
			t.Errorf("%s: keyboard focus is not visible on %s (outline %s %.0fpx)", name, f.HTML, f.Style, f.Width)
		}
	}
	if len(seen) == 0 {
		t.Errorf("%s: Tab reaches nothing on the page", name)
	}
}

// run runs axe-core on the page (injecting it first).
func (c *pageChecker) run(ctx context.Context, what string) axeResult {
	c.t.Helper()
	res, err := chromedp.Run(ctx, chromedp.Evaluate[axeResult](`(async () => {
		if (typeof axe === 'undefined') { `+c.axe+`
		}
		return await axe.run(document, {resultTypes: ['violations']});
	})()`, chromedp.EvalAwaitPromise))
	if err != nil {
		c.t.Fatalf("%s: axe.run: %v", what, err)
	}
	return res
}

// violations returns the rule IDs axe-core reports as violations on the page.
func (c *pageChecker) violations(ctx context.Context) []string {
	var ids []string
	for _, v := range c.run(ctx, "self-check").Violations {
		ids = append(ids, v.ID)
	}
	return ids
}

// TestBrowserPages renders every end-user page in a real headless Chromium, at desktop and
// phone (360x740) size, runs axe-core on each (no serious or critical violation), checks that
// nothing scrolls sideways on the phone and that tap targets are at least 44px, and keeps
// screenshots (see artifactDir) for review.
func TestBrowserPages(t *testing.T) {
	axe := axeSource(t)
	logos := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/svg+xml")
		_, _ = w.Write([]byte(tileLogo))
	}))
	defer logos.Close()
	e := testenv.Start(t, fmt.Sprintf(pagesConfig, orgLogo, logos.URL))
	profile, _ := wire.ByName(store.WireGatehouse)
	e.Upstream.Handler = &demo.Upstream{Profile: profile, Audiences: func() []string { return nil }}

	// Some pages have no real flow here: the PIN e-mail page with a hint (the demo sets one),
	// the identity provider test result (it needs a redirect IdP) and the gateway device
	// enrolment pages (they need the gateway). They are rendered by package web exactly as the
	// server renders them.
	org := store.Organization{Name: "Acme Corporation", LoginDesign: &store.LoginDesign{BackgroundColor: "#0b1f3a", TextColor: "#ffffff", LogoPath: orgLogo,
		HeaderText: "Single sign-on for Acme staff and contractors", FooterText: "Need help? Write to it-help@acme.example or call extension 4357."}}
	direct := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/hint":
			web.Render(w, http.StatusOK, "pin_email.html", &web.Page{Title: "Sign in", Brand: web.BrandOf(&org), AppName: "Team Wiki",
				Hint: "This is the demo: sign in with any address at example.com; the code is printed in the terminal.",
				Data: map[string]string{"Action": "/pin", "FlowID": "f", "CSRF": "c"}})
		case "/identity":
			web.Render(w, http.StatusOK, "identity.html", &web.Page{Title: "Identity provider test: Acme Okta", Brand: web.BrandOf(&org),
				Message: "The identity provider returned this identity. No session was created.",
				Data:    "{\n  \"email\": \"alice@example.com\",\n  \"groups\": [\"engineering\", \"payroll-readers\"],\n  \"id_token_claims\": {\"sub\": \"00u1a2b3c4d5e6f7g8h9\", \"preferred_username\": \"alice.longname.with.many.parts@example.com\"}\n}"})
		case "/enroll":
			web.Render(w, http.StatusOK, "enroll.html", &web.Page{Title: "Enroll a device", Brand: web.BrandOf(&org), Wide: true,
				Data: map[string]any{"Email": "alice@example.com", "Action": "/enroll", "CSRF": "c", "Nonce": "n", "MaxName": 100,
					"Devices": []struct{ ID, Name, Created, LastSeen, Revoked string }{
						{"6f1c2b7e-3d4a-4c5b-9e8f-0a1b2c3d4e5f", "Work laptop", "2026-12-07 10:00 UTC", "2026-12-07 14:02 UTC", ""},
						{"0b9a8c7d-6e5f-4a3b-8c2d-1e0f9a8b7c6d", "Old phone", "2026-11-02 09:12 UTC", "", "2026-12-01 08:00 UTC"}}}})
		case "/enrolled":
			web.Render(w, http.StatusOK, "enrolled.html", &web.Page{Title: "Device enrolled", Brand: web.BrandOf(&org), Wide: true,
				Data: map[string]any{"Name": "Work laptop", "Proxy": "gw.acme.example:3128", "Username": "6f1c2b7e-3d4a-4c5b-9e8f-0a1b2c3d4e5f",
					"Password": "gwdev_Qm9vbGVhbiBzZWNyZXQgZm9yIGEgc2NyZWVuc2hvdCBvbmx5AA", "AuthHost": "auth.acme.example",
					"ProxyURL": "http://6f1c2b7e-3d4a-4c5b-9e8f-0a1b2c3d4e5f:gwdev_Qm9vbGVhbiBzZWNyZXQgZm9yIGEgc2NyZWVuc2hvdCBvbmx5AA@gw.acme.example:3128",
					"PACURL":   "https://auth.acme.example/.gatehouse/gateway/pac/6f1c2b7e-3d4a-4c5b-9e8f-0a1b2c3d4e5f.pac",
					"CAURL":    "https://auth.acme.example/.gatehouse/gateway/ca.pem", "Back": "/enroll"}})
		case "/axe-selfcheck":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = w.Write([]byte(`<!doctype html><html><head><title>x</title></head><body><img src="` + orgLogo + `"><p style="color:#ddd;background:#fff">faint</p></body></html>`))
		default:
			http.NotFound(w, r)
		}
	}))
	defer direct.Close()

	ctx := testenv.NewChromium(t, 3*time.Minute, chromedp.Flag("ignore-certificate-errors", true))
	c := &pageChecker{t: t, axe: axe, dir: artifactDir(t)}
	must := func(step string, err error) {
		t.Helper()
		if err != nil {
			loc, _ := chromedp.Run(ctx, chromedp.Location())
			body, _ := chromedp.Run(ctx, chromedp.Text(`body`))
			t.Fatalf("%s: %v (at %s)\n%s", step, err, loc, body)
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(sel))
		must("read "+sel, err)
		return s
	}

	// The checker must see violations where there are some: an image without alt text
	// (critical) and faint text (serious).
	must("axe self-check", chromedp.Do(ctx, chromedp.Navigate(direct.URL+"/axe-selfcheck"), waitVisible(`p`)))
	self := c.violations(ctx)
	if !slices.Contains(self, "image-alt") || !slices.Contains(self, "color-contrast") {
		t.Fatalf("axe found %v on a page with a missing alt text and faint text; the checker is broken", self)
	}

	// The login chooser: two identity providers for Team Wiki.
	must("open the app", chromedp.Do(ctx, chromedp.Navigate(e.URL("app.localhost", "/")), waitVisible(`ul.idps`)))
	if h := text(`h1`); h != "Sign in to Team Wiki" {
		t.Errorf("login heading %q", h)
	}
	if org := text(`header.org`); !strings.Contains(org, "Acme Corporation") {
		t.Errorf("login header %q lacks the organization", org)
	}
	c.check(ctx, "login-chooser")

	pinLink, err := chromedp.Run(ctx, chromedp.Evaluate[string](`[...document.querySelectorAll('ul.idps a')].find(a => a.textContent.includes('E-mail code')).href`))
	must("PIN link", err)
	must("PIN e-mail page", chromedp.Do(ctx, chromedp.Navigate(pinLink), waitVisible(`#email`)))
	if s := text(`main`); !strings.Contains(s, "Team Wiki") {
		t.Errorf("PIN e-mail page does not name the application: %q", s)
	}
	c.check(ctx, "pin-email")

	must("PIN code page", chromedp.Do(ctx, chromedp.SendKeys(`#email`, "alice@example.com"), chromedp.Submit(`#email`), waitVisible(`#code`)))
	c.check(ctx, "pin-code")

	pin := e.PINs.Wait(t, "alice@example.com")
	wrong := []byte(pin)
	wrong[len(wrong)-1] = '0' + (wrong[len(wrong)-1]-'0'+1)%10
	must("wrong PIN", chromedp.Do(ctx, chromedp.SendKeys(`#code`, string(wrong)), chromedp.Submit(`#code`), waitVisible(`#code-error`)))
	attrs, err := chromedp.Run(ctx, chromedp.Attributes(`#code`))
	must("code attributes", err)
	if attrs["aria-invalid"] != "true" || attrs["aria-describedby"] != "code-error" {
		t.Errorf("wrong PIN: code input attributes %v", attrs)
	}
	if role, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById('code-error').getAttribute('role')`)); role != "alert" {
		t.Errorf("wrong PIN message role %q, want alert", role)
	}
	c.check(ctx, "pin-wrong")

	must("right PIN", chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`document.getElementById('code').value = ''`),
		chromedp.SendKeys(`#code`, pin), chromedp.Submit(`#code`)))
	for ctx.Err() == nil {
		if loc, _ := chromedp.Run(ctx, chromedp.Location()); strings.HasPrefix(loc, e.URL("app.localhost", "/")) {
			if n, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('table.headers tr').length`)); n > 0 {
				break
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.check(ctx, "demo-app")

	// Signed in, but not allowed into Payroll.
	must("deny page", chromedp.Do(ctx, chromedp.Navigate(e.URL("payroll.localhost", "/")), waitVisible(`p.ref`)))
	if h := text(`h1`); h != "You don't have access" {
		t.Errorf("deny heading %q", h)
	}
	c.check(ctx, "deny")

	must("launcher", chromedp.Do(ctx, chromedp.Navigate(e.URL("auth.localhost", "/")), waitVisible(`ul.tiles`)))
	tiles, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('a.tile')].map(a =>
		a.textContent.trim() + ':' + (a.querySelector('img') ? (a.querySelector('img').naturalWidth > 0 ? 'logo' : 'broken') : a.querySelector('svg.monogram') ? 'monogram' : 'none'))`))
	must("tiles", err)
	if got := strings.Join(tiles, ","); !regexp.MustCompile(`^Team Wiki:logo,\S+ ?Grafana dashboards:monogram,\S+ ?Expense reports:monogram$`).MatchString(got) {
		t.Errorf("launcher tiles %q: want the Wiki with its logo, Grafana and Expenses with monograms, no Payroll", got)
	}
	c.check(ctx, "launcher")

	must("error page", chromedp.Do(ctx, chromedp.Navigate(e.URL("auth.localhost", "/.gatehouse/start?flow=no-such-flow&idp=pin")), waitVisible(`p.ref`)))
	c.check(ctx, "error")

	must("logout confirmation", chromedp.Do(ctx, chromedp.Navigate(e.URL("app.localhost", "/.gatehouse/logout")), waitVisible(`form button`)))
	c.check(ctx, "logout-confirm")
	must("signed out", chromedp.Do(ctx, chromedp.Click(`form button`), waitVisible(`.actions a`)))
	links, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('.actions a')].map(a => a.textContent + ' ' + a.href)`))
	must("signed-out links", err)
	if want := []string{"Sign in again " + e.URL("app.localhost", "/"), "App Launcher " + e.URL("auth.localhost", "/")}; strings.Join(links, "\n") != strings.Join(want, "\n") {
		t.Errorf("signed-out links %q, want %q", links, want)
	}
	c.check(ctx, "signed-out")

	must("PIN page with a hint", chromedp.Do(ctx, chromedp.Navigate(direct.URL+"/hint"), waitVisible(`p.hint`)))
	c.check(ctx, "pin-email-hint")
	must("identity page", chromedp.Do(ctx, chromedp.Navigate(direct.URL+"/identity"), waitVisible(`pre`)))
	c.check(ctx, "identity")
	must("device enrolment page", chromedp.Do(ctx, chromedp.Navigate(direct.URL+"/enroll"), waitVisible(`table.devices`)))
	c.check(ctx, "gateway-enroll")
	must("device enrolled page", chromedp.Do(ctx, chromedp.Navigate(direct.URL+"/enrolled"), waitVisible(`dl.creds`)))
	c.check(ctx, "gateway-enrolled")
}

// waitVisible polls for a visible element (chromedp.WaitVisible does not notice pages reached
// through a login's cross-host redirects).
func waitVisible(sel string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		q, _ := json.Marshal(sel)
		for {
			ok, _ := chromedp.Evaluate[bool](`(() => { const e = document.querySelector(`+string(q)+`); return !!e && e.getClientRects().length > 0 })()`)(ctx, tg)
			if ok {
				return nil
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("waiting for %s: %w", sel, ctx.Err())
			case <-time.After(50 * time.Millisecond):
			}
		}
	})
}
