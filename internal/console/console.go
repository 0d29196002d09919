// Package console is Gatehouse's admin console: server-rendered pages on the auth domain under
// <prefix>admin/ (overview; users, sessions and devices; the AI application library with review
// statuses; MCP servers and portals with their upstream OAuth authorization; access, audit, MCP
// and AI prompt logs; the Shadow IT, AI security and Access dashboards; a prompt log viewer that
// decrypts in the browser; configuration objects in a JSON editor, applications and policies
// also in forms; service tokens created and rotated with the secret shown once; the gateway's
// rules with an expression checker and its DLP profiles with a text test, both the
// configuration file's and read-only).
//
// The console is itself behind Access: the organisation's admin_console application's policies
// decide who may use it, and the role on the policy link that allowed the user (administrator,
// read_only, auditor) what they may see and do. Without that application nobody may (fail
// closed). Changes go through package admin's Service (so they are audited with the signed-in
// user as the actor) and need a CSRF token bound to the org session; the sensitive ones
// (revocations, review statuses, tool approval, MCP authorization, configuration objects, service
// tokens) also need a login within FreshLogin.
//
// Every page carries a strict Content-Security-Policy (scripts and styles from the console's
// own embedded assets only, no inline script), frame-ancestors 'none' and Cache-Control
// no-store. Charts are inline SVG rendered by the server; the only scripts are the prompt log
// viewer's, which decrypts with WebCrypto and never sends the key or the plaintext anywhere,
// and the gateway rules page's expression checker (that page alone may connect, to the
// console itself).
package console

import (
	"cmp"
	"context"
	"embed"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/admin"
	"github.com/gatehouse/gatehouse/internal/httpx"
	"github.com/gatehouse/gatehouse/internal/session"
	"github.com/gatehouse/gatehouse/internal/snapshot"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/web"
)

// Path is the console's root on the auth domain, under the wire prefix (authn.ConsolePath).
const Path = "admin/"

// DefaultFreshLogin is how recent a login must be for a sensitive change.
const DefaultFreshLogin = 5 * time.Minute

// formPurpose names the console forms' CSRF tokens.
const formPurpose = "admin-console"

// maxFormBytes bounds a console form post.
const maxFormBytes = 64 << 10

// CSP is the console's Content-Security-Policy: everything from the console's own origin
// (its embedded stylesheet and the prompt log viewer's script), inline SVG and data: images,
// no inline script or style, no connections, no framing.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

//go:embed templates/*.html
var templateFS embed.FS

//go:embed assets/*
var assetFS embed.FS

var templates = template.Must(template.New("").Funcs(funcs).ParseFS(templateFS, "templates/*.html"))

// Console serves the admin console. Mount it for the subtree <prefix>admin/ on the auth domain.
type Console struct {
	Snapshots *snapshot.Holder
	Store     store.Store
	// Admin performs and audits every change and reads the registry, the gateway's and the
	// MCP portal's administration.
	Admin *admin.Service
	// Authorize logs the user in for the admin_console application and checks its policies,
	// answering the request itself (a login redirect, a block page) when it returns handled;
	// with fresh.AuthAfter set, an older login logs in again (authn.Service.AuthorizeFresh).
	Authorize func(w http.ResponseWriter, r *http.Request, app *snapshot.App, returnPath string, fresh session.Freshness) (*session.Grant, bool)
	// FormToken and CheckFormToken make and check the forms' CSRF tokens, bound to the org
	// session cookie (authn.Service).
	FormToken      func(r *http.Request, purpose string) string
	CheckFormToken func(r *http.Request, purpose, posted string) bool
	// FreshLogin is how recent a login a sensitive change needs; 0 means DefaultFreshLogin.
	FreshLogin time.Duration
	Log        *slog.Logger
	Now        func() time.Time
}

func (c *Console) now() time.Time {
	if c.Now != nil {
		return c.Now().UTC()
	}
	return time.Now().UTC()
}

