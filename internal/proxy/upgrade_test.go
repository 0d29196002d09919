package proxy_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/proxy"
)

// testWebSocketKey is a valid Sec-WebSocket-Key (the example of RFC 6455).
const testWebSocketKey = "dGhlIHNhbXBsZSBub25jZQ=="

// setWebSocketHandshake adds a valid WebSocket client handshake to h.
func setWebSocketHandshake(h http.Header) {
	h.Set("Connection", "Upgrade")
	h.Set("Upgrade", "websocket")
	h.Set("Sec-WebSocket-Key", testWebSocketKey)
	h.Set("Sec-WebSocket-Version", "13")
}

func TestWebSocketAccept(t *testing.T) {
	// The worked example of RFC 6455, section 1.3.
	if got := proxy.WebSocketAccept(testWebSocketKey); got != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Errorf("accept = %q", got)
	}
}

// TestInvalidWebSocketHandshakes: a request whose Upgrade names websocket but whose handshake is
// not valid is refused with 400 before the origin is contacted, and the connection is closed.
func TestInvalidWebSocketHandshakes(t *testing.T) {
	tests := []struct {
		name string
		edit func(r *http.Request)
	}{
		{"no key", func(r *http.Request) { r.Header.Del("Sec-WebSocket-Key") }},
		{"short key", func(r *http.Request) { r.Header.Set("Sec-WebSocket-Key", "c2hvcnQ=") }},
		{"key not base64", func(r *http.Request) { r.Header.Set("Sec-WebSocket-Key", "!!!!!!!!!!!!!!!!!!!!!!==") }},
		{"key unpadded", func(r *http.Request) { r.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ") }},
		{"two keys", func(r *http.Request) { r.Header.Add("Sec-WebSocket-Key", testWebSocketKey) }},
		{"no version", func(r *http.Request) { r.Header.Del("Sec-WebSocket-Version") }},
		{"version 8", func(r *http.Request) { r.Header.Set("Sec-WebSocket-Version", "8") }},
		{"two versions", func(r *http.Request) { r.Header.Add("Sec-WebSocket-Version", "13") }},
		{"POST", func(r *http.Request) { r.Method = http.MethodPost }},
		{"HTTP/1.0", func(r *http.Request) { r.Proto, r.ProtoMinor = "HTTP/1.0", 0 }},
		{"connection without upgrade", func(r *http.Request) { r.Header.Set("Connection", "keep-alive") }},
		{"websocket and h2c", func(r *http.Request) { r.Header.Set("Upgrade", "websocket, h2c") }},
		{"h2c and websocket", func(r *http.Request) { r.Header.Set("Upgrade", "h2c, websocket") }},
		{"two upgrade lines", func(r *http.Request) { r.Header.Add("Upgrade", "websocket") }},
		{"body", func(r *http.Request) {
			r.Body, r.ContentLength = io.NopCloser(strings.NewReader("x")), 1
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, setup{upstream: wsUpstream(t)})
			r := req(http.MethodGet, "http://open.example.com/socket", nil)
			setWebSocketHandshake(r.Header)
			tt.edit(r)
			w := e.serve(t, r)
			assertErrorPage(t, w, http.StatusBadRequest, "The WebSocket handshake is not valid.")
			if w.Header().Get("Connection") != "close" {
				t.Errorf("Connection = %q, want close", w.Header().Get("Connection"))
			}
			if got := e.warnReason(t); got != "invalid-websocket-handshake" {
				t.Errorf("reason = %q", got)
			}
		})
	}
}

// TestIgnoredUpgradeOffers: an upgrade to anything but WebSocket (h2c with HTTP2-Settings,
// TLS, made-up protocols) is ignored: the origin gets an ordinary request without the offer.
func TestIgnoredUpgradeOffers(t *testing.T) {
	for _, up := range []string{"h2c", "H2C", "TLS/1.2", "foo/1, bar", "websocket/13", "websockets"} {
		t.Run(up, func(t *testing.T) {
			e := newEnv(t, setup{})
			r := req(http.MethodGet, "http://open.example.com/x", nil)
			r.Header.Set("Connection", "Upgrade, HTTP2-Settings, X-Keep")
			r.Header.Set("Upgrade", up)
			r.Header.Set("HTTP2-Settings", "AAMAAABkAAQCAAAAAAIAAAAA")
			r.Header.Set("X-Keep", "hop")
			got := e.forwarded(t, r)
			for _, name := range []string{"Upgrade", "Http2-Settings", "Connection", "X-Keep"} {
				if v := got.Header.Values(name); len(v) > 0 {
					t.Errorf("origin saw %s: %q", name, v)
				}
			}
		})
	}
	// HTTP2-Settings alone (no Upgrade) is dropped too.
	e := newEnv(t, setup{})
	r := req(http.MethodGet, "http://open.example.com/x", nil)
	r.Header.Set("HTTP2-Settings", "AAMAAABkAAQCAAAAAAIAAAAA")
	if got := e.forwarded(t, r); len(got.Header.Values("Http2-Settings")) > 0 {
		t.Errorf("origin saw HTTP2-Settings: %v", got.Header)
	}
}

// TestConnectRefused: CONNECT never reaches an application.
func TestConnectRefused(t *testing.T) {
	e := newEnv(t, setup{})
	// As net/http reads "CONNECT open.example.com:443 HTTP/1.1" (authority form, no path), and
	// as HTTP/2 extended CONNECT would carry a path.
	authority := req(http.MethodConnect, "http://open.example.com/", nil)
	authority.Host, authority.URL = "open.example.com:443", &url.URL{Host: "open.example.com:443"}
	withPath := req(http.MethodGet, "http://open.example.com/x", nil)
	withPath.Method = http.MethodConnect
	if w := e.serve(t, authority); w.Code != http.StatusMethodNotAllowed && w.Code != http.StatusBadRequest {
		t.Errorf("CONNECT in authority form: %d", w.Code)
	}
	assertErrorPage(t, e.serve(t, withPath), http.StatusMethodNotAllowed, "This address does not accept CONNECT requests.")
	if e.hits.Load() != 0 {
		t.Errorf("upstream handled %d requests", e.hits.Load())
	}
}

// switchingUpstream answers every request with 101 and the given extra header lines (after
// the status line), then records whatever arrives on the switched connection: an origin that
// switches protocols carelessly and would serve HTTP inside the tunnel.
type switchingUpstream struct {
	t       testing.TB
	headers func(r *http.Request) string
	mu      sync.Mutex
	tunnel  strings.Builder
	done    chan struct{}
}

func newSwitchingUpstream(t testing.TB, headers func(r *http.Request) string) *switchingUpstream {
	return &switchingUpstream{t: t, headers: headers, done: make(chan struct{}, 16)}
}

func (u *switchingUpstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		u.t.Error(err)
		return
	}
	defer func() { u.done <- struct{}{} }()
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(bound))
	_, _ = brw.WriteString("HTTP/1.1 101 Switching Protocols\r\n" + u.headers(r) + "\r\n")
	_ = brw.Flush()
	b, _ := io.ReadAll(brw)
	u.mu.Lock()
	u.tunnel.Write(b)
	u.mu.Unlock()
}

