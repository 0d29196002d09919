package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/mailaddr"
	"github.com/gatehouse/gatehouse/internal/store"
)

var userTests = []suiteTest{
	{"UpsertCaseFoldsAndKeepsID", testUpsertUser},
	{"GetUnknown", testGetUnknownUser},
	{"Update", testUpdateUser},
	{"ListOrderedByEmail", testListUsers},
	{"EmailNormalForm", testUserEmailNormalForm},
	{"EmailLookAlikesRefused", testUserEmailLookAlikes},
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

// testUserEmailNormalForm: users are keyed by the normal form of their address: ASCII case folds,
// a domain becomes its A-label, and non-ASCII letters are kept as written (the database compares
// bytes: "jose" and "josé" are two users on every backend).
func testUserEmailNormalForm(t *testing.T, s store.Store, clock *Clock) {
	ctx := t.Context()
	u, err := s.UpsertUserByEmail(ctx, "X@Bücher.DE", lastSeen(clock.Now(), "idp-1"))
	ok(t, "UpsertUserByEmail", err)
	equal(t, "normal form", u.Email, "x@xn--bcher-kva.de")
	for _, e := range []string{"x@bücher.de", "x@XN--BCHER-KVA.de", "X@xn--bcher-kva.de"} {
		got, err := s.GetUserByEmail(ctx, e)
		ok(t, "GetUserByEmail "+e, err)
		equal(t, "GetUserByEmail "+e, got.ID, u.ID)
		again, err := s.UpsertUserByEmail(ctx, e, lastSeen(clock.Now(), "idp-1"))
		ok(t, "UpsertUserByEmail "+e, err)
		equal(t, "UpsertUserByEmail "+e, again.ID, u.ID)
	}

	accent, err := s.UpsertUserByEmail(ctx, "JOSé@example.com", lastSeen(clock.Now(), "idp-1"))
	ok(t, "UpsertUserByEmail JOSé", err)
	equal(t, "only ASCII folds", accent.Email, "josé@example.com")
	plain, err := s.UpsertUserByEmail(ctx, "jose@example.com", lastSeen(clock.Now(), "idp-1"))
	ok(t, "UpsertUserByEmail jose", err)
	if plain.ID == accent.ID {
		t.Error("jose@ and josé@ are the same user: the backend compares accent-insensitively")
	}
	got, err := s.GetUserByEmail(ctx, "josé@EXAMPLE.COM")
	ok(t, "GetUserByEmail josé", err)
	equal(t, "GetUserByEmail josé", got.ID, accent.ID)
	var me *mailaddr.Error
	if _, err := s.GetUserByEmail(ctx, "JOSÉ@example.com"); !errors.As(err, &me) {
		t.Errorf("GetUserByEmail(JOSÉ) = %v; want a *mailaddr.Error (a non-ASCII case variant has no normal form)", err)
	}

	created := &store.User{Email: "Dora@Example.COM", Name: "Dora"}
	ok(t, "CreateUser", s.CreateUser(ctx, created))
	equal(t, "CreateUser sets the normal form", created.Email, "dora@example.com")
	isErr(t, "CreateUser(same normal form)", s.CreateUser(ctx, &store.User{Email: "DORA@example.com"}), store.ErrAlreadyExists)

	renamed, err := s.UpdateUser(ctx, created.ID, func(u *store.User) error {
		u.Email = "Dora.Explorer@EXAMPLE.com"
		return nil
	})
	ok(t, "UpdateUser e-mail", err)
	equal(t, "UpdateUser stores the normal form", renamed.Email, "dora.explorer@example.com")
}

// testUserEmailLookAlikes: an address with a look-alike or invisible character is refused with
// its *mailaddr.Error by every method that takes an address: it never finds, becomes or renames
// another user.
func testUserEmailLookAlikes(t *testing.T, s store.Store, clock *Clock) {
	ctx := t.Context()
	kate, err := s.UpsertUserByEmail(ctx, "kate@example.com", lastSeen(clock.Now(), "idp-1"))
	ok(t, "UpsertUserByEmail kate", err)
	other, err := s.UpsertUserByEmail(ctx, "other@example.com", lastSeen(clock.Now(), "idp-1"))
	ok(t, "UpsertUserByEmail other", err)
	for _, spoof := range []string{"\u212Aate@example.com", "kate\u200B@example.com", "k\u0430te@example.com", "\uFF4Bate@example.com",
		"kate@\u212Axample.com", "kate@ex\u0430mple.com", "Kate <kate@example.com>", "kate@example.com."} {
		var me *mailaddr.Error
		u, err := s.UpsertUserByEmail(ctx, spoof, lastSeen(clock.Now(), "idp-1"))
		if !errors.As(err, &me) || u != nil {
			t.Errorf("UpsertUserByEmail(%+q) = %+v, %v; want a *mailaddr.Error", spoof, u, err)
		}
		u, err = s.GetUserByEmail(ctx, spoof)
		if !errors.As(err, &me) || u != nil {
			t.Errorf("GetUserByEmail(%+q) = %+v, %v; want a *mailaddr.Error", spoof, u, err)
		}
		if err := s.CreateUser(ctx, &store.User{Email: spoof}); !errors.As(err, &me) {
			t.Errorf("CreateUser(%+q) = %v; want a *mailaddr.Error", spoof, err)
		}
		_, err = s.UpdateUser(ctx, other.ID, func(u *store.User) error {
			u.Email = spoof
			return nil
		})
		if !errors.As(err, &me) {
			t.Errorf("UpdateUser(e-mail %+q) = %v; want a *mailaddr.Error", spoof, err)
		}
	}
	users, err := s.ListUsers(ctx)
	ok(t, "ListUsers", err)
	var emails []string
	for _, u := range users {
		emails = append(emails, u.Email)
	}
	equal(t, "users after the look-alikes", emails, []string{"kate@example.com", "other@example.com"})
	got, err := s.GetUser(ctx, kate.ID)
	ok(t, "GetUser kate", err)
	equal(t, "kate's last login", got.LastSeen, kate.LastSeen)
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
