package app_test

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

const (
	gwClientID = "ci.gateway"
	gwSecret   = "0123456789abcdef0123456789abcdef-gateway"
)

// gatewayConfig is a configuration with one service token and the gateway section given.
func gatewayConfig(section string) string {
	return testenv.DefaultConfig + fmt.Sprintf("service_tokens: [{id: ci, client_id: %s, client_secret: %q}]\n", gwClientID, gwSecret) + section
}

// origin is a local origin that records what it received.
type origin struct {
	*httptest.Server
	mu   sync.Mutex
	last *http.Request
	body string
}

func (o *origin) seen() (*http.Request, string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.last, o.body
}

func newOrigin(t *testing.T, tlsNames ...string) *origin {
	t.Helper()
	o := &origin{}
	o.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		o.mu.Lock()
		o.last, o.body = r.Clone(r.Context()), string(b)
		o.mu.Unlock()
		w.Header().Set("Connection", "X-Origin-Hop")
		w.Header().Set("X-Origin-Hop", "1")
		fmt.Fprintf(w, "hello from %s%s", r.Host, r.URL.RequestURI())
	}))
	if len(tlsNames) > 0 {
		o.TLS = &tls.Config{Certificates: []tls.Certificate{selfSigned(t, tlsNames...)}}
		o.StartTLS()
	} else {
		o.Start()
	}
	t.Cleanup(o.Close)
	return o
}

// selfSigned makes a certificate for names (its own issuer).
func selfSigned(t *testing.T, names ...string) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: names[0]},
		DNSNames: names, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
}

