package extract

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"testing"
)

// TestTeeFirstByteBeforeUpstreamEnds: the client reads the first SSE event while the upstream
// is still open (the pipe's writer has not written the rest, let alone closed), so the tee
// cannot be buffering the whole response.
func TestTeeFirstByteBeforeUpstreamEnds(t *testing.T) {
	a := MustDefault().Adapter("openai-chat")
	pr, pw := io.Pipe()
	s := a.NewStream("text/event-stream", Limits{})
	tee := NewTee(pr, s)

	first := "data: {\"model\":\"m\",\"choices\":[{\"delta\":{\"content\":\"Hel\"}}]}\n\n"
	rest := "data: {\"choices\":[{\"delta\":{\"content\":\"lo\"}}]}\n\ndata: [DONE]\n\n"
	upstreamDone := make(chan struct{})
	proceed := make(chan struct{})
	go func() {
		defer close(upstreamDone)
		if _, err := pw.Write([]byte(first)); err != nil {
			t.Error(err)
			return
		}
		<-proceed // the rest only after the client saw the first event
		if _, err := pw.Write([]byte(rest)); err != nil {
			t.Error(err)
			return
		}
		pw.Close()
	}()

	buf := make([]byte, 4096)
	n, err := tee.Read(buf)
	if err != nil || string(buf[:n]) != first {
		t.Fatalf("first read = %q, %v; want the first event", buf[:n], err)
	}
	select {
	case <-upstreamDone:
		t.Fatal("upstream finished before the client got its first byte")
	default:
	}
	if got := s.Result().Text; got != "Hel" {
		t.Errorf("text after the first event = %q, want %q (incremental reassembly)", got, "Hel")
	}
	close(proceed)
	tail, err := io.ReadAll(tee)
	if err != nil {
		t.Fatal(err)
	}
	<-upstreamDone
	if string(tail) != rest {
		t.Errorf("client got %q after the first event, want %q", tail, rest)
	}
	r := s.Result()
	if r.Text != "Hello" || !r.Complete || r.Model != "m" {
		t.Errorf("result = %+v", r)
	}
}

// TestTeeWriterForwardsFirst: the writer form forwards every byte unchanged and in order.
func TestTeeWriterForwardsFirst(t *testing.T) {
	a := MustDefault().Adapter("anthropic-messages")
	var client bytes.Buffer
	s := a.NewStream("text/event-stream", Limits{})
	tw := NewTeeWriter(&client, s)
	body := "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"delta\":{\"type\":\"text_delta\",\"text\":\"hi\"}}\n\n"
	for i := 0; i < len(body); i += 7 { // odd chunk sizes split lines and UTF-8 anywhere
		end := min(i+7, len(body))
		if _, err := tw.Write([]byte(body[i:end])); err != nil {
			t.Fatal(err)
		}
	}
	_ = s.Close()
	if client.String() != body {
		t.Errorf("client got %q", client.String())
	}
	if s.Result().Text != "hi" {
		t.Errorf("text = %q", s.Result().Text)
	}
}

// TestTeeBoundedText: a response longer than MaxText is cut, marked Truncated, and still
// reaches the client whole.
func TestTeeBoundedText(t *testing.T) {
	a := MustDefault().Adapter("openai-chat")
	var body strings.Builder
	for i := 0; i < 200; i++ {
		fmt.Fprintf(&body, "data: {\"choices\":[{\"delta\":{\"content\":\"%s\"}}]}\n\n", strings.Repeat("x", 100))
	}
	s := a.NewStream("text/event-stream", Limits{MaxText: 1000})
	out, err := io.ReadAll(NewTee(strings.NewReader(body.String()), s))
	if err != nil || len(out) != body.Len() {
		t.Fatalf("client got %d bytes, %v", len(out), err)
	}
	r := s.Result()
	if len(r.Text) != 1000 || !r.Truncated {
		t.Errorf("text %d bytes, truncated %v", len(r.Text), r.Truncated)
	}
}

// BenchmarkTeeChunk measures what the tee adds per upstream chunk: one SSE event of an OpenAI
// chat stream (about 150 bytes) read through the Tee, against the same read without it.
func BenchmarkTeeChunk(b *testing.B) {
	a := MustDefault().Adapter("openai-chat")
	chunk := []byte("data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\" token\"}}]}\n\n")
	buf := make([]byte, 4096)
	b.Run("direct", func(b *testing.B) {
		r := &repeatReader{chunk: chunk}
		b.SetBytes(int64(len(chunk)))
		for i := 0; i < b.N; i++ {
			_, _ = r.Read(buf)
		}
	})
	b.Run("tee", func(b *testing.B) {
		r := &repeatReader{chunk: chunk}
		s := a.NewStream("text/event-stream", Limits{MaxText: 1 << 30})
		tee := NewTee(r, s)
		b.SetBytes(int64(len(chunk)))
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			_, _ = tee.Read(buf)
		}
	})
}

// repeatReader returns the same chunk on every Read.
type repeatReader struct{ chunk []byte }

func (r *repeatReader) Read(p []byte) (int, error) { return copy(p, r.chunk), nil }
