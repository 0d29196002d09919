package storetest

import (
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// gatewayAppReviewTests cover the optional GatewayAppReviews capability; a backend without it
// skips them.
var gatewayAppReviewTests = []suiteTest{
	{"RoundTrip", testAppReviewsRoundTrip},
	{"AllOrNothing", testAppReviewsAllOrNothing},
	{"Concurrent", testAppReviewsConcurrent},
	{"Watch", testAppReviewsWatch},
}

func testAppReviewsRoundTrip(t *testing.T, s store.Store, clock *Clock) {
	g := capability[store.GatewayAppReviews](t, s)
	ctx := t.Context()
	list, err := g.ListGatewayAppReviews(ctx)
	ok(t, "ListGatewayAppReviews (empty)", err)
	if len(list) != 0 {
		t.Fatalf("new store has reviews %+v", list)
	}
	at := clock.Now().Add(-time.Hour)
	ok(t, "SetGatewayAppReviews", g.SetGatewayAppReviews(ctx, []store.GatewayAppReview{
		{AppID: 1199, Status: store.AppReviewApproved, UpdatedBy: "alice"},
		{AppID: 7, Status: store.AppReviewInReview, UpdatedAt: at, UpdatedBy: "cli"},
		{AppID: 42, Status: store.AppReviewUnreviewed, UpdatedBy: "bob"}, // nothing to delete
	}))
	list, err = g.ListGatewayAppReviews(ctx)
	ok(t, "ListGatewayAppReviews", err)
	equal(t, "ListGatewayAppReviews", list, []store.GatewayAppReview{
		{AppID: 7, Status: store.AppReviewInReview, UpdatedAt: ts(at), UpdatedBy: "cli"},
		{AppID: 1199, Status: store.AppReviewApproved, UpdatedAt: ts(clock.Now()), UpdatedBy: "alice"},
	})

	// Changing a status replaces the row; setting the same status again changes nothing (not
	// even who set it, nor when); unreviewed deletes it.
	clock.Advance(time.Minute)
	ok(t, "SetGatewayAppReviews (change)", g.SetGatewayAppReviews(ctx, []store.GatewayAppReview{
		{AppID: 1199, Status: store.AppReviewUnapproved, UpdatedBy: "carol"},
		{AppID: 7, Status: store.AppReviewInReview, UpdatedBy: "dave"},
	}))
	ok(t, "SetGatewayAppReviews (delete)", g.SetGatewayAppReviews(ctx, []store.GatewayAppReview{
		{AppID: 7, Status: store.AppReviewUnreviewed, UpdatedBy: "erin"},
	}))
	list, err = g.ListGatewayAppReviews(ctx)
	ok(t, "ListGatewayAppReviews", err)
	equal(t, "ListGatewayAppReviews after changes", list, []store.GatewayAppReview{
		{AppID: 1199, Status: store.AppReviewUnapproved, UpdatedAt: ts(clock.Now()), UpdatedBy: "carol"},
	})
	if list[0].UpdatedAt.Location() != time.UTC {
		t.Errorf("UpdatedAt in %v, want UTC", list[0].UpdatedAt.Location())
	}
	ok(t, "SetGatewayAppReviews (none)", g.SetGatewayAppReviews(ctx, nil))
}

func testAppReviewsAllOrNothing(t *testing.T, s store.Store, clock *Clock) {
	g := capability[store.GatewayAppReviews](t, s)
	ctx := t.Context()
	ok(t, "SetGatewayAppReviews", g.SetGatewayAppReviews(ctx, []store.GatewayAppReview{{AppID: 5, Status: store.AppReviewApproved}}))
	for name, batch := range map[string][]store.GatewayAppReview{
		"unknown status": {{AppID: 6, Status: store.AppReviewApproved}, {AppID: 5, Status: "Approved"}},
		"zero id":        {{AppID: 6, Status: store.AppReviewApproved}, {AppID: 0, Status: store.AppReviewApproved}},
		"negative id":    {{AppID: -3, Status: store.AppReviewUnapproved}},
		"same app twice": {{AppID: 6, Status: store.AppReviewApproved}, {AppID: 6, Status: store.AppReviewUnapproved}},
		"empty status":   {{AppID: 5, Status: ""}},
	} {
		if err := g.SetGatewayAppReviews(ctx, batch); err == nil {
			t.Errorf("%s: SetGatewayAppReviews succeeded", name)
		}
	}
	list, err := g.ListGatewayAppReviews(ctx)
	ok(t, "ListGatewayAppReviews", err)
	equal(t, "reviews after refused batches", list, []store.GatewayAppReview{{AppID: 5, Status: store.AppReviewApproved, UpdatedAt: ts(clock.Now())}})
}

// testAppReviewsConcurrent: writers of overlapping batches never leave a review that no single
// batch wrote.
func testAppReviewsConcurrent(t *testing.T, s store.Store, clock *Clock) {
	g := capability[store.GatewayAppReviews](t, s)
	ctx := t.Context()
	statuses := []string{store.AppReviewApproved, store.AppReviewUnapproved, store.AppReviewInReview, store.AppReviewUnreviewed}
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st := statuses[w%len(statuses)]
			for range 5 {
				if err := g.SetGatewayAppReviews(ctx, []store.GatewayAppReview{{AppID: 1, Status: st}, {AppID: 2, Status: st}}); err != nil {
					t.Errorf("writer %d: %v", w, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	list, err := g.ListGatewayAppReviews(ctx)
	ok(t, "ListGatewayAppReviews", err)
	switch {
	case len(list) == 0: // the last batch was unreviewed
	case len(list) == 2 && list[0].Status == list[1].Status:
	default:
		t.Fatalf("reviews after concurrent batches: %+v; want both applications with one batch's status", list)
	}
}

func testAppReviewsWatch(t *testing.T, s store.Store, clock *Clock) {
	g := capability[store.GatewayAppReviews](t, s)
	ctx := t.Context()
	ch := s.Watch(ctx)
	ok(t, "SetGatewayAppReviews", g.SetGatewayAppReviews(ctx, []store.GatewayAppReview{{AppID: 9, Status: store.AppReviewUnapproved}}))
	waitFor(t, ch, "set", func(c store.Change) bool { return c.Config })
	ok(t, "SetGatewayAppReviews", g.SetGatewayAppReviews(ctx, []store.GatewayAppReview{{AppID: 9, Status: store.AppReviewUnreviewed}}))
	waitFor(t, ch, "delete", func(c store.Change) bool { return c.Config })
}