// received waits until the upstream's switched connection ended and returns what came through.
func (u *switchingUpstream) received(t testing.TB) string {
	t.Helper()
	select {
	case <-u.done:
	case <-time.After(bound):
		t.Fatal("the origin's switched connection never ended")
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.tunnel.String()
}

// TestOriginSwitchMustCompleteTheHandshake: a 101 that does not complete the WebSocket handshake
// the proxy forwarded fails with 502 and a closed client connection; nothing the client sends
// afterwards reaches the origin's switched connection.
func TestOriginSwitchMustCompleteTheHandshake(t *testing.T) {
	good := "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + proxy.WebSocketAccept(testWebSocketKey) + "\r\n"
	websocket := "GET /socket HTTP/1.1\r\nHost: open.example.com\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n" +
		"Sec-WebSocket-Key: " + testWebSocketKey + "\r\nSec-WebSocket-Version: 13\r\n\r\n"
	h2c := "GET /socket HTTP/1.1\r\nHost: open.example.com\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n" +
		"HTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\n"
	tests := []struct {
		name, request, answer string
	}{
		{"no accept", websocket, "Upgrade: websocket\r\nConnection: Upgrade\r\n"},
		{"wrong accept", websocket, "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo\r\n"},
		{"accept of another key", websocket, "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " +
			proxy.WebSocketAccept("AQIDBAUGBwgJCgsMDQ4PEA==") + "\r\n"},
		{"accept twice", websocket, good + "Sec-WebSocket-Accept: x\r\n"},
		{"upgrade h2c", websocket, "Upgrade: h2c\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + proxy.WebSocketAccept(testWebSocketKey) + "\r\n"},
		{"no connection upgrade", websocket, "Upgrade: websocket\r\nSec-WebSocket-Accept: " + proxy.WebSocketAccept(testWebSocketKey) + "\r\n"},
		{"h2c offer answered", h2c, "Upgrade: h2c\r\nConnection: Upgrade\r\n"},
		{"h2c offer answered as websocket", h2c, good},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up := newSwitchingUpstream(t, func(*http.Request) string { return tt.answer })
			e := newEnv(t, setup{upstream: up})
			srv, served := proxyServer(t, e)
			conn, err := net.DialTimeout("tcp", srv.Listener.Addr().String(), bound)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			_ = conn.SetDeadline(time.Now().Add(bound))
			if _, err := io.WriteString(conn, tt.request); err != nil {
				t.Fatal(err)
			}
			br := bufio.NewReader(conn)
			res, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, res.Body)
			if res.StatusCode != http.StatusBadGateway || !res.Close {
				t.Fatalf("status %d, close %v; want 502 and a closed connection", res.StatusCode, res.Close)
			}
			// Whatever the client sends now must not reach the origin's switched connection.
			_, _ = io.WriteString(conn, "GET /admin/secret HTTP/1.1\r\nHost: open.example.com\r\n\r\n")
			if got := up.received(t); got != "" {
				t.Errorf("the origin's switched connection received %q", got)
			}
			waitServed(t, served)
			if rest, _ := io.ReadAll(br); len(rest) != 0 {
				t.Errorf("after the 502 the client got %q", rest)
			}
		})
	}
}

