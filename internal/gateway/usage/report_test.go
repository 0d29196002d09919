package usage

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/gateway"
	"github.com/gatehouse/gatehouse/internal/gateway/applib"
)

// TestReport: events recorded and flushed to SQLite come back as the report: statuses with
// their bytes, top applications with exact unique users, and users per day.
func TestReport(t *testing.T) {
	now := day1.Add(12 * time.Hour)
	st := openSQLite(t, func() time.Time { return now })
	cat := applib.MustDefault()
	chatgpt := cat.Lookup("chatgpt.com")[0].App
	claude := cat.Lookup("claude.ai")[0].App
	r := New(Options{Store: st, Now: func() time.Time { return now }})
	rec := func(at time.Time, user string, app *applib.App, status, action, category string, up, down int64) {
		e := gateway.Event{Time: at, UserID: user, Host: "h.example", Status: 200, Outcome: "forwarded",
			AppStatus: status, Action: action, Category: category, BytesUp: up, BytesDown: down}
		if app != nil {
			e.AppID, e.AppName = app.ID, app.Name
		}
		r.Record(e)
	}
	rec(day0, "alice", chatgpt, "unreviewed", "", "prompt", 100, 1000)
	rec(day0, "bob", chatgpt, "unreviewed", "", "upload", 5000, 10)
	rec(day1, "alice", chatgpt, "unapproved", "block", "upload", 7000, 0) // reviewed since: its status now
	rec(day1, "carol", claude, "approved", "", "prompt", 10, 20)
	rec(day1, "alice", nil, "unreviewed", "", "", 1, 2)
	rec(day0.AddDate(0, 0, -5), "dave", claude, "approved", "", "", 1, 1) // before --since
	if err := r.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}

	rep, err := Query(t.Context(), st, day0, 10, cat)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Totals != (Totals{Requests: 5, BytesUp: 12111, BytesDown: 1032}) {
		t.Errorf("totals %+v", rep.Totals)
	}
	statuses := map[string]StatusUsage{}
	for _, s := range rep.Statuses {
		statuses[s.Status] = s
	}
	if got := rep.Statuses[0].Status; got != "approved" || len(rep.Statuses) != 4 {
		t.Errorf("statuses out of order: %+v", rep.Statuses)
	}
	if s := statuses["unreviewed"]; s.BytesUp != 5101 || s.Requests != 3 || s.AppCount != 1 || s.Apps[0].ID != 0 {
		t.Errorf("unreviewed: %+v", s)
	}
	un := statuses["unapproved"]
	if un.BytesUp != 7000 || un.AppCount != 1 {
		t.Fatalf("unapproved: %+v", un)
	}
	a := un.Apps[0]
	if a.ID != chatgpt.ID || a.Name != chatgpt.Name || !a.AI || a.Users != 2 || a.Requests != 3 || a.BytesUp != 12100 ||
		a.Categories["upload"] != 2 || a.Categories["prompt"] != 1 || a.Actions["block"] != 1 || a.Actions["allow"] != 2 || !a.LastSeen.Equal(day1) ||
		len(a.Days) != 2 || a.Days[0].Users != 2 || !a.Days[1].Day.Equal(day1) || a.Days[1].Users != 1 {
		t.Errorf("ChatGPT: %+v", a)
	}
	if ap := statuses["approved"]; ap.AppCount != 1 || ap.Apps[0].Users != 1 || ap.Apps[0].Requests != 1 {
		t.Errorf("approved: %+v", ap)
	}
	if len(rep.Days) != 2 || rep.Days[0].Users != 2 || rep.Days[1].Users != 2 || rep.Days[1].BytesUp != 7011 {
		t.Errorf("days: %+v", rep.Days)
	}

	var text bytes.Buffer
	if err := rep.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Top unapproved applications", chatgpt.Name, "Unique users per day", "2026-12-08", "6.8 KiB"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text report lacks %q:\n%s", want, text.String())
		}
	}
	js, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"statuses":[{"status":"approved"`, `"bytes_up":`, `"users":2`, `"days":[`} {
		if !strings.Contains(string(js), want) {
			t.Errorf("JSON lacks %s: %s", want, js)
		}
	}

	// top bounds the applications listed, not the count.
	rep, err = Query(t.Context(), st, time.Time{}, 1, cat)
	if err != nil {
		t.Fatal(err)
	}
	if s := rep.Statuses[0]; s.AppCount != 1 || s.Apps[0].Users != 2 || s.Apps[0].Requests != 2 { // carol and dave
		t.Errorf("approved over every day: %+v", s)
	}
}

func TestParseSince(t *testing.T) {
	now := time.Date(2026, 12, 7, 15, 4, 5, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"":           time.Date(2026, 11, 8, 0, 0, 0, 0, time.UTC),
		"1d":         time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC),
		"7d":         time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC),
		"36h":        time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC),
		"2026-11-01": time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC),
	} {
		got, err := ParseSince(in, now)
		if err != nil || !got.Equal(want) {
			t.Errorf("ParseSince(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"0d", "-1d", "x", "1.5d", "+3d", "-5h", "2026-13-01", "99999d", "d"} {
		if _, err := ParseSince(in, now); err == nil {
			t.Errorf("ParseSince(%q) succeeded", in)
		}
	}
}

func FuzzParseSince(f *testing.F) {
	for _, s := range []string{"", "30d", "36h", "2026-11-01", "0d", "x"} {
		f.Add(s)
	}
	now := time.Date(2026, 12, 7, 15, 4, 5, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseSince(s, now)
		if err != nil {
			return
		}
		if got.Hour() != 0 || got.Minute() != 0 || got.Location() != time.UTC {
			t.Fatalf("ParseSince(%q) = %v: not a UTC day", s, got)
		}
	})
}
