package app_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/admin"
	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/testenv"
)

// syncBuffer is a bytes.Buffer safe for the concurrent writes of a logger and reads of a test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitFor polls get until re matches, for at most 10s, and returns the submatches.
func waitFor(t *testing.T, what string, get func() string, re *regexp.Regexp) []string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if m := re.FindStringSubmatch(get()); m != nil {
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: no match for %s in:\n%s", what, re, get())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// localhostClient is a cookie-keeping browser that sends every *.localhost name to addr.
func localhostClient(t *testing.T, addr string) *http.Client {
	jar, _ := cookiejar.New(nil)
	tr := &http.Transport{DialContext: func(ctx context.Context, network, target string) (net.Conn, error) {
		if host, _, err := net.SplitHostPort(target); err == nil && strings.HasSuffix(host, ".localhost") {
			target = addr
		}
		return (&net.Dialer{}).DialContext(ctx, network, target)
	}}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Jar: jar, Transport: tr, Timeout: 10 * time.Second}
}

func browse(t *testing.T, c *http.Client, method, u string, form url.Values) (*http.Response, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, u, body)
	req.Header.Set("Accept", "text/html")
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// requestPIN opens the demo app with a fresh browser, checks the e-mail page and asks for a PIN
// for email; it returns the browser and the code form's page.
func requestPIN(t *testing.T, c *http.Client, appURL, email, wantHint string) (*http.Response, string) {
	t.Helper()
	resp, page := browse(t, c, http.MethodGet, appURL, nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, `name="email"`) {
		t.Fatalf("expected the e-mail form, got %d:\n%s", resp.StatusCode, page)
	}
	if wantHint != "" && !strings.Contains(page, wantHint) {
		t.Errorf("e-mail page lacks the hint %q:\n%s", wantHint, page)
	}
	if wantHint == "" && strings.Contains(page, `class="hint"`) {
		t.Errorf("e-mail page outside the demo has a hint:\n%s", page)
	}
	action, fields := testenv.Form(t, page)
	fields.Set("email", email)
	resp, page = browse(t, c, http.MethodPost, resp.Request.URL.ResolveReference(&url.URL{Path: action}).String(), fields)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, `name="code"`) {
		t.Fatalf("expected the code form, got %d:\n%s", resp.StatusCode, page)
	}
	return resp, page
}

