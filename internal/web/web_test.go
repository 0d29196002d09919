package web

import (
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/internal/store"
)

const hostile = `<script>alert("x")</script>&"'`

// pngLogo is a 1x1 PNG as a data: URL.
const pngLogo = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="

func render(t *testing.T, name string, p *Page) string {
	t.Helper()
	rec := httptest.NewRecorder()
	Render(rec, http.StatusOK, name, p)
	body, _ := io.ReadAll(rec.Body)
	if rec.Header().Get("Content-Security-Policy") == "" {
		t.Errorf("%s: no CSP", name)
	}
	return string(body)
}

// pages are one rendering of every end-user template, each with hostile text in every field.
func pages() map[string]*Page {
	brand := Brand{Name: "Acme " + hostile, LogoURL: pngLogo, HeaderText: "Header " + hostile, FooterText: "Footer " + hostile,
		BackgroundColor: "#0b1f3a", TextColor: "#ffffff"}
	return map[string]*Page{
		"login.html": {Title: "Sign in", Brand: brand, AppName: "Wiki " + hostile,
			Data: map[string]any{"IdPs": []struct{ Name, URL string }{{"Okta " + hostile, "/start?idp=okta"}, {"E-mail PIN", "/start?idp=pin"}}}},
		"pin_email.html": {Title: "Sign in", Brand: brand, AppName: "Wiki " + hostile, Hint: "Hint " + hostile, Message: "Bad address " + hostile,
			Data: map[string]string{"Action": "/pin", "FlowID": "f1", "CSRF": "c1"}},
		"pin_code.html": {Title: "Enter your code", Brand: brand, AppName: "Wiki " + hostile, Message: "Wrong code " + hostile,
			Data: map[string]string{"Action": "/pin/verify", "FlowID": "f1", "CSRF": "c1", "Email": "a@example.com" + hostile}},
		"deny.html": {Title: "Access denied", Brand: brand, AppName: "Wiki " + hostile, RequestID: "ref1",
			Data: map[string]any{"AppName": "Wiki " + hostile, "Email": "a@example.com", "LogoutURL": "/logout"}},
		"error.html":   {Title: "Not found " + hostile, Brand: brand, Message: "Gone " + hostile, RequestID: "ref2"},
		"message.html": {Title: "Signed out", Brand: brand, Message: "Bye " + hostile, Links: []Link{{"https://wiki.example.com/", "Sign in again"}, {"https://auth.example.com/", "App Launcher"}}},
		"confirm.html": {Title: "Sign out?", Brand: brand, Message: "Sure " + hostile, Data: map[string]string{"Action": "/logout", "CSRF": "c", "Button": "Sign out"}},
		"launcher.html": {Title: "Applications", Brand: brand, Wide: true, Data: map[string]any{"Email": "a@example.com", "LogoutURL": "/logout",
			"Tiles": []struct{ Name, URL, LogoURL string }{{"Wiki " + hostile, "https://wiki.example.com/", ""}, {"Grafana", "https://grafana.example.com/", pngLogo}}}},
		"identity.html": {Title: "Identity provider test", Brand: brand, Message: "Returned " + hostile, Data: `{"email": "` + hostile + `"}`},
		"enroll.html": {Title: "Enroll a device", Brand: brand, Wide: true, Message: "Bad name " + hostile,
			Data: map[string]any{"Email": "a@example.com" + hostile, "Action": "/.gatehouse/gateway/enroll", "CSRF": "c" + hostile, "Nonce": "n" + hostile, "MaxName": 100,
				"Devices": []struct{ ID, Name, Created, LastSeen, Revoked string }{
					{"d1", "Laptop " + hostile, "2026-12-07 10:00 UTC", "", ""}, {"d2", "Phone", "2026-12-07 10:00 UTC", "", "2026-12-07 11:00 UTC"}}}},
		"enrolled.html": {Title: "Device enrolled", Brand: brand, Wide: true,
			Data: map[string]any{"Name": "Laptop " + hostile, "Proxy": "gw.example.com:3128", "Username": "u" + hostile, "Password": "p" + hostile,
				"ProxyURL": "http://u:p@gw.example.com:3128" + hostile, "PACURL": "https://auth.example.com/.gatehouse/gateway/pac/d1.pac",
				"CAURL": "https://auth.example.com/.gatehouse/gateway/ca.pem", "AuthHost": "auth.example.com", "Back": "/.gatehouse/gateway/enroll"}},
	}
}

