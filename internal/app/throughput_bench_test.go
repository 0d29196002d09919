package app_test

import (
	"context"
	"io"
	"net"
	"net/http"
	neturl "net/url"
	"sync/atomic"
	"testing"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// BenchmarkProxyThroughput loads the proxy with a valid session: one replica on SQLite against
// two replicas on PostgreSQL (requests alternate between them). The authorization step never
// touches the database once a replica has seen the session, so the two should match within
// noise.
//
//	GATEHOUSE_TEST_POSTGRES_DSN=... go test -run '^$' -bench ProxyThroughput -benchtime 20000x ./internal/app
func BenchmarkProxyThroughput(b *testing.B) {
	for _, tc := range []struct {
		name     string
		replicas int
		postgres bool
	}{{"sqlite-1-replica", 1, false}, {"postgres-2-replicas", 2, true}} {
		b.Run(tc.name, func(b *testing.B) {
			storage := ""
			if tc.postgres {
				storage = `storage: {driver: postgres, dsn: "` + testenv.PostgresDSN(b) + `"}`
			}
			c := testenv.StartCluster(b, tc.replicas, "", storage)
			r0 := c.Replicas[0]
			r0.Upstream.Handler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })
			login := c.NewBrowser()
			if resp, body := login.Login(b, r0.URL("app.localhost", "/"), "alice@example.com"); resp.StatusCode != http.StatusOK {
				b.Fatalf("login: %d %s", resp.StatusCode, body)
			}
			cookie := appCookieTB(b, r0, login)
			// One keep-alive client per replica; requests alternate between them.
			var clients []*http.Client
			for _, r := range c.Replicas {
				addr := r.Addr
				clients = append(clients, &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64,
					DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
						return (&net.Dialer{}).DialContext(ctx, network, addr)
					}}})
			}
			url := r0.URL("app.localhost", "/hot")
			var n atomic.Uint64
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					cl := clients[n.Add(1)%uint64(len(clients))]
					req, _ := http.NewRequest(http.MethodGet, url, nil)
					req.Header.Set("Cookie", "Gatehouse_Authorization="+cookie)
					resp, err := cl.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						b.Errorf("status %d", resp.StatusCode)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
		})
	}
}

func appCookieTB(tb testing.TB, e *testenv.Env, b *testenv.Browser) string {
	tb.Helper()
	u, _ := neturl.Parse(e.URL("app.localhost", "/"))
	for _, c := range b.Jar.Cookies(u) {
		if c.Name == "Gatehouse_Authorization" {
			return c.Value
		}
	}
	tb.Fatal("no app cookie")
	return ""
}
