package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

var userTests = []suiteTest{
	{"UpsertCaseFoldsAndKeepsID", testUpsertUser},
	{"GetUnknown", testGetUnknownUser},
	{"Update", testUpdateUser},
	{"ListOrderedByEmail", testListUsers},
}

func lastSeen(at time.Time, idp string) store.LastSeen {
	return store.LastSeen{At: at, IdPID: idp, IdPType: store.IdPOIDC, IP: "192.0.2.1", Country: "DE",
		Identity: []byte(`{"email":"alice@example.com","groups":["eng"]}`)}
}

func normLastSeen(ls store.LastSeen) store.LastSeen {
	ls.At = ts(ls.At)
	return ls
}

func testUpsertUser(t *testing.T, s store.Store, clock *Clock) {
	ctx := t.Context()
	seen1 := lastSeen(clock.Now(), "idp-1")
	requireAllFieldsSet(t, seen1)
	u1, err := s.UpsertUserByEmail(ctx, "Alice@Example.COM", seen1)
	ok(t, "UpsertUserByEmail", err)
	if !uuidV4.MatchString(u1.ID) {
		t.Errorf("new user ID %q is not a random UUID", u1.ID)
	}
	if u1.Email != "alice@example.com" {
		t.Errorf("Email = %q, want the case-folded alice@example.com", u1.Email)
	}
	equal(t, "LastSeen", u1.LastSeen, normLastSeen(seen1))

	clock.Advance(time.Hour)
	seen2 := lastSeen(clock.Now(), "idp-2")
	seen2.IP, seen2.Country, seen2.Identity = "198.51.100.7", "FR", []byte(`{"email":"ALICE@example.com"}`)
	u2, err := s.UpsertUserByEmail(ctx, "ALICE@EXAMPLE.COM", seen2)
	ok(t, "UpsertUserByEmail again", err)
	if u2.ID != u1.ID {
		t.Errorf("second login got user ID %q, want the first login's %q", u2.ID, u1.ID)
	}
	if !u2.CreatedAt.Equal(u1.CreatedAt) {
		t.Errorf("CreatedAt changed from %v to %v", u1.CreatedAt, u2.CreatedAt)
	}
	equal(t, "LastSeen after second login", u2.LastSeen, normLastSeen(seen2))

	got, err := s.GetUser(ctx, u1.ID)
	ok(t, "GetUser", err)
	equal(t, "GetUser", got, u2)
	for name, tm := range map[string]time.Time{"CreatedAt": got.CreatedAt, "UpdatedAt": got.UpdatedAt, "LastSeen.At": got.LastSeen.At} {
		if tm != ts(tm) {
			t.Errorf("%s = %v, want UTC truncated to the microsecond", name, tm)
		}
	}

	other, err := s.UpsertUserByEmail(ctx, "bob@example.com", seen2)
	ok(t, "UpsertUserByEmail bob", err)
	if other.ID == u1.ID {
		t.Errorf("different e-mail got the same user ID")
	}
}

func testGetUnknownUser(t *testing.T, s store.Store, _ *Clock) {
	_, err := s.GetUser(t.Context(), "00000000-0000-4000-8000-000000000000")
	isErr(t, "GetUser(unknown)", err, store.ErrNotFound)
}

func testUpdateUser(t *testing.T, s store.Store, clock *Clock) {
	ctx := t.Context()
	u, err := s.UpsertUserByEmail(ctx, "alice@example.com", lastSeen(clock.Now(), "idp-1"))
	ok(t, "UpsertUserByEmail", err)

	clock.Advance(time.Minute)
	got, err := s.UpdateUser(ctx, u.ID, func(u *store.User) error {
		u.Name = "Alice Liddell"
		u.Status = store.UserInactive
		return nil
	})
	ok(t, "UpdateUser", err)
	if got.ID != u.ID || got.Name != "Alice Liddell" || got.Status != store.UserInactive || got.Email != u.Email {
		t.Errorf("UpdateUser returned %+v", got)
	}
	read, err := s.GetUser(ctx, u.ID)
	ok(t, "GetUser", err)
	equal(t, "GetUser after UpdateUser", read, got)

	errBoom := errors.New("boom")
	_, err = s.UpdateUser(ctx, u.ID, func(u *store.User) error {
		u.Name = "Mallory"
		return errBoom
	})
	if err != errBoom { //nolint:errorlint // the contract says the updater's error is returned unwrapped
		t.Fatalf("UpdateUser returned %v, want the updater's error itself", err)
	}
	read, err = s.GetUser(ctx, u.ID)
	ok(t, "GetUser", err)
	equal(t, "user after failed update", read, got)

	_, err = s.UpdateUser(ctx, "00000000-0000-4000-8000-000000000000", func(*store.User) error { return nil })
	isErr(t, "UpdateUser(unknown)", err, store.ErrNotFound)
}

func testListUsers(t *testing.T, s store.Store, clock *Clock) {
	ctx := t.Context()
	for _, e := range []string{"carol@example.com", "Alice@example.com", "bob@example.com"} {
		_, err := s.UpsertUserByEmail(ctx, e, lastSeen(clock.Now(), "idp-1"))
		ok(t, "UpsertUserByEmail", err)
	}
	users, err := s.ListUsers(ctx)
	ok(t, "ListUsers", err)
	var emails []string
	for _, u := range users {
		emails = append(emails, u.Email)
	}
	equal(t, "ListUsers e-mails", emails, []string{"alice@example.com", "bob@example.com", "carol@example.com"})
}
