package main

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/keys"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
)

// TestMigrateFromFirstSchema creates a database at schema version 1 (the first migration only,
// with a user in it), runs `gatehouse migrate`, and checks that it reaches the latest version,
// keeps the data, and that every later table works; for SQLite and PostgreSQL.
func TestMigrateFromFirstSchema(t *testing.T) {
	for _, driver := range []string{"sqlite", "postgres"} {
		t.Run(driver, func(t *testing.T) {
			dir := t.TempDir()
			var dsn, sqlDriver string
			switch driver {
			case "sqlite":
				dsn, sqlDriver = filepath.Join(dir, "gatehouse.db"), "sqlite"
			case "postgres":
				dsn, sqlDriver = postgresSchemaDSN(t), "pgx"
			}
			migrations := filepath.Join("..", "..", "internal", "store", "sqlstore", "migrations", driver)
			files, err := filepath.Glob(filepath.Join(migrations, "*.sql"))
			if err != nil || len(files) < 2 {
				t.Fatalf("migrations of %s: %v %v", driver, files, err)
			}
			// The latest version is the highest file number (versions may have gaps).
			latest, err := strconv.Atoi(strings.SplitN(filepath.Base(files[len(files)-1]), "_", 2)[0])
			if err != nil {
				t.Fatal(err)
			}

			// Schema 1, as a binary of the first release left it.
			db, err := sql.Open(sqlDriver, dsn)
			if err != nil {
				t.Fatal(err)
			}
			first, err := os.ReadFile(filepath.Join(migrations, "0001_init.sql"))
			if err != nil {
				t.Fatal(err)
			}
			for _, q := range []string{
				string(first),
				"CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)",
				"INSERT INTO schema_migrations (version, name, applied_at) VALUES (1, '0001_init', 0)",
				"INSERT INTO users (id, email, name, status, created_at, updated_at, tokens_not_before, last_seen) " +
					"VALUES ('u1', 'old@example.com', 'Old', 'active', 1, 1, 0, '{}')",
			} {
				if _, err := db.ExecContext(t.Context(), q); err != nil {
					t.Fatalf("create schema 1: %v", err)
				}
			}
			_ = db.Close()

			if err := keys.GenerateMasterKeyFile(filepath.Join(dir, "master.key")); err != nil {
				t.Fatal(err)
			}
			cfg := filepath.Join(dir, "gatehouse.yaml")
			body := fmt.Sprintf(`version: 1
organization: {auth_domain: auth.example.com}
secrets: {master_key_file: %q}
storage: {driver: %s, dsn: %q}
`, filepath.Join(dir, "master.key"), driver, dsn)
			if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
				t.Fatal(err)
			}

			out, stderr, err := run(t, "migrate", "--config", cfg)
			if err != nil {
				t.Fatalf("gatehouse migrate: %v\n%s%s", err, out, stderr)
			}
			for _, want := range []string{
				fmt.Sprintf("schema version before: 1 (this binary's latest: %d)", latest),
				fmt.Sprintf("schema version after: %d (applied %d migration(s))", latest, latest-1),
			} {
				if !strings.Contains(out, want) {
					t.Errorf("output lacks %q:\n%s", want, out)
				}
			}
			out, _, err = run(t, "migrate", "--config", cfg)
			if err != nil || !strings.Contains(out, fmt.Sprintf("after: %d (up to date", latest)) {
				t.Errorf("second gatehouse migrate: %v\n%s", err, out)
			}

			// Other commands open the same store through app.OpenStore, driver named as configured.
			out, _, err = run(t, "users", "list", "--config", cfg)
			if err != nil || !strings.Contains(out, "old@example.com") {
				t.Errorf("gatehouse users list: %v\n%s", err, out)
			}

			st, err := sqlstore.Open(t.Context(), driver, dsn, sqlstore.WithPollInterval(0))
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			ctx := t.Context()
			u, err := st.GetUserByEmail(ctx, "old@example.com")
			if err != nil || u.ID != "u1" || u.Name != "Old" || u.IdPIDs != nil {
				t.Errorf("user from schema 1 = %+v, %v", u, err)
			}
			if _, err := st.RememberOnce(ctx, "k", u.CreatedAt.Add(1e15)); err != nil {
				t.Errorf("RememberOnce (0002): %v", err)
			}
			if err := st.CreatePendingSAMLRequest(ctx, &store.PendingSAMLRequest{ID: "p"}); err != nil {
				t.Errorf("CreatePendingSAMLRequest (0004): %v", err)
			}
			if err := st.CreateSCIMUser(ctx, &store.SCIMUser{ID: "s1", IdPID: "idp", UserName: "old"}); err != nil {
				t.Errorf("CreateSCIMUser (0005): %v", err)
			}
			if err := st.AppendAuditEvent(ctx, &store.AuditEvent{Action: "test"}); err != nil {
				t.Errorf("AppendAuditEvent (0006): %v", err)
			}
			if err := st.AppendPromptLogs(ctx, []store.PromptLog{{Time: u.CreatedAt, PayloadEnc: []byte{2}}}); err != nil {
				t.Errorf("AppendPromptLogs (0013): %v", err)
			}
			if _, err := st.UpdateMCPServerState(ctx, "docs", func(s *store.MCPServerState) error { s.Status = store.MCPSyncReady; return nil }); err != nil {
				t.Errorf("UpdateMCPServerState (0014): %v", err)
			}
			if err := st.AppendMCPCallLogs(ctx, []store.MCPCallLog{{Time: u.CreatedAt, Method: "tools/call"}}); err != nil {
				t.Errorf("AppendMCPCallLogs (0014): %v", err)
			}
			if err := st.CreateMCPClient(ctx, &store.MCPClient{ClientID: "c1", RedirectURIs: []string{"http://127.0.0.1:1/cb"}, CreatedAt: u.CreatedAt}); err != nil {
				t.Errorf("CreateMCPClient (0015): %v", err)
			}
			if c, err := st.GetMCPClient(ctx, "c1"); err != nil || len(c.RedirectURIs) != 1 || c.RedirectURIs[0] != "http://127.0.0.1:1/cb" {
				t.Errorf("GetMCPClient (0015) = %+v, %v", c, err)
			}
			if _, err := st.UpdateConfig(ctx, func(c *store.Config) error { c.Organization.Name = "migrated"; return nil }); err != nil {
				t.Errorf("UpdateConfig: %v", err)
			}
		})
	}
}

// postgresSchemaDSN returns the PostgreSQL test DSN for a fresh schema dropped when t ends. It
// skips without GATEHOUSE_TEST_POSTGRES_DSN, except under CI=true (see the sqlstore tests).
func postgresSchemaDSN(t *testing.T) string {
	t.Helper()
	base := os.Getenv("GATEHOUSE_TEST_POSTGRES_DSN")
	if base == "" {
		const msg = "PostgreSQL suite SKIPPED: set GATEHOUSE_TEST_POSTGRES_DSN"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg + "; CI=true never skips it")
		}
		t.Skip(msg)
	}
	db, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var b [8]byte
	_, _ = rand.Read(b[:])
	schema := "gh_test_" + hex.EncodeToString(b[:])
	if _, err := db.ExecContext(t.Context(), "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("pgx", base)
		if err == nil {
			_, err = db.Exec("DROP SCHEMA " + schema + " CASCADE")
			_ = db.Close()
		}
		if err != nil {
			t.Errorf("drop test schema: %v", err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("GATEHOUSE_TEST_POSTGRES_DSN must be a URL here: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
