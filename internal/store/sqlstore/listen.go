package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse/gatehouse/internal/store"
)

// Reconnect backoff of the listening connection.
const (
	listenMinBackoff     = 100 * time.Millisecond
	listenMaxBackoff     = 5 * time.Second
	listenConnectTimeout = 10 * time.Second
)

// everything is the change a watcher is told about when notifications may have been missed.
var everything = store.Change{Config: true, Revocations: true, Keys: true}

// startListener starts, once per Store and only for dialects with change notifications, the
// goroutine that turns other processes' notifications into Watch notifications. Watch calls it,
// so that short-lived commands (which never watch) do not hold a listening connection.
func (s *Store) startListener() {
	if s.d.notifyQuery == "" {
		return
	}
	s.listenMu.Do(func() {
		if s.closed.Load() {
			return
		}
		s.bgWG.Go(func() { s.listen(s.bg) })
	})
}

// listen holds a dedicated connection that LISTENs for change notifications, reconnecting with
// exponential backoff until ctx ends. Each (re)connection tells watchers that everything may
// have changed, since notifications sent while it was not listening are lost; the fingerprint
// poll covers the same gap independently.
func (s *Store) listen(ctx context.Context) {
	backoff := listenMinBackoff
	for {
		connected, err := s.listenOnce(ctx)
		if ctx.Err() != nil {
			return
		}
		_ = err // the database is unreachable; requests report that on their own
		if connected {
			backoff = listenMinBackoff
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(2*backoff, listenMaxBackoff)
	}
}

// listenOnce connects, LISTENs and forwards notifications until the connection fails or ctx
// ends. connected reports whether LISTEN succeeded.
func (s *Store) listenOnce(ctx context.Context) (connected bool, err error) {
	cctx, cancel := context.WithTimeout(ctx, listenConnectTimeout)
	defer cancel()
	conn, err := pgx.Connect(cctx, s.dsn)
	if err != nil {
		return false, fmt.Errorf("connect: %w", err)
	}
	defer func() { _ = conn.Close(context.Background()) }()
	var schema string
	if err := conn.QueryRow(cctx, "SELECT COALESCE(current_schema(), '')").Scan(&schema); err != nil {
		return false, fmt.Errorf("current schema: %w", err)
	}
	if _, err := conn.Exec(cctx, "LISTEN "+changesChannel); err != nil {
		return false, fmt.Errorf("listen: %w", err)
	}
	s.watchers.notify(everything)
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return true, fmt.Errorf("wait for notification: %w", err)
		}
		sch, instance, c, err := decodeChange(n.Payload)
		if err != nil || sch != schema || instance == s.instance {
			continue // another deployment's, or our own (notified at commit already)
		}
		s.watchers.notify(c)
	}
}
