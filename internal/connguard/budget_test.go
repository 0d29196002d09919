package connguard

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

var frozen = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

func TestBucket(t *testing.T) {
	now := frozen
	b := bucket{rate: 2, burst: 3}
	for i := range 3 {
		if !b.take(now) {
			t.Fatalf("take %d of the burst refused", i+1)
		}
	}
	if b.take(now) {
		t.Fatal("took more than the burst")
	}
	now = now.Add(500 * time.Millisecond) // one token at 2/s
	if !b.take(now) || b.take(now) {
		t.Fatal("refill is not rate × elapsed")
	}
	now = now.Add(time.Hour)
	for i := range 3 {
		if !b.take(now) {
			t.Fatalf("after a long pause, take %d refused", i+1)
		}
	}
	if b.take(now) {
		t.Fatal("refill exceeds the burst")
	}
	if b.take(now.Add(-time.Minute)) {
		t.Fatal("a clock going backwards refilled the bucket")
	}
}

// h2Server serves h (behind a Guard with limits and a frozen clock) over unencrypted HTTP/2 with
// prior knowledge; closed counts the connections the guard closed.
func h2Server(t *testing.T, limits HTTP2Limits, maxStreams int, h http.Handler) (addr string, closed *atomic.Int64) {
	t.Helper()
	closed = &atomic.Int64{}
	guard := NewGuard(limits, func() time.Time { return frozen }, func(net.Conn, string) { closed.Add(1) })
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := new(http.Protocols)
	p.SetHTTP1(true)
	p.SetUnencryptedHTTP2(true)
	srv := &http.Server{Handler: guard.Handler(h), Protocols: p, ConnState: ConnState, ConnContext: guard.ConnContext,
		HTTP2: &http.HTTP2Config{MaxConcurrentStreams: maxStreams}}
	go func() { _ = srv.Serve(NewListener(inner, Options{PriorKnowledgeHTTP2: true})) }()
	t.Cleanup(func() { _ = srv.Close() })
	return inner.Addr().String(), closed
}

// h2Client is a raw HTTP/2 client connection: it writes frames as told and reads whatever comes
// back until the connection ends.
type h2Client struct {
	conn   net.Conn
	fr     *http2.Framer
	hbuf   bytes.Buffer
	enc    *hpack.Encoder
	closed chan struct{}
}

func dialH2(t *testing.T, addr string) *h2Client {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, bound)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(2 * bound))
	c := &h2Client{conn: conn, closed: make(chan struct{})}
	c.enc = hpack.NewEncoder(&c.hbuf)
	if _, err := io.WriteString(conn, http2.ClientPreface); err != nil {
		t.Fatal(err)
	}
	c.fr = http2.NewFramer(conn, conn)
	if err := c.fr.WriteSettings(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(c.closed)
		rd := http2.NewFramer(io.Discard, conn)
		for {
			// The server's SETTINGS go unacknowledged: a Framer must not be written to by two
			// goroutines, and net/http does not insist.
			if _, err := rd.ReadFrame(); err != nil {
				return
			}
		}
	}()
	return c
}

// request opens stream id with a GET and no body.
func (c *h2Client) request(id uint32) error {
	c.hbuf.Reset()
	for _, f := range [][2]string{{":method", "GET"}, {":scheme", "http"}, {":authority", "a"}, {":path", "/"}} {
		_ = c.enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
	}
	return c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: c.hbuf.Bytes(), EndStream: true, EndHeaders: true})
}

// waitClosed waits for the server to close the connection.
func (c *h2Client) waitClosed(t *testing.T) {
	t.Helper()
	select {
	case <-c.closed:
	case <-time.After(bound):
		t.Fatal("the connection was not closed")
	}
}

// TestRapidResetIsBounded: a client that opens streams and resets them, in a loop on one
// connection, gets at most ResetBurst resets (plus what was in flight) worth of upstream work
// before its connection is closed; the clock does not move, so nothing refills. The client waits
// until each request has reached the upstream step before resetting it: that is the worst case
// (a client that resets at once mostly loses its streams before their handlers start, and
// net/http ends a connection whose queue of not-yet-started handlers grows too long).
func TestRapidResetIsBounded(t *testing.T) {
	const resetBurst, maxStreams, attempts = 20, 10, 2000
	var upstream atomic.Int64
	started := make(chan struct{}, attempts)
	addr, closed := h2Server(t, HTTP2Limits{StreamsPerSecond: 1, StreamBurst: 10 * attempts, ResetsPerSecond: 1, ResetBurst: resetBurst}, maxStreams,
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			upstream.Add(1) // stands for the request to the application
			started <- struct{}{}
			<-r.Context().Done()
		}))
	c := dialH2(t, addr)
	sent := 0