// TestBypassPathTunnelCarriesNoRequests is the reported attack: on a bypass path whose origin
// answers 101 to anything, an h2c upgrade offer followed by a raw GET for a protected path. The
// offer is not forwarded, the 101 fails the request, and the raw GET never reaches the origin
// through a tunnel; sent on its own it is a new request, decided on its own path.
func TestBypassPathTunnelCarriesNoRequests(t *testing.T) {
	up := newSwitchingUpstream(t, func(r *http.Request) string {
		return "Upgrade: " + r.Header.Get("Upgrade") + "\r\nConnection: Upgrade\r\n"
	})
	e := newEnv(t, setup{upstream: up})
	srv, served := proxyServer(t, e)
	conn, err := net.DialTimeout("tcp", srv.Listener.Addr().String(), bound)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(bound))
	_, err = io.WriteString(conn, "GET /admin/public/x HTTP/1.1\r\nHost: app.example.com\r\nConnection: Upgrade, HTTP2-Settings\r\n"+
		"Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\n"+
		"GET /admin/secret HTTP/1.1\r\nHost: app.example.com\r\n\r\n")
	if err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, res.Body)
	if res.StatusCode == http.StatusSwitchingProtocols {
		t.Fatal("the bypass path's origin got a tunnel")
	}
	if got := up.received(t); strings.Contains(got, "/admin/secret") {
		t.Errorf("the raw request reached the origin through a tunnel: %q", got)
	}
	waitServed(t, served)
	if !res.Close {
		t.Error("the connection that offered an upgrade stays open")
	}
}
