package dlp

import "testing"

// A string's own backslashes before its closing quote are content: only the 2^d−1 right before
// a quote nested d deep escape it.
func TestJSONStringValuesKeepEscapedBackslashes(t *testing.T) {
	for _, tc := range []struct {
		in    string
		depth int
		want  []string
	}{
		{`["ab\\","\\u0045"]`, 0, []string{`ab\\`, `\\u0045`}},
		{`["ab","cd"]`, 0, []string{`ab`, `cd`}},
		{`"{\"k\":\"v\\\\\"}"`, 1, []string{`v\\\\`}},
		{`"{\"k\":\"v\"}"`, 1, []string{`v`}},
	} {
		got := jsonStringValues([]byte(tc.in), false, nil)
		var texts []string
		for _, p := range got[tc.depth] {
			texts = append(texts, tc.in[p.start:p.end])
		}
		if len(texts) != len(tc.want) {
			t.Errorf("%s depth %d: %q, want %q", tc.in, tc.depth, texts, tc.want)
			continue
		}
		for i := range texts {
			if texts[i] != tc.want[i] {
				t.Errorf("%s depth %d: %q, want %q", tc.in, tc.depth, texts, tc.want)
				break
			}
		}
	}
}

// Values are found around `","` separators even where content quotes make pairing ambiguous.
func TestSeparatedValues(t *testing.T) {
	in := `["a = "b1","b2" more", "c"]`
	ps := separatedValues([]byte(in), nil)
	var got []string
	for _, p := range ps {
		got = append(got, in[p.start:p.end])
	}
	want := []string{`["a = "b1`, `b2" more`, `c"]`}
	if len(got) != len(want) {
		t.Fatalf("%q, want %q", got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("%q, want %q", got, want)
		}
	}
	if ps := separatedValues([]byte(`no separators "here"`), nil); ps != nil {
		t.Errorf("pieces without a separator: %v", ps)
	}
}
