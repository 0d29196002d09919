package inspect

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/gateway"
	"github.com/gatehouse/gatehouse/internal/gateway/applib"
	"github.com/gatehouse/gatehouse/internal/gateway/ca"
	"github.com/gatehouse/gatehouse/internal/gateway/rules"
	"github.com/gatehouse/gatehouse/internal/snapshot"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
)

const testSecret = "0123456789abcdef0123456789abcdef"

// originCA signs the test origins' certificates; the gateway trusts it as an upstream CA.
type originCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newOriginCA(t testing.TB) *originCA {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Test Origins CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &originCA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// leaf signs a certificate for names, valid from notBefore to notAfter (self-signed when
// the CA is nil).
func (o *originCA) leaf(t testing.TB, names []string, notBefore, notAfter time.Time) tls.Certificate {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: names[0]}, DNSNames: names,
		NotBefore: notBefore, NotAfter: notAfter, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	parent, signer := o.cert, o.key
	if o.cert == nil {
		parent, signer = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, signer)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// origin is a local TLS origin (HTTP/1.1 and HTTP/2) that records what it received.
type origin struct {
	srv  *httptest.Server
	port string
	mu   sync.Mutex
	reqs []*http.Request
}

func (o *origin) last() *http.Request {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.reqs) == 0 {
		return nil
	}
	return o.reqs[len(o.reqs)-1]
}

func (o *origin) count() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.reqs)
}

func newOrigin(t testing.TB, cert tls.Certificate) *origin {
	t.Helper()
	o := &origin{}
	o.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o.mu.Lock()
		o.reqs = append(o.reqs, r.Clone(context.Background()))
		o.mu.Unlock()
		if r.Header.Get("Upgrade") == "websocket" {
			echoUpgrade(w, r)
			return
		}
		w.Header().Set("X-Origin-Proto", r.Proto)
		_, _ = fmt.Fprintf(w, "origin %s %s", r.Host, r.URL.Path)
	}))
	o.srv.EnableHTTP2 = true
	o.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	o.srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	o.srv.StartTLS()
	t.Cleanup(o.srv.Close)
	_, o.port, _ = net.SplitHostPort(o.srv.Listener.Addr().String())
	return o
}

// echoUpgrade completes a WebSocket-style upgrade and echoes the bytes that follow.
func echoUpgrade(w http.ResponseWriter, r *http.Request) {
	c, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return
	}
	defer c.Close()
	_, _ = brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
	_ = brw.Flush()
	_, _ = io.Copy(c, brw)
}

// loopbackResolver resolves every name to 127.0.0.1.
type loopbackResolver struct{}

func (loopbackResolver) LookupNetIP(context.Context, string, string) ([]netip.Addr, error) {
	return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil
}

