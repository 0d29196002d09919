package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/mailaddr"
	"github.com/gatehouse/gatehouse/internal/store"
)

var scimTests = []suiteTest{
	{"Secrets", testSCIMSecrets},
	{"UserRoundTripAndVersions", testSCIMUserRoundTrip},
	{"UsersAreNamespacedPerIdP", testSCIMUserNamespaces},
	{"ListFilterAndPaging", testSCIMListUsers},
	{"GroupsAndMembers", testSCIMGroups},
	{"RegistryUserLinks", testSCIMRegistryUsers},
	{"UserEmailNormalForm", testSCIMUserEmail},
	{"UserWriteEffects", testSCIMUserWriteEffects},
	{"UserDeleteEffects", testSCIMUserDeleteEffects},
	{"GroupWriteEffects", testSCIMGroupWriteEffects},
}

// eqFilter is a SCIM filter "attr eq value" as the scim package hands it to a backend.
type eqFilter struct {
	attr  string
	value any
}

func (f eqFilter) ToSQL(cols map[string]store.SCIMColumn) (string, []any, error) {
	c, ok := cols[f.attr]
	if !ok {
		return "", nil, fmt.Errorf("attribute %s: %w", f.attr, store.ErrFilterNotIndexed)
	}
	v, expr := f.value, c.Expr
	if s, isString := v.(string); isString && !c.CaseExact {
		v = toLower(s)
		if !c.Folded {
			expr = "LOWER(" + expr + ")"
		}
	}
	return expr + " = ?", []any{v}, nil
}

func toLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

func testSCIMSecrets(t *testing.T, s store.Store, clock *Clock) {
	ctx := t.Context()
	_, err := s.GetSCIMSecret(ctx, "idp-a")
	isErr(t, "GetSCIMSecret(unset)", err, store.ErrNotFound)
	ok(t, "SetSCIMSecret", s.SetSCIMSecret(ctx, "idp-a", "hash-1"))
	clock.Advance(time.Hour)
	ok(t, "SetSCIMSecret again", s.SetSCIMSecret(ctx, "idp-a", "hash-2"))
	got, err := s.GetSCIMSecret(ctx, "idp-a")
	ok(t, "GetSCIMSecret", err)
	equal(t, "secret", *got, store.SCIMSecret{IdPID: "idp-a", Hash: "hash-2", CreatedAt: ts(clock.Now())})
	_, err = s.GetSCIMSecret(ctx, "idp-b")
	isErr(t, "GetSCIMSecret(other IdP)", err, store.ErrNotFound)
}

func newSCIMUser(id, idp, userName string) *store.SCIMUser {
	return &store.SCIMUser{ID: id, IdPID: idp, ExternalID: "ext-" + id, UserName: userName, DisplayName: "User " + id,
		Email: userName, Active: true, Attributes: []byte(`{"name":{"givenName":"A"}}`)}
}

