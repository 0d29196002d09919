package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// mcpTests cover the optional MCP capability; a backend without it skips them.
var mcpTests = []suiteTest{
	{"StateRoundTrip", testMCPStateRoundTrip},
	{"StateUpdaterError", testMCPStateUpdaterError},
	{"StateInvalid", testMCPStateInvalid},
	{"StateDelete", testMCPStateDelete},
	{"StateConcurrentUpdates", testMCPStateConcurrent},
	{"CallLogsRoundTrip", testMCPCallLogsRoundTrip},
	{"CallLogsFilters", testMCPCallLogsFilters},
	{"CallLogsPaging", testMCPCallLogsPaging},
	{"CallLogsInvalid", testMCPCallLogsInvalid},
	{"CallLogsRetention", testMCPCallLogsRetention},
	{"CallLogsConcurrent", testMCPCallLogsConcurrent},
}

// fullMCPServerState has every field set but UpdatedAt, which the store sets. Tools keeps
// insignificant white space, to show that the lists are stored exactly as the server sent them.
func fullMCPServerState(id string, synced time.Time) store.MCPServerState {
	return store.MCPServerState{
		ServerID: id, Status: store.MCPSyncToolsChanged,
		Error:     &store.MCPSyncError{Message: "upstream said no", Type: "upstream_error", HTTPStatusCode: 502, MCPErrorCode: -32603},
		Transport: store.MCPTransportStreamable, ProtocolVersion: "2025-06-18",
		Tools:     json.RawMessage(`[ {"name": "search", "inputSchema": {"type": "object"}} ]`),
		Prompts:   json.RawMessage(`[{"name":"summarise","description":"é ✓"}]`),
		Resources: json.RawMessage(`[{"uri":"file:///readme.md","name":"readme"}]`),
		ToolsHash: "a1", ApprovedToolsHash: "b2", SyncedAt: synced,
	}
}

func testMCPStateRoundTrip(t *testing.T, s store.Store, clock *Clock) {
	m := capability[store.MCP](t, s)
	ctx := t.Context()
	_, err := m.GetMCPServerState(ctx, "docs")
	isErr(t, "GetMCPServerState before any sync", err, store.ErrNotFound)

	full := fullMCPServerState("docs", clock.Now().Add(-time.Second))
	calls := 0
	got, err := m.UpdateMCPServerState(ctx, "docs", func(st *store.MCPServerState) error {
		calls++
		equal(t, "state the first updater sees", *st, store.MCPServerState{ServerID: "docs"})
		*st = full
		return nil
	})
	ok(t, "UpdateMCPServerState", err)
	if calls < 1 {
		t.Fatal("the updater never ran")
	}
	want := full
	want.SyncedAt, want.UpdatedAt = ts(full.SyncedAt), ts(clock.Now())
	requireAllFieldsSet(t, want)
	equal(t, "UpdateMCPServerState result", *got, want)
	read, err := m.GetMCPServerState(ctx, "docs")
	ok(t, "GetMCPServerState", err)
	equal(t, "GetMCPServerState", *read, want)
	if read.SyncedAt.Location() != time.UTC || read.UpdatedAt.Location() != time.UTC {
		t.Errorf("times not in UTC: %v, %v", read.SyncedAt, read.UpdatedAt)
	}

	// The next update starts from what was stored, and UpdatedAt follows the clock.
	clock.Advance(time.Minute)
	got, err = m.UpdateMCPServerState(ctx, "docs", func(st *store.MCPServerState) error {
		equal(t, "state the second updater sees", *st, want)
		st.Status, st.Error, st.Prompts, st.Resources = store.MCPSyncReady, nil, nil, json.RawMessage{}
		return nil
	})
	ok(t, "UpdateMCPServerState (again)", err)
	want.Status, want.Error, want.Prompts, want.Resources, want.UpdatedAt = store.MCPSyncReady, nil, nil, nil, ts(clock.Now())
	equal(t, "second result", *got, want)

	other := store.MCPServerState{ServerID: "alpha", Status: store.MCPSyncWaiting}
	_, err = m.UpdateMCPServerState(ctx, "alpha", func(st *store.MCPServerState) error { st.Status = other.Status; return nil })
	ok(t, "UpdateMCPServerState (alpha)", err)
	other.UpdatedAt = ts(clock.Now())
	list, err := m.ListMCPServerStates(ctx)
	ok(t, "ListMCPServerStates", err)
	equal(t, "states by server id", list, []store.MCPServerState{other, want})
}

