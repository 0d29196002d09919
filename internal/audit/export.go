package audit

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// Sink receives exported events as JSON lines.
type Sink interface {
	// Name identifies the sink's cursor in the store; it must stay the same across restarts and
	// must not contain secrets.
	Name() string
	// Deliver writes lines (each one JSON object without a newline) in order, all or nothing as
	// far as the sink allows. An error means the batch is delivered again later.
	Deliver(ctx context.Context, lines [][]byte) error
}

// FileSink appends JSON lines to a file (created with mode 0600), synced after every batch.
type FileSink struct {
	Path string
}

// Name implements Sink.
func (f *FileSink) Name() string { return "file:" + f.Path }

// Deliver implements Sink.
func (f *FileSink) Deliver(_ context.Context, lines [][]byte) error {
	file, err := os.OpenFile(f.Path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("audit file sink: %w", err)
	}
	var buf bytes.Buffer
	for _, l := range lines {
		buf.Write(l)
		buf.WriteByte('\n')
	}
	if _, err := file.Write(buf.Bytes()); err != nil {
		_ = file.Close()
		return fmt.Errorf("audit file sink: write: %w", err)
	}
	if err := file.Sync(); err != nil {
		_ = file.Close()
		return fmt.Errorf("audit file sink: sync: %w", err)
	}
	if err := file.Close(); err != nil {
		return fmt.Errorf("audit file sink: close: %w", err)
	}
	return nil
}

// Webhook signature headers. The signature is "sha256=" and the hex HMAC-SHA256, keyed with the
// shared secret, of the timestamp header's value, a ".", and the request body; receivers should
// reject timestamps far from their clock.
const (
	SignatureHeader = "Gatehouse-Signature"
	TimestampHeader = "Gatehouse-Timestamp"
)

// WebhookSink POSTs each batch as one application/x-ndjson request, signed with Secret. Any
// answer other than 2xx is a failed delivery.
type WebhookSink struct {
	URL    string
	Secret []byte
	// Client defaults to a client with a 30s timeout.
	Client *http.Client
	// Now defaults to time.Now.
	Now func() time.Time
}

// Name implements Sink: the URL without query, fragment or user information, which may hold
// credentials.
func (w *WebhookSink) Name() string {
	u, err := url.Parse(w.URL)
	if err != nil {
		return "webhook"
	}
	return "webhook:" + u.Scheme + "://" + u.Host + u.Path
}

// Sign returns the signature header value for a body sent at timestamp ts (Unix seconds).
func Sign(secret []byte, ts string, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
	m.Write([]byte("."))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Deliver implements Sink.
func (w *WebhookSink) Deliver(ctx context.Context, lines [][]byte) error {
	body := append(bytes.Join(lines, []byte("\n")), '\n')
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("audit webhook: %w", err)
	}
	now := time.Now
	if w.Now != nil {
		now = w.Now
	}
	ts := strconv.FormatInt(now().Unix(), 10)
	req.Header.Set("Content-Type", "application/x-ndjson")
	req.Header.Set(TimestampHeader, ts)
	req.Header.Set(SignatureHeader, Sign(w.Secret, ts, body))
	client := w.Client
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("audit webhook: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("audit webhook: answered %d", resp.StatusCode)
	}
	return nil
}

// Exporter delivers the store's audit and auth event streams to sinks (see the package doc).
type Exporter struct {
	Store store.AuditLog
	Sinks []Sink
	Log   *slog.Logger
	// Batch is the number of events per delivery (default 100).
	Batch int
	// Attempts bounds the deliveries of one batch per round (default 3); Backoff is the wait
	// before the second attempt, doubled for each further one (default 1s).
	Attempts int
	Backoff  time.Duration
	// Wait waits d or until ctx ends; default a timer. Tests replace it.
	Wait func(ctx context.Context, d time.Duration) error
	// Interval between rounds in Run (default 5s).
	Interval time.Duration
	// Trigger, if not nil, starts a round in Run at once (tests, or a poke after an append).
	Trigger <-chan struct{}
}

