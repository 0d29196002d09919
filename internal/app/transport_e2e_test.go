package app_test

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/gatehouse/gatehouse/internal/proxy"
	"github.com/gatehouse/gatehouse/internal/testenv"
)

// transportConfig: a bypass application (open.localhost), a protected one (app.localhost, with
// a bypass path /public), and a 1 KiB body limit.
const transportConfig = `
organization: {name: T, auth_domain: auth.localhost}
identity_providers: [{id: pin, name: PIN, type: onetimepin}]
applications:
  - {id: open, name: Open, destinations: [open.localhost], upstream: UPSTREAM, policies: [{ref: bypass, precedence: 1}]}
  - {id: app, name: App, destinations: [app.localhost], upstream: UPSTREAM, policies: [{ref: example, precedence: 1}]}
  - {id: public, name: Public, destinations: [app.localhost/public], upstream: UPSTREAM, policies: [{ref: bypass, precedence: 1}]}
policies:
  - {id: bypass, decision: bypass, include: [{everyone: {}}]}
  - {id: example, decision: allow, include: [{email_domain: {domain: example.com}}]}
limits:
  max_request_body_bytes: 1KiB
`

// originRecord is what the origin got of one request: whether its body arrived complete.
type originRecord struct {
	path     string
	body     int
	complete bool
}

// recordingOrigin reads every request body to its end and records whether it was complete.
type recordingOrigin struct {
	mu   sync.Mutex
	recs []originRecord
	seen chan originRecord
}

func newRecordingOrigin(e *testenv.Env) *recordingOrigin {
	o := &recordingOrigin{seen: make(chan originRecord, 64)}
	e.Upstream.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		rec := originRecord{path: r.URL.Path, body: len(b), complete: err == nil}
		o.mu.Lock()
		o.recs = append(o.recs, rec)
		o.mu.Unlock()
		o.seen <- rec
		_, _ = io.WriteString(w, "origin")
	})
	return o
}

func (o *recordingOrigin) records() []originRecord {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]originRecord(nil), o.recs...)
}

// next waits for the origin's next request.
func (o *recordingOrigin) next(t *testing.T) originRecord {
	t.Helper()
	select {
	case r := <-o.seen:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("the origin got no request")
	}
	return originRecord{}
}

// rawExchange writes raw to Gatehouse on a new connection (then closes the writing side when
// halfClose) and reads every response until the connection ends.
func rawExchange(t *testing.T, e *testenv.Env, raw string, halfClose bool) []*http.Response {
	t.Helper()
	conn, err := net.DialTimeout("tcp", e.Addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	go func() {
		_, _ = io.WriteString(conn, raw)
		if halfClose {
			_ = conn.(*net.TCPConn).CloseWrite()
		}
	}()
	br := bufio.NewReader(conn)
	var out []*http.Response
	for {
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatalf("the connection stayed open after %d responses", len(out))
			}
			return out
		}
		_, _ = io.Copy(io.Discard, res.Body)
		out = append(out, res)
	}
}

const smuggledRequest = "GET /smuggled HTTP/1.1\r\nHost: open.localhost\r\n\r\n"

// TestAmbiguousFramingThroughGatehouse: requests whose framing a front load balancer could read
// differently get 400 and a closed connection from Gatehouse; neither they nor what follows them
// on the connection reach the origin.
func TestAmbiguousFramingThroughGatehouse(t *testing.T) {
	e := testenv.Start(t, transportConfig)
	origin := newRecordingOrigin(e)
	for name, head := range map[string]string{
		"CL then TE":       "POST /a HTTP/1.1\r\nHost: open.localhost\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
		"TE then CL":       "POST /a HTTP/1.1\r\nHost: open.localhost\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n",
		"TE obs-folded":    "POST /a HTTP/1.1\r\nHost: open.localhost\r\nContent-Length: 5\r\nTransfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n",
		"TE in a fold":     "POST /a HTTP/1.1\r\nHost: open.localhost\r\nX: y\r\n Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n",
		"chunked,identity": "POST /a HTTP/1.1\r\nHost: open.localhost\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n",
		"HTTP/1.0 TE+CL":   "POST /a HTTP/1.0\r\nHost: open.localhost\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n",
		"two CL":           "POST /a HTTP/1.1\r\nHost: open.localhost\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n0\r\n\r\n",
		"bare LF":          "POST /a HTTP/1.1\nHost: open.localhost\nContent-Length: 5\n\n0\r\n\r\n",
		"TE look-alike":    "POST /a HTTP/1.1\r\nHost: open.localhost\r\nTransfer_Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n",
	} {
		t.Run(name, func(t *testing.T) {
			responses := rawExchange(t, e, head+smuggledRequest, false)
			if len(responses) != 1 || responses[0].StatusCode != http.StatusBadRequest || !responses[0].Close {
				t.Fatalf("responses %v, want one 400 with Connection: close", statuses(responses))
			}
			if recs := origin.records(); len(recs) != 0 {
				t.Fatalf("the origin got %v", recs)
			}
		})
	}
	if !strings.Contains(e.Logs.String(), "request refused: ambiguous framing") {
		t.Error("no log line for refused framing")
	}
	if got := metricValue(t, e, `gatehouse_http_framing_rejected_total{reason="content-length-and-transfer-encoding"}`); got != "2" {
		t.Errorf("framing metric = %q", got)
	}
}