func testMCPStateUpdaterError(t *testing.T, s store.Store, clock *Clock) {
	m := capability[store.MCP](t, s)
	ctx := t.Context()
	refused := errors.New("refused")
	got, err := m.UpdateMCPServerState(ctx, "new", func(st *store.MCPServerState) error {
		st.Status = store.MCPSyncReady
		return refused
	})
	if err != refused { //nolint:errorlint // the contract says the updater's error is returned unwrapped
		t.Fatalf("UpdateMCPServerState with a refusing updater = (%v, %v), want the updater's error itself", got, err)
	}
	_, err = m.GetMCPServerState(ctx, "new")
	isErr(t, "a refused first update leaves no state", err, store.ErrNotFound)

	before, err := m.UpdateMCPServerState(ctx, "kept", func(st *store.MCPServerState) error {
		*st = fullMCPServerState("kept", clock.Now())
		return nil
	})
	ok(t, "UpdateMCPServerState", err)
	clock.Advance(time.Hour)
	_, err = m.UpdateMCPServerState(ctx, "kept", func(st *store.MCPServerState) error {
		st.Status, st.Tools = store.MCPSyncFailed, nil
		return refused
	})
	if err != refused { //nolint:errorlint // the contract says unwrapped
		t.Fatalf("UpdateMCPServerState with a refusing updater = %v, want the updater's error itself", err)
	}
	read, err := m.GetMCPServerState(ctx, "kept")
	ok(t, "GetMCPServerState", err)
	equal(t, "state after a refused update", read, before)
}

func testMCPStateInvalid(t *testing.T, s store.Store, clock *Clock) {
	m := capability[store.MCP](t, s)
	ctx := t.Context()
	if _, err := m.UpdateMCPServerState(ctx, "", func(*store.MCPServerState) error { return nil }); err == nil {
		t.Error("UpdateMCPServerState with an empty server id succeeded")
	}
	for name, update := range map[string]func(*store.MCPServerState){
		"tools not JSON":      func(st *store.MCPServerState) { st.Tools = json.RawMessage(`[{"name":`) },
		"prompts not JSON":    func(st *store.MCPServerState) { st.Prompts = json.RawMessage(`nope`) },
		"resources not UTF-8": func(st *store.MCPServerState) { st.Resources = json.RawMessage("[\"\xff\"]") },
		"server id changed":   func(st *store.MCPServerState) { st.ServerID = "other" },
		"server id emptied":   func(st *store.MCPServerState) { st.ServerID = "" },
	} {
		_, err := m.UpdateMCPServerState(ctx, "srv", func(st *store.MCPServerState) error {
			st.Status = store.MCPSyncReady
			update(st)
			return nil
		})
		if err == nil {
			t.Errorf("%s: UpdateMCPServerState succeeded", name)
			continue
		}
		for _, sentinel := range []error{store.ErrNotFound, store.ErrAlreadyExists, store.ErrConflict, store.ErrUnavailable} {
			if errors.Is(err, sentinel) {
				t.Errorf("%s: error %v wraps %v", name, err, sentinel)
			}
		}
	}
	list, err := m.ListMCPServerStates(ctx)
	ok(t, "ListMCPServerStates", err)
	if list == nil || len(list) != 0 {
		t.Errorf("refused updates left %#v, want an empty, non-nil list", list)
	}
}