// streams are exported in this order in every round.
var streams = []string{store.ExportAudit, store.ExportAuth}

// Run exports on every Interval tick and Trigger until ctx ends.
func (x *Exporter) Run(ctx context.Context) {
	interval := x.Interval
	if interval <= 0 {
		interval = 5 * time.Second
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		_ = x.Flush(ctx)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-x.Trigger:
		}
	}
}

// Flush runs one round: it delivers every pending event of every stream to every sink, and
// returns the errors of the sinks that are still behind (each also logged).
func (x *Exporter) Flush(ctx context.Context) error {
	var errs []error
	for _, sink := range x.Sinks {
		for _, stream := range streams {
			if err := x.flushStream(ctx, sink, stream); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

func (x *Exporter) log() *slog.Logger {
	if x.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return x.Log
}

func (x *Exporter) flushStream(ctx context.Context, sink Sink, stream string) error {
	batch := x.Batch
	if batch <= 0 {
		batch = 100
	}
	cursor, err := x.Store.ExportCursor(ctx, sink.Name(), stream)
	if err != nil {
		x.log().LogAttrs(ctx, slog.LevelError, "audit export: cannot read cursor", slog.String("sink", sink.Name()),
			slog.String("stream", stream), slog.Any("err", err))
		return fmt.Errorf("audit export to %s: %w", sink.Name(), err)
	}
	for {
		events, err := x.Store.ExportEvents(ctx, stream, cursor, batch)
		if err != nil {
			x.log().LogAttrs(ctx, slog.LevelError, "audit export: cannot read events", slog.String("sink", sink.Name()),
				slog.String("stream", stream), slog.Any("err", err))
			return fmt.Errorf("audit export to %s: %w", sink.Name(), err)
		}
		if len(events) == 0 {
			return nil
		}
		lines := make([][]byte, len(events))
		for i := range events {
			if lines[i], err = json.Marshal(events[i]); err != nil {
				return fmt.Errorf("audit export: encode event: %w", err)
			}
		}
		if err := x.deliver(ctx, sink, lines); err != nil {
			x.log().LogAttrs(ctx, slog.LevelError, "audit export is behind: delivery failed, will retry",
				slog.String("sink", sink.Name()), slog.String("stream", stream), slog.Int64("delivered_up_to", cursor),
				slog.Int("pending_at_least", len(events)), slog.Any("err", err))
			return fmt.Errorf("audit export to %s: %w", sink.Name(), err)
		}
		next := events[len(events)-1].Seq
		if err := x.Store.AdvanceExportCursor(ctx, sink.Name(), stream, cursor, next); err != nil {
			x.log().LogAttrs(ctx, slog.LevelError, "audit export: cannot advance cursor; the batch will be delivered again",
				slog.String("sink", sink.Name()), slog.String("stream", stream), slog.Any("err", err))
			return fmt.Errorf("audit export to %s: %w", sink.Name(), err)
		}
		cursor = next
		if len(events) < batch {
			return nil
		}
	}
}

// deliver tries a batch up to Attempts times with doubling waits between attempts.
func (x *Exporter) deliver(ctx context.Context, sink Sink, lines [][]byte) error {
	attempts := x.Attempts
	if attempts <= 0 {
		attempts = 3
	}
	wait := x.Backoff
	if wait <= 0 {
		wait = time.Second
	}
	sleep := x.Wait
	if sleep == nil {
		sleep = waitTimer
	}
	var err error
	for i := range attempts {
		if i > 0 {
			if werr := sleep(ctx, wait); werr != nil {
				return errors.Join(err, werr)
			}
			wait *= 2
		}
		if err = sink.Deliver(ctx, lines); err == nil {
			return nil
		}
		x.log().LogAttrs(ctx, slog.LevelWarn, "audit export attempt failed", slog.String("sink", sink.Name()),
			slog.Int("attempt", i+1), slog.Any("err", err))
	}
	return err
}

func waitTimer(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
