package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// gatewayCATests cover the optional GatewayCAs capability; a backend without it skips them.
var gatewayCATests = []suiteTest{
	{"RoundTrip", testGatewayCARoundTrip},
	{"Lifecycle", testGatewayCALifecycle},
	{"AvailableLimit", testGatewayCALimit},
	{"Expired", testGatewayCAExpired},
	{"ConcurrentActivation", testGatewayCAConcurrentActivation},
	{"Watch", testGatewayCAWatch},
}

func newGatewayCA(id string, now time.Time) *store.GatewayCA {
	return &store.GatewayCA{
		ID:                  id,
		Fingerprint:         fmt.Sprintf("%064x", len(id)),
		CertificatePEM:      "-----BEGIN CERTIFICATE-----\n" + id + "\n-----END CERTIFICATE-----\n",
		PrivateKeyEncrypted: store.SealedKey("sealed-" + id),
		CreatedAt:           now,
		ExpiresAt:           now.Add(5 * 365 * 24 * time.Hour),
	}
}

func gatewayCAStates(t *testing.T, g store.GatewayCAs) map[string]string {
	t.Helper()
	list, err := g.ListGatewayCAs(t.Context())
	ok(t, "ListGatewayCAs", err)
	out := map[string]string{}
	for _, c := range list {
		out[c.ID] = c.State
	}
	return out
}

func testGatewayCARoundTrip(t *testing.T, s store.Store, clock *Clock) {
	g := capability[store.GatewayCAs](t, s)
	ctx := t.Context()
	c := newGatewayCA("ca-1", clock.Now())
	ok(t, "CreateGatewayCA", g.CreateGatewayCA(ctx, c))
	if c.State != store.GatewayCAInactive || !c.UpdatedAt.Equal(c.CreatedAt) {
		t.Fatalf("created CA has state %q, updated %v (created %v); want inactive, equal times", c.State, c.UpdatedAt, c.CreatedAt)
	}
	requireAllFieldsSet(t, *c)
	isErr(t, "same ID", g.CreateGatewayCA(ctx, newGatewayCA("ca-1", clock.Now())), store.ErrAlreadyExists)
	inUse := newGatewayCA("ca-x", clock.Now())
	inUse.State = store.GatewayCAInUse
	if err := g.CreateGatewayCA(ctx, inUse); err == nil {
		t.Fatal("CreateGatewayCA in state in_use succeeded; a new CA must start inactive")
	}

	got, err := g.GetGatewayCA(ctx, "ca-1")
	ok(t, "GetGatewayCA", err)
	want := *c
	want.CreatedAt, want.ExpiresAt, want.UpdatedAt = ts(c.CreatedAt), ts(c.ExpiresAt), ts(c.UpdatedAt)
	equal(t, "GetGatewayCA", *got, want)
	_, err = g.GetGatewayCA(ctx, "nope")
	isErr(t, "unknown CA", err, store.ErrNotFound)

	clock.Advance(time.Second)
	zero := newGatewayCA("ca-2", time.Time{})
	ok(t, "CreateGatewayCA (zero CreatedAt)", g.CreateGatewayCA(ctx, zero))
	if !zero.CreatedAt.Equal(ts(clock.Now())) || zero.CreatedAt.Location() != time.UTC {
		t.Errorf("zero CreatedAt stored as %v, want now (%v) in UTC", zero.CreatedAt, ts(clock.Now()))
	}
	list, err := g.ListGatewayCAs(ctx)
	ok(t, "ListGatewayCAs", err)
	if len(list) != 2 || list[0].ID != "ca-2" || list[1].ID != "ca-1" {
		t.Fatalf("ListGatewayCAs = %+v, want ca-2, ca-1 (newest first)", list)
	}
	equal(t, "ListGatewayCAs[1]", list[1], want)
}

