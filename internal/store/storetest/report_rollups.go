package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// reportRollupTests cover the optional ReportRollups capability; a backend without it skips
// them.
var reportRollupTests = []suiteTest{
	{"ExactBeyondListLimit", testReportRollupsExact},
	{"FailedBatchCountsNothing", testReportRollupsFailedBatch},
	{"RetentionKeepsRollups", testReportRollupsRetention},
	{"Concurrent", testReportRollupsConcurrent},
	{"WeeksAndDays", testReportRollupsWeeks},
}

// rollupPrompt is the i-th generated prompt log at t: topics, actions, apps, users and risk
// vary with i.
func rollupPrompt(i int, at time.Time) store.PromptLog {
	l := store.PromptLog{Time: at, AppID: fmt.Sprint(1000 + i%3), PolicyAction: []string{"allow", "block", "redirect", ""}[i%4],
		UserEmail: []string{"alice@example.com", "bob@example.com", ""}[i%3], PayloadEnc: []byte{2}}
	switch i % 5 {
	case 0:
		l.Topics = []store.PromptLogTopic{{ID: "intent_jailbreak", Confidence: "high"}, {ID: "content_pii", Confidence: "low"}}
	case 1:
		l.Topics = []store.PromptLogTopic{{ID: "content_pii", Confidence: "low"}}
	case 2:
		l.DLPEntries = []string{"Credit card"}
	case 3:
		l.Topics = []store.PromptLogTopic{{ID: "content_code", Confidence: "medium"}, {ID: "", Confidence: "high"}}
	}
	return l
}

// wantPromptReport computes the report of the prompts from since's UTC day on from the raw
// entries, as a reader of every row would.
func wantPromptReport(logs []store.PromptLog, since time.Time) *store.PromptReport {
	day := store.UsageDay(since)
	out := &store.PromptReport{ByTopic: map[string]int64{}, ByAction: map[string]int64{}, RiskyUsers: []store.UserCount{}}
	risky := map[string]int64{}
	for i := range logs {
		l := &logs[i]
		if l.Time.Before(day) {
			continue
		}
		out.Prompts++
		out.ByAction[l.PolicyAction]++
		for _, t := range l.Topics {
			if t.ID != "" {
				out.ByTopic[t.ID]++
			}
		}
		if store.RiskyPrompt(l) {
			risky[l.UserEmail]++
		}
	}
	for u, n := range risky {
		out.RiskyUsers = append(out.RiskyUsers, store.UserCount{UserEmail: u, Count: n})
	}
	sortUserCounts(out.RiskyUsers)
	return out
}

func sortUserCounts(u []store.UserCount) {
	for i := 1; i < len(u); i++ {
		for j := i; j > 0 && (u[j].Count > u[j-1].Count || u[j].Count == u[j-1].Count && u[j].UserEmail < u[j-1].UserEmail); j-- {
			u[j], u[j-1] = u[j-1], u[j]
		}
	}
}

func rollupMCPCall(i int, at time.Time) store.MCPCallLog {
	return store.MCPCallLog{Time: at, PortalID: []string{"p1", "p2"}[i%2], ServerID: []string{"github", "jira", "db"}[i%3],
		Method: []string{"tools/call", "tools/call", "prompts/get"}[i%3], Decision: []string{"allow", "block", "error", "allow"}[i%4]}
}

