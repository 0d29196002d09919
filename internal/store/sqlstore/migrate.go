package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

// migration is one embedded NNNN_name.sql file.
type migration struct {
	version int
	name    string
	sql     string
}

// loadMigrations returns the dialect's migrations in version order.
func (d *dialect) loadMigrations() ([]migration, error) {
	files, err := fs.Glob(d.migrations, "*.sql")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, f := range files {
		num, _, ok := strings.Cut(f, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration file %s: name must be NNNN_name.sql", f)
		}
		body, err := fs.ReadFile(d.migrations, f)
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: strings.TrimSuffix(path.Base(f), ".sql"), sql: string(body)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i := 1; i < len(ms); i++ {
		if ms[i].version == ms[i-1].version {
			return nil, fmt.Errorf("migrations %s and %s have the same version", ms[i-1].name, ms[i].name)
		}
	}
	return ms, nil
}

// createSchemaMigrations is the same on every dialect (BIGINT has INTEGER affinity in SQLite).
const createSchemaMigrations = `CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL,
    applied_at BIGINT  NOT NULL
)`

// Migrate applies, in order and each in its own transaction, the embedded migrations the
// database has not seen yet. Versions need not be contiguous (branches developed side by side
// each own a number, and a binary may carry a later one before an earlier one lands): every
// embedded version that schema_migrations does not record is applied, in version order, also
// one below the highest applied. Migrations are forward-only: a database that records a version
// this binary does not embed (its schema is newer, or from another build) is an error. Open calls Migrate; it is safe to call again, also from several
// processes at once (on databases with concurrent writers, each step holds the migration lock,
// so a second process waits and then finds the step applied).
func (s *Store) Migrate(ctx context.Context) error {
	ms, err := s.d.loadMigrations()
	if err != nil {
		return fmt.Errorf("sqlstore: migrate: %w", err)
	}
	err = s.transactUnbounded(ctx, false, func(ctx context.Context, tx *sql.Tx, _ time.Time) error {
		// Concurrent CREATE TABLE IF NOT EXISTS can still collide in PostgreSQL's catalog.
		if err := s.lock(ctx, tx, lockMigrations); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, createSchemaMigrations)
		return err
	})
	if err != nil {
		return s.fail("migrate", err)
	}
	known := map[int]bool{}
	for _, m := range ms {
		known[m.version] = true
	}
	for _, m := range ms {
		err := s.transactUnbounded(ctx, false, func(ctx context.Context, tx *sql.Tx, now time.Time) error {
			if err := s.lock(ctx, tx, lockMigrations); err != nil {
				return err
			}
			applied, err := s.appliedMigrations(ctx, tx)
			if err != nil {
				return err
			}
			for v := range applied {
				if !known[v] {
					return fmt.Errorf("database schema has migration %d, which this binary (latest %d) does not know: it is newer than this binary",
						v, ms[len(ms)-1].version)
				}
			}
			if applied[m.version] {
				return nil
			}
			if _, err := tx.ExecContext(ctx, m.sql); err != nil {
				return fmt.Errorf("apply %s: %w", m.name, err)
			}
			_, err = tx.ExecContext(ctx, s.d.rebind("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)"),
				m.version, m.name, micros(now))
			return err
		})
		if err != nil {
			return s.fail("migrate", err)
		}
	}
	return nil
}

// appliedMigrations returns the versions schema_migrations records.
func (s *Store) appliedMigrations(ctx context.Context, tx *sql.Tx) (map[int]bool, error) {
	rows, err := tx.QueryContext(ctx, "SELECT version FROM schema_migrations")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int]bool{}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out[v] = true
	}
	return out, rows.Err()
}

// LatestSchemaVersion returns the number of the last migration embedded in this binary.
func (s *Store) LatestSchemaVersion() (int, error) {
	ms, err := s.d.loadMigrations()
	if err != nil {
		return 0, fmt.Errorf("sqlstore: migrations: %w", err)
	}
	if len(ms) == 0 {
		return 0, nil
	}
	return ms[len(ms)-1].version, nil
}

// SchemaVersion returns the number of the last migration applied to the database (0 for none,
// also when the database has never been migrated).
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	err := s.read(ctx, func(ctx context.Context, tx *sql.Tx, _ time.Time) error {
		var exists int
		if err := tx.QueryRowContext(ctx, s.d.rebind(s.d.tableExistsQuery), "schema_migrations").Scan(&exists); err != nil || exists == 0 {
			return err
		}
		return tx.QueryRowContext(ctx, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations").Scan(&v)
	})
	if err != nil {
		return 0, s.fail("schema version", err)
	}
	return v, nil
}
