package console

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/admin"
	"github.com/gatehouse/gatehouse/internal/httpx"
	"github.com/gatehouse/gatehouse/internal/store"
)

// pageSize is how many rows a list page shows.
const pageSize = 50

// reviewStatuses are the application library's review statuses, in display order (the
// gateway's applib.Statuses; the console knows them as the admin API's JSON spells them).
var reviewStatuses = []string{"approved", "unapproved", "in review", "unreviewed"}

// decodeAs converts a JSON-encodable result of the admin service (the gateway's and the MCP
// portal's administration return such values; the console does not import those surfaces)
// into the console's view of it.
func decodeAs[T any](v any) (T, error) {
	var out T
	b, err := json.Marshal(v)
	if err != nil {
		return out, fmt.Errorf("encode: %w", err)
	}
	if err := json.Unmarshal(b, &out); err != nil {
		return out, fmt.Errorf("decode: %w", err)
	}
	return out, nil
}

// pager is a list page's position: Page (from 1) and whether there are pages before or after.
type pager struct {
	Page       int
	Prev, Next string // query strings of the neighbouring pages; "" when none
}

// pageOf returns the rows of the requested page (?page=) of all and its pager.
func pageOf[T any](r *http.Request, all []T) ([]T, pager) {
	n, _ := strconv.Atoi(r.URL.Query().Get("page"))
	if n < 1 {
		n = 1
	}
	if max := (len(all) + pageSize - 1) / pageSize; n > max && max > 0 {
		n = max
	}
	lo := min((n-1)*pageSize, len(all))
	hi := min(lo+pageSize, len(all))
	pg := pager{Page: n}
	with := func(p int) string {
		v := r.URL.Query()
		v.Del("done")
		v.Set("page", strconv.Itoa(p))
		return "?" + v.Encode()
	}
	if n > 1 {
		pg.Prev = with(n - 1)
	}
	if hi < len(all) {
		pg.Next = with(n + 1)
	}
	return all[lo:hi], pg
}

// overview shows the state of the organisation at a glance.
func (c *Console) overview(q *req) error {
	ctx := q.r.Context()
	now := c.now()
	type tile struct {
		Label, Value, Link, Note string
	}
	var tiles []tile
	if can(q.role, areaPeople, false) {
		users, err := c.Store.ListUsers(ctx)
		if err != nil {
			return adminError("The user list", err)
		}
		active := 0
		for _, u := range users {
			if u.Status == "" || u.Status == store.UserActive {
				active++
			}
		}
		tiles = append(tiles, tile{"Users", strconv.Itoa(len(users)), "users", fmt.Sprintf("%d active", active)})
		if devs, err := c.Admin.ListDevices(ctx, ""); err == nil {
			n := 0
			for _, d := range devs {
				if d.RevokedAt.IsZero() {
					n++
				}
			}
			tiles = append(tiles, tile{"Gateway devices", strconv.Itoa(n), "devices", fmt.Sprintf("%d revoked", len(devs)-n)})
		}
	}
	events, err := c.Store.ListAuthEvents(ctx, store.AuthEventQuery{Since: now.Add(-24 * time.Hour), Limit: 1000})
	if err != nil {
		return adminError("The access log", err)
	}
	allowed, denied := 0, 0
	for _, e := range events {
		if e.Allowed {
			allowed++
		} else {
			denied++
		}
	}
	more := ""
	if len(events) == 1000 {
		more = " (the latest 1,000)"
	}
	tiles = append(tiles, tile{"Sign-ins and app access, 24 h", strconv.Itoa(allowed), "logs/access", fmt.Sprintf("%d refused%s", denied, more)})
	if rep, err := c.shadowReport(q, "30d"); err == nil {
		unapproved := int64(0)
		for _, s := range rep.Statuses {
			if s.Status != "approved" {
				unapproved += int64(s.AppCount)
			}
		}
		tiles = append(tiles, tile{"Gateway requests, 30 days", fmtCount(rep.Totals.Requests), "reports/shadow-it",
			fmt.Sprintf("%s uploaded; %s not approved", fmtBytes(rep.Totals.BytesUp), plural(unapproved, "app", "apps"))})
	}
	if can(q.role, areaGateway, false) {
		if rs, def, err := c.Admin.GatewayRules(); err == nil {
			enabled := 0
			for _, r := range rs {
				if r.Enabled {
					enabled++
				}
			}
			note := fmt.Sprintf("%d disabled; no match: %s", len(rs)-enabled, def)
			if ps, err := c.Admin.DLPProfiles(); err == nil {
				note += "; " + plural(int64(len(ps)), "DLP profile", "DLP profiles")
			}
			tiles = append(tiles, tile{"Gateway rules in force", strconv.Itoa(enabled), "gateway/rules", note})
		}
	}
	var attention []string
	if can(q.role, areaMCP, false) {
		if servers, err := c.Admin.ListMCPServers(ctx); err == nil {
			for _, s := range servers {
				switch {
				case needsAuthorization(s):
					attention = append(attention, "MCP server "+s.Name+" needs an administrator's authorization at its authorization server.")
				case s.Status == "error":
					attention = append(attention, "MCP server "+s.Name+" could not be synced.")
				case s.ToolsChanged:
					attention = append(attention, "MCP server "+s.Name+" changed its tools: approve them to expose them again.")
				}
			}
			tiles = append(tiles, tile{"MCP servers", strconv.Itoa(len(servers)), "mcp", fmt.Sprintf("%d to look at", len(attention))})
		}
	}
	for i := range tiles {
		if !can(q.role, areaOf(tiles[i].Link), false) {
			tiles[i].Link = ""
		}
	}
	return c.render(q, "overview.html", "Overview", map[string]any{"Tiles": tiles, "Attention": attention})
}

