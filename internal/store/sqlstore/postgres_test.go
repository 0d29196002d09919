package sqlstore

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

// postgresDSNEnv names the variable holding the test server's DSN; .ci/run sets it.
const postgresDSNEnv = "GATEHOUSE_TEST_POSTGRES_DSN"

var skipBanner sync.Once

// PostgresTestDSN returns a DSN for a fresh, uniquely named schema of the PostgreSQL test
// database, dropped when t ends. Without GATEHOUSE_TEST_POSTGRES_DSN the test is skipped, loudly,
// except under CI=true, where it fails: CI never skips the PostgreSQL suite.
func postgresTestDSN(t testing.TB) string {
	t.Helper()
	base := os.Getenv(postgresDSNEnv)
	if base == "" {
		const msg = "PostgreSQL suite SKIPPED: set " + postgresDSNEnv + " (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg + "; CI=true never skips it")
		}
		skipBanner.Do(func() { fmt.Fprintf(os.Stderr, "\n*** %s ***\n\n", msg) })
		t.Skip(msg)
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	var b [8]byte
	_, _ = rand.Read(b[:])
	schema := "gh_test_" + hex.EncodeToString(b[:])
	if _, err := admin.ExecContext(t.Context(), "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create test schema: %v", err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("pgx", base)
		if err != nil {
			t.Error(err)
			return
		}
		defer db.Close()
		if _, err := db.Exec("DROP SCHEMA " + schema + " CASCADE"); err != nil {
			t.Errorf("drop test schema: %v", err)
		}
	})
	dsn, err := withParam(base, "search_path", schema)
	if err != nil {
		t.Fatal(err)
	}
	return dsn
}

// withParam sets a connection parameter in a URL or key=value DSN.
func withParam(dsn, key, value string) (string, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return "", fmt.Errorf("parse %s: %w", postgresDSNEnv, err)
		}
		q := u.Query()
		q.Set(key, value)
		u.RawQuery = q.Encode()
		return u.String(), nil
	}
	return dsn + " " + key + "=" + value, nil
}

