package console

import (
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/httpx"
	"github.com/gatehouse/gatehouse/internal/snapshot"
	"github.com/gatehouse/gatehouse/internal/web"
	"github.com/gatehouse/gatehouse/internal/wire"
)

// page is what every console template receives.
type page struct {
	Title string
	// Brand is the organisation's name (the console keeps its own colours: it is a tool).
	OrgName string
	Email   string
	Role    string
	// Root is the console's root path; Current the page's path below it (the navigation
	// marks it).
	Root, Current string
	// Logout is the sign-out page (it asks to confirm).
	Logout string
	Nav    []navItem
	// CSRF is the forms' token; Back the page's path, where posts return.
	CSRF, Back string
	// Fresh: the login is recent enough for sensitive changes; FreshMinutes how recent it
	// must be.
	Fresh        bool
	FreshMinutes int
	// CanWrite: the role may make changes on this page.
	CanWrite bool
	// Notice is a message about the last change (from ?done=).
	Notice string
	// Redirect, when set, is an address the page navigates to at once (a refresh: the CSP
	// allows no script and its form-action no redirect of a post elsewhere).
	Redirect string
	Data     any
}

// navItem is one link of the console's navigation.
type navItem struct {
	Path, Text, Group string
}

// nav lists the pages in the navigation, in order, with their areas.
var nav = []struct {
	navItem
	area string
}{
	{navItem{"", "Overview", ""}, areaOverview},
	{navItem{"access", "Applications and policies", "Access"}, areaConfig},
	{navItem{"identities", "Identity providers and tokens", "Access"}, areaConfig},
	{navItem{"objects", "Configuration objects", "Access"}, areaConfig},
	{navItem{"users", "Users and sessions", "Access"}, areaPeople},
	{navItem{"devices", "Devices", "Access"}, areaPeople},
	{navItem{"apps", "AI app library", "Gateway"}, areaApps},
	{navItem{"mcp", "MCP servers and portals", "Gateway"}, areaMCP},
	{navItem{"gateway/rules", "Gateway rules", "Gateway"}, areaGateway},
	{navItem{"dlp", "DLP profiles", "Gateway"}, areaGateway},
	{navItem{"reports/shadow-it", "Shadow IT", "Dashboards"}, areaReports},
	{navItem{"reports/ai", "AI security report", "Dashboards"}, areaReports},
	{navItem{"reports/access", "Access report", "Dashboards"}, areaReports},
	{navItem{"logs/access", "Access log", "Logs"}, areaLogs},
	{navItem{"logs/audit", "Audit log", "Logs"}, areaLogs},
	{navItem{"logs/mcp", "MCP log", "Logs"}, areaLogs},
	{navItem{"logs/prompts", "AI prompt log", "Logs"}, areaLogs},
}

// notices are the messages a post's redirect may ask for (?done=): fixed texts only, so a
// link cannot make the console say anything else.
var notices = map[string]string{
	"session-revoked": "The session was revoked: its next request is refused.",
	"user-revoked":    "Every session, token and device of the user was revoked.",
	"device-revoked":  "The device was revoked: the gateway refuses its credentials from now on.",
	"app-reviewed":    "The review status was changed; the gateway applies it to the next request.",
	"mcp-synced":      "The server was synced.",
	"mcp-approved":    "The server's current tools were approved.",
	"object-created":  "The object was created; every replica serves it from now on.",
	"object-saved":    "The change was saved; every replica serves it from now on.",
	"object-deleted":  "The object was deleted.",
}

// render writes a console page with the console's security headers.
func (c *Console) render(q *req, name, title string, data any) error {
	return c.renderStatus(q, http.StatusOK, name, title, data)
}

// renderStatus is render with a status (a form shown again with its problems).
func (c *Console) renderStatus(q *req, status int, name, title string, data any) error {
	root := q.snap.Profile.Path(Path)
	p := &page{Title: title, OrgName: q.snap.Org.Name, Email: q.grant.Identity.Email, Role: q.role, Root: root, Current: q.path,
		Logout: q.snap.Profile.Path(wire.EndpointLogout),
		CSRF:   c.FormToken(q.r, formPurpose), Back: root + q.path, FreshMinutes: int(c.freshLogin() / time.Minute),
		Notice: notices[q.r.URL.Query().Get("done")], Redirect: q.redirect, Data: data}
	if p.OrgName == "" {
		p.OrgName = "Gatehouse"
	}
	for _, n := range nav {
		if can(q.role, n.area, false) {
			p.Nav = append(p.Nav, n.navItem)
		}
	}
	if rt, ok := routes[q.path]; ok {
		// The gateway's rules and DLP profiles are the configuration file's: nothing there
		// changes.
		p.CanWrite = can(q.role, rt.area, true) && rt.area != areaGateway
	}
	if p.CanWrite {
		p.Fresh = c.fresh(q)
	}
	h := q.w.Header()
	web.SetSecurityHeaders(h)
	if q.csp != "" {
		h.Set("Content-Security-Policy", q.csp)
	} else {
		h.Set("Content-Security-Policy", CSP)
	}
	h.Set("Content-Type", "text/html; charset=utf-8")
	q.w.WriteHeader(status)
	if q.r.Method == http.MethodHead {
		return nil
	}
	if err := templates.ExecuteTemplate(q.w, name, p); err != nil {
		// Headers are gone; the log has the cause.
		c.log().ErrorContext(q.r.Context(), "console: render page", "template", name, "err", err)
	}
	return nil
}