func port(t *testing.T, addr string) string {
	t.Helper()
	_, p, err := net.SplitHostPort(strings.TrimPrefix(strings.TrimPrefix(addr, "http://"), "https://"))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// proxyClient is a net/http client that uses the gateway with the service token's credentials.
func proxyClient(t *testing.T, e *testenv.Env, roots *x509.CertPool) *http.Client {
	t.Helper()
	tr := &http.Transport{
		Proxy:           http.ProxyURL(&url.URL{Scheme: "http", Host: e.Gateway, User: url.UserPassword(gwClientID, gwSecret)}),
		TLSClientConfig: &tls.Config{RootCAs: roots},
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// rawProxy sends one raw request head to the gateway and returns the response.
func rawProxy(t *testing.T, e *testenv.Env, head string) (*http.Response, string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", e.Gateway, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, head); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), &http.Request{Method: strings.Fields(head)[0]})
	if err != nil {
		t.Fatalf("%q: %v", head, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func basicAuth(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

// gatewayLogLines returns the "gateway request" log lines.
func gatewayLogLines(t *testing.T, e *testenv.Env) []map[string]any {
	t.Helper()
	var out []map[string]any
	for line := range strings.SplitSeq(e.Logs.String(), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && m["msg"] == "gateway request" {
			out = append(out, m)
		}
	}
	return out
}

// TestGatewayForwardsHTTPAndTunnels: a Go client through the gateway reaches a plain HTTP origin
// (absolute-form, hop-by-hop headers removed) and an HTTPS origin named like a real app
// (CONNECT), both pinned with gateway.hosts; each request has one log line.
func TestGatewayForwardsHTTPAndTunnels(t *testing.T) {
	plain := newOrigin(t)
	secure := newOrigin(t, "chatgpt.com")
	e := testenv.StartGateway(t, gatewayConfig(`gateway:
  hosts: {app.example.com: 127.0.0.1, chatgpt.com: 127.0.0.1}
  allowed_private_networks: [127.0.0.0/8]
  locations: [{name: lab, networks: [127.0.0.0/8]}]
`))
	roots := x509.NewCertPool()
	roots.AddCert(secure.TLS.Certificates[0].Leaf)
	client := proxyClient(t, e, roots)

	req, _ := http.NewRequest(http.MethodPost, "http://App.Example.com.:"+port(t, plain.URL)+"/a/b?q=1", strings.NewReader("payload"))
	req.Header.Set("Connection", "X-Secret-Hop")
	req.Header.Set("X-Secret-Hop", "drop me")
	req.Header.Set("Keep-Alive", "timeout=5")
	req.Header.Set("X-Kept", "yes")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != "hello from app.example.com:"+port(t, plain.URL)+"/a/b?q=1" {
		t.Fatalf("plain HTTP through the gateway: %d %q", resp.StatusCode, body)
	}
	if resp.Header.Get("X-Origin-Hop") != "" {
		t.Error("a response header the origin's Connection header listed reached the client")
	}
	seen, seenBody := plain.seen()
	if seenBody != "payload" {
		t.Errorf("origin got body %q", seenBody)
	}
	for _, h := range []string{"X-Secret-Hop", "Keep-Alive", "Proxy-Authorization", "Proxy-Connection", "X-Forwarded-For", "Forwarded"} {
		if v := seen.Header.Get(h); v != "" {
			t.Errorf("origin received %s: %q", h, v)
		}
	}
	if seen.Header.Get("X-Kept") != "yes" {
		t.Error("an end-to-end header was dropped")
	}

	resp, err = client.Get("https://chatgpt.com:" + port(t, secure.URL) + "/backend-api/conversation")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(string(body), "hello from chatgpt.com:") {
		t.Fatalf("HTTPS through a tunnel: %d %q", resp.StatusCode, body)
	}
	client.Transport.(*http.Transport).CloseIdleConnections() // ends the tunnel, which logs it

	deadline := time.Now().Add(5 * time.Second)
	for {
		var forwarded, tunnel map[string]any
		for _, l := range gatewayLogLines(t, e) {
			switch l["outcome"] {
			case "forwarded":
				forwarded = l
			case "tunnel":
				tunnel = l
			}
		}
		if forwarded != nil && tunnel != nil {
			if forwarded["host"] != "app.example.com" || forwarded["service_token"] != "ci" || forwarded["location"] != "lab" ||
				forwarded["method"] != "POST" || forwarded["bytes_up"] != float64(7) || forwarded["status"] != float64(200) {
				t.Errorf("forwarded request's log line: %v", forwarded)
			}
			if tunnel["host"] != "chatgpt.com" || tunnel["method"] != "CONNECT" || tunnel["status"] != float64(200) ||
				tunnel["bytes_up"].(float64) == 0 || tunnel["bytes_down"].(float64) == 0 {
				t.Errorf("tunnel's log line: %v", tunnel)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no log lines for the request and the tunnel:\n%s", e.Logs.String())
		}
		time.Sleep(20 * time.Millisecond) // the tunnel's line is written when it closes
	}
}

// TestGatewayProxyAuthentication: no, malformed and wrong credentials get 407 with the
// challenge; refusals of presented credentials are audited.
func TestGatewayProxyAuthentication(t *testing.T) {
	e := testenv.StartGateway(t, gatewayConfig(""))
	for _, tc := range []struct{ name, auth, reason string }{
		{"missing", "", "proxy-credentials-missing"},
		{"not basic", "Bearer abc", "proxy-credentials-malformed"},
		{"not base64", "Basic !!!", "proxy-credentials-malformed"},
		{"wrong secret", basicAuth(gwClientID, "wrong-secret-wrong-secret-wrong-secret"), "service-token-invalid"},
		{"unknown client", basicAuth("nobody", gwSecret), "service-token-invalid"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, head := range []string{
				"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n",
				"GET http://example.com/ HTTP/1.1\r\nHost: example.com\r\n",
			} {
				if tc.auth != "" {
					head += "Proxy-Authorization: " + tc.auth + "\r\n"
				}
				resp, body := rawProxy(t, e, head+"\r\n")
				if resp.StatusCode != http.StatusProxyAuthRequired || resp.Header.Get("Proxy-Authenticate") != `Basic realm="Gatehouse Gateway"` {
					t.Errorf("%q: %d %v %q", head, resp.StatusCode, resp.Header, body)
				}
				if strings.Contains(body, gwSecret) {
					t.Error("the answer contains the secret")
				}
			}
		})
	}
	logs := e.Logs.String()
	if !strings.Contains(logs, `"action":"gateway_auth"`) || !strings.Contains(logs, "service-token-invalid") {
		t.Errorf("refused credentials were not audited:\n%s", logs)
	}
	if strings.Contains(logs, gwSecret) || strings.Contains(logs, "wrong-secret") {
		t.Error("the log contains a secret")
	}
}

// TestGatewayRefusesPrivateDestinations: loopback, private, link-local, metadata and
// unspecified destinations are refused in every spelling, unless allowed_private_networks lists
// them; the gateway's own listeners are refused even then.
func TestGatewayRefusesPrivateDestinations(t *testing.T) {
	auth := "Proxy-Authorization: " + basicAuth(gwClientID, gwSecret) + "\r\n"
	refused := []string{
		"127.0.0.1:80", "127.0.0.1.:80", "2130706433:80", "0x7f000001:80", "0177.0.0.1:80", "127.1:80", "0x7f.1:80",
		"[::1]:80", "[::ffff:127.0.0.1]:80", "[::ffff:7f00:1]:80", "localhost:80", "LOCALHOST.:80",
		"10.0.0.1:80", "192.168.1.1:443", "172.16.0.1:22", "[fd12::1]:80",
		"169.254.169.254:80", "[fd00:ec2::254]:80", "0251.0376.0251.0376:80", "[::ffff:169.254.169.254]:80",
		"0.0.0.0:80", "0:80", "[::]:80", "224.0.0.1:80", "255.255.255.255:80", "[64:ff9b::7f00:1]:80",
	}
	t.Run("default", func(t *testing.T) {
		e := testenv.StartGateway(t, gatewayConfig(""))
		for _, dest := range refused {
			for _, head := range []string{
				"CONNECT " + dest + " HTTP/1.1\r\nHost: " + dest + "\r\n" + auth + "\r\n",
				"GET http://" + dest + "/ HTTP/1.1\r\nHost: " + dest + "\r\n" + auth + "\r\n",
			} {
				resp, body := rawProxy(t, e, head)
				if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "does not connect to") {
					t.Errorf("%s: %d %q", strings.SplitN(head, "\r\n", 2)[0], resp.StatusCode, body)
				}
			}
		}
		resp, err := (&http.Client{Timeout: 5 * time.Second}).Get("http://" + e.Internal + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		metrics, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		for _, want := range []string{`gatehouse_gateway_refusals_total{reason="destination-metadata"} 8`,
			`gatehouse_gateway_requests_total{code="4xx",kind="connect",outcome="refused"} 26`} {
			if !strings.Contains(string(metrics), want) {
				t.Errorf("metrics lack %s", want)
			}
		}
	})
	t.Run("allowed_private_networks", func(t *testing.T) {
		o := newOrigin(t)
		e := testenv.StartGateway(t, gatewayConfig("gateway: {allowed_private_networks: [127.0.0.1/32]}\n"))
		// Allowed: the listed loopback address, in any spelling.
		for _, dest := range []string{"127.0.0.1", "2130706433", "0x7f.0.0.1", "[::ffff:127.0.0.1]"} {
			resp, body := rawProxy(t, e, "GET http://"+dest+":"+port(t, o.URL)+"/x HTTP/1.1\r\nHost: h\r\n"+auth+"\r\n")
			if resp.StatusCode != http.StatusOK || body != "hello from 127.0.0.1:"+port(t, o.URL)+"/x" {
				t.Errorf("%s: %d %q", dest, resp.StatusCode, body)
			}
		}
		// Still refused: other loopback addresses, metadata, and the gateway itself in any form.
		gwPort := port(t, e.Gateway)
		for _, dest := range []string{"127.0.0.2:80", "169.254.169.254:80", "[fd00:ec2::254]:80", "10.0.0.1:80",
			e.Gateway, "2130706433:" + gwPort, "127.0.0.2:" + gwPort, "localhost:" + gwPort, e.Addr, e.Internal} {
			resp, body := rawProxy(t, e, "CONNECT "+dest+" HTTP/1.1\r\nHost: "+dest+"\r\n"+auth+"\r\n")
			if resp.StatusCode != http.StatusForbidden {
				t.Errorf("CONNECT %s: %d %q", dest, resp.StatusCode, body)
			}
		}
		resp, body := rawProxy(t, e, "CONNECT "+e.Gateway+" HTTP/1.1\r\nHost: x\r\n"+auth+"\r\n")
		if !strings.Contains(body, "is this gateway itself") {
			t.Errorf("self-CONNECT: %d %q", resp.StatusCode, body)
		}
	})
}

// TestGatewayBadRequests: malformed destinations, a CONNECT with a body, other schemes and
// unknown local paths.
func TestGatewayBadRequests(t *testing.T) {
	e := testenv.StartGateway(t, gatewayConfig(""))
	auth := "Proxy-Authorization: " + basicAuth(gwClientID, gwSecret) + "\r\n"
	for head, want := range map[string]int{
		"CONNECT example.com HTTP/1.1\r\nHost: example.com\r\n" + auth + "\r\n":                               http.StatusBadRequest,
		"CONNECT example.com:0 HTTP/1.1\r\nHost: x\r\n" + auth + "\r\n":                                       http.StatusBadRequest,
		"CONNECT exa_mple..com:443 HTTP/1.1\r\nHost: x\r\n" + auth + "\r\n":                                   http.StatusBadRequest,
		"CONNECT 1.2.3.4.5:443 HTTP/1.1\r\nHost: x\r\n" + auth + "\r\n":                                       http.StatusBadRequest,
		"CONNECT example.com:443 HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n" + auth + "\r\nhello":           http.StatusBadRequest,
		"GET ftp://example.com/ HTTP/1.1\r\nHost: example.com\r\n" + auth + "\r\n":                            http.StatusBadRequest,
		"GET https://example.com/ HTTP/1.1\r\nHost: example.com\r\n" + auth + "\r\n":                          http.StatusBadRequest,
		"GET http://user:pw@example.com/ HTTP/1.1\r\nHost: example.com\r\n" + auth + "\r\n":                   http.StatusBadRequest,
		"GET /anything HTTP/1.1\r\nHost: " + e.Gateway + "\r\n\r\n":                                           http.StatusNotFound,
		"POST /proxy.pac HTTP/1.1\r\nHost: " + e.Gateway + "\r\nContent-Length: 0\r\n\r\n":                    http.StatusMethodNotAllowed,
		"GET http://does-not-exist.invalid/ HTTP/1.1\r\nHost: does-not-exist.invalid\r\n" + auth + "\r\n":     http.StatusBadGateway,
		"CONNECT does-not-exist.invalid:443 HTTP/1.1\r\nHost: does-not-exist.invalid\r\n" + auth + "\r\n\r\n": http.StatusBadGateway,
		// Over gateway.limits.max_request_header_bytes (default 64KiB): in a header, in the request line.
		"GET http://example.com/ HTTP/1.1\r\nHost: example.com\r\nX-Big: " + strings.Repeat("a", 70<<10) + "\r\n" + auth + "\r\n": http.StatusRequestHeaderFieldsTooLarge,
		"GET http://example.com/" + strings.Repeat("a", 70<<10) + " HTTP/1.1\r\nHost: example.com\r\n" + auth + "\r\n":            http.StatusRequestHeaderFieldsTooLarge,
	} {
		resp, body := rawProxy(t, e, head)
		if resp.StatusCode != want {
			t.Errorf("%.80q: %d %q, want %d", strings.SplitN(head, "\r\n", 2)[0], resp.StatusCode, body, want)
		}
	}
}

// TestGatewayPAC: the PAC file names the gateway as the client reached it and sends plain host
// names and the auth domain direct.
func TestGatewayPAC(t *testing.T) {
	e := testenv.StartGateway(t, gatewayConfig(""))
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Get("http://" + e.Gateway + "/proxy.pac")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	pac := string(b)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/x-ns-proxy-autoconfig" {
		t.Fatalf("PAC: %d %v", resp.StatusCode, resp.Header)
	}
	for _, want := range []string{"function FindProxyForURL(url, host)", "isPlainHostName(host)", `host === "auth.localhost"`,
		`return "PROXY ` + e.Gateway + `";`} {
		if !strings.Contains(pac, want) {
			t.Errorf("PAC lacks %q:\n%s", want, pac)
		}
	}
	// The script runs and answers as documented (when node is installed).
	if node, err := exec.LookPath("node"); err == nil {
		script := pac + `
const isPlainHostName = h => !h.includes(".");
for (const [u, h] of [["http://intranet/", "intranet"], ["https://auth.localhost/", "AUTH.localhost"], ["https://chatgpt.com/", "chatgpt.com"]]) {
  console.log(FindProxyForURL(u, h));
}`
		// isPlainHostName is a PAC built-in: define it before the script's function uses it.
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, node, "-e", strings.Replace(script, "function FindProxyForURL", "var FindProxyForURL = function", 1)).CombinedOutput()
		if err != nil {
			t.Fatalf("node: %v\n%s", err, out)
		}
		if got, want := strings.TrimSpace(string(out)), "DIRECT\nDIRECT\nPROXY "+e.Gateway; got != want {
			t.Errorf("PAC answers:\n%s\nwant:\n%s", got, want)
		}
	}
}

// TestGatewayCurl: curl through the gateway, plain and over a tunnel to a pinned HTTPS origin.
func TestGatewayCurl(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("curl is not installed")
	}
	plain := newOrigin(t)
	secure := newOrigin(t, "claude.ai")
	e := testenv.StartGateway(t, gatewayConfig(`gateway:
  hosts: {app.example.com: 127.0.0.1, claude.ai: 127.0.0.1}
  allowed_private_networks: [127.0.0.0/8]
`))
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: secure.TLS.Certificates[0].Certificate[0]}), 0o600); err != nil {
		t.Fatal(err)
	}
	proxy := "http://" + gwClientID + ":" + gwSecret + "@" + e.Gateway
	for u, want := range map[string]string{
		"http://app.example.com:" + port(t, plain.URL) + "/curl": "hello from app.example.com:" + port(t, plain.URL) + "/curl",
		"https://claude.ai:" + port(t, secure.URL) + "/api":      "hello from claude.ai:" + port(t, secure.URL) + "/api",
	} {
		out, err := exec.CommandContext(t.Context(), curl, "-sS", "--max-time", "10", "--noproxy", "", "-x", proxy, "--cacert", ca, u).CombinedOutput()
		if err != nil || string(out) != want {
			t.Errorf("curl %s: %v %q", u, err, out)
		}
	}
	out, _ := exec.CommandContext(t.Context(), curl, "-sS", "--max-time", "10", "--noproxy", "", "-o", "/dev/null", "-w", "%{http_code}",
		"-x", "http://"+e.Gateway, "http://app.example.com:"+port(t, plain.URL)+"/").CombinedOutput()
	if string(out) != "407" {
		t.Errorf("curl without credentials: %q", out)
	}
}

// openTunnel sends a CONNECT on a new connection and returns it once the tunnel is established.
func openTunnel(t *testing.T, e *testenv.Env, dest string) (net.Conn, *bufio.Reader, int) {
	t.Helper()
	c, err := net.DialTimeout("tcp", e.Gateway, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(c, "CONNECT %s HTTP/1.1\r\nHost: %s\r\nProxy-Authorization: %s\r\n\r\n", dest, dest, basicAuth(gwClientID, gwSecret))
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodConnect})
	if err != nil {
		t.Fatal(err)
	}
	return c, br, resp.StatusCode
}