func openPostgres(t testing.TB, dsn string, opts ...Option) *Store {
	t.Helper()
	s, err := Open(t.Context(), "postgres", dsn, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestPostgresConformance(t *testing.T) {
	postgresTestDSN(t) // skip (or fail) once, before the subtests
	storetest.Run(t, func(t *testing.T, clock *storetest.Clock) store.Store {
		s, err := Open(t.Context(), "postgres", postgresTestDSN(t), WithClock(clock.Now))
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestDollarPlaceholders(t *testing.T) {
	for in, want := range map[string]string{
		"SELECT 1":                                 "SELECT 1",
		"a = ? AND b = ?":                          "a = $1 AND b = $2",
		"x LIKE ? ESCAPE '\\' AND y = ?":           "x LIKE $1 ESCAPE '\\' AND y = $2",
		"VALUES (?, '', '?''?', \"q?\", ?)":        "VALUES ($1, '', '?''?', \"q?\", $2)",
		"idp_ids = '[]' WHERE id IN (?, ?, ?)":     "idp_ids = '[]' WHERE id IN ($1, $2, $3)",
		"? ? ? ? ? ? ? ? ? ?":                      "$1 $2 $3 $4 $5 $6 $7 $8 $9 $10",
		"NOT COALESCE(LOWER(a) = LOWER(?), FALSE)": "NOT COALESCE(LOWER(a) = LOWER($1), FALSE)",
	} {
		if got := dollarPlaceholders(in); got != want {
			t.Errorf("dollarPlaceholders(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestChangePayload(t *testing.T) {
	for _, c := range []store.Change{{}, {Config: true}, {Revocations: true, Keys: true}, everything} {
		schema, instance, got, err := decodeChange("my schema " + encodeChange("inst", c))
		if err != nil || schema != "my schema" || instance != "inst" || got != c {
			t.Errorf("round trip of %+v = %q %q %+v %v", c, schema, instance, got, err)
		}
	}
	for _, bad := range []string{"", "x", "s i q"} {
		if _, _, _, err := decodeChange(bad); err == nil {
			t.Errorf("decodeChange(%q) succeeded", bad)
		}
	}
}

func TestPostgresErrors(t *testing.T) {
	dsn := postgresTestDSN(t)
	s := openPostgres(t, dsn, WithPollInterval(0))
	if err := s.CreateSession(t.Context(), &store.Session{ID: "s", ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateSession(t.Context(), &store.Session{ID: "s", ExpiresAt: time.Now().Add(time.Hour)}); !errors.Is(err, store.ErrAlreadyExists) {
		t.Errorf("duplicate session: %v, want ErrAlreadyExists", err)
	}

	// Nothing listens on port 1: the store fails closed with ErrUnavailable.
	if _, err := Open(t.Context(), "postgres", "postgres://postgres@127.0.0.1:1/test?sslmode=disable&connect_timeout=2"); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Open on a closed port: %v, want ErrUnavailable", err)
	}
	// A connection the server drops (restart, failover, idle kill) fails the request that was
	// using it with ErrUnavailable or not at all; the pool then reconnects by itself.
	s.db.SetMaxOpenConns(1)
	var pid int
	if err := s.db.QueryRowContext(t.Context(), "SELECT pg_backend_pid()").Scan(&pid); err != nil {
		t.Fatal(err)
	}
	killer := openPostgres(t, dsn, WithPollInterval(0))
	if _, err := killer.db.ExecContext(t.Context(), "SELECT pg_terminate_backend($1)", pid); err != nil {
		t.Fatal(err)
	}
	var got error
	for range 3 {
		if _, got = s.GetSession(t.Context(), "s"); got == nil {
			break
		}
		if !errors.Is(got, store.ErrUnavailable) {
			t.Fatalf("GetSession on a killed connection: %v, want ErrUnavailable", got)
		}
	}
	if got != nil {
		t.Fatalf("GetSession after reconnect: %v", got)
	}
}

// TestPostgresReplicasSeeRevocations: two Stores on one database stand for two replicas; a
// revocation, a config change and a key rotation committed through either reach the other's
// watchers through LISTEN/NOTIFY (the poll is off) within a second.
func TestPostgresReplicasSeeRevocations(t *testing.T) {
	ctx := t.Context()
	dsn := postgresTestDSN(t)
	a := openPostgres(t, dsn, WithPollInterval(0))
	b := openPostgres(t, dsn, WithPollInterval(0))
	u, err := a.UpsertUserByEmail(ctx, "alice@example.com", store.LastSeen{})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.CreateSession(ctx, &store.Session{ID: "sess", UserID: u.ID, ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	watchA, watchB := a.Watch(ctx), b.Watch(ctx)
	// Each listener announces "everything" once it is listening.
	for name, ch := range map[string]<-chan store.Change{"a": watchA, "b": watchB} {
		select {
		case <-ch:
		case <-time.After(10 * time.Second):
			t.Fatalf("replica %s: listener did not connect", name)
		}
	}
	// start is when the latest write began; each change must be seen within a second of it.
	var start time.Time
	expect := func(ch <-chan store.Change, what string, want func(store.Change) bool) {
		t.Helper()
		select {
		case c := <-ch:
			if !want(c) {
				t.Errorf("%s: got %+v", what, c)
			}
			t.Logf("%s: seen %v after the write began", what, time.Since(start))
		case <-time.After(time.Until(start.Add(time.Second))):
			t.Errorf("%s: not seen within a second", what)
		}
	}
	revocations := func(c store.Change) bool { return c.Revocations }
	start = time.Now()
	if err := b.RevokeSession(ctx, "sess"); err != nil {
		t.Fatal(err)
	}
	expect(watchA, "a sees b's RevokeSession", revocations)
	expect(watchB, "b sees its own RevokeSession", revocations)
	start = time.Now()
	if err := a.RevokeUserSessions(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	expect(watchB, "b sees a's RevokeUserSessions", revocations)
	expect(watchA, "a sees its own RevokeUserSessions", revocations)
	start = time.Now()
	if err := b.RevokeAppTokens(ctx, "app"); err != nil {
		t.Fatal(err)
	}
	expect(watchA, "a sees b's RevokeAppTokens", revocations)
	<-watchB
	start = time.Now()
	if _, err := a.UpdateUser(ctx, u.ID, func(u *store.User) error { u.TokensNotBefore = time.Now(); return nil }); err != nil {
		t.Fatal(err)
	}
	expect(watchB, "b sees a's TokensNotBefore change", revocations)
	<-watchA
	start = time.Now()
	if _, err := b.UpdateConfig(ctx, func(c *store.Config) error { c.Organization.Name = "x"; return nil }); err != nil {
		t.Fatal(err)
	}
	expect(watchA, "a sees b's UpdateConfig", func(c store.Change) bool { return c.Config })
	<-watchB
	start = time.Now()
	if err := a.RotateSigningKey(ctx, "", &store.SigningKey{ID: "k1", Algorithm: "RS256"}, time.Hour); err != nil {
		t.Fatal(err)
	}
	expect(watchB, "b sees a's RotateSigningKey", func(c store.Change) bool { return c.Keys })

	// Another schema (another deployment) on the same database does not wake these watchers.
	<-watchA
	other := openPostgres(t, postgresTestDSN(t), WithPollInterval(0))
	if err := other.RevokeAppTokens(ctx, "app"); err != nil {
		t.Fatal(err)
	}
	select {
	case c := <-watchA:
		t.Errorf("a change in another schema reached this one: %+v", c)
	case <-time.After(300 * time.Millisecond):
	}
}

// TestPostgresPollSafetyNet: the fingerprint behind the poll (the safety net for lost
// notifications) moves on a revocation that is not the newest one, which a MAX-based
// fingerprint missed.
func TestPostgresPollSafetyNet(t *testing.T) {
	ctx := t.Context()
	dsn := postgresTestDSN(t)
	now := time.Now()
	a := openPostgres(t, dsn, WithPollInterval(0))
	b := openPostgres(t, dsn, WithPollInterval(0), WithClock(func() time.Time { return now }))
	var ids []string
	for _, email := range []string{"old@example.com", "new@example.com"} {
		u, err := b.UpsertUserByEmail(ctx, email, store.LastSeen{})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, u.ID)
	}
	if err := b.RevokeUserSessions(ctx, ids[1]); err != nil {
		t.Fatal(err)
	}
	before, err := a.fingerprint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	now = now.Add(-time.Minute) // b's clock is behind: its revocation is not the newest
	if err := b.RevokeUserSessions(ctx, ids[0]); err != nil {
		t.Fatal(err)
	}
	after, err := a.fingerprint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !after.changeSince(before).Revocations {
		t.Error("fingerprint did not change after a revocation older than the newest")
	}
}

// TestPostgresContention: two replicas race on every single-use and compare-and-swap object;
// each has exactly one winner (or exactly limit winners) across both.
func TestPostgresContention(t *testing.T) {
	ctx := t.Context()
	dsn := postgresTestDSN(t)
	now := time.Now()
	clock := WithClock(func() time.Time { return now })
	a := openPostgres(t, dsn, clock, WithPollInterval(0))
	b := openPostgres(t, dsn, clock, WithPollInterval(0))
	stores := []*Store{a, b}
	const goroutines = 16

	race := func(fn func(s *Store, i int) error) (wins int, errs []error) {
		t.Helper()
		var (
			wg    sync.WaitGroup
			mu    sync.Mutex
			start = make(chan struct{})
		)
		for i := range goroutines {
			wg.Go(func() {
				<-start
				err := fn(stores[i%2], i)
				mu.Lock()
				defer mu.Unlock()
				if err == nil {
					wins++
				} else {
					errs = append(errs, err)
				}
			})
		}
		close(start)
		wg.Wait()
		return wins, errs
	}
	only := func(what string, errs []error, allowed error) {
		t.Helper()
		for _, err := range errs {
			if !errors.Is(err, allowed) {
				t.Errorf("%s: unexpected error %v", what, err)
			}
		}
	}

	t.Run("RotateSigningKeyOnce", func(t *testing.T) {
		for round, expected := range []string{"", "key-0"} {
			wins, errs := race(func(s *Store, i int) error {
				return s.RotateSigningKey(ctx, expected, &store.SigningKey{ID: fmt.Sprintf("key-%d-%d", round, i), Algorithm: "RS256"}, time.Hour)
			})
			only("RotateSigningKey", errs, store.ErrConflict)
			if wins != 1 {
				t.Fatalf("round %d: %d rotations won, want exactly 1", round, wins)
			}
			keys, err := a.SigningKeys(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(keys) != round+1 {
				t.Fatalf("round %d: %d keys, want %d", round, len(keys), round+1)
			}
			if round == 0 {
				// Rename the winner so that round 1 can name it as expected.
				if _, err := a.db.ExecContext(ctx, "UPDATE signing_keys SET id = 'key-0' WHERE retire_at = 0"); err != nil {
					t.Fatal(err)
				}
			}
		}
	})
	t.Run("HandoffCodeOnce", func(t *testing.T) {
		if err := a.CreateHandoffCode(ctx, &store.HandoffCode{CodeHash: "h", ExpiresAt: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		wins, errs := race(func(s *Store, _ int) error { _, err := s.ConsumeHandoffCode(ctx, "h"); return err })
		only("ConsumeHandoffCode", errs, store.ErrConflict)
		if wins != 1 {
			t.Errorf("%d consumptions won, want 1", wins)
		}
	})
	t.Run("PendingSAMLOnce", func(t *testing.T) {
		if err := a.CreatePendingSAMLRequest(ctx, &store.PendingSAMLRequest{ID: "p", ExpiresAt: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		wins, errs := race(func(s *Store, _ int) error { _, err := s.ConsumePendingSAMLRequest(ctx, "p"); return err })
		only("ConsumePendingSAMLRequest", errs, store.ErrConflict)
		if wins != 1 {
			t.Errorf("%d consumptions won, want 1", wins)
		}
	})
	t.Run("PINAttempts", func(t *testing.T) {
		if err := a.CreatePINChallenge(ctx, &store.PINChallenge{ID: "pin", ExpiresAt: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		const maxAttempts = 5
		wins, errs := race(func(s *Store, _ int) error {
			_, _, err := s.AttemptPINChallenge(ctx, "pin", maxAttempts, func(*store.PINChallenge) bool { return false })
			return err
		})
		only("AttemptPINChallenge", errs, store.ErrConflict)
		if wins != maxAttempts {
			t.Errorf("%d attempts checked, want %d", wins, maxAttempts)
		}
	})
	t.Run("RateLimit", func(t *testing.T) {
		const limit = 7
		var allowed atomic.Int64
		_, errs := race(func(s *Store, _ int) error {
			ok, err := s.HitRateLimit(ctx, "k", time.Hour, limit)
			if ok {
				allowed.Add(1)
			}
			return err
		})
		only("HitRateLimit", errs, nil)
		if allowed.Load() != limit {
			t.Errorf("%d hits allowed, want %d", allowed.Load(), limit)
		}
	})
	t.Run("RememberOnce", func(t *testing.T) {
		var fresh atomic.Int64
		_, errs := race(func(s *Store, _ int) error {
			ok, err := s.RememberOnce(ctx, "assertion", now.Add(time.Hour))
			if ok {
				fresh.Add(1)
			}
			return err
		})
		only("RememberOnce", errs, nil)
		if fresh.Load() != 1 {
			t.Errorf("%d callers saw the key as new, want 1", fresh.Load())
		}
	})
	t.Run("ExportCursorFirstAdvance", func(t *testing.T) {
		wins, errs := race(func(s *Store, i int) error {
			return s.AdvanceExportCursor(ctx, "sink", store.ExportAudit, 0, int64(i+1))
		})
		only("AdvanceExportCursor", errs, store.ErrConflict)
		if wins != 1 {
			t.Errorf("%d first advances won, want 1", wins)
		}
	})
	t.Run("OIDCCodeOnce", func(t *testing.T) {
		if err := a.CreateOIDCCode(ctx, &store.OIDCCode{CodeHash: "c", GrantID: "g", ExpiresAt: now.Add(time.Minute)}); err != nil {
			t.Fatal(err)
		}
		wins, errs := race(func(s *Store, _ int) error {
			_, _, err := s.RedeemOIDCCode(ctx, "c", func(c *store.OIDCCode) (*store.OIDCGrant, *store.OIDCRefreshToken, error) {
				return &store.OIDCGrant{ID: c.GrantID, ExpiresAt: now.Add(time.Hour)},
					&store.OIDCRefreshToken{TokenHash: "r0", GrantID: c.GrantID, ExpiresAt: now.Add(time.Hour)}, nil
			})
			return err
		})
		only("RedeemOIDCCode", errs, store.ErrConflict)
		if wins != 1 {
			t.Errorf("%d redemptions won, want 1", wins)
		}
		g, err := a.GetOIDCGrant(ctx, "g")
		if err != nil || g.RevokeReason != store.OIDCRevokedCodeReplayed {
			t.Errorf("grant after replays = %+v, %v; want revoked as replayed", g, err)
		}
	})
	t.Run("AuthEventsAllExported", func(t *testing.T) {
		_, errs := race(func(s *Store, i int) error {
			return s.AppendAuthEvent(ctx, &store.AuthEvent{Action: "login", Email: fmt.Sprint(i)})
		})
		only("AppendAuthEvent", errs, nil)
		events, err := a.ExportEvents(ctx, store.ExportAuth, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		if len(events) != goroutines {
			t.Errorf("%d events exported, want %d", len(events), goroutines)
		}
	})
}

// TestPostgresListenerReconnects: when the listening connection dies, the listener reconnects,
// tells watchers that anything may have changed meanwhile, and delivers later changes again.
func TestPostgresListenerReconnects(t *testing.T) {
	ctx := t.Context()
	dsn := postgresTestDSN(t)
	var b [4]byte
	_, _ = rand.Read(b[:])
	app := "gh_listen_" + hex.EncodeToString(b[:])
	named, err := withParam(dsn, "application_name", app)
	if err != nil {
		t.Fatal(err)
	}
	watched := openPostgres(t, named, WithPollInterval(0))
	writer := openPostgres(t, dsn, WithPollInterval(0))
	ch := watched.Watch(ctx)
	wait := func(what string) store.Change {
		t.Helper()
		select {
		case c := <-ch:
			return c
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: no notification", what)
		}
		return store.Change{}
	}
	wait("first connection")
	res, err := writer.db.ExecContext(ctx, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1 AND query LIKE 'LISTEN%'", app)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		t.Fatalf("terminated %d listening connections, want 1", n)
	}
	if c := wait("reconnection"); c != everything {
		t.Errorf("after reconnecting: %+v, want everything", c)
	}
	if err := writer.RevokeAppTokens(ctx, "app"); err != nil {
		t.Fatal(err)
	}
	if c := wait("revocation after reconnecting"); !c.Revocations {
		t.Errorf("after a revocation: %+v", c)
	}
}
