package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// gatewayDeviceTests cover the optional GatewayDevices capability; a backend without it skips
// them.
var gatewayDeviceTests = []suiteTest{
	{"RoundTrip", testGatewayDeviceRoundTrip},
	{"Revoke", testGatewayDeviceRevoke},
	{"RevokeAllOfUser", testGatewayDeviceRevokeUser},
	{"Touch", testGatewayDeviceTouch},
	{"SCIMDeprovision", testGatewayDeviceSCIMDeprovision},
	{"ConcurrentRevoke", testGatewayDeviceConcurrentRevoke},
}

func newGatewayDevice(id, userID string, now time.Time) *store.GatewayDevice {
	return &store.GatewayDevice{ID: id, UserID: userID, Name: "laptop " + id, SecretSHA256: fmt.Sprintf("%064x", len(id)), CreatedAt: now}
}

func deviceUser(t *testing.T, s store.Store, email string) *store.User {
	t.Helper()
	u := &store.User{Email: email, Status: store.UserActive}
	ok(t, "CreateUser", s.CreateUser(t.Context(), u))
	return u
}

func testGatewayDeviceRoundTrip(t *testing.T, s store.Store, clock *Clock) {
	g := capability[store.GatewayDevices](t, s)
	ctx := t.Context()
	alice, bob := deviceUser(t, s, "alice@example.com"), deviceUser(t, s, "bob@example.com")

	d := newGatewayDevice("dev-1", alice.ID, clock.Now())
	d.LastSeenAt, d.RevokedAt = clock.Now(), clock.Now() // ignored: a new device is unseen and active
	ok(t, "CreateGatewayDevice", g.CreateGatewayDevice(ctx, d))
	if !d.CreatedAt.Equal(ts(clock.Now())) || d.CreatedAt.Location() != time.UTC || !d.LastSeenAt.IsZero() || d.Revoked() {
		t.Fatalf("created device %+v: want CreatedAt %v in UTC, never seen, not revoked", d, ts(clock.Now()))
	}
	isErr(t, "same ID", g.CreateGatewayDevice(ctx, newGatewayDevice("dev-1", bob.ID, clock.Now())), store.ErrAlreadyExists)
	isErr(t, "unknown user", g.CreateGatewayDevice(ctx, newGatewayDevice("dev-x", "no-such-user", clock.Now())), store.ErrNotFound)
	if _, err := g.GetGatewayDevice(ctx, "dev-x"); err == nil {
		t.Fatal("a device of an unknown user was stored")
	}

	got, err := g.GetGatewayDevice(ctx, "dev-1")
	ok(t, "GetGatewayDevice", err)
	want := *d
	equal(t, "GetGatewayDevice", *got, want)
	_, err = g.GetGatewayDevice(ctx, "nope")
	isErr(t, "unknown device", err, store.ErrNotFound)

	clock.Advance(time.Second)
	zero := newGatewayDevice("dev-0", bob.ID, time.Time{})
	ok(t, "CreateGatewayDevice (zero CreatedAt)", g.CreateGatewayDevice(ctx, zero))
	if !zero.CreatedAt.Equal(ts(clock.Now())) {
		t.Errorf("zero CreatedAt stored as %v, want now (%v)", zero.CreatedAt, ts(clock.Now()))
	}
	clock.Advance(time.Second)
	ok(t, "CreateGatewayDevice", g.CreateGatewayDevice(ctx, newGatewayDevice("dev-2", alice.ID, clock.Now())))

	all, err := g.ListGatewayDevices(ctx, "")
	ok(t, "ListGatewayDevices all", err)
	if len(all) != 3 || all[0].ID != "dev-1" || all[1].ID != "dev-0" || all[2].ID != "dev-2" {
		t.Fatalf("ListGatewayDevices(all) = %+v, want dev-1, dev-0, dev-2 (creation order)", all)
	}
	equal(t, "ListGatewayDevices[0]", all[0], want)
	mine, err := g.ListGatewayDevices(ctx, alice.ID)
	ok(t, "ListGatewayDevices alice", err)
	if len(mine) != 2 || mine[0].ID != "dev-1" || mine[1].ID != "dev-2" {
		t.Fatalf("ListGatewayDevices(alice) = %+v, want dev-1, dev-2", mine)
	}
	none, err := g.ListGatewayDevices(ctx, "nobody")
	ok(t, "ListGatewayDevices unknown user", err)
	if len(none) != 0 {
		t.Fatalf("ListGatewayDevices(unknown) = %+v, want none", none)
	}

	// Every field survives the round trip.
	_, err = g.RevokeGatewayDevice(ctx, "dev-1")
	ok(t, "RevokeGatewayDevice", err)
	ok(t, "TouchGatewayDevices", g.TouchGatewayDevices(ctx, map[string]time.Time{"dev-1": clock.Now()}))
	full, err := g.GetGatewayDevice(ctx, "dev-1")
	ok(t, "GetGatewayDevice", err)
	requireAllFieldsSet(t, *full)
}