func testSCIMUserRoundTrip(t *testing.T, s store.Store, clock *Clock) {
	ctx := t.Context()
	in := newSCIMUser("11111111-1111-4111-8111-111111111111", "idp-a", "Alice@Example.com")
	in.RegistryUserID, in.OwnsRegistryUser = "reg-1", true
	requireAllFieldsSet(t, in, "SCIMUser.Version", "SCIMUser.CreatedAt", "SCIMUser.UpdatedAt")
	ok(t, "CreateSCIMUser", s.CreateSCIMUser(ctx, in))
	got, err := s.GetSCIMUser(ctx, "idp-a", in.ID)
	ok(t, "GetSCIMUser", err)
	want := *in
	want.Email, want.Version, want.CreatedAt, want.UpdatedAt = "alice@example.com", 1, ts(clock.Now()), ts(clock.Now())
	equal(t, "GetSCIMUser", *got, want)
	equal(t, "created user as returned", *in, want)

	clock.Advance(time.Minute)
	upd, err := updateSCIMUser(ctx, s, "idp-a", in.ID, func(u *store.SCIMUser) error {
		u.Active = false
		u.ID, u.IdPID, u.Version, u.CreatedAt = "evil", "idp-b", 99, time.Time{} // fixed by the store
		return nil
	})
	ok(t, "UpdateSCIMUser", err)
	want.Active, want.Version, want.UpdatedAt = false, 2, ts(clock.Now())
	equal(t, "UpdateSCIMUser", *upd, want)
	got, err = s.GetSCIMUser(ctx, "idp-a", in.ID)
	ok(t, "GetSCIMUser after update", err)
	equal(t, "GetSCIMUser after update", *got, want)

	errBoom := errors.New("boom")
	_, err = updateSCIMUser(ctx, s, "idp-a", in.ID, func(*store.SCIMUser) error { return errBoom })
	if err != errBoom { //nolint:errorlint // the contract says the updater's error is returned unwrapped
		t.Fatalf("UpdateSCIMUser returned %v, want the updater's error itself", err)
	}
	isErr(t, "CreateSCIMUser(same ID)", s.CreateSCIMUser(ctx, newSCIMUser(in.ID, "idp-a", "other@example.com")), store.ErrAlreadyExists)
	ok(t, "DeleteSCIMUser", deleteSCIMUser(ctx, s, "idp-a", in.ID))
	_, err = s.GetSCIMUser(ctx, "idp-a", in.ID)
	isErr(t, "GetSCIMUser after delete", err, store.ErrNotFound)
	isErr(t, "DeleteSCIMUser again", deleteSCIMUser(ctx, s, "idp-a", in.ID), store.ErrNotFound)
}

func testSCIMUserNamespaces(t *testing.T, s store.Store, _ *Clock) {
	ctx := t.Context()
	a := newSCIMUser("u-a", "idp-a", "bob@example.com")
	ok(t, "CreateSCIMUser idp-a", s.CreateSCIMUser(ctx, a))
	// The same userName and externalId in another IdP is another user.
	b := newSCIMUser("u-b", "idp-b", "bob@example.com")
	b.ExternalID = a.ExternalID
	ok(t, "CreateSCIMUser idp-b, same userName", s.CreateSCIMUser(ctx, b))
	isErr(t, "CreateSCIMUser idp-a, same userName in other case",
		s.CreateSCIMUser(ctx, newSCIMUser("u-c", "idp-a", "BOB@example.com")), store.ErrAlreadyExists)

	_, err := s.GetSCIMUser(ctx, "idp-b", "u-a")
	isErr(t, "GetSCIMUser through another IdP", err, store.ErrNotFound)
	_, err = updateSCIMUser(ctx, s, "idp-b", "u-a", func(*store.SCIMUser) error { return nil })
	isErr(t, "UpdateSCIMUser through another IdP", err, store.ErrNotFound)
	isErr(t, "DeleteSCIMUser through another IdP", deleteSCIMUser(ctx, s, "idp-b", "u-a"), store.ErrNotFound)

	ok(t, "CreateSCIMUser carol", s.CreateSCIMUser(ctx, newSCIMUser("u-d", "idp-a", "carol@example.com")))
	_, err = updateSCIMUser(ctx, s, "idp-a", "u-d", func(u *store.SCIMUser) error { u.UserName = "Bob@Example.com"; return nil })
	isErr(t, "UpdateSCIMUser to a taken userName", err, store.ErrAlreadyExists)
}