// unavailable reports whether err says that a part of the administration (the gateway's, the
// MCP portal's) is not available in this process: the page then says so instead of failing.
func unavailable(err error) bool {
	return errors.Is(err, admin.ErrNotFound) && strings.Contains(err.Error(), "not available")
}

// plural is n with the noun's singular or plural form.
func plural(n int64, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmtCount(n) + " " + many
}

// areaOf returns the area of a console path.
func areaOf(p string) string { return routes[p].area }

// userRow is one user of the users page.
type userRow struct {
	admin.UserSummary
}

// users lists the user registry, filtered by ?q= (part of the e-mail or name).
func (c *Console) users(q *req) error {
	all, err := c.Admin.ListUsers(q.r.Context())
	if err != nil {
		return adminError("The user list", err)
	}
	search := strings.TrimSpace(q.r.URL.Query().Get("q"))
	if search != "" {
		needle := strings.ToLower(search)
		kept := all[:0]
		for _, u := range all {
			if strings.Contains(strings.ToLower(u.Email), needle) || strings.Contains(strings.ToLower(u.Name), needle) {
				kept = append(kept, u)
			}
		}
		all = kept
	}
	rows, pg := pageOf(q.r, all)
	return c.render(q, "users.html", "Users and sessions", map[string]any{"Users": rows, "Pager": pg, "Q": search, "Total": len(all)})
}

// user shows one user (?id=) with their sessions, devices and recent logins.
func (c *Console) user(q *req) error {
	id := q.r.URL.Query().Get("id")
	if id == "" {
		// A login comes back without the query string: the list is the next best page.
		http.Redirect(q.w, q.r, q.snap.Profile.Path(Path)+"users", http.StatusSeeOther)
		return nil
	}
	u, err := c.Admin.GetUser(q.r.Context(), id)
	if err != nil {
		return adminError("The user", err)
	}
	devs, err := c.Admin.ListDevices(q.r.Context(), u.ID)
	if err != nil && !strings.Contains(err.Error(), admin.ErrNoDevices.Error()) {
		return adminError("The user's devices", err)
	}
	return c.render(q, "user.html", u.Email, map[string]any{"User": u, "Devices": devs, "BackQuery": "id=" + url.QueryEscape(u.ID)})
}

