package sqlstore

import (
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver

	"github.com/gatehouse/gatehouse/internal/store"
)

// PostgreSQL (github.com/jackc/pgx/v5, database/sql driver "pgx"; configurations say
// "postgres").
//
// Isolation: transactions run at READ COMMITTED, PostgreSQL's default. Every read-modify-write
// either is one statement (conditional UPDATE ... RETURNING for single-use objects, INSERT ...
// ON CONFLICT for counters and upserts) or first locks the rows it decides on with SELECT ...
// FOR UPDATE, and creations race on unique indexes (the current signing key has one). Where no
// row exists to lock, a seed row is created by the migration (config_version) or a
// transaction-scoped advisory lock serializes the writers (migrations, event appends). Under
// READ COMMITTED a statement that waited for a row lock re-checks its WHERE clause against the
// row's newest version, so the loser of a race sees the winner's commit. Deadlocks and
// serialization failures are retried as a whole transaction (updaters may run more than once,
// as the Store contract allows).

//go:embed migrations/postgres/*.sql
var postgresMigrations embed.FS

// SQLSTATE codes and classes the store reacts to.
const (
	pgUniqueViolation      = "23505"
	pgSerializationFailure = "40001"
	pgDeadlockDetected     = "40P01"
	pgTooManyConnections   = "53300"
	pgAdminShutdown        = "57P01"
	pgCrashShutdown        = "57P02"
	pgCannotConnectNow     = "57P03"
	pgReadOnlyTransaction  = "25006" // a hot standby after failover
	pgClassConnection      = "08"
)

// changesChannel is the LISTEN/NOTIFY channel on which stores announce committed changes. Its
// payload names the schema, so deployments sharing a database in different schemas ignore each
// other.
const changesChannel = "gatehouse_changes"

// Pool limits per process. Each replica also holds one listening connection while watched.
const (
	pgMaxOpenConns    = 20
	pgMaxIdleConns    = 10
	pgConnMaxIdleTime = 5 * time.Minute
	pgConnMaxLifetime = 30 * time.Minute
)

func postgresDialect() *dialect {
	migrations, err := fs.Sub(postgresMigrations, "migrations/postgres")
	if err != nil {
		panic(err) // the embedded directory is fixed at build time
	}
	return &dialect{
		name:          "postgres",
		driverName:    "pgx",
		migrations:    migrations,
		rebind:        dollarPlaceholders,
		forUpdate:     " FOR UPDATE",
		prepareDSN:    postgresPrepareDSN,
		configurePool: postgresConfigurePool,
		isUniqueViolation: func(err error) bool {
			return pgCode(err) == pgUniqueViolation
		},
		isRetryable: func(err error) bool {
			c := pgCode(err)
			return c == pgSerializationFailure || c == pgDeadlockDetected
		},
		isUnavailable: postgresUnavailable,
		isTrue:        func(col string) string { return col },
		// Two-key advisory locks: the first key is the schema, so deployments that share a
		// database in different schemas do not wait for each other.
		lockQuery:        "SELECT pg_advisory_xact_lock(hashtext(COALESCE(current_schema(), '')), ?)",
		notifyQuery:      "SELECT pg_notify('" + changesChannel + "', COALESCE(current_schema(), '') || ' ' || CAST(? AS TEXT))",
		tableExistsQuery: "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = ?",
	}
}

// pgCode returns the SQLSTATE of a server error, or "".
func pgCode(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// postgresUnavailable reports errors that mean the database cannot be reached or cannot serve
// writes: connection failures and timeouts, a server shutting down or refusing connections, and
// a read-only server (a standby being promoted).
func postgresUnavailable(err error) bool {
	if err == nil {
		return false
	}
	switch c := pgCode(err); {
	case strings.HasPrefix(c, pgClassConnection),
		c == pgTooManyConnections, c == pgAdminShutdown, c == pgCrashShutdown, c == pgCannotConnectNow,
		c == pgReadOnlyTransaction:
		return true
	case c != "":
		return false
	}
	var (
		ce *pgconn.ConnectError
		ne net.Error
	)
	return errors.As(err, &ce) || errors.As(err, &ne) || pgconn.Timeout(err) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
		strings.Contains(err.Error(), "conn closed") // pgx's error for a connection it already closed
}

// dollarPlaceholders rewrites ? placeholders outside string literals and quoted identifiers as
// $1, $2, ...
func dollarPlaceholders(q string) string {
	if !strings.Contains(q, "?") {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + 16)
	n := 0
	var quote byte // the quote character of the literal or identifier we are in, or 0
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0 // a doubled quote closes and reopens, which comes out the same
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '?':
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// postgresPrepareDSN checks that dsn is a pgx connection string (URL or key=value) and names the
// application unless the DSN does. Everything else (TLS, search_path, timeouts) is the
// operator's choice.
func postgresPrepareDSN(dsn string) (string, error) {
	if strings.TrimSpace(dsn) == "" {
		return "", errors.New("empty PostgreSQL DSN")
	}
	if _, err := pgx.ParseConfig(dsn); err != nil {
		// pgx's error may repeat the DSN, password included; keep only its type of failure.
		return "", errors.New("PostgreSQL DSN cannot be parsed")
	}
	if strings.Contains(dsn, "application_name") {
		return dsn, nil
	}
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		sep := "?"
		if strings.Contains(dsn, "?") {
			sep = "&"
		}
		return dsn + sep + "application_name=gatehouse", nil
	}
	return dsn + " application_name=gatehouse", nil
}

// postgresConfigurePool bounds the pool so that several replicas stay within the server's
// max_connections, and recycles connections so that DNS changes and failovers are picked up.
func postgresConfigurePool(db *sql.DB, _ string) {
	db.SetMaxOpenConns(pgMaxOpenConns)
	db.SetMaxIdleConns(pgMaxIdleConns)
	db.SetConnMaxIdleTime(pgConnMaxIdleTime)
	db.SetConnMaxLifetime(pgConnMaxLifetime)
}

// errPayload reports a malformed notification payload.
var errPayload = errors.New("malformed change notification")

// encodeChange is the payload of a change notification after the schema: the sending store's
// instance ID and the letters c, r and k for config, revocations and keys.
func encodeChange(instance string, c store.Change) string {
	var b strings.Builder
	b.WriteString(instance)
	b.WriteByte(' ')
	if c.Config {
		b.WriteByte('c')
	}
	if c.Revocations {
		b.WriteByte('r')
	}
	if c.Keys {
		b.WriteByte('k')
	}
	return b.String()
}

// decodeChange parses a notification payload "schema instance flags"; the schema name may
// contain spaces, the other fields do not.
func decodeChange(payload string) (schema, instance string, c store.Change, err error) {
	rest, flags, ok1 := cutLast(payload)
	schema, instance, ok2 := cutLast(rest)
	if !ok1 || !ok2 || instance == "" {
		return "", "", c, fmt.Errorf("%w: %q", errPayload, payload)
	}
	for _, f := range flags {
		switch f {
		case 'c':
			c.Config = true
		case 'r':
			c.Revocations = true
		case 'k':
			c.Keys = true
		default:
			return "", "", c, fmt.Errorf("%w: %q", errPayload, payload)
		}
	}
	return schema, instance, c, nil
}

// cutLast splits s around its last space.
func cutLast(s string) (before, after string, ok bool) {
	i := strings.LastIndexByte(s, ' ')
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+1:], true
}
