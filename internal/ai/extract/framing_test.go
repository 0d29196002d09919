package extract

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// decodeAll feeds input in chunks of size n (0: whole) and collects the events.
func decodeAll(f Framing, max int, input []byte, n int) ([]Event, error) {
	var evs []Event
	d, ok := NewDecoder(f, Limits{MaxEvent: max, MaxBody: int64(max)}, func(e Event) error {
		evs = append(evs, e)
		return nil
	})
	if !ok {
		return nil, fmt.Errorf("no decoder %s", f)
	}
	if n <= 0 {
		n = len(input) + 1
	}
	for i := 0; i < len(input); i += n {
		if _, err := d.Write(input[i:min(i+n, len(input))]); err != nil {
			return evs, err
		}
	}
	return evs, d.Close()
}

func TestSSEDecoder(t *testing.T) {
	in := ": comment\r\nretry: 3000\r\nevent: a\r\ndata: line1\r\ndata:line2\r\nid: 7\r\n\r\ndata: [DONE]\n\n\ndata: last-without-blank-line"
	want := []Event{
		{Name: "a", ID: "7", Data: []byte("line1\nline2"), Retry: 3000},
		{ID: "7", Done: true},
		{ID: "7", Data: []byte("last-without-blank-line")},
	}
	for _, n := range []int{0, 1, 2, 5} {
		got, err := decodeAll(FramingSSE, 1024, []byte(in), n)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("chunk %d: got %+v, %v", n, got, err)
		}
	}
	if _, err := decodeAll(FramingSSE, 16, []byte("data: "+strings.Repeat("x", 40)+"\n\n"), 3); !errors.Is(err, ErrTooLarge) {
		t.Errorf("long line: %v, want ErrTooLarge", err)
	}
	if _, err := decodeAll(FramingSSE, 16, []byte(strings.Repeat("data: 0123456789\n", 4)+"\n"), 0); !errors.Is(err, ErrTooLarge) {
		t.Errorf("long event: %v, want ErrTooLarge", err)
	}
}

func TestNDJSONDecoder(t *testing.T) {
	got, err := decodeAll(FramingNDJSON, 64, []byte("{\"a\":1}\r\n\n{\"b\":2}"), 3)
	if err != nil || len(got) != 2 || string(got[1].Data) != `{"b":2}` {
		t.Errorf("got %+v, %v", got, err)
	}
	if _, err := decodeAll(FramingNDJSON, 64, []byte("{\"a\":\n"), 0); !errors.Is(err, ErrMalformed) {
		t.Errorf("bad line: %v", err)
	}
	if _, err := decodeAll(FramingNDJSON, 8, []byte(`{"a":"0123456789"}`), 0); !errors.Is(err, ErrTooLarge) {
		t.Errorf("long line: %v", err)
	}
}

func TestJSONArrayDecoder(t *testing.T) {
	in := "[{\"t\":\"a]\\\"\"}\r\n,\r\n{\"t\":[1,{}]}, 3, \"s\"]  "
	for _, n := range []int{0, 1, 4} {
		got, err := decodeAll(FramingJSONArray, 64, []byte(in), n)
		if err != nil || len(got) != 4 || string(got[0].Data) != `{"t":"a]\""}` || string(got[2].Data) != "3" {
			t.Errorf("chunk %d: got %+v, %v", n, got, err)
		}
	}
	for _, bad := range []string{"{}", "[1,,2]", "[1 2]", "[{}] x", "[{\"a\":1}"} {
		if _, err := decodeAll(FramingJSONArray, 64, []byte(bad), 0); !errors.Is(err, ErrMalformed) {
			t.Errorf("%q: %v, want ErrMalformed", bad, err)
		}
	}
	if _, err := decodeAll(FramingJSONArray, 8, []byte(`[{"a":"0123456789"}]`), 0); !errors.Is(err, ErrTooLarge) {
		t.Errorf("long element: %v", err)
	}
}

func TestGoogleFrameDecoder(t *testing.T) {
	// "😀" is one rune, two UTF-16 units, four UTF-8 bytes: the length counts units.
	frame := "\n[[\"wrb.fr\",null,\"😀\"]]\n"
	units := len([]rune(frame)) + 1
	in := ")]}'\n\n" + fmt.Sprint(units) + frame + "3\n[]\n"
	for _, n := range []int{0, 1, 3} {
		got, err := decodeAll(FramingGoogleFrames, 128, []byte(in), n)
		if err != nil || len(got) != 1 || string(got[0].Data) != `["wrb.fr",null,"😀"]` {
			t.Errorf("chunk %d: got %+v, %v", n, got, err)
		}
	}
	for _, bad := range []string{")]}'\nx\n[]", ")]}'\n50\n[]", ")]}'\n3\n{x\n"} {
		if _, err := decodeAll(FramingGoogleFrames, 128, []byte(bad), 0); !errors.Is(err, ErrMalformed) {
			t.Errorf("%q: %v, want ErrMalformed", bad, err)
		}
	}
	if _, err := decodeAll(FramingGoogleFrames, 10, []byte(")]}'\n99\n"), 0); !errors.Is(err, ErrTooLarge) {
		t.Errorf("long frame: %v", err)
	}
}

