package connguard

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// bound is the most any blocking step of these tests may take; reaching it is a failure.
const bound = 10 * time.Second

// seen is what the test handler saw of one request.
type seen struct {
	path    string
	body    string
	bodyErr error
}

// recorder is a handler that reads every request's body and records what it saw.
type recorder struct {
	mu   sync.Mutex
	reqs []seen
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, err := io.ReadAll(r.Body)
	rec.mu.Lock()
	rec.reqs = append(rec.reqs, seen{path: r.URL.Path, body: string(b), bodyErr: err})
	rec.mu.Unlock()
	_, _ = io.WriteString(w, "ok")
}

func (rec *recorder) requests() []seen {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([]seen(nil), rec.reqs...)
}

// guardedServer serves h on 127.0.0.1 behind a Listener, wired as Gatehouse wires it.
type guardedServer struct {
	addr     string
	rejected chan *FramingError
}

func serveGuarded(t testing.TB, h http.Handler, tlsConfig *tls.Config) *guardedServer {
	t.Helper()
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := &guardedServer{addr: inner.Addr().String(), rejected: make(chan *FramingError, 16)}
	protocols := new(http.Protocols)
	protocols.SetHTTP1(true)
	protocols.SetHTTP2(true)
	if tlsConfig == nil {
		protocols.SetUnencryptedHTTP2(true)
	}
	ln := NewListener(inner, Options{TLS: tlsConfig, MaxHeaderBytes: 8 << 10, PriorKnowledgeHTTP2: tlsConfig == nil,
		OnFramingError: func(_ net.Conn, err *FramingError) { gs.rejected <- err }})
	srv := &http.Server{Handler: h, ConnState: ConnState, Protocols: protocols, MaxHeaderBytes: 8 << 10,
		ReadHeaderTimeout: bound, TLSConfig: tlsConfig}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return gs
}

// exchange sends raw on a new connection and reads responses until the server closes it.
func exchange(t testing.TB, addr, raw string) (responses []*http.Response, bodies []string) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, bound)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(bound))
	go func() { _, _ = io.WriteString(conn, raw) }()
	return readResponses(t, bufio.NewReader(conn))
}

// readResponses reads responses until the connection ends; it fails the test if it does not.
func readResponses(t testing.TB, br *bufio.Reader) (responses []*http.Response, bodies []string) {
	t.Helper()
	for {
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatalf("the connection stayed open after %d responses", len(responses))
			}
			return responses, bodies
		}
		b, _ := io.ReadAll(res.Body)
		responses = append(responses, res)
		bodies = append(bodies, string(b))
	}
}

const smuggled = "GET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n"

// TestRefusedHeadsNeverReachTheHandler: a request whose head two parsers could frame differently
// is answered 400 with Connection: close by net/http, the connection closes, and neither it nor
// the request pipelined behind it reaches the handler.
func TestRefusedHeadsNeverReachTheHandler(t *testing.T) {
	for _, tt := range framingCases {
		f := newFramer(1<<16, false)
		f.feed([]byte(tt.in))
		if tt.reason == "" || !f.headFailed {
			continue
		}
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{}
			gs := serveGuarded(t, rec, nil)
			responses, _ := exchange(t, gs.addr, tt.in+smuggled)
			last := responses[len(responses)-1]
			if last.StatusCode != http.StatusBadRequest || !last.Close {
				t.Errorf("last response %d (close %v), want 400 with Connection: close", last.StatusCode, last.Close)
			}
			accepted := f.requests // requests before the bad one
			if len(responses) != accepted+1 {
				t.Errorf("%d responses, want %d", len(responses), accepted+1)
			}
			for _, r := range rec.requests() {
				if r.path == "/smuggled" || r.path == "/admin" || r.path == "/x" {
					t.Errorf("the handler served %s", r.path)
				}
			}
			if len(rec.requests()) != accepted {
				t.Errorf("handler saw %d requests, want %d", len(rec.requests()), accepted)
			}
			select {
			case err := <-gs.rejected:
				if err.Reason != tt.reason {
					t.Errorf("reported %q, want %q", err.Reason, tt.reason)
				}
			case <-time.After(bound):
				t.Error("the rejection was not reported")
			}
		})
	}
}