func (c *Console) log() *slog.Logger {
	if c.Log != nil {
		return c.Log
	}
	return slog.Default()
}

func (c *Console) freshLogin() time.Duration {
	if c.FreshLogin > 0 {
		return c.FreshLogin
	}
	return DefaultFreshLogin
}

// App returns the organisation's admin_console application, or nil.
func App(snap *snapshot.Snapshot) *snapshot.App {
	for _, a := range snap.Ordered() {
		if a.Type == store.AppAdminConsole {
			return a
		}
	}
	return nil
}

// RoleOf returns the console role the policy decision gives: the role on app's link to the
// policy that allowed the user; "" when there is none (never allowed).
func RoleOf(app *snapshot.App, policyID string) string {
	if policyID == "" {
		return ""
	}
	for _, l := range app.Application.Policies {
		if l.Ref == policyID {
			return l.Role
		}
	}
	return ""
}

// can reports whether role may see a page of area, or change it when write.
func can(role, area string, write bool) bool {
	switch role {
	case store.ConsoleRoleAdministrator:
		return true
	case store.ConsoleRoleReadOnly:
		return !write
	case store.ConsoleRoleAuditor:
		return !write && (area == areaOverview || area == areaLogs || area == areaReports)
	}
	return false
}

// Areas of the console, for the roles.
const (
	areaOverview = "overview"
	areaPeople   = "people" // users, sessions, devices
	areaConfig   = "config" // applications and policies, the policy tester
	areaApps     = "apps"   // the AI application library
	areaMCP      = "mcp"
	areaLogs     = "logs" // and the prompt log viewer
	areaReports  = "reports"
	areaGateway  = "gateway" // gateway rules and DLP profiles (the configuration file's)
)

// req is one console request after its login and role check.
type req struct {
	w     http.ResponseWriter
	r     *http.Request
	snap  *snapshot.Snapshot
	app   *snapshot.App
	grant *session.Grant
	role  string
	// path is the request path below the console root ("" for the overview).
	path string
	// redirect, when set, is where the rendered page sends the browser on (a refresh).
	redirect string
	// csp, when set, replaces CSP for the rendered page.
	csp string
}

// actor is the signed-in user as the admin service's actor.
func (q *req) actor() admin.Actor {
	return admin.Actor{Type: store.ActorUser, Name: q.grant.Identity.Email, IP: httpx.ClientOf(q.r).IP.String()}
}

// route is one console page: its area, the GET handler and the POST handler (nil: GET only).
type route struct {
	area string
	get  func(*Console, *req) error
	post func(*Console, *req) error
	// sensitive posts need a login within FreshLogin.
	sensitive bool
	// readPost: the post changes nothing (it carries input that must not go in a URL), so
	// the roles that may read the area may make it; it still needs the CSRF token.
	readPost bool
	// maxBody bounds the post's body; 0 means maxFormBytes.
	maxBody int64
}

// routes maps the path below the console root to its page. Pages with an ID take it from the
// query string (?id=), so every path here is fixed. (Set in init: the pages refer to it.)
var routes map[string]route

func init() { routes = pageRoutes() }

