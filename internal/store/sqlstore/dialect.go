package sqlstore

import (
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"strings"

	"modernc.org/sqlite"
)

// dialect holds everything that differs between SQL databases. Queries in this package are
// written with ? placeholders, standard SQL and INSERT ... ON CONFLICT upserts (which SQLite and
// PostgreSQL share); column types live in each dialect's migration files.
type dialect struct {
	name string
	// driverName is the database/sql driver the dialect opens.
	driverName string
	// migrations holds the dialect's NNNN_name.sql files.
	migrations fs.FS
	// rebind rewrites a query written with ? placeholders into the dialect's syntax.
	rebind func(query string) string
	// forUpdate is appended to a SELECT that reads a row a transaction is about to change.
	forUpdate string
	// singleWriter says the database admits one writer at a time, so the store queues its own
	// write transactions in process.
	singleWriter bool
	// prepareDSN adds the connection settings the store relies on.
	prepareDSN func(dsn string) (string, error)
	// configurePool sets pool limits for the prepared DSN.
	configurePool func(db *sql.DB, dsn string)
	// isUniqueViolation reports a unique or primary key constraint failure.
	isUniqueViolation func(err error) bool
	// isRetryable reports a transient failure after which the whole transaction may be rerun.
	isRetryable func(err error) bool
	// isUnavailable reports a failure to reach or use the database at all.
	isUnavailable func(err error) bool
	// isTrue returns a condition that holds when the boolean column col is true, written the
	// way the dialect's partial indexes on col spell it.
	isTrue func(col string) string
	// lockQuery, when set, takes a transaction-scoped lock on its one argument (a lock* key), for
	// databases with concurrent writers: the lock serializes what row locks cannot (appends that
	// must commit in sequence order, migrations). Single-writer databases need none.
	lockQuery string
	// notifyQuery, when set, queues a change notification for other processes inside the
	// writing transaction; its one argument is the payload (see encodeChange). The database
	// delivers it at commit only.
	notifyQuery string
	// tableExistsQuery reports (as an integer, 0 or 1) whether the table named by its one
	// argument exists.
	tableExistsQuery string
}

// Keys of lockQuery.
const (
	lockMigrations = 1
	lockAuthEvents = 2
	lockAudit      = 3
	lockGatewayCAs = 4
	// lockGatewayAppReviews serialises review batches: each reads the statuses it changes, and
	// two interleaved batches would otherwise leave a mix of both.
	lockGatewayAppReviews = 5
)

// upsert returns the clause that turns an INSERT into an update of the row whose conflict
// columns match; set is a SET list that may refer to the proposed row as excluded.
func (d *dialect) upsert(conflict, set string) string {
	return " ON CONFLICT (" + conflict + ") DO UPDATE SET " + set
}

func dialectFor(driver string) (*dialect, error) {
	switch driver {
	case "sqlite":
		return sqliteDialect(), nil
	case "postgres", "pgx":
		return postgresDialect(), nil
	}
	return nil, fmt.Errorf("sqlstore: unsupported driver %q (supported: sqlite, postgres)", driver)
}

//go:embed migrations/sqlite/*.sql
var sqliteMigrations embed.FS

// SQLite primary result codes (extended codes carry them in the low byte).
const (
	sqliteBusy       = 5
	sqliteLocked     = 6
	sqliteIOErr      = 10
	sqliteFull       = 13
	sqliteCantOpen   = 14
	sqliteConstraint = 19
	sqliteReadOnly   = 8

	sqliteConstraintPrimaryKey = 1555
	sqliteConstraintUnique     = 2067
)

// sqliteBusyTimeoutMS is how long a connection waits for another process's write lock.
const sqliteBusyTimeoutMS = 5000

func sqliteDialect() *dialect {
	migrations, err := fs.Sub(sqliteMigrations, "migrations/sqlite")
	if err != nil {
		panic(err) // the embedded directory is fixed at build time
	}
	code := func(err error) int {
		var se *sqlite.Error
		if errors.As(err, &se) {
			return se.Code()
		}
		return 0
	}
	return &dialect{
		name:          "sqlite",
		driverName:    "sqlite",
		migrations:    migrations,
		rebind:        func(q string) string { return q },
		forUpdate:     "", // BEGIN IMMEDIATE already holds the database write lock
		singleWriter:  true,
		prepareDSN:    sqlitePrepareDSN,
		configurePool: sqliteConfigurePool,
		isUniqueViolation: func(err error) bool {
			c := code(err)
			return c == sqliteConstraintUnique || c == sqliteConstraintPrimaryKey
		},
		isRetryable: func(err error) bool {
			c := code(err) & 0xff
			return c == sqliteBusy || c == sqliteLocked
		},
		isUnavailable: func(err error) bool {
			switch code(err) & 0xff {
			case sqliteBusy, sqliteLocked, sqliteIOErr, sqliteFull, sqliteCantOpen, sqliteReadOnly:
				return true
			}
			return false
		},
		// Matches the partial index auth_events_user_idp.
		isTrue:           func(col string) string { return col + " <> 0" },
		tableExistsQuery: "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?",
	}
}

// sqlitePrepareDSN adds modernc.org/sqlite DSN parameters: every write transaction starts with
// BEGIN IMMEDIATE (so it takes the write lock up front and never fails to upgrade a read lock),
// connections wait for locks instead of failing with SQLITE_BUSY, and the journal is a WAL so
// readers and the writer do not block each other. Settings the caller already chose are kept,
// except _txlock, which must be immediate.
func sqlitePrepareDSN(dsn string) (string, error) {
	base, query, _ := strings.Cut(dsn, "?")
	if base == "" {
		return "", errors.New("empty SQLite DSN")
	}
	q, err := url.ParseQuery(query)
	if err != nil {
		return "", fmt.Errorf("SQLite DSN parameters: %w", err)
	}
	if v := q.Get("_txlock"); v != "" && !strings.EqualFold(v, "immediate") {
		return "", fmt.Errorf("SQLite DSN sets _txlock=%s; the store needs immediate", v)
	}
	q.Set("_txlock", "immediate")
	has := func(name string) bool {
		for _, p := range q["_pragma"] {
			if strings.HasPrefix(strings.ToLower(strings.TrimSpace(p)), name) {
				return true
			}
		}
		return false
	}
	for _, p := range []struct{ name, value string }{
		{"busy_timeout", fmt.Sprintf("busy_timeout(%d)", sqliteBusyTimeoutMS)},
		{"journal_mode", "journal_mode(WAL)"},
		{"foreign_keys", "foreign_keys(1)"},
		{"synchronous", "synchronous(NORMAL)"},
	} {
		if !has(p.name) {
			q.Add("_pragma", p.value)
		}
	}
	return base + "?" + q.Encode(), nil
}

// sqliteConfigurePool keeps an in-memory database on one connection, since each connection to
// ":memory:" would otherwise open a database of its own.
func sqliteConfigurePool(db *sql.DB, dsn string) {
	base, query, _ := strings.Cut(dsn, "?")
	if strings.Contains(base, ":memory:") || strings.Contains(query, "mode=memory") {
		db.SetMaxOpenConns(1)
		db.SetConnMaxIdleTime(0)
		db.SetConnMaxLifetime(0)
	}
}
