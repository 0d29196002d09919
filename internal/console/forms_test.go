package console

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/admin"
	"github.com/gatehouse/gatehouse/internal/store"
)

// oauthMCP is the MCP portal's administration with an oauth server whose sync needs the
// administrator's authorization and an unauthenticated one.
type oauthMCP struct {
	fakeMCP
	authorized []string
	authURL    string
}

func (m *oauthMCP) Servers(context.Context) ([]admin.MCPServerInfo, error) {
	return []admin.MCPServerInfo{
		{ID: "crm", Name: "CRM <tools>", URL: "https://crm.example.com/mcp", AuthType: store.MCPAuthOAuth, Status: "error",
			Error: &store.MCPSyncError{Type: store.MCPSyncErrorAuthorizationRequired, Message: "no grant"}},
		{ID: "wiki", Name: "Wiki", URL: "https://wiki.example.com/mcp", AuthType: store.MCPAuthUnauthenticated, Status: "ready"},
	}, nil
}

func (m *oauthMCP) Authorize(_ context.Context, id string) (*admin.MCPAuthorization, error) {
	if id != "crm" {
		return nil, fmt.Errorf("%w: mcp server %q does not use oauth", admin.ErrInvalid, id)
	}
	m.authorized = append(m.authorized, id)
	return &admin.MCPAuthorization{ServerID: id, AuthorizationURL: m.authURL, ExpiresAt: time.Date(2030, 1, 2, 3, 14, 5, 0, time.UTC)}, nil
}

// TestMCPAuthorize: the MCP page says which servers need authorization and offers an
// administrator (only) to authorize oauth servers; the authorization needs the CSRF token and a
// fresh login, is audited, and answers with a page that sends the browser to the authorization
// URL (a refresh and a link: the CSP's form-action forbids redirecting a post elsewhere); a
// server that does not use OAuth is refused with the service's text, and an authorization URL
// the console cannot open is never sent to the browser.
func TestMCPAuthorize(t *testing.T) {
	f := newFixture(t, true)
	m := &oauthMCP{authURL: "https://login.crm.example.com/oauth/authorize?client_id=gh&state=s1&code_challenge=c"}
	f.c.Admin.MCP = m
	body := f.do(t, "GET", "alice@example.com", root+"mcp", nil).Body.String()
	for _, want := range []string{"CRM &lt;tools&gt; needs authorization", "authorization required", "Authorize CRM &lt;tools&gt;", `action="` + root + `mcp/authorize`} {
		if !strings.Contains(body, want) {
			t.Errorf("MCP page lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, "Authorize Wiki") {
		t.Error("an unauthenticated server is offered an authorization")
	}
	if body := f.do(t, "GET", "rita@example.com", root+"mcp", nil).Body.String(); strings.Contains(body, "mcp/authorize") || !strings.Contains(body, "needs authorization") {
		t.Errorf("read-only MCP page:\n%s", body)
	}
	if body := f.do(t, "GET", "alice@example.com", root, nil).Body.String(); !strings.Contains(body, "CRM &lt;tools&gt; needs an administrator&#39;s authorization") {
		t.Errorf("the overview does not call attention to the server:\n%s", body)
	}
	csrf := "tok:" + formPurpose + ":alice@example.com"
	target := root + "mcp/authorize?back=" + url.QueryEscape(root+"mcp")
	if w := f.do(t, "POST", "rita@example.com", target, url.Values{"csrf": {"tok:" + formPurpose + ":rita@example.com"}, "server": {"crm"}}); w.Code != http.StatusForbidden {
		t.Errorf("read-only authorize: %d", w.Code)
	}
	if w := f.do(t, "POST", "alice@example.com", target, url.Values{"csrf": {"tok:" + formPurpose + ":rita@example.com"}, "server": {"crm"}}); w.Code != http.StatusForbidden {
		t.Errorf("authorize with another user's CSRF token: %d", w.Code)
	}
	if len(m.authorized) != 0 {
		t.Fatalf("authorized without the role or the CSRF token: %v", m.authorized)
	}
	f.fresh = nil
	w := f.do(t, "POST", "alice@example.com", target, url.Values{"csrf": {csrf}, "server": {"crm"}})
	if w.Code != http.StatusOK || strings.Join(m.authorized, ",") != "crm" {
		t.Fatalf("authorize: %d %v\n%s", w.Code, m.authorized, w.Body.String())
	}
	if len(f.fresh) != 1 || !f.fresh[0].AuthAfter.Equal(f.now.Add(-DefaultFreshLogin)) {
		t.Errorf("authorize asked for freshness %v, want a fresh login", f.fresh)
	}
	escaped := strings.ReplaceAll(m.authURL, "&", "&amp;")
	body = w.Body.String()
	if !strings.Contains(body, `<meta http-equiv="refresh" content="0; url=`+escaped+`">`) || !strings.Contains(body, `href="`+escaped+`"`) ||
		!strings.Contains(body, "login.crm.example.com") || w.Header().Get("Cache-Control") != "no-store" || w.Header().Get("Content-Security-Policy") != CSP {
		t.Errorf("authorize page: %v\n%s", w.Header(), body)
	}
	if strings.Contains(body, "<script") {
		t.Error("the authorize page has a script")
	}
	w = f.do(t, "POST", "alice@example.com", target, url.Values{"csrf": {csrf}, "server": {"wiki"}})
	if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "Mcp server &#34;wiki&#34; does not use oauth.") {
		t.Errorf("authorize a server without oauth: %d\n%s", w.Code, w.Body.String())
	}
	for _, bad := range []string{"javascript:alert(1)", "/relative", "https://user:pw@login.example.com/x", "data:text/html,x"} {
		m.authURL = bad
		w = f.do(t, "POST", "alice@example.com", target, url.Values{"csrf": {csrf}, "server": {"crm"}})
		if w.Code != http.StatusBadGateway || strings.Contains(w.Body.String(), bad) {
			t.Errorf("authorization URL %q: %d\n%s", bad, w.Code, w.Body.String())
		}
	}
	events, _ := f.st.(store.AuditLog).ListAuditEvents(t.Context(), store.AuditQuery{Action: admin.ActionAuthorizeMCPServer})
	var results []string
	for _, e := range events {
		results = append(results, e.TargetID+"/"+e.Result+"/"+e.Actor)
	}
	if got := strings.Join(results, " "); !strings.Contains(got, "crm/success/alice@example.com") || !strings.Contains(got, "wiki/failure/alice@example.com") {
		t.Errorf("audit: %s", got)
	}
}
