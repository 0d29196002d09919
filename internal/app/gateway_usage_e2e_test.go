package app_test

import (
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/admin"
	"github.com/gatehouse/gatehouse/internal/gateway/applib"
	"github.com/gatehouse/gatehouse/internal/gateway/usage"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse/gatehouse/internal/testenv"
)

// TestGatewayUsageReport: requests of two service tokens through the running gateway end up in
// the Shadow-AI report of the admin API, with the bytes the log lines give and exact unique
// users per application.
func TestGatewayUsageReport(t *testing.T) {
	plain := newOrigin(t)
	secure := newOrigin(t, "chatgpt.com")
	const secret2 = "fedcba9876543210fedcba9876543210-second"
	e := testenv.StartGateway(t, testenv.DefaultConfig+fmt.Sprintf(`service_tokens:
  - {id: ci, client_id: %s, client_secret: %q}
  - {id: ci2, client_id: ci2.gateway, client_secret: %q}
gateway:
  hosts: {app.example.com: 127.0.0.1, chatgpt.com: 127.0.0.1}
  allowed_private_networks: [127.0.0.0/8]
`, gwClientID, gwSecret, secret2))
	roots := x509.NewCertPool()
	roots.AddCert(secure.TLS.Certificates[0].Leaf)
	client := proxyClient(t, e, roots)
	second := proxyClient(t, e, roots)
	second.Transport.(*http.Transport).Proxy = http.ProxyURL(&url.URL{Scheme: "http", Host: e.Gateway, User: url.UserPassword("ci2.gateway", secret2)})

	get := func(c *http.Client, method, u, body string) {
		t.Helper()
		req, _ := http.NewRequest(method, u, strings.NewReader(body))
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s %s: %d", method, u, resp.StatusCode)
		}
	}
	chatgptURL := "https://chatgpt.com:" + port(t, secure.URL) + "/backend-api/conversation"
	get(client, http.MethodPost, chatgptURL, `{"prompt":"hello"}`)
	get(second, http.MethodGet, chatgptURL, "")
	get(client, http.MethodPost, "http://app.example.com:"+port(t, plain.URL)+"/x", "0123456789")
	client.Transport.(*http.Transport).CloseIdleConnections() // end the tunnels, which logs them
	second.Transport.(*http.Transport).CloseIdleConnections()

	// The log lines say what the report must sum.
	var tunnels []map[string]any
	deadline := time.Now().Add(5 * time.Second)
	for {
		tunnels = tunnels[:0]
		for _, l := range gatewayLogLines(t, e) {
			if l["outcome"] == "tunnel" {
				tunnels = append(tunnels, l)
			}
		}
		if len(tunnels) == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("want two tunnel log lines:\n%s", e.Logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	chatgpt := applib.MustDefault().Lookup("chatgpt.com")[0].App
	var up, down int64
	for _, l := range tunnels {
		if l["app_id"] != float64(chatgpt.ID) || l["app_status"] != "unreviewed" {
			t.Errorf("tunnel log line without the application: %v", l)
		}
		up += int64(l["bytes_up"].(float64))
		down += int64(l["bytes_down"].(float64))
	}

	_, token, err := (&admin.Service{Store: e.G.Store}).CreateAdminToken(t.Context(), admin.CLIActor, "e2e")
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, e.URL("auth.localhost", "/api/v1/gateway/report?since=2d"), nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, body := e.NewBrowser().Do(t, req)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("report: %d %s", resp.StatusCode, body)
	}
	var env struct {
		Result usage.Report `json:"result"`
	}
	if err := json.Unmarshal([]byte(body), &env); err != nil {
		t.Fatal(err)
	}
	rep := env.Result
	var unreviewed usage.StatusUsage
	for _, s := range rep.Statuses {
		if s.Status == "unreviewed" {
			unreviewed = s
		}
	}
	if unreviewed.AppCount != 2 || len(unreviewed.Apps) != 2 {
		t.Fatalf("unreviewed applications: %+v", unreviewed)
	}
	var app, unknown usage.AppUsage
	for _, a := range unreviewed.Apps {
		switch a.ID {
		case chatgpt.ID:
			app = a
		case 0:
			unknown = a
		}
	}
	if app.Name != chatgpt.Name || !app.AI || app.Requests != 2 || app.Users != 2 || app.BytesUp != up || app.BytesDown != down {
		t.Errorf("ChatGPT in the report: %+v; want 2 requests, 2 users, %d bytes up, %d down", app, up, down)
	}
	if unknown.Requests != 1 || unknown.Users != 1 || unknown.BytesUp != 10 || unknown.BytesDown == 0 {
		t.Errorf("unknown hosts in the report: %+v", unknown)
	}
	// One day, or two when the test ran across midnight UTC.
	if n := len(rep.Days); n < 1 || n > 2 || rep.Days[n-1].Users < 1 || rep.Totals.Requests != 3 || rep.Totals.BytesUp != up+10 ||
		(n == 1 && rep.Days[0].Users != 2) {
		t.Errorf("days %+v totals %+v", rep.Days, rep.Totals)
	}
}

// TestGatewayUsageFlushedAtShutdown: counts not yet written when the server stops (the flush
// interval is an hour) reach the store during shutdown.
func TestGatewayUsageFlushedAtShutdown(t *testing.T) {
	plain := newOrigin(t)
	e := testenv.StartGateway(t, gatewayConfig(`gateway:
  hosts: {app.example.com: 127.0.0.1}
  allowed_private_networks: [127.0.0.0/8]
  usage: {flush_interval: 1h}
`))
	client := proxyClient(t, e, nil)
	resp, err := client.Post("http://app.example.com:"+port(t, plain.URL)+"/", "text/plain", strings.NewReader("12345"))
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	deadline := time.Now().Add(5 * time.Second)
	for len(gatewayLogLines(t, e)) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no log line")
		}
		time.Sleep(10 * time.Millisecond)
	}
	e.Stop()

	st, err := sqlstore.Open(t.Context(), "sqlite", "file:"+filepath.Join(e.Dir, "gatehouse.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	sum, err := st.GatewayUsageSince(t.Context(), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(sum.Rows) != 1 || sum.Rows[0].Requests != 1 || sum.Rows[0].BytesUp != 5 || sum.AppUsers[0] != 1 {
		t.Errorf("usage after shutdown: %+v", sum)
	}
}
