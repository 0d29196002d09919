package promptlog

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse/gatehouse/internal/store"
)

// Options configure a Writer. Store and PublicKey are required.
type Options struct {
	Store store.PromptLogs
	// PublicKey is the administrator's X25519 public key (32 bytes), dlp.payload_log.public_key.
	PublicKey []byte
	// QueueSize bounds the entries waiting to be sealed and stored; default 1024. An entry
	// logged while the queue is full is dropped.
	QueueSize int
	// MaxQueueBytes bounds the text (prompts, system prompts, responses, attachment names)
	// waiting in the queue; default 64 MiB. An entry that would exceed it is dropped as with a
	// full queue. Texts are cut to MaxTextBytes before they are queued.
	MaxQueueBytes int64
	// BatchSize is the most entries stored in one transaction; default 100.
	BatchSize int
	// Retention is how long entries are kept; default 30 days. Older entries are deleted when
	// the Writer starts and then once an hour.
	Retention time.Duration
	// Registerer, when set, gets the writer's metrics.
	Registerer prometheus.Registerer
	Log        *slog.Logger
	// Now is the clock of entries logged without a time and of retention; default time.Now.
	Now func() time.Time
}

// Default options.
const (
	DefaultQueueSize     = 1024
	DefaultMaxQueueBytes = 64 << 20
	DefaultBatchSize     = 100
	DefaultRetention     = 30 * 24 * time.Hour
)

// Drop reasons: the label of gatehouse_ai_prompt_logs_dropped_total and Stats.Dropped's keys.
const (
	DropQueueFull  = "queue_full"
	DropClosed     = "closed"
	DropSealError  = "seal_error"
	DropStoreError = "store_error"
)

// Errors of Log.
var (
	// ErrQueueFull: the entry was dropped because the queue was full.
	ErrQueueFull = errors.New("promptlog: queue full, entry dropped")
	// ErrClosed: the entry was dropped because the Writer is closed.
	ErrClosed = errors.New("promptlog: writer closed, entry dropped")
)

// dropLogInterval is the least time between two log lines about drops.
const dropLogInterval = time.Minute

// purgeInterval is how often entries past the retention are deleted.
const purgeInterval = time.Hour

type item struct {
	e    Entry
	p    Payload
	size int64 // what the item counts in queuedBytes
}

// Writer seals prompt log entries and stores them in the background. Log is safe for
// concurrent use; Close stops it.
type Writer struct {
	opts  Options
	queue chan item
	flush chan chan error
	stop  chan struct{}
	done  chan struct{}

	mu     sync.RWMutex // held for reading while queueing; Close takes it to refuse more
	closed bool

	queuedBytes                                atomic.Int64
	written                                    atomic.Int64
	queueFull, closedDrops, sealErrs, storeErr atomic.Int64

	// lastDropLog is when the last drop line was written (Unix nanoseconds, 0: never): drops
	// within dropLogInterval of it only count. dropMu serialises writing a line.
	lastDropLog atomic.Int64
	dropMu      sync.Mutex
	dropsAtLast int64 // guarded by dropMu
	stopOnce    sync.Once
	// closeErr is set by the writer's goroutine before done is closed.
	closeErr error
}

// New validates opts and starts a Writer: it deletes the entries past the retention, then
// seals and stores what Log queues until Close.
func New(opts Options) (*Writer, error) {
	if opts.Store == nil {
		return nil, errors.New("promptlog: Options.Store is required")
	}
	if len(opts.PublicKey) != 32 {
		return nil, fmt.Errorf("promptlog: the public key must be 32 bytes (X25519), not %d", len(opts.PublicKey))
	}
	if _, err := Seal(opts.PublicKey, &Payload{}); err != nil {
		return nil, fmt.Errorf("promptlog: unusable public key: %w", err)
	}
	if opts.QueueSize <= 0 {
		opts.QueueSize = DefaultQueueSize
	}
	if opts.MaxQueueBytes <= 0 {
		opts.MaxQueueBytes = DefaultMaxQueueBytes
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = DefaultBatchSize
	}
	if opts.Retention <= 0 {
		opts.Retention = DefaultRetention
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	w := &Writer{
		opts:  opts,
		queue: make(chan item, opts.QueueSize),
		flush: make(chan chan error),
		stop:  make(chan struct{}),
		done:  make(chan struct{}),
	}
	if opts.Registerer != nil {
		counter := func(name, help string, labels prometheus.Labels, v *atomic.Int64) prometheus.Collector {
			return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help, ConstLabels: labels},
				func() float64 { return float64(v.Load()) })
		}
		const dropHelp = "AI prompt log entries not stored, by reason (queue_full, closed, seal_error, store_error)."
		opts.Registerer.MustRegister(
			counter("gatehouse_ai_prompt_logs_written_total", "AI prompt log entries sealed and stored.", nil, &w.written),
			counter("gatehouse_ai_prompt_logs_dropped_total", dropHelp, prometheus.Labels{"reason": DropQueueFull}, &w.queueFull),
			counter("gatehouse_ai_prompt_logs_dropped_total", dropHelp, prometheus.Labels{"reason": DropClosed}, &w.closedDrops),
			counter("gatehouse_ai_prompt_logs_dropped_total", dropHelp, prometheus.Labels{"reason": DropSealError}, &w.sealErrs),
			counter("gatehouse_ai_prompt_logs_dropped_total", dropHelp, prometheus.Labels{"reason": DropStoreError}, &w.storeErr),
		)
	}
	go w.run()
	return w, nil
}

