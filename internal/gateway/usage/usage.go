// Package usage owns Shadow-AI discovery's counting: a Recorder receives the gateway's Events
// (gateway.EventSink), sums them in memory per day, application, review status, action and
// category, notes which users used each application each day, and writes the sums to the
// store (store.GatewayUsage) periodically and at shutdown. It deletes the days older than the
// retention. Reports (Report) read the store's rollups, so they stay fast however many
// requests there were.
//
// Record never blocks: events go through a bounded queue to one aggregating goroutine, which
// sums them in batches (it wakes at most every drainDelay while events arrive, rather than once
// per event), and what does not fit (queue full, or too many distinct keys pending while the store is slow or
// down) is dropped and counted in gatehouse_gateway_usage_dropped_total.
package usage

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse/gatehouse/internal/gateway"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Options configure a Recorder. Store is required.
type Options struct {
	Store store.GatewayUsage
	// FlushInterval is how often sums are written to the store; default 1m.
	FlushInterval time.Duration
	// Retention is how long days are kept; default 90 days. Older days are deleted at most
	// once an hour, after a flush.
	Retention time.Duration
	// QueueSize bounds the events waiting for the aggregating goroutine; default 8192.
	QueueSize int
	// MaxPendingKeys and MaxPendingUsers bound what is summed but not yet written (rollup keys
	// and user sightings); an event that would need a new one beyond them is dropped. A flush
	// starts early when half of either is used. Defaults 10000 and 100000.
	MaxPendingKeys  int
	MaxPendingUsers int
	// Registerer, when set, gets the recorder's metrics.
	Registerer prometheus.Registerer
	Log        *slog.Logger
	// Now is the clock of retention; default time.Now. Events carry their own time.
	Now func() time.Time
}

// Drop reasons of gatehouse_gateway_usage_dropped_total.
const (
	DropQueueFull   = "queue_full"
	DropPendingFull = "pending_full"
	DropClosed      = "closed"
)

// Recorder sums gateway events and writes them to the store. Start it with Start and stop it
// with Close; Record is safe for concurrent use at any time.
type Recorder struct {
	opts   Options
	events chan gateway.Event
	// kick wakes the aggregating goroutine early when the queue is half full.
	kick    chan struct{}
	flushc  chan chan error
	stop    chan struct{}
	done    chan struct{}
	closed  atomic.Bool
	running atomic.Bool // the aggregating goroutine runs
	start   sync.Once
	stopMu  sync.Once
	inline  sync.Mutex // serialises flushInline

	stats struct {
		recorded, queueFull, pendingFull, closed, flushed, flushErrors atomic.Int64
	}

	// Owned by the aggregating goroutine (or by Flush callers before Start).
	pending   map[rollupKey]*sums
	users     map[userKey]struct{}
	written   map[userKey]struct{} // sightings already in the store, to not write them again
	nextPurge time.Time
	failing   bool // the last write failed
}

type rollupKey struct {
	day                      int64 // Unix days
	app                      int
	status, action, category string
}

type sums struct {
	name                       string
	requests, bytesUp, bytesDn int64
}

// userKey is a user's sighting: user is a user ID, or a service token's ID when token is set
// (written as "service_token:<id>", so that summing an event does not build that string).
type userKey struct {
	day   int64
	app   int
	user  string
	token bool
}

// storeUser is the user of a sighting as the store keeps it.
func (k userKey) storeUser() string {
	if k.token {
		return "service_token:" + k.user
	}
	return k.user
}