func testGatewayDeviceRevoke(t *testing.T, s store.Store, clock *Clock) {
	g := capability[store.GatewayDevices](t, s)
	ctx := t.Context()
	alice := deviceUser(t, s, "alice@example.com")
	ok(t, "CreateGatewayDevice", g.CreateGatewayDevice(ctx, newGatewayDevice("dev-1", alice.ID, clock.Now())))
	ok(t, "CreateGatewayDevice", g.CreateGatewayDevice(ctx, newGatewayDevice("dev-2", alice.ID, clock.Now())))
	ch := s.Watch(ctx)

	clock.Advance(time.Minute)
	first := ts(clock.Now())
	d, err := g.RevokeGatewayDevice(ctx, "dev-1")
	ok(t, "RevokeGatewayDevice", err)
	if !d.Revoked() || !d.RevokedAt.Equal(first) {
		t.Fatalf("revoked device %+v: want RevokedAt %v", d, first)
	}
	waitFor(t, ch, "revoke", func(c store.Change) bool { return c.Revocations })

	clock.Advance(time.Minute)
	again, err := g.RevokeGatewayDevice(ctx, "dev-1")
	ok(t, "RevokeGatewayDevice again", err)
	if !again.RevokedAt.Equal(first) {
		t.Errorf("revoking again moved RevokedAt to %v; the first time (%v) stays", again.RevokedAt, first)
	}
	other, err := g.GetGatewayDevice(ctx, "dev-2")
	ok(t, "GetGatewayDevice", err)
	if other.Revoked() {
		t.Error("revoking dev-1 revoked dev-2")
	}
	_, err = g.RevokeGatewayDevice(ctx, "nope")
	isErr(t, "revoke unknown", err, store.ErrNotFound)
}

func testGatewayDeviceRevokeUser(t *testing.T, s store.Store, clock *Clock) {
	g := capability[store.GatewayDevices](t, s)
	ctx := t.Context()
	alice, bob := deviceUser(t, s, "alice@example.com"), deviceUser(t, s, "bob@example.com")
	for _, id := range []string{"a1", "a2", "a3"} {
		ok(t, "CreateGatewayDevice", g.CreateGatewayDevice(ctx, newGatewayDevice(id, alice.ID, clock.Now())))
	}
	ok(t, "CreateGatewayDevice", g.CreateGatewayDevice(ctx, newGatewayDevice("b1", bob.ID, clock.Now())))
	clock.Advance(time.Second)
	early := ts(clock.Now())
	_, err := g.RevokeGatewayDevice(ctx, "a1")
	ok(t, "RevokeGatewayDevice", err)
	ch := s.Watch(ctx)

	clock.Advance(time.Second)
	n, err := g.RevokeUserGatewayDevices(ctx, alice.ID)
	ok(t, "RevokeUserGatewayDevices", err)
	if n != 2 {
		t.Errorf("RevokeUserGatewayDevices revoked %d, want 2 (a1 was revoked already)", n)
	}
	waitFor(t, ch, "revoke user devices", func(c store.Change) bool { return c.Revocations })
	list, err := g.ListGatewayDevices(ctx, alice.ID)
	ok(t, "ListGatewayDevices", err)
	want := map[string]time.Time{"a1": early, "a2": ts(clock.Now()), "a3": ts(clock.Now())}
	for _, d := range list {
		if !d.RevokedAt.Equal(want[d.ID]) {
			t.Errorf("device %s RevokedAt %v, want %v", d.ID, d.RevokedAt, want[d.ID])
		}
	}
	b, err := g.GetGatewayDevice(ctx, "b1")
	ok(t, "GetGatewayDevice", err)
	if b.Revoked() {
		t.Error("revoking alice's devices revoked bob's")
	}
	n, err = g.RevokeUserGatewayDevices(ctx, alice.ID)
	ok(t, "RevokeUserGatewayDevices again", err)
	if n != 0 {
		t.Errorf("second RevokeUserGatewayDevices revoked %d, want 0", n)
	}
	n, err = g.RevokeUserGatewayDevices(ctx, "nobody")
	if err != nil || n != 0 {
		t.Errorf("RevokeUserGatewayDevices(unknown) = %d, %v; want 0, nil", n, err)
	}
}