// Stats are a Writer's counters (also its metrics).
type Stats struct {
	Written int64            `json:"written"`
	Dropped map[string]int64 `json:"dropped"`
}

// Stats returns the writer's counters.
func (w *Writer) Stats() Stats {
	return Stats{Written: w.written.Load(), Dropped: map[string]int64{
		DropQueueFull: w.queueFull.Load(), DropClosed: w.closedDrops.Load(),
		DropSealError: w.sealErrs.Load(), DropStoreError: w.storeErr.Load(),
	}}
}

func (w *Writer) dropped() int64 {
	return w.queueFull.Load() + w.closedDrops.Load() + w.sealErrs.Load() + w.storeErr.Load()
}

// Log queues an entry and its payload to be sealed to the administrator's key and stored. It
// never blocks: when the queue is full (entries or bytes) or the Writer closed, the entry is
// dropped, counted, and reported in a log line (at most one a minute), and ErrQueueFull or
// ErrClosed is returned. A
// zero e.Time is the writer's now; e.PayloadEnc and e.ID are ignored. Log keeps p's strings
// until the entry is sealed; the caller must not change p.Attachments afterwards.
func (w *Writer) Log(ctx context.Context, e Entry, p Payload) error {
	if e.Time.IsZero() {
		e.Time = w.opts.Now()
	}
	e.ID, e.PayloadEnc = 0, nil
	w.mu.RLock()
	if w.closed {
		w.mu.RUnlock()
		w.closedDrops.Add(1)
		w.noteDrop(ctx, DropClosed, e.RequestID)
		return ErrClosed
	}
	it := item{e: e, p: queued(&p)}
	it.size = it.p.textBytes()
	if w.queuedBytes.Add(it.size) > w.opts.MaxQueueBytes {
		w.queuedBytes.Add(-it.size)
	} else {
		select {
		case w.queue <- it:
			w.mu.RUnlock()
			return nil
		default:
			w.queuedBytes.Add(-it.size)
		}
	}
	w.mu.RUnlock()
	w.queueFull.Add(1)
	w.noteDrop(ctx, DropQueueFull, e.RequestID)
	return ErrQueueFull
}

// queued returns p bounded as Seal will bound it, with the texts that were cut copied, so that
// the queue does not keep a caller's larger buffers alive.
func queued(p *Payload) Payload {
	out := bounded(p)
	for _, pair := range [][2]*string{{&out.Prompt, &p.Prompt}, {&out.SystemPrompt, &p.SystemPrompt}, {&out.Response, &p.Response}} {
		if len(*pair[0]) != len(*pair[1]) {
			*pair[0] = strings.Clone(*pair[0])
		}
	}
	return out
}

// textBytes is what a payload counts against MaxQueueBytes.
func (p *Payload) textBytes() int64 {
	n := len(p.Prompt) + len(p.SystemPrompt) + len(p.Response)
	for _, a := range p.Attachments {
		n += len(a.Name) + len(a.ContentType) + len(a.SHA256) + 16
	}
	return int64(n)
}

// noteDrop writes the drop log line: the first drop at once, then at most one line a minute
// with the number dropped since the last one.
func (w *Writer) noteDrop(ctx context.Context, reason, requestID string) {
	now := w.opts.Now().UnixNano()
	if last := w.lastDropLog.Load(); last != 0 && now-last < int64(dropLogInterval) {
		return // the common case under overload: no lock
	}
	w.dropMu.Lock()
	if last := w.lastDropLog.Load(); last != 0 && now-last < int64(dropLogInterval) {
		w.dropMu.Unlock()
		return
	}
	total := w.dropped()
	since := total - w.dropsAtLast
	w.lastDropLog.Store(now)
	w.dropsAtLast = total
	w.dropMu.Unlock()
	w.opts.Log.LogAttrs(ctx, slog.LevelWarn, "ai prompt log entries dropped",
		slog.String("reason", reason), slog.String("request_id", requestID),
		slog.Int64("dropped", since), slog.Int64("dropped_total", total), slog.Int("queue_size", w.opts.QueueSize))
}