func statuses(rs []*http.Response) []int {
	var out []int
	for _, r := range rs {
		out = append(out, r.StatusCode)
	}
	return out
}

// TestMalformedBodiesReachTheOriginAborted: a chunked body that breaks off in malformed framing,
// or ends early, reaches the origin as an aborted request, never as a complete one with a
// truncated body; the rest of the connection is never read as a request.
func TestMalformedBodiesReachTheOriginAborted(t *testing.T) {
	e := testenv.Start(t, transportConfig)
	origin := newRecordingOrigin(e)
	const head = "POST /body HTTP/1.1\r\nHost: open.localhost\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n"
	for _, tt := range []struct {
		name, rest string
		halfClose  bool
	}{
		{"bad chunk size", "zz\r\nworld\r\n0\r\n\r\n" + smuggledRequest, false},
		{"chunk size 0x", "0x5\r\nworld\r\n0\r\n\r\n" + smuggledRequest, false},
		{"missing CRLF after data", "5\r\nworldX\r\n0\r\n\r\n" + smuggledRequest, false},
		{"bare LF after size", "5\nworld\r\n0\r\n\r\n" + smuggledRequest, false},
		{"oversize chunk extension", "5;a=" + strings.Repeat("b", 5000) + "\r\nworld\r\n0\r\n\r\n" + smuggledRequest, false},
		{"bare LF in trailer", "0\r\nX: 1\n\r\n" + smuggledRequest, false},
		{"truncated final chunk", "5\r\nwor", true},
		{"no last chunk", "", true},
		{"last chunk without end", "0\r\n", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rawExchange(t, e, head+tt.rest, tt.halfClose)
			rec := origin.next(t)
			if rec.path != "/body" || rec.complete {
				t.Fatalf("the origin got %+v, want an aborted /body", rec)
			}
			for _, r := range origin.records() {
				if r.path == "/smuggled" {
					t.Fatal("the request after the malformed body reached the origin")
				}
			}
		})
	}
}

// TestBodyOverTheLimit: a declared length over limits.max_request_body_bytes is refused with 413
// before the origin is contacted; a chunked body that grows over it reaches the origin aborted,
// over HTTP/1.1 and HTTP/2 alike.
func TestBodyOverTheLimit(t *testing.T) {
	e := testenv.Start(t, transportConfig)
	origin := newRecordingOrigin(e)
	responses := rawExchange(t, e, "POST /declared HTTP/1.1\r\nHost: open.localhost\r\nContent-Length: 2048\r\n\r\n"+
		strings.Repeat("a", 2048)+smuggledRequest, false)
	if len(responses) != 1 || responses[0].StatusCode != http.StatusRequestEntityTooLarge || !responses[0].Close {
		t.Fatalf("declared length over the limit: %v", statuses(responses))
	}
	if recs := origin.records(); len(recs) != 0 {
		t.Fatalf("the origin got %v", recs)
	}

	// The first chunk fits (and is streamed to the origin); the second goes over.
	responses = rawExchange(t, e, "POST /chunked HTTP/1.1\r\nHost: open.localhost\r\nTransfer-Encoding: chunked\r\n\r\n"+
		"200\r\n"+strings.Repeat("a", 512)+"\r\n800\r\n"+strings.Repeat("b", 2048)+"\r\n0\r\n\r\n"+smuggledRequest, false)
	if len(responses) != 1 || responses[0].StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("chunked body over the limit: %v", statuses(responses))
	}
	if rec := origin.next(t); rec.path != "/chunked" || rec.complete {
		t.Fatalf("the origin got %+v, want an aborted /chunked", rec)
	}

	// HTTP/2 (prior knowledge on the plain listener), a body of unknown length.
	h2 := &http.Client{Transport: &http.Transport{Protocols: h2cOnly()}, Timeout: 10 * time.Second}
	body := io.MultiReader(bytes.NewReader(make([]byte, 512)), slowReader{}, bytes.NewReader(make([]byte, 2048)))
	req, _ := http.NewRequest(http.MethodPost, "http://"+e.Addr+"/h2", body)
	req.Host = "open.localhost"
	if resp, err := h2.Do(req); err == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.ProtoMajor != 2 || resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("HTTP/2 body over the limit: %s %d", resp.Proto, resp.StatusCode)
		}
	}
	if rec := origin.next(t); rec.path != "/h2" || rec.complete {
		t.Fatalf("the origin got %+v, want an aborted /h2", rec)
	}
}