func testGatewayDeviceTouch(t *testing.T, s store.Store, clock *Clock) {
	g := capability[store.GatewayDevices](t, s)
	ctx := t.Context()
	alice := deviceUser(t, s, "alice@example.com")
	ok(t, "CreateGatewayDevice", g.CreateGatewayDevice(ctx, newGatewayDevice("d1", alice.ID, clock.Now())))
	ok(t, "CreateGatewayDevice", g.CreateGatewayDevice(ctx, newGatewayDevice("d2", alice.ID, clock.Now())))
	t1, t2 := clock.Now().Add(time.Minute), clock.Now().Add(2*time.Minute)
	ok(t, "TouchGatewayDevices", g.TouchGatewayDevices(ctx, map[string]time.Time{"d1": t2, "d2": t1, "unknown": t2}))
	ok(t, "TouchGatewayDevices (empty)", g.TouchGatewayDevices(ctx, nil))
	// An older time (a batch that arrived late) does not move LastSeenAt back.
	ok(t, "TouchGatewayDevices (older)", g.TouchGatewayDevices(ctx, map[string]time.Time{"d1": t1}))
	for id, want := range map[string]time.Time{"d1": ts(t2), "d2": ts(t1)} {
		d, err := g.GetGatewayDevice(ctx, id)
		ok(t, "GetGatewayDevice", err)
		if !d.LastSeenAt.Equal(want) || d.LastSeenAt.Location() != time.UTC {
			t.Errorf("device %s LastSeenAt %v, want %v", id, d.LastSeenAt, want)
		}
	}
	if _, err := g.GetGatewayDevice(ctx, "unknown"); err == nil {
		t.Error("TouchGatewayDevices created an unknown device")
	}
}

// testGatewayDeviceSCIMDeprovision: an effect with RevokeDevices revokes the registry user's
// devices in the SCIM write's transaction; a failing effect revokes nothing.
func testGatewayDeviceSCIMDeprovision(t *testing.T, s store.Store, clock *Clock) {
	g := capability[store.GatewayDevices](t, s)
	ctx := t.Context()
	_, reg := linkedSCIMUser(t, s, clock, "u1", "erin@example.com")
	ok(t, "CreateGatewayDevice", g.CreateGatewayDevice(ctx, newGatewayDevice("d1", reg.ID, clock.Now())))
	clock.Advance(time.Second)

	_, _, err := s.UpdateSCIMUser(ctx, "idp-a", "u1", func(x *store.SCIMUser) error { x.Active = false; return nil },
		func(c *store.SCIMRegistryChange) error { c.RevokeDevices = true; return fmt.Errorf("boom") })
	if err == nil {
		t.Fatal("UpdateSCIMUser with a failing effect succeeded")
	}
	d, err := g.GetGatewayDevice(ctx, "d1")
	ok(t, "GetGatewayDevice", err)
	if d.Revoked() {
		t.Fatal("a failed SCIM write revoked the device")
	}

	ch := s.Watch(ctx)
	_, _, err = s.UpdateSCIMUser(ctx, "idp-a", "u1", func(x *store.SCIMUser) error { x.Active = false; return nil },
		func(c *store.SCIMRegistryChange) error {
			c.User.Status = store.UserInactive
			c.RevokeDevices = true
			return nil
		})
	ok(t, "UpdateSCIMUser", err)
	waitFor(t, ch, "deprovision", func(c store.Change) bool { return c.Revocations })
	d, err = g.GetGatewayDevice(ctx, "d1")
	ok(t, "GetGatewayDevice", err)
	if !d.RevokedAt.Equal(ts(clock.Now())) {
		t.Errorf("device RevokedAt %v after deprovisioning, want %v", d.RevokedAt, ts(clock.Now()))
	}
}

func testGatewayDeviceConcurrentRevoke(t *testing.T, s store.Store, clock *Clock) {
	g := capability[store.GatewayDevices](t, s)
	ctx := t.Context()
	alice := deviceUser(t, s, "alice@example.com")
	ok(t, "CreateGatewayDevice", g.CreateGatewayDevice(ctx, newGatewayDevice("d1", alice.ID, clock.Now())))
	first := ts(clock.Now())
	errs := race(func(i int) error {
		if i%2 == 0 {
			_, err := g.RevokeGatewayDevice(ctx, "d1")
			return err
		}
		_, err := g.RevokeUserGatewayDevices(ctx, alice.ID)
		return err
	})
	if wins := countErrs(t, "revoke", errs, nil); wins != goroutines {
		t.Errorf("%d of %d revocations succeeded", wins, goroutines)
	}
	d, err := g.GetGatewayDevice(ctx, "d1")
	ok(t, "GetGatewayDevice", err)
	if !d.RevokedAt.Equal(first) {
		t.Errorf("RevokedAt %v, want %v", d.RevokedAt, first)
	}
}
