package usage

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gatehouse/gatehouse/internal/gateway/applib"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Report is the Shadow-AI discovery report: usage since a day, by review status, application
// and day. It is the JSON of `gatehouse gateway report --json` and of the admin API.
type Report struct {
	// Since is the first UTC day counted.
	Since time.Time `json:"since"`
	// Totals sums every request since then (Users: distinct users over all applications and
	// days is not kept; see Days for each day's).
	Totals Totals `json:"totals"`
	// Statuses are the four review statuses, in display order: the requests and bytes made
	// while an application had the status, and the top applications that have it now.
	Statuses []StatusUsage `json:"statuses"`
	// Days are each day's totals with its distinct users, oldest first.
	Days []store.GatewayUsageDay `json:"days"`
}

// Totals are request and byte counts.
type Totals struct {
	Requests  int64 `json:"requests"`
	BytesUp   int64 `json:"bytes_up"`
	BytesDown int64 `json:"bytes_down"`
}

// StatusUsage is the usage under one review status.
type StatusUsage struct {
	Status string `json:"status"`
	Totals
	// Apps are the applications whose latest status is this one, most requests first (at most
	// the report's top), and AppCount how many there are in all.
	Apps     []AppUsage `json:"apps"`
	AppCount int        `json:"app_count"`
}

// AppUsage is one application's usage since the report's day.
type AppUsage struct {
	// ID is the application library's id; 0 sums the hosts the library does not know.
	ID   int    `json:"id"`
	Name string `json:"name"`
	// Type is the application type's name and AI whether it is an AI application (from the
	// application library; empty for unknown hosts).
	Type string `json:"type,omitempty"`
	AI   bool   `json:"ai"`
	// Status is the review status of the application's latest requests.
	Status string `json:"status"`
	Totals
	// Users counts the distinct users (and service tokens) over the period.
	Users int64 `json:"users"`
	// Actions and Categories count the requests by action and by category.
	Actions    map[string]int64 `json:"actions"`
	Categories map[string]int64 `json:"categories"`
	// LastSeen is the last day with requests.
	LastSeen time.Time `json:"last_seen"`
	// Days are the distinct users of the application on each day with any, oldest first.
	Days []store.GatewayUsageAppDay `json:"days"`
}

// DefaultTop is how many applications a report lists per status by default.
const DefaultTop = 10

// Query reads the usage since since's UTC day from the store and builds the report; top bounds
// the applications listed per status (DefaultTop when <= 0). cat, when set, names the types of
// the applications.
func Query(ctx context.Context, st store.GatewayUsage, since time.Time, top int, cat *applib.Catalog) (*Report, error) {
	sum, err := st.GatewayUsageSince(ctx, since)
	if err != nil {
		return nil, fmt.Errorf("read gateway usage: %w", err)
	}
	return Build(sum, store.UsageDay(since), top, cat), nil
}

// Build makes the report of a summary.
func Build(sum *store.GatewayUsageSummary, since time.Time, top int, cat *applib.Catalog) *Report {
	if top <= 0 {
		top = DefaultTop
	}
	rep := &Report{Since: since, Days: sum.Days}
	if rep.Days == nil {
		rep.Days = []store.GatewayUsageDay{}
	}
	byStatus := map[string]*StatusUsage{}
	for _, s := range applib.Statuses {
		rep.Statuses = append(rep.Statuses, StatusUsage{Status: string(s), Apps: []AppUsage{}})
	}
	for i := range rep.Statuses {
		byStatus[rep.Statuses[i].Status] = &rep.Statuses[i]
	}
	statusOf := func(s string) *StatusUsage {
		if su := byStatus[s]; su != nil {
			return su
		}
		rep.Statuses = append(rep.Statuses, StatusUsage{Status: s, Apps: []AppUsage{}})
		clear(byStatus)
		for i := range rep.Statuses {
			byStatus[rep.Statuses[i].Status] = &rep.Statuses[i]
		}
		return byStatus[s]
	}
	appDays := map[int][]store.GatewayUsageAppDay{}
	for _, ad := range sum.AppDays {
		appDays[ad.AppID] = append(appDays[ad.AppID], ad)
	}
	apps := map[int]*AppUsage{}
	var order []int
	for _, r := range sum.Rows {
		a := apps[r.AppID]
		if a == nil {
			a = &AppUsage{ID: r.AppID, Name: r.AppName, Users: sum.AppUsers[r.AppID],
				Actions: map[string]int64{}, Categories: map[string]int64{}, Days: appDays[r.AppID]}
			if a.Days == nil {
				a.Days = []store.GatewayUsageAppDay{}
			}
			if r.AppID == 0 && a.Name == "" {
				a.Name = "(unknown)"
			}
			if cat != nil {
				if app := cat.App(r.AppID); app != nil {
					a.AI = app.IsAI()
					if app.Type != nil {
						a.Type = app.Type.Name
					}
					if a.Name == "" {
						a.Name = app.Name
					}
				}
			}
			apps[r.AppID] = a
			order = append(order, r.AppID)
		}
		if a.Name == "" || (r.AppName != "" && r.Day.After(a.LastSeen)) {
			a.Name = r.AppName
		}
		if !r.Day.Before(a.LastSeen) {
			// The latest day's status wins; on the same day, the most-used one.
			if r.Day.After(a.LastSeen) || a.Status == "" {
				a.Status = r.Status
			}
			a.LastSeen = r.Day
		}
		a.Requests += r.Requests
		a.BytesUp += r.BytesUp
		a.BytesDown += r.BytesDown
		a.Actions[r.Action] += r.Requests
		a.Categories[r.Category] += r.Requests
		su := statusOf(r.Status)
		su.Requests += r.Requests
		su.BytesUp += r.BytesUp
		su.BytesDown += r.BytesDown
		rep.Totals.Requests += r.Requests
		rep.Totals.BytesUp += r.BytesUp
		rep.Totals.BytesDown += r.BytesDown
	}
	for _, id := range order {
		a := apps[id]
		su := statusOf(a.Status)
		su.Apps = append(su.Apps, *a)
	}
	for i := range rep.Statuses {
		su := &rep.Statuses[i]
		slices.SortFunc(su.Apps, func(a, b AppUsage) int {
			return cmp.Or(cmp.Compare(b.Requests, a.Requests), cmp.Compare(b.BytesUp, a.BytesUp), cmp.Compare(a.ID, b.ID))
		})
		su.AppCount = len(su.Apps)
		if len(su.Apps) > top {
			su.Apps = su.Apps[:top]
		}
	}
	return rep
}

