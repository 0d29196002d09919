package mcp

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// CallLogWriter writes call logs to the store in batches from one goroutine, so that a tool
// call never waits for the database. The queue is bounded: when the store falls behind,
// entries are dropped and counted (Dropped), never blocking a call. Every entry is also a
// log line.
type CallLogWriter struct {
	store store.MCP
	log   *slog.Logger
	ch    chan store.MCPCallLog
	done  chan struct{}
	once  sync.Once

	written, dropped atomic.Int64

	retention time.Duration
	now       func() time.Time
	stopPurge chan struct{}
}

// Call log writer sizes.
const (
	callLogQueue = 4096
	callLogBatch = 256
	// callLogLinger is how long a batch waits for more entries before it is written: one
	// transaction per busy moment instead of one per call.
	callLogLinger = 50 * time.Millisecond
)

// NewCallLogWriter starts a writer; Close flushes and stops it. A nil store only logs.
func NewCallLogWriter(st store.MCP, log *slog.Logger) *CallLogWriter {
	return NewCallLogWriterRetaining(st, log, 0, nil)
}

// NewCallLogWriterRetaining is NewCallLogWriter that also deletes the entries older than
// retention, at start and then hourly (retention 0 keeps everything).
func NewCallLogWriterRetaining(st store.MCP, log *slog.Logger, retention time.Duration, now func() time.Time) *CallLogWriter {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if now == nil {
		now = time.Now
	}
	w := &CallLogWriter{store: st, log: log, ch: make(chan store.MCPCallLog, callLogQueue), done: make(chan struct{}),
		retention: retention, now: now, stopPurge: make(chan struct{})}
	go w.run()
	if st != nil && retention > 0 {
		go w.purgeLoop()
	}
	return w
}

// purgeInterval is how often entries past the retention are deleted.
const purgeInterval = time.Hour

func (w *CallLogWriter) purgeLoop() {
	t := time.NewTicker(purgeInterval)
	defer t.Stop()
	for {
		w.Purge(context.Background())
		select {
		case <-w.stopPurge:
			return
		case <-t.C:
		}
	}
}

// Purge deletes the entries older than the retention and returns how many went.
func (w *CallLogWriter) Purge(ctx context.Context) int64 {
	if w.store == nil || w.retention <= 0 {
		return 0
	}
	before := w.now().Add(-w.retention)
	n, err := w.store.DeleteMCPCallLogsBefore(ctx, before)
	switch {
	case err != nil:
		w.log.Warn("mcp call logs: entries past the retention could not be deleted; retrying in an hour", "err", err)
	case n > 0:
		w.log.Info("mcp call logs: deleted entries past the retention", "entries", n, "before", before.UTC().Format(time.RFC3339))
	}
	return n
}

// Log queues an entry.
func (w *CallLogWriter) Log(e store.MCPCallLog) {
	w.log.LogAttrs(context.Background(), slog.LevelInfo, "mcp call",
		slog.String("request_id", e.RequestID), slog.String("portal", e.PortalID), slog.String("server", e.ServerID),
		slog.String("method", e.Method), slog.String("capability", e.Capability), slog.String("upstream_capability", e.UpstreamCapability),
		slog.String("email", e.UserEmail), slog.String("client", e.ClientID),
		slog.String("decision", e.Decision), slog.String("reason", e.Reason),
		slog.Float64("duration_ms", e.DurationMS), slog.Int64("bytes_in", e.BytesIn), slog.Int64("bytes_out", e.BytesOut),
		slog.Any("dlp_entries", e.DLPEntries), slog.Any("topics", e.Topics))
	if w.store == nil {
		return
	}
	select {
	case w.ch <- e:
	default:
		w.dropped.Add(1)
	}
}

// Written and Dropped count the entries stored and dropped.
func (w *CallLogWriter) Written() int64 { return w.written.Load() }

// Dropped counts entries dropped because the queue was full or the store failed.
func (w *CallLogWriter) Dropped() int64 { return w.dropped.Load() }

func (w *CallLogWriter) run() {
	defer close(w.done)
	batch := make([]store.MCPCallLog, 0, callLogBatch)
	linger := time.NewTimer(callLogLinger)
	defer linger.Stop()
	for e := range w.ch {
		batch = append(batch[:0], e)
		linger.Reset(callLogLinger)
	fill:
		for len(batch) < callLogBatch {
			select {
			case e, ok := <-w.ch:
				if !ok {
					break fill
				}
				batch = append(batch, e)
			case <-linger.C:
				break fill
			}
		}
		w.flush(batch)
	}
}

func (w *CallLogWriter) flush(batch []store.MCPCallLog) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := w.store.AppendMCPCallLogs(ctx, batch); err != nil {
		w.dropped.Add(int64(len(batch)))
		w.log.LogAttrs(ctx, slog.LevelError, "mcp call logs not stored", slog.Int("entries", len(batch)), slog.Any("err", err))
		return
	}
	w.written.Add(int64(len(batch)))
}

// Close stops accepting entries, writes those queued and returns when done or ctx ends.
func (w *CallLogWriter) Close(ctx context.Context) error {
	w.once.Do(func() {
		close(w.ch)
		close(w.stopPurge)
	})
	select {
	case <-w.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// logCall records one call.
// capability is the tool, prompt or resource as the client named it, upstream the tool or
// prompt as its server names it ("" when the request was not routed to one).
func (p *Portal) logCall(rc *requestCtx, method, capability, upstream, serverID, decision, reason string, start time.Time, in, out int64, dlpEntries, topics []string) {
	if p.o.Logs == nil {
		return
	}
	now := p.o.Now()
	e := store.MCPCallLog{
		Time: now.UTC(), RequestID: rc.requestID, PortalID: rc.portal.ID, ServerID: serverID, Method: method, Capability: capability, UpstreamCapability: upstream,
		UserID: rc.caller.userID, UserEmail: rc.caller.email, ClientID: rc.caller.clientID,
		Decision: decision, Reason: reason, BytesIn: in, BytesOut: out,
		DLPEntries: nonNil(dlpEntries), Topics: nonNil(topics),
	}
	if !start.IsZero() {
		e.DurationMS = float64(now.Sub(start).Microseconds()) / 1000
	}
	p.o.Logs.Log(e)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
