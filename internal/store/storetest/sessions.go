package storetest

import (
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

var sessionTests = []suiteTest{
	{"CreateGet", testSessionCreateGet},
	{"ListNewestFirst", testListUserSessions},
	{"ExpiryHides", testSessionExpiry},
}

var revocationTests = []suiteTest{
	{"Session", testRevokeSession},
	{"UserWide", testRevokeUserSessions},
	{"App", testRevokeAppTokens},
	{"ExpiredSessionsLeaveTheList", testRevocationsExpiry},
}

func newSession(id, userID string, created time.Time, ttl time.Duration) *store.Session {
	return &store.Session{
		ID: id, UserID: userID, Email: userID + "@example.com", IdPID: "idp-oidc",
		CreatedAt: created, ExpiresAt: created.Add(ttl),
		IP: "192.0.2.1", Country: "DE", Identity: []byte(`{"email":"` + userID + `@example.com"}`),
	}
}

func normSession(s *store.Session) store.Session {
	c := *s
	c.CreatedAt, c.ExpiresAt = ts(c.CreatedAt), ts(c.ExpiresAt)
	if !c.RevokedAt.IsZero() {
		c.RevokedAt = ts(c.RevokedAt)
	}
	return c
}

func testSessionCreateGet(t *testing.T, s store.Store, clock *Clock) {
	ctx := t.Context()
	in := newSession("sess-1", "u1", clock.Now(), 24*time.Hour)
	requireAllFieldsSet(t, in, "Session.RevokedAt")
	ok(t, "CreateSession", s.CreateSession(ctx, in))
	got, err := s.GetSession(ctx, "sess-1")
	ok(t, "GetSession", err)
	equal(t, "GetSession", *got, normSession(in))

	isErr(t, "CreateSession(same ID)", s.CreateSession(ctx, newSession("sess-1", "u2", clock.Now(), time.Hour)), store.ErrAlreadyExists)
	got, err = s.GetSession(ctx, "sess-1")
	ok(t, "GetSession", err)
	equal(t, "GetSession after duplicate create", *got, normSession(in))

	_, err = s.GetSession(ctx, "nope")
	isErr(t, "GetSession(unknown)", err, store.ErrNotFound)
}

func testListUserSessions(t *testing.T, s store.Store, clock *Clock) {
	ctx := t.Context()
	now := clock.Now()
	var want []store.Session
	for i, id := range []string{"s-old", "s-mid", "s-new"} {
		in := newSession(id, "u1", now.Add(time.Duration(i)*time.Minute), 24*time.Hour)
		ok(t, "CreateSession", s.CreateSession(ctx, in))
		want = append([]store.Session{normSession(in)}, want...)
	}
	ok(t, "CreateSession", s.CreateSession(ctx, newSession("s-other-user", "u2", now, 24*time.Hour)))
	ok(t, "CreateSession", s.CreateSession(ctx, newSession("s-short", "u1", now.Add(-time.Hour), 30*time.Minute))) // already expired

	got, err := s.ListUserSessions(ctx, "u1")
	ok(t, "ListUserSessions", err)
	equal(t, "ListUserSessions", got, want)

	got, err = s.ListUserSessions(ctx, "nobody")
	ok(t, "ListUserSessions(nobody)", err)
	if len(got) != 0 {
		t.Errorf("ListUserSessions(nobody) = %v, want none", got)
	}
}

func testSessionExpiry(t *testing.T, s store.Store, clock *Clock) {
	ctx := t.Context()
	ok(t, "CreateSession", s.CreateSession(ctx, newSession("short", "u1", clock.Now(), time.Hour)))
	ok(t, "CreateSession", s.CreateSession(ctx, newSession("long", "u1", clock.Now(), 3*time.Hour)))

	clock.Advance(time.Hour - time.Second)
	_, err := s.GetSession(ctx, "short")
	ok(t, "GetSession before expiry", err)

	clock.Advance(2 * time.Second)
	_, err = s.GetSession(ctx, "short")
	isErr(t, "GetSession after expiry", err, store.ErrNotFound)
	list, err := s.ListUserSessions(ctx, "u1")
	ok(t, "ListUserSessions", err)
	if len(list) != 1 || list[0].ID != "long" {
		t.Errorf("ListUserSessions after expiry = %v, want only the unexpired session", list)
	}
}

func testRevokeSession(t *testing.T, s store.Store, clock *Clock) {
	ctx := t.Context()
	in := newSession("sess-1", "u1", clock.Now(), time.Hour)
	ok(t, "CreateSession", s.CreateSession(ctx, in))
	ok(t, "CreateSession", s.CreateSession(ctx, newSession("sess-2", "u1", clock.Now(), time.Hour)))

	clock.Advance(time.Minute)
	revokedAt := ts(clock.Now())
	ok(t, "RevokeSession", s.RevokeSession(ctx, "sess-1"))
	got, err := s.GetSession(ctx, "sess-1")
	ok(t, "GetSession of a revoked session", err)
	want := normSession(in)
	want.RevokedAt = revokedAt
	equal(t, "revoked session", *got, want)

	clock.Advance(time.Minute)
	ok(t, "RevokeSession again", s.RevokeSession(ctx, "sess-1"))
	got, err = s.GetSession(ctx, "sess-1")
	ok(t, "GetSession", err)
	equal(t, "session revoked twice", *got, want)

	other, err := s.GetSession(ctx, "sess-2")
	ok(t, "GetSession(sess-2)", err)
	if !other.RevokedAt.IsZero() {
		t.Errorf("revoking sess-1 revoked sess-2 too")
	}

	r, err := s.Revocations(ctx)
	ok(t, "Revocations", err)
	equal(t, "RevokedSessions", r.RevokedSessions, map[string]time.Time{"sess-1": ts(in.ExpiresAt)})
}

func testRevokeUserSessions(t *testing.T, s store.Store, clock *Clock) {
	ctx := t.Context()
	u, err := s.UpsertUserByEmail(ctx, "alice@example.com", lastSeen(clock.Now(), "idp-1"))
	ok(t, "UpsertUserByEmail", err)
	bob, err := s.UpsertUserByEmail(ctx, "bob@example.com", lastSeen(clock.Now(), "idp-1"))
	ok(t, "UpsertUserByEmail", err)
	a1 := newSession("a1", u.ID, clock.Now(), time.Hour)
	a2 := newSession("a2", u.ID, clock.Now(), 2*time.Hour)
	b1 := newSession("b1", bob.ID, clock.Now(), time.Hour)
	for _, ss := range []*store.Session{a1, a2, b1} {
		ok(t, "CreateSession", s.CreateSession(ctx, ss))
	}

	clock.Advance(time.Minute)
	now := ts(clock.Now())
	ok(t, "RevokeUserSessions", s.RevokeUserSessions(ctx, u.ID))

	got, err := s.GetUser(ctx, u.ID)
	ok(t, "GetUser", err)
	if !got.TokensNotBefore.Equal(now) || got.TokensNotBefore != ts(got.TokensNotBefore) {
		t.Errorf("TokensNotBefore = %v, want now (%v)", got.TokensNotBefore, now)
	}
	for _, id := range []string{"a1", "a2"} {
		ss, err := s.GetSession(ctx, id)
		ok(t, "GetSession", err)
		if ss.RevokedAt.IsZero() {
			t.Errorf("session %s not revoked", id)
		}
	}
	ss, err := s.GetSession(ctx, "b1")
	ok(t, "GetSession(b1)", err)
	if !ss.RevokedAt.IsZero() {
		t.Errorf("another user's session was revoked")
	}

	r, err := s.Revocations(ctx)
	ok(t, "Revocations", err)
	equal(t, "UserNotBefore", r.UserNotBefore, map[string]time.Time{u.ID: now})
	equal(t, "RevokedSessions", r.RevokedSessions, map[string]time.Time{"a1": ts(a1.ExpiresAt), "a2": ts(a2.ExpiresAt)})
}

func testRevokeAppTokens(t *testing.T, s store.Store, clock *Clock) {
	ctx := t.Context()
	ok(t, "RevokeAppTokens", s.RevokeAppTokens(ctx, "app-1"))
	first := ts(clock.Now())
	clock.Advance(time.Hour)
	ok(t, "RevokeAppTokens", s.RevokeAppTokens(ctx, "app-2"))
	r, err := s.Revocations(ctx)
	ok(t, "Revocations", err)
	equal(t, "AppNotBefore", r.AppNotBefore, map[string]time.Time{"app-1": first, "app-2": ts(clock.Now())})

	clock.Advance(time.Hour)
	ok(t, "RevokeAppTokens again", s.RevokeAppTokens(ctx, "app-1"))
	r, err = s.Revocations(ctx)
	ok(t, "Revocations", err)
	if got, want := r.AppNotBefore["app-1"], ts(clock.Now()); got != want {
		t.Errorf("app-1 not-before = %v after revoking again, want now (%v)", got, want)
	}
}

func testRevocationsExpiry(t *testing.T, s store.Store, clock *Clock) {
	ctx := t.Context()
	r, err := s.Revocations(ctx)
	ok(t, "Revocations", err)
	if len(r.UserNotBefore)+len(r.AppNotBefore)+len(r.RevokedSessions) != 0 {
		t.Errorf("empty store has revocations %+v", r)
	}

	short := newSession("short", "u1", clock.Now(), time.Hour)
	long := newSession("long", "u1", clock.Now(), 2*time.Hour)
	ok(t, "CreateSession", s.CreateSession(ctx, short))
	ok(t, "CreateSession", s.CreateSession(ctx, long))
	ok(t, "CreateSession", s.CreateSession(ctx, newSession("unrevoked", "u1", clock.Now(), 2*time.Hour)))
	ok(t, "RevokeSession", s.RevokeSession(ctx, "short"))
	ok(t, "RevokeSession", s.RevokeSession(ctx, "long"))

	r, err = s.Revocations(ctx)
	ok(t, "Revocations", err)
	equal(t, "RevokedSessions", r.RevokedSessions, map[string]time.Time{"short": ts(short.ExpiresAt), "long": ts(long.ExpiresAt)})

	clock.Advance(90 * time.Minute)
	r, err = s.Revocations(ctx)
	ok(t, "Revocations", err)
	equal(t, "RevokedSessions after the short one expired", r.RevokedSessions, map[string]time.Time{"long": ts(long.ExpiresAt)})
}