// TestRefusedBodiesAbortTheRequest: a chunked body whose framing is wrong ends the handler's
// body with an error (never with io.EOF and a truncated body), and the connection closes
// without reading the rest as a request.
func TestRefusedBodiesAbortTheRequest(t *testing.T) {
	for _, tt := range framingCases {
		f := newFramer(1<<16, false)
		f.feed([]byte(tt.in))
		if tt.reason == "" || f.headFailed {
			continue
		}
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{}
			gs := serveGuarded(t, rec, nil)
			exchange(t, gs.addr, tt.in+smuggled)
			reqs := rec.requests()
			if len(reqs) != 1 {
				t.Fatalf("handler saw %d requests (%v), want the one with the bad body", len(reqs), reqs)
			}
			// net/http's own chunked reader may notice first (it checks line lengths too, and
			// looks ahead for the end of trailers it never gets); either way the body ends
			// with an error, never as if complete.
			if reqs[0].bodyErr == nil {
				t.Errorf("body %q read to the end, want an error (%s)", reqs[0].body, tt.reason)
			}
		})
	}
}

// TestAcceptedStreamsAreServed: everything the framer accepts reaches the handler intact.
func TestAcceptedStreamsAreServed(t *testing.T) {
	rec := &recorder{}
	gs := serveGuarded(t, rec, nil)
	in := "POST /a HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n2\r\nde\r\n0\r\nX-T: 1\r\n\r\n" +
		"POST /b HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nxyz" +
		"GET /c HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
	responses, _ := exchange(t, gs.addr, in)
	if len(responses) != 3 {
		t.Fatalf("%d responses", len(responses))
	}
	want := []seen{{path: "/a", body: "abcde"}, {path: "/b", body: "xyz"}, {path: "/c"}}
	got := rec.requests()
	for i := range want {
		if i >= len(got) || got[i].path != want[i].path || got[i].body != want[i].body || got[i].bodyErr != nil {
			t.Fatalf("requests %v, want %v", got, want)
		}
	}
}

// TestOverlongHeadIs431: a head longer than MaxHeaderBytes is net/http's 431, not a framing
// error.
func TestOverlongHeadIs431(t *testing.T) {
	gs := serveGuarded(t, &recorder{}, nil)
	responses, _ := exchange(t, gs.addr, "GET / HTTP/1.1\r\nHost: a\r\nX: "+strings.Repeat("a", 32<<10)+"\r\n\r\n")
	if len(responses) != 1 || responses[0].StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("responses %v", responses)
	}
}

// switcher hijacks requests that offer "Upgrade: echo" and echoes lines; other requests get 200.
func switcher(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Upgrade") != "echo" || r.URL.Path == "/refuse" {
		_, _ = io.WriteString(w, "no switch")
		return
	}
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(bound))
	_, _ = brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n")
	_ = brw.Flush()
	for {
		line, err := brw.ReadString('\n')
		if err != nil {
			return
		}
		_, _ = brw.WriteString("echo: " + line)
		_ = brw.Flush()
	}
}

// TestSwitchHandsOverHeldBytes: what a client sends right after an upgrade request (before the
// 101) is held, then delivered to the handler that took the connection, unframed.
func TestSwitchHandsOverHeldBytes(t *testing.T) {
	gs := serveGuarded(t, http.HandlerFunc(switcher), nil)
	conn, err := net.DialTimeout("tcp", gs.addr, bound)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(bound))
	_, _ = io.WriteString(conn, "GET /s HTTP/1.1\r\nHost: a\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\nnot HTTP\nGET / HTTP/1.1\n")
	br := bufio.NewReader(conn)
	res, err := http.ReadResponse(br, nil)
	if err != nil || res.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("response %v, %v", res, err)
	}
	for _, want := range []string{"echo: not HTTP\n", "echo: GET / HTTP/1.1\n"} {
		if line, err := br.ReadString('\n'); err != nil || line != want {
			t.Fatalf("got %q, %v; want %q", line, err, want)
		}
	}
}

