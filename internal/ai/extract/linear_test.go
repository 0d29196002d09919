package extract

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// chatgptStream builds a ChatGPT v1 stream of n one-word deltas.
func chatgptStream(n int) string {
	var b strings.Builder
	b.WriteString("event: delta\ndata: {\"p\":\"\",\"o\":\"add\",\"v\":{\"message\":{\"id\":\"m\",\"author\":{\"role\":\"assistant\"},\"recipient\":\"all\",\"content\":{\"content_type\":\"text\",\"parts\":[\"\"]}}},\"c\":0}\n\n")
	b.WriteString("event: delta\ndata: {\"p\":\"/message/content/parts/0\",\"o\":\"append\",\"v\":\"w \"}\n\n")
	for i := 1; i < n; i++ {
		b.WriteString("event: delta\ndata: {\"v\":\"w \"}\n\n")
	}
	b.WriteString("data: [DONE]\n\n")
	return b.String()
}

func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestPatchStreamLinear: reassembling a patch stream costs memory linear in its length (the
// patched string grows in place and snapshots are referenced, not copied): four times the
// deltas allocate about four times as much, where copying the answer on every delta would
// allocate sixteen times as much.
func TestPatchStreamLinear(t *testing.T) {
	a := MustDefault().Adapter("chatgpt-web")
	run := func(n int) (uint64, *Response) {
		body := chatgptStream(n)
		var r *Response
		bytes := allocated(func() { r = a.ExtractResponse("text/event-stream", []byte(body), Limits{}) })
		return bytes, r
	}
	small, r1 := run(4000)
	large, r4 := run(16000)
	if len(r1.Text) != 8000 || len(r4.Text) != 32000 || !r4.Complete {
		t.Fatalf("texts of %d and %d bytes, complete %v", len(r1.Text), len(r4.Text), r4.Complete)
	}
	if ratio := float64(large) / float64(small); ratio > 6 {
		t.Errorf("4x the deltas allocated %.1fx the memory (%d vs %d bytes): reassembly is not linear", ratio, large, small)
	}
}

// TestSnapshotTextCapped: snapshots past MaxText are cut in the result and marked.
func TestSnapshotTextCapped(t *testing.T) {
	a := MustDefault().Adapter("chatgpt-web")
	r := a.ExtractResponse("text/event-stream", []byte(chatgptStream(1000)), Limits{MaxText: 101})
	if len(r.Text) != 101 || !r.Truncated {
		t.Errorf("text %d bytes, truncated %v", len(r.Text), r.Truncated)
	}
	// Deltas past MaxText stop being kept.
	var b strings.Builder
	for i := 0; i < 100; i++ {
		fmt.Fprintf(&b, "{\"message\":{\"content\":\"%s\"}}\n", strings.Repeat("é", 10))
	}
	r = MustDefault().Adapter("ollama-chat-local").ExtractResponse("application/x-ndjson", []byte(b.String()), Limits{MaxText: 101})
	if len(r.Text) > 101 || len(r.Text) < 99 || !r.Truncated || strings.ContainsRune(r.Text, '\uFFFD') {
		t.Errorf("delta text %d bytes %q, truncated %v", len(r.Text), r.Text[len(r.Text)-4:], r.Truncated)
	}
}
