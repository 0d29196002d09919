package inspect

import (
	"crypto/tls"
	"io"
	"net/http"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/gateway/rules"
)

// cpuTime is the process's user+system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchRules are a realistic small policy: a Do Not Inspect rule, a block on unapproved AI
// uploads and a tenant-control allow.
var benchRules = []rules.Rule{e2eRules[0], e2eRules[1], e2eRules[4]}

func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64((cpuTime()-start).Microseconds())/float64(b.N), "cpu-µs/op")
}

// BenchmarkInspectedKeepAlive: requests on one kept-alive inspected HTTP/1.1 connection (CPU
// is the whole process: client, gateway and origin).
func BenchmarkInspectedKeepAlive(b *testing.B) {
	h := newHarness(b, benchRules)
	now := time.Now()
	o := newOrigin(b, h.origins.leaf(b, []string{"chatgpt.com"}, now.Add(-time.Hour), now.Add(time.Hour)))
	client := h.client(false)
	client.Transport.(*http.Transport).DisableKeepAlives = false
	url := "https://chatgpt.com:" + o.port + "/c/new"
	get := func() {
		resp, err := client.Get(url)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	get()
	start := cpuTime()
	b.ResetTimer()
	for range b.N {
		get()
	}
	reportCPU(b, start)
}

// BenchmarkInspectedNewConnection: one request per new inspected connection (the leaf is
// cached after the first).
func BenchmarkInspectedNewConnection(b *testing.B) {
	h := newHarness(b, benchRules)
	now := time.Now()
	o := newOrigin(b, h.origins.leaf(b, []string{"chatgpt.com"}, now.Add(-time.Hour), now.Add(time.Hour)))
	url := "https://chatgpt.com:" + o.port + "/c/new"
	start := cpuTime()
	for range b.N {
		client := h.client(false)
		resp, err := client.Get(url)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	reportCPU(b, start)
}

// BenchmarkPeekThenSplice and BenchmarkBlindSplice: a new TLS connection through a tunnel the
// Do Not Inspect rule splices after reading the ClientHello, against one spliced without
// inspection (no CA: the decider splices before reading anything).
func BenchmarkPeekThenSplice(b *testing.B) { benchSplice(b, true) }
func BenchmarkBlindSplice(b *testing.B)    { benchSplice(b, false) }

func benchSplice(b *testing.B, peek bool) {
	h := newHarness(b, benchRules)
	if !peek {
		h.minter.SetAuthority(nil)
	}
	now := time.Now()
	o := newOrigin(b, h.origins.leaf(b, []string{"claude.ai"}, now.Add(-time.Hour), now.Add(time.Hour)))
	url := "https://claude.ai:" + o.port + "/"
	start := cpuTime()
	for range b.N {
		client := h.client(false)
		client.Transport.(*http.Transport).TLSClientConfig = &tls.Config{RootCAs: h.caPool}
		resp, err := client.Get(url)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	reportCPU(b, start)
}

// BenchmarkDirectKeepAlive is the baseline of BenchmarkInspectedKeepAlive: the same client and
// origin without the gateway, so that the difference is the gateway's CPU.
func BenchmarkDirectKeepAlive(b *testing.B) {
	h := newHarness(b, benchRules)
	now := time.Now()
	o := newOrigin(b, h.origins.leaf(b, []string{"chatgpt.com"}, now.Add(-time.Hour), now.Add(time.Hour)))
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: h.caPool, ServerName: "chatgpt.com"}}}
	url := "https://" + o.srv.Listener.Addr().String() + "/c/new"
	start := cpuTime()
	for range b.N {
		resp, err := client.Get(url)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	reportCPU(b, start)
}