func pageRoutes() map[string]route {
	return map[string]route{
		"":                    {area: areaOverview, get: (*Console).overview},
		"access":              {area: areaConfig, get: (*Console).access},
		"identities":          {area: areaConfig, get: (*Console).identities},
		"tokens/create":       {area: areaConfig, post: (*Console).createToken, sensitive: true},
		"tokens/rotate":       {area: areaConfig, post: (*Console).rotateToken, sensitive: true},
		"objects":             {area: areaConfig, get: (*Console).objectsPage},
		"object":              {area: areaConfig, get: (*Console).objectPage},
		"objects/create":      {area: areaConfig, post: (*Console).createObject, sensitive: true},
		"objects/edit":        {area: areaConfig, get: (*Console).editPage},
		"objects/edit/save":   {area: areaConfig, post: (*Console).saveEdit, sensitive: true},
		"objects/save":        {area: areaConfig, post: (*Console).saveObject, sensitive: true},
		"objects/delete":      {area: areaConfig, post: (*Console).deleteObject, sensitive: true},
		"users":               {area: areaPeople, get: (*Console).users},
		"user":                {area: areaPeople, get: (*Console).user},
		"users/revoke":        {area: areaPeople, post: (*Console).revokeUser, sensitive: true},
		"sessions/revoke":     {area: areaPeople, post: (*Console).revokeSession, sensitive: true},
		"devices":             {area: areaPeople, get: (*Console).devices},
		"devices/revoke":      {area: areaPeople, post: (*Console).revokeDevice, sensitive: true},
		"apps":                {area: areaApps, get: (*Console).apps},
		"apps/review":         {area: areaApps, post: (*Console).reviewApp, sensitive: true},
		"mcp":                 {area: areaMCP, get: (*Console).mcp},
		"mcp/sync":            {area: areaMCP, post: (*Console).syncMCP},
		"mcp/approve":         {area: areaMCP, post: (*Console).approveMCP, sensitive: true},
		"mcp/authorize":       {area: areaMCP, post: (*Console).authorizeMCP, sensitive: true},
		"logs/access":         {area: areaLogs, get: (*Console).accessLog},
		"logs/audit":          {area: areaLogs, get: (*Console).auditLog},
		"logs/mcp":            {area: areaLogs, get: (*Console).mcpLog},
		"logs/prompts":        {area: areaLogs, get: (*Console).promptLog},
		"reports/shadow-it":   {area: areaReports, get: (*Console).shadowIT},
		"reports/ai":          {area: areaReports, get: (*Console).aiReport},
		"reports/access":      {area: areaReports, get: (*Console).accessReport},
		"gateway/rules":       {area: areaGateway, get: (*Console).gatewayRules},
		"gateway/rules/check": {area: areaGateway, get: (*Console).checkRule},
		"dlp":                 {area: areaGateway, get: (*Console).dlpProfiles},
		// Room for the text percent-encoded (3 bytes a byte at worst) besides the other fields.
		"dlp/test": {area: areaGateway, post: (*Console).testDLP, readPost: true, maxBody: 3*admin.MaxDLPTestBytes + 4<<10},
	}
}

// ServeHTTP routes the subtree: the assets without a login, every page after the login and
// the role check.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	snap := c.Snapshots.Load()
	root := snap.Profile.Path(Path)
	p, ok := strings.CutPrefix(r.URL.Path, root)
	if !ok {
		if r.URL.Path+"/" == root {
			http.Redirect(w, r, root, http.StatusSeeOther)
			return
		}
		c.fail(w, r, snap, httpx.Errorf(http.StatusNotFound, "not-found", "This page does not exist.", nil))
		return
	}
	if name, ok := strings.CutPrefix(p, "assets/"); ok {
		c.serveAsset(w, r, snap, name)
		return
	}
	rt, ok := routes[p]
	if !ok || rt.get == nil && rt.post == nil {
		c.fail(w, r, snap, httpx.Errorf(http.StatusNotFound, "not-found", "This page does not exist.", nil))
		return
	}
	isPost := r.Method == http.MethodPost
	switch {
	case isPost && rt.post == nil, !isPost && r.Method != http.MethodGet && r.Method != http.MethodHead, !isPost && rt.get == nil:
		allow := "GET, HEAD"
		if rt.post != nil {
			allow = "POST"
		}
		w.Header().Set("Allow", allow)
		c.fail(w, r, snap, httpx.Errorf(http.StatusMethodNotAllowed, "method-not-allowed", "This page does not support this method.", nil))
		return
	}
	app := App(snap)
	if app == nil {
		c.fail(w, r, snap, httpx.Errorf(http.StatusForbidden, "console-disabled",
			"The admin console is not enabled for this organization: it needs an admin_console application whose policies say who may use it.", nil))
		return
	}
	returnPath := root + p
	var fresh session.Freshness
	if isPost {
		// A post comes back to the page it was made from once the login is done (the form is
		// not posted again: the user repeats the change).
		returnPath = c.backPath(snap, r.URL.Query().Get("back"))
		if rt.sensitive {
			fresh.AuthAfter = c.now().Add(-c.freshLogin())
		}
	}
	g, handled := c.Authorize(w, r, app, returnPath, fresh)
	if handled {
		return
	}
	q := &req{w: w, r: r, snap: snap, app: app, grant: g, role: RoleOf(app, g.Decision.PolicyID), path: p}
	if !can(q.role, rt.area, isPost && !rt.readPost) {
		c.fail(w, r, snap, httpx.Errorf(http.StatusForbidden, "console-role",
			"Your console role does not allow this. Ask an administrator of this organization.", nil))
		return
	}
	var err error
	if isPost {
		r.Body = http.MaxBytesReader(w, r.Body, cmp.Or(rt.maxBody, maxFormBytes))
		if err = r.ParseForm(); err != nil {
			err = httpx.Errorf(http.StatusBadRequest, "bad-form", "The form could not be read.", err)
		} else if !c.CheckFormToken(r, formPurpose, r.PostForm.Get("csrf")) {
			err = httpx.Errorf(http.StatusForbidden, "csrf-mismatch", "This form has expired. Reload the page and try again.", nil)
		} else {
			err = rt.post(c, q)
		}
	} else {
		err = rt.get(c, q)
	}
	if err != nil {
		c.fail(w, r, snap, err)
	}
}

