package mcp_test

import (
	"net/http"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
)

// BenchmarkPortalToolCall16 measures tools/call through a portal (service-token check, the
// caller's view and policies, DLP on arguments and result, the prompt-injection classifier on
// the result, the call log written to SQLite) against the same upstream tool called directly,
// from 16 concurrent clients in one run. Each client alternates a direct and a portal call so
// both see the same machine load; the metrics are per call:
//
//	direct-p50-µs direct-p99-µs portal-p50-µs portal-p99-µs added-p50-µs added-p99-µs portal-calls/s
//
// and cpu-µs/iter, the process's CPU time (user and system: clients, portal and upstream) per
// pair of calls, which does not depend on what else the machine runs as the latencies do.
//
// Run: go test -run '^$' -bench PortalToolCall16 -benchtime 4000x ./internal/mcp
func BenchmarkPortalToolCall16(b *testing.B) {
	clients := benchClients
	e := newEnvTB(b)
	up := e.holder.Load().MCPServers["tickets"].URL
	direct := make([]*sdk.ClientSession, clients)
	portal := make([]*sdk.ClientSession, clients)
	for i := range clients {
		c := sdk.NewClient(&sdk.Implementation{Name: "bench", Version: "1"}, nil)
		var err error
		direct[i], err = c.Connect(b.Context(), &sdk.StreamableClientTransport{Endpoint: up,
			HTTPClient: &http.Client{Transport: bearerTransport("upstream-token")}, DisableStandaloneSSE: true, MaxRetries: -1}, nil)
		if err != nil {
			b.Fatal(err)
		}
		portal[i], err = c.Connect(b.Context(), &sdk.StreamableClientTransport{Endpoint: e.portal.URL + "/cdn-cgi/access/mcp/agents",
			HTTPClient: &http.Client{Transport: headerTransport{id: "agent.access", secret: agentSecret}}, DisableStandaloneSSE: true, MaxRetries: -1}, nil)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { direct[i].Close(); portal[i].Close() })
	}
	args := map[string]any{"text": "Summarise ticket 4711: the customer reports that exports time out after 30 seconds on large projects."}
	var mu sync.Mutex
	var dLat, pLat []time.Duration
	b.ResetTimer()
	cpu0 := processCPU()
	start := time.Now()
	var wg sync.WaitGroup
	for i := range clients {
		n := b.N / clients
		if i < b.N%clients {
			n++
		}
		wg.Go(func() {
			d, p := make([]time.Duration, 0, n), make([]time.Duration, 0, n)
			for range n {
				t0 := time.Now()
				if _, err := direct[i].CallTool(b.Context(), &sdk.CallToolParams{Name: "echo", Arguments: args}); err != nil {
					b.Error(err)
					return
				}
				t1 := time.Now()
				if _, err := portal[i].CallTool(b.Context(), &sdk.CallToolParams{Name: "tickets_echo", Arguments: args}); err != nil {
					b.Error(err)
					return
				}
				d, p = append(d, t1.Sub(t0)), append(p, time.Since(t1))
			}
			mu.Lock()
			dLat, pLat = append(dLat, d...), append(pLat, p...)
			mu.Unlock()
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	cpu := processCPU() - cpu0
	b.StopTimer()
	if len(pLat) == 0 {
		return
	}
	slices.Sort(dLat)
	slices.Sort(pLat)
	q := func(s []time.Duration, f float64) float64 { return float64(s[int(f*float64(len(s)-1))].Microseconds()) }
	b.ReportMetric(q(dLat, .5), "direct-p50-µs")
	b.ReportMetric(q(dLat, .99), "direct-p99-µs")
	b.ReportMetric(q(pLat, .5), "portal-p50-µs")
	b.ReportMetric(q(pLat, .99), "portal-p99-µs")
	b.ReportMetric(q(pLat, .5)-q(dLat, .5), "added-p50-µs")
	b.ReportMetric(q(pLat, .99)-q(dLat, .99), "added-p99-µs")
	// Each client spends part of its time on direct calls: the portal's rate is what its calls
	// would reach alone at the measured latency.
	var sum time.Duration
	for _, l := range pLat {
		sum += l
	}
	b.ReportMetric(float64(clients)/(sum.Seconds()/float64(len(pLat))), "portal-calls/s")
	b.ReportMetric(float64(len(pLat)+len(dLat))/elapsed.Seconds(), "all-calls/s")
	b.ReportMetric(float64(cpu.Microseconds())/float64(len(pLat)), "cpu-µs/iter")
}

// processCPU is the CPU time the process has used (user and system).
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// bearerTransport sends a bearer token with every request.
type bearerTransport string

func (t bearerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+string(t))
	return http.DefaultTransport.RoundTrip(r)
}

// benchClients is the number of concurrent clients (16, as the figure asks).
var benchClients = 16