func testGatewayCALifecycle(t *testing.T, s store.Store, clock *Clock) {
	g := capability[store.GatewayCAs](t, s)
	ctx := t.Context()
	for _, id := range []string{"a", "b", "c"} {
		ok(t, "CreateGatewayCA", g.CreateGatewayCA(ctx, newGatewayCA(id, clock.Now())))
	}
	_, err := g.SetGatewayCAState(ctx, "nope", store.GatewayCAInUse)
	isErr(t, "unknown CA", err, store.ErrNotFound)
	_, err = g.SetGatewayCAState(ctx, "a", "pending")
	if err == nil || errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrConflict) {
		t.Fatalf("unknown state: got %v, want a plain error", err)
	}

	clock.Advance(time.Minute)
	got, err := g.SetGatewayCAState(ctx, "a", store.GatewayCAAvailable)
	ok(t, "a available", err)
	if got.State != store.GatewayCAAvailable || !got.UpdatedAt.Equal(ts(clock.Now())) {
		t.Errorf("a = %q updated %v, want available at %v", got.State, got.UpdatedAt, ts(clock.Now()))
	}
	clock.Advance(time.Minute)
	got, err = g.SetGatewayCAState(ctx, "a", store.GatewayCAInUse)
	ok(t, "a in use", err)
	if got.State != store.GatewayCAInUse {
		t.Errorf("a = %q, want in_use", got.State)
	}
	equal(t, "states", gatewayCAStates(t, g), map[string]string{"a": "in_use", "b": "inactive", "c": "inactive"})

	// The in-use CA cannot leave that state except by another taking its place.
	_, err = g.SetGatewayCAState(ctx, "a", store.GatewayCAAvailable)
	isErr(t, "in-use CA made available", err, store.ErrConflict)
	_, err = g.SetGatewayCAState(ctx, "a", store.GatewayCAInactive)
	isErr(t, "in-use CA deactivated", err, store.ErrConflict)

	// Inactive straight to in use demotes the previous one to available, in one step.
	clock.Advance(time.Minute)
	_, err = g.SetGatewayCAState(ctx, "b", store.GatewayCAInUse)
	ok(t, "b in use", err)
	equal(t, "states after b", gatewayCAStates(t, g), map[string]string{"a": "available", "b": "in_use", "c": "inactive"})
	a, err := g.GetGatewayCA(ctx, "a")
	ok(t, "GetGatewayCA a", err)
	if !a.UpdatedAt.Equal(ts(clock.Now())) {
		t.Errorf("demoted a updated %v, want %v", a.UpdatedAt, ts(clock.Now()))
	}

	// Same state again: nothing changes.
	clock.Advance(time.Minute)
	again, err := g.SetGatewayCAState(ctx, "b", store.GatewayCAInUse)
	ok(t, "b in use again", err)
	if again.UpdatedAt.Equal(ts(clock.Now())) {
		t.Error("setting the same state moved UpdatedAt")
	}
	_, err = g.SetGatewayCAState(ctx, "a", store.GatewayCAInactive)
	ok(t, "a inactive", err)
	_, err = g.SetGatewayCAState(ctx, "a", store.GatewayCAInUse)
	ok(t, "a in use again", err)
	equal(t, "final states", gatewayCAStates(t, g), map[string]string{"a": "in_use", "b": "available", "c": "inactive"})
}