// Flush seals and stores everything queued so far. It returns the first store error since the
// previous Flush (the entries of a failed batch are dropped, not retried).
func (w *Writer) Flush(ctx context.Context) error {
	reply := make(chan error, 1)
	select {
	case w.flush <- reply:
	case <-w.done:
		return ErrClosed
	case <-ctx.Done():
		return context.Cause(ctx)
	}
	select {
	case err := <-reply:
		return err
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// Close refuses further entries, seals and stores what is queued within ctx, and stops the
// Writer. It returns the first store error since the last Flush; it is safe to call more than
// once.
func (w *Writer) Close(ctx context.Context) error {
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
	w.stopOnce.Do(func() { close(w.stop) })
	select {
	case <-w.done:
		return w.closeErr
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// Purge deletes the entries past the retention and returns how many went.
func (w *Writer) Purge(ctx context.Context) (int64, error) {
	return DeleteExpired(ctx, w.opts.Store, w.opts.Retention, w.opts.Now(), w.opts.Log)
}

// DeleteExpired deletes the entries of st older than retention before now, and logs how many
// went (for a process that keeps the retention without writing, when no key is configured).
func DeleteExpired(ctx context.Context, st store.PromptLogs, retention time.Duration, now time.Time, log *slog.Logger) (int64, error) {
	before := now.Add(-retention)
	n, err := st.DeletePromptLogsBefore(ctx, before)
	if err != nil {
		return 0, fmt.Errorf("promptlog: retention: %w", err)
	}
	if n > 0 && log != nil {
		log.Info("ai prompt logs: deleted entries past the retention", "entries", n, "before", before.UTC().Format(time.RFC3339))
	}
	return n, nil
}

func (w *Writer) purgeLogged() {
	if _, err := w.Purge(context.Background()); err != nil {
		w.opts.Log.Warn("ai prompt logs: entries past the retention could not be deleted; retrying in an hour", "err", err)
	}
}

func (w *Writer) run() {
	defer close(w.done)
	w.purgeLogged()
	t := time.NewTicker(purgeInterval)
	defer t.Stop()
	// unreported is the first store error since the last Flush (Flush and Close return it).
	var unreported error
	for {
		select {
		case it := <-w.queue:
			if err := w.write(it); err != nil && unreported == nil {
				unreported = err
			}
		case reply := <-w.flush:
			reply <- firstError(w.drain(), unreported)
			unreported = nil
		case <-t.C:
			w.purgeLogged()
		case <-w.stop:
			// Log refuses entries once closed is set, which Close did before stop closed: what
			// is queued now is all there will be.
			w.closeErr = firstError(w.drain(), unreported)
			return
		}
	}
}

func firstError(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// drain writes everything queued now and returns the first store error.
func (w *Writer) drain() error {
	var first error
	for {
		select {
		case it := <-w.queue:
			if err := w.write(it); err != nil && first == nil {
				first = err
			}
		default:
			return first
		}
	}
}

// write seals it and what else is queued, up to a batch, and stores them in one transaction.
func (w *Writer) write(it item) error {
	batch := make([]store.PromptLog, 0, min(w.opts.BatchSize, 1+len(w.queue)))
	add := func(it item) {
		w.queuedBytes.Add(-it.size)
		ct, err := Seal(w.opts.PublicKey, &it.p)
		if err != nil {
			w.sealErrs.Add(1)
			w.noteDrop(context.Background(), DropSealError, it.e.RequestID)
			return
		}
		it.e.PayloadEnc = ct
		batch = append(batch, it.e.Record())
	}
	add(it)
more:
	for len(batch) < w.opts.BatchSize {
		select {
		case next := <-w.queue:
			add(next)
		default:
			break more
		}
	}
	if len(batch) == 0 {
		return nil
	}
	if err := w.opts.Store.AppendPromptLogs(context.Background(), batch); err != nil {
		w.storeErr.Add(int64(len(batch)))
		w.opts.Log.Warn("ai prompt log entries could not be stored; they are dropped", "entries", len(batch),
			"first_request_id", batch[0].RequestID, "err", err)
		return fmt.Errorf("promptlog: store %d entries: %w", len(batch), err)
	}
	w.written.Add(int64(len(batch)))
	return nil
}
