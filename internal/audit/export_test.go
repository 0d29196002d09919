package audit_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
)

func openStore(t *testing.T, path string) *sqlstore.Store {
	t.Helper()
	s, err := sqlstore.Open(t.Context(), "sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// appendEvents appends n audit events and n auth events, numbered from first.
func appendEvents(t *testing.T, s *sqlstore.Store, first, n int) {
	t.Helper()
	rec := &audit.Recorder{Store: s, Log: discard()}
	for i := first; i < first+n; i++ {
		if err := rec.Record(t.Context(), &store.AuditEvent{ID: fmt.Sprintf("a%03d", i), Actor: "cli", ActorType: store.ActorCLI,
			Action: "test", Result: store.AuditSuccess}); err != nil {
			t.Fatal(err)
		}
		rec.Auth(t.Context(), &store.AuthEvent{ID: fmt.Sprintf("e%03d", i), Action: "login", Allowed: true})
	}
}

// ids decodes JSON lines into "stream:id" in the order received.
func ids(t *testing.T, data []byte) []string {
	t.Helper()
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		var e store.ExportedEvent
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		switch {
		case e.Audit != nil:
			out = append(out, "audit:"+e.Audit.ID)
		case e.Auth != nil:
			out = append(out, "auth:"+e.Auth.ID)
		}
	}
	return out
}

func want(first, n int) []string {
	var out []string
	for i := first; i < first+n; i++ {
		out = append(out, fmt.Sprintf("audit:a%03d", i))
	}
	for i := first; i < first+n; i++ {
		out = append(out, fmt.Sprintf("auth:e%03d", i))
	}
	return out
}

func equalIDs(t *testing.T, got, want []string) {
	t.Helper()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("delivered\n %v\nwant\n %v", got, want)
	}
}

func noWait(context.Context, time.Duration) error { return nil }

func TestFileSinkExactlyOnceInOrder(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, filepath.Join(dir, "db"))
	out := filepath.Join(dir, "audit.jsonl")
	x := &audit.Exporter{Store: s, Sinks: []audit.Sink{&audit.FileSink{Path: out}}, Batch: 7, Wait: noWait}
	appendEvents(t, s, 0, 20)
	if err := x.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := x.Flush(t.Context()); err != nil { // nothing new: nothing written twice
		t.Fatal(err)
	}
	appendEvents(t, s, 20, 3)
	if err := x.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(out)
	var got []string
	got = ids(t, data)
	// Round one wrote a000..a019 then e000..e019; round two a020..a022 then e020..e022.
	w := append(want(0, 20), want(20, 3)...)
	equalIDs(t, got, w)
	if fi, _ := os.Stat(out); fi.Mode().Perm() != 0o600 {
		t.Errorf("file mode %v, want 0600", fi.Mode().Perm())
	}
}

// flakyHook fails the first fail requests, then records the bodies of those it accepts.
type flakyHook struct {
	mu       sync.Mutex
	fail     int
	requests int
	body     bytes.Buffer
	secret   []byte
	badSig   int
}

func (h *flakyHook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.requests++
	if audit.Sign(h.secret, r.Header.Get(audit.TimestampHeader), body) != r.Header.Get(audit.SignatureHeader) ||
		r.Header.Get("Content-Type") != "application/x-ndjson" {
		h.badSig++
	}
	if _, err := strconv.ParseInt(r.Header.Get(audit.TimestampHeader), 10, 64); err != nil {
		h.badSig++
	}
	if h.fail > 0 {
		h.fail--
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	h.body.Write(body)
}

func TestWebhookRetriesUntilDelivered(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, filepath.Join(dir, "db"))
	hook := &flakyHook{fail: 7, secret: []byte("0123456789abcdef0123456789abcdef")}
	srv := httptest.NewServer(hook)
	defer srv.Close()
	var waits []time.Duration
	x := &audit.Exporter{Store: s, Sinks: []audit.Sink{&audit.WebhookSink{URL: srv.URL + "/hook?k=v", Secret: hook.secret, Client: srv.Client()}},
		Batch: 4, Attempts: 3, Backoff: time.Second, Log: discard(),
		Wait: func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil }}
	appendEvents(t, s, 0, 10)
	rounds := 0
	for ; rounds < 10; rounds++ {
		if err := x.Flush(t.Context()); err == nil {
			break
		}
	}
	if fmt.Sprint(waits[:2]) != "[1s 2s]" {
		t.Errorf("backoff waits %v, want doubling from 1s", waits)
	}
	hook.mu.Lock()
	defer hook.mu.Unlock()
	// Round one: 3 attempts for the audit stream, 3 for the auth stream, all failing. Round two:
	// the 7th attempt fails, the rest go through.
	if rounds != 1 || hook.requests < 7 {
		t.Errorf("delivered after %d failed rounds and %d requests, want 1 and at least 7", rounds, hook.requests)
	}
	equalIDs(t, ids(t, hook.body.Bytes()), want(0, 10))
	if hook.badSig != 0 {
		t.Errorf("%d requests with a bad signature or headers", hook.badSig)
	}
	if name := x.Sinks[0].Name(); name != "webhook:"+srv.URL+"/hook" {
		t.Errorf("sink name %q must leave out the query", name)
	}
}

// failingSink fails every delivery while down.
type failingSink struct {
	audit.FileSink
	down bool
}

func (f *failingSink) Deliver(ctx context.Context, lines [][]byte) error {
	if f.down {
		return fmt.Errorf("sink down")
	}
	return f.FileSink.Deliver(ctx, lines)
}

func TestRestartLosesNothing(t *testing.T) {
	dir := t.TempDir()
	dbPath, out := filepath.Join(dir, "db"), filepath.Join(dir, "audit.jsonl")
	s := openStore(t, dbPath)
	appendEvents(t, s, 0, 5)
	x := &audit.Exporter{Store: s, Sinks: []audit.Sink{&audit.FileSink{Path: out}}, Wait: noWait}
	if err := x.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	appendEvents(t, s, 5, 5)
	sink := &failingSink{FileSink: audit.FileSink{Path: out}, down: true}
	var logs bytes.Buffer
	x = &audit.Exporter{Store: s, Sinks: []audit.Sink{sink}, Wait: noWait, Log: newLogger(&logs)}
	if err := x.Flush(t.Context()); err == nil {
		t.Fatal("flush to a failing sink reported no error")
	}
	if !bytes.Contains(logs.Bytes(), []byte("audit export is behind")) {
		t.Errorf("no loud log line when behind:\n%s", logs.String())
	}
	_ = s.Close() // "crash"

	s = openStore(t, dbPath)
	appendEvents(t, s, 10, 2)
	trigger := make(chan struct{})
	x = &audit.Exporter{Store: s, Sinks: []audit.Sink{&audit.FileSink{Path: out}}, Wait: noWait, Trigger: trigger, Interval: time.Hour}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { x.Run(ctx); close(done) }()
	trigger <- struct{}{} // the first round has finished once Run takes the trigger
	trigger <- struct{}{}
	cancel()
	<-done
	data, _ := os.ReadFile(out)
	equalIDs(t, ids(t, data), append(want(0, 5), want(5, 7)...))
}
