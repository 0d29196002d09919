package promptlog

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// discardStore accepts every batch and keeps nothing.
type discardStore struct{}

func (discardStore) AppendPromptLogs(context.Context, []store.PromptLog) error { return nil }
func (discardStore) ListPromptLogs(context.Context, store.PromptLogQuery) ([]store.PromptLog, error) {
	return nil, nil
}
func (discardStore) DeletePromptLogsBefore(context.Context, time.Time) (int64, error) { return 0, nil }

// BenchmarkLog is the cost on the request path of queueing one entry; the sealing and storing
// run on the writer's goroutine (with a queue large enough that nothing is dropped).
func BenchmarkLog(b *testing.B) {
	benchmarkLog(b, 1<<22)
}

// BenchmarkLogOverloaded is the same when the writer cannot keep up: nearly every entry finds
// the queue full and is dropped (counted; a log line at most once a minute).
func BenchmarkLogOverloaded(b *testing.B) {
	benchmarkLog(b, 16)
}

func benchmarkLog(b *testing.B, queue int) {
	pub, _ := keyPair(b)
	w, err := New(Options{Store: discardStore{}, PublicKey: pub, QueueSize: queue, MaxQueueBytes: 1 << 40, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	e, p := sampleEntry(), Payload{Prompt: strings.Repeat("a", 2048), Response: strings.Repeat("b", 2048)}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		_ = w.Log(ctx, e, p)
	}
	b.StopTimer()
	for len(w.queue) > 0 { // what the writer has not sealed yet is not the hot path's cost
		<-w.queue
	}
	_ = w.Close(ctx)
	s := w.Stats()
	b.ReportMetric(float64(s.Dropped[DropQueueFull])/float64(b.N), "dropped/op")
}

// BenchmarkSeal is the writer's cost per entry: encrypting a 2 KiB prompt and a 2 KiB response.
func BenchmarkSeal(b *testing.B) {
	pub, _ := keyPair(b)
	p := &Payload{Prompt: strings.Repeat("a", 2048), Response: strings.Repeat("b", 2048)}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Seal(pub, p); err != nil {
			b.Fatal(err)
		}
	}
}
