package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// promptLogTests cover the optional PromptLogs capability; a backend without it skips them.
var promptLogTests = []suiteTest{
	{"RoundTrip", testPromptLogsRoundTrip},
	{"Filters", testPromptLogsFilters},
	{"Paging", testPromptLogsPaging},
	{"Invalid", testPromptLogsInvalid},
	{"Retention", testPromptLogsRetention},
	{"Concurrent", testPromptLogsConcurrent},
}

// fullPromptLog has every field set but the ID.
func fullPromptLog(at time.Time) store.PromptLog {
	return store.PromptLog{
		Time: at, RequestID: "req-1", UserEmail: "alice@example.com", UserGroups: []string{"contractors", "eng"},
		DeviceID: "dev-1", SrcIP: "192.0.2.7", AppID: "1199", AppName: "ChatGPT", AppType: "Artificial Intelligence",
		AppStatus: "approved", Control: "SendPrompt", ConversationID: "conv-1", Model: "gpt-4o",
		PolicyID: "rule-7", PolicyName: "Block jailbreaks", PolicyAction: "block",
		DLPProfiles: []string{"AI Prompt: AI Security"}, DLPEntries: []string{"Intent: Jailbreak"}, DLPConfidence: "high",
		Topics:  []store.PromptLogTopic{{ID: "intent_jailbreak", Confidence: "high"}, {ID: "content_pii", Confidence: "low"}},
		BytesUp: 1234, PayloadEnc: []byte{2, 0, 1, 2, 3, 0xff},
	}
}

func testPromptLogsRoundTrip(t *testing.T, s store.Store, clock *Clock) {
	p := capability[store.PromptLogs](t, s)
	ctx := t.Context()
	full := fullPromptLog(clock.Now())
	bare := store.PromptLog{Time: clock.Now().Add(time.Second), PayloadEnc: []byte{2}}
	batch := []store.PromptLog{full, bare}
	ok(t, "AppendPromptLogs", p.AppendPromptLogs(ctx, batch))
	if batch[0].ID <= 0 || batch[1].ID <= batch[0].ID {
		t.Fatalf("IDs %d, %d: want positive and increasing in batch order", batch[0].ID, batch[1].ID)
	}
	if !batch[0].Time.Equal(ts(full.Time)) || batch[0].Time.Location() != time.UTC {
		t.Errorf("Time after append = %v, want %v in UTC", batch[0].Time, ts(full.Time))
	}
	want := full
	want.ID, want.Time = batch[0].ID, ts(full.Time)
	requireAllFieldsSet(t, want)
	wantBare := store.PromptLog{ID: batch[1].ID, Time: ts(bare.Time), PayloadEnc: []byte{2}, UserGroups: []string{},
		DLPProfiles: []string{}, DLPEntries: []string{}, Topics: []store.PromptLogTopic{}}

	got, err := p.ListPromptLogs(ctx, store.PromptLogQuery{})
	ok(t, "ListPromptLogs", err)
	equal(t, "entries (newest first)", got, []store.PromptLog{wantBare, want})
	ok(t, "empty batch", p.AppendPromptLogs(ctx, nil))

	// IDs grow across batches and are never reused, even after every entry is deleted.
	n, err := p.DeletePromptLogsBefore(ctx, clock.Now().Add(time.Hour))
	ok(t, "DeletePromptLogsBefore", err)
	if n != 2 {
		t.Errorf("deleted %d, want 2", n)
	}
	again := []store.PromptLog{fullPromptLog(clock.Now())}
	ok(t, "AppendPromptLogs after delete", p.AppendPromptLogs(ctx, again))
	if again[0].ID <= batch[1].ID {
		t.Errorf("ID after deleting everything = %d, want above %d (IDs are cursors, never reused)", again[0].ID, batch[1].ID)
	}
}

