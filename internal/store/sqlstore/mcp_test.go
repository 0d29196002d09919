package sqlstore

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"

	"github.com/gatehouse/gatehouse/internal/store"
)

// TestMCPServerStateTwoStores: two Stores on one database (two replicas syncing the same
// server) update a server's state at once, the first update creating it; no update is lost.
func TestMCPServerStateTwoStores(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		a, path := openTemp(t)
		b, err := Open(t.Context(), "sqlite", path)
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		raceMCPServerState(t, a, b)
	})
	t.Run("postgres", func(t *testing.T) {
		dsn := postgresTestDSN(t)
		raceMCPServerState(t, openPostgres(t, dsn, WithPollInterval(0)), openPostgres(t, dsn, WithPollInterval(0)))
	})
}

// raceMCPServerState runs 16 goroutines, alternating between a and b, that each add 4 entries,
// one update at a time, to the Tools list of one server's state, then checks that all 64 are
// there.
func raceMCPServerState(t *testing.T, a, b *Store) {
	const goroutines, each = 16, 4
	stores := []*Store{a, b}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for g := range goroutines {
		s := stores[g%2]
		wg.Go(func() {
			<-start
			for i := range each {
				_, err := s.UpdateMCPServerState(t.Context(), "docs", func(st *store.MCPServerState) error {
					var tools []string
					if st.Tools != nil {
						if err := json.Unmarshal(st.Tools, &tools); err != nil {
							return err
						}
					}
					var err error
					st.Tools, err = json.Marshal(append(tools, fmt.Sprintf("g%d-%d", g, i)))
					return err
				})
				if err != nil {
					t.Errorf("UpdateMCPServerState: %v", err)
					return
				}
			}
		})
	}
	close(start)
	wg.Wait()
	st, err := b.GetMCPServerState(t.Context(), "docs")
	if err != nil {
		t.Fatal(err)
	}
	var tools []string
	if err := json.Unmarshal(st.Tools, &tools); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, tool := range tools {
		seen[tool] = true
	}
	if len(tools) != goroutines*each || len(seen) != len(tools) {
		t.Errorf("%d entries (%d distinct) after %d updates through two stores: updates were lost", len(tools), len(seen), goroutines*each)
	}
}
