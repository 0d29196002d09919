package app_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/admin"
	"github.com/gatehouse/gatehouse/internal/scim"
	"github.com/gatehouse/gatehouse/internal/testenv"
)

// TestDatabaseOutageFailsClosed takes PostgreSQL away from a running Gatehouse (through a relay
// the test cuts): what needs the store fails closed with 503, sessions this replica already
// verified keep working (the documented choice), readiness fails, and everything recovers
// without a restart when the database returns.
func TestDatabaseOutageFailsClosed(t *testing.T) {
	dsn := testenv.PostgresDSN(t)
	u, _ := url.Parse(dsn)
	fwd := testenv.NewForwarder(t, u.Host)
	u.Host = fwd.Addr
	body := strings.Replace(testenv.DefaultConfig, "type: onetimepin}", "type: onetimepin, scim_config: {enabled: true, user_deprovision: true}}", 1)
	c := testenv.StartCluster(t, 1, body, `storage: {driver: postgres, dsn: "`+u.String()+`"}`)
	e := c.Replicas[0]
	scimSecret, err := scim.RotateSecret(t.Context(), e.G.Store, "pin")
	if err != nil {
		t.Fatal(err)
	}
	adminSvc := &admin.Service{Store: e.G.Store, Audit: e.G.Authn.Audit}
	_, adminToken, err := adminSvc.CreateAdminToken(t.Context(), admin.CLIActor, "ops")
	if err != nil {
		t.Fatal(err)
	}
	b := e.NewBrowser()
	if resp, body := b.Login(t, e.URL("app.localhost", "/"), "alice@example.com"); resp.StatusCode != http.StatusOK {
		t.Fatalf("login: %d %s", resp.StatusCode, body)
	}

	fwd.Cut()
	if resp, _ := b.Get(t, e.URL("app.localhost", "/during")); resp.StatusCode != http.StatusOK {
		t.Errorf("an already verified session during the outage: %d, want 200", resp.StatusCode)
	}
	fresh := e.NewBrowser()
	if resp, body := fresh.Get(t, e.URL("app.localhost", "/")); resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, "temporarily unavailable") {
		t.Errorf("a login during the outage: %d, want 503", resp.StatusCode)
	}
	if code := getStatus(t, "http://"+e.Internal+"/readyz"); code != http.StatusServiceUnavailable {
		t.Errorf("readyz during the outage: %d", code)
	}
	// SCIM and admin writes fail closed too.
	for name, req := range map[string]*http.Request{
		"SCIM create": authed(t, http.MethodPost, e.G.SCIM.BaseURL("pin")+"/Users", scimSecret,
			`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"zoe@example.com"}`),
		"admin revoke": authed(t, http.MethodPost, e.URL("auth.localhost", "/api/v1/apps/app/revoke_tokens"), adminToken, ""),
	} {
		if resp, _ := fresh.Do(t, req); resp.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("%s during the outage: %d, want 503", name, resp.StatusCode)
		}
	}

	fwd.Restore()
	deadline := time.Now().Add(10 * time.Second)
	for getStatus(t, "http://"+e.Internal+"/readyz") != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatal("not ready 10 s after the database returned")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if resp, body := e.NewBrowser().Login(t, e.URL("app.localhost", "/after"), "bob@example.com"); resp.StatusCode != http.StatusOK {
		t.Fatalf("login after the outage: %d %s", resp.StatusCode, body)
	}
}

