package extract

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// fixtureBodies returns the bodies of the golden fixtures (seeds for every fuzz target).
func fixtureBodies(f *testing.F) map[string][]byte {
	f.Helper()
	out := map[string][]byte{}
	files, _ := filepath.Glob(filepath.Join("testdata", "*", "*.http"))
	for _, p := range files {
		raw, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		c, err := ParseCapture(raw, 0)
		if err != nil {
			f.Fatal(err)
		}
		out[p] = c.Body
	}
	return out
}

// fuzzFraming checks a decoder on arbitrary input: no panic, every event within the cap, only
// our sentinel errors, and the same events whether the input arrives whole or split.
func fuzzFraming(f *testing.F, fr Framing, seeds ...[]byte) {
	for _, b := range fixtureBodies(f) {
		if Sniff(b) == fr || fr == FramingNDJSON {
			f.Add(b, uint16(7))
		}
	}
	for _, s := range seeds {
		f.Add(s, uint16(1))
	}
	f.Fuzz(func(t *testing.T, in []byte, split uint16) {
		const max = 1 << 12
		whole, errWhole := decodeAll(fr, max, in, 0)
		parts, errParts := decodeAll(fr, max, in, int(split%64)+1)
		for _, err := range []error{errWhole, errParts} {
			if err != nil && !errors.Is(err, ErrTooLarge) && !errors.Is(err, ErrMalformed) {
				t.Fatalf("unexpected error type: %v", err)
			}
		}
		if (errWhole == nil) != (errParts == nil) {
			t.Fatalf("whole: %v; split: %v", errWhole, errParts)
		}
		if errWhole == nil && !reflect.DeepEqual(whole, parts) {
			t.Fatalf("whole and split input decode differently:\n%+v\n%+v", whole, parts)
		}
		for _, e := range whole {
			if len(e.Data) > max {
				t.Fatalf("event of %d bytes past the cap", len(e.Data))
			}
		}
	})
}

func FuzzSSE(f *testing.F) {
	fuzzFraming(f, FramingSSE, []byte("data: a\r\ndata: b\r\r\n\n:c\nretry: 5\nid: x\ndata: [DONE]\n\n"))
}

func FuzzNDJSON(f *testing.F) {
	fuzzFraming(f, FramingNDJSON, []byte("{\"a\":1}\r\n\n[2]\n"))
}

func FuzzJSONArray(f *testing.F) {
	fuzzFraming(f, FramingJSONArray, []byte(`[{"a":"]"},1,"x",[[]],true]`))
}

func FuzzGoogleFrames(f *testing.F) {
	fuzzFraming(f, FramingGoogleFrames, []byte(")]}'\n\n6\n[[1]]\n"), []byte("4\n[]\n"))
}

func FuzzEventStream(f *testing.F) {
	m := encodeEventStreamMessage([][2]string{{":event-type", "contentBlockDelta"}}, []byte(`{"delta":{"text":"x"}}`))
	fuzzFraming(f, FramingEventStream, m, append(append([]byte{}, m...), m...))
}

// FuzzAdapterRequest runs every adapter over arbitrary request bodies: never a panic, always a
// Request naming the adapter, and either extracted fields or an Unparsed reason.
func FuzzAdapterRequest(f *testing.F) {
	tab := MustDefault()
	files, _ := filepath.Glob(filepath.Join("testdata", "*", "*.http"))
	for _, p := range files {
		raw, _ := os.ReadFile(p)
		c, err := ParseCapture(raw, 0)
		if err != nil || (!c.IsRequest && !strings.HasPrefix(filepath.Base(p), "request")) {
			continue
		}
		f.Add(filepath.Base(filepath.Dir(p)), c.Header.Get("Content-Type"), c.Body)
	}
	f.Fuzz(func(t *testing.T, id, ct string, body []byte) {
		a := tab.Adapter(id)
		if a == nil {
			a = tab.Adapters()[len(id)%len(tab.Adapters())]
		}
		r := a.ExtractRequest(HTTPRequest{Method: a.Method, Host: "x", Path: "/", Header: map[string][]string{"Content-Type": {ct}}, Body: body}, nil, Limits{MaxText: 1 << 12, MaxAttachment: 1 << 12})
		if r == nil || r.Adapter != a.ID {
			t.Fatalf("result %+v", r)
		}
		if r.Unparsed != nil && r.Unparsed.Reason == "" {
			t.Fatal("unparsed without a reason")
		}
		for _, s := range []string{r.Prompt, r.UserText, r.Context, r.System} {
			if len(s) > 1<<12 {
				t.Fatalf("text of %d bytes past the cap", len(s))
			}
		}
	})
}

// FuzzAdapterResponse runs every adapter's stream over arbitrary responses, whole and split:
// no panic, the text within its cap, and the same result either way.
func FuzzAdapterResponse(f *testing.F) {
	tab := MustDefault()
	files, _ := filepath.Glob(filepath.Join("testdata", "*", "*.http"))
	for _, p := range files {
		raw, _ := os.ReadFile(p)
		c, err := ParseCapture(raw, 0)
		if err != nil || c.IsRequest || strings.HasPrefix(filepath.Base(p), "request") {
			continue
		}
		f.Add(filepath.Base(filepath.Dir(p)), c.ContentType, c.Body, uint16(5))
	}
	f.Fuzz(func(t *testing.T, id, ct string, body []byte, split uint16) {
		a := tab.Adapter(id)
		if a == nil {
			a = tab.Adapters()[len(id)%len(tab.Adapters())]
		}
		lim := Limits{MaxText: 1 << 10, MaxEvent: 1 << 12, MaxBody: 1 << 16}
		whole := a.ExtractResponse(ct, body, lim)
		s := a.NewStream(ct, lim)
		n := int(split%97) + 1
		for i := 0; i < len(body); i += n {
			_, _ = s.Write(body[i:min(i+n, len(body))])
		}
		_ = s.Close()
		parts := s.Result()
		if len(whole.Text) > 1<<10 {
			t.Fatalf("text of %d bytes past the cap", len(whole.Text))
		}
		if whole.Text != parts.Text || whole.Complete != parts.Complete || (whole.Unparsed == nil) != (parts.Unparsed == nil) {
			// Sniffing looks at the first bytes when no Content-Type decides; a split before
			// enough bytes arrived must not change the outcome either.
			t.Fatalf("whole %+v\nsplit %+v", whole, parts)
		}
	})
}