// backPath returns the console page a post returns to: back when it is a console page path,
// else the overview.
func (c *Console) backPath(snap *snapshot.Snapshot, back string) string {
	root := snap.Profile.Path(Path)
	if p, ok := strings.CutPrefix(back, root); ok && !strings.ContainsAny(p, "?#\\\r\n") && !strings.Contains(p, "//") {
		if _, known := routes[p]; known {
			return back
		}
	}
	return root
}

// fail renders err as the console's error page (its public message and a reference only).
func (c *Console) fail(w http.ResponseWriter, r *http.Request, snap *snapshot.Snapshot, err error) {
	w.Header().Set("Content-Security-Policy", CSP)
	web.RenderBrandedError(w, r, c.log(), web.BrandOf(&snap.Org), err)
}

// adminError maps an error of the admin service to what the console shows: for invalid
// requests and conflicts the text the service builds from fixed text and the catalogue (the
// part after its sentinel), "not found" for unknown objects, a generic failure otherwise.
func adminError(what string, err error) error {
	msg := err.Error()
	switch {
	case errors.Is(err, admin.ErrInvalid):
		if i := strings.Index(msg, admin.ErrInvalid.Error()+": "); i >= 0 {
			return httpx.Errorf(http.StatusBadRequest, "invalid", capitalize(msg[i+len(admin.ErrInvalid.Error())+2:])+".", err)
		}
		return httpx.Errorf(http.StatusBadRequest, "invalid", "The request is not valid.", err)
	case errors.Is(err, admin.ErrConflict):
		if i := strings.Index(msg, admin.ErrConflict.Error()+": "); i >= 0 {
			return httpx.Errorf(http.StatusConflict, "conflict", capitalize(msg[i+len(admin.ErrConflict.Error())+2:])+".", err)
		}
		return httpx.Errorf(http.StatusConflict, "conflict", "This change conflicts with the configuration.", err)
	case errors.Is(err, admin.ErrNotFound), errors.Is(err, store.ErrNotFound):
		return httpx.Errorf(http.StatusNotFound, "not-found", what+": not found.", err)
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, store.ErrUnavailable):
		return httpx.Errorf(http.StatusServiceUnavailable, "store-unavailable", what+" is unavailable. Nothing was changed; try again.", err)
	}
	return httpx.Errorf(http.StatusInternalServerError, "internal", what+" failed. Try again.", err)
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
