package storetest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// linkedSCIMUser creates an active registry user with a session and a SCIM user of idp-a
// linked to it; it returns both.
func linkedSCIMUser(t *testing.T, s store.Store, clock *Clock, scimID, email string) (*store.SCIMUser, *store.User) {
	t.Helper()
	ctx := t.Context()
	reg := &store.User{Email: email, Status: store.UserActive, IdPIDs: []string{"idp-a"},
		SCIMGroups: map[string][]string{"idp-a": {"stale"}, "idp-b": {"theirs"}}}
	ok(t, "CreateUser", s.CreateUser(ctx, reg))
	ok(t, "CreateSession", s.CreateSession(ctx, newSession("sess-"+scimID, reg.ID, clock.Now(), time.Hour)))
	u := newSCIMUser(scimID, "idp-a", email)
	u.RegistryUserID = reg.ID
	ok(t, "CreateSCIMUser", s.CreateSCIMUser(ctx, u))
	stored, err := s.GetUser(ctx, reg.ID)
	ok(t, "GetUser", err)
	return u, stored
}

// deprovision is an effect that deactivates the registry user, drops idp-a's groups and
// revokes its sessions.
func deprovision(c *store.SCIMRegistryChange) error {
	c.User.Status = store.UserInactive
	delete(c.User.SCIMGroups, "idp-a")
	c.RevokeSessions = true
	c.Effects = []string{"deactivated", "sessions-revoked"}
	return nil
}

// wantDeprovisioned checks that the registry user is inactive, has no idp-a groups, and that
// its sessions and tokens were revoked at now.
func wantDeprovisioned(t *testing.T, s store.Store, regID, sessID string, now time.Time) {
	t.Helper()
	ctx := t.Context()
	u, err := s.GetUser(ctx, regID)
	ok(t, "GetUser", err)
	if u.Status != store.UserInactive || u.SCIMGroups["idp-a"] != nil || !slices.Equal(u.SCIMGroups["idp-b"], []string{"theirs"}) ||
		!u.TokensNotBefore.Equal(ts(now)) {
		t.Errorf("registry user %+v: want inactive, idp-a groups gone, idp-b kept, tokens not before %v", u, ts(now))
	}
	sess, err := s.GetSession(ctx, sessID)
	ok(t, "GetSession", err)
	if !sess.RevokedAt.Equal(ts(now)) {
		t.Errorf("session RevokedAt %v, want %v", sess.RevokedAt, ts(now))
	}
	rev, err := s.Revocations(ctx)
	ok(t, "Revocations", err)
	if _, revoked := rev.RevokedSessions[sessID]; !revoked || !rev.UserNotBefore[regID].Equal(ts(now)) {
		t.Errorf("revocations %+v miss the user's session or not-before", rev)
	}
}

// wantUntouched checks that the registry user is still active with its session valid.
func wantUntouched(t *testing.T, s store.Store, reg *store.User, sessID string) {
	t.Helper()
	ctx := t.Context()
	u, err := s.GetUser(ctx, reg.ID)
	ok(t, "GetUser", err)
	if u.Status != store.UserActive || !u.TokensNotBefore.IsZero() || !u.UpdatedAt.Equal(reg.UpdatedAt) ||
		!slices.Equal(u.SCIMGroups["idp-a"], []string{"stale"}) {
		t.Errorf("registry user changed: %+v", u)
	}
	sess, err := s.GetSession(ctx, sessID)
	ok(t, "GetSession", err)
	if !sess.RevokedAt.IsZero() {
		t.Error("session revoked")
	}
}