// TestDatabaseHangFailsClosed: PostgreSQL hangs instead of refusing (a relay that swallows
// everything and answers nothing, on open and new connections): requests that need the store fail
// closed with 503 after storage.query_timeout instead of waiting (the browser gives up after
// 10 s, far above it), sessions this replica already verified keep working, and readiness
// reports the store within its own deadline.
func TestDatabaseHangFailsClosed(t *testing.T) {
	dsn := testenv.PostgresDSN(t)
	u, _ := url.Parse(dsn)
	fwd := testenv.NewForwarder(t, u.Host)
	u.Host = fwd.Addr
	body := strings.Replace(testenv.DefaultConfig, "type: onetimepin}", "type: onetimepin, scim_config: {enabled: true, user_deprovision: true}}", 1)
	c := testenv.StartCluster(t, 1, body, `storage: {driver: postgres, query_timeout: 500ms, dsn: "`+u.String()+`"}`)
	e := c.Replicas[0]
	scimSecret, err := scim.RotateSecret(t.Context(), e.G.Store, "pin")
	if err != nil {
		t.Fatal(err)
	}
	b := e.NewBrowser()
	if resp, body := b.Login(t, e.URL("app.localhost", "/"), "alice@example.com"); resp.StatusCode != http.StatusOK {
		t.Fatalf("login: %d %s", resp.StatusCode, body)
	}

	fwd.Hang()
	if resp, _ := b.Get(t, e.URL("app.localhost", "/during")); resp.StatusCode != http.StatusOK {
		t.Errorf("an already verified session while the database hangs: %d, want 200", resp.StatusCode)
	}
	fresh := e.NewBrowser()
	if resp, body := fresh.Get(t, e.URL("app.localhost", "/")); resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, "temporarily unavailable") {
		t.Errorf("a login while the database hangs: %d, want 503", resp.StatusCode)
	}
	req := authed(t, http.MethodPost, e.G.SCIM.BaseURL("pin")+"/Users", scimSecret,
		`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"zoe@example.com"}`)
	if resp, _ := fresh.Do(t, req); resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("SCIM create while the database hangs: %d, want 503", resp.StatusCode)
	}
	if code := getStatus(t, "http://"+e.Internal+"/readyz"); code != http.StatusServiceUnavailable {
		t.Errorf("readyz while the database hangs: %d", code)
	}
	if !strings.Contains(e.Logs.String(), "store not ready") {
		t.Error("no log line says the store is not ready")
	}
	if got := metricValue(t, e, "gatehouse_store_ready"); got != "0" {
		t.Errorf("gatehouse_store_ready = %q, want 0", got)
	}
}

// metricValue returns the value of an unlabelled metric on the internal listener.
func metricValue(t *testing.T, e *testenv.Env, name string) string {
	t.Helper()
	resp, err := http.Get("http://" + e.Internal + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			return v
		}
	}
	return ""
}

func authed(t *testing.T, method, u, bearer, body string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+bearer)
	req.Header.Set("Content-Type", "application/scim+json")
	return req
}

func getStatus(t *testing.T, u string) int {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestClusterReplicaKilledMidLogin: the replica that sent the PIN dies; the login completes on
// another replica and nothing is lost.
func TestClusterReplicaKilledMidLogin(t *testing.T) {
	c := testenv.StartCluster(t, 2, "", "")
	r0 := c.Replicas[0]
	b := r0.NewBrowser() // everything on replica 0 until it dies
	resp, page := b.Get(t, r0.URL("app.localhost", "/mid"))
	base := resp.Request.URL
	action, fields := testenv.Form(t, page)
	fields.Set("email", "dave@example.com")
	_, page = b.PostForm(t, base.ResolveReference(&url.URL{Path: action}).String(), fields)
	action, fields = testenv.Form(t, page)
	fields.Set("code", r0.PINs.Wait(t, "dave@example.com"))
	r0.Stop()

	// The same browser (its cookies) now reaches replica 1.
	moved := c.NewBrowser()
	moved.Jar = b.Jar
	resp, body := moved.PostForm(t, base.ResolveReference(&url.URL{Path: action}).String(), fields)
	if resp.StatusCode != http.StatusOK || decodeUpstream(t, body).Path != "/mid" {
		t.Fatalf("finishing the login on another replica: %d %s", resp.StatusCode, body)
	}
}