func testSCIMListUsers(t *testing.T, s store.Store, clock *Clock) {
	ctx := t.Context()
	var ids []string
	for i := range 5 {
		u := newSCIMUser(fmt.Sprintf("u-%d", i), "idp-a", fmt.Sprintf("user%d@example.com", i))
		u.Active = i%2 == 0
		ok(t, "CreateSCIMUser", s.CreateSCIMUser(ctx, u))
		ids = append(ids, u.ID)
		clock.Advance(time.Second)
	}
	ok(t, "CreateSCIMUser other IdP", s.CreateSCIMUser(ctx, newSCIMUser("u-x", "idp-b", "user0@example.com")))
	listIDs := func(q store.SCIMQuery) ([]string, int) {
		t.Helper()
		list, total, err := s.ListSCIMUsers(ctx, q)
		ok(t, "ListSCIMUsers", err)
		var got []string
		for _, u := range list {
			got = append(got, u.ID)
		}
		return got, total
	}
	got, total := listIDs(store.SCIMQuery{IdPID: "idp-a", Limit: 100})
	equal(t, "all of idp-a in creation order", got, ids)
	equal(t, "total", total, 5)
	got, total = listIDs(store.SCIMQuery{IdPID: "idp-a", Offset: 1, Limit: 2})
	equal(t, "page", got, ids[1:3])
	equal(t, "page total", total, 5)
	got, total = listIDs(store.SCIMQuery{IdPID: "idp-a", Offset: 10, Limit: 2})
	equal(t, "page past the end", len(got), 0)
	equal(t, "total past the end", total, 5)
	got, total = listIDs(store.SCIMQuery{IdPID: "idp-a"})
	equal(t, "count only", len(got), 0)
	equal(t, "count only total", total, 5)
	got, _ = listIDs(store.SCIMQuery{IdPID: "idp-a", Filter: eqFilter{"userName", "USER3@example.com"}, Limit: 10})
	equal(t, "userName eq (case-insensitive)", got, []string{"u-3"})
	got, _ = listIDs(store.SCIMQuery{IdPID: "idp-a", Filter: eqFilter{"active", false}, Limit: 10})
	equal(t, "active eq false", got, []string{"u-1", "u-3"})
	got, _ = listIDs(store.SCIMQuery{IdPID: "idp-a", Filter: eqFilter{"externalId", "ext-u-2"}, Limit: 10})
	equal(t, "externalId eq", got, []string{"u-2"})
	got, _ = listIDs(store.SCIMQuery{IdPID: "idp-a", Filter: eqFilter{"userName", `x" OR 1=1 --`}, Limit: 10})
	equal(t, "injection-shaped value matches nothing", len(got), 0)
	_, _, err := s.ListSCIMUsers(ctx, store.SCIMQuery{IdPID: "idp-a", Filter: eqFilter{"name.givenName", "A"}, Limit: 10})
	isErr(t, "filter on an attribute without a column", err, store.ErrFilterNotIndexed)
}