func TestTemplatesBrandedAndEscaped(t *testing.T) {
	for name, p := range pages() {
		t.Run(name, func(t *testing.T) {
			body := render(t, name, p)
			if strings.Contains(body, hostile) || strings.Contains(body, "<script>alert") {
				t.Errorf("hostile text rendered unescaped:\n%s", body)
			}
			if strings.Contains(body, "ZgotmplZ") {
				t.Errorf("a value was refused by html/template:\n%s", body)
			}
			for _, want := range []string{
				`<html lang="en">`, `name="viewport"`, `<header class="org">`, `<main id="main"`, `<footer>`,
				`Acme &lt;script&gt;`, `Header &lt;script&gt;`, `Footer &lt;script&gt;`,
				`<img src="` + pngLogo + `"`, `--bg:#0b1f3a`, `--fg:#ffffff`,
			} {
				if !strings.Contains(body, want) {
					t.Errorf("missing %q in:\n%s", want, body)
				}
			}
			if p.AppName != "" && !strings.Contains(body, "Wiki &lt;script&gt;") {
				t.Errorf("application name missing:\n%s", body)
			}
		})
	}
}

func TestSignInErrorsAreAccessible(t *testing.T) {
	p := pages()
	code := render(t, "pin_code.html", p["pin_code.html"])
	for _, want := range []string{`id="code-error" class="alert alert-error" role="alert"`, `aria-invalid="true" aria-describedby="code-error"`} {
		if !strings.Contains(code, want) {
			t.Errorf("wrong-PIN page lacks %q:\n%s", want, code)
		}
	}
	email := render(t, "pin_email.html", p["pin_email.html"])
	for _, want := range []string{`<p class="hint" role="note">Hint &lt;script&gt;`, `aria-invalid="true" aria-describedby="email-error"`} {
		if !strings.Contains(email, want) {
			t.Errorf("PIN e-mail page lacks %q:\n%s", want, email)
		}
	}
	// Without an error the input is not marked invalid.
	ok := *p["pin_code.html"]
	ok.Message = ""
	if body := render(t, "pin_code.html", &ok); strings.Contains(body, `aria-invalid="true"`) || strings.Contains(body, `role="alert"`) {
		t.Errorf("a page without an error is marked invalid:\n%s", body)
	}
}

func TestLauncherTiles(t *testing.T) {
	body := render(t, "launcher.html", pages()["launcher.html"])
	if !strings.Contains(body, `<body class="wide">`) {
		t.Error("launcher page is not wide")
	}
	if n := strings.Count(body, `<svg class="monogram"`); n != 1 {
		t.Errorf("%d monograms, want 1 (the tile without a logo):\n%s", n, body)
	}
	if !strings.Contains(body, `>WS</text>`) { // "Wiki <script>..." → W, S
		t.Errorf("monogram initials missing:\n%s", body)
	}
}

