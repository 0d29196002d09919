// Package sqlstore is the database/sql backend of store.Store. It owns the SQL schema and its
// embedded forward-only migrations, the mapping between the domain types and rows, the
// transaction discipline that makes every Store method atomic, and the broadcast behind Watch.
// SQL dialect differences (placeholders, upserts, row locks, error codes, pool settings, change
// notifications) live in one dialect value per database: SQLite (modernc.org/sqlite, driver
// "sqlite"; one process, or a few on one host) and PostgreSQL (github.com/jackc/pgx/v5, driver
// "postgres"; any number of replicas).
//
// Watch sees changes committed by other processes on the same database too: on PostgreSQL they
// arrive through LISTEN/NOTIFY within milliseconds; on both databases a periodic fingerprint poll
// (see WithPollInterval) is the safety net.
package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse/gatehouse/internal/store"
)

var _ store.Store = (*Store)(nil)

// Store is a store.Store backed by a SQL database. It is safe for concurrent use.
type Store struct {
	db  *sql.DB
	d   *dialect
	now func() time.Time

	// writeSem serializes this process's write transactions when the dialect allows only one
	// writer at a time, so they queue in Go instead of sleeping in the driver's busy handler.
	writeSem chan struct{}
	// nextSweep is the store-clock time (Unix µs) after which a write transaction first deletes
	// expired rows.
	nextSweep atomic.Int64
	closed    atomic.Bool
	// opTimeout bounds each operation (see WithOperationTimeout); 0 means unbounded. errTimeout
	// is the cause of an operation that ran out of it.
	opTimeout  time.Duration
	errTimeout error

	watchers broadcaster
	// dsn is the prepared DSN, for the dialect's listening connection.
	dsn string
	// instance identifies this Store in change notifications, so that it skips its own.
	instance string
	// bg is cancelled by Close; background goroutines (poller, listener) run under it.
	bg       context.Context
	stopBg   context.CancelFunc
	bgWG     sync.WaitGroup
	listenMu sync.Once
}

// Option configures Open.
type Option func(*options)

type options struct {
	now       func() time.Time
	pollEvery time.Duration
	noMigrate bool
	opTimeout time.Duration
}

// DefaultOperationTimeout bounds one store operation unless WithOperationTimeout says otherwise.
const DefaultOperationTimeout = 5 * time.Second

// WithOperationTimeout bounds every operation of the Store: one method call, including waiting
// for a pooled connection (or a new one), the in-process write queue, every statement and
// retries. A database that hangs instead of refusing connections then fails the call with
// store.ErrUnavailable after d rather than holding the caller (and its HTTP request) forever.
// The default is DefaultOperationTimeout; 0 turns the bound off. A shorter deadline on the
// caller's context still applies. Migrations are not bounded: they may legitimately take long.
func WithOperationTimeout(d time.Duration) Option {
	return func(o *options) { o.opTimeout = d }
}

// WithoutMigrations makes Open leave the schema as it is; the caller applies migrations with
// Migrate (as `gatehouse migrate` does, to report the versions before and after).
func WithoutMigrations() Option {
	return func(o *options) { o.noMigrate = true }
}

// WithPollInterval sets how often the Store looks for changes committed by other processes
// (default DefaultPollInterval); 0 turns it off.
func WithPollInterval(d time.Duration) Option {
	return func(o *options) { o.pollEvery = d }
}

// WithClock sets the clock that decides expiry, rate-limit windows and the times the store
// records. The default is time.Now.
func WithClock(now func() time.Time) Option {
	return func(o *options) { o.now = now }
}

// Open connects to the database, applies pending migrations and returns the store. driver is
// "sqlite" or "postgres" ("pgx", the database/sql driver name, is accepted too). For SQLite, dsn
// is a file name or file: URI to which Open adds the settings the store relies on (WAL, foreign
// keys, busy timeout, immediate write transactions). For PostgreSQL, dsn is a pgx connection
// string (postgres://user:password@host:5432/db?sslmode=verify-full, or key=value pairs);
// search_path in it selects the schema.
func Open(ctx context.Context, driver, dsn string, opts ...Option) (*Store, error) {
	o := options{now: time.Now, pollEvery: DefaultPollInterval, opTimeout: DefaultOperationTimeout}
	for _, opt := range opts {
		opt(&o)
	}
	d, err := dialectFor(driver)
	if err != nil {
		return nil, err
	}
	dsn, err = d.prepareDSN(dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: open: %w", err)
	}
	db, err := sql.Open(d.driverName, dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: open: %w", err)
	}
	d.configurePool(db, dsn)
	s := &Store{db: db, d: d, now: o.now, dsn: dsn, instance: uuid.NewString(), opTimeout: o.opTimeout,
		errTimeout: fmt.Errorf("%w: the database did not answer within %s", store.ErrUnavailable, o.opTimeout)}
	if d.singleWriter {
		s.writeSem = make(chan struct{}, 1)
	}
	s.watchers.init()
	pingCtx, finish := s.operation(ctx)
	if err := finish(db.PingContext(pingCtx)); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("sqlstore: open: %w", unavailable(err))
	}
	if !o.noMigrate {
		if err := s.Migrate(ctx); err != nil {
			_ = db.Close()
			return nil, err
		}
	}
	s.bg, s.stopBg = context.WithCancel(context.Background())
	if o.pollEvery > 0 {
		// The baseline is taken now, so that a change committed right after Open returns is
		// seen by the first poll whatever the goroutine's scheduling.
		base, baseErr := s.fingerprint(ctx)
		s.bgWG.Go(func() { s.pollChanges(s.bg, o.pollEvery, base, baseErr) })
	}
	return s, nil
}

