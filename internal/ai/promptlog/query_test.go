package promptlog

import (
	"testing"
	"time"
)

var parseTimeCases = []struct {
	in   string
	want time.Time
	ok   bool
}{
	{"", time.Time{}, true},
	{"2026-12-01T09:00:00Z", time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC), true},
	{"2026-12-01T11:00:00+02:00", time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC), true},
	{"2026-12-01", time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), true},
	{" 7d ", testNow.Add(-7 * 24 * time.Hour), true},
	{"36h", testNow.Add(-36 * time.Hour), true},
	{"90m", testNow.Add(-90 * time.Minute), true},
	{"0d", time.Time{}, false},
	{"07d", time.Time{}, false},
	{"3651d", time.Time{}, false},
	{"-1h", time.Time{}, false},
	{"0s", time.Time{}, false},
	{"yesterday", time.Time{}, false},
	{"2026-13-01", time.Time{}, false},
	{"d", time.Time{}, false},
}

var testNow = time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)

func TestParseTime(t *testing.T) {
	for _, tc := range parseTimeCases {
		got, err := ParseTime(tc.in, testNow)
		if (err == nil) != tc.ok || !got.Equal(tc.want) {
			t.Errorf("ParseTime(%q) = %v, %v; want %v (ok %v)", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestCursor(t *testing.T) {
	for in, want := range map[string]int64{"": 0, "1": 1, "9223372036854775807": 1<<63 - 1} {
		if got, err := ParseCursor(in); err != nil || got != want {
			t.Errorf("ParseCursor(%q) = %d, %v", in, got, err)
		}
	}
	for _, bad := range []string{"0", "-3", "01", "+1", "x", "1.5", "9223372036854775808"} {
		if _, err := ParseCursor(bad); err == nil {
			t.Errorf("ParseCursor(%q) succeeded", bad)
		}
	}
	if got, _ := ParseCursor(FormatCursor(42)); got != 42 {
		t.Errorf("round trip: %d", got)
	}
}

func FuzzParseTime(f *testing.F) {
	for _, tc := range parseTimeCases {
		f.Add(tc.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseTime(s, testNow)
		if err != nil {
			return
		}
		if !got.IsZero() && got.Location() != time.UTC && got.Location().String() != "UTC" {
			t.Fatalf("ParseTime(%q) = %v, not UTC", s, got)
		}
	})
}

func FuzzParseCursor(f *testing.F) {
	for _, s := range []string{"", "1", "42", "0", "-1", "01", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := ParseCursor(s)
		if err != nil {
			return
		}
		if s != "" && (id <= 0 || FormatCursor(id) != s) {
			t.Fatalf("ParseCursor(%q) = %d", s, id)
		}
	})
}
