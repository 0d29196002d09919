package app_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/testenv"
)

// BenchmarkRevocationPropagation measures how long a session revocation written through one
// replica takes to be enforced by another replica on the same database (LISTEN/NOTIFY on
// PostgreSQL, the change poll on SQLite): 100 revocations per run, reported as p50 and p99.
//
//	go test -run '^$' -bench RevocationPropagation -benchtime 1x ./internal/app
func BenchmarkRevocationPropagation(b *testing.B) {
	for _, backend := range []string{"sqlite", "postgres"} {
		b.Run(backend, func(b *testing.B) {
			storage := ""
			if backend == "postgres" {
				storage = `storage: {driver: postgres, dsn: "` + testenv.PostgresDSN(b) + `"}`
			}
			c := testenv.StartCluster(b, 2, "", storage)
			writer, reader := c.Replicas[0], c.Replicas[1]
			ctx := context.Background()
			u, err := writer.G.Store.UpsertUserByEmail(ctx, "alice@example.com", store.LastSeen{})
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				var lat []time.Duration
				for i := range 100 {
					id := fmt.Sprintf("bench-%d-%d", time.Now().UnixNano(), i)
					now := time.Now()
					if err := writer.G.Store.CreateSession(ctx, &store.Session{ID: id, UserID: u.ID, Email: u.Email, IdPID: "pin",
						CreatedAt: now, ExpiresAt: now.Add(time.Hour), Identity: []byte(`{}`)}); err != nil {
						b.Fatal(err)
					}
					start := time.Now()
					if err := writer.G.Store.RevokeSession(ctx, id); err != nil {
						b.Fatal(err)
					}
					for {
						if ok, _ := reader.G.Revocations.Check(u.ID, "", id, now); !ok {
							break
						}
						if time.Since(start) > 5*time.Second {
							b.Fatalf("revocation %d not seen by the other replica after 5 s", i)
						}
						time.Sleep(200 * time.Microsecond)
					}
					lat = append(lat, time.Since(start))
				}
				slices.Sort(lat)
				b.ReportMetric(float64(lat[49].Microseconds())/1000, "p50-ms")
				b.ReportMetric(float64(lat[98].Microseconds())/1000, "p99-ms")
			}
		})
	}
}