func testMCPStateDelete(t *testing.T, s store.Store, clock *Clock) {
	m := capability[store.MCP](t, s)
	ctx := t.Context()
	ok(t, "DeleteMCPServerState (never synced)", m.DeleteMCPServerState(ctx, "gone"))
	for _, id := range []string{"gone", "stays"} {
		_, err := m.UpdateMCPServerState(ctx, id, func(st *store.MCPServerState) error { st.Status = store.MCPSyncReady; return nil })
		ok(t, "UpdateMCPServerState", err)
	}
	ok(t, "DeleteMCPServerState", m.DeleteMCPServerState(ctx, "gone"))
	_, err := m.GetMCPServerState(ctx, "gone")
	isErr(t, "GetMCPServerState after delete", err, store.ErrNotFound)
	list, err := m.ListMCPServerStates(ctx)
	ok(t, "ListMCPServerStates", err)
	equal(t, "states after delete", list, []store.MCPServerState{{ServerID: "stays", Status: store.MCPSyncReady, UpdatedAt: ts(clock.Now())}})
	ok(t, "DeleteMCPServerState (again)", m.DeleteMCPServerState(ctx, "gone"))

	// A server synced again after its removal starts from the zero state.
	_, err = m.UpdateMCPServerState(ctx, "gone", func(st *store.MCPServerState) error {
		equal(t, "state after delete", *st, store.MCPServerState{ServerID: "gone"})
		return nil
	})
	ok(t, "UpdateMCPServerState after delete", err)
}

