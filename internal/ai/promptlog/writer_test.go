package promptlog

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
)

// clock is a settable test clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// syncBuffer is a log destination safe for the writer's goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func openSQLite(t *testing.T) *sqlstore.Store {
	t.Helper()
	s, err := sqlstore.Open(t.Context(), "sqlite", filepath.Join(t.TempDir(), "gatehouse.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func sampleEntry() Entry {
	return Entry{
		RequestID: "req-1", User: User{Email: " Alice@Example.COM ", Groups: []string{"contractors"}}, DeviceID: "dev-1",
		SrcIP: "192.0.2.7", App: App{ID: "1199", Name: "ChatGPT", Type: "Artificial Intelligence", Status: "approved"},
		Control: "SendPrompt", ConversationID: "conv-1", Model: "gpt-4o",
		Policy: Policy{ID: "rule-1", Name: "Log contractors", Action: "allow"},
		DLP:    DLP{Profiles: []string{"AI Prompt: PII"}, Entries: []string{"Content: PII"}, Confidence: "high"},
		Topics: []Topic{{ID: "content_pii", Confidence: "high"}}, BytesUp: 321,
	}
}

func TestWriterStoresSealedEntries(t *testing.T) {
	pub, priv := keyPair(t)
	st := openSQLite(t)
	c := &clock{now: time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)}
	reg := prometheus.NewRegistry()
	w, err := New(Options{Store: st, PublicKey: pub, Now: c.Now, Registerer: reg, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	e := sampleEntry()
	e.PayloadEnc, e.ID = []byte("ignored"), 99
	if err := w.Log(ctx, e, Payload{Prompt: "what is Bob's address?", Response: "I can't share that."}); err != nil {
		t.Fatal(err)
	}
	e2 := sampleEntry()
	e2.Time, e2.RequestID, e2.ConversationID = c.Now().Add(-time.Minute), "req-2", "conv-2"
	if err := w.Log(ctx, e2, Payload{Prompt: "second"}); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	recs, err := st.ListPromptLogs(ctx, store.PromptLogQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 {
		t.Fatalf("%d entries stored, want 2", len(recs))
	}
	got := FromRecord(&recs[1])
	if got.RequestID != "req-1" || got.User.Email != "alice@example.com" || !got.Time.Equal(c.Now()) ||
		got.App != e.App || got.Policy != e.Policy || got.DLP.Confidence != "high" || got.Topics[0] != e.Topics[0] ||
		got.BytesUp != 321 || got.ConversationID != "conv-1" || got.Model != "gpt-4o" || got.ID == 99 {
		t.Errorf("stored entry %+v", got)
	}
	if bytes.Equal(got.PayloadEnc, []byte("ignored")) {
		t.Error("the caller's PayloadEnc was stored")
	}
	p, err := Open(priv, got.PayloadEnc)
	if err != nil || p.Prompt != "what is Bob's address?" || p.Response != "I can't share that." {
		t.Errorf("payload %+v, %v", p, err)
	}
	if got := FromRecord(&recs[0]); !got.Time.Equal(e2.Time) || got.ConversationID != "conv-2" {
		t.Errorf("second entry %+v", got)
	}
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if s := w.Stats(); s.Written != 2 || s.Dropped[DropQueueFull] != 0 {
		t.Errorf("stats %+v", s)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	metrics := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			key := mf.GetName()
			for _, l := range m.GetLabel() {
				key += "/" + l.GetValue()
			}
			metrics[key] = m.GetCounter().GetValue()
		}
	}
	if metrics["gatehouse_ai_prompt_logs_written_total"] != 2 || metrics["gatehouse_ai_prompt_logs_dropped_total/queue_full"] != 0 ||
		len(metrics) != 5 {
		t.Errorf("metrics %v", metrics)
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	pub, _ := keyPair(t)
	st := openSQLite(t)
	for name, o := range map[string]Options{
		"no store":  {PublicKey: pub},
		"no key":    {Store: st},
		"short key": {Store: st, PublicKey: pub[:16]},
	} {
		if w, err := New(o); err == nil {
			_ = w.Close(t.Context())
			t.Errorf("%s: New succeeded", name)
		}
	}
}

// blockingStore holds AppendPromptLogs until released, so the queue can be filled.
type blockingStore struct {
	store.PromptLogs
	entered chan struct{}
	release chan struct{}
	once    sync.Once
	fail    error
}

func (b *blockingStore) AppendPromptLogs(ctx context.Context, logs []store.PromptLog) error {
	b.once.Do(func() { close(b.entered) })
	<-b.release
	if b.fail != nil {
		return b.fail
	}
	return b.PromptLogs.AppendPromptLogs(ctx, logs)
}

func TestWriterDropsWhenFullAndSaysSo(t *testing.T) {
	pub, priv := keyPair(t)
	st := openSQLite(t)
	bs := &blockingStore{PromptLogs: st, entered: make(chan struct{}), release: make(chan struct{})}
	c := &clock{now: time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)}
	var logs syncBuffer
	w, err := New(Options{Store: bs, PublicKey: pub, QueueSize: 2, Now: c.Now, Log: slog.New(slog.NewJSONHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	log := func(id string) error {
		e := sampleEntry()
		e.RequestID = id
		return w.Log(ctx, e, Payload{Prompt: "prompt " + id})
	}
	if err := log("r0"); err != nil { // taken by the writer, which blocks in the store
		t.Fatal(err)
	}
	<-bs.entered
	for _, id := range []string{"r1", "r2"} { // fill the queue
		if err := log(id); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	for _, id := range []string{"r3", "r4", "r5"} {
		if err := log(id); !errors.Is(err, ErrQueueFull) {
			t.Fatalf("%s: Log error %v, want ErrQueueFull", id, err)
		}
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("logging into a full queue took %v", d)
	}
	if n := strings.Count(logs.String(), "ai prompt log entries dropped"); n != 1 {
		t.Errorf("%d drop log lines within a minute, want 1:\n%s", n, logs.String())
	}
	c.Advance(2 * time.Minute)
	if err := log("r6"); !errors.Is(err, ErrQueueFull) {
		t.Fatal(err)
	}
	out := logs.String()
	if n := strings.Count(out, "ai prompt log entries dropped"); n != 2 || !strings.Contains(out, `"dropped":3`) ||
		!strings.Contains(out, `"dropped_total":4`) || !strings.Contains(out, `"reason":"queue_full"`) {
		t.Errorf("drop log lines after a minute:\n%s", out)
	}
	if strings.Contains(out, "prompt r") {
		t.Errorf("a log line holds a prompt:\n%s", out)
	}

	close(bs.release)
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := log("r7"); !errors.Is(err, ErrClosed) {
		t.Errorf("Log after Close: %v, want ErrClosed", err)
	}
	recs, err := st.ListPromptLogs(ctx, store.PromptLogQuery{})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range recs {
		ids = append(ids, r.RequestID)
		if p, err := Open(priv, r.PayloadEnc); err != nil || p.Prompt != "prompt "+r.RequestID {
			t.Errorf("%s: payload %+v, %v", r.RequestID, p, err)
		}
	}
	if strings.Join(ids, ",") != "r2,r1,r0" {
		t.Errorf("stored %v, want the three queued before the drops (newest first)", ids)
	}
	s := w.Stats()
	if s.Written != 3 || s.Dropped[DropQueueFull] != 4 || s.Dropped[DropClosed] != 1 {
		t.Errorf("stats %+v", s)
	}
	if err := w.Close(ctx); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestWriterStoreErrorIsCountedAndLogged(t *testing.T) {
	pub, _ := keyPair(t)
	bs := &blockingStore{PromptLogs: openSQLite(t), entered: make(chan struct{}), release: make(chan struct{}),
		fail: errors.New("disk full")}
	close(bs.release)
	var logs syncBuffer
	w, err := New(Options{Store: bs, PublicKey: pub, Log: slog.New(slog.NewJSONHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Log(t.Context(), sampleEntry(), Payload{Prompt: "secret words"}); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(t.Context()); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("Flush error %v, want the store's", err)
	}
	_ = w.Close(t.Context())
	if s := w.Stats(); s.Dropped[DropStoreError] != 1 || s.Written != 0 {
		t.Errorf("stats %+v", s)
	}
	out := logs.String()
	if !strings.Contains(out, "could not be stored") || !strings.Contains(out, `"first_request_id":"req-1"`) || strings.Contains(out, "secret words") {
		t.Errorf("log:\n%s", out)
	}
}

func TestWriterRetention(t *testing.T) {
	pub, _ := keyPair(t)
	st := openSQLite(t)
	now := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	ctx := t.Context()
	old := []store.PromptLog{
		{Time: now.Add(-31 * 24 * time.Hour), RequestID: "old", PayloadEnc: []byte{2}},
		{Time: now.Add(-29 * 24 * time.Hour), RequestID: "kept", PayloadEnc: []byte{2}},
	}
	if err := st.AppendPromptLogs(ctx, old); err != nil {
		t.Fatal(err)
	}
	c := &clock{now: now}
	w, err := New(Options{Store: st, PublicKey: pub, Now: c.Now, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(ctx); err != nil { // served after the purge at start
		t.Fatal(err)
	}
	recs, _ := st.ListPromptLogs(ctx, store.PromptLogQuery{})
	if len(recs) != 1 || recs[0].RequestID != "kept" {
		t.Errorf("after the purge at start: %+v", recs)
	}
	c.Advance(2 * 24 * time.Hour)
	if n, err := w.Purge(ctx); err != nil || n != 1 {
		t.Errorf("Purge = %d, %v; want 1", n, err)
	}
	_ = w.Close(ctx)
}

// TestWriterConcurrentLog: many goroutines logging at once lose nothing when the queue is
// large enough.
func TestWriterConcurrentLog(t *testing.T) {
	pub, _ := keyPair(t)
	st := openSQLite(t)
	w, err := New(Options{Store: st, PublicKey: pub, QueueSize: 1000, BatchSize: 16, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 25 {
				if err := w.Log(t.Context(), sampleEntry(), Payload{Prompt: "p"}); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if err := w.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	recs, _ := st.ListPromptLogs(t.Context(), store.PromptLogQuery{Limit: 1000})
	if len(recs) != 200 || w.Stats().Written != 200 {
		t.Errorf("%d stored, %d written; want 200", len(recs), w.Stats().Written)
	}
}

// TestWriterBoundsQueuedBytes: the queue holds at most MaxQueueBytes of text, and a text
// longer than MaxTextBytes is cut before it is queued.
func TestWriterBoundsQueuedBytes(t *testing.T) {
	pub, priv := keyPair(t)
	st := openSQLite(t)
	bs := &blockingStore{PromptLogs: st, entered: make(chan struct{}), release: make(chan struct{})}
	w, err := New(Options{Store: bs, PublicKey: pub, MaxQueueBytes: MaxTextBytes + 1000, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	logEntry := func(id, prompt string) error {
		e := sampleEntry()
		e.RequestID = id
		return w.Log(ctx, e, Payload{Prompt: prompt})
	}
	if err := logEntry("first", "x"); err != nil {
		t.Fatal(err)
	}
	<-bs.entered // the writer holds "first" in the store
	huge := strings.Repeat("y", 4*MaxTextBytes)
	if err := logEntry("huge", huge); err != nil { // counted as MaxTextBytes, not 4 times that
		t.Fatalf("huge: %v", err)
	}
	if err := logEntry("fits", strings.Repeat("z", 900)); err != nil {
		t.Fatalf("fits: %v", err)
	}
	if err := logEntry("over", strings.Repeat("z", 200)); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("over the byte bound: %v, want ErrQueueFull", err)
	}
	if got := w.queuedBytes.Load(); got != MaxTextBytes+900 {
		t.Errorf("queued bytes %d, want %d", got, MaxTextBytes+900)
	}
	close(bs.release)
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if got := w.queuedBytes.Load(); got != 0 {
		t.Errorf("queued bytes after Close: %d", got)
	}
	recs, _ := st.ListPromptLogs(ctx, store.PromptLogQuery{})
	if len(recs) != 3 {
		t.Fatalf("%d stored, want 3", len(recs))
	}
	p, err := Open(priv, recs[1].PayloadEnc)
	if err != nil || recs[1].RequestID != "huge" || len(p.Prompt) != MaxTextBytes || !p.Truncated {
		t.Errorf("huge entry: %s, %d bytes, truncated %v, %v", recs[1].RequestID, len(p.Prompt), p.Truncated, err)
	}
}