// fresh reports whether the user's login is recent enough for sensitive changes.
func (c *Console) fresh(q *req) bool {
	s, err := c.Store.GetSession(q.r.Context(), q.grant.SessionID)
	return err == nil && !s.CreatedAt.Before(c.now().Add(-c.freshLogin()))
}

// done redirects a post back to the page it came from, with a notice.
func (c *Console) done(q *req, notice string) error {
	back := c.backPath(q.snap, q.r.URL.Query().Get("back"))
	if extra := q.r.PostForm.Get("back_query"); extra != "" {
		// The page's filters (id=, status=...), rebuilt from parsed values only.
		if v, err := url.ParseQuery(extra); err == nil {
			v.Del("done")
			v.Set("done", notice)
			http.Redirect(q.w, q.r, back+"?"+v.Encode(), http.StatusSeeOther)
			return nil
		}
	}
	http.Redirect(q.w, q.r, back+"?done="+url.QueryEscape(notice), http.StatusSeeOther)
	return nil
}

// assetTypes are the content types of the embedded assets.
var assetTypes = map[string]string{".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}

// serveAsset serves an embedded stylesheet or script. They are public (no login): they hold
// nothing about the organisation.
func (c *Console) serveAsset(w http.ResponseWriter, r *http.Request, snap *snapshot.Snapshot, name string) {
	ct := assetTypes[path.Ext(name)]
	b, err := assetFS.ReadFile("assets/" + name)
	if ct == "" || err != nil || strings.Contains(name, "/") {
		c.fail(w, r, snap, httpx.Errorf(http.StatusNotFound, "not-found", "This page does not exist.", nil))
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		c.fail(w, r, snap, httpx.Errorf(http.StatusMethodNotAllowed, "method-not-allowed", "Assets are read with GET.", nil))
		return
	}
	h := w.Header()
	h.Set("Content-Type", ct)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-cache")
	h.Set("Content-Security-Policy", CSP)
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		_, _ = w.Write(b)
	}
}

// funcs are the templates' helpers.
var funcs = template.FuncMap{
	"time":  fmtTime,
	"bytes": fmtBytes,
	"count": fmtCount,
	"join":  strings.Join,
	"lower": strings.ToLower,
	"json":  func(v any) string { b, _ := json.Marshal(v); return string(b) },
	"navOn": func(cur, p string) bool { return cur == p },
	"add":   func(a, b int) int { return a + b },
	"pct":   func(n, total int64) string { return fmtPct(n, total) },
	"field": func(id, name, label, value, hint string, problems []string) fieldView {
		return newField(id, name, label, value, hint, problems, 0)
	},
	"area": func(id, name, label, value, hint string, problems []string, rows int) fieldView {
		return newField(id, name, label, value, hint, problems, rows)
	},
	"statusClass": func(s string) string {
		return "st-" + strings.ReplaceAll(s, " ", "-")
	},
}

// fieldView is a labelled text field of a form with its hint and its problems (template
// "field"): an input, or a textarea of Rows lines when Rows > 0.
type fieldView struct {
	ID, Name, Label, Value, Hint string
	Problems                     []string
	Rows                         int
	// DescribedBy lists the ids of the hint and the problems (aria-describedby).
	DescribedBy string
}

func newField(id, name, label, value, hint string, problems []string, rows int) fieldView {
	f := fieldView{ID: id, Name: name, Label: label, Value: value, Hint: hint, Problems: problems, Rows: rows}
	var ids []string
	if hint != "" {
		ids = append(ids, id+"-hint")
	}
	if len(problems) > 0 {
		ids = append(ids, id+"-problems")
	}
	f.DescribedBy = strings.Join(ids, " ")
	return f
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

func fmtBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 4; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTP"[exp])
}

func fmtCount(n int64) string {
	s := strconv.FormatInt(n, 10)
	if n < 0 {
		return s
	}
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String()
}

func fmtPct(n, total int64) string {
	if total <= 0 {
		return "0%"
	}
	return fmt.Sprintf("%.0f%%", 100*float64(n)/float64(total))
}