// testMCPStateConcurrent: updates of one server racing from many goroutines, the first of them
// creating the state, each append to Tools; none is lost. Updates of a second server run at the
// same time and stay apart.
func testMCPStateConcurrent(t *testing.T, s store.Store, _ *Clock) {
	m := capability[store.MCP](t, s)
	ctx := t.Context()
	const each = 3
	errs := race(func(i int) error {
		for j := range each {
			server := "shared"
			if i%4 == 3 {
				server = "other"
			}
			_, err := m.UpdateMCPServerState(ctx, server, func(st *store.MCPServerState) error {
				var tools []string
				if len(st.Tools) > 0 {
					if err := json.Unmarshal(st.Tools, &tools); err != nil {
						return err
					}
				}
				tools = append(tools, fmt.Sprintf("g%d-%d", i, j))
				b, err := json.Marshal(tools)
				st.Tools, st.ToolsHash = b, fmt.Sprint(len(tools))
				return err
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	countErrs(t, "UpdateMCPServerState", errs, nil)
	for server, want := range map[string]int{"shared": goroutines - goroutines/4, "other": goroutines / 4} {
		st, err := m.GetMCPServerState(ctx, server)
		ok(t, "GetMCPServerState", err)
		var tools []string
		ok(t, "decode tools", json.Unmarshal(st.Tools, &tools))
		distinct := map[string]bool{}
		for _, tool := range tools {
			distinct[tool] = true
		}
		if len(tools) != want*each || len(distinct) != len(tools) || st.ToolsHash != fmt.Sprint(want*each) {
			t.Errorf("%s: %d tools (%d distinct, count %s) after %d updates: updates were lost", server, len(tools),
				len(distinct), st.ToolsHash, want*each)
		}
	}
}

// fullMCPCallLog has every field set but the ID.
func fullMCPCallLog(at time.Time) store.MCPCallLog {
	return store.MCPCallLog{
		Time: at, RequestID: "req-1", PortalID: "portal-1", ServerID: "docs", Method: "tools/call", Capability: "docs_search", UpstreamCapability: "search_v2",
		UserID: "u-1", UserEmail: "alice@example.com", ClientID: "client-1", Decision: "block", Reason: "dlp_match",
		DurationMS: 12.625, BytesIn: 321, BytesOut: 4567, DLPEntries: []string{"Credit card", "AWS key"},
		Topics: []string{"intent_jailbreak"},
	}
}

func testMCPCallLogsRoundTrip(t *testing.T, s store.Store, clock *Clock) {
	m := capability[store.MCP](t, s)
	ctx := t.Context()
	full := fullMCPCallLog(clock.Now())
	bare := store.MCPCallLog{Time: clock.Now().Add(time.Second)}
	empty := store.MCPCallLog{Time: clock.Now().Add(2 * time.Second), DLPEntries: []string{}, Topics: []string{}}
	batch := []store.MCPCallLog{full, bare, empty}
	ok(t, "AppendMCPCallLogs", m.AppendMCPCallLogs(ctx, batch))
	if batch[0].ID <= 0 || batch[1].ID <= batch[0].ID || batch[2].ID <= batch[1].ID {
		t.Fatalf("IDs %d, %d, %d: want positive and increasing in batch order", batch[0].ID, batch[1].ID, batch[2].ID)
	}
	if !batch[0].Time.Equal(ts(full.Time)) || batch[0].Time.Location() != time.UTC || batch[0].Time != ts(full.Time) {
		t.Errorf("Time after append = %v, want %v in UTC", batch[0].Time, ts(full.Time))
	}
	want := full
	want.ID, want.Time = batch[0].ID, ts(full.Time)
	requireAllFieldsSet(t, want)
	// An entry appended with nil lists and one with empty lists both read back with empty lists.
	wantBare := store.MCPCallLog{ID: batch[1].ID, Time: ts(bare.Time), DLPEntries: []string{}, Topics: []string{}}
	wantEmpty := store.MCPCallLog{ID: batch[2].ID, Time: ts(empty.Time), DLPEntries: []string{}, Topics: []string{}}

	got, err := m.ListMCPCallLogs(ctx, store.MCPCallLogQuery{})
	ok(t, "ListMCPCallLogs", err)
	equal(t, "entries (newest first)", got, []store.MCPCallLog{wantEmpty, wantBare, want})
	ok(t, "empty batch", m.AppendMCPCallLogs(ctx, nil))

	none, err := m.ListMCPCallLogs(ctx, store.MCPCallLogQuery{PortalID: "nope"})
	ok(t, "ListMCPCallLogs (no match)", err)
	if none == nil || len(none) != 0 {
		t.Errorf("listing without a match = %#v, want an empty, non-nil list", none)
	}

	// IDs grow across batches and are never reused, even after every entry is deleted.
	n, err := m.DeleteMCPCallLogsBefore(ctx, clock.Now().Add(time.Hour))
	ok(t, "DeleteMCPCallLogsBefore", err)
	if n != 3 {
		t.Errorf("deleted %d, want 3", n)
	}
	again := []store.MCPCallLog{fullMCPCallLog(clock.Now())}
	ok(t, "AppendMCPCallLogs after delete", m.AppendMCPCallLogs(ctx, again))
	if again[0].ID <= batch[2].ID {
		t.Errorf("ID after deleting everything = %d, want above %d (IDs are cursors, never reused)", again[0].ID, batch[2].ID)
	}
}

func testMCPCallLogsFilters(t *testing.T, s store.Store, clock *Clock) {
	m := capability[store.MCP](t, s)
	ctx := t.Context()
	t0 := clock.Now()
	mk := func(min int, portal, server, user, decision string) store.MCPCallLog {
		return store.MCPCallLog{Time: t0.Add(time.Duration(min) * time.Minute), PortalID: portal, ServerID: server,
			UserEmail: user, Decision: decision, Method: "tools/call"}
	}
	batch := []store.MCPCallLog{
		mk(0, "p1", "docs", "alice@example.com", "allow"),
		mk(1, "p1", "jira", "bob@example.com", "block"),
		mk(2, "p2", "docs", "alice@example.com", "allow"),
		mk(3, "p2", "jira", "alice@example.com", "error"),
		mk(4, "p1", "docs", "", "allow"),
	}
	ok(t, "AppendMCPCallLogs", m.AppendMCPCallLogs(ctx, batch))
	ids := func(ls []store.MCPCallLog) []int64 {
		out := []int64{}
		for _, l := range ls {
			out = append(out, l.ID)
		}
		return out
	}
	id := func(i int) int64 { return batch[i].ID }
	for _, tc := range []struct {
		name string
		q    store.MCPCallLogQuery
		want []int64
	}{
		{"all", store.MCPCallLogQuery{}, []int64{id(4), id(3), id(2), id(1), id(0)}},
		{"portal", store.MCPCallLogQuery{PortalID: "p1"}, []int64{id(4), id(1), id(0)}},
		{"server", store.MCPCallLogQuery{ServerID: "jira"}, []int64{id(3), id(1)}},
		{"user", store.MCPCallLogQuery{UserEmail: "alice@example.com"}, []int64{id(3), id(2), id(0)}},
		{"user, other case", store.MCPCallLogQuery{UserEmail: "Alice@example.com"}, []int64{}},
		{"decision", store.MCPCallLogQuery{Decision: "allow"}, []int64{id(4), id(2), id(0)}},
		{"since (inclusive)", store.MCPCallLogQuery{Since: t0.Add(3 * time.Minute)}, []int64{id(4), id(3)}},
		{"until (exclusive)", store.MCPCallLogQuery{Until: t0.Add(2 * time.Minute)}, []int64{id(1), id(0)}},
		{"before", store.MCPCallLogQuery{Before: id(2)}, []int64{id(1), id(0)}},
		{"portal, server, user and decision", store.MCPCallLogQuery{PortalID: "p2", ServerID: "docs",
			UserEmail: "alice@example.com", Decision: "allow"}, []int64{id(2)}},
		{"window and user", store.MCPCallLogQuery{Since: t0.Add(time.Minute), Until: t0.Add(4 * time.Minute),
			UserEmail: "alice@example.com"}, []int64{id(3), id(2)}},
		{"portal and server, none", store.MCPCallLogQuery{PortalID: "p2", ServerID: "docs", Decision: "block"}, []int64{}},
		{"unknown server", store.MCPCallLogQuery{ServerID: "nope"}, []int64{}},
	} {
		got, err := m.ListMCPCallLogs(ctx, tc.q)
		ok(t, tc.name, err)
		equal(t, tc.name, ids(got), tc.want)
	}
}

func testMCPCallLogsPaging(t *testing.T, s store.Store, clock *Clock) {
	m := capability[store.MCP](t, s)
	ctx := t.Context()
	batch := make([]store.MCPCallLog, store.MaxMCPCallLogLimit+1)
	for i := range batch {
		batch[i] = store.MCPCallLog{Time: clock.Now().Add(time.Duration(i) * time.Millisecond), ServerID: fmt.Sprint("s", i%2)}
	}
	ok(t, "AppendMCPCallLogs", m.AppendMCPCallLogs(ctx, batch))

	got, err := m.ListMCPCallLogs(ctx, store.MCPCallLogQuery{})
	ok(t, "ListMCPCallLogs (default limit)", err)
	if len(got) != store.DefaultMCPCallLogLimit || got[0].ID != batch[len(batch)-1].ID {
		t.Errorf("default page: %d entries from ID %d, want %d from the newest", len(got), got[0].ID, store.DefaultMCPCallLogLimit)
	}
	got, err = m.ListMCPCallLogs(ctx, store.MCPCallLogQuery{Limit: 5000})
	ok(t, "ListMCPCallLogs (limit above the maximum)", err)
	if len(got) != store.MaxMCPCallLogLimit {
		t.Errorf("limit 5000 returned %d entries, want the maximum %d", len(got), store.MaxMCPCallLogLimit)
	}

	// Walking one server page by page yields each of its entries once, newest first.
	var walked []int64
	cursor := int64(0)
	for pages := 0; ; pages++ {
		if pages > 200 {
			t.Fatal("paging does not end")
		}
		page, err := m.ListMCPCallLogs(ctx, store.MCPCallLogQuery{ServerID: "s1", Limit: 7, Before: cursor})
		ok(t, "ListMCPCallLogs page", err)
		if len(page) == 0 {
			break
		}
		if len(page) > 7 {
			t.Fatalf("page of %d entries, limit 7", len(page))
		}
		for _, l := range page {
			walked = append(walked, l.ID)
		}
		cursor = page[len(page)-1].ID
	}
	var want []int64
	for i := len(batch) - 1; i >= 0; i-- {
		if i%2 == 1 {
			want = append(want, batch[i].ID)
		}
	}
	equal(t, "server s1, paged", walked, want)
}

func testMCPCallLogsInvalid(t *testing.T, s store.Store, clock *Clock) {
	m := capability[store.MCP](t, s)
	ctx := t.Context()
	good := fullMCPCallLog(clock.Now())
	for name, bad := range map[string]store.MCPCallLog{
		"zero time":          {Method: "tools/call"},
		"negative bytes_in":  {Time: clock.Now(), BytesIn: -1},
		"negative bytes_out": {Time: clock.Now(), BytesOut: -1},
		"negative duration":  {Time: clock.Now(), DurationMS: -0.5},
		"NaN duration":       {Time: clock.Now(), DurationMS: math.NaN()},
		"infinite duration":  {Time: clock.Now(), DurationMS: math.Inf(1)},
	} {
		batch := []store.MCPCallLog{good, bad, good}
		err := m.AppendMCPCallLogs(ctx, batch)
		if err == nil {
			t.Errorf("%s: AppendMCPCallLogs succeeded", name)
			continue
		}
		for _, sentinel := range []error{store.ErrNotFound, store.ErrAlreadyExists, store.ErrConflict, store.ErrUnavailable} {
			if errors.Is(err, sentinel) {
				t.Errorf("%s: error %v wraps %v", name, err, sentinel)
			}
		}
		if batch[0].ID != 0 {
			t.Errorf("%s: a refused batch got IDs", name)
		}
	}
	got, err := m.ListMCPCallLogs(ctx, store.MCPCallLogQuery{})
	ok(t, "ListMCPCallLogs", err)
	if len(got) != 0 {
		t.Errorf("a refused batch left %d entries behind", len(got))
	}
}

func testMCPCallLogsRetention(t *testing.T, s store.Store, clock *Clock) {
	m := capability[store.MCP](t, s)
	ctx := t.Context()
	t0 := clock.Now()
	var batch []store.MCPCallLog
	for i := range 4 {
		batch = append(batch, store.MCPCallLog{Time: t0.Add(time.Duration(i) * time.Hour)})
	}
	ok(t, "AppendMCPCallLogs", m.AppendMCPCallLogs(ctx, batch))
	n, err := m.DeleteMCPCallLogsBefore(ctx, t0.Add(2*time.Hour))
	ok(t, "DeleteMCPCallLogsBefore", err)
	if n != 2 {
		t.Errorf("deleted %d entries, want 2 (the ones before, not the one at the boundary)", n)
	}
	got, err := m.ListMCPCallLogs(ctx, store.MCPCallLogQuery{})
	ok(t, "ListMCPCallLogs", err)
	if len(got) != 2 || got[0].ID != batch[3].ID || got[1].ID != batch[2].ID {
		t.Errorf("after retention: %+v", got)
	}
	n, err = m.DeleteMCPCallLogsBefore(ctx, t0)
	ok(t, "DeleteMCPCallLogsBefore (nothing)", err)
	if n != 0 {
		t.Errorf("deleted %d entries before the first", n)
	}
}

// testMCPCallLogsConcurrent: batches appended at once are all stored, each batch's IDs
// increasing in its order.
func testMCPCallLogsConcurrent(t *testing.T, s store.Store, clock *Clock) {
	m := capability[store.MCP](t, s)
	ctx := t.Context()
	const writers, each, size = 8, 5, 3
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				b := make([]store.MCPCallLog, size)
				for j := range b {
					b[j] = store.MCPCallLog{Time: clock.Now(), RequestID: fmt.Sprintf("w%d-%d-%d", w, i, j)}
				}
				err := m.AppendMCPCallLogs(ctx, b)
				for j := 1; err == nil && j < len(b); j++ {
					if b[j].ID <= b[j-1].ID {
						err = fmt.Errorf("batch IDs not increasing: %d %d %d", b[0].ID, b[1].ID, b[2].ID)
					}
				}
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		ok(t, "concurrent AppendMCPCallLogs", err)
	}
	got, err := m.ListMCPCallLogs(ctx, store.MCPCallLogQuery{Limit: store.MaxMCPCallLogLimit})
	ok(t, "ListMCPCallLogs", err)
	ids, reqs := map[int64]bool{}, map[string]bool{}
	for _, l := range got {
		ids[l.ID], reqs[l.RequestID] = true, true
	}
	if len(got) != writers*each*size || len(ids) != len(got) || len(reqs) != len(got) {
		t.Errorf("%d entries, %d distinct IDs, %d distinct requests; want %d of each", len(got), len(ids), len(reqs), writers*each*size)
	}
}