// TestDemoAllowAndBuiltinOrigin runs `gatehouse demo --allow`: the e-mail page says who
// receives a PIN, an allowed own address gets its PIN in the log and reaches the built-in demo
// app (which verifies the JWT), and a request for any other address shows the same page but
// logs why no PIN came. Then the written configuration, copied elsewhere, serves the demo app
// on its own.
func TestDemoAllowAndBuiltinOrigin(t *testing.T) {
	dir := t.TempDir()
	var out, logs syncBuffer
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- app.RunDemo(ctx, app.DemoOptions{DataDir: filepath.Join(dir, "demo"), Listen: "127.0.0.1:0", Allow: []string{"Me@Mine.Test", "@corp.test"},
			LoadConfig: config.Load, Out: &out,
			Logger: func(*config.File) *slog.Logger { return slog.New(slog.NewTextHandler(&logs, nil)) }})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("the demo did not stop")
		}
		if t.Failed() {
			t.Logf("demo output:\n%s\nlog:\n%s", out.String(), logs.String())
		}
	})
	port := waitFor(t, "banner", out.String, regexp.MustCompile(`http://demo\.localhost:(\d+)/ `))[1]
	for _, want := range []string{"Only addresses @example.com, @corp.test and me@mine.test receive a PIN", "ssh -L " + port + ":127.0.0.1:" + port} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("banner lacks %q:\n%s", want, out.String())
		}
	}
	addr := "127.0.0.1:" + port
	appURL := "http://demo.localhost:" + port + "/"
	hint := `<p class="hint" role="note">Demo: only addresses @example.com, @corp.test and me@mine.test receive a PIN`

	me := localhostClient(t, addr)
	resp, page := requestPIN(t, me, appURL, "me@mine.test", hint)
	pin := waitFor(t, "PIN in the log", logs.String, regexp.MustCompile(`one-time PIN.*email=me@mine\.test pin=(\d+)`))[1]
	action, fields := testenv.Form(t, page)
	fields.Set("code", pin)
	resp, page = browse(t, me, http.MethodPost, resp.Request.URL.ResolveReference(&url.URL{Path: action}).String(), fields)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "Hello, me@mine.test") || !strings.Contains(page, "signature, issuer and audience verified") {
		t.Fatalf("after the PIN: %d, want the demo app with verified claims:\n%s", resp.StatusCode, page)
	}

	stranger := localhostClient(t, addr)
	requestPIN(t, stranger, appURL, "someone@elsewhere.test", hint)
	waitFor(t, "refusal in the log", logs.String, regexp.MustCompile(`demo: no PIN sent.*email=someone@elsewhere\.test`))
	if strings.Contains(logs.String(), "pin=") && regexp.MustCompile(`one-time PIN.*email=someone@elsewhere\.test`).MatchString(logs.String()) {
		t.Error("a PIN was sent to an address the demo does not admit")
	}

	// Stop the demo and serve a copy of its configuration from elsewhere.
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("demo: %v", err)
	}
	done <- nil // for the cleanup
	body, err := os.ReadFile(filepath.Join(dir, "demo", "gatehouse.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	copyFile := filepath.Join(dir, "copy", "my.yaml")
	if err := os.MkdirAll(filepath.Dir(copyFile), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(copyFile, body, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(copyFile)
	if err != nil {
		t.Fatal(err)
	}
	sctx, stop := context.WithCancel(t.Context())
	defer stop()
	g, err := app.New(sctx, cfg, app.Options{Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	ready := make(chan string, 1)
	served := make(chan error, 1)
	go func() { served <- g.Run(sctx, func(pub, _ net.Addr) { ready <- pub.String() }) }()
	var pub string
	select {
	case pub = <-ready:
	case err := <-served:
		t.Fatalf("serve the copy: %v", err)
	}
	_, p, _ := net.SplitHostPort(pub)
	resp, page = browse(t, localhostClient(t, pub), http.MethodGet, "http://demo.localhost:"+p+"/public/", nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "This is the demo upstream behind Gatehouse") {
		t.Errorf("the copy's public page: %d, want the built-in demo app:\n%s", resp.StatusCode, page)
	}
	stop()
	<-served
}

// TestPINPageWithoutDemo: outside the demo the e-mail page has no hint and a request for an
// address no policy admits logs nothing that a demo user would read.
func TestPINPageWithoutDemo(t *testing.T) {
	e := testenv.Start(t, "")
	c := localhostClient(t, e.Addr)
	requestPIN(t, c, e.URL("app.localhost", "/"), "someone@elsewhere.test", "")
	time.Sleep(100 * time.Millisecond)
	if strings.Contains(e.Logs.String(), "demo: no PIN sent") {
		t.Error("the demo's refusal line was logged outside the demo")
	}
}

// TestDemoGateway: the demo runs the secure web gateway next to the public listener, with a CA
// in use (its certificate written for curl and browsers), the enrolment application, the CLI
// token and the demo rules; the banner says how to use it.
func TestDemoGateway(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo")
	var out, logs syncBuffer
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- app.RunDemo(ctx, app.DemoOptions{DataDir: dir, Listen: "127.0.0.1:0", LoadConfig: config.Load, Out: &out,
			Logger: func(*config.File) *slog.Logger { return slog.New(slog.NewTextHandler(&logs, nil)) }})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("the demo did not stop")
		}
		if t.Failed() {
			t.Logf("demo output:\n%s\nlog:\n%s", out.String(), logs.String())
		}
	})
	m := waitFor(t, "gateway banner", out.String, regexp.MustCompile(`curl -x http://demo-cli\.access:([0-9a-f]{64})@(127\.0\.0\.1:\d+) --cacert (\S+) `))
	secret, gw, caFile := m[1], m[2], m[3]
	for _, want := range []string{"/.gatehouse/gateway/enroll", "gatehouse gateway report --config " + filepath.Join(dir, "gatehouse.yaml")} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("banner lacks %q", want)
		}
	}
	pemBytes, err := os.ReadFile(caFile)
	if err != nil || !strings.Contains(string(pemBytes), "BEGIN CERTIFICATE") || strings.Contains(string(pemBytes), "PRIVATE") {
		t.Fatalf("gateway CA file %s: %v\n%s", caFile, err, pemBytes)
	}

	// The PAC file, a 407 without credentials, and the token's CONNECT reaching the egress
	// checks (a .invalid name never resolves, with or without a network).
	resp, err := http.Get("http://" + gw + "/proxy.pac")
	if err != nil {
		t.Fatal(err)
	}
	pac, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(pac), "FindProxyForURL") {
		t.Errorf("PAC: %d %s", resp.StatusCode, pac)
	}
	connect := func(user string) string {
		c, err := net.Dial("tcp", gw)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		req := "CONNECT app.invalid:443 HTTP/1.1\r\nHost: app.invalid:443\r\n"
		if user != "" {
			req += "Proxy-Authorization: " + basicAuth(user, secret) + "\r\n"
		}
		c.Write([]byte(req + "\r\n"))
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		line, _ := bufio.NewReader(c).ReadString('\n')
		return line
	}
	if line := connect(""); !strings.HasPrefix(line, "HTTP/1.1 407") {
		t.Errorf("CONNECT without credentials: %q", line)
	}
	if line := connect("demo-cli.access"); !strings.HasPrefix(line, "HTTP/1.1 502") {
		t.Errorf("CONNECT to an unresolvable name with the demo token: %q", line)
	}
	waitFor(t, "the token's request in the log", logs.String, regexp.MustCompile(`gateway request.*service_token=demo-cli .*reason=destination-unresolvable`))

	// DeepSeek is unapproved: the demo's rule blocks it inside TLS (the CA is trusted), before
	// its name is even looked up, so this holds with or without a network.
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pemBytes)
	client := &http.Client{Timeout: 15 * time.Second, Transport: &http.Transport{
		Proxy:           http.ProxyURL(&url.URL{Scheme: "http", Host: gw, User: url.UserPassword("demo-cli.access", secret)}),
		TLSClientConfig: &tls.Config{RootCAs: roots}}}
	req, _ := http.NewRequest(http.MethodGet, "https://chat.deepseek.com/", nil)
	req.Header.Set("Accept", "text/html")
	resp, err = client.Do(req)
	if err != nil {
		t.Fatalf("GET https://chat.deepseek.com/ through the demo gateway: %v", err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(page), "This AI app is not approved here") {
		t.Errorf("DeepSeek through the demo gateway: %d\n%s", resp.StatusCode, page)
	}

	// AI prompt protection: the demo captures prompts, sealed to a key pair of its own whose
	// file `ai logs --key` reads; the banner says how.
	keyFile := filepath.Join(dir, "prompt-log.key")
	if !strings.Contains(out.String(), "gatehouse ai logs --key "+keyFile) || !strings.Contains(out.String(), "Ignore all previous instructions") {
		t.Errorf("banner lacks the prompt protection lines")
	}
	st, err := os.Stat(keyFile)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("prompt-log key file: %v, %v", st, err)
	}
	key, _ := os.ReadFile(keyFile)
	pub, _, _ := strings.Cut(strings.TrimPrefix(string(key), "public_key: "), "\n")
	cfgBody, _ := os.ReadFile(filepath.Join(dir, "gatehouse.yaml"))
	if !strings.Contains(string(key), "private_key: ") || pub == "" || !strings.Contains(string(cfgBody), pub) ||
		!strings.Contains(string(cfgBody), "ai_prompt_ai_security") {
		t.Errorf("the demo config does not seal prompt logs to the key file's public key, or has no prompt rule:\n%s", cfgBody)
	}
}

