package connguard

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"sync"
	"time"
)

// HTTP2Limits bound the work one HTTP/2 client connection can cause. Each is a token bucket: a
// sustained rate per second and a burst. A connection that exceeds either is closed.
type HTTP2Limits struct {
	// StreamsPerSecond and StreamBurst bound the requests (streams) the connection starts.
	StreamsPerSecond float64
	StreamBurst      int
	// ResetsPerSecond and ResetBurst bound the requests the client abandons (RST_STREAM)
	// before their response is complete: a reset costs the client nothing and may already
	// have cost an upstream request ("rapid reset", CVE-2023-44487).
	ResetsPerSecond float64
	ResetBurst      int
}

// Reasons a Guard closes a connection.
const (
	ReasonStreamRate = "http2-stream-rate"
	ReasonResetRate  = "http2-reset-rate"
)

// Guard enforces HTTP2Limits per client connection. Install ConnContext on the http.Server and
// wrap the handler with Handler.
type Guard struct {
	limits HTTP2Limits
	now    func() time.Time
	// onClose is told about every connection the guard closes.
	onClose func(c net.Conn, reason string)
}

// NewGuard returns a Guard; now is the clock of the token buckets (time.Now if nil), onClose
// (optional) is told about every connection the guard closes.
func NewGuard(limits HTTP2Limits, now func() time.Time, onClose func(c net.Conn, reason string)) *Guard {
	if now == nil {
		now = time.Now
	}
	return &Guard{limits: limits, now: now, onClose: onClose}
}

type budgetKey struct{}

// connBudget is what one connection may still do.
type connBudget struct {
	conn net.Conn

	mu      sync.Mutex
	streams bucket
	resets  bucket
	closed  bool
}

// ConnContext is the http.Server ConnContext hook: it gives every connection its budget.
func (g *Guard) ConnContext(ctx context.Context, c net.Conn) context.Context {
	b := &connBudget{conn: c,
		streams: bucket{rate: g.limits.StreamsPerSecond, burst: float64(g.limits.StreamBurst)},
		resets:  bucket{rate: g.limits.ResetsPerSecond, burst: float64(g.limits.ResetBurst)}}
	return context.WithValue(ctx, budgetKey{}, b)
}

// Handler charges every HTTP/2 request to its connection's budget before next sees it, and
// every request the client abandoned afterwards. A request already abandoned when it arrives
// is not served at all. HTTP/1.x requests are not charged: a connection carries one at a time
// and a client that abandons one closes the connection.
func (g *Guard) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := r.Context().Value(budgetKey{}).(*connBudget)
		if b == nil || r.ProtoMajor != 2 {
			next.ServeHTTP(w, r)
			return
		}
		if !b.take(&b.streams, g.now()) {
			g.close(b, ReasonStreamRate)
			return
		}
		if r.Context().Err() != nil {
			g.abandoned(b)
			return
		}
		next.ServeHTTP(w, r)
		if r.Context().Err() != nil {
			g.abandoned(b)
		}
	})
}

// abandoned charges a request the client gave up on.
func (g *Guard) abandoned(b *connBudget) {
	if !b.take(&b.resets, g.now()) {
		g.close(b, ReasonResetRate)
	}
}

func (b *connBudget) take(bk *bucket, now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return !b.closed && bk.take(now)
}

// close closes the connection's TCP connection (under TLS too, so that nothing waits for a TLS
// close_notify to be written): net/http's HTTP/2 server then ends every stream of it.
func (g *Guard) close(b *connBudget, reason string) {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return
	}
	b.closed = true
	b.mu.Unlock()
	if g.onClose != nil {
		g.onClose(b.conn, reason)
	}
	_ = tcpConnOf(b.conn).Close()
}

// tcpConnOf returns the connection under TLS and framing.
func tcpConnOf(c net.Conn) net.Conn {
	switch v := c.(type) {
	case *Conn:
		return v.tcpConn()
	case *TLSConn:
		return v.NetConn()
	case *tls.Conn:
		return v.NetConn()
	}
	return c
}

// bucket is a token bucket.
type bucket struct {
	rate, burst float64
	tokens      float64
	last        time.Time
}

// take removes a token if there is one.
func (b *bucket) take(now time.Time) bool {
	switch {
	case b.last.IsZero():
		b.tokens = b.burst
	case now.After(b.last):
		b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	}
	if now.After(b.last) {
		b.last = now
	}
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