// New returns a Recorder; call Start to run it.
func New(opts Options) *Recorder {
	if opts.Store == nil {
		panic("usage: Options.Store is required")
	}
	if opts.FlushInterval <= 0 {
		opts.FlushInterval = time.Minute
	}
	if opts.Retention <= 0 {
		opts.Retention = 90 * 24 * time.Hour
	}
	if opts.QueueSize <= 0 {
		opts.QueueSize = 8192
	}
	if opts.MaxPendingKeys <= 0 {
		opts.MaxPendingKeys = 10000
	}
	if opts.MaxPendingUsers <= 0 {
		opts.MaxPendingUsers = 100000
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	r := &Recorder{
		opts:    opts,
		events:  make(chan gateway.Event, opts.QueueSize),
		kick:    make(chan struct{}, 1),
		flushc:  make(chan chan error),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
		pending: map[rollupKey]*sums{},
		users:   map[userKey]struct{}{},
		written: map[userKey]struct{}{},
	}
	if opts.Registerer != nil {
		counter := func(name, help string, labels prometheus.Labels, v *atomic.Int64) prometheus.Collector {
			return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help, ConstLabels: labels},
				func() float64 { return float64(v.Load()) })
		}
		const dropHelp = "Gateway events left out of the usage rollups, by reason (queue_full, pending_full, closed)."
		const flushHelp = "Writes of the usage rollups to the store, by result (ok, error)."
		opts.Registerer.MustRegister(
			counter("gatehouse_gateway_usage_events_total", "Gateway events summed into the Shadow-AI usage rollups.", nil, &r.stats.recorded),
			counter("gatehouse_gateway_usage_dropped_total", dropHelp, prometheus.Labels{"reason": DropQueueFull}, &r.stats.queueFull),
			counter("gatehouse_gateway_usage_dropped_total", dropHelp, prometheus.Labels{"reason": DropPendingFull}, &r.stats.pendingFull),
			counter("gatehouse_gateway_usage_dropped_total", dropHelp, prometheus.Labels{"reason": DropClosed}, &r.stats.closed),
			counter("gatehouse_gateway_usage_flushes_total", flushHelp, prometheus.Labels{"result": "ok"}, &r.stats.flushed),
			counter("gatehouse_gateway_usage_flushes_total", flushHelp, prometheus.Labels{"result": "error"}, &r.stats.flushErrors),
		)
	}
	return r
}

// Stats are a Recorder's counters (also its metrics).
type Stats struct {
	// Recorded counts the events summed; Dropped the events left out, by reason.
	Recorded int64            `json:"recorded"`
	Dropped  map[string]int64 `json:"dropped"`
	// Flushes and FlushErrors count the writes to the store that succeeded and failed.
	Flushes     int64 `json:"flushes"`
	FlushErrors int64 `json:"flush_errors"`
}

// Stats returns the recorder's counters.
func (r *Recorder) Stats() Stats {
	return Stats{
		Recorded: r.stats.recorded.Load(),
		Dropped: map[string]int64{DropQueueFull: r.stats.queueFull.Load(), DropPendingFull: r.stats.pendingFull.Load(),
			DropClosed: r.stats.closed.Load()},
		Flushes: r.stats.flushed.Load(), FlushErrors: r.stats.flushErrors.Load(),
	}
}

// Record queues an event; it never blocks. Events of requests to the gateway itself (the PAC
// file) and proxy-authentication challenges (407, before anyone is known) are not counted.
func (r *Recorder) Record(e gateway.Event) {
	if r.closed.Load() {
		r.stats.closed.Add(1)
		return
	}
	select {
	case r.events <- e:
		if len(r.events) >= cap(r.events)/2 {
			select {
			case r.kick <- struct{}{}:
			default:
			}
		}
	default:
		r.stats.queueFull.Add(1)
	}
}

// Start runs the aggregating goroutine until Close.
func (r *Recorder) Start() {
	r.start.Do(func() { r.running.Store(true); go r.run() })
}

