// Package web owns Gatehouse's server-rendered pages (login, PIN entry, block, error, signed-out,
// App Launcher and gateway device enrolment pages), their branding (the organization's name and login_design, application
// monograms, and the rules logos and colours must follow) and the one wrapper every
// browser-facing response goes through: it sets CSP, nosniff, Referrer-Policy and frame
// protection, and renders errors with a reference ID but never their private cause.
package web

import (
	"embed"
	"html/template"
	"log/slog"
	"net/http"

	"github.com/gatehouse/gatehouse/internal/httpx"
)

//go:embed templates/*.html
var templateFS embed.FS

var templates = template.Must(template.New("").Funcs(template.FuncMap{
	"logo":     safeLogo,
	"monogram": Monogram,
}).ParseFS(templateFS, "templates/*.html"))

// Page is the data every page template receives.
type Page struct {
	Title   string
	OrgName string
	// Brand is the organization's name and login design shown in the header and footer; a
	// Brand without a name takes OrgName.
	Brand Brand
	// AppName is the application the user is opening, shown on the sign-in pages.
	AppName string
	// Message is the page's text; on the sign-in forms it is an error about the input.
	Message string
	// Hint is an informational note shown under the heading (for example the demo's hint).
	Hint      string
	RequestID string
	// Links are the page's follow-up actions (the first is the main one on message pages).
	Links []Link
	// Wide widens the page for the App Launcher's tiles.
	Wide bool
	Data any
}

// Link is an action a page offers.
type Link struct{ URL, Text string }

// fill completes the header fields: the brand name from OrgName and back, "Gatehouse" when the
// organization has no name.
func (p *Page) fill() {
	if p.Brand.Name == "" {
		p.Brand.Name = p.OrgName
	}
	if p.Brand.Name == "" {
		p.Brand.Name = "Gatehouse"
	}
	if p.OrgName == "" {
		p.OrgName = p.Brand.Name
	}
}

// SetSecurityHeaders sets the headers every Gatehouse page carries.
func SetSecurityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' https: data:; form-action 'self' http: https:; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cache-Control", "no-store")
}

// Render writes the named template with status.
func Render(w http.ResponseWriter, status int, name string, p *Page) {
	SetSecurityHeaders(w.Header())
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	p.fill()
	if err := templates.ExecuteTemplate(w, name, p); err != nil {
		// Headers are gone; the log has the cause.
		slog.Error("render page", "template", name, "err", err)
	}
}

// RenderError renders err as an error page: its public message and reference ID only (an error
// that is not an *httpx.Error shows a generic message). The cause is logged with the reference ID
// by the caller's logger. It is the one adapter every browser handler's error goes through.
func RenderError(w http.ResponseWriter, r *http.Request, log *slog.Logger, orgName string, err error) {
	RenderBrandedError(w, r, log, Brand{Name: orgName}, err)
}

// RenderBrandedError is RenderError with the organization's whole brand (logo and login design)
// on the page.
func RenderBrandedError(w http.ResponseWriter, r *http.Request, log *slog.Logger, brand Brand, err error) {
	he := httpx.AsError(err)
	id := he.Ref
	if id == "" {
		id = httpx.NewRequestID()
	}
	log.LogAttrs(r.Context(), slog.LevelWarn, "request failed",
		slog.String("ref", id), slog.Int("status", he.Status), slog.String("reason", he.Reason),
		slog.String("host", r.Host), slog.String("path", r.URL.Path), slog.Any("cause", he.Cause))
	title := he.Title
	if title == "" {
		title = http.StatusText(he.Status)
	}
	Render(w, he.Status, "error.html", &Page{Title: title, Brand: brand, Message: he.Public, RequestID: id})
}

// RenderAutoPost renders a form that the browser submits at once (SAML HTTP-POST binding). The
// inline script is allowed by a per-response CSP nonce; without JavaScript a button remains.
func RenderAutoPost(w http.ResponseWriter, orgName, action string, fields map[string][]string) {
	nonce := httpx.NewRequestID() + httpx.NewRequestID()
	SetSecurityHeaders(w.Header())
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; script-src 'nonce-"+nonce+"'; form-action http: https:; frame-ancestors 'none'; base-uri 'none'")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	p := &Page{Title: "Continue to sign in", OrgName: orgName, Data: map[string]any{"Action": action, "Fields": fields, "Nonce": nonce}}
	p.fill()
	if err := templates.ExecuteTemplate(w, "autopost.html", p); err != nil {
		slog.Error("render page", "template", "autopost.html", "err", err)
	}
}
