package console

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/admin"
	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/identity"
	"github.com/gatehouse/gatehouse/internal/policy"
	"github.com/gatehouse/gatehouse/internal/session"
	"github.com/gatehouse/gatehouse/internal/snapshot"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
)

// fixture is a console on a SQLite store whose admin_console application makes alice an
// administrator, rita read-only and carl an auditor; Authorize stands in for the login flow:
// the user is the X-Test-User header, their session the X-Test-Session header.
type fixture struct {
	c     *Console
	st    store.Store
	now   time.Time
	fresh []session.Freshness
	user  *store.User
}

const root = "/.gatehouse/admin/"

func newFixture(t *testing.T, withConsole bool) *fixture {
	t.Helper()
	ctx := t.Context()
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	st, err := sqlstore.Open(ctx, "sqlite", filepath.Join(t.TempDir(), "db"), sqlstore.WithClock(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	email := func(id, addr string) store.Policy {
		return store.Policy{ID: id, Decision: store.DecisionAllow, Include: []store.Rule{{Email: &store.EmailRule{Email: addr}}}}
	}
	cfg := &store.Config{Version: 1, Organization: store.Organization{Name: "Example <Org>", AuthDomain: "auth.example.com"},
		Policies: []store.Policy{email("admins", "alice@example.com"), email("readers", "rita@example.com"), email("auditors", "carl@example.com")}}
	if withConsole {
		cfg.Applications = []store.Application{{ID: "console", Type: store.AppAdminConsole, Name: "Console", AUD: strings.Repeat("a", 64),
			Policies: []store.PolicyLink{{Ref: "admins", Precedence: 1, Role: store.ConsoleRoleAdministrator},
				{Ref: "readers", Precedence: 2, Role: store.ConsoleRoleReadOnly}, {Ref: "auditors", Precedence: 3, Role: store.ConsoleRoleAuditor}}}}
	}
	snap, err := snapshot.Compile(cfg, snapshot.Options{Scheme: "https", Port: 443})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.UpdateConfig(ctx, func(c *store.Config) error {
		c.Organization, c.Policies, c.Applications = cfg.Organization, cfg.Policies, cfg.Applications
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	holder := &snapshot.Holder{}
	holder.Store(snap)
	f := &fixture{st: st, now: now}
	f.user, err = st.UpsertUserByEmail(ctx, "victim@example.com", store.LastSeen{IdPID: "pin", IdPType: "onetimepin"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.UpdateUser(ctx, f.user.ID, func(u *store.User) error { u.Name = `<script>alert("x")</script>`; return nil }); err != nil {
		t.Fatal(err)
	}
	for _, s := range []store.Session{{ID: "s-victim", UserID: f.user.ID, Email: f.user.Email, IdPID: "pin", ExpiresAt: now.Add(time.Hour)},
		{ID: "s-admin", UserID: "admin", Email: "alice@example.com", IdPID: "pin", ExpiresAt: now.Add(time.Hour)}} {
		if err := st.CreateSession(ctx, &s); err != nil {
			t.Fatal(err)
		}
	}
	svc := &admin.Service{Store: st, Audit: &audit.Recorder{Store: st, Now: func() time.Time { return now }}, Now: func() time.Time { return now }}
	f.c = &Console{Snapshots: holder, Store: st, Admin: svc, Now: func() time.Time { return f.now },
		Authorize: func(w http.ResponseWriter, r *http.Request, app *snapshot.App, returnPath string, fresh session.Freshness) (*session.Grant, bool) {
			f.fresh = append(f.fresh, fresh)
			who := r.Header.Get("X-Test-User")
			if who == "" {
				http.Redirect(w, r, "/login?return="+url.QueryEscape(returnPath), http.StatusFound)
				return nil, true
			}
			id := &identity.Identity{Email: who}
			d := app.Policies.Evaluate(&policy.Input{Identity: id})
			if d.Action != policy.ActionAllow {
				http.Error(w, "denied", http.StatusForbidden)
				return nil, true
			}
			return &session.Grant{Identity: id, SessionID: r.Header.Get("X-Test-Session"), Decision: d}, false
		},
		FormToken: func(r *http.Request, purpose string) string {
			return "tok:" + purpose + ":" + r.Header.Get("X-Test-User")
		},
		CheckFormToken: func(r *http.Request, purpose, posted string) bool {
			return posted == "tok:"+purpose+":"+r.Header.Get("X-Test-User")
		},
	}
	return f
}

func (f *fixture) do(t *testing.T, method, user, target string, form url.Values) *httptest.ResponseRecorder {
	t.Helper()
	var r *http.Request
	if form != nil {
		r = httptest.NewRequest(method, target, strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		r = httptest.NewRequest(method, target, nil)
	}
	r.Host = "auth.example.com"
	if user != "" {
		r.Header.Set("X-Test-User", user)
		r.Header.Set("X-Test-Session", "s-admin")
	}
	w := httptest.NewRecorder()
	f.c.ServeHTTP(w, r)
	return w
}

// TestRoles: each role sees and changes exactly what it may; a user no console policy allows
// is refused by the login step; without a login the console starts one.
func TestRoles(t *testing.T) {
	f := newFixture(t, true)
	revoke := func(user string) url.Values {
		return url.Values{"csrf": {"tok:" + formPurpose + ":" + user}, "user": {f.user.ID}, "session": {"s-victim"}}
	}
	cases := []struct {
		method, user, path string
		form               url.Values
		want               int
	}{
		{"GET", "alice@example.com", "", nil, 200},
		{"GET", "alice@example.com", "users", nil, 200},
		{"GET", "alice@example.com", "logs/audit", nil, 200},
		{"GET", "rita@example.com", "users", nil, 200},
		{"GET", "rita@example.com", "reports/access", nil, 200},
		{"POST", "rita@example.com", "sessions/revoke", revoke("rita@example.com"), 403},
		{"GET", "carl@example.com", "", nil, 200},
		{"GET", "carl@example.com", "logs/access", nil, 200},
		{"GET", "carl@example.com", "users", nil, 403},
		{"GET", "carl@example.com", "devices", nil, 403},
		{"GET", "carl@example.com", "apps", nil, 403},
		{"POST", "carl@example.com", "sessions/revoke", revoke("carl@example.com"), 403},
		{"GET", "mallory@example.com", "", nil, 403},
		{"GET", "", "users", nil, 302},
		{"GET", "alice@example.com", "nope", nil, 404},
		{"POST", "alice@example.com", "users", url.Values{}, 405},
		{"GET", "alice@example.com", "sessions/revoke", nil, 405},
		{"DELETE", "alice@example.com", "users", nil, 405},
	}
	for _, tc := range cases {
		w := f.do(t, tc.method, tc.user, root+tc.path, tc.form)
		if w.Code != tc.want {
			t.Errorf("%s %s as %q: %d, want %d\n%.300s", tc.method, tc.path, tc.user, w.Code, tc.want, w.Body.String())
		}
	}
	if s, _ := f.st.GetSession(t.Context(), "s-victim"); !s.RevokedAt.IsZero() {
		t.Error("a read-only or auditor post revoked the session")
	}
	// The auditor's navigation lists only what the role may open.
	body := f.do(t, "GET", "carl@example.com", root, nil).Body.String()
	if strings.Contains(body, root+"users") || !strings.Contains(body, root+"logs/access") {
		t.Errorf("auditor navigation:\n%s", body)
	}
}

// TestPagesAreSafe: every page is served with the console's CSP (no inline script), no-store
// and framing denied, and data is escaped (a user name holding markup shows as text).
func TestPagesAreSafe(t *testing.T) {
	f := newFixture(t, true)
	for p := range routes {
		if routes[p].get == nil {
			continue
		}
		target := root + p
		switch p {
		case "user":
			target += "?id=" + f.user.ID
		case "object", "objects/edit":
			target += "?kind=policies&id=admins"
		}
		w := f.do(t, "GET", "alice@example.com", target, nil)
		if w.Code != 200 {
			t.Errorf("%s: %d\n%.400s", p, w.Code, w.Body.String())
			continue
		}
		h := w.Header()
		if h.Get("Content-Security-Policy") != CSP || h.Get("Cache-Control") != "no-store" || h.Get("X-Frame-Options") != "DENY" {
			t.Errorf("%s: headers %v", p, h)
		}
		body := w.Body.String()
		if strings.Contains(body, "<script>alert") || strings.Contains(body, "<Org>") {
			t.Errorf("%s: unescaped data", p)
		}
		if strings.Contains(body, "<script>") || strings.Contains(body, " style=") || strings.Contains(body, "onclick") {
			t.Errorf("%s: inline script or style", p)
		}
	}
	if !strings.Contains(CSP, "frame-ancestors 'none'") || strings.Contains(CSP, "unsafe") {
		t.Errorf("CSP %q", CSP)
	}
	body := f.do(t, "GET", "alice@example.com", root+"users", nil).Body.String()
	if !strings.Contains(body, "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;") {
		t.Errorf("the user's name is not shown escaped:\n%s", body)
	}
}

// TestRevokeSession: an administrator's revocation needs the CSRF token and a fresh login,
// revokes the session, is audited with the administrator as actor, and returns to the page.
func TestRevokeSession(t *testing.T) {
	f := newFixture(t, true)
	form := url.Values{"user": {f.user.ID}, "session": {"s-victim"}, "back_query": {"id=" + f.user.ID}}
	target := root + "sessions/revoke?back=" + url.QueryEscape(root+"user")
	for _, bad := range []string{"", "tok:" + formPurpose + ":rita@example.com"} {
		form.Set("csrf", bad)
		if w := f.do(t, "POST", "alice@example.com", target, form); w.Code != http.StatusForbidden {
			t.Errorf("CSRF token %q: %d", bad, w.Code)
		}
	}
	if s, _ := f.st.GetSession(t.Context(), "s-victim"); !s.RevokedAt.IsZero() {
		t.Fatal("revoked without a valid CSRF token")
	}
	f.fresh = nil
	form.Set("csrf", "tok:"+formPurpose+":alice@example.com")
	w := f.do(t, "POST", "alice@example.com", target, form)
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != root+"user?done=session-revoked&id="+f.user.ID {
		t.Fatalf("revoke: %d %s", w.Code, w.Header().Get("Location"))
	}
	if len(f.fresh) != 1 || !f.fresh[0].AuthAfter.Equal(f.now.Add(-DefaultFreshLogin)) {
		t.Errorf("a revocation asked for freshness %v, want a login after %v", f.fresh, f.now.Add(-DefaultFreshLogin))
	}
	if s, _ := f.st.GetSession(t.Context(), "s-victim"); s.RevokedAt.IsZero() {
		t.Error("the session was not revoked")
	}
	events, err := f.st.(store.AuditLog).ListAuditEvents(t.Context(), store.AuditQuery{Action: admin.ActionRevokeSession})
	if err != nil || len(events) != 1 || events[0].Actor != "alice@example.com" || events[0].ActorType != store.ActorUser {
		t.Errorf("audit %+v %v", events, err)
	}
	// A post's return path is a console page, never elsewhere.
	form.Set("session", "s-admin")
	for _, back := range []string{"https://evil.example/", "//evil.example/", root + "../x", root + "users?x=1"} {
		w := f.do(t, "POST", "alice@example.com", root+"sessions/revoke?back="+url.QueryEscape(back), url.Values{"csrf": form["csrf"], "user": {f.user.ID}, "session": {"s-victim"}})
		if loc := w.Header().Get("Location"); w.Code != http.StatusSeeOther || loc != root+"?done=session-revoked" {
			t.Errorf("back %q: %d to %q, want the overview", back, w.Code, loc)
		}
	}
	// Reading a page asks for no freshness; syncing an MCP server is not sensitive.
	f.fresh = nil
	f.do(t, "GET", "alice@example.com", root+"users", nil)
	f.do(t, "POST", "alice@example.com", root+"mcp/sync", url.Values{"csrf": form["csrf"], "server": {"x"}})
	for _, fr := range f.fresh {
		if !fr.AuthAfter.IsZero() {
			t.Errorf("a page view or a sync asked for a fresh login: %v", f.fresh)
		}
	}
}

// TestFreshNotice: the pages of an administrator whose login is older than FreshLogin say that
// sensitive changes will ask for a new sign-in.
func TestFreshNotice(t *testing.T) {
	f := newFixture(t, true)
	if body := f.do(t, "GET", "alice@example.com", root+"users", nil).Body.String(); strings.Contains(body, "need a sign-in within") {
		t.Error("a fresh login is told to sign in again")
	}
	f.now = f.now.Add(6 * time.Minute)
	if body := f.do(t, "GET", "alice@example.com", root+"users", nil).Body.String(); !strings.Contains(body, "need a sign-in within the last 5 minutes") {
		t.Error("a stale login is not told that changes need a new sign-in")
	}
	if body := f.do(t, "GET", "rita@example.com", root+"users", nil).Body.String(); strings.Contains(body, "need a sign-in within") {
		t.Error("a read-only user is told about changes they cannot make")
	}
}

// TestNoConsoleApplication: without an admin_console application nobody may use the console.
func TestNoConsoleApplication(t *testing.T) {
	f := newFixture(t, false)
	if w := f.do(t, "GET", "alice@example.com", root, nil); w.Code != http.StatusForbidden || !strings.Contains(w.Body.String(), "admin_console") {
		t.Errorf("without the application: %d %s", w.Code, w.Body.String())
	}
}

// TestAssets: the stylesheet and script are served with their types and the console's CSP;
// nothing else under assets/.
func TestAssets(t *testing.T) {
	f := newFixture(t, true)
	for name, ct := range map[string]string{"console.css": "text/css; charset=utf-8", "promptlog.js": "text/javascript; charset=utf-8"} {
		w := f.do(t, "GET", "", root+"assets/"+name, nil)
		if w.Code != 200 || w.Header().Get("Content-Type") != ct || w.Header().Get("X-Content-Type-Options") != "nosniff" || w.Body.Len() == 0 {
			t.Errorf("%s: %d %v", name, w.Code, w.Header())
		}
	}
	for _, p := range []string{"assets/x.js", "assets/../console.go", "assets/", "assets/console.css/x"} {
		if w := f.do(t, "GET", "", root+p, nil); w.Code != http.StatusNotFound {
			t.Errorf("%s: %d", p, w.Code)
		}
	}
}

// TestCharts: labels are escaped inside the SVG, every value has a text alternative, and an
// empty chart says so.
func TestCharts(t *testing.T) {
	c := newBars("x", "Top <apps>", []bar{{Label: `<script>"&`, Value: 3}, {Label: "b", Value: 1}})
	s := string(c.SVG)
	if strings.Contains(s, "<script>") || !strings.Contains(s, "&lt;script&gt;&#34;&amp;") || !strings.Contains(s, `role="img"`) || !strings.Contains(s, "Top &lt;apps&gt;") {
		t.Errorf("bars: %s", s)
	}
	if e := string(newColumns("y", "Days", nil).SVG); !strings.Contains(e, "No data") {
		t.Errorf("empty columns: %s", e)
	}
}

func TestParseWhen(t *testing.T) {
	now := time.Date(2030, 1, 10, 12, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"": {}, "7d": now.AddDate(0, 0, -7), "36h": now.Add(-36 * time.Hour), "2030-01-01": time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC),
		"2030-01-02T03:04:05Z": time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC),
	} {
		if got, err := parseWhen(in, now); err != nil || !got.Equal(want) {
			t.Errorf("parseWhen(%q) = %v, %v", in, got, err)
		}
	}
	for _, in := range []string{"yesterday", "-5h", "99999d", "7x"} {
		if _, err := parseWhen(in, now); err == nil {
			t.Errorf("parseWhen(%q) accepted", in)
		}
	}
}

// fakeMCP is the MCP portal's administration with one server whose tools changed.
type fakeMCP struct {
	synced, approved []string
}

func (m *fakeMCP) Servers(context.Context) ([]admin.MCPServerInfo, error) {
	return []admin.MCPServerInfo{{ID: "wiki", Name: "Wiki <tools>", URL: "https://wiki.example.com/mcp", Status: "tools_changed",
		ToolsChanged: true, Held: true, ToolCount: 2, ToolNames: []string{"search", "edit"}}}, nil
}
func (m *fakeMCP) Server(_ context.Context, id string) (*admin.MCPServerInfo, error) {
	return nil, fmt.Errorf("%w: no server %q", admin.ErrNotFound, id)
}
func (m *fakeMCP) Sync(_ context.Context, id string) (*admin.MCPServerInfo, error) {
	m.synced = append(m.synced, id)
	return &admin.MCPServerInfo{ID: id}, nil
}
func (m *fakeMCP) ApproveTools(_ context.Context, id string) (*admin.MCPServerInfo, error) {
	if id != "wiki" {
		return nil, fmt.Errorf("%w: server %q was never synced", admin.ErrConflict, id)
	}
	m.approved = append(m.approved, id)
	return &admin.MCPServerInfo{ID: id}, nil
}
func (m *fakeMCP) Authorize(_ context.Context, id string) (*admin.MCPAuthorization, error) {
	return nil, fmt.Errorf("%w: mcp server %q does not use oauth", admin.ErrInvalid, id)
}

func (m *fakeMCP) Portals(context.Context) ([]admin.MCPPortalInfo, error) {
	return []admin.MCPPortalInfo{{MCPPortal: store.MCPPortal{ID: "agents", Name: "Agents", Servers: []store.MCPPortalServer{{ServerID: "wiki"}}},
		Endpoint: "/.gatehouse/mcp/agents"}}, nil
}
func (m *fakeMCP) CallLogs(context.Context, admin.MCPCallLogQuery) ([]store.MCPCallLog, string, error) {
	return []store.MCPCallLog{{ID: 9, PortalID: "agents", ServerID: "wiki", Method: "tools/call", Capability: "search", UserEmail: "bob@example.com",
		Decision: "block", Reason: "dlp-blocked"}}, "8", nil
}

// TestMCPPage: the MCP page lists servers (escaped) and portals; an administrator syncs a
// server (no fresh login needed) and approves its changed tools (a fresh login needed, and a
// conflict shown with the service's text), each audited; the MCP log pages with its cursor.
func TestMCPPage(t *testing.T) {
	f := newFixture(t, true)
	m := &fakeMCP{}
	f.c.Admin.MCP = m
	body := f.do(t, "GET", "alice@example.com", root+"mcp", nil).Body.String()
	for _, want := range []string{"Wiki &lt;tools&gt;", "search, edit", "Approve current tools of Wiki &lt;tools&gt;", "https://auth.example.com/.gatehouse/mcp/agents"} {
		if !strings.Contains(body, want) {
			t.Errorf("MCP page lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(f.do(t, "GET", "rita@example.com", root+"mcp", nil).Body.String(), "Approve current tools") {
		t.Error("a read-only user is offered the approval")
	}
	csrf := "tok:" + formPurpose + ":alice@example.com"
	f.fresh = nil
	if w := f.do(t, "POST", "alice@example.com", root+"mcp/sync?back="+url.QueryEscape(root+"mcp"), url.Values{"csrf": {csrf}, "server": {"wiki"}}); w.Code != http.StatusSeeOther || w.Header().Get("Location") != root+"mcp?done=mcp-synced" {
		t.Errorf("sync: %d %s", w.Code, w.Header().Get("Location"))
	}
	if w := f.do(t, "POST", "alice@example.com", root+"mcp/approve?back="+url.QueryEscape(root+"mcp"), url.Values{"csrf": {csrf}, "server": {"wiki"}}); w.Code != http.StatusSeeOther {
		t.Errorf("approve: %d", w.Code)
	}
	if len(f.fresh) != 2 || !f.fresh[0].AuthAfter.IsZero() || f.fresh[1].AuthAfter.IsZero() {
		t.Errorf("freshness asked: %v (sync none, approval a fresh login)", f.fresh)
	}
	w := f.do(t, "POST", "alice@example.com", root+"mcp/approve", url.Values{"csrf": {csrf}, "server": {"other"}})
	if w.Code != http.StatusConflict || !strings.Contains(w.Body.String(), "Server &#34;other&#34; was never synced.") {
		t.Errorf("approve a server never synced: %d\n%s", w.Code, w.Body.String())
	}
	if strings.Join(m.synced, ",") != "wiki" || strings.Join(m.approved, ",") != "wiki" {
		t.Errorf("synced %v approved %v", m.synced, m.approved)
	}
	events, _ := f.st.(store.AuditLog).ListAuditEvents(t.Context(), store.AuditQuery{Actor: "alice@example.com"})
	var actions []string
	for _, e := range events {
		actions = append(actions, e.Action+"/"+e.Result)
	}
	if got := strings.Join(actions, " "); got != "mcp_server.approve_tools/failure mcp_server.approve_tools/success mcp_server.sync/success" {
		t.Errorf("audit: %s", got)
	}
	body = f.do(t, "GET", "carl@example.com", root+"logs/mcp?decision=block", nil).Body.String()
	if !strings.Contains(body, "dlp-blocked") || !strings.Contains(body, "cursor=8") {
		t.Errorf("MCP log:\n%s", body)
	}
}

// TestPolicyTester: the tester evaluates the published policies of an application for a user
// and shows the deciding policy and the reasons; a read-only user may use it, an auditor not.
func TestPolicyTester(t *testing.T) {
	f := newFixture(t, true)
	for _, tc := range []struct{ user, email, want string }{
		{"alice@example.com", "carl@example.com", "by policy <code>auditors</code>"},
		{"rita@example.com", "mallory@example.com", "Refused</strong>"},
	} {
		w := f.do(t, "GET", tc.user, root+"access?app=console&email="+url.QueryEscape(tc.email)+"&country=de&ip=192.0.2.1", nil)
		if w.Code != 200 || !strings.Contains(w.Body.String(), tc.want) {
			t.Errorf("%s tests %s: %d, want %q\n%s", tc.user, tc.email, w.Code, tc.want, w.Body.String())
		}
	}
	if w := f.do(t, "GET", "alice@example.com", root+"access?app=console&email=x&ip=not-an-ip", nil); w.Code != http.StatusBadRequest {
		t.Errorf("a bad address: %d", w.Code)
	}
	if w := f.do(t, "GET", "alice@example.com", root+"access?app=nope&email=a@example.com", nil); w.Code != http.StatusBadRequest {
		t.Errorf("an unknown application: %d", w.Code)
	}
	if w := f.do(t, "GET", "carl@example.com", root+"access", nil); w.Code != http.StatusForbidden {
		t.Errorf("auditor at the applications page: %d", w.Code)
	}
}

// TestRevokeDeviceAndUser: an administrator revokes a gateway device from the devices page and
// then every session, token and device of a user from the user page; both are audited.
func TestRevokeDeviceAndUser(t *testing.T) {
	f := newFixture(t, true)
	devs := f.st.(store.GatewayDevices)
	const devID = "6f1c2b7e-3d4a-4c5b-9e8f-0a1b2c3d4e5f"
	for _, id := range []string{devID, "0b9a8c7d-6e5f-4a3b-8c2d-1e0f9a8b7c6d"} {
		if err := devs.CreateGatewayDevice(t.Context(), &store.GatewayDevice{ID: id, UserID: f.user.ID, Name: "Laptop " + id[:4], SecretSHA256: strings.Repeat("0", 64)}); err != nil {
			t.Fatal(err)
		}
	}
	body := f.do(t, "GET", "alice@example.com", root+"devices?q=victim", nil).Body.String()
	if !strings.Contains(body, devID) || !strings.Contains(body, "Revoke") {
		t.Fatalf("devices page:\n%s", body)
	}
	csrf := "tok:" + formPurpose + ":alice@example.com"
	w := f.do(t, "POST", "alice@example.com", root+"devices/revoke?back="+url.QueryEscape(root+"devices"), url.Values{"csrf": {csrf}, "device": {devID}, "back_query": {"q=victim"}})
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != root+"devices?done=device-revoked&q=victim" {
		t.Fatalf("revoke device: %d %s", w.Code, w.Header().Get("Location"))
	}
	if d, _ := devs.GetGatewayDevice(t.Context(), devID); d.RevokedAt.IsZero() {
		t.Error("the device was not revoked")
	}
	if body := f.do(t, "GET", "alice@example.com", root+"devices?state=active", nil).Body.String(); strings.Contains(body, devID) {
		t.Error("the revoked device is listed as active")
	}
	w = f.do(t, "POST", "alice@example.com", root+"users/revoke?back="+url.QueryEscape(root+"user"), url.Values{"csrf": {csrf}, "user": {f.user.ID}, "back_query": {"id=" + f.user.ID}})
	if w.Code != http.StatusSeeOther {
		t.Fatalf("revoke user: %d", w.Code)
	}
	if s, _ := f.st.GetSession(t.Context(), "s-victim"); s.RevokedAt.IsZero() {
		t.Error("the user's session was not revoked")
	}
	list, _ := devs.ListGatewayDevices(t.Context(), f.user.ID)
	for _, d := range list {
		if d.RevokedAt.IsZero() {
			t.Errorf("device %s not revoked with its user", d.ID)
		}
	}
	events, _ := f.st.(store.AuditLog).ListAuditEvents(t.Context(), store.AuditQuery{Actor: "alice@example.com", Result: store.AuditSuccess})
	var actions []string
	for _, e := range events {
		actions = append(actions, e.Action)
	}
	if got := strings.Join(actions, " "); !strings.Contains(got, admin.ActionRevokeDevice) || !strings.Contains(got, admin.ActionRevokeUserSessions) {
		t.Errorf("audit: %s", got)
	}
}

// FuzzBackPath: whatever a post's back parameter, it returns to a console page.
func FuzzBackPath(f *testing.F) {
	for _, s := range []string{"", root, root + "users", root + "user", "//evil.example/", root + "../x", root + "users\\x", "https://x/" + root, root + "users?x"} {
		f.Add(s)
	}
	snap, err := snapshot.Compile(&store.Config{Version: 1, Organization: store.Organization{AuthDomain: "auth.example.com"}}, snapshot.Options{})
	if err != nil {
		f.Fatal(err)
	}
	c := &Console{}
	f.Fuzz(func(t *testing.T, back string) {
		got := c.backPath(snap, back)
		p, ok := strings.CutPrefix(got, root)
		if _, known := routes[p]; !ok || !known || strings.ContainsAny(p, "?#\\") {
			t.Fatalf("backPath(%q) = %q", back, got)
		}
	})
}

// FuzzParseWhen: the time filter never panics, and what it accepts is a time.
func FuzzParseWhen(f *testing.F) {
	for _, s := range []string{"", "7d", "36h", "2030-01-01", "2030-01-02T03:04:05Z", "-1h", "9999999999d"} {
		f.Add(s)
	}
	now := time.Date(2030, 1, 10, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		got, err := parseWhen(s, now)
		if err == nil && strings.TrimSpace(s) != "" && got.IsZero() {
			t.Fatalf("parseWhen(%q) accepted a zero time", s)
		}
	})
}

// TestIdentitiesPageShowsNoSecrets: the identity providers and service tokens page lists them
// with the IdP test link, and never their configuration's secrets or the tokens' hashes.
func TestIdentitiesPageShowsNoSecrets(t *testing.T) {
	f := newFixture(t, true)
	const secret, hash = "oidc-client-secret-never-shown", "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
	if _, err := f.st.UpdateConfig(t.Context(), func(c *store.Config) error {
		c.Organization = store.Organization{Name: "Example", AuthDomain: "auth.example.com"}
		c.IdentityProviders = []store.IdentityProvider{{ID: "okta", Name: "Okta", Type: store.IdPOIDC,
			Config: map[string]any{"client_id": "gh", "client_secret": secret}, SCIMConfig: &store.SCIMConfig{Enabled: true}}}
		c.ServiceTokens = []store.ServiceToken{{ID: "ci", Name: "CI", ClientID: "ci.example", ClientSecretSHA256: hash, ExpiresAt: f.now.Add(-time.Hour)}}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	body := f.do(t, "GET", "rita@example.com", root+"identities", nil).Body.String()
	for _, want := range []string{"Okta", "/.gatehouse/test-idp/okta", "provisioning on", "ci.example", "expired"} {
		if !strings.Contains(body, want) {
			t.Errorf("identities page lacks %q", want)
		}
	}
	if strings.Contains(body, secret) || strings.Contains(body, hash) {
		t.Error("the identities page shows a secret")
	}
}

// TestReportsCountEveryRow: the AI security and Access reports count every entry of the period
// from the rollups, beyond the 1,000 rows a log listing returns, and say nothing of a limit.
func TestReportsCountEveryRow(t *testing.T) {
	f := newFixture(t, true)
	ctx := t.Context()
	st := f.st.(interface {
		store.PromptLogs
		store.MCP
	})
	prompts := make([]store.PromptLog, 1500)
	calls := make([]store.MCPCallLog, 1200)
	for i := range prompts {
		prompts[i] = store.PromptLog{Time: f.now.Add(-time.Duration(i) * time.Minute), UserEmail: "mallory@example.com", PolicyAction: "block",
			Topics: []store.PromptLogTopic{{ID: "intent_jailbreak", Confidence: "high"}}, PayloadEnc: []byte{2}}
	}
	for i := range calls {
		calls[i] = store.MCPCallLog{Time: f.now.Add(-time.Duration(i) * time.Minute), PortalID: "p", ServerID: "github", Method: "tools/call", Decision: "block"}
	}
	if err := st.AppendPromptLogs(ctx, prompts); err != nil {
		t.Fatal(err)
	}
	if err := st.AppendMCPCallLogs(ctx, calls); err != nil {
		t.Fatal(err)
	}
	for i := range 7 {
		e := store.AuthEvent{Time: f.now.Add(-time.Duration(i) * time.Hour), Action: "login", Allowed: i < 3, IdPID: "okta", AppID: "wiki"}
		if !e.Allowed {
			e.Reasons = []string{"country_blocked"}
		}
		if err := f.st.AppendAuthEvent(ctx, &e); err != nil {
			t.Fatal(err)
		}
	}
	body := f.do(t, "GET", "alice@example.com", root+"reports/ai?since=7d", nil).Body.String()
	for _, want := range []string{"1,500 captured prompts and 1,200 MCP requests", "mallory@example.com"} {
		if !strings.Contains(body, want) {
			t.Errorf("AI report lacks %q", want)
		}
	}
	body = f.do(t, "GET", "alice@example.com", root+"reports/access?since=7d", nil).Body.String()
	if !strings.Contains(body, "3 allowed and 4 refused") || !strings.Contains(body, "country_blocked") {
		t.Errorf("Access report lacks the counts:\n%s", body)
	}
	if strings.Contains(body, "newest") {
		t.Error("the Access report still speaks of the newest rows")
	}
}