func testSCIMUserWriteEffects(t *testing.T, s store.Store, clock *Clock) {
	ctx := t.Context()
	u, reg := linkedSCIMUser(t, s, clock, "u1", "erin@example.com")
	ok(t, "CreateSCIMGroup", createSCIMGroup(ctx, s, &store.SCIMGroup{ID: "g1", IdPID: "idp-a", DisplayName: "Eng", Members: []string{"u1"}}))
	ok(t, "CreateSCIMGroup", createSCIMGroup(ctx, s, &store.SCIMGroup{ID: "g2", IdPID: "idp-a", DisplayName: "Eng", Members: []string{"u1"}}))
	ok(t, "CreateSCIMGroup", createSCIMGroup(ctx, s, &store.SCIMGroup{ID: "g3", IdPID: "idp-a", DisplayName: "Alpha", Members: []string{"u1"}}))
	clock.Advance(time.Minute)

	// An effect that fails aborts the whole write.
	errBoom := errors.New("boom")
	_, _, err := s.UpdateSCIMUser(ctx, "idp-a", "u1", func(x *store.SCIMUser) error { x.Active = false; return nil },
		func(c *store.SCIMRegistryChange) error {
			_ = deprovision(c)
			return errBoom
		})
	if err != errBoom { //nolint:errorlint // the contract says unwrapped
		t.Fatalf("UpdateSCIMUser with a failing effect = %v, want the effect's error unwrapped", err)
	}
	got, err := s.GetSCIMUser(ctx, "idp-a", "u1")
	ok(t, "GetSCIMUser", err)
	if !got.Active || got.Version != u.Version {
		t.Errorf("a failed effect left the SCIM user changed: %+v", got)
	}
	wantUntouched(t, s, reg, "sess-u1")

	// An effect that changes nothing leaves the registry user alone.
	calls := 0
	_, changes, err := s.UpdateSCIMUser(ctx, "idp-a", "u1", func(x *store.SCIMUser) error { x.DisplayName = "Erin"; return nil },
		func(*store.SCIMRegistryChange) error { calls++; return nil })
	ok(t, "UpdateSCIMUser", err)
	if calls == 0 || len(changes) != 1 || changes[0].RevokeSessions {
		t.Fatalf("effect calls %d, changes %+v", calls, changes)
	}
	wantUntouched(t, s, reg, "sess-u1")

	// Deactivation: the SCIM write, the registry change and the revocation commit together.
	watch := s.Watch(ctx)
	clock.Advance(time.Minute)
	upd, changes, err := s.UpdateSCIMUser(ctx, "idp-a", "u1", func(x *store.SCIMUser) error { x.Active = false; return nil },
		func(c *store.SCIMRegistryChange) error {
			if !c.Before.Active || c.After.Active || c.After.DisplayName != "Erin" || c.User.ID != reg.ID || c.User.Status != store.UserActive {
				t.Errorf("effect got before %+v after %+v user %+v", c.Before, c.After, c.User)
			}
			equal(t, "groups after the write", c.Groups, []string{"Alpha", "Eng"})
			return deprovision(c)
		})
	ok(t, "UpdateSCIMUser", err)
	if upd.Active {
		t.Error("SCIM user still active")
	}
	if len(changes) != 1 || changes[0].User.Status != store.UserInactive || !changes[0].User.TokensNotBefore.Equal(ts(clock.Now())) ||
		!slices.Equal(changes[0].Effects, []string{"deactivated", "sessions-revoked"}) {
		t.Errorf("changes %+v", changes)
	}
	wantDeprovisioned(t, s, reg.ID, "sess-u1", clock.Now())
	waitFor(t, watch, "revocation by a SCIM write", func(c store.Change) bool { return c.Revocations })

	// The effect follows the link as the update leaves it; unlinked users and links to users
	// that do not exist get none.
	other := &store.User{Email: "frank@example.com", Status: store.UserActive}
	ok(t, "CreateUser", s.CreateUser(ctx, other))
	v := newSCIMUser("u2", "idp-a", "frank@example.com")
	ok(t, "CreateSCIMUser", s.CreateSCIMUser(ctx, v))
	_, changes, err = s.UpdateSCIMUser(ctx, "idp-a", "u2", func(x *store.SCIMUser) error { x.DisplayName = "F"; return nil },
		func(*store.SCIMRegistryChange) error { t.Error("effect called for an unlinked user"); return nil })
	ok(t, "UpdateSCIMUser(unlinked)", err)
	equal(t, "changes of an unlinked user", len(changes), 0)
	_, changes, err = s.UpdateSCIMUser(ctx, "idp-a", "u2", func(x *store.SCIMUser) error { x.RegistryUserID = other.ID; return nil },
		func(c *store.SCIMRegistryChange) error {
			if c.Before.RegistryUserID != "" || c.After.RegistryUserID != other.ID || c.User.ID != other.ID {
				t.Errorf("linking update: effect got before %+v after %+v user %+v", c.Before, c.After, c.User)
			}
			c.User.Name = "Frank"
			return nil
		})
	ok(t, "UpdateSCIMUser(link)", err)
	if len(changes) != 1 || changes[0].User.Name != "Frank" || !changes[0].User.UpdatedAt.Equal(ts(clock.Now())) {
		t.Errorf("changes %+v", changes)
	}
	_, _, err = s.UpdateSCIMUser(ctx, "idp-a", "u2", func(x *store.SCIMUser) error { x.RegistryUserID = "no-such-user"; return nil },
		func(*store.SCIMRegistryChange) error {
			t.Error("effect called for a missing registry user")
			return nil
		})
	ok(t, "UpdateSCIMUser(link to a missing user)", err)
}