// Ping checks that the database is reachable.
func (s *Store) Ping(ctx context.Context) error {
	if s.closed.Load() {
		return fmt.Errorf("sqlstore: ping: %w: store closed", store.ErrUnavailable)
	}
	ctx, finish := s.operation(ctx)
	if err := finish(s.db.PingContext(ctx)); err != nil {
		return fmt.Errorf("sqlstore: ping: %w", unavailable(err))
	}
	return nil
}

// unavailable marks err as store.ErrUnavailable unless it already is.
func unavailable(err error) error {
	if errors.Is(err, store.ErrUnavailable) {
		return err
	}
	return fmt.Errorf("%w: %w", store.ErrUnavailable, err)
}

// Close closes every Watch channel and the database pool.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	s.stopBg()
	s.bgWG.Wait()
	s.watchers.closeAll()
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("sqlstore: close: %w", err)
	}
	return nil
}

// clock returns the store's current time, in UTC truncated to the microsecond.
func (s *Store) clock() time.Time { return utc(s.now()) }

// callbackError carries an error returned by a caller's updater through the transaction
// machinery, so that it is returned unwrapped as the contract requires.
type callbackError struct{ err error }

func (e *callbackError) Error() string { return e.err.Error() }

// maxTxAttempts bounds retries of transactions the dialect reports as retryable.
const maxTxAttempts = 5

// write runs fn in a write transaction and commits it, retrying the whole transaction when the
// dialect says the failure is transient. fn may therefore run more than once. The transaction
// may first delete expired rows (see maybeSweep). fn must use the ctx it is given, which carries
// the operation's deadline.
func (s *Store) write(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx, now time.Time) error) error {
	return s.transact(ctx, true, fn)
}

// transact is write, bounded by the operation timeout; sweep says whether expired rows may be
// deleted first.
func (s *Store) transact(ctx context.Context, sweep bool, fn func(ctx context.Context, tx *sql.Tx, now time.Time) error) (err error) {
	ctx, finish := s.operation(ctx)
	defer func() { err = finish(err) }()
	return s.transactUnbounded(ctx, sweep, fn)
}