func testPromptLogsFilters(t *testing.T, s store.Store, clock *Clock) {
	p := capability[store.PromptLogs](t, s)
	ctx := t.Context()
	t0 := clock.Now()
	mk := func(min int, conv, user, appID, appName string) store.PromptLog {
		l := store.PromptLog{Time: t0.Add(time.Duration(min) * time.Minute), ConversationID: conv, UserEmail: user,
			AppID: appID, AppName: appName, PayloadEnc: []byte{2, byte(min)}}
		return l
	}
	batch := []store.PromptLog{
		mk(0, "c1", "alice@example.com", "1199", "ChatGPT"),
		mk(1, "c2", "bob@example.com", "1199", "ChatGPT"),
		mk(2, "c1", "alice@example.com", "1199", "ChatGPT"),
		mk(3, "c3", "alice@example.com", "2000", "Claude"),
		mk(4, "", "", "llm-internal", "Internal LLM"),
	}
	ok(t, "AppendPromptLogs", p.AppendPromptLogs(ctx, batch))
	ids := func(ls []store.PromptLog) []int64 {
		out := []int64{}
		for _, l := range ls {
			out = append(out, l.ID)
		}
		return out
	}
	id := func(i int) int64 { return batch[i].ID }
	for _, tc := range []struct {
		name string
		q    store.PromptLogQuery
		want []int64
	}{
		{"all", store.PromptLogQuery{}, []int64{id(4), id(3), id(2), id(1), id(0)}},
		{"conversation", store.PromptLogQuery{ConversationID: "c1"}, []int64{id(2), id(0)}},
		{"user", store.PromptLogQuery{UserEmail: "alice@example.com"}, []int64{id(3), id(2), id(0)}},
		{"user, other case", store.PromptLogQuery{UserEmail: "Alice@example.com"}, []int64{}},
		{"app id", store.PromptLogQuery{App: "1199"}, []int64{id(2), id(1), id(0)}},
		{"app name", store.PromptLogQuery{App: "Claude"}, []int64{id(3)}},
		{"access app id", store.PromptLogQuery{App: "llm-internal"}, []int64{id(4)}},
		{"since (inclusive)", store.PromptLogQuery{Since: t0.Add(3 * time.Minute)}, []int64{id(4), id(3)}},
		{"until (exclusive)", store.PromptLogQuery{Until: t0.Add(2 * time.Minute)}, []int64{id(1), id(0)}},
		{"window and user", store.PromptLogQuery{Since: t0.Add(time.Minute), Until: t0.Add(4 * time.Minute), UserEmail: "alice@example.com"},
			[]int64{id(3), id(2)}},
		{"conversation and app", store.PromptLogQuery{ConversationID: "c1", App: "Claude"}, []int64{}},
		{"unknown conversation", store.PromptLogQuery{ConversationID: "nope"}, []int64{}},
	} {
		got, err := p.ListPromptLogs(ctx, tc.q)
		ok(t, tc.name, err)
		equal(t, tc.name, ids(got), tc.want)
	}
}