func testSCIMGroups(t *testing.T, s store.Store, clock *Clock) {
	ctx := t.Context()
	for _, id := range []string{"u1", "u2", "u3"} {
		ok(t, "CreateSCIMUser", s.CreateSCIMUser(ctx, newSCIMUser(id, "idp-a", id+"@example.com")))
	}
	ok(t, "CreateSCIMUser other IdP", s.CreateSCIMUser(ctx, newSCIMUser("ux", "idp-b", "ux@example.com")))
	g := &store.SCIMGroup{ID: "g1", IdPID: "idp-a", ExternalID: "okta-g1", DisplayName: "Engineering",
		Members: []string{"u2", "u1", "u2"}, Attributes: []byte(`{}`)}
	requireAllFieldsSet(t, g, "SCIMGroup.Version", "SCIMGroup.CreatedAt", "SCIMGroup.UpdatedAt")
	ok(t, "CreateSCIMGroup", createSCIMGroup(ctx, s, g))
	got, err := s.GetSCIMGroup(ctx, "idp-a", "g1")
	ok(t, "GetSCIMGroup", err)
	equal(t, "members sorted and de-duplicated", got.Members, []string{"u1", "u2"})
	equal(t, "version", got.Version, int64(1))
	_, err = s.GetSCIMGroup(ctx, "idp-b", "g1")
	isErr(t, "GetSCIMGroup through another IdP", err, store.ErrNotFound)

	isErr(t, "CreateSCIMGroup with another IdP's user",
		createSCIMGroup(ctx, s, &store.SCIMGroup{ID: "g2", IdPID: "idp-a", DisplayName: "X", Members: []string{"ux"}}), store.ErrNotFound)
	_, err = s.GetSCIMGroup(ctx, "idp-a", "g2")
	isErr(t, "failed group create leaves nothing", err, store.ErrNotFound)

	clock.Advance(time.Minute)
	upd, err := updateSCIMGroup(ctx, s, "idp-a", "g1", func(g *store.SCIMGroup) error {
		g.Members = append(g.Members, "u3")
		g.DisplayName = "Eng"
		return nil
	})
	ok(t, "UpdateSCIMGroup", err)
	equal(t, "members after update", upd.Members, []string{"u1", "u2", "u3"})
	equal(t, "version after update", upd.Version, int64(2))
	_, err = updateSCIMGroup(ctx, s, "idp-a", "g1", func(g *store.SCIMGroup) error { g.Members = []string{"nope"}; return nil })
	isErr(t, "UpdateSCIMGroup with unknown member", err, store.ErrNotFound)

	of, err := s.SCIMGroupsOfUser(ctx, "idp-a", "u3")
	ok(t, "SCIMGroupsOfUser", err)
	if len(of) != 1 || of[0].ID != "g1" || of[0].DisplayName != "Eng" {
		t.Errorf("SCIMGroupsOfUser = %+v, want g1", of)
	}
	ok(t, "DeleteSCIMUser u3", deleteSCIMUser(ctx, s, "idp-a", "u3"))
	got, err = s.GetSCIMGroup(ctx, "idp-a", "g1")
	ok(t, "GetSCIMGroup", err)
	equal(t, "deleted user leaves the group", got.Members, []string{"u1", "u2"})
	if got.Version != 3 {
		t.Errorf("group version after a member was deleted = %d, want 3", got.Version)
	}
	list, total, err := s.ListSCIMGroups(ctx, store.SCIMQuery{IdPID: "idp-a", Filter: eqFilter{"displayName", "ENG"}, Limit: 10})
	ok(t, "ListSCIMGroups", err)
	if total != 1 || len(list) != 1 || !slices.Equal(list[0].Members, []string{"u1", "u2"}) {
		t.Errorf("ListSCIMGroups = %+v (total %d)", list, total)
	}
	ok(t, "DeleteSCIMGroup", deleteSCIMGroup(ctx, s, "idp-a", "g1"))
	isErr(t, "DeleteSCIMGroup again", deleteSCIMGroup(ctx, s, "idp-a", "g1"), store.ErrNotFound)
	of, err = s.SCIMGroupsOfUser(ctx, "idp-a", "u1")
	ok(t, "SCIMGroupsOfUser", err)
	equal(t, "groups after delete", len(of), 0)
}

func testSCIMRegistryUsers(t *testing.T, s store.Store, clock *Clock) {
	ctx := t.Context()
	u := &store.User{Email: "Dana@Example.com", Name: "Dana", Status: store.UserInactive, IdPIDs: []string{"idp-c"},
		SCIMGroups: map[string][]string{"idp-a": {"eng"}}}
	ok(t, "CreateUser", s.CreateUser(ctx, u))
	if !uuidV4.MatchString(u.ID) {
		t.Fatalf("CreateUser set ID %q, want a random UUID", u.ID)
	}
	isErr(t, "CreateUser(same e-mail)", s.CreateUser(ctx, &store.User{Email: "dana@example.com"}), store.ErrAlreadyExists)
	got, err := s.GetUserByEmail(ctx, "DANA@example.com")
	ok(t, "GetUserByEmail", err)
	want := store.User{ID: u.ID, Email: "dana@example.com", Name: "Dana", Status: store.UserInactive,
		CreatedAt: ts(clock.Now()), UpdatedAt: ts(clock.Now()), IdPIDs: []string{"idp-c"}, SCIMGroups: map[string][]string{"idp-a": {"eng"}}}
	equal(t, "GetUserByEmail", *got, want)
	_, err = s.GetUserByEmail(ctx, "nobody@example.com")
	isErr(t, "GetUserByEmail(unknown)", err, store.ErrNotFound)

	// Logins add their IdP to IdPIDs once each, in first-login order.
	for _, idp := range []string{"idp-b", "idp-a", "idp-b"} {
		_, err = s.UpsertUserByEmail(ctx, "dana@example.com", lastSeen(clock.Now(), idp))
		ok(t, "UpsertUserByEmail", err)
	}
	got, err = s.GetUser(ctx, u.ID)
	ok(t, "GetUser", err)
	equal(t, "IdPIDs", got.IdPIDs, []string{"idp-c", "idp-b", "idp-a"})

	upd, err := s.UpdateUser(ctx, u.ID, func(u *store.User) error {
		u.SCIMGroups = map[string][]string{"idp-a": {"eng", "ops"}}
		return nil
	})
	ok(t, "UpdateUser", err)
	equal(t, "SCIMGroups after update", upd.SCIMGroups, map[string][]string{"idp-a": {"eng", "ops"}})
	equal(t, "IdPIDs kept", upd.IdPIDs, []string{"idp-c", "idp-b", "idp-a"})
}