func testSCIMUserDeleteEffects(t *testing.T, s store.Store, clock *Clock) {
	ctx := t.Context()
	_, reg := linkedSCIMUser(t, s, clock, "u1", "gina@example.com")
	ok(t, "CreateSCIMGroup", createSCIMGroup(ctx, s, &store.SCIMGroup{ID: "g1", IdPID: "idp-a", DisplayName: "Eng", Members: []string{"u1"}}))
	clock.Advance(time.Minute)

	errCheck, errBoom := errors.New("precondition failed"), errors.New("boom")
	_, _, err := s.DeleteSCIMUser(ctx, "idp-a", "u1", func(*store.SCIMUser) error { return errCheck }, deprovision)
	if err != errCheck { //nolint:errorlint // the contract says unwrapped
		t.Fatalf("DeleteSCIMUser with a refusing check = %v", err)
	}
	_, _, err = s.DeleteSCIMUser(ctx, "idp-a", "u1", nil, func(c *store.SCIMRegistryChange) error {
		_ = deprovision(c)
		return errBoom
	})
	if err != errBoom { //nolint:errorlint // the contract says unwrapped
		t.Fatalf("DeleteSCIMUser with a failing effect = %v", err)
	}
	// Nothing happened: the IdP's retry finds the user and does all of it.
	_, err = s.GetSCIMUser(ctx, "idp-a", "u1")
	ok(t, "GetSCIMUser after failed deletes", err)
	g, err := s.GetSCIMGroup(ctx, "idp-a", "g1")
	ok(t, "GetSCIMGroup", err)
	equal(t, "members after failed deletes", g.Members, []string{"u1"})
	wantUntouched(t, s, reg, "sess-u1")

	clock.Advance(time.Minute)
	var checked *store.SCIMUser
	gone, changes, err := s.DeleteSCIMUser(ctx, "idp-a", "u1", func(u *store.SCIMUser) error { checked = u; return nil },
		func(c *store.SCIMRegistryChange) error {
			if c.After != nil || c.Before.ID != "u1" || len(c.Groups) != 0 {
				t.Errorf("delete effect got before %+v after %+v groups %v", c.Before, c.After, c.Groups)
			}
			return deprovision(c)
		})
	ok(t, "DeleteSCIMUser", err)
	if checked == nil || checked.ID != "u1" || gone.ID != "u1" || gone.RegistryUserID != reg.ID {
		t.Errorf("checked %+v, deleted %+v", checked, gone)
	}
	equal(t, "changes", len(changes), 1)
	wantDeprovisioned(t, s, reg.ID, "sess-u1", clock.Now())
	_, err = s.GetSCIMUser(ctx, "idp-a", "u1")
	isErr(t, "GetSCIMUser after delete", err, store.ErrNotFound)
	_, _, err = s.DeleteSCIMUser(ctx, "idp-a", "u1", nil, deprovision)
	isErr(t, "DeleteSCIMUser again", err, store.ErrNotFound)
}