// slowReader returns nothing once, so that the first part of a body is sent on its own.
type slowReader struct{}

func (slowReader) Read([]byte) (int, error) { return 0, io.EOF }

func h2cOnly() *http.Protocols {
	p := new(http.Protocols)
	p.SetUnencryptedHTTP2(true)
	return p
}

// TestUpgradeOnBypassPathCarriesNoRequests is the reported attack through a running Gatehouse:
// on a bypass path whose origin answers 101 to anything, an upgrade offer followed by a raw
// request for a protected path. No tunnel opens and the raw request never reaches the origin.
func TestUpgradeOnBypassPathCarriesNoRequests(t *testing.T) {
	e := testenv.Start(t, transportConfig)
	var mu sync.Mutex
	var tunnel bytes.Buffer
	var requests []string
	e.Upstream.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		requests = append(requests, r.URL.Path)
		mu.Unlock()
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
		_, _ = brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: " + r.Header.Get("Upgrade") + "\r\nConnection: Upgrade\r\n\r\n")
		_ = brw.Flush()
		b, _ := io.ReadAll(brw)
		mu.Lock()
		tunnel.Write(b)
		mu.Unlock()
	})
	for name, offer := range map[string]string{
		"h2c":       "Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n",
		"websocket": "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n",
		"foo":       "Connection: Upgrade\r\nUpgrade: foo/1\r\n",
	} {
		t.Run(name, func(t *testing.T) {
			responses := rawExchange(t, e, "GET /public/x HTTP/1.1\r\nHost: app.localhost\r\n"+offer+"\r\n"+
				"GET /admin/secret HTTP/1.1\r\nHost: app.localhost\r\n\r\n", false)
			if len(responses) != 1 || responses[0].StatusCode == http.StatusSwitchingProtocols || !responses[0].Close {
				t.Fatalf("responses %v, want one non-101 with Connection: close", statuses(responses))
			}
		})
	}
	// The origin's switched connections end when Gatehouse drops them; nothing of the raw
	// request ever came through.
	mu.Lock()
	defer mu.Unlock()
	if strings.Contains(tunnel.String(), "/admin") {
		t.Errorf("a raw request reached the origin through a tunnel: %q", tunnel.String())
	}
	for _, p := range requests {
		if p != "/public/x" {
			t.Errorf("the origin got %s", p)
		}
	}
}

// TestRapidResetThroughGatehouse: one HTTP/2 connection that opens streams and resets each as
// soon as its request reached the application makes at most the reset budget's worth of
// upstream requests (plus those in flight and the budget's refill while the test runs) before
// Gatehouse closes it. The report this answers saw about 1,780 from one connection.
func TestRapidResetThroughGatehouse(t *testing.T) {
	const resetBurst, maxStreams, attempts = 20, 10, 2000
	e := testenv.Start(t, transportConfig+"  http2_max_concurrent_streams: 10\n  http2_stream_burst: 100000\n  http2_resets_per_second: 1\n  http2_reset_burst: 20\n")
	var upstream atomic.Int64
	reached := make(chan struct{}, attempts)
	e.Upstream.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		upstream.Add(1)
		reached <- struct{}{}
		<-r.Context().Done()
	})
	start := time.Now()
	conn, err := net.DialTimeout("tcp", e.Addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	_, _ = io.WriteString(conn, http2.ClientPreface)
	fr := http2.NewFramer(conn, conn)
	_ = fr.WriteSettings()
	closed := make(chan struct{})
	go func() {
		defer close(closed)
		rd := http2.NewFramer(io.Discard, conn)
		for {
			if _, err := rd.ReadFrame(); err != nil {
				return
			}
		}
	}()
	var hbuf bytes.Buffer
	enc := hpack.NewEncoder(&hbuf)
	sent := 0
loop:
	for i := range attempts {
		id := uint32(2*i + 1)
		hbuf.Reset()
		for _, f := range [][2]string{{":method", "GET"}, {":scheme", "http"}, {":authority", "open.localhost"}, {":path", "/rr"}} {
			_ = enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
		}
		if fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: hbuf.Bytes(), EndStream: true, EndHeaders: true}) != nil {
			break
		}
		select {
		case <-reached:
		case <-closed:
			break loop
		case <-time.After(10 * time.Second):
			t.Fatal("a request never reached the application")
		}
		if fr.WriteRSTStream(id, http2.ErrCodeCancel) != nil {
			break
		}
		sent++
	}
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatalf("the connection is still open after %d reset streams", sent)
	}
	// The reset budget refills at 1/s while the test runs.
	refill := int64(time.Since(start).Seconds()) + 1
	if got := upstream.Load(); got > resetBurst+maxStreams+1+refill {
		t.Errorf("%d upstream requests from one connection, want at most %d", got, resetBurst+maxStreams+1+refill)
	}
	if got := metricValue(t, e, `gatehouse_connections_closed_total{reason="http2-reset-rate"}`); got != "1" {
		t.Errorf("closed-connection metric = %q", got)
	}
	if !strings.Contains(e.Logs.String(), "over its HTTP/2 budget") {
		t.Error("no log line for the closed connection")
	}
	t.Logf("%d upstream requests, %d reset streams", upstream.Load(), sent)
}