func TestEventStreamDecoder(t *testing.T) {
	m1 := encodeEventStreamMessage([][2]string{{":event-type", "contentBlockDelta"}, {":message-type", "event"}}, []byte(`{"delta":{"text":"hi"}}`))
	m2 := encodeEventStreamMessage([][2]string{{":message-type", "exception"}, {":exception-type", "throttlingException"}}, []byte(`{"message":"slow down"}`))
	in := append(append([]byte{}, m1...), m2...)
	for _, n := range []int{0, 1, 13} {
		got, err := decodeAll(FramingEventStream, 1024, in, n)
		if err != nil || len(got) != 2 || got[0].Name != "contentBlockDelta" || got[1].Name != "throttlingException" {
			t.Errorf("chunk %d: got %+v, %v", n, got, err)
		}
	}
	for name, corrupt := range map[string]func([]byte){
		"prelude CRC": func(b []byte) { b[9] ^= 1 },
		"message CRC": func(b []byte) { b[len(b)-1] ^= 1 },
		"payload":     func(b []byte) { b[len(b)-6] ^= 1 },
	} {
		b := append([]byte{}, m1...)
		corrupt(b)
		if _, err := decodeAll(FramingEventStream, 1024, b, 0); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "CRC") {
			t.Errorf("%s: %v, want a CRC error", name, err)
		}
	}
	if _, err := decodeAll(FramingEventStream, 1024, m1[:len(m1)-2], 0); !errors.Is(err, ErrMalformed) {
		t.Errorf("cut message: %v", err)
	}
	if _, err := decodeAll(FramingEventStream, 20, m1, 0); !errors.Is(err, ErrTooLarge) {
		t.Errorf("long message: %v", err)
	}
}

func TestSniff(t *testing.T) {
	for in, want := range map[string]Framing{
		"data: {}":             FramingSSE,
		": ping\n":             FramingSSE,
		")]}'\n12":             FramingGoogleFrames,
		"[{\"a\":1}":           FramingJSONArray,
		"{\"a\":1}\n{\"b\":2}": FramingNDJSON,
		" {\"a\":1}":           FramingJSON,
		string(encodeEventStreamMessage(nil, []byte("{}"))): FramingEventStream,
		"hello": "",
	} {
		if got := Sniff([]byte(in)); got != want {
			t.Errorf("Sniff(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestFailMode(t *testing.T) {
	for in, want := range map[string]FailMode{"": FailClosed, "open": FailOpen, " Closed ": FailClosed} {
		if got, err := ParseFailMode(in); err != nil || got != want {
			t.Errorf("ParseFailMode(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := ParseFailMode("maybe"); err == nil {
		t.Error("ParseFailMode(maybe) succeeded")
	}
	if !FailMode("").Closed() || FailOpen.Closed() {
		t.Error("zero FailMode must fail closed, open must not")
	}
	modes := FailModes{1199: FailOpen, 90003: ""}
	if modes.For(1199) != FailOpen || modes.For(90003) != FailClosed || modes.For(90017) != FailClosed || FailModes(nil).For(1) != FailClosed {
		t.Error("FailModes.For")
	}
}

func TestPathLanguage(t *testing.T) {
	src := &sources{body: map[string]any{
		"a": []any{map[string]any{"t": "x", "v": "1"}, map[string]any{"t": "y", "v": "2", "f": true}},
		"s": `[null,"[[\"deep\"]]"]`,
	}, url: map[string]string{"model": "m1"}}
	for p, want := range map[string][]any{
		"$.a[*].v":       {"1", "2"},
		"$.a[-1].v":      {"2"},
		"$.a[?t=y].v":    {"2"},
		"$.a[?t!=y].v":   {"1"},
		"$.a[?f].v":      {"2"},
		"$.a[?!f].v":     {"1"},
		"$.s[1][0][0]":   {"deep"},
		"url:model":      {"m1"},
		"$.missing[0].x": nil,
	} {
		pp, err := ParsePath(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := pp.eval(src, nil); !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %v, want %v", p, got, want)
		}
	}
	for _, bad := range []string{"$.a[", "$.a[x]", "$..a", "url:", "$.a[?]", "$.a[?!k=v]"} {
		if _, err := ParsePath(bad); err == nil {
			t.Errorf("ParsePath(%q) succeeded", bad)
		}
	}
}
