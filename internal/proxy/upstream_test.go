package proxy_test

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/httpx"
	"github.com/gatehouse/gatehouse/internal/proxy"
	"github.com/gatehouse/gatehouse/internal/store"
)

// bound is the most any blocking step in these tests may take; reaching it is a failure.
const bound = 5 * time.Second

// closedAddr returns a loopback address nothing listens on.
func closedAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

// blockingUpstream answers only once release is closed or the request ends.
func blockingUpstream(t testing.TB) http.Handler {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
}

// TestUpstreamErrors checks the error pages of failed forwards: status, reason, a reference ID,
// and never the cause.
func TestUpstreamErrors(t *testing.T) {
	tests := []struct {
		name       string
		setup      func(t *testing.T) setup
		body       string
		wantStatus int
		wantReason string
		wantPublic string
		causes     []string
	}{
		{name: "unreachable", setup: func(t *testing.T) setup {
			addr := closedAddr(t)
			return setup{config: func(string) *store.Config { return baseConfig("http://"+addr, "") }}
		}, wantStatus: http.StatusBadGateway, wantReason: "upstream-unreachable",
			wantPublic: "The application is not reachable right now.", causes: []string{"refused", "dial", "127.0.0.1"}},
		{name: "timeout", setup: func(t *testing.T) setup {
			return setup{upstream: blockingUpstream(t), opts: proxy.Options{UpstreamTimeout: 50 * time.Millisecond}}
		}, wantStatus: http.StatusGatewayTimeout, wantReason: "upstream-timeout",
			wantPublic: "The application took too long to answer.", causes: []string{"timeout awaiting", "127.0.0.1"}},
		{name: "body too large", setup: func(t *testing.T) setup {
			return setup{opts: proxy.Options{MaxRequestBodyBytes: 16}}
		}, body: strings.Repeat("x", 4096), wantStatus: http.StatusRequestEntityTooLarge, wantReason: "request-body-too-large",
			wantPublic: "The request body is too large.", causes: []string{"http: request body too large"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, tt.setup(t))
			var body io.Reader
			method := http.MethodGet
			if tt.body != "" {
				body, method = strings.NewReader(tt.body), http.MethodPost
			}
			w := e.serve(t, req(method, "http://open.example.com/x", body))
			assertErrorPage(t, w, tt.wantStatus, tt.wantPublic, tt.causes...)
			if got := e.warnReason(t); got != tt.wantReason {
				t.Errorf("warn reason = %q, want %q", got, tt.wantReason)
			}
			line := e.lastAccess(t)
			if line["status"] != float64(tt.wantStatus) || line["app"] != "open" || !slices.Contains(reasonsOf(line), tt.wantReason) {
				t.Errorf("access line = %v, want reason %q", line, tt.wantReason)
			}
			if ref, _ := line["ref"].(string); ref == "" || !strings.Contains(w.Body.String(), "Reference: "+ref) {
				t.Errorf("access line ref %q is not the page's reference", ref)
			}
			if n := e.refusals(t, "open", tt.wantReason); n != 1 {
				t.Errorf("refusals{open,%s} = %v, want 1", tt.wantReason, n)
			}
			// A body is streamed, so an origin may see the start of an oversized request
			// before the proxy cuts it off; it never gets to answer it.
			if tt.body == "" && e.hits.Load() != 0 {
				t.Errorf("upstream handled %d requests", e.hits.Load())
			}
		})
	}
}

// TestRequestBodyWithinLimit checks that a body up to MaxRequestBodyBytes is forwarded intact.
func TestRequestBodyWithinLimit(t *testing.T) {
	e := newEnv(t, setup{opts: proxy.Options{MaxRequestBodyBytes: 16}})
	got := e.forwarded(t, req(http.MethodPut, "http://open.example.com/x", strings.NewReader("0123456789abcdef")))
	if got.Body != "0123456789abcdef" || got.Method != http.MethodPut {
		t.Errorf("origin saw %s body %q", got.Method, got.Body)
	}
}

// TestClientGone checks that a client that went away gets nothing rendered (499 in the log).
func TestClientGone(t *testing.T) {
	e := newEnv(t, setup{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := req(http.MethodGet, "http://open.example.com/x", nil).WithContext(httpx.WithClient(ctx, defaultClient))
	w := e.serve(t, r)
	if w.Code != 499 || w.Body.Len() != 0 {
		t.Errorf("status %d body %q, want a bare 499", w.Code, w.Body.String())
	}
	if line := e.lastAccess(t); line["status"] != float64(499) {
		t.Errorf("access line = %v", line)
	}
}

// proxyServer serves e's proxy over real HTTP, with the default client resolved; served
// receives after every request the proxy finished.
func proxyServer(t testing.TB, e *env) (srv *httptest.Server, served <-chan struct{}) {
	done := make(chan struct{}, 16)
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.proxy.ServeHTTP(w, r.WithContext(httpx.WithClient(r.Context(), defaultClient)))
		done <- struct{}{}
	}))
	t.Cleanup(srv.Close)
	return srv, done
}