// devices lists every enrolled gateway device, filtered by ?q= (the owner's e-mail or the
// device's name) and ?state= (active, revoked).
func (c *Console) devices(q *req) error {
	all, err := c.Admin.ListDevices(q.r.Context(), "")
	if err != nil && !strings.Contains(err.Error(), admin.ErrNoDevices.Error()) {
		return adminError("The device list", err)
	}
	search := strings.ToLower(strings.TrimSpace(q.r.URL.Query().Get("q")))
	state := q.r.URL.Query().Get("state")
	kept := all[:0]
	for _, d := range all {
		if search != "" && !strings.Contains(strings.ToLower(d.User.Email), search) && !strings.Contains(strings.ToLower(d.Name), search) {
			continue
		}
		if state == "active" && !d.RevokedAt.IsZero() || state == "revoked" && d.RevokedAt.IsZero() {
			continue
		}
		kept = append(kept, d)
	}
	rows, pg := pageOf(q.r, kept)
	return c.render(q, "devices.html", "Devices", map[string]any{"Devices": rows, "Pager": pg, "Q": q.r.URL.Query().Get("q"), "State": state,
		"BackQuery": q.r.URL.RawQuery})
}

// revokeUser revokes every session, token and device of a user (form field user).
func (c *Console) revokeUser(q *req) error {
	if _, err := c.Admin.RevokeUser(q.r.Context(), q.actor(), q.r.PostForm.Get("user")); err != nil {
		return adminError("Revoking the user", err)
	}
	return c.done(q, "user-revoked")
}

// revokeSession revokes one session (form fields user and session).
func (c *Console) revokeSession(q *req) error {
	if err := c.Admin.RevokeSession(q.r.Context(), q.actor(), q.r.PostForm.Get("user"), q.r.PostForm.Get("session")); err != nil {
		return adminError("Revoking the session", err)
	}
	return c.done(q, "session-revoked")
}

// revokeDevice revokes one gateway device (form field device).
func (c *Console) revokeDevice(q *req) error {
	if _, err := c.Admin.RevokeDevice(q.r.Context(), q.actor(), q.r.PostForm.Get("device")); err != nil {
		return adminError("Revoking the device", err)
	}
	return c.done(q, "device-revoked")
}

// libraryApp is an application of the gateway's library as the console shows it (the admin
// API's JSON).
type libraryApp struct {
	ID           int       `json:"id"`
	Name         string    `json:"name"`
	AppType      string    `json:"application_type"`
	Vendor       string    `json:"vendor"`
	Hostnames    []string  `json:"hostnames"`
	Status       string    `json:"review_status"`
	StatusSource string    `json:"review_status_source"`
	ReviewedAt   time.Time `json:"reviewed_at"`
	ReviewedBy   string    `json:"reviewed_by"`
	Posture      float64   `json:"application_confidence_score"`
	GenAI        *float64  `json:"gen_ai_score"`
}

// Configured reports whether the status is set by the configuration file (read-only here).
func (a libraryApp) Configured() bool { return a.StatusSource == "config" }

// apps lists the application library (AI applications unless ?all=1), filtered by ?status=
// and ?q=, with a review status form on each row.
func (c *Console) apps(q *req) error {
	v := q.r.URL.Query()
	all := v.Get("all") == "1"
	status := v.Get("status")
	items, err := c.Admin.ListGatewayApps(admin.GatewayAppQuery{Status: status, AI: !all, Search: strings.TrimSpace(v.Get("q"))})
	if unavailable(err) {
		return c.render(q, "apps.html", "AI app library", map[string]any{"Disabled": true, "Statuses": reviewStatuses})
	}
	if err != nil {
		return adminError("The application library", err)
	}
	list, err := decodeAs[[]libraryApp](items)
	if err != nil {
		return adminError("The application library", err)
	}
	rows, pg := pageOf(q.r, list)
	return c.render(q, "apps.html", "AI app library", map[string]any{"Apps": rows, "Pager": pg, "Q": v.Get("q"), "Status": status, "All": all,
		"Statuses": reviewStatuses, "Total": len(list), "BackQuery": q.r.URL.RawQuery})
}