// harness is a gateway with TLS inspection, a CA in use and a service token.
type harness struct {
	gw       string
	caPool   *x509.CertPool // trusts the gateway CA and the origins' CA
	caPEM    []byte
	origins  *originCA
	minter   *ca.Minter
	logs     *syncBuffer
	proxyURL *url.URL
	// closeGateway closes the gateway (its tunnels end), as at shutdown.
	closeGateway func()
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
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

func newHarness(t testing.TB, rs []rules.Rule, configure ...func(*gateway.Options)) *harness {
	t.Helper()
	st, err := sqlstore.Open(t.Context(), "sqlite", filepath.Join(t.TempDir(), "gatehouse.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	mgr, err := ca.NewManager(st, make([]byte, 32), ca.Options{Organization: "Example Corp"})
	if err != nil {
		t.Fatal(err)
	}
	info, err := mgr.Generate(t.Context(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mgr.Activate(t.Context(), info.ID); err != nil {
		t.Fatal(err)
	}
	minter, err := ca.NewMinter(nil, ca.MinterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := mgr.Reload(t.Context(), minter); err != nil {
		t.Fatal(err)
	}
	caPEM, err := mgr.Export(t.Context(), info.ID)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{origins: newOriginCA(t), minter: minter, caPEM: caPEM, logs: &syncBuffer{}}
	h.caPool = x509.NewCertPool()
	h.caPool.AppendCertsFromPEM(caPEM)
	h.caPool.AppendCertsFromPEM(h.origins.pem)
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(h.origins.pem)

	p, err := rules.Compile(rs, rules.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cat := applib.MustDefault()
	reviews, err := applib.ParseReviews(cat, applib.Reviews{"ChatGPT": "unapproved"})
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewJSONHandler(h.logs, nil))
	insp := New(Options{Minter: minter, Roots: roots, Log: logger})
	sum := sha256.Sum256([]byte(testSecret))
	snap, err := snapshot.Compile(&store.Config{
		Organization:  store.Organization{Name: "Test", AuthDomain: "auth.example.com", Wire: store.WireGatehouse},
		ServiceTokens: []store.ServiceToken{{ID: "ci", Name: "ci", ClientID: "ci", ClientSecretSHA256: hex.EncodeToString(sum[:])}},
	}, snapshot.Options{Scheme: "http", Port: 80})
	if err != nil {
		t.Fatal(err)
	}
	holder := &snapshot.Holder{}
	holder.Store(snap)
	opts := gateway.Options{
		Egress:      &gateway.Egress{Resolver: loopbackResolver{}, Allowed: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}},
		Policy:      &gateway.Policy{Rules: p, Catalog: cat, Reviews: reviews},
		Decide:      insp.Decide,
		Interceptor: insp,
		Log:         logger,
	}
	for _, c := range configure {
		c(&opts)
	}
	g := gateway.New(holder, opts)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g.Egress().SetSelf([]net.Addr{ln.Addr()})
	srv := &http.Server{Handler: g, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close(); g.Close() })
	h.closeGateway = g.Close
	h.gw = ln.Addr().String()
	h.proxyURL = &url.URL{Scheme: "http", Host: h.gw, User: url.UserPassword("ci", testSecret)}
	return h
}

// client is a Go net/http client through the gateway with the gateway CA (and the origins'
// CA, for spliced tunnels) trusted.
func (h *harness) client(h2 bool) *http.Client {
	tr := &http.Transport{Proxy: http.ProxyURL(h.proxyURL), TLSClientConfig: &tls.Config{RootCAs: h.caPool},
		ForceAttemptHTTP2: h2, DisableKeepAlives: !h2}
	return &http.Client{Transport: tr, Timeout: 20 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// echoListener echoes plain TCP connections; it returns its port.
func echoListener(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); _, _ = io.Copy(c, c) }()
		}
	}()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

// rawConnect opens a CONNECT tunnel to dest and returns the connection after the 200.
func (h *harness) rawConnect(t testing.TB, dest string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", h.gw, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	auth := base64.StdEncoding.EncodeToString([]byte("ci:" + testSecret))
	fmt.Fprintf(c, "CONNECT %s HTTP/1.1\r\nHost: %s\r\nProxy-Authorization: Basic %s\r\n\r\n", dest, dest, auth)
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodConnect})
	if err != nil || resp.StatusCode != 200 || br.Buffered() > 0 {
		t.Fatalf("CONNECT %s: %v %v", dest, resp, err)
	}
	return c
}

// connectTLS opens a CONNECT tunnel to dest and starts TLS in it with serverName.
func (h *harness) connectTLS(t testing.TB, dest, serverName string, protos []string) (*tls.Conn, error) {
	t.Helper()
	tc := tls.Client(h.rawConnect(t, dest), &tls.Config{ServerName: serverName, RootCAs: h.caPool, NextProtos: protos})
	return tc, tc.Handshake()
}

var e2eRules = []rules.Rule{
	{ID: "dni", Name: "Do not inspect Claude", Precedence: 1, Enabled: true, Action: rules.ActionOff,
		Traffic: `any(http.request.domains[*] == "claude.ai")`},
	{ID: "blk", Name: "No unapproved AI uploads", Precedence: 10, Enabled: true, Action: rules.ActionBlock,
		Traffic:      `any(app.statuses[*] == "unapproved") and http.request.uri.path == "/upload"`,
		RuleSettings: rules.RuleSettings{BlockPageEnabled: true, BlockReason: "Uploads to unapproved AI apps are not allowed."}},
	{ID: "redir", Name: "Old path", Precedence: 20, Enabled: true, Action: rules.ActionRedirect,
		Traffic: `http.request.uri.path == "/old"`,
		RuleSettings: rules.RuleSettings{Redirect: &rules.RedirectSettings{TargetURI: "https://approved.example.com/",
			PreservePathAndQuery: true, IncludeContext: true}}},
	{ID: "self-signed-ok", Name: "Lab", Precedence: 25, Enabled: true, Action: rules.ActionAllow,
		Traffic:      `http.request.host == "lab.example.net"`,
		RuleSettings: rules.RuleSettings{UntrustedCert: &rules.UntrustedCertSettings{Action: rules.UntrustedPassThrough}}},
	{ID: "tenant", Name: "ChatGPT workspace", Precedence: 30, Enabled: true, Action: rules.ActionAllow,
		Traffic:      `any(http.request.domains[*] == "chatgpt.com")`,
		RuleSettings: rules.RuleSettings{AddHeaders: map[string][]string{"Chatgpt-Allowed-Workspace-Id": {"ws-1"}}}},
	{ID: "ssh", Name: "SSH to the lab", Precedence: 2, Enabled: true, Action: rules.ActionOff,
		Traffic: `http.request.host == "ssh.example.net"`},
}

func TestInspectionEndToEnd(t *testing.T) {
	h := newHarness(t, e2eRules)
	now := time.Now()
	chatgpt := newOrigin(t, h.origins.leaf(t, []string{"chatgpt.com"}, now.Add(-time.Hour), now.Add(time.Hour)))
	claude := newOrigin(t, h.origins.leaf(t, []string{"claude.ai"}, now.Add(-time.Hour), now.Add(time.Hour)))

	t.Run("allow with add_headers over HTTP/2 both ways", func(t *testing.T) {
		resp, err := h.client(true).Get("https://chatgpt.com:" + chatgpt.port + "/c/new")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(body) != "origin chatgpt.com:"+chatgpt.port+" /c/new" {
			t.Fatalf("%d %q", resp.StatusCode, body)
		}
		if resp.ProtoMajor != 2 || resp.Header.Get("X-Origin-Proto") != "HTTP/2.0" {
			t.Errorf("client %s, origin %s; want HTTP/2 on both sides", resp.Proto, resp.Header.Get("X-Origin-Proto"))
		}
		if issuer := resp.TLS.PeerCertificates[0].Issuer.CommonName; !strings.Contains(issuer, "Gatehouse") {
			t.Errorf("the client saw a leaf issued by %q, not the gateway CA", issuer)
		}
		if got := chatgpt.last().Header.Values("Chatgpt-Allowed-Workspace-Id"); len(got) != 1 || got[0] != "ws-1" {
			t.Errorf("origin saw workspace header %v", got)
		}
	})

	t.Run("block page HTML and JSON", func(t *testing.T) {
		before := chatgpt.count()
		req, _ := http.NewRequest("GET", "https://chatgpt.com:"+chatgpt.port+"/upload", nil)
		req.Header.Set("Accept", "text/html")
		resp, err := h.client(true).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 403 || !strings.Contains(string(body), "Uploads to unapproved AI apps are not allowed.") ||
			!strings.Contains(string(body), "ChatGPT") || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "default-src 'none'") {
			t.Fatalf("HTML block: %d\n%s", resp.StatusCode, body)
		}
		req.Header.Set("Accept", "application/json")
		resp, err = h.client(false).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var j map[string]string
		err = json.NewDecoder(resp.Body).Decode(&j)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 403 || j["rule_id"] != "blk" || j["request_id"] == "" {
			t.Fatalf("JSON block: %d %v %v", resp.StatusCode, j, err)
		}
		if chatgpt.count() != before {
			t.Error("a blocked request reached the origin")
		}
	})

	t.Run("redirect", func(t *testing.T) {
		resp, err := h.client(true).Get("https://chatgpt.com:" + chatgpt.port + "/old?q=1")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		loc, _ := url.Parse(resp.Header.Get("Location"))
		if resp.StatusCode != 307 || loc.Host != "approved.example.com" || loc.Path != "/old" || loc.Query().Get("q") != "1" ||
			loc.Query().Get("cf_rule_id") != "redir" {
			t.Fatalf("redirect %d %q", resp.StatusCode, resp.Header.Get("Location"))
		}
	})

	t.Run("do not inspect splices", func(t *testing.T) {
		resp, err := h.client(false).Get("https://claude.ai:" + claude.port + "/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if issuer := resp.TLS.PeerCertificates[0].Issuer.CommonName; issuer != "Test Origins CA" {
			t.Errorf("spliced tunnel: the client saw a certificate issued by %q, want the origin's own", issuer)
		}
	})

	t.Run("SNI differing from the CONNECT destination is refused", func(t *testing.T) {
		before := claude.count()
		tc, err := h.connectTLS(t, "claude.ai:"+claude.port, "chatgpt.com", nil)
		if err == nil {
			tc.Close()
			t.Fatal("a ClientHello naming another server than the CONNECT destination completed a handshake")
		}
		if claude.count() != before {
			t.Error("the origin was reached")
		}
		// The tunnel's log line is written when the proxy has closed the tunnel, which may be
		// after the client saw its handshake fail.
		deadline := time.Now().Add(5 * time.Second)
		for !strings.Contains(h.logs.String(), `"reason":"sni-mismatch"`) {
			if time.Now().After(deadline) {
				t.Fatal("no sni-mismatch in the log")
			}
			time.Sleep(10 * time.Millisecond)
		}
	})

	t.Run("WebSocket through interception", func(t *testing.T) {
		tc, err := h.connectTLS(t, "chatgpt.com:"+chatgpt.port, "chatgpt.com", []string{"http/1.1"})
		if err != nil {
			t.Fatal(err)
		}
		defer tc.Close()
		fmt.Fprintf(tc, "GET /ws HTTP/1.1\r\nHost: chatgpt.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
		br := bufio.NewReader(tc)
		resp, err := http.ReadResponse(br, nil)
		if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
			t.Fatalf("upgrade: %v %v", resp, err)
		}
		_, _ = tc.Write([]byte("frame"))
		buf := make([]byte, 5)
		if _, err := io.ReadFull(br, buf); err != nil || string(buf) != "frame" {
			t.Fatalf("echo %q %v", buf, err)
		}
	})

	t.Run("a Host header naming another site is not followed", func(t *testing.T) {
		tc, err := h.connectTLS(t, "chatgpt.com:"+chatgpt.port, "chatgpt.com", []string{"http/1.1"})
		if err != nil {
			t.Fatal(err)
		}
		defer tc.Close()
		fmt.Fprintf(tc, "GET /fronted HTTP/1.1\r\nHost: claude.ai\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(tc), nil)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("%v %v", resp, err)
		}
		resp.Body.Close()
		if got := chatgpt.last(); got.URL.Path != "/fronted" || got.Host != "chatgpt.com:"+chatgpt.port {
			t.Errorf("origin got Host %q path %q, want the CONNECT destination", got.Host, got.URL.Path)
		}
	})

	t.Run("a protocol that is not TLS is spliced only by an off rule", func(t *testing.T) {
		echo := echoListener(t)
		for host, wantEcho := range map[string]bool{"ssh.example.net": true, "other.example.net": false} {
			c := h.rawConnect(t, host+":"+echo)
			_, _ = c.Write([]byte("SSH-2.0-test\r\n"))
			buf := make([]byte, 14)
			_, err := io.ReadFull(c, buf)
			if wantEcho && (err != nil || string(buf) != "SSH-2.0-test\r\n") {
				t.Errorf("%s: echo %q %v", host, buf, err)
			}
			if !wantEcho && err == nil {
				t.Errorf("%s: a plain protocol was carried without an off rule", host)
			}
			c.Close()
		}
	})

	t.Run("no CONNECT inside an inspected tunnel", func(t *testing.T) {
		tc, err := h.connectTLS(t, "chatgpt.com:"+chatgpt.port, "chatgpt.com", []string{"http/1.1"})
		if err != nil {
			t.Fatal(err)
		}
		defer tc.Close()
		fmt.Fprintf(tc, "CONNECT claude.ai:443 HTTP/1.1\r\nHost: claude.ai:443\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(tc), &http.Request{Method: http.MethodConnect})
		if err != nil || resp.StatusCode != http.StatusMethodNotAllowed {
			t.Fatalf("CONNECT in the tunnel: %v %v", resp, err)
		}
	})

	t.Run("untrusted, expired and wrong-host destination certificates get the block page", func(t *testing.T) {
		self := &originCA{}
		cases := map[string]tls.Certificate{
			"self-signed": self.leaf(t, []string{"chatgpt.com"}, now.Add(-time.Hour), now.Add(time.Hour)),
			"expired":     h.origins.leaf(t, []string{"chatgpt.com"}, now.Add(-48*time.Hour), now.Add(-24*time.Hour)),
			"wrong host":  h.origins.leaf(t, []string{"example.org"}, now.Add(-time.Hour), now.Add(time.Hour)),
		}
		for name, cert := range cases {
			o := newOrigin(t, cert)
			req, _ := http.NewRequest("GET", "https://chatgpt.com:"+o.port+"/", nil)
			req.Header.Set("Accept", "text/html")
			resp, err := h.client(false).Do(req)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadGateway || !strings.Contains(string(body), "certificate is not trusted") {
				t.Errorf("%s: %d\n%s", name, resp.StatusCode, body)
			}
			if o.count() != 0 {
				t.Errorf("%s: a request reached an origin with an untrusted certificate", name)
			}
		}
		// An allow rule with untrusted_cert: pass_through lets a self-signed lab origin through.
		o := newOrigin(t, self.leaf(t, []string{"lab.example.net"}, now.Add(-time.Hour), now.Add(time.Hour)))
		resp, err := h.client(false).Get("https://lab.example.net:" + o.port + "/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || o.count() != 1 {
			t.Errorf("pass_through: %d, origin saw %d requests", resp.StatusCode, o.count())
		}
	})

	logs := h.logs.String()
	for _, want := range []string{`"kind":"https"`, `"rule_id":"tenant"`, `"app":"ChatGPT"`, `"app_status":"unapproved"`,
		`"rule_id":"dni"`, `"action":"off"`, `"rule_id":"blk"`, `"reason":"upstream-cert-untrusted"`} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %s", want)
		}
	}
}

