package storetest

import (
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

var pendingSAMLTests = []suiteTest{
	{"SingleUse", testPendingSAMLSingleUse},
	{"UnknownOrExpired", testPendingSAMLUnknownOrExpired},
	{"DuplicateID", testPendingSAMLDuplicate},
	{"ConcurrentConsumeOneWinner", testPendingSAMLConcurrent},
}

func newPendingSAML(id string, now time.Time) *store.PendingSAMLRequest {
	return &store.PendingSAMLRequest{
		ID: id, AppID: "app-saml", RequestID: "_a1b2c3", RelayState: `https://sp.example.com/after?a=1&b=<"'>`,
		SPEntityID: "https://sp.example.com/metadata", ACSURL: "https://sp.example.com/acs",
		CreatedAt: now, ExpiresAt: now.Add(15 * time.Minute),
	}
}

func testPendingSAMLSingleUse(t *testing.T, s store.Store, clock *Clock) {
	ctx := t.Context()
	in := newPendingSAML("pending-1", clock.Now())
	requireAllFieldsSet(t, in, "PendingSAMLRequest.UsedAt")
	ok(t, "CreatePendingSAMLRequest", s.CreatePendingSAMLRequest(ctx, in))

	clock.Advance(time.Second)
	got, err := s.ConsumePendingSAMLRequest(ctx, "pending-1")
	ok(t, "ConsumePendingSAMLRequest", err)
	want := *in
	want.CreatedAt, want.ExpiresAt, want.UsedAt = ts(in.CreatedAt), ts(in.ExpiresAt), ts(clock.Now())
	equal(t, "consumed request", *got, want)

	_, err = s.ConsumePendingSAMLRequest(ctx, "pending-1")
	isErr(t, "second ConsumePendingSAMLRequest", err, store.ErrConflict)
}

func testPendingSAMLUnknownOrExpired(t *testing.T, s store.Store, clock *Clock) {
	ctx := t.Context()
	_, err := s.ConsumePendingSAMLRequest(ctx, "unknown")
	isErr(t, "ConsumePendingSAMLRequest(unknown)", err, store.ErrNotFound)

	// A zero CreatedAt means now.
	in := newPendingSAML("pending-1", clock.Now())
	in.CreatedAt = time.Time{}
	ok(t, "CreatePendingSAMLRequest", s.CreatePendingSAMLRequest(ctx, in))
	ok(t, "CreatePendingSAMLRequest", s.CreatePendingSAMLRequest(ctx, newPendingSAML("pending-2", clock.Now())))
	clock.Advance(15*time.Minute - time.Second)
	got, err := s.ConsumePendingSAMLRequest(ctx, "pending-1")
	ok(t, "ConsumePendingSAMLRequest before expiry", err)
	if !got.CreatedAt.Equal(ts(clock.Now().Add(-15*time.Minute + time.Second))) {
		t.Errorf("CreatedAt = %v, want the store's now at creation", got.CreatedAt)
	}
	clock.Advance(time.Second)
	_, err = s.ConsumePendingSAMLRequest(ctx, "pending-2")
	isErr(t, "ConsumePendingSAMLRequest at expiry", err, store.ErrNotFound)
	// A used request that expires is not found either.
	_, err = s.ConsumePendingSAMLRequest(ctx, "pending-1")
	isErr(t, "ConsumePendingSAMLRequest(used, expired)", err, store.ErrNotFound)
}

func testPendingSAMLDuplicate(t *testing.T, s store.Store, clock *Clock) {
	ctx := t.Context()
	ok(t, "CreatePendingSAMLRequest", s.CreatePendingSAMLRequest(ctx, newPendingSAML("pending-1", clock.Now())))
	isErr(t, "CreatePendingSAMLRequest(same ID)", s.CreatePendingSAMLRequest(ctx, newPendingSAML("pending-1", clock.Now())), store.ErrAlreadyExists)
}

func testPendingSAMLConcurrent(t *testing.T, s store.Store, clock *Clock) {
	ctx := t.Context()
	ok(t, "CreatePendingSAMLRequest", s.CreatePendingSAMLRequest(ctx, newPendingSAML("pending-1", clock.Now())))
	errs := race(func(int) error {
		_, err := s.ConsumePendingSAMLRequest(ctx, "pending-1")
		return err
	})
	if wins := countErrs(t, "ConsumePendingSAMLRequest", errs, store.ErrConflict); wins != 1 {
		t.Errorf("%d of %d concurrent ConsumePendingSAMLRequest calls won, want exactly 1", wins, goroutines)
	}
}
