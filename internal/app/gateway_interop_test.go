package app_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/chromedp"

	"github.com/gatehouse/gatehouse/internal/testenv"
	"github.com/gatehouse/gatehouse/internal/testenv/peers"
)

// nodeFetchPeer returns the Node binary and interop/node-fetch-proxy (undici). When they are
// missing the test is skipped, loudly, unless CI=true, where it fails.
func nodeFetchPeer(t *testing.T) (node, dir string) {
	t.Helper()
	return peers.Node(t, "node-fetch-proxy", "install-node-fetch-proxy.sh", false, "node_modules/undici/package.json")
}

// TestInteropNodeFetchThroughInspection: Node's fetch (undici with its ProxyAgent, the CA
// installed) through the gateway: an allowed request decrypted and forwarded with the tenant
// header, a blocked one answered with the JSON block inside TLS, and personal data in an upload
// blocked by DLP.
func TestInteropNodeFetchThroughInspection(t *testing.T) {
	node, dir := nodeFetchPeer(t)
	e, caPEM, o := inspectedGateway(t)
	caFile := filepath.Join(t.TempDir(), "gateway-ca.pem")
	if err := os.WriteFile(caFile, caPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	base := "https://chatgpt.com:" + port(t, o.URL)
	fetchAll := func(method, body string, urls ...string) []map[string]any {
		t.Helper()
		ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, node, "fetch.mjs")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "PROXY_URL=http://"+e.Gateway, "PROXY_AUTH="+gwClientID+":"+gwSecret,
			"CA_FILE="+caFile, "URLS="+strings.Join(urls, " "), "METHOD="+method, "BODY="+body)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("node fetch.mjs: %v\n%s", err, out)
		}
		var res []map[string]any
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			var m map[string]any
			if err := json.Unmarshal([]byte(line), &m); err != nil {
				t.Fatalf("node printed %q: %v", line, err)
			}
			res = append(res, m)
		}
		if len(res) != len(urls) {
			t.Fatalf("node answered %d results for %d URLs:\n%s", len(res), len(urls), out)
		}
		return res
	}
	res := fetchAll("", "", base+"/c/new", base+"/upload")
	if res[0]["status"] != 200.0 || !strings.HasPrefix(res[0]["body"].(string), "hello from chatgpt.com") {
		t.Errorf("allowed request: %v", res[0])
	}
	if seen, _ := o.seen(); seen.Header.Get("ChatGPT-Allowed-Workspace-Id") != "ws-42" {
		t.Errorf("origin saw workspace %q", seen.Header.Get("ChatGPT-Allowed-Workspace-Id"))
	}
	if res[1]["status"] != 403.0 || !strings.Contains(res[1]["body"].(string), `"rule_id":"no-uploads"`) {
		t.Errorf("blocked request: %v", res[1])
	}
}

// TestBrowserGatewayPAC: headless Chromium configured with the gateway's PAC file, the gateway
// CA installed in its NSS database (as an administrator would with certutil), and the proxy
// credentials answered when asked: the allowed page loads decrypted, the blocked one shows the
// block page.
func TestBrowserGatewayPAC(t *testing.T) {
	certutil, err := exec.LookPath("certutil")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("certutil is not installed; run scripts/install-test-deps.sh")
		}
		t.Skip("SKIPPED: certutil (libnss3-tools) is not installed; run scripts/install-test-deps.sh")
	}
	e, caPEM, o := inspectedGateway(t)
	home := t.TempDir()
	nss := filepath.Join(home, ".pki", "nssdb")
	if err := os.MkdirAll(nss, 0o700); err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(home, "gateway-ca.pem")
	if err := os.WriteFile(caFile, caPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"-N", "-d", "sql:" + nss, "--empty-password"},
		{"-A", "-d", "sql:" + nss, "-n", "Gatehouse gateway CA", "-t", "C,,", "-i", caFile},
	} {
		if out, err := exec.Command(certutil, args...).CombinedOutput(); err != nil {
			t.Fatalf("certutil %v: %v\n%s", args, err, out)
		}
	}
	ctx := testenv.NewChromium(t, 90*time.Second,
		chromedp.Env("HOME="+home),
		chromedp.Flag("proxy-pac-url", "http://"+e.Gateway+"/proxy.pac"))
	// Answer the proxy's 407 with the service token, and let every request through.
	if err := chromedp.Listen(ctx, func(ev any) {
		switch ev := ev.(type) {
		case *fetch.EventAuthRequired:
			go func() {
				_, _ = chromedp.Call(ctx, fetch.ContinueWithAuth, fetch.ContinueWithAuthParams{RequestID: ev.RequestID,
					AuthChallengeResponse: &fetch.AuthChallengeResponse{Response: fetch.AuthChallengeResponseResponseProvideCredentials,
						Username: gwClientID, Password: gwSecret}})
			}()
		case *fetch.EventRequestPaused:
			go func() {
				_, _ = chromedp.Call(ctx, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: ev.RequestID})
			}()
		}
	}); err != nil {
		t.Fatal(err)
	}
	base := "https://chatgpt.com:" + port(t, o.URL)
	handle := true
	if _, err := chromedp.Call(ctx, fetch.Enable, fetch.EnableParams{HandleAuthRequests: &handle}); err != nil {
		t.Fatal(err)
	}
	page := func(u string) string {
		t.Helper()
		if err := chromedp.Do(ctx, chromedp.Navigate(u)); err != nil {
			t.Fatalf("chromium through the gateway to %s: %v\ngateway log:\n%s", u, err, e.Logs.String())
		}
		text, err := chromedp.Run(ctx, chromedp.Text(`body`))
		if err != nil {
			t.Fatal(err)
		}
		return text
	}
	allowed, blocked := page(base+"/c/new"), page(base+"/upload")
	if !strings.Contains(allowed, "hello from chatgpt.com") {
		t.Errorf("allowed page: %q", allowed)
	}
	if !strings.Contains(blocked, "Use the approved assistant.") || !strings.Contains(blocked, "No uploads to unapproved AI") {
		t.Errorf("block page: %q", blocked)
	}
	var lines []string
	for _, l := range gatewayLogLines(t, e) {
		if l["kind"] == "https" {
			lines = append(lines, l["rule_id"].(string)+"/"+l["action"].(string))
		}
	}
	if !strings.Contains(strings.Join(lines, " "), "no-uploads/block") {
		t.Errorf("decrypted browser requests logged as %v", lines)
	}
}