// reviewApp sets an application's review status (form fields app and status).
func (c *Console) reviewApp(q *req) error {
	app, status := q.r.PostForm.Get("app"), q.r.PostForm.Get("status")
	if app == "" {
		return httpx.Errorf(http.StatusBadRequest, "bad-form", "No application was given.", nil)
	}
	if _, _, err := c.Admin.SetGatewayAppReview(q.r.Context(), q.actor(), []string{app}, status); err != nil {
		return adminError("Changing the review status", err)
	}
	return c.done(q, "app-reviewed")
}

// mcp lists the MCP servers with their sync state and the portals.
func (c *Console) mcp(q *req) error {
	ctx := q.r.Context()
	servers, err := c.Admin.ListMCPServers(ctx)
	if unavailable(err) {
		// No MCP portal in this process (the store cannot keep its state).
		return c.render(q, "mcp.html", "MCP servers and portals", map[string]any{"Disabled": true})
	}
	if err != nil {
		return adminError("The MCP servers", err)
	}
	portals, err := c.Admin.ListMCPPortals(ctx)
	if err != nil {
		return adminError("The MCP portals", err)
	}
	rows := make([]mcpServerRow, len(servers))
	for i, s := range servers {
		rows[i] = mcpServerRow{MCPServerInfo: s, OAuth: s.AuthType == store.MCPAuthOAuth, NeedsAuth: needsAuthorization(s)}
	}
	return c.render(q, "mcp.html", "MCP servers and portals", map[string]any{"Servers": rows, "Portals": portals, "Issuer": q.snap.Issuer})
}

// mcpServerRow is a server of the MCP page: OAuth when Gatehouse signs in to it with the
// administrator's grant (it can be authorized), NeedsAuth when its last sync found no usable
// grant.
type mcpServerRow struct {
	admin.MCPServerInfo
	OAuth, NeedsAuth bool
}

// needsAuthorization reports whether an MCP server's last sync failed for want of the
// administrator's authorization.
func needsAuthorization(s admin.MCPServerInfo) bool {
	return s.Error != nil && s.Error.Type == store.MCPSyncErrorAuthorizationRequired
}

// authorizeMCP starts the administrator's authorization at an oauth server's authorization
// server (form field server) and sends the browser there. The console's CSP allows forms to
// post to the console only (form-action 'self'), which browsers also apply to a post's
// redirects, so the answer is a page that navigates on (a refresh, with a link for browsers
// that do not follow it), never a redirect.
func (c *Console) authorizeMCP(q *req) error {
	id := q.r.PostForm.Get("server")
	if id == "" {
		return httpx.Errorf(http.StatusBadRequest, "bad-form", "No server was given.", nil)
	}
	out, err := c.Admin.AuthorizeMCPServer(q.r.Context(), q.actor(), id)
	if err != nil {
		return adminError("Authorizing the server", err)
	}
	u, err := url.Parse(out.AuthorizationURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
		return httpx.Errorf(http.StatusBadGateway, "bad-authorization-url", "The server's authorization server gave an address the console cannot open.", err)
	}
	q.redirect = u.String()
	return c.render(q, "mcp_authorize.html", "Authorize "+id, map[string]any{"Server": id, "URL": u.String(), "Host": u.Host, "Expires": out.ExpiresAt})
}

// syncMCP syncs a server now (form field server).
func (c *Console) syncMCP(q *req) error {
	if _, err := c.Admin.SyncMCPServer(q.r.Context(), q.actor(), q.r.PostForm.Get("server")); err != nil {
		return adminError("Syncing the server", err)
	}
	return c.done(q, "mcp-synced")
}

// approveMCP approves a server's current tools (form field server).
func (c *Console) approveMCP(q *req) error {
	if _, err := c.Admin.ApproveMCPTools(q.r.Context(), q.actor(), q.r.PostForm.Get("server")); err != nil {
		return adminError("Approving the tools", err)
	}
	return c.done(q, "mcp-approved")
}
