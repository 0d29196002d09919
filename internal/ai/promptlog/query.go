package promptlog

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ParseTime parses a listing's since or until bound relative to now: an RFC 3339 time
// ("2026-12-01T09:00:00Z"), a date ("2026-12-01", midnight UTC), days ago ("7d", 1 to 3650) or
// a duration ago ("36h", "90m"). "" is the zero time (no bound). The error's text is safe to
// show.
func ParseTime(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days < 1 || days > 3650 || strconv.Itoa(days) != n {
			return time.Time{}, fmt.Errorf("%q: want a number of days from 1 to 3650 (7d), a duration (36h), a date (2026-12-01) or an RFC 3339 time", s)
		}
		return now.Add(-time.Duration(days) * 24 * time.Hour).UTC(), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 || d > 3650*24*time.Hour {
		return time.Time{}, fmt.Errorf("%q: want days (7d), a positive duration (36h), a date (2026-12-01) or an RFC 3339 time", s)
	}
	return now.Add(-d).UTC(), nil
}

// ErrBadCursor: a listing cursor that no listing returned.
var ErrBadCursor = errors.New("the cursor is not one a listing returned")

// FormatCursor is the cursor that continues a listing after the entry with ID id.
func FormatCursor(id int64) string { return strconv.FormatInt(id, 10) }

// ParseCursor parses a cursor FormatCursor made ("" is 0: from the newest).
func ParseCursor(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 || FormatCursor(id) != s {
		return 0, ErrBadCursor
	}
	return id, nil
}