// testSCIMUserEmail: a SCIM user's address is stored in normal form, may be empty, and one
// without a normal form is refused with its *mailaddr.Error on create and update.
func testSCIMUserEmail(t *testing.T, s store.Store, _ *Clock) {
	ctx := t.Context()
	u := newSCIMUser("u-1", "idp-a", "kate")
	u.Email = "KATE@Bücher.de"
	ok(t, "CreateSCIMUser", s.CreateSCIMUser(ctx, u))
	equal(t, "normal form", u.Email, "kate@xn--bcher-kva.de")
	none := newSCIMUser("u-2", "idp-a", "nobody")
	none.Email = ""
	ok(t, "CreateSCIMUser without e-mail", s.CreateSCIMUser(ctx, none))

	var me *mailaddr.Error
	spoof := newSCIMUser("u-3", "idp-a", "spoof")
	spoof.Email = "\u212Aate@xn--bcher-kva.de"
	if err := s.CreateSCIMUser(ctx, spoof); !errors.As(err, &me) {
		t.Errorf("CreateSCIMUser(KELVIN SIGN) = %v; want a *mailaddr.Error", err)
	}
	_, err := updateSCIMUser(ctx, s, "idp-a", none.ID, func(x *store.SCIMUser) error {
		x.Email = "kate\u200B@xn--bcher-kva.de"
		return nil
	})
	if !errors.As(err, &me) {
		t.Errorf("UpdateSCIMUser(zero-width space) = %v; want a *mailaddr.Error", err)
	}
	got, err := s.GetSCIMUser(ctx, "idp-a", none.ID)
	ok(t, "GetSCIMUser", err)
	equal(t, "e-mail after the refused update", got.Email, "")
}

// updateSCIMUser, deleteSCIMUser, createSCIMGroup, updateSCIMGroup and deleteSCIMGroup are the
// SCIM writes without registry effects.
func updateSCIMUser(ctx context.Context, s store.Store, idpID, id string, update func(*store.SCIMUser) error) (*store.SCIMUser, error) {
	u, _, err := s.UpdateSCIMUser(ctx, idpID, id, update, nil)
	return u, err
}

func deleteSCIMUser(ctx context.Context, s store.Store, idpID, id string) error {
	_, _, err := s.DeleteSCIMUser(ctx, idpID, id, nil, nil)
	return err
}

func createSCIMGroup(ctx context.Context, s store.Store, g *store.SCIMGroup) error {
	_, err := s.CreateSCIMGroup(ctx, g, nil)
	return err
}

func updateSCIMGroup(ctx context.Context, s store.Store, idpID, id string, update func(*store.SCIMGroup) error) (*store.SCIMGroup, error) {
	g, _, err := s.UpdateSCIMGroup(ctx, idpID, id, update, nil)
	return g, err
}

func deleteSCIMGroup(ctx context.Context, s store.Store, idpID, id string) error {
	_, _, err := s.DeleteSCIMGroup(ctx, idpID, id, nil, nil)
	return err
}
