package gateway

import (
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/gateway/applib"
	"github.com/gatehouse/gatehouse/internal/snapshot"
)

// cannedUpstream answers every request with the same small response, as the benchmark's
// origin does, without a network.
type cannedUpstream struct{}

func (cannedUpstream) RoundTrip(r *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: 200, ProtoMajor: 1, ProtoMinor: 1, Request: r, ContentLength: 5,
		Header: http.Header{"Content-Type": {"text/plain"}, "Content-Length": {"5"}},
		Body:   io.NopCloser(strings.NewReader("hello"))}, nil
}

// discardWriter is the cheapest http.ResponseWriter: what the gateway does per request shows.
type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(int)             {}

// BenchmarkInspectedRequest is the gateway's own work for one decrypted request (policy,
// application lookup, forwarding through the reverse proxy, the log line and the usage
// event), without TLS or sockets: what the proxy adds to the cost of moving the bytes.
func BenchmarkInspectedRequest(b *testing.B) {
	cat := applib.MustDefault()
	g := New(&snapshot.Holder{}, Options{Egress: &Egress{}, Policy: &Policy{Catalog: cat}, Log: slog.New(slog.NewJSONHandler(io.Discard, nil))})
	defer g.Close()
	t := &Tunnel{Dest: Destination{Host: "localhost", Port: 443}, Identity: &Identity{ServiceTokenID: "bench", ClientID: "bench", ClientIP: netip.MustParseAddr("127.0.0.1")},
		Addrs: []netip.Addr{netip.MustParseAddr("127.0.0.1")}, g: g, e: &entry{}}
	h := t.Handler(func(bool, bool) http.RoundTripper { return cannedUpstream{} })
	req, err := http.NewRequest("GET", "/", nil)
	if err != nil {
		b.Fatal(err)
	}
	req.Host = "localhost"
	req.Header.Set("User-Agent", "Go-http-client/1.1")
	req.Header.Set("Accept-Encoding", "gzip")
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	start := cpuTime()
	for b.Loop() {
		clear(w.h)
		h.ServeHTTP(w, req)
	}
	b.ReportMetric(float64((cpuTime()-start).Nanoseconds())/1e3/float64(b.N), "cpu-µs/op")
}

// cpuTime is the process's user+system CPU time so far (the garbage collector's work included).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