func TestDefaultsWithoutDesign(t *testing.T) {
	body := render(t, "error.html", &Page{Title: "Oops", Message: "m", RequestID: "r"})
	for _, want := range []string{`<p class="org-name">Gatehouse</p>`, "--bg:" + DefaultBackgroundColor, "--fg:" + DefaultTextColor, "Oops · Gatehouse"} {
		if !strings.Contains(body, want) {
			t.Errorf("missing %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, "<img") {
		t.Error("a logo without a logo configured")
	}
	body = render(t, "error.html", &Page{Title: "Oops", OrgName: "Acme"})
	if !strings.Contains(body, `<p class="org-name">Acme</p>`) {
		t.Errorf("OrgName not shown:\n%s", body)
	}
}

func TestBrandOfDropsRefusedValues(t *testing.T) {
	b := BrandOf(&store.Organization{Name: "Acme", LoginDesign: &store.LoginDesign{
		BackgroundColor: "red;}body{display:none", TextColor: "#12345", LogoPath: "http://acme.example/logo.png", HeaderText: "h", FooterText: "f"}})
	if b.BackgroundColor != "" || b.TextColor != "" || b.LogoURL != "" || b.HeaderText != "h" || b.FooterText != "f" || b.Name != "Acme" {
		t.Errorf("BrandOf = %+v", b)
	}
	body := render(t, "error.html", &Page{Title: "x", Brand: b})
	if strings.Contains(body, "display:none") || strings.Contains(body, "acme.example") {
		t.Errorf("refused values rendered:\n%s", body)
	}
	if got := BrandOf(&store.Organization{Name: "Acme"}); got != (Brand{Name: "Acme"}) {
		t.Errorf("BrandOf without design = %+v", got)
	}
}

func TestLogoURLProblem(t *testing.T) {
	for s, ok := range map[string]bool{
		"":                                   true,
		"https://cdn.example.com/logo.svg":   true,
		"HTTPS://cdn.example.com/l.png?v=2":  true,
		pngLogo:                              true,
		"data:image/svg+xml;base64,PHN2Zy8+": true,
		"data:image/svg+xml,%3Csvg%2F%3E":    true,
		"http://cdn.example.com/logo.png":    false,
		"javascript:alert(1)":                false,
		"data:text/html;base64,PGgxPg==":     false,
		"data:image/png;charset=x,AAAA":      false,
		"data:image/png;base64":              false,
		"//cdn.example.com/logo.png":         false,
		"/logo.png":                          false,
		"https://user:pw@cdn.example.com/l":  false,
		"https:///l.png":                     false,
		"data:image/png;base64," + strings.Repeat("A", MaxDataLogoBytes): false,
	} {
		if got := LogoURLProblem(s) == ""; got != ok {
			t.Errorf("LogoURLProblem(%.60q) = %q, want ok=%v", s, LogoURLProblem(s), ok)
		}
	}
	if p := LogoURLProblem("http://x.example/l.png"); !strings.Contains(p, "https://") {
		t.Errorf("http: problem %q does not say what to use", p)
	}
}

func TestColorsAndContrast(t *testing.T) {
	for s, ok := range map[string]bool{"": true, "#fff": true, "#1D2330": true, "#12345": false, "fff": false, "red": false, "#ggg": false, "#fff;x": false} {
		if got := ColorProblem(s) == ""; got != ok {
			t.Errorf("ColorProblem(%q) ok=%v, want %v", s, got, ok)
		}
	}
	for _, c := range []struct {
		a, b string
		want float64
	}{{"#000", "#fff", 21}, {"#fff", "#fff", 1}, {"#777777", "#ffffff", 4.48}} {
		got, err := ContrastRatio(c.a, c.b)
		if err != nil || got < c.want-0.01 || got > c.want+0.01 {
			t.Errorf("ContrastRatio(%s, %s) = %.2f, %v; want %.2f", c.a, c.b, got, err, c.want)
		}
	}
	if p := DesignProblems(&store.LoginDesign{BackgroundColor: "#0b1f3a", TextColor: "#ffffff"}); p != nil {
		t.Errorf("readable design refused: %v", p)
	}
	p := DesignProblems(&store.LoginDesign{BackgroundColor: "#ffffff", TextColor: "#eeeeee", LogoPath: "http://x/l.png"})
	if !strings.Contains(p["text_color"], "contrast") || p["logo_path"] == "" {
		t.Errorf("DesignProblems = %v", p)
	}
	// Only a background set: the default text colour must be readable on it.
	if p := DesignProblems(&store.LoginDesign{BackgroundColor: "#000000"}); !strings.Contains(p["background_color"], "contrast") {
		t.Errorf("dark background with default text: %v", p)
	}
}

func TestMonogramPaletteContrast(t *testing.T) {
	for _, c := range monogramColors {
		r, err := ContrastRatio(c, "#ffffff")
		if err != nil || r < MinContrast {
			t.Errorf("monogram colour %s: contrast with white %.2f (%v)", c, r, err)
		}
	}
}

func TestMonogram(t *testing.T) {
	for name, want := range map[string]string{
		"Grafana": "G", "payroll admin": "PA", "  Wiki ": "W", "ÉLAN système": "ÉS", "日本 語": "日語", "---": "?", "": "?", "3D prints": "3P", "a b c": "AB",
	} {
		if got := Initials(name); got != want {
			t.Errorf("Initials(%q) = %q, want %q", name, got, want)
		}
	}
	if MonogramColor("Grafana") != MonogramColor(" grafana ") {
		t.Error("colour depends on case or blanks")
	}
	colours := map[string]bool{}
	for _, n := range []string{"Grafana", "Wiki", "Payroll", "CRM", "Jenkins", "GitLab", "Vault", "Kibana", "Sentry", "Jira"} {
		colours[MonogramColor(n)] = true
	}
	if len(colours) < 4 {
		t.Errorf("ten names got only %d colours", len(colours))
	}
	if a, b := string(Monogram("Wiki")), string(Monogram("Wiki")); a != b {
		t.Error("monogram is not deterministic")
	}
}

// FuzzMonogram: any name gives well-formed SVG whose only text is the name's initials.
func FuzzMonogram(f *testing.F) {
	for _, s := range []string{"Grafana", "", "<script>", "a&b", "\xff\xfe", "日本 語", `"'><svg onload=x>`, "]]>"} {
		f.Add(s)
	}
	valid := regexp.MustCompile(`^<svg class="monogram" [^<>]*><rect [^<>]*/><text [^<>]*>[^<>]*</text></svg>$`)
	f.Fuzz(func(t *testing.T, name string) {
		out := string(Monogram(name))
		if !valid.MatchString(out) {
			t.Fatalf("Monogram(%q) = %s", name, out)
		}
		dec := xml.NewDecoder(strings.NewReader(out))
		var text strings.Builder
		for {
			tok, err := dec.Token()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("Monogram(%q) is not well-formed: %v\n%s", name, err, out)
			}
			if cd, ok := tok.(xml.CharData); ok {
				text.Write(cd)
			}
		}
		if want := Initials(name); text.String() != want {
			t.Fatalf("Monogram(%q) text %q, want %q", name, text.String(), want)
		}
		if n := utf8.RuneCountInString(Initials(name)); n < 1 || n > 2 {
			t.Fatalf("Initials(%q) has %d runes", name, n)
		}
	})
}

// FuzzLogoURLProblem: an accepted logo is https: or data:image, and the page renders it as is
// (html/template does not have to neutralise it).
func FuzzLogoURLProblem(f *testing.F) {
	for _, s := range []string{"https://cdn.example.com/l.png", pngLogo, "http://x/l.png", "javascript:alert(1)", "data:text/html,<h1>", "DATA:IMAGE/PNG;BASE64,AAAA", "https://x/\"onerror=alert(1)"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if LogoURLProblem(s) != "" {
			if safeLogo(s) != "" {
				t.Fatalf("refused logo %q still rendered", s)
			}
			return
		}
		if s == "" {
			return
		}
		low := strings.ToLower(s)
		if !strings.HasPrefix(low, "https://") && !strings.HasPrefix(low, "data:image/") {
			t.Fatalf("accepted logo %q", s)
		}
		body := render(t, "message.html", &Page{Title: "t", Brand: Brand{Name: "n", LogoURL: s}})
		if strings.Contains(body, "ZgotmplZ") || !strings.Contains(body, `<header class="org"><img src="`) {
			t.Fatalf("logo %q rendered badly:\n%s", s, body)
		}
	})
}

// FuzzColorProblem: an accepted colour is #rgb or #rrggbb, and nothing else reaches the CSS.
func FuzzColorProblem(f *testing.F) {
	for _, s := range []string{"#fff", "#1d2330", "red", "#12345", "#fff;}body{", "#FFFFFF"} {
		f.Add(s)
	}
	hex := regexp.MustCompile(`^#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$`)
	f.Fuzz(func(t *testing.T, s string) {
		ok := ColorProblem(s) == ""
		if ok != (s == "" || hex.MatchString(s)) {
			t.Fatalf("ColorProblem(%q) ok=%v", s, ok)
		}
		b := BrandOf(&store.Organization{LoginDesign: &store.LoginDesign{BackgroundColor: s}})
		if !ok && b.BackgroundColor != "" {
			t.Fatalf("refused colour %q kept", s)
		}
	})
}