// Close stops the recorder: the events queued are summed and everything is written to the
// store within ctx. Events recorded afterwards are dropped. Close returns the final write's
// error.
func (r *Recorder) Close(ctx context.Context) error {
	r.closed.Store(true)
	started := true
	r.start.Do(func() { started = false; close(r.done) })
	r.stopMu.Do(func() { close(r.stop) })
	if started {
		select {
		case <-r.done:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
	return r.flushInline(ctx)
}

// flushInline drains and flushes on the caller's goroutine, when the aggregating goroutine is
// not running.
func (r *Recorder) flushInline(ctx context.Context) error {
	r.inline.Lock()
	defer r.inline.Unlock()
	r.drain()
	return r.flush(ctx)
}

// Flush sums the events queued so far and writes everything to the store (for tests and the
// report of a running process). Before Start or after Close it works on the caller's
// goroutine; it must not run concurrently with Start.
func (r *Recorder) Flush(ctx context.Context) error {
	if !r.running.Load() {
		return r.flushInline(ctx)
	}
	reply := make(chan error, 1)
	select {
	case r.flushc <- reply:
		select {
		case err := <-reply:
			return err
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	case <-r.done:
		return r.flushInline(ctx)
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// drainDelay is how long the aggregating goroutine lets events gather in the queue before it
// sums them: one wake-up per batch rather than one per event (each would cost the request path
// a scheduler hand-off), and at most this much delay before an event is summed (Flush and Close
// sum everything queued first).
const drainDelay = 20 * time.Millisecond

func (r *Recorder) run() {
	defer close(r.done)
	defer r.running.Store(false)
	t := time.NewTicker(r.opts.FlushInterval)
	defer t.Stop()
	batch := time.NewTimer(drainDelay)
	batch.Stop()
	defer batch.Stop()
	// Idle (no batch timer armed), the goroutine waits for the first event itself; it then
	// arms the timer and sums what gathered when it fires, until a batch comes up empty.
	armed := false
	for {
		var first <-chan gateway.Event
		var gathered <-chan time.Time
		if armed {
			gathered = batch.C
		} else {
			first = r.events
		}
		select {
		case e := <-first:
			r.addFlushing(&e)
			batch.Reset(drainDelay)
			armed = true
		case <-gathered:
			if r.drainFlushing() == 0 {
				armed = false
			} else {
				batch.Reset(drainDelay)
			}
		case <-r.kick:
			r.drainFlushing()
		case <-t.C:
			r.drain()
			r.flushLogged()
		case reply := <-r.flushc:
			r.drain()
			reply <- r.flush(context.Background())
		case <-r.stop:
			return
		}
	}
}

// addFlushing sums one event and flushes early when the pending sums are half full, unless the
// last write failed: then the ticker retries, rather than every event.
func (r *Recorder) addFlushing(e *gateway.Event) {
	if r.add(e) && !r.failing {
		r.flushLogged()
	}
}

// drainFlushing sums the events queued now as addFlushing does; it returns how many there were.
func (r *Recorder) drainFlushing() int {
	n := 0
	for {
		select {
		case e := <-r.events:
			n++
			r.addFlushing(&e)
		default:
			return n
		}
	}
}

// drain sums the events queued now.
func (r *Recorder) drain() {
	for {
		select {
		case e := <-r.events:
			r.add(&e)
		default:
			return
		}
	}
}

func (r *Recorder) flushLogged() {
	if err := r.flush(context.Background()); err != nil {
		r.opts.Log.Warn("gateway usage: rollups could not be written; they are kept and retried", "err", err)
	}
}

// unixDay is t's UTC day as days since 1970-01-01.
func unixDay(t time.Time) int64 {
	s := t.Unix()
	d := s / 86400
	if s%86400 < 0 {
		d--
	}
	return d
}

func dayTime(d int64) time.Time { return time.Unix(d*86400, 0).UTC() }

// add sums one event. It reports whether the pending sums are half full (flush early).
func (r *Recorder) add(e *gateway.Event) bool {
	if e.Outcome == "local" || e.Status == 407 || e.Host == "" {
		return false
	}
	k := rollupKey{day: unixDay(e.Time), app: e.AppID, status: e.AppStatus, action: e.Action, category: e.Category}
	if k.status == "" {
		k.status = "unreviewed"
	}
	if k.action == "" {
		k.action = "allow"
		if e.Outcome == "refused" {
			k.action = "refused"
		}
	}
	if k.category == "" {
		k.category = "other"
	}
	var uk userKey
	hasUser := true
	switch {
	case e.UserID != "":
		uk = userKey{k.day, k.app, e.UserID, false}
	case e.ServiceTokenID != "":
		uk = userKey{k.day, k.app, e.ServiceTokenID, true}
	default:
		hasUser = false
	}
	s := r.pending[k]
	newUser := false
	if hasUser {
		_, seen := r.users[uk]
		_, done := r.written[uk]
		newUser = !seen && !done
	}
	if (s == nil && len(r.pending) >= r.opts.MaxPendingKeys) || (newUser && len(r.users) >= r.opts.MaxPendingUsers) {
		r.stats.pendingFull.Add(1)
		return true
	}
	if s == nil {
		s = &sums{}
		r.pending[k] = s
	}
	if e.AppName != "" {
		s.name = e.AppName
	}
	s.requests++
	s.bytesUp += max(e.BytesUp, 0)
	s.bytesDn += max(e.BytesDown, 0)
	if newUser {
		r.users[uk] = struct{}{}
	}
	r.stats.recorded.Add(1)
	return len(r.pending) >= r.opts.MaxPendingKeys/2 || len(r.users) >= r.opts.MaxPendingUsers/2
}

// flush writes the pending sums; on failure they stay pending (and keep adding up). Then it
// deletes the days past the retention, at most once an hour.
func (r *Recorder) flush(ctx context.Context) error {
	var err error
	if len(r.pending) > 0 || len(r.users) > 0 {
		b := &store.GatewayUsageBatch{
			Rows:  make([]store.GatewayUsageRow, 0, len(r.pending)),
			Users: make([]store.GatewayUsageUser, 0, len(r.users)),
		}
		for k, s := range r.pending {
			b.Rows = append(b.Rows, store.GatewayUsageRow{Day: dayTime(k.day), AppID: k.app, AppName: s.name,
				Status: k.status, Action: k.action, Category: k.category,
				Requests: s.requests, BytesUp: s.bytesUp, BytesDown: s.bytesDn})
		}
		for k := range r.users {
			b.Users = append(b.Users, store.GatewayUsageUser{Day: dayTime(k.day), AppID: k.app, User: k.storeUser()})
		}
		wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err = r.opts.Store.AddGatewayUsage(wctx, b)
		cancel()
		r.failing = err != nil
		if err != nil {
			r.stats.flushErrors.Add(1)
			return err
		}
		r.stats.flushed.Add(1)
		clear(r.pending)
		if len(r.written)+len(r.users) > r.opts.MaxPendingUsers {
			clear(r.written)
		}
		for k := range r.users {
			r.written[k] = struct{}{}
		}
		clear(r.users)
	}
	now := r.opts.Now()
	if now.Before(r.nextPurge) {
		return nil
	}
	// Keep every day any part of which is within the retention.
	before := now.Add(-r.opts.Retention)
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	n, derr := r.opts.Store.DeleteGatewayUsageBefore(dctx, before)
	if rr, ok := r.opts.Store.(store.ReportRollups); ok && derr == nil {
		// The console's report rollups (prompts, MCP calls, auth events) follow the same
		// retention, whatever the raw logs' own.
		var rn int64
		rn, derr = rr.DeleteReportRollupsBefore(dctx, before)
		n += rn
	}
	cancel()
	if derr != nil {
		return errors.Join(err, derr)
	}
	r.nextPurge = now.Add(time.Hour)
	if n > 0 {
		r.opts.Log.Info("gateway usage: deleted rollups past the retention", "rows", n, "before", store.UsageDay(before).Format(time.DateOnly))
	}
	// Forget written sightings of days past the retention.
	cut := unixDay(before)
	for k := range r.written {
		if k.day < cut {
			delete(r.written, k)
		}
	}
	return nil
}