loop:
	for i := range attempts {
		id := uint32(2*i + 1)
		if c.request(id) != nil {
			break
		}
		select {
		case <-started:
		case <-c.closed:
			break loop
		case <-time.After(bound):
			t.Fatalf("a request never reached the handler (%d sent)", sent)
		}
		if c.fr.WriteRSTStream(id, http2.ErrCodeCancel) != nil {
			break
		}
		sent++
	}
	if sent == attempts {
		t.Fatalf("all %d streams were reset without the connection closing (%d upstream)", sent, upstream.Load())
	}
	c.waitClosed(t)
	if got := upstream.Load(); got > resetBurst+maxStreams+1 {
		t.Errorf("%d upstream requests from %d reset streams, want at most %d", got, sent, resetBurst+maxStreams+1)
	}
	if closed.Load() != 1 {
		t.Errorf("the guard closed %d connections, want 1", closed.Load())
	}
	t.Logf("%d streams reset before the connection closed, %d reached the upstream step", sent, upstream.Load())
}

// TestStreamRateIsBounded: streams that are not reset are bounded by the stream budget. The
// client opens each stream once the previous one was served, so that net/http's limit on
// concurrent streams refuses none of them.
func TestStreamRateIsBounded(t *testing.T) {
	const streamBurst, attempts = 30, 1000
	var upstream atomic.Int64
	served := make(chan struct{}, attempts)
	addr, closed := h2Server(t, HTTP2Limits{StreamsPerSecond: 1, StreamBurst: streamBurst, ResetsPerSecond: 1, ResetBurst: 1000}, 100,
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			upstream.Add(1)
			served <- struct{}{}
		}))
	c := dialH2(t, addr)
loop:
	for i := range attempts {
		if c.request(uint32(2*i+1)) != nil {
			break
		}
		select {
		case <-served:
		case <-c.closed:
			break loop
		case <-time.After(bound):
			t.Fatal("a request was never served")
		}
	}
	c.waitClosed(t)
	if got := upstream.Load(); got != streamBurst {
		t.Errorf("%d upstream requests, want %d", got, streamBurst)
	}
	if closed.Load() != 1 {
		t.Errorf("the guard closed %d connections, want 1", closed.Load())
	}
}

// TestOrdinaryTrafficIsNotBudgeted: requests within the budget over HTTP/2, and any number of
// HTTP/1.1 requests on one connection, are served; a request the client abandons is counted.
func TestOrdinaryTrafficIsNotBudgeted(t *testing.T) {
	var served atomic.Int64
	addr, closed := h2Server(t, HTTP2Limits{StreamsPerSecond: 1, StreamBurst: 50, ResetsPerSecond: 1, ResetBurst: 5}, 100,
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			served.Add(1)
			_, _ = io.WriteString(w, "ok")
		}))
	h1 := &http.Client{Timeout: bound}
	for range 200 {
		res, err := h1.Get("http://" + addr + "/")
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
	}
	p := new(http.Protocols)
	p.SetUnencryptedHTTP2(true)
	h2 := &http.Client{Transport: &http.Transport{Protocols: p}, Timeout: bound}
	for range 50 {
		res, err := h2.Get("http://" + addr + "/")
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
	}
	if served.Load() != 250 || closed.Load() != 0 {
		t.Errorf("served %d, closed %d connections", served.Load(), closed.Load())
	}
	// A client that gave up before the handler ran is not served.
	g := NewGuard(HTTP2Limits{StreamsPerSecond: 1, StreamBurst: 5, ResetsPerSecond: 1, ResetBurst: 5}, func() time.Time { return frozen }, nil)
	ctx, cancel := context.WithCancel(g.ConnContext(context.Background(), nil))
	cancel()
	r, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://a/", nil)
	r.ProtoMajor = 2
	ran := false
	g.Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { ran = true })).ServeHTTP(nil, r)
	if ran {
		t.Error("an abandoned request was served")
	}
}
