package inspect

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/gateway/rules"
)

// keepAliveClient is an HTTP/1.1 client through the gateway that keeps one connection.
func (h *harness) keepAliveClient() *http.Client {
	tr := &http.Transport{Proxy: http.ProxyURL(h.proxyURL), TLSClientConfig: &tls.Config{RootCAs: h.caPool},
		MaxConnsPerHost: 1, MaxIdleConnsPerHost: 1}
	return &http.Client{Transport: tr, Timeout: 20 * time.Second}
}

// countingOrigin is a TLS origin (HTTP/1.1 only) that counts the connections it accepted.
type countingOrigin struct {
	srv   *httptest.Server
	port  string
	conns atomic.Int64
}

func newCountingOrigin(t *testing.T, cert tls.Certificate, h http.HandlerFunc) *countingOrigin {
	t.Helper()
	o := &countingOrigin{}
	o.srv = httptest.NewUnstartedServer(h)
	o.srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			o.conns.Add(1)
		}
	}
	o.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	o.srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	o.srv.StartTLS()
	t.Cleanup(o.srv.Close)
	_, o.port, _ = net.SplitHostPort(o.srv.Listener.Addr().String())
	return o
}

func get(t *testing.T, c *http.Client, method, url, body string) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the body: %v", method, url, err)
	}
	return resp.StatusCode, string(b)
}

// A kept-alive HTTP/1.1 client connection is forwarded over one upstream connection, whatever
// the responses' framing, as long as each can be read to its end.
func TestPinnedUpstreamReusesOneConnection(t *testing.T) {
	h := newHarness(t, e2eRules)
	now := time.Now()
	o := newCountingOrigin(t, h.origins.leaf(t, []string{"chatgpt.com"}, now.Add(-time.Hour), now.Add(time.Hour)),
		func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			switch r.URL.Path {
			case "/chunked":
				_, _ = io.WriteString(w, "part one ")
				w.(http.Flusher).Flush()
				_, _ = io.WriteString(w, "part two")
			case "/empty":
				w.WriteHeader(http.StatusNoContent)
			default:
				w.Header().Set("X-Proto", r.Proto)
				_, _ = fmt.Fprintf(w, "%s %s %s %q", r.Method, r.Host, r.URL.Path, body)
			}
		})
	c := h.keepAliveClient()
	base := "https://chatgpt.com:" + o.port
	for i := range 3 {
		if code, body := get(t, c, "GET", base+"/a", ""); code != 200 || body != `GET chatgpt.com:`+o.port+` /a ""` {
			t.Fatalf("request %d: %d %q", i, code, body)
		}
	}
	if code, body := get(t, c, "POST", base+"/p", "hello"); code != 200 || !strings.HasSuffix(body, `/p "hello"`) {
		t.Fatalf("POST: %d %q", code, body)
	}
	if code, body := get(t, c, "GET", base+"/chunked", ""); code != 200 || body != "part one part two" {
		t.Fatalf("chunked: %d %q", code, body)
	}
	if code, _ := get(t, c, "HEAD", base+"/a", ""); code != 200 {
		t.Fatalf("HEAD: %d", code)
	}
	if code, _ := get(t, c, "GET", base+"/empty", ""); code != http.StatusNoContent {
		t.Fatalf("204: %d", code)
	}
	if code, _ := get(t, c, "GET", base+"/a", ""); code != 200 {
		t.Fatalf("last: %d", code)
	}
	if n := o.conns.Load(); n != 1 {
		t.Errorf("the origin accepted %d connections for one kept-alive client connection, want 1", n)
	}
}

// oneShotOrigin answers one request per connection, then closes it without saying so (no
// Connection: close), as a destination whose keep-alive timeout ran out does.
type oneShotOrigin struct {
	ln net.Listener
	// closed receives after each connection is closed.
	closed   chan struct{}
	port     string
	mu       sync.Mutex
	requests []string
	// reply, when set, is the raw response written instead of the usual one.
	reply string
}

func newOneShotOrigin(t *testing.T, cert tls.Certificate) *oneShotOrigin {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	o := &oneShotOrigin{ln: ln, closed: make(chan struct{}, 16)}
	_, o.port, _ = net.SplitHostPort(ln.Addr().String())
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go o.serve(c)
		}
	}()
	return o
}

func (o *oneShotOrigin) serve(c net.Conn) {
	defer func() {
		_ = c.Close()
		o.closed <- struct{}{}
	}()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	req, err := http.ReadRequest(bufio.NewReader(c))
	if err != nil {
		return
	}
	body, _ := io.ReadAll(req.Body)
	o.mu.Lock()
	o.requests = append(o.requests, req.Method+" "+req.URL.Path+" "+string(body))
	o.mu.Unlock()
	if o.reply != "" {
		_, _ = io.WriteString(c, o.reply)
		return
	}
	msg := "served " + req.URL.Path
	_, _ = fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(msg), msg)
}

