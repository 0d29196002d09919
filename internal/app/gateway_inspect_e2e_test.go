package app_test

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/testenv"
)

// inspectedGateway starts a gateway whose configuration has HTTP policies, a review status and
// a TLS origin named chatgpt.com (trusted through gateway.upstream_ca_files), activates a
// gateway CA with the CLI's code and returns the CA's PEM and the origin.
func inspectedGateway(t *testing.T) (*testenv.Env, []byte, *origin) {
	t.Helper()
	o := newOrigin(t, "chatgpt.com")
	dir := t.TempDir()
	originPEM := filepath.Join(dir, "origin.pem")
	if err := os.WriteFile(originPEM, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: o.TLS.Certificates[0].Certificate[0]}), 0o600); err != nil {
		t.Fatal(err)
	}
	e := testenv.StartGateway(t, gatewayConfig(fmt.Sprintf(`gateway:
  hosts: {chatgpt.com: 127.0.0.1}
  allowed_private_networks: [127.0.0.0/8]
  upstream_ca_files: [%q]
  app_reviews: {ChatGPT: unapproved}
  rules:
    - id: no-uploads
      name: No uploads to unapproved AI
      precedence: 10
      enabled: true
      action: block
      traffic: any(app.statuses[*] == "unapproved") and http.request.uri.path == "/upload"
      rule_settings: {block_page_enabled: true, block_reason: Use the approved assistant.}
    - id: workspace
      name: ChatGPT workspace
      precedence: 20
      enabled: true
      action: allow
      traffic: any(http.request.domains[*] == "chatgpt.com")
      rule_settings:
        add_headers: {ChatGPT-Allowed-Workspace-Id: [ws-42]}
`, originPEM)))
	return e, activateGatewayCA(t, e), o
}

// activateGatewayCA generates and activates a gateway CA with the CLI's code, tells the
// running gateway, and returns the CA's PEM.
func activateGatewayCA(t *testing.T, e *testenv.Env) []byte {
	t.Helper()
	cfg, err := config.Load(filepath.Join(e.Dir, "gatehouse.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cas, err := app.OpenGatewayCA(t.Context(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer cas.Close()
	info, err := cas.Generate(t.Context(), "", true)
	if err != nil {
		t.Fatal(err)
	}
	caPEM, err := cas.Export(t.Context(), info.ID)
	if err != nil {
		t.Fatal(err)
	}
	// The CLI's change reaches the running gateway as a key change.
	e.G.Reload(t.Context(), store.Change{Keys: true})
	return caPEM
}

// TestGatewayInspection: with a CA activated, a Go client with the CA installed gets its
// HTTPS requests to chatgpt.com decrypted: the allow rule's tenant header reaches the origin,
// the block rule answers the block page inside TLS, and each request has a log line naming
// the rule.
func TestGatewayInspection(t *testing.T) {
	e, caPEM, o := inspectedGateway(t)
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(caPEM)
	client := proxyClient(t, e, roots)
	url := "https://chatgpt.com:" + port(t, o.URL)
	resp, err := client.Get(url + "/c/new")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(string(body), "hello from chatgpt.com") {
		t.Fatalf("allowed: %d %q", resp.StatusCode, body)
	}
	if seen, _ := o.seen(); seen.Header.Get("ChatGPT-Allowed-Workspace-Id") != "ws-42" {
		t.Errorf("origin saw workspace %q", seen.Header.Get("ChatGPT-Allowed-Workspace-Id"))
	}
	req, _ := http.NewRequest("POST", url+"/upload", strings.NewReader("secret"))
	req.Header.Set("Accept", "text/html")
	resp, err = client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 403 || !strings.Contains(string(body), "Use the approved assistant.") {
		t.Fatalf("blocked: %d %q", resp.StatusCode, body)
	}
	var decided []string
	for _, l := range gatewayLogLines(t, e) {
		if l["kind"] == "https" {
			decided = append(decided, fmt.Sprintf("%v/%v/%v", l["rule_id"], l["action"], l["app_status"]))
		}
	}
	if strings.Join(decided, " ") != "workspace/allow/unapproved no-uploads/block/unapproved" {
		t.Errorf("decrypted requests logged as %v", decided)
	}
}

// TestInteropCurlThroughInspection: curl with --cacert the gateway CA, through the proxy with
// the service token, over HTTP/2 and HTTP/1.1.
func TestInteropCurlThroughInspection(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("curl is not installed")
	}
	e, caPEM, o := inspectedGateway(t)
	caFile := filepath.Join(t.TempDir(), "gateway-ca.pem")
	if err := os.WriteFile(caFile, caPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	url := "https://chatgpt.com:" + port(t, o.URL)
	run := func(args ...string) string {
		t.Helper()
		base := []string{"-sS", "--max-time", "15", "--proxy", "http://" + e.Gateway, "--proxy-user", gwClientID + ":" + gwSecret,
			"--cacert", caFile, "-w", "\n%{http_code} %{http_version}"}
		out, err := exec.Command(curl, append(base, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("curl %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	if out := run("--http2", url+"/c/new"); !strings.Contains(out, "hello from chatgpt.com") || !strings.HasSuffix(out, "200 2") {
		t.Errorf("curl --http2: %q", out)
	}
	if out := run("--http1.1", url+"/c/new"); !strings.HasSuffix(out, "200 1.1") {
		t.Errorf("curl --http1.1: %q", out)
	}
	if out := run("-H", "Accept: text/html", url+"/upload"); !strings.Contains(out, "Use the approved assistant.") || !strings.Contains(out, "403") {
		t.Errorf("curl block page: %q", out)
	}
	if out := run(url + "/upload"); !strings.Contains(out, `"rule_id":"no-uploads"`) {
		t.Errorf("curl JSON block: %q", out)
	}
	_ = tls.VersionTLS13
}