// TestManyNewServerNames opens 256 tunnels to never-seen server names at once: every handshake
// succeeds (leaves are minted concurrently, without blocking one another).
func TestManyNewServerNames(t *testing.T) {
	h := newHarness(t, nil)
	now := time.Now()
	o := newOrigin(t, h.origins.leaf(t, []string{"*.burst.test"}, now.Add(-time.Hour), now.Add(time.Hour)))
	const n = 256
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			req, _ := http.NewRequestWithContext(ctx, "GET", fmt.Sprintf("https://n%d.burst.test:%s/", i, o.port), nil)
			resp, err := h.client(false).Do(req)
			if err != nil {
				errs <- err
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				errs <- fmt.Errorf("n%d: status %d", i, resp.StatusCode)
			}
		}()
	}
	began := time.Now()
	close(start)
	wg.Wait()
	close(errs)
	failures := 0
	for err := range errs {
		failures++
		if failures <= 5 {
			t.Error(err)
		}
	}
	if failures > 0 {
		t.Fatalf("%d of %d handshakes or requests failed", failures, n)
	}
	if s := h.minter.Stats(); s.Mints < n {
		t.Errorf("%d leaves minted for %d names", s.Mints, n)
	}
	t.Logf("%d new server names through inspection in %s", n, time.Since(began).Round(time.Millisecond))
}