func (o *oneShotOrigin) seen() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.requests...)
}

// A destination that closed the idle upstream connection costs the client nothing: a request
// that may be sent twice is retried on a new connection, one that may not (a POST) is not sent
// on the closed connection in the first place.
func TestPinnedUpstreamClosedByTheDestination(t *testing.T) {
	h := newHarness(t, e2eRules)
	now := time.Now()
	o := newOneShotOrigin(t, h.origins.leaf(t, []string{"chatgpt.com"}, now.Add(-time.Hour), now.Add(time.Hour)))
	c := h.keepAliveClient()
	base := "https://chatgpt.com:" + o.port
	steps := []struct{ method, path, body string }{
		{"GET", "/one", ""}, {"GET", "/two", ""}, {"POST", "/three", "payload"}, {"GET", "/four", ""},
	}
	for _, s := range steps {
		code, body := get(t, c, s.method, base+s.path, s.body)
		if code != 200 || body != "served "+s.path {
			t.Fatalf("%s %s: %d %q", s.method, s.path, code, body)
		}
		// The next request goes out once the origin has closed this connection, so that it
		// finds a connection closed while idle.
		select {
		case <-o.closed:
		case <-time.After(10 * time.Second):
			t.Fatal("the origin did not close the connection")
		}
	}
	want := []string{"GET /one ", "GET /two ", "POST /three payload", "GET /four "}
	if got := o.seen(); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("the origin saw %q, want each request once: %q", got, want)
	}
}

// A response a response-phase rule blocks is never read; its bytes must not be taken for the
// next response on the same client connection, and a body that never ends (an event stream)
// must not hold the client: the upstream connection is closed, not drained or reused.
func TestPinnedUpstreamBlockedResponseIsNotReused(t *testing.T) {
	rs := append([]rules.Rule{{ID: "no-418", Name: "No teapots", Precedence: 5, Enabled: true,
		Action: rules.ActionBlock, Traffic: `http.response.status_code == 418`,
		RuleSettings: rules.RuleSettings{BlockPageEnabled: true, BlockReason: "No teapots."}}}, e2eRules...)
	h := newHarness(t, rs)
	now := time.Now()
	o := newCountingOrigin(t, h.origins.leaf(t, []string{"chatgpt.com"}, now.Add(-time.Hour), now.Add(time.Hour)),
		func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/teapot" {
				w.Header().Set("Content-Type", "text/event-stream")
				w.WriteHeader(http.StatusTeapot)
				for r.Context().Err() == nil { // until the gateway hangs up
					if _, err := io.WriteString(w, "data: tea\n\n"); err != nil {
						return
					}
					w.(http.Flusher).Flush()
				}
				return
			}
			_, _ = io.WriteString(w, "small")
		})
	c := h.keepAliveClient()
	base := "https://chatgpt.com:" + o.port
	if code, _ := get(t, c, "GET", base+"/teapot", ""); code != http.StatusForbidden {
		t.Fatalf("teapot: %d, want the block page", code)
	}
	for range 2 {
		if code, body := get(t, c, "GET", base+"/small", ""); code != 200 || body != "small" {
			t.Fatalf("after the blocked response: %d %q", code, body)
		}
	}
	if n := o.conns.Load(); n != 2 {
		t.Errorf("the origin accepted %d connections, want 2 (the blocked response's is not reused)", n)
	}
}

// Closing the gateway ends an exchange waiting for the destination's answer at once (the
// upstream connection watches its tunnel), not after the response-header timeout: the
// destination sees its connection closed.
func TestPinnedUpstreamGatewayCloseEndsTheExchange(t *testing.T) {
	h := newHarness(t, e2eRules)
	now := time.Now()
	arrived := make(chan struct{}, 1)
	gone := make(chan struct{})
	o := newCountingOrigin(t, h.origins.leaf(t, []string{"chatgpt.com"}, now.Add(-time.Hour), now.Add(time.Hour)),
		func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/hang" {
				_, _ = io.WriteString(w, "ok")
				return
			}
			arrived <- struct{}{}
			<-r.Context().Done() // the gateway hung up
			close(gone)
		})
	c := h.keepAliveClient()
	base := "https://chatgpt.com:" + o.port
	if code, body := get(t, c, "GET", base+"/first", ""); code != 200 || body != "ok" {
		t.Fatalf("first request: %d %q", code, body)
	}
	go func() {
		if resp, err := c.Get(base + "/hang"); err == nil {
			resp.Body.Close()
		}
	}()
	select {
	case <-arrived:
	case <-time.After(10 * time.Second):
		t.Fatal("the request did not reach the destination")
	}
	h.closeGateway()
	select {
	case <-gone:
	case <-time.After(5 * time.Second):
		t.Fatal("the exchange outlived the gateway")
	}
	if n := o.conns.Load(); n != 1 {
		t.Errorf("the destination accepted %d connections, want 1 (the request went out on the kept connection)", n)
	}
}
