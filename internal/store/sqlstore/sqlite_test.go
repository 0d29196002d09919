package sqlstore

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

func openTemp(t testing.TB, opts ...Option) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "gatehouse.db")
	s, err := Open(t.Context(), "sqlite", path, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s, path
}

func TestSQLiteSettings(t *testing.T) {
	for name, dsn := range map[string]string{
		"path":     filepath.Join(t.TempDir(), "gatehouse.db"),
		"file URI": "file:" + filepath.Join(t.TempDir(), "gatehouse.db") + "?mode=rwc",
	} {
		t.Run(name, func(t *testing.T) {
			s, err := Open(t.Context(), "sqlite", dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			checkPragmas(t, s)
			if _, err := s.HitRateLimit(t.Context(), "k", time.Minute, 1); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func checkPragmas(t *testing.T, s *Store) {
	t.Helper()
	for pragma, want := range map[string]string{
		"journal_mode": "wal",
		"foreign_keys": "1",
		"busy_timeout": "5000",
		"synchronous":  "1", // NORMAL
	} {
		var got string
		if err := s.db.QueryRowContext(t.Context(), "PRAGMA "+pragma).Scan(&got); err != nil {
			t.Fatalf("PRAGMA %s: %v", pragma, err)
		}
		if got != want {
			t.Errorf("PRAGMA %s = %s, want %s", pragma, got, want)
		}
	}
}

func TestSQLitePrepareDSN(t *testing.T) {
	for _, tc := range []struct {
		dsn, want, err string
	}{
		{dsn: "/data/g.db", want: "/data/g.db?_pragma=busy_timeout%285000%29&_pragma=journal_mode%28WAL%29&_pragma=foreign_keys%281%29&_pragma=synchronous%28NORMAL%29&_txlock=immediate"},
		{dsn: "file:g.db?_pragma=busy_timeout(100)&mode=rwc", want: "file:g.db?_pragma=busy_timeout%28100%29&_pragma=journal_mode%28WAL%29&_pragma=foreign_keys%281%29&_pragma=synchronous%28NORMAL%29&_txlock=immediate&mode=rwc"},
		{dsn: "g.db?_txlock=IMMEDIATE", want: "g.db?_pragma=busy_timeout%285000%29&_pragma=journal_mode%28WAL%29&_pragma=foreign_keys%281%29&_pragma=synchronous%28NORMAL%29&_txlock=immediate"},
		{dsn: "g.db?_txlock=deferred", err: "needs immediate"},
		{dsn: "", err: "empty"},
	} {
		got, err := sqlitePrepareDSN(tc.dsn)
		switch {
		case tc.err != "":
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("sqlitePrepareDSN(%q) error = %v, want one containing %q", tc.dsn, err, tc.err)
			}
		case err != nil:
			t.Errorf("sqlitePrepareDSN(%q): %v", tc.dsn, err)
		case got != tc.want:
			t.Errorf("sqlitePrepareDSN(%q)\n got %s\nwant %s", tc.dsn, got, tc.want)
		}
	}
}

func TestUnsupportedDriver(t *testing.T) {
	if _, err := Open(t.Context(), "oracle", "oracle://localhost/gatehouse"); err == nil {
		t.Fatal("Open with an unimplemented dialect succeeded")
	}
}

func TestMigrations(t *testing.T) {
	s, path := openTemp(t)
	ms, err := s.d.loadMigrations()
	if err != nil {
		t.Fatal(err)
	}
	v, err := s.SchemaVersion(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if latest := ms[len(ms)-1].version; v != latest || v < 1 {
		t.Fatalf("SchemaVersion = %d after Open, want the latest, %d", v, latest)
	}
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate on a migrated database: %v", err)
	}

	// Data survives reopening, which migrates nothing.
	if _, err := s.UpdateConfig(t.Context(), func(c *store.Config) error { c.Organization.Name = "kept"; return nil }); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2, err := Open(t.Context(), "sqlite", path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s2.Close()
	cfg, err := s2.GetConfig(t.Context())
	if err != nil || cfg.Organization.Name != "kept" || cfg.Version != 1 {
		t.Fatalf("after reopen GetConfig = %+v, %v", cfg, err)
	}

	// A schema newer than the binary is refused.
	if _, err := s2.db.ExecContext(t.Context(), "INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future', 0)"); err != nil {
		t.Fatal(err)
	}
	if err := s2.Migrate(t.Context()); err == nil || !strings.Contains(err.Error(), "newer") {
		t.Fatalf("Migrate with a newer schema = %v, want an error", err)
	}
}

// TestMigrationGap: versions need not be contiguous, and a migration numbered below one the
// database already has (a branch that landed later) is still applied; a version the binary
// does not embed is refused.
func TestMigrationGap(t *testing.T) {
	s, _ := openTemp(t)
	ctx := t.Context()
	base := s.d.migrations
	last, err := s.LatestSchemaVersion()
	if err != nil {
		t.Fatal(err)
	}
	layer := func(extra fstest.MapFS) {
		m := fstest.MapFS{}
		files, _ := fs.Glob(base, "*.sql")
		for _, f := range files {
			b, _ := fs.ReadFile(base, f)
			m[f] = &fstest.MapFile{Data: b}
		}
		for k, v := range extra {
			m[k] = v
		}
		d := *s.d
		d.migrations = m
		s.d = &d
	}
	// The binary gains last+2 only: applied despite the gap.
	layer(fstest.MapFS{fmt.Sprintf("%04d_later.sql", last+2): {Data: []byte("CREATE TABLE gap_later (x INTEGER)")}})
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("Migrate with a gap: %v", err)
	}
	if v, _ := s.SchemaVersion(ctx); v != last+2 {
		t.Fatalf("SchemaVersion = %d, want %d", v, last+2)
	}
	// Then last+1 lands: applied although a higher version is recorded.
	layer(fstest.MapFS{
		fmt.Sprintf("%04d_earlier.sql", last+1): {Data: []byte("CREATE TABLE gap_earlier (x INTEGER)")},
		fmt.Sprintf("%04d_later.sql", last+2):   {Data: []byte("CREATE TABLE gap_later (x INTEGER)")},
	})
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("Migrate filling the gap: %v", err)
	}
	if _, err := s.db.ExecContext(ctx, "INSERT INTO gap_earlier (x) VALUES (1)"); err != nil {
		t.Fatalf("the earlier migration was not applied: %v", err)
	}
	// A binary without last+1 refuses the database that has it.
	layer(fstest.MapFS{fmt.Sprintf("%04d_later.sql", last+2): {Data: []byte("CREATE TABLE gap_later (x INTEGER)")}})
	if err := s.Migrate(ctx); err == nil || !strings.Contains(err.Error(), "newer") {
		t.Fatalf("Migrate of a database with an unknown version = %v, want an error", err)
	}
	// Two files with one version are refused.
	layer(fstest.MapFS{
		fmt.Sprintf("%04d_a.sql", last+1): {Data: []byte("SELECT 1")},
		fmt.Sprintf("%04d_b.sql", last+1): {Data: []byte("SELECT 1")},
	})
	if err := s.Migrate(ctx); err == nil || !strings.Contains(err.Error(), "same version") {
		t.Fatalf("Migrate with a duplicate version = %v, want an error", err)
	}
}

func TestInMemory(t *testing.T) {
	s, err := Open(t.Context(), "sqlite", ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.UpdateConfig(t.Context(), func(*store.Config) error { return nil }); err != nil {
		t.Fatal(err)
	}
	cfg, err := s.GetConfig(t.Context())
	if err != nil || cfg.Version != 1 {
		t.Fatalf("GetConfig = %+v, %v; want version 1 from the same in-memory database", cfg, err)
	}
}

func TestClosed(t *testing.T) {
	s, _ := openTemp(t)
	ch := s.Watch(t.Context())
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, open := <-ch; open {
		t.Error("Watch channel still open after Close")
	}
	if err := s.Ping(t.Context()); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Ping after Close = %v, want ErrUnavailable", err)
	}
	if _, err := s.GetConfig(t.Context()); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("GetConfig after Close = %v, want ErrUnavailable", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// TestStoredTimes checks the on-disk encoding the migrations promise: UTC Unix microseconds.
func TestStoredTimes(t *testing.T) {
	at := time.Date(2031, 5, 6, 7, 8, 9, 123456789, time.FixedZone("UTC+2", 7200))
	s, _ := openTemp(t, WithClock(func() time.Time { return at }))
	if err := s.CreateSession(t.Context(), &store.Session{ID: "s", UserID: "u", ExpiresAt: at.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	var created, expires int64
	if err := s.db.QueryRowContext(t.Context(), "SELECT created_at, expires_at FROM sessions WHERE id = 's'").Scan(&created, &expires); err != nil {
		t.Fatal(err)
	}
	if created != at.UnixMicro() || expires != at.Add(time.Hour).UnixMicro() {
		t.Errorf("stored (%d, %d), want (%d, %d)", created, expires, at.UnixMicro(), at.Add(time.Hour).UnixMicro())
	}
}

// TestTwoStoresShareFile stands in for two processes on one database file: the in-process write
// queue does not help there, so this exercises BEGIN IMMEDIATE and busy_timeout.
func TestTwoStoresShareFile(t *testing.T) {
	now := time.Now()
	clock := WithClock(func() time.Time { return now })
	a, path := openTemp(t, clock)
	b, err := Open(t.Context(), "sqlite", path, clock)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	stores := []*Store{a, b}

	const codes, goroutines, hits, limit = 10, 20, 10, 77
	for i := range codes {
		c := &store.HandoffCode{CodeHash: fmt.Sprintf("h%d", i), ExpiresAt: now.Add(time.Hour)}
		if err := a.CreateHandoffCode(t.Context(), c); err != nil {
			t.Fatal(err)
		}
	}
	var consumed, allowed atomic.Int64
	var wg sync.WaitGroup
	for g := range goroutines {
		s := stores[g%2]
		wg.Go(func() {
			for i := range hits {
				ok, err := s.HitRateLimit(t.Context(), "shared", time.Hour, limit)
				if err != nil {
					t.Errorf("HitRateLimit: %v", err)
					return
				}
				if ok {
					allowed.Add(1)
				}
				_, err = s.ConsumeHandoffCode(t.Context(), fmt.Sprintf("h%d", i))
				switch {
				case err == nil:
					consumed.Add(1)
				case !errors.Is(err, store.ErrConflict):
					t.Errorf("ConsumeHandoffCode: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	if got := allowed.Load(); got != limit {
		t.Errorf("%d hits allowed across two stores, want %d", got, limit)
	}
	if got := consumed.Load(); got != codes {
		t.Errorf("%d codes consumed across two stores, want each of the %d once", got, codes)
	}
}

// TestWatchSeesOtherProcesses: a revocation committed through another Store on the same
// database file (another process, such as `gatehouse users revoke`) reaches this Store's
// watchers.
func TestWatchSeesOtherProcesses(t *testing.T) {
	ctx := t.Context()
	path := "file:" + filepath.Join(t.TempDir(), "shared.db")
	server, err := Open(ctx, "sqlite", path, WithPollInterval(20*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	cli, err := Open(ctx, "sqlite", path, WithPollInterval(0))
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	u, err := cli.UpsertUserByEmail(ctx, "alice@example.com", store.LastSeen{})
	if err != nil {
		t.Fatal(err)
	}
	changes := server.Watch(ctx)
	if err := cli.RevokeUserSessions(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	select {
	case c := <-changes:
		if !c.Revocations {
			t.Errorf("change %+v does not name revocations", c)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a revocation committed by another process was not noticed")
	}
}

// TestWatchSeesOtherProcessesGatewayCA: a gateway CA activated by another process (the CLI) is
// noticed by the serving process's poll, as a keys change.
func TestWatchSeesOtherProcessesGatewayCA(t *testing.T) {
	ctx := t.Context()
	path := "file:" + filepath.Join(t.TempDir(), "shared.db")
	server, err := Open(ctx, "sqlite", path, WithPollInterval(20*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	cli, err := Open(ctx, "sqlite", path, WithPollInterval(0))
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	for _, id := range []string{"a", "b"} {
		c := &store.GatewayCA{ID: id, Fingerprint: id, CertificatePEM: id, PrivateKeyEncrypted: []byte(id), ExpiresAt: time.Now().Add(time.Hour)}
		if err := cli.CreateGatewayCA(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := cli.SetGatewayCAState(ctx, "a", store.GatewayCAInUse); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // let the server's poll take in the state so far
	changes := server.Watch(ctx)
	if _, err := cli.SetGatewayCAState(ctx, "b", store.GatewayCAInUse); err != nil {
		t.Fatal(err)
	}
	select {
	case c := <-changes:
		if !c.Keys {
			t.Errorf("change %+v does not name keys", c)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a gateway CA activated by another process was not noticed")
	}
}

// TestWatchSeesOtherProcessesAppReviews: a review status set by another process (the CLI)
// reaches a running server as a Config change through the poll.
func TestWatchSeesOtherProcessesAppReviews(t *testing.T) {
	ctx := t.Context()
	path := "file:" + filepath.Join(t.TempDir(), "shared.db")
	server, err := Open(ctx, "sqlite", path, WithPollInterval(20*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	cli, err := Open(ctx, "sqlite", path, WithPollInterval(0))
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	for _, st := range []string{store.AppReviewApproved, store.AppReviewUnapproved, store.AppReviewUnreviewed} {
		time.Sleep(100 * time.Millisecond) // let the server's poll take in the state so far
		changes := server.Watch(ctx)
		if err := cli.SetGatewayAppReviews(ctx, []store.GatewayAppReview{{AppID: 1199, Status: st}}); err != nil {
			t.Fatal(err)
		}
		select {
		case c := <-changes:
			if !c.Config {
				t.Errorf("%s: change %+v does not name the config", st, c)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("review %s set by another process was not noticed", st)
		}
	}
}

// TestMigrationAdminTokenScopes: a token stored before migration 0017 (no scopes column) reads
// back with the scope "all" it always had in effect.
func TestMigrationAdminTokenScopes(t *testing.T) {
	s, _ := openTemp(t)
	ctx := t.Context()
	for _, q := range []string{
		"ALTER TABLE admin_tokens DROP COLUMN scopes",
		"DELETE FROM schema_migrations WHERE version = 17",
		"INSERT INTO admin_tokens (id, name, token_hash, created_at, last_used_at) VALUES ('old', 'old', 'h-old', 0, 0)",
	} {
		if _, err := s.db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	tok, err := s.AdminTokenByHash(ctx, "h-old")
	if err != nil {
		t.Fatal(err)
	}
	if len(tok.Scopes) != 1 || tok.Scopes[0] != "all" {
		t.Errorf("scopes of a token from before 0017 = %v, want [all]", tok.Scopes)
	}
}