func testPromptLogsPaging(t *testing.T, s store.Store, clock *Clock) {
	p := capability[store.PromptLogs](t, s)
	ctx := t.Context()
	batch := make([]store.PromptLog, store.MaxPromptLogLimit+1)
	for i := range batch {
		batch[i] = store.PromptLog{Time: clock.Now().Add(time.Duration(i) * time.Millisecond), ConversationID: fmt.Sprint("c", i%2),
			PayloadEnc: []byte{2, byte(i)}}
	}
	ok(t, "AppendPromptLogs", p.AppendPromptLogs(ctx, batch))

	got, err := p.ListPromptLogs(ctx, store.PromptLogQuery{})
	ok(t, "ListPromptLogs (default limit)", err)
	if len(got) != store.DefaultPromptLogLimit || got[0].ID != batch[len(batch)-1].ID {
		t.Errorf("default page: %d entries from ID %d, want %d from the newest", len(got), got[0].ID, store.DefaultPromptLogLimit)
	}
	got, err = p.ListPromptLogs(ctx, store.PromptLogQuery{Limit: 5000})
	ok(t, "ListPromptLogs (limit above the maximum)", err)
	if len(got) != store.MaxPromptLogLimit {
		t.Errorf("limit 5000 returned %d entries, want the maximum %d", len(got), store.MaxPromptLogLimit)
	}

	// Walking one conversation page by page yields each of its entries once, newest first.
	var walked []int64
	cursor := int64(0)
	for pages := 0; ; pages++ {
		if pages > 200 {
			t.Fatal("paging does not end")
		}
		page, err := p.ListPromptLogs(ctx, store.PromptLogQuery{ConversationID: "c1", Limit: 7, Before: cursor})
		ok(t, "ListPromptLogs page", err)
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
	equal(t, "conversation c1, paged", walked, want)
}

func testPromptLogsInvalid(t *testing.T, s store.Store, clock *Clock) {
	p := capability[store.PromptLogs](t, s)
	ctx := t.Context()
	good := store.PromptLog{Time: clock.Now(), PayloadEnc: []byte{2}}
	for name, bad := range map[string]store.PromptLog{
		"zero time":      {PayloadEnc: []byte{2}},
		"no payload":     {Time: clock.Now()},
		"negative bytes": {Time: clock.Now(), PayloadEnc: []byte{2}, BytesUp: -1},
	} {
		if err := p.AppendPromptLogs(ctx, []store.PromptLog{good, bad}); err == nil {
			t.Errorf("%s: AppendPromptLogs succeeded", name)
		}
	}
	got, err := p.ListPromptLogs(ctx, store.PromptLogQuery{})
	ok(t, "ListPromptLogs", err)
	if len(got) != 0 {
		t.Errorf("a refused batch left %d entries behind", len(got))
	}
}

func testPromptLogsRetention(t *testing.T, s store.Store, clock *Clock) {
	p := capability[store.PromptLogs](t, s)
	ctx := t.Context()
	t0 := clock.Now()
	var batch []store.PromptLog
	for i := range 4 {
		batch = append(batch, store.PromptLog{Time: t0.Add(time.Duration(i) * time.Hour), PayloadEnc: []byte{2}})
	}
	ok(t, "AppendPromptLogs", p.AppendPromptLogs(ctx, batch))
	n, err := p.DeletePromptLogsBefore(ctx, t0.Add(2*time.Hour))
	ok(t, "DeletePromptLogsBefore", err)
	if n != 2 {
		t.Errorf("deleted %d entries, want 2 (the ones before, not the one at the boundary)", n)
	}
	got, err := p.ListPromptLogs(ctx, store.PromptLogQuery{})
	ok(t, "ListPromptLogs", err)
	if len(got) != 2 || got[1].ID != batch[2].ID {
		t.Errorf("after retention: %+v", got)
	}
	n, err = p.DeletePromptLogsBefore(ctx, t0)
	ok(t, "DeletePromptLogsBefore (nothing)", err)
	if n != 0 {
		t.Errorf("deleted %d entries before the first", n)
	}
}

// testPromptLogsConcurrent: batches appended at once are all stored, with distinct IDs.
func testPromptLogsConcurrent(t *testing.T, s store.Store, clock *Clock) {
	p := capability[store.PromptLogs](t, s)
	ctx := t.Context()
	const writers, each, size = 8, 5, 3
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				b := make([]store.PromptLog, size)
				for j := range b {
					b[j] = store.PromptLog{Time: clock.Now(), RequestID: fmt.Sprintf("w%d-%d-%d", w, i, j), PayloadEnc: []byte{2}}
				}
				errs <- p.AppendPromptLogs(ctx, b)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		ok(t, "concurrent AppendPromptLogs", err)
	}
	got, err := p.ListPromptLogs(ctx, store.PromptLogQuery{Limit: store.MaxPromptLogLimit})
	ok(t, "ListPromptLogs", err)
	ids, reqs := map[int64]bool{}, map[string]bool{}
	for _, l := range got {
		ids[l.ID], reqs[l.RequestID] = true, true
	}
	if len(got) != writers*each*size || len(ids) != len(got) || len(reqs) != len(got) {
		t.Errorf("%d entries, %d distinct IDs, %d distinct requests; want %d of each", len(got), len(ids), len(reqs), writers*each*size)
	}
}