func testGatewayCALimit(t *testing.T, s store.Store, clock *Clock) {
	g := capability[store.GatewayCAs](t, s)
	ctx := t.Context()
	for i := range store.MaxAvailableGatewayCAs + 1 {
		ok(t, "CreateGatewayCA", g.CreateGatewayCA(ctx, newGatewayCA(fmt.Sprintf("ca-%02d", i), clock.Now())))
	}
	for i := range store.MaxAvailableGatewayCAs {
		state := store.GatewayCAAvailable
		if i == 0 {
			state = store.GatewayCAInUse
		}
		_, err := g.SetGatewayCAState(ctx, fmt.Sprintf("ca-%02d", i), state)
		ok(t, "SetGatewayCAState", err)
	}
	last := fmt.Sprintf("ca-%02d", store.MaxAvailableGatewayCAs)
	_, err := g.SetGatewayCAState(ctx, last, store.GatewayCAAvailable)
	isErr(t, "one available too many", err, store.ErrConflict)
	_, err = g.SetGatewayCAState(ctx, last, store.GatewayCAInUse)
	isErr(t, "one in use too many", err, store.ErrConflict)
	// An available CA may still become the one in use: the count does not change.
	_, err = g.SetGatewayCAState(ctx, "ca-05", store.GatewayCAInUse)
	ok(t, "available to in use at the limit", err)
	_, err = g.SetGatewayCAState(ctx, "ca-01", store.GatewayCAInactive)
	ok(t, "deactivate one", err)
	_, err = g.SetGatewayCAState(ctx, last, store.GatewayCAAvailable)
	ok(t, "available after deactivating one", err)
}

func testGatewayCAExpired(t *testing.T, s store.Store, clock *Clock) {
	g := capability[store.GatewayCAs](t, s)
	ctx := t.Context()
	c := newGatewayCA("old", clock.Now())
	c.ExpiresAt = clock.Now().Add(time.Hour)
	ok(t, "CreateGatewayCA", g.CreateGatewayCA(ctx, c))
	clock.Advance(time.Hour)
	_, err := g.SetGatewayCAState(ctx, "old", store.GatewayCAAvailable)
	isErr(t, "expired made available", err, store.ErrConflict)
	_, err = g.SetGatewayCAState(ctx, "old", store.GatewayCAInUse)
	isErr(t, "expired made in use", err, store.ErrConflict)
	_, err = g.SetGatewayCAState(ctx, "old", store.GatewayCAInactive)
	ok(t, "expired stays inactive", err)
}

func testGatewayCAConcurrentActivation(t *testing.T, s store.Store, clock *Clock) {
	g := capability[store.GatewayCAs](t, s)
	ctx := t.Context()
	for i := range goroutines {
		ok(t, "CreateGatewayCA", g.CreateGatewayCA(ctx, newGatewayCA(fmt.Sprintf("ca-%02d", i), clock.Now())))
	}
	// Every activation commits (none may be lost or refused), one after another; the
	// MaxAvailableGatewayCAs limit refuses the ones beyond it.
	errs := race(func(i int) error {
		_, err := g.SetGatewayCAState(ctx, fmt.Sprintf("ca-%02d", i), store.GatewayCAInUse)
		return err
	})
	wins := countErrs(t, "SetGatewayCAState in_use", errs, store.ErrConflict)
	if wins != store.MaxAvailableGatewayCAs {
		t.Errorf("%d activations succeeded, want %d (the limit)", wins, store.MaxAvailableGatewayCAs)
	}
	count := map[string]int{}
	for _, st := range gatewayCAStates(t, g) {
		count[st]++
	}
	equal(t, "states", count, map[string]int{
		store.GatewayCAInUse:     1,
		store.GatewayCAAvailable: store.MaxAvailableGatewayCAs - 1,
		store.GatewayCAInactive:  goroutines - store.MaxAvailableGatewayCAs,
	})
}

func testGatewayCAWatch(t *testing.T, s store.Store, clock *Clock) {
	g := capability[store.GatewayCAs](t, s)
	ctx := t.Context()
	ch := s.Watch(ctx)
	ok(t, "CreateGatewayCA", g.CreateGatewayCA(ctx, newGatewayCA("w", clock.Now())))
	waitFor(t, ch, "create", func(c store.Change) bool { return c.Keys })
	_, err := g.SetGatewayCAState(ctx, "w", store.GatewayCAInUse)
	ok(t, "SetGatewayCAState", err)
	waitFor(t, ch, "activate", func(c store.Change) bool { return c.Keys })
}