// TestServerSentEvents checks that an event-stream response is flushed to the client as the
// upstream writes it, before the upstream has finished.
func TestServerSentEvents(t *testing.T) {
	release := make(chan struct{})
	var once sync.Once
	stop := func() { once.Do(func() { close(release) }) }
	t.Cleanup(stop)
	e := newEnv(t, setup{upstream: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, "data: one\n\n")
		_ = http.NewResponseController(w).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		_, _ = io.WriteString(w, "data: two\n\n")
	})})
	srv, served := proxyServer(t, e)

	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()
	r, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/events", nil)
	if err != nil {
		t.Fatal(err)
	}
	r.Host = "open.example.com"
	res, err := srv.Client().Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("status %d, Content-Type %q", res.StatusCode, res.Header.Get("Content-Type"))
	}
	br := bufio.NewReader(res.Body)
	// The upstream is still blocked: this only returns if the proxy flushed the first event.
	if line, err := br.ReadString('\n'); err != nil || line != "data: one\n" {
		t.Fatalf("first event = %q, %v (not flushed before the upstream finished?)", line, err)
	}
	stop()
	rest, err := io.ReadAll(br)
	if err != nil {
		t.Fatal(err)
	}
	if string(rest) != "\ndata: two\n\n" {
		t.Errorf("rest of the stream = %q", rest)
	}
	waitServed(t, served)
	if line := e.lastAccess(t); line["status"] != float64(http.StatusOK) || line["bytes"] != float64(len("data: one\n\ndata: two\n\n")) {
		t.Errorf("access line = %v", line)
	}
}

func waitServed(t testing.TB, served <-chan struct{}) {
	t.Helper()
	select {
	case <-served:
	case <-time.After(bound):
		t.Fatal("proxy did not finish the request")
	}
}

// wsUpstream switches to a line echo protocol on "Upgrade: websocket".
func wsUpstream(t testing.TB) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
			http.Error(w, "upgrade required", http.StatusUpgradeRequired)
			return
		}
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(bound))
		_, _ = brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
			"Sec-WebSocket-Accept: " + proxy.WebSocketAccept(r.Header.Get("Sec-WebSocket-Key")) + "\r\nX-Seen-Forwarded-For: " +
			r.Header.Get("X-Forwarded-For") + "\r\n\r\n")
		_ = brw.Flush()
		line, err := brw.ReadString('\n')
		if err != nil {
			return
		}
		_, _ = brw.WriteString("echo: " + line)
		_ = brw.Flush()
	})
}

// TestWebSocketUpgrade checks that a protocol upgrade passes through the proxy both ways, and
// that the access log records 101.
func TestWebSocketUpgrade(t *testing.T) {
	e := newEnv(t, setup{upstream: wsUpstream(t)})
	srv, served := proxyServer(t, e)
	conn, err := net.DialTimeout("tcp", srv.Listener.Addr().String(), bound)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(bound))
	_, err = io.WriteString(conn, "GET /socket HTTP/1.1\r\nHost: open.example.com\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"+
		"Sec-WebSocket-Key: "+testWebSocketKey+"\r\nSec-WebSocket-Version: 13\r\nGatehouse-Jwt-Assertion: forged\r\n\r\n")
	if err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusSwitchingProtocols || !strings.EqualFold(res.Header.Get("Upgrade"), "websocket") {
		t.Fatalf("status %d, headers %v", res.StatusCode, res.Header)
	}
	if got := res.Header.Get("X-Seen-Forwarded-For"); got != defaultClient.IP.String() {
		t.Errorf("upstream saw X-Forwarded-For %q", got)
	}
	if _, err := io.WriteString(conn, "ping\n"); err != nil {
		t.Fatal(err)
	}
	if line, err := br.ReadString('\n'); err != nil || line != "echo: ping\n" {
		t.Fatalf("echo = %q, %v", line, err)
	}
	conn.Close() // the proxy copies until both sides are done
	waitServed(t, served)
	if line := e.lastAccess(t); line["status"] != float64(http.StatusSwitchingProtocols) || line["decision"] != "forward" {
		t.Errorf("access line = %v", line)
	}
}

// TestUpgradeWithoutHijacker checks that an upgrade answered through a ResponseWriter that
// cannot be hijacked fails as a bad gateway instead of hanging.
func TestUpgradeWithoutHijacker(t *testing.T) {
	e := newEnv(t, setup{upstream: wsUpstream(t)})
	r := req(http.MethodGet, "http://open.example.com/socket", nil)
	setWebSocketHandshake(r.Header)
	assertErrorPage(t, e.serve(t, r), http.StatusBadGateway, "The application is not reachable right now.", "Hijack", "hijack")
}

func TestNewTransport(t *testing.T) {
	tr := proxy.NewTransport(7 * time.Second)
	if tr.Proxy != nil {
		t.Error("upstream traffic must not go through an environment proxy")
	}
	if tr.ResponseHeaderTimeout != 7*time.Second || tr.TLSHandshakeTimeout == 0 || tr.DialContext == nil || !tr.ForceAttemptHTTP2 {
		t.Errorf("transport = %+v", tr)
	}
}
