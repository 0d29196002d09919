package storetest

import (
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

var loginFlowTests = []suiteTest{
	{"CreateGetDelete", testLoginFlow},
	{"Expiry", testLoginFlowExpiry},
}

var handoffTests = []suiteTest{
	{"SingleUse", testHandoffSingleUse},
	{"UnknownOrExpired", testHandoffUnknownOrExpired},
}

var pinTests = []suiteTest{
	{"AttemptsCounted", testPINAttempts},
	{"ConsumedOnlyWhenCheckPasses", testPINConsumed},
	{"UnknownOrExpired", testPINUnknownOrExpired},
}

func testLoginFlow(t *testing.T, s store.Store, clock *Clock) {
	ctx := t.Context()
	in := &store.LoginFlow{
		ID: "flow-1", AppID: "app-1", RedirectURL: "https://wiki.example.com/page?x=1", IdPID: "idp-oidc",
		CreatedAt: clock.Now(), ExpiresAt: clock.Now().Add(10 * time.Minute),
		BrowserBinding: "binding-hash",
		Data:           map[string]string{"nonce": "n-1", "pkce_verifier": "v-1"},
	}
	requireAllFieldsSet(t, in)
	ok(t, "CreateLoginFlow", s.CreateLoginFlow(ctx, in))
	got, err := s.GetLoginFlow(ctx, "flow-1")
	ok(t, "GetLoginFlow", err)
	want := *in
	want.CreatedAt, want.ExpiresAt = ts(in.CreatedAt), ts(in.ExpiresAt)
	equal(t, "GetLoginFlow", *got, want)

	_, err = s.GetLoginFlow(ctx, "nope")
	isErr(t, "GetLoginFlow(unknown)", err, store.ErrNotFound)

	ok(t, "DeleteLoginFlow", s.DeleteLoginFlow(ctx, "flow-1"))
	_, err = s.GetLoginFlow(ctx, "flow-1")
	isErr(t, "GetLoginFlow after delete", err, store.ErrNotFound)
	isErr(t, "DeleteLoginFlow again", s.DeleteLoginFlow(ctx, "flow-1"), store.ErrNotFound)
}

func testLoginFlowExpiry(t *testing.T, s store.Store, clock *Clock) {
	ctx := t.Context()
	for _, id := range []string{"a", "b"} {
		ok(t, "CreateLoginFlow", s.CreateLoginFlow(ctx, &store.LoginFlow{ID: id, CreatedAt: clock.Now(), ExpiresAt: clock.Now().Add(10 * time.Minute)}))
	}
	clock.Advance(10*time.Minute - time.Second)
	_, err := s.GetLoginFlow(ctx, "a")
	ok(t, "GetLoginFlow before expiry", err)
	clock.Advance(2 * time.Second)
	_, err = s.GetLoginFlow(ctx, "a")
	isErr(t, "GetLoginFlow after expiry", err, store.ErrNotFound)
	isErr(t, "DeleteLoginFlow after expiry", s.DeleteLoginFlow(ctx, "b"), store.ErrNotFound)
}

func newHandoffCode(hash string, now time.Time) *store.HandoffCode {
	return &store.HandoffCode{
		CodeHash: hash, SessionID: "sess-1", AppID: "app-1", Host: "wiki.example.com",
		RedirectURL: "https://wiki.example.com/page", BrowserBinding: "nonce-cookie-hash", Token: "eyJhbGciOi.payload.sig",
		CreatedAt: now, ExpiresAt: now.Add(time.Minute),
	}
}

func testHandoffSingleUse(t *testing.T, s store.Store, clock *Clock) {
	ctx := t.Context()
	in := newHandoffCode("hash-1", clock.Now())
	requireAllFieldsSet(t, in, "HandoffCode.UsedAt")
	ok(t, "CreateHandoffCode", s.CreateHandoffCode(ctx, in))

	clock.Advance(time.Second)
	got, err := s.ConsumeHandoffCode(ctx, "hash-1")
	ok(t, "ConsumeHandoffCode", err)
	want := *in
	want.CreatedAt, want.ExpiresAt, want.UsedAt = ts(in.CreatedAt), ts(in.ExpiresAt), ts(clock.Now())
	equal(t, "consumed code", *got, want)

	_, err = s.ConsumeHandoffCode(ctx, "hash-1")
	isErr(t, "second ConsumeHandoffCode", err, store.ErrConflict)
}

func testHandoffUnknownOrExpired(t *testing.T, s store.Store, clock *Clock) {
	ctx := t.Context()
	_, err := s.ConsumeHandoffCode(ctx, "unknown")
	isErr(t, "ConsumeHandoffCode(unknown)", err, store.ErrNotFound)

	ok(t, "CreateHandoffCode", s.CreateHandoffCode(ctx, newHandoffCode("hash-1", clock.Now())))
	clock.Advance(time.Minute + time.Second)
	_, err = s.ConsumeHandoffCode(ctx, "hash-1")
	isErr(t, "ConsumeHandoffCode(expired)", err, store.ErrNotFound)
}

func newPIN(id string, now time.Time) *store.PINChallenge {
	return &store.PINChallenge{ID: id, Email: "alice@example.com", PINHash: "pin-hash", CreatedAt: now, ExpiresAt: now.Add(10 * time.Minute)}
}

func testPINAttempts(t *testing.T, s store.Store, clock *Clock) {
	ctx := t.Context()
	in := newPIN("pin-1", clock.Now())
	ok(t, "CreatePINChallenge", s.CreatePINChallenge(ctx, in))
	const maxAttempts = 3
	for n := 1; n <= maxAttempts; n++ {
		calls := 0
		got, consumed, err := s.AttemptPINChallenge(ctx, "pin-1", maxAttempts, func(c *store.PINChallenge) bool {
			calls++
			if c.Attempts != n {
				t.Errorf("attempt %d: check saw Attempts = %d, want the incremented count %d", n, c.Attempts, n)
			}
			if c.PINHash != "pin-hash" || c.Email != "alice@example.com" {
				t.Errorf("attempt %d: check saw %+v", n, c)
			}
			return false
		})
		ok(t, "AttemptPINChallenge", err)
		if consumed || calls == 0 {
			t.Errorf("attempt %d: consumed = %v after %d check calls, want false after at least 1", n, consumed, calls)
		}
		want := *in
		want.CreatedAt, want.ExpiresAt, want.Attempts = ts(in.CreatedAt), ts(in.ExpiresAt), n
		equal(t, "returned challenge", *got, want)
	}
	called := false
	_, consumed, err := s.AttemptPINChallenge(ctx, "pin-1", maxAttempts, func(*store.PINChallenge) bool {
		called = true
		return true
	})
	isErr(t, "attempt beyond maxAttempts", err, store.ErrConflict)
	if called || consumed {
		t.Errorf("attempt beyond maxAttempts: check called = %v, consumed = %v; want neither", called, consumed)
	}
}

func testPINConsumed(t *testing.T, s store.Store, clock *Clock) {
	ctx := t.Context()
	in := newPIN("pin-1", clock.Now())
	requireAllFieldsSet(t, in, "PINChallenge.Attempts", "PINChallenge.UsedAt")
	ok(t, "CreatePINChallenge", s.CreatePINChallenge(ctx, in))

	_, consumed, err := s.AttemptPINChallenge(ctx, "pin-1", 5, func(*store.PINChallenge) bool { return false })
	ok(t, "AttemptPINChallenge (wrong PIN)", err)
	if consumed {
		t.Fatalf("challenge consumed although check returned false")
	}
	clock.Advance(time.Second)
	got, consumed, err := s.AttemptPINChallenge(ctx, "pin-1", 5, func(*store.PINChallenge) bool { return true })
	ok(t, "AttemptPINChallenge (right PIN)", err)
	if !consumed {
		t.Fatalf("challenge not consumed although check returned true")
	}
	want := *in
	want.CreatedAt, want.ExpiresAt, want.Attempts, want.UsedAt = ts(in.CreatedAt), ts(in.ExpiresAt), 2, ts(clock.Now())
	equal(t, "consumed challenge", *got, want)

	called := false
	_, consumed, err = s.AttemptPINChallenge(ctx, "pin-1", 5, func(*store.PINChallenge) bool {
		called = true
		return true
	})
	isErr(t, "attempt on a used challenge", err, store.ErrConflict)
	if called || consumed {
		t.Errorf("attempt on a used challenge: check called = %v, consumed = %v; want neither", called, consumed)
	}
}

func testPINUnknownOrExpired(t *testing.T, s store.Store, clock *Clock) {
	ctx := t.Context()
	never := func(*store.PINChallenge) bool {
		t.Errorf("check called for an unknown or expired challenge")
		return true
	}
	_, _, err := s.AttemptPINChallenge(ctx, "unknown", 5, never)
	isErr(t, "AttemptPINChallenge(unknown)", err, store.ErrNotFound)

	ok(t, "CreatePINChallenge", s.CreatePINChallenge(ctx, newPIN("pin-1", clock.Now())))
	clock.Advance(10*time.Minute + time.Second)
	_, _, err = s.AttemptPINChallenge(ctx, "pin-1", 5, never)
	isErr(t, "AttemptPINChallenge(expired)", err, store.ErrNotFound)
}