// WriteText writes the report for people: per status its traffic and top applications, then
// unique users and bytes per day.
func (rep *Report) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "Gateway usage since %s: %d requests, %s up, %s down\n\n", rep.Since.Format(time.DateOnly),
		rep.Totals.Requests, Bytes(rep.Totals.BytesUp), Bytes(rep.Totals.BytesDown))
	fmt.Fprintln(tw, "STATUS\tAPPS\tREQUESTS\tUPLOADED\tDOWNLOADED")
	for _, su := range rep.Statuses {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\n", su.Status, su.AppCount, su.Requests, Bytes(su.BytesUp), Bytes(su.BytesDown))
	}
	for _, su := range rep.Statuses {
		if len(su.Apps) == 0 {
			continue
		}
		fmt.Fprintf(tw, "\nTop %s applications\n", su.Status)
		fmt.Fprintln(tw, "ID\tAPPLICATION\tTYPE\tUSERS\tREQUESTS\tUPLOADED\tDOWNLOADED\tPROMPTS\tUPLOADS\tBLOCKED\tLAST SEEN")
		for _, a := range su.Apps {
			typ := a.Type
			if typ == "" {
				typ = "-"
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%d\t%s\t%s\t%d\t%d\t%d\t%s\n", a.ID, a.Name, typ, a.Users, a.Requests,
				Bytes(a.BytesUp), Bytes(a.BytesDown), a.Categories["prompt"], a.Categories["upload"], a.Actions["block"],
				a.LastSeen.Format(time.DateOnly))
		}
	}
	fmt.Fprintln(tw, "\nUnique users per day")
	fmt.Fprintln(tw, "DAY\tUSERS\tREQUESTS\tUPLOADED\tDOWNLOADED")
	for _, d := range rep.Days {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\n", d.Day.Format(time.DateOnly), d.Users, d.Requests, Bytes(d.BytesUp), Bytes(d.BytesDown))
	}
	if len(rep.Days) == 0 {
		fmt.Fprintln(tw, "(no usage)")
	}
	return tw.Flush()
}

// Bytes formats a byte count with a binary unit (1.5 MiB).
func Bytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %siB", float64(n)/float64(div), strings.Split("K M G T P E", " ")[exp])
}

// ParseSince parses a report's --since / ?since=: a duration in days ("30d"), a Go duration
// ("36h") or a date ("2026-11-01"), relative to now. Empty means 30 days.
func ParseSince(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return store.UsageDay(now.AddDate(0, 0, -29)), nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	if n, ok := strings.CutSuffix(s, "d"); ok {
		var days int
		if _, err := fmt.Sscanf(n, "%d", &days); err == nil && fmt.Sprint(days) == n && days >= 1 && days <= 3650 {
			return store.UsageDay(now.AddDate(0, 0, -(days - 1))), nil
		}
		return time.Time{}, fmt.Errorf("since %q: want a number of days between 1 and 3650 (30d), a duration (36h) or a date (2026-11-01)", s)
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return time.Time{}, fmt.Errorf("since %q: want a number of days (30d), a duration (36h) or a date (2026-11-01)", s)
	}
	return store.UsageDay(now.Add(-d)), nil
}