// TestDemoMCPPortal: the demo serves its MCP server on a loopback listener, registers it and
// the portal demo-mcp for its service token; the banner's curl line lists the tools through the
// portal, a tool call passes, the fake credential's result is blocked by DLP, both are in the
// call logs the CLI reads and in the metrics.
func TestDemoMCPPortal(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo")
	var out, logs syncBuffer
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- app.RunDemo(ctx, app.DemoOptions{DataDir: dir, Listen: "127.0.0.1:0", Gateway: "off", LoadConfig: config.Load, Out: &out,
			Logger: func(*config.File) *slog.Logger { return slog.New(slog.NewTextHandler(&logs, nil)) }})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("the demo did not stop")
		}
		if t.Failed() {
			t.Logf("demo output:\n%s\nlog:\n%s", out.String(), logs.String())
		}
	})
	m := waitFor(t, "MCP banner", out.String, regexp.MustCompile(`curl http://auth\.localhost:(\d+)(/\S+) -H '(\S+): (\S+)' -H '(\S+): ([0-9a-f]{64})'`))
	port, path, idHeader, clientID, secretHeader, secret := m[1], m[2], m[3], m[4], m[5], m[6]
	if path != "/.gatehouse/mcp/demo-mcp" || idHeader != "Gatehouse-Client-Id" || clientID != "demo-cli.access" || secretHeader != "Gatehouse-Client-Secret" {
		t.Fatalf("banner's curl line: %q", m[0])
	}
	metricsAddr := waitFor(t, "metrics in the banner", out.String, regexp.MustCompile(`Metrics: +http://(\S+)/metrics`))[1]
	c := localhostClient(t, "127.0.0.1:"+port)
	rpc := func(body string) string {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, "http://auth.localhost:"+port+path, strings.NewReader(body))
		req.Header.Set(idHeader, clientID)
		req.Header.Set(secretHeader, secret)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d %s", body, resp.StatusCode, b)
		}
		return string(b)
	}
	// The server is synced in the background at start: its tools appear within moments.
	deadline := time.Now().Add(10 * time.Second)
	list := ""
	for {
		list = rpc(`{"jsonrpc": "2.0", "id": 1, "method": "tools/list"}`)
		if strings.Contains(list, "demo_echo") || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, tool := range []string{"demo_echo", "demo_time_now", "demo_fake_credential"} {
		if !strings.Contains(list, `"`+tool+`"`) {
			t.Errorf("tools/list through the portal lacks %s: %s", tool, list)
		}
	}
	if res := rpc(`{"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "demo_echo", "arguments": {"text": "hello portal"}}}`); !strings.Contains(res, "hello portal") {
		t.Errorf("demo_echo: %s", res)
	}
	if res := rpc(`{"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "demo_fake_credential", "arguments": {}}}`); strings.Contains(res, "AKIA") || !strings.Contains(res, "error") {
		t.Errorf("demo_fake_credential was not blocked: %s", res)
	}

	// The calls are in the call logs the CLI reads, and in the metrics.
	cfg, err := config.Load(filepath.Join(dir, "gatehouse.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	a, err := app.OpenAdmin(t.Context(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	var entries []store.MCPCallLog
	for deadline := time.Now().Add(10 * time.Second); len(entries) < 2 && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if entries, _, err = a.MCPCallLogs(t.Context(), admin.CLIActor, admin.MCPCallLogQuery{Portal: "demo-mcp"}); err != nil {
			t.Fatal(err)
		}
	}
	if len(entries) != 2 || entries[0].Capability != "demo_fake_credential" || entries[0].Decision != "block" || entries[0].Reason != "dlp" ||
		entries[1].Capability != "demo_echo" || entries[1].Decision != "allow" || entries[1].ClientID != "demo-cli.access" {
		t.Errorf("call logs: %+v", entries)
	}
	servers, err := a.ListMCPServers(t.Context())
	if err != nil || len(servers) != 1 || servers[0].Status != store.MCPSyncReady || servers[0].ToolCount != 3 || !servers[0].Exposed {
		t.Errorf("servers: %v %+v", err, servers)
	}

	// The running server's admin API: the server synced now from there, and the portal.
	_, token, err := a.CreateAdminToken(t.Context(), admin.CLIActor, "mcp-test")
	if err != nil {
		t.Fatal(err)
	}
	api := func(method, path string) string {
		t.Helper()
		req, _ := http.NewRequest(method, "http://auth.localhost:"+port+path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, b)
		}
		return string(b)
	}
	if res := api(http.MethodPost, "/api/v1/mcp/servers/demo/sync"); !strings.Contains(res, `"status":"ready"`) || !strings.Contains(res, `"tool_count":3`) {
		t.Errorf("sync through the API: %s", res)
	}
	if res := api(http.MethodGet, "/api/v1/mcp/portals"); !strings.Contains(res, `"endpoint":"/.gatehouse/mcp/demo-mcp"`) {
		t.Errorf("portals through the API: %s", res)
	}
	if !strings.Contains(logs.String(), `msg="mcp server synced" server=demo`) {
		t.Error("the API's sync was not logged")
	}

	resp, err := http.Get("http://" + metricsAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`gatehouse_mcp_tool_calls_total{decision="allow"} 1`, `gatehouse_mcp_tool_calls_total{decision="block"} 1`,
		"gatehouse_mcp_call_logs_written_total 2", "gatehouse_mcp_call_logs_dropped_total 0"} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	for _, want := range []string{`msg="mcp server synced" server=demo`, `msg="mcp call"`} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %s", want)
		}
	}
}