// TestGatewayTunnelLimitAndShutdown: tunnels beyond max_tunnels get 503 until one closes; a
// stopping Gatehouse ends the tunnels still open.
func TestGatewayTunnelLimitAndShutdown(t *testing.T) {
	echo, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer echo.Close()
	go func() {
		for {
			c, err := echo.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); _, _ = io.Copy(c, c) }()
		}
	}()
	e := testenv.StartGateway(t, gatewayConfig("gateway: {allowed_private_networks: [127.0.0.1/32], limits: {max_tunnels: 1}}\n"))
	first, br, status := openTunnel(t, e, echo.Addr().String())
	if status != http.StatusOK {
		t.Fatalf("first tunnel: %d", status)
	}
	fmt.Fprint(first, "ping")
	buf := make([]byte, 4)
	if _, err := io.ReadFull(br, buf); err != nil || string(buf) != "ping" {
		t.Fatalf("echo through the tunnel: %q %v", buf, err)
	}
	if _, _, status := openTunnel(t, e, echo.Addr().String()); status != http.StatusServiceUnavailable {
		t.Fatalf("tunnel over the limit: %d, want 503", status)
	}
	first.Close()
	deadline := time.Now().Add(5 * time.Second)
	var second net.Conn
	var secondBR *bufio.Reader
	for {
		c, r, status := openTunnel(t, e, echo.Addr().String())
		if status == http.StatusOK {
			second, secondBR = c, r
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the closed tunnel's slot was never released")
		}
		time.Sleep(20 * time.Millisecond) // the first tunnel ends asynchronously
	}
	e.Stop()
	_ = second.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := secondBR.ReadByte(); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("a tunnel outlived Gatehouse: %v", err)
	}
}

// TestGatewayAuthFailuresRateLimited: refused credentials are audited at most 30 times a minute
// per client address; beyond that the gateway answers 429.
func TestGatewayAuthFailuresRateLimited(t *testing.T) {
	e := testenv.StartGateway(t, gatewayConfig(""))
	head := "GET http://example.com/ HTTP/1.1\r\nHost: example.com\r\nProxy-Authorization: " + basicAuth(gwClientID, "not-the-secret") + "\r\n\r\n"
	for i := range 30 {
		if resp, _ := rawProxy(t, e, head); resp.StatusCode != http.StatusProxyAuthRequired {
			t.Fatalf("attempt %d: %d", i+1, resp.StatusCode)
		}
	}
	resp, _ := rawProxy(t, e, head)
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("attempt 31: %d %v", resp.StatusCode, resp.Header)
	}
	// Missing credentials are the normal first step of a client and are never limited.
	if resp, _ := rawProxy(t, e, "GET http://example.com/ HTTP/1.1\r\nHost: example.com\r\n\r\n"); resp.StatusCode != http.StatusProxyAuthRequired {
		t.Errorf("missing credentials after the limit: %d", resp.StatusCode)
	}
}