// transactUnbounded is transact without the operation timeout, for migrations.
func (s *Store) transactUnbounded(ctx context.Context, sweep bool, fn func(ctx context.Context, tx *sql.Tx, now time.Time) error) error {
	if s.closed.Load() {
		return fmt.Errorf("%w: store closed", store.ErrUnavailable)
	}
	if s.writeSem != nil {
		select {
		case s.writeSem <- struct{}{}:
			defer func() { <-s.writeSem }()
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
	for attempt := 1; ; attempt++ {
		err := s.writeOnce(ctx, sweep, fn)
		if err == nil || attempt == maxTxAttempts || !s.d.isRetryable(err) || ctx.Err() != nil {
			return err
		}
	}
}

func (s *Store) writeOnce(ctx context.Context, sweep bool, fn func(ctx context.Context, tx *sql.Tx, now time.Time) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	now := s.clock()
	if sweep {
		if err := s.maybeSweep(ctx, tx, now); err != nil {
			return err
		}
	}
	if err := fn(ctx, tx, now); err != nil {
		return err
	}
	return tx.Commit()
}

// read runs fn in a read-only transaction, so that multi-statement reads see one snapshot. It
// is bounded by the operation timeout; fn must use the ctx it is given.
func (s *Store) read(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx, now time.Time) error) (err error) {
	if s.closed.Load() {
		return fmt.Errorf("%w: store closed", store.ErrUnavailable)
	}
	ctx, finish := s.operation(ctx)
	defer func() { err = finish(err) }()
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	if err := fn(ctx, tx, s.clock()); err != nil {
		return err
	}
	return tx.Commit()
}

// operation bounds one store operation by the operation timeout (see WithOperationTimeout).
// The statements of the operation must run under the returned context: database/sql does not
// interrupt a statement when only its transaction's context ends. finish releases the bound and
// turns an error the bound caused into one that wraps store.ErrUnavailable, so that callers fail
// closed exactly as when the database refuses connections.
func (s *Store) operation(ctx context.Context) (context.Context, func(error) error) {
	if s.opTimeout <= 0 {
		return ctx, func(err error) error { return err }
	}
	ctx, cancel := context.WithTimeoutCause(ctx, s.opTimeout, s.errTimeout)
	return ctx, func(err error) error {
		timedOut := context.Cause(ctx) == s.errTimeout
		cancel()
		if err != nil && timedOut && !errors.Is(err, s.errTimeout) {
			return fmt.Errorf("%w (%w)", s.errTimeout, err)
		}
		return err
	}
}

// fail turns an error from read or write into the error a Store method returns: updater errors
// unwrapped, everything else prefixed with the operation and wrapping store sentinels
// (ErrUnavailable for connection-level failures).
func (s *Store) fail(op string, err error) error {
	var ce *callbackError
	if errors.As(err, &ce) {
		return ce.err
	}
	switch {
	case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrAlreadyExists),
		errors.Is(err, store.ErrConflict), errors.Is(err, store.ErrUnavailable),
		errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("sqlstore: %s: %w", op, err)
	case errors.Is(err, driver.ErrBadConn), errors.Is(err, sql.ErrConnDone), s.d.isUnavailable(err):
		return fmt.Errorf("sqlstore: %s: %w: %w", op, store.ErrUnavailable, err)
	}
	return fmt.Errorf("sqlstore: %s: %w", op, err)
}

// sweepInterval is how often (on the store clock) a write transaction deletes expired rows.
const sweepInterval = time.Minute

// maybeSweep deletes expired time-limited rows at most once per sweepInterval. It runs inside a
// write transaction, so a failed sweep fails (and may retry) that transaction.
func (s *Store) maybeSweep(ctx context.Context, tx *sql.Tx, now time.Time) error {
	next := s.nextSweep.Load()
	if now.UnixMicro() < next || !s.nextSweep.CompareAndSwap(next, now.Add(sweepInterval).UnixMicro()) {
		return nil
	}
	n := micros(now)
	for _, q := range []string{
		"DELETE FROM login_flows WHERE expires_at <= ?",
		"DELETE FROM handoff_codes WHERE expires_at <= ?",
		"DELETE FROM pin_challenges WHERE expires_at <= ?",
		"DELETE FROM pending_saml_requests WHERE expires_at <= ?",
		"DELETE FROM mcp_upstream_states WHERE expires_at <= ?",
		"DELETE FROM sessions WHERE expires_at <= ?",
		"DELETE FROM rate_limits WHERE window_end <= ?",
		"DELETE FROM seen_once WHERE expires_at <= ?",
		"DELETE FROM signing_keys WHERE retire_at <> 0 AND retire_at <= ?",
	} {
		if _, err := tx.ExecContext(ctx, s.d.rebind(q), n); err != nil {
			// Let the next transaction try again.
			s.nextSweep.Store(next)
			return fmt.Errorf("sweep expired rows: %w", err)
		}
	}
	return nil
}

// lock takes the dialect's transaction-scoped lock on key (see dialect.lockQuery), if it has one.
func (s *Store) lock(ctx context.Context, tx *sql.Tx, key int) error {
	if s.d.lockQuery == "" {
		return nil
	}
	if _, err := tx.ExecContext(ctx, s.d.rebind(s.d.lockQuery), key); err != nil {
		return fmt.Errorf("lock: %w", err)
	}
	return nil
}

// publish queues, inside tx, a notification of c for other processes on the same database,
// delivered when tx commits (see dialect.notifyQuery). Watchers of this Store are notified by
// the caller after the commit.
func (s *Store) publish(ctx context.Context, tx *sql.Tx, c store.Change) error {
	if s.d.notifyQuery == "" {
		return nil
	}
	if _, err := tx.ExecContext(ctx, s.d.rebind(s.d.notifyQuery), encodeChange(s.instance, c)); err != nil {
		return fmt.Errorf("notify: %w", err)
	}
	return nil
}

// utc returns t in UTC truncated to the microsecond; the zero time stays zero.
func utc(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC().Truncate(time.Microsecond)
}

// micros encodes t as Unix microseconds; the zero time is 0.
func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

// fromMicros decodes a micros value.
func fromMicros(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMicro(v).UTC()
}