// TestWebSocketTunnelCarriesOnlyFrames: even after a complete WebSocket handshake (the origin's
// 101 carries the right Sec-WebSocket-Accept), only well-formed client frames go through the
// tunnel: a raw HTTP request sent into it never reaches the origin, and the tunnel closes.
func TestWebSocketTunnelCarriesOnlyFrames(t *testing.T) {
	e := testenv.Start(t, transportConfig)
	got := make(chan []byte, 1)
	e.Upstream.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
		_, _ = brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " +
			proxy.WebSocketAccept(r.Header.Get("Sec-WebSocket-Key")) + "\r\n\r\n")
		_ = brw.Flush()
		b, _ := io.ReadAll(brw) // an origin that would read HTTP from the tunnel
		got <- b
	})
	conn, err := net.DialTimeout("tcp", e.Addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	_, _ = io.WriteString(conn, "GET /public/ws HTTP/1.1\r\nHost: app.localhost\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
	br := bufio.NewReader(conn)
	res, err := http.ReadResponse(br, nil)
	if err != nil || res.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake: %v, %v", res, err)
	}
	frame := []byte{0x81, 0x82, 1, 2, 3, 4, 'h' ^ 1, 'i' ^ 2} // a masked text frame, "hi"
	_, _ = conn.Write(append(frame, "GET /admin/secret HTTP/1.1\r\nHost: app.localhost\r\n\r\n"...))
	select {
	case b := <-got:
		if !bytes.Equal(b, frame) {
			t.Errorf("the origin received %q, want only the frame", b)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the tunnel stayed open after a raw request was sent into it")
	}
	if rest, err := io.ReadAll(br); err != nil && !errors.Is(err, net.ErrClosed) && len(rest) != 0 {
		t.Errorf("after the tunnel closed: %q, %v", rest, err)
	}
}

// TestHTTP2ContentLengthMismatch: an HTTP/2 request whose DATA disagrees with its content-length
// (the H2.CL desync, against an HTTP/1.1 origin) reaches the origin at most as an aborted
// request; what the client appended never becomes a request of its own.
func TestHTTP2ContentLengthMismatch(t *testing.T) {
	e := testenv.Start(t, transportConfig)
	origin := newRecordingOrigin(e)
	for name, data := range map[string]string{
		"more than declared": "abc" + smuggledRequest,
		"less than declared": "a",
	} {
		t.Run(name, func(t *testing.T) {
			conn, err := net.DialTimeout("tcp", e.Addr, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
			_, _ = io.WriteString(conn, http2.ClientPreface)
			fr := http2.NewFramer(conn, conn)
			_ = fr.WriteSettings()
			var hbuf bytes.Buffer
			enc := hpack.NewEncoder(&hbuf)
			for _, f := range [][2]string{{":method", "POST"}, {":scheme", "http"}, {":authority", "open.localhost"}, {":path", "/h2cl"}, {"content-length", "3"}} {
				_ = enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
			}
			_ = fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: hbuf.Bytes(), EndHeaders: true})
			_ = fr.WriteData(1, true, []byte(data))
			// Read until the stream ends (a response or a reset) or the connection does.
			rd := http2.NewFramer(io.Discard, conn)
			for {
				f, err := rd.ReadFrame()
				if err != nil {
					break
				}
				if f.Header().StreamID == 1 && (f.Header().Flags.Has(http2.FlagDataEndStream) || f.Header().Type == http2.FrameRSTStream) {
					break
				}
			}
			// The request may not have reached the origin at all; a marker request through
			// Gatehouse tells when the origin has seen everything sent before it.
			marker, _ := http.NewRequest(http.MethodGet, "http://"+e.Addr+"/marker-"+strings.ReplaceAll(name, " ", "-"), nil)
			marker.Host = "open.localhost"
			if res, err := http.DefaultClient.Do(marker); err == nil {
				res.Body.Close()
			}
			for rec := origin.next(t); rec.path != marker.URL.Path; rec = origin.next(t) {
			}
			for _, r := range origin.records() {
				if r.path == "/smuggled" || (r.path == "/h2cl" && r.complete) {
					t.Errorf("the origin got %+v", r)
				}
			}
		})
	}
}