// TestRefusedSwitchClosesTheConnection: a request that offered a protocol switch but was
// answered without one is the connection's last: what the client sent after it (perhaps for the
// other protocol) is never read as a request.
func TestRefusedSwitchClosesTheConnection(t *testing.T) {
	rec := &recorder{}
	gs := serveGuarded(t, rec, nil)
	responses, _ := exchange(t, gs.addr, "GET /refuse HTTP/1.1\r\nHost: a\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n"+smuggled)
	if len(responses) != 1 || responses[0].StatusCode != http.StatusOK {
		t.Fatalf("responses %v", responses)
	}
	for _, r := range rec.requests() {
		if r.path == "/smuggled" {
			t.Error("the request after a refused switch was served")
		}
	}
}

// testTLSConfig returns a server TLS configuration with a fresh self-signed certificate for
// "localhost", offering h2 and http/1.1, and a client configuration that trusts it.
func testTLSConfig(t testing.TB) (server, client *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	server = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}},
		NextProtos: []string{"h2", "http/1.1"}, MinVersion: tls.VersionTLS12}
	client = &tls.Config{RootCAs: pool, ServerName: "localhost"}
	return server, client
}

// TestTLS: over TLS, HTTP/1.1 connections are framed (and see Request.TLS), HTTP/2 connections
// (ALPN h2) are served by net/http's HTTP/2 server, and a plain HTTP request gets net/http's
// usual 400.
func TestTLS(t *testing.T) {
	serverTLS, clientTLS := testTLSConfig(t)
	var mu sync.Mutex
	var protos []string
	gs := serveGuarded(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		protos = append(protos, r.Proto)
		mu.Unlock()
		if r.TLS == nil {
			http.Error(w, "no TLS state", http.StatusInternalServerError)
			return
		}
		_, _ = io.WriteString(w, "ok")
	}), serverTLS)

	for _, proto := range []string{"h2", "http/1.1"} {
		cfg := clientTLS.Clone()
		cfg.NextProtos = []string{proto}
		tr := &http.Transport{TLSClientConfig: cfg, ForceAttemptHTTP2: proto == "h2"}
		res, err := (&http.Client{Transport: tr, Timeout: bound}).Get("https://" + gs.addr + "/")
		if err != nil {
			t.Fatalf("%s: %v", proto, err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		tr.CloseIdleConnections()
		if res.StatusCode != http.StatusOK || (proto == "h2") != (res.ProtoMajor == 2) {
			t.Errorf("%s: %d over %s", proto, res.StatusCode, res.Proto)
		}
	}

	// HTTP/1.1 over TLS is framed like plain HTTP/1.1.
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: bound}, "tcp", gs.addr, clientTLS)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(bound))
	go func() {
		_, _ = io.WriteString(conn, "POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"+smuggled)
	}()
	responses, _ := readResponses(t, bufio.NewReader(conn))
	if len(responses) != 1 || responses[0].StatusCode != http.StatusBadRequest {
		t.Errorf("CL+TE over TLS: %d responses", len(responses))
	}
	mu.Lock()
	if len(protos) != 2 {
		t.Errorf("the handler saw %v", protos)
	}
	mu.Unlock()

	// Plain HTTP to the TLS listener.
	plain, _ := exchange(t, gs.addr, "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
	if len(plain) != 1 || plain[0].StatusCode != http.StatusBadRequest {
		t.Errorf("plain HTTP to TLS: %d responses", len(plain))
	}
}

// TestPriorKnowledgeHTTP2: on a plain listener, HTTP/2 with prior knowledge passes the framer.
func TestPriorKnowledgeHTTP2(t *testing.T) {
	rec := &recorder{}
	gs := serveGuarded(t, rec, nil)
	p := new(http.Protocols)
	p.SetUnencryptedHTTP2(true)
	c := &http.Client{Transport: &http.Transport{Protocols: p}, Timeout: bound}
	res, err := c.Post("http://"+gs.addr+"/h2", "text/plain", strings.NewReader("body"))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.ProtoMajor != 2 || res.StatusCode != http.StatusOK {
		t.Fatalf("%s %d", res.Proto, res.StatusCode)
	}
	if got := rec.requests(); len(got) != 1 || got[0].body != "body" {
		t.Fatalf("handler saw %v", got)
	}
}