func wantMCPCalls(logs []store.MCPCallLog, since time.Time) []store.MCPCallCount {
	day := store.UsageDay(since)
	m := map[store.MCPCallCount]int64{}
	for _, l := range logs {
		if !l.Time.Before(day) {
			m[store.MCPCallCount{PortalID: l.PortalID, ServerID: l.ServerID, Method: l.Method, Decision: l.Decision}]++
		}
	}
	out := []store.MCPCallCount{}
	for k, n := range m {
		k.Calls = n
		out = append(out, k)
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && mcpLess(out[j], out[j-1]); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

func mcpLess(a, b store.MCPCallCount) bool {
	if a.PortalID != b.PortalID {
		return a.PortalID < b.PortalID
	}
	if a.ServerID != b.ServerID {
		return a.ServerID < b.ServerID
	}
	if a.Method != b.Method {
		return a.Method < b.Method
	}
	return a.Decision < b.Decision
}

func rollupAuthEvent(i int, at time.Time) store.AuthEvent {
	e := store.AuthEvent{Time: at, Action: []string{"login", "login", "service_token"}[i%3], Allowed: i%4 != 0,
		AppID: []string{"", "app-1", "app-2"}[i%3], IdPID: []string{"okta", "", "github"}[i%3]}
	if !e.Allowed {
		e.Reasons = [][]string{nil, {"mfa_required"}, {"country_blocked", "device_posture"}}[i%3]
	}
	return e
}

func wantAuthReport(events []store.AuthEvent, since time.Time) *store.AuthReport {
	day := store.UsageDay(since)
	out := &store.AuthReport{Days: []store.AuthDay{}, DeniedByReason: map[string]int64{}, DeniedByApp: map[string]int64{},
		AllowedByIdP: map[string]int64{}, ByAction: map[string]int64{}}
	for _, e := range events {
		if e.Time.Before(day) {
			continue
		}
		d := store.UsageDay(e.Time)
		if len(out.Days) == 0 || !out.Days[len(out.Days)-1].Day.Equal(d) {
			out.Days = append(out.Days, store.AuthDay{Day: d})
		}
		ad := &out.Days[len(out.Days)-1]
		if e.Allowed {
			out.Allowed++
			ad.Allowed++
			out.AllowedByIdP[e.IdPID]++
			out.ByAction[e.Action+" allowed"]++
			continue
		}
		out.Denied++
		ad.Denied++
		out.DeniedByApp[e.AppID]++
		out.ByAction[e.Action+" denied"]++
		for _, r := range e.Reasons {
			out.DeniedByReason[r]++
		}
		if len(e.Reasons) == 0 {
			out.DeniedByReason[""]++
		}
	}
	return out
}

// rollupFixture appends n prompts, MCP calls and auth events spread over five days ending at
// clock's time, oldest first, and returns them.
func rollupFixture(t *testing.T, s store.Store, clock *Clock, n int) ([]store.PromptLog, []store.MCPCallLog, []store.AuthEvent) {
	t.Helper()
	ctx := t.Context()
	p := capability[store.PromptLogs](t, s)
	m := capability[store.MCP](t, s)
	first := clock.Now().Add(-5 * 24 * time.Hour)
	step := 5 * 24 * time.Hour / time.Duration(n)
	prompts := make([]store.PromptLog, n)
	calls := make([]store.MCPCallLog, n)
	for i := range n {
		at := first.Add(time.Duration(i) * step)
		prompts[i], calls[i] = rollupPrompt(i, at), rollupMCPCall(i, at)
	}
	for b := 0; b < n; b += 500 {
		ok(t, "AppendPromptLogs", p.AppendPromptLogs(ctx, prompts[b:min(b+500, n)]))
		ok(t, "AppendMCPCallLogs", m.AppendMCPCallLogs(ctx, calls[b:min(b+500, n)]))
	}
	events := make([]store.AuthEvent, n/10)
	for i := range events {
		events[i] = rollupAuthEvent(i, first.Add(time.Duration(i)*10*step))
		ok(t, "AppendAuthEvent", s.AppendAuthEvent(ctx, &events[i]))
	}
	return prompts, calls, events
}

// checkReports compares every report since each of the fixture's days with the raw entries.
func checkReports(t *testing.T, r store.ReportRollups, clock *Clock, prompts []store.PromptLog, calls []store.MCPCallLog, events []store.AuthEvent) {
	t.Helper()
	ctx := t.Context()
	for _, since := range []time.Time{{}, clock.Now().Add(-3 * 24 * time.Hour), clock.Now(), clock.Now().Add(48 * time.Hour)} {
		got, err := r.PromptReportSince(ctx, since, store.MaxRiskyUsersLimit)
		ok(t, "PromptReportSince", err)
		equal(t, fmt.Sprintf("prompt report since %v", since), got, wantPromptReport(prompts, since))
		gotCalls, err := r.MCPCallsSince(ctx, since)
		ok(t, "MCPCallsSince", err)
		equal(t, fmt.Sprintf("MCP calls since %v", since), gotCalls, wantMCPCalls(calls, since))
		gotAuth, err := r.AuthReportSince(ctx, since)
		ok(t, "AuthReportSince", err)
		equal(t, fmt.Sprintf("auth report since %v", since), gotAuth, wantAuthReport(events, since))
	}
}

// The reports count every entry, far beyond the 1,000 a listing returns.
func testReportRollupsExact(t *testing.T, s store.Store, clock *Clock) {
	r := capability[store.ReportRollups](t, s)
	prompts, calls, events := rollupFixture(t, s, clock, 2500)
	checkReports(t, r, clock, prompts, calls, events)
	// topUsers bounds the risky users, keeping the largest.
	got, err := r.PromptReportSince(t.Context(), time.Time{}, 1)
	ok(t, "PromptReportSince", err)
	equal(t, "top risky user", got.RiskyUsers, wantPromptReport(prompts, time.Time{}).RiskyUsers[:1])
}

// A batch refused as a whole adds nothing to the rollups.
func testReportRollupsFailedBatch(t *testing.T, s store.Store, clock *Clock) {
	r := capability[store.ReportRollups](t, s)
	p := capability[store.PromptLogs](t, s)
	m := capability[store.MCP](t, s)
	ctx := t.Context()
	bad := []store.PromptLog{rollupPrompt(0, clock.Now()), {Time: clock.Now()}}
	if err := p.AppendPromptLogs(ctx, bad); err == nil {
		t.Fatal("AppendPromptLogs with an empty payload: no error")
	}
	badCalls := []store.MCPCallLog{rollupMCPCall(0, clock.Now()), {Time: clock.Now(), BytesIn: -1}}
	if err := m.AppendMCPCallLogs(ctx, badCalls); err == nil {
		t.Fatal("AppendMCPCallLogs with negative bytes: no error")
	}
	checkReports(t, r, clock, nil, nil, nil)
}

// Deleting raw entries (retention) leaves the rollups; DeleteReportRollupsBefore removes the
// days before its day and only those.
func testReportRollupsRetention(t *testing.T, s store.Store, clock *Clock) {
	r := capability[store.ReportRollups](t, s)
	p := capability[store.PromptLogs](t, s)
	m := capability[store.MCP](t, s)
	ctx := t.Context()
	prompts, calls, events := rollupFixture(t, s, clock, 600)
	_, err := p.DeletePromptLogsBefore(ctx, clock.Now().Add(time.Hour))
	ok(t, "DeletePromptLogsBefore", err)
	_, err = m.DeleteMCPCallLogsBefore(ctx, clock.Now().Add(time.Hour))
	ok(t, "DeleteMCPCallLogsBefore", err)
	checkReports(t, r, clock, prompts, calls, events)

	cut := clock.Now().Add(-2 * 24 * time.Hour)
	n, err := r.DeleteReportRollupsBefore(ctx, cut)
	ok(t, "DeleteReportRollupsBefore", err)
	if n <= 0 {
		t.Fatalf("DeleteReportRollupsBefore removed %d rows, want some", n)
	}
	keep := store.UsageDay(cut)
	var kp []store.PromptLog
	var kc []store.MCPCallLog
	var ke []store.AuthEvent
	for _, l := range prompts {
		if !l.Time.Before(keep) {
			kp = append(kp, l)
		}
	}
	for _, l := range calls {
		if !l.Time.Before(keep) {
			kc = append(kc, l)
		}
	}
	for _, e := range events {
		if !e.Time.Before(keep) {
			ke = append(ke, e)
		}
	}
	checkReports(t, r, clock, kp, kc, ke)
}

// Concurrent appends (as from several processes) add up exactly.
func testReportRollupsConcurrent(t *testing.T, s store.Store, clock *Clock) {
	r := capability[store.ReportRollups](t, s)
	p := capability[store.PromptLogs](t, s)
	m := capability[store.MCP](t, s)
	ctx := t.Context()
	const workers, batches, size = 4, 5, 40
	var (
		mu      sync.Mutex
		prompts []store.PromptLog
		calls   []store.MCPCallLog
		events  []store.AuthEvent
		wg      sync.WaitGroup
	)
	now := clock.Now()
	for w := range workers {
		wg.Go(func() {
			for b := range batches {
				ps := make([]store.PromptLog, size)
				cs := make([]store.MCPCallLog, size)
				for i := range size {
					ps[i], cs[i] = rollupPrompt(w+b+i, now.Add(-time.Duration(i)*time.Hour)), rollupMCPCall(w+i, now.Add(-time.Duration(i)*time.Hour))
				}
				e := rollupAuthEvent(w+b, now.Add(-time.Duration(b)*time.Hour))
				if err := p.AppendPromptLogs(ctx, ps); err != nil {
					t.Errorf("AppendPromptLogs: %v", err)
					return
				}
				if err := m.AppendMCPCallLogs(ctx, cs); err != nil {
					t.Errorf("AppendMCPCallLogs: %v", err)
					return
				}
				if err := s.AppendAuthEvent(ctx, &e); err != nil {
					t.Errorf("AppendAuthEvent: %v", err)
					return
				}
				mu.Lock()
				prompts, calls, events = append(prompts, ps...), append(calls, cs...), append(events, e)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	// The raw entries in time order, as the reference wants them for its days.
	for i := 1; i < len(events); i++ {
		for j := i; j > 0 && events[j].Time.Before(events[j-1].Time); j-- {
			events[j], events[j-1] = events[j-1], events[j]
		}
	}
	checkReports(t, r, clock, prompts, calls, events)
}

// Periods starting on any day of five weeks, before and after deleting the rollups before any
// day (a week's sums and the days around them agree with the raw entries).
func testReportRollupsWeeks(t *testing.T, s store.Store, clock *Clock) {
	r := capability[store.ReportRollups](t, s)
	p := capability[store.PromptLogs](t, s)
	ctx := t.Context()
	first := clock.Now().Add(-35 * 24 * time.Hour)
	var prompts []store.PromptLog
	for i := range 35 * 4 {
		prompts = append(prompts, rollupPrompt(i, first.Add(time.Duration(i)*6*time.Hour)))
	}
	ok(t, "AppendPromptLogs", p.AppendPromptLogs(ctx, prompts))
	check := func(what string, kept []store.PromptLog) {
		t.Helper()
		for d := range 37 {
			since := first.Add(time.Duration(d-1) * 24 * time.Hour)
			got, err := r.PromptReportSince(ctx, since, store.MaxRiskyUsersLimit)
			ok(t, "PromptReportSince", err)
			equal(t, fmt.Sprintf("%s: risky users since %s", what, since.Format(time.DateOnly)), got.RiskyUsers, wantPromptReport(kept, since).RiskyUsers)
		}
	}
	check("all kept", prompts)
	for _, cut := range []int{3, 11, 12, 20} {
		before := first.Add(time.Duration(cut) * 24 * time.Hour)
		_, err := r.DeleteReportRollupsBefore(ctx, before)
		ok(t, "DeleteReportRollupsBefore", err)
		var kept []store.PromptLog
		for _, l := range prompts {
			if !l.Time.Before(store.UsageDay(before)) {
				kept = append(kept, l)
			}
		}
		check(fmt.Sprintf("after deleting before %s", before.Format(time.DateOnly)), kept)
	}
}