func testSCIMGroupWriteEffects(t *testing.T, s store.Store, clock *Clock) {
	ctx := t.Context()
	_, ra := linkedSCIMUser(t, s, clock, "ua", "hank@example.com")
	_, rb := linkedSCIMUser(t, s, clock, "ub", "ivy@example.com")
	ok(t, "CreateSCIMUser", s.CreateSCIMUser(ctx, newSCIMUser("ud", "idp-a", "unlinked@example.com")))
	ok(t, "CreateSCIMGroup", createSCIMGroup(ctx, s, &store.SCIMGroup{ID: "g0", IdPID: "idp-a", DisplayName: "Base", Members: []string{"ua", "ub"}}))

	// The automatic identity update: the registry user gets the SCIM user's group names.
	var calls []string
	syncGroups := func(c *store.SCIMRegistryChange) error {
		calls = append(calls, c.After.ID)
		if c.Before.ID != c.After.ID {
			t.Errorf("group write effect got two users: %+v, %+v", c.Before, c.After)
		}
		c.User.SCIMGroups["idp-a"] = c.Groups
		c.Effects = []string{"groups-updated"}
		return nil
	}
	groupsOf := func(u *store.User) []string {
		t.Helper()
		got, err := s.GetUser(ctx, u.ID)
		ok(t, "GetUser", err)
		return got.SCIMGroups["idp-a"]
	}

	changes, err := s.CreateSCIMGroup(ctx, &store.SCIMGroup{ID: "g1", IdPID: "idp-a", DisplayName: "Eng", Members: []string{"ud", "ua"}}, syncGroups)
	ok(t, "CreateSCIMGroup", err)
	equal(t, "effect calls of a create", calls, []string{"ua"})
	if len(changes) != 1 || changes[0].User.ID != ra.ID || !slices.Equal(changes[0].Effects, []string{"groups-updated"}) {
		t.Errorf("changes %+v", changes)
	}
	equal(t, "groups of a", groupsOf(ra), []string{"Base", "Eng"})

	// An effect that fails aborts the group write.
	errBoom := errors.New("boom")
	_, _, err = s.UpdateSCIMGroup(ctx, "idp-a", "g1", func(g *store.SCIMGroup) error { g.Members = []string{"ub"}; return nil },
		func(*store.SCIMRegistryChange) error { return errBoom })
	if err != errBoom { //nolint:errorlint // the contract says unwrapped
		t.Fatalf("UpdateSCIMGroup with a failing effect = %v", err)
	}
	g, err := s.GetSCIMGroup(ctx, "idp-a", "g1")
	ok(t, "GetSCIMGroup", err)
	equal(t, "members after a failed update", g.Members, []string{"ua", "ud"})
	equal(t, "version after a failed update", g.Version, int64(1))

	// An update affects who joined or left, in SCIM user ID order.
	calls = nil
	_, changes, err = s.UpdateSCIMGroup(ctx, "idp-a", "g1", func(g *store.SCIMGroup) error { g.Members = []string{"ub", "ud"}; return nil }, syncGroups)
	ok(t, "UpdateSCIMGroup", err)
	equal(t, "effect calls of an update", calls, []string{"ua", "ub"})
	equal(t, "changes", len(changes), 2)
	equal(t, "groups of a", groupsOf(ra), []string{"Base"})
	equal(t, "groups of b", groupsOf(rb), []string{"Base", "Eng"})

	// A delete affects every former member; check runs first.
	errCheck := errors.New("precondition failed")
	_, _, err = s.DeleteSCIMGroup(ctx, "idp-a", "g1", func(*store.SCIMGroup) error { return errCheck }, syncGroups)
	if err != errCheck { //nolint:errorlint // the contract says unwrapped
		t.Fatalf("DeleteSCIMGroup with a refusing check = %v", err)
	}
	_, _, err = s.DeleteSCIMGroup(ctx, "idp-a", "g1", nil, func(*store.SCIMRegistryChange) error { return errBoom })
	if err != errBoom { //nolint:errorlint // the contract says unwrapped
		t.Fatalf("DeleteSCIMGroup with a failing effect = %v", err)
	}
	_, err = s.GetSCIMGroup(ctx, "idp-a", "g1")
	ok(t, "GetSCIMGroup after failed deletes", err)
	calls = nil
	gone, _, err := s.DeleteSCIMGroup(ctx, "idp-a", "g1", func(g *store.SCIMGroup) error {
		equal(t, "group passed to check", g.Members, []string{"ub", "ud"})
		return nil
	}, syncGroups)
	ok(t, "DeleteSCIMGroup", err)
	if gone.ID != "g1" || gone.DisplayName != "Eng" {
		t.Errorf("deleted group %+v", gone)
	}
	equal(t, "effect calls of a delete", calls, []string{"ub"})
	equal(t, "groups of b", groupsOf(rb), []string{"Base"})
	_, _, err = s.DeleteSCIMGroup(ctx, "idp-a", "g1", nil, nil)
	isErr(t, "DeleteSCIMGroup again", err, store.ErrNotFound)

	// Revoking sessions from a group write (reauth).
	clock.Advance(time.Minute)
	_, _, err = s.UpdateSCIMGroup(ctx, "idp-a", "g0", func(g *store.SCIMGroup) error { g.Members = []string{"ub"}; return nil },
		func(c *store.SCIMRegistryChange) error { c.RevokeSessions = true; return nil })
	ok(t, "UpdateSCIMGroup(reauth)", err)
	sess, err := s.GetSession(ctx, "sess-ua")
	ok(t, "GetSession", err)
	if !sess.RevokedAt.Equal(ts(clock.Now())) {
		t.Errorf("a's session RevokedAt %v", sess.RevokedAt)
	}
	sess, err = s.GetSession(ctx, "sess-ub")
	ok(t, "GetSession", err)
	if !sess.RevokedAt.IsZero() {
		t.Error("b stayed in the group but lost its session")
	}
}
