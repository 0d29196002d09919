package sqlstore

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

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

// TestMCPClientsSQL covers what the SQL backends decide beyond the MCPClients contract: a zero
// CreatedAt is the store clock's now, the caller's CreatedAt is set to what was stored, and a
// redirect URI that is not valid UTF-8 is refused (JSON would silently replace its bytes).
func TestMCPClientsSQL(t *testing.T) {
	now := time.Date(2031, time.January, 2, 3, 4, 5, 678901234, time.FixedZone("UTC+1", 3600))
	clock := WithClock(func() time.Time { return now })
	for name, open := range map[string]func(t *testing.T) *Store{
		"sqlite":   func(t *testing.T) *Store { s, _ := openTemp(t, clock); return s },
		"postgres": func(t *testing.T) *Store { return openPostgres(t, postgresTestDSN(t), clock, WithPollInterval(0)) },
	} {
		t.Run(name, func(t *testing.T) {
			s := open(t)
			ctx := t.Context()
			want := now.UTC().Truncate(time.Microsecond)
			c := store.MCPClient{ClientID: "zero", RedirectURIs: []string{"http://127.0.0.1:9/cb"}}
			if err := s.CreateMCPClient(ctx, &c); err != nil {
				t.Fatal(err)
			}
			if c.CreatedAt != want {
				t.Errorf("caller's CreatedAt after create = %v, want the clock's now %v", c.CreatedAt, want)
			}
			got, err := s.GetMCPClient(ctx, "zero")
			if err != nil || got.CreatedAt != want {
				t.Errorf("GetMCPClient = %+v, %v; want CreatedAt %v", got, err, want)
			}
			set := store.MCPClient{ClientID: "set", RedirectURIs: []string{"http://127.0.0.1:9/cb"}, CreatedAt: now.Add(-time.Hour)}
			if err := s.CreateMCPClient(ctx, &set); err != nil || set.CreatedAt != want.Add(-time.Hour) {
				t.Errorf("CreateMCPClient with a CreatedAt: %v, CreatedAt %v, want %v", err, set.CreatedAt, want.Add(-time.Hour))
			}

			bad := store.MCPClient{ClientID: "bad", RedirectURIs: []string{"http://127.0.0.1:9/cb", "http://127.0.0.1/\xff"}}
			if err := s.CreateMCPClient(ctx, &bad); err == nil || !strings.Contains(err.Error(), "UTF-8") {
				t.Errorf("CreateMCPClient with an invalid UTF-8 redirect URI = %v, want an error saying so", err)
			}
			if _, err := s.GetMCPClient(ctx, "bad"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("refused client: GetMCPClient = %v, want ErrNotFound", err)
			}
		})
	}
}

// TestMCPClientTwoStores: two Stores on one database (two replicas receiving the same
// registration) create one client id at once; exactly one create wins.
func TestMCPClientTwoStores(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		a, path := openTemp(t)
		b, err := Open(t.Context(), "sqlite", path)
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		raceMCPClient(t, a, b)
	})
	t.Run("postgres", func(t *testing.T) {
		dsn := postgresTestDSN(t)
		raceMCPClient(t, openPostgres(t, dsn, WithPollInterval(0)), openPostgres(t, dsn, WithPollInterval(0)))
	})
}

// raceMCPClient runs 16 goroutines, alternating between a and b, that each create the client
// "raced", and checks that exactly one succeeds, the others getting ErrAlreadyExists, and that
// the stored client is the winner's.
func raceMCPClient(t *testing.T, a, b *Store) {
	const goroutines = 16
	stores := []*Store{a, b}
	errs := make([]error, goroutines)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for g := range goroutines {
		s := stores[g%2]
		wg.Go(func() {
			<-start
			errs[g] = s.CreateMCPClient(t.Context(), &store.MCPClient{ClientID: "raced", ClientName: fmt.Sprint("g", g),
				RedirectURIs: []string{"http://127.0.0.1:9/cb"}})
		})
	}
	close(start)
	wg.Wait()
	winner := ""
	for g, err := range errs {
		switch {
		case err == nil && winner != "":
			t.Errorf("g%d and %s both created the client", g, winner)
		case err == nil:
			winner = fmt.Sprint("g", g)
		case !errors.Is(err, store.ErrAlreadyExists):
			t.Errorf("g%d: CreateMCPClient = %v, want success or ErrAlreadyExists", g, err)
		}
	}
	c, err := a.GetMCPClient(t.Context(), "raced")
	if err != nil || winner == "" || c.ClientName != winner {
		t.Errorf("GetMCPClient = %+v, %v; want the winner %q's client", c, err, winner)
	}
}
