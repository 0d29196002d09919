package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

var oidcTests = []suiteTest{
	{"CodeRoundTrip", testOIDCCodeRoundTrip},
	{"CodeRedeemRefusedStaysUnused", testOIDCCodeRefused},
	{"CodeReplayRevokesGrant", testOIDCCodeReplay},
	{"CodeUnknownExpiredDuplicate", testOIDCCodeUnknownOrExpired},
	{"RefreshRotation", testOIDCRefreshRotation},
	{"RefreshReuseRevokesGrant", testOIDCRefreshReuse},
	{"RefreshUpdateRefused", testOIDCRefreshUpdateRefused},
	{"RefreshAndGrantExpiry", testOIDCExpiry},
	{"RevokeGrant", testOIDCRevokeGrant},
	{"ConcurrentCodeOneWinner", testOIDCConcurrentCode},
	{"ConcurrentRefreshOneWinner", testOIDCConcurrentRefresh},
	{"RefreshReuseWithinGrace", testOIDCRefreshReuseWithinGrace},
	{"RefreshReuseGraceRefused", testOIDCRefreshReuseGraceRefused},
	{"ConcurrentRefreshWithGrace", testOIDCConcurrentRefreshWithGrace},
}

func newOIDCCode(hash string, now time.Time) *store.OIDCCode {
	return &store.OIDCCode{
		CodeHash: hash, GrantID: "grant-" + hash, AppID: "app-oidc", ClientID: "client-1",
		RedirectURI:   "https://saas.example.com/oauth/callback?tenant=1",
		CodeChallenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", Nonce: "nonce-1",
		Scopes: []string{"openid", "email", "groups"}, UserID: "user-1", SessionID: "sess-1",
		AuthTime: now.Add(-time.Hour), Identity: []byte(`{"user_uuid":"user-1","email":"alice@example.com"}`),
		CreatedAt: now, ExpiresAt: now.Add(time.Minute),
	}
}

// grantFor is the grant a token endpoint would create from c.
func grantFor(c *store.OIDCCode, now time.Time) *store.OIDCGrant {
	return &store.OIDCGrant{
		ID: c.GrantID, AppID: c.AppID, ClientID: c.ClientID, UserID: c.UserID, SessionID: c.SessionID,
		Scopes: c.Scopes, PublicClient: true, AuthTime: c.AuthTime, Identity: c.Identity,
		CreatedAt: now, ExpiresAt: now.Add(30 * 24 * time.Hour),
	}
}

func newRefresh(hash, grantID string, now time.Time) *store.OIDCRefreshToken {
	return &store.OIDCRefreshToken{TokenHash: hash, GrantID: grantID, CreatedAt: now, ExpiresAt: now.Add(30 * 24 * time.Hour)}
}

// normCode, normGrant and normRefresh are what a backend returns for a stored value.
func normCode(c *store.OIDCCode) store.OIDCCode {
	n := *c
	n.AuthTime, n.CreatedAt, n.ExpiresAt = ts(c.AuthTime), ts(c.CreatedAt), ts(c.ExpiresAt)
	if !c.UsedAt.IsZero() {
		n.UsedAt = ts(c.UsedAt)
	}
	return n
}

func normGrant(g *store.OIDCGrant) store.OIDCGrant {
	n := *g
	n.AuthTime, n.CreatedAt, n.ExpiresAt = ts(g.AuthTime), ts(g.CreatedAt), ts(g.ExpiresAt)
	if !g.RevokedAt.IsZero() {
		n.RevokedAt = ts(g.RevokedAt)
	}
	return n
}

func normRefresh(t *store.OIDCRefreshToken) store.OIDCRefreshToken {
	n := *t
	n.CreatedAt, n.ExpiresAt = ts(t.CreatedAt), ts(t.ExpiresAt)
	if !t.UsedAt.IsZero() {
		n.UsedAt = ts(t.UsedAt)
	}
	return n
}

// redeemWith returns a redeem callback that creates grantFor(code) and, if refreshHash is not
// empty, its first refresh token.
func redeemWith(now time.Time, refreshHash string) func(*store.OIDCCode) (*store.OIDCGrant, *store.OIDCRefreshToken, error) {
	return func(c *store.OIDCCode) (*store.OIDCGrant, *store.OIDCRefreshToken, error) {
		g := grantFor(c, now)
		if refreshHash == "" {
			return g, nil, nil
		}
		return g, newRefresh(refreshHash, g.ID, now), nil
	}
}

func testOIDCCodeRoundTrip(t *testing.T, s store.Store, clock *Clock) {
	ctx := t.Context()
	in := newOIDCCode("code-1", clock.Now())
	requireAllFieldsSet(t, in, "OIDCCode.UsedAt")
	ok(t, "CreateOIDCCode", s.CreateOIDCCode(ctx, in))

	clock.Advance(time.Second)
	calls := 0
	var wantGrant *store.OIDCGrant
	code, grant, err := s.RedeemOIDCCode(ctx, "code-1", func(c *store.OIDCCode) (*store.OIDCGrant, *store.OIDCRefreshToken, error) {
		calls++
		equal(t, "code passed to redeem", *c, normCode(in))
		wantGrant = grantFor(c, clock.Now())
		return wantGrant, newRefresh("refresh-1", c.GrantID, clock.Now()), nil
	})
	ok(t, "RedeemOIDCCode", err)
	if calls == 0 {
		t.Fatal("redeem callback never called")
	}
	want := normCode(in)
	want.UsedAt = ts(clock.Now())
	equal(t, "redeemed code", *code, want)
	requireAllFieldsSet(t, wantGrant, "OIDCGrant.RevokedAt", "OIDCGrant.RevokeReason")
	equal(t, "stored grant", *grant, normGrant(wantGrant))

	got, err := s.GetOIDCGrant(ctx, in.GrantID)
	ok(t, "GetOIDCGrant", err)
	equal(t, "GetOIDCGrant", *got, normGrant(wantGrant))

	rt, rg, err := s.GetOIDCRefreshToken(ctx, "refresh-1")
	ok(t, "GetOIDCRefreshToken", err)
	wantRT := newRefresh("refresh-1", in.GrantID, clock.Now())
	requireAllFieldsSet(t, wantRT, "OIDCRefreshToken.UsedAt", "OIDCRefreshToken.SuccessorHash", "OIDCRefreshToken.SealedSuccessor")
	equal(t, "GetOIDCRefreshToken token", *rt, normRefresh(wantRT))
	equal(t, "GetOIDCRefreshToken grant", *rg, normGrant(wantGrant))

	// A grant without refresh token and with a zero CreatedAt (meaning now).
	ok(t, "CreateOIDCCode", s.CreateOIDCCode(ctx, newOIDCCode("code-2", clock.Now())))
	_, grant, err = s.RedeemOIDCCode(ctx, "code-2", func(c *store.OIDCCode) (*store.OIDCGrant, *store.OIDCRefreshToken, error) {
		g := grantFor(c, time.Time{})
		g.PublicClient = false
		return g, nil, nil
	})
	ok(t, "RedeemOIDCCode without refresh token", err)
	if !grant.CreatedAt.Equal(ts(clock.Now())) || grant.PublicClient {
		t.Errorf("grant CreatedAt = %v, PublicClient = %v; want now (%v) and false", grant.CreatedAt, grant.PublicClient, ts(clock.Now()))
	}
}

func testOIDCCodeRefused(t *testing.T, s store.Store, clock *Clock) {
	ctx := t.Context()
	ok(t, "CreateOIDCCode", s.CreateOIDCCode(ctx, newOIDCCode("code-1", clock.Now())))
	refused := errors.New("wrong code_verifier")
	_, _, err := s.RedeemOIDCCode(ctx, "code-1", func(*store.OIDCCode) (*store.OIDCGrant, *store.OIDCRefreshToken, error) {
		return nil, nil, refused
	})
	if err != refused { //nolint:errorlint // the contract says unwrapped
		t.Fatalf("RedeemOIDCCode with a refusing callback = %v, want the callback's error unwrapped", err)
	}
	_, err = s.GetOIDCGrant(ctx, "grant-code-1")
	isErr(t, "GetOIDCGrant after a refused redeem", err, store.ErrNotFound)
	_, _, err = s.RedeemOIDCCode(ctx, "code-1", redeemWith(clock.Now(), ""))
	ok(t, "RedeemOIDCCode after a refused attempt", err)
}

func testOIDCCodeReplay(t *testing.T, s store.Store, clock *Clock) {
	ctx := t.Context()
	ok(t, "CreateOIDCCode", s.CreateOIDCCode(ctx, newOIDCCode("code-1", clock.Now())))
	_, _, err := s.RedeemOIDCCode(ctx, "code-1", redeemWith(clock.Now(), "refresh-1"))
	ok(t, "RedeemOIDCCode", err)

	clock.Advance(10 * time.Second)
	called := false
	_, _, err = s.RedeemOIDCCode(ctx, "code-1", func(*store.OIDCCode) (*store.OIDCGrant, *store.OIDCRefreshToken, error) {
		called = true
		return nil, nil, nil
	})
	isErr(t, "second RedeemOIDCCode", err, store.ErrConflict)
	if called {
		t.Error("redeem callback called for a used code")
	}
	g, err := s.GetOIDCGrant(ctx, "grant-code-1")
	ok(t, "GetOIDCGrant", err)
	if !g.RevokedAt.Equal(ts(clock.Now())) || g.RevokeReason != store.OIDCRevokedCodeReplayed {
		t.Errorf("after a replay the grant has RevokedAt %v, reason %q; want %v, %q", g.RevokedAt, g.RevokeReason, ts(clock.Now()), store.OIDCRevokedCodeReplayed)
	}
	_, rg, err := s.GetOIDCRefreshToken(ctx, "refresh-1")
	ok(t, "GetOIDCRefreshToken", err)
	if rg.RevokedAt.IsZero() {
		t.Error("GetOIDCRefreshToken returns the grant unrevoked after a code replay")
	}
	_, err = rotate(ctx, s, "refresh-1", newRefresh("refresh-2", "grant-code-1", clock.Now()), func(*store.OIDCGrant) error { return nil })
	isErr(t, "RotateOIDCRefreshToken of a revoked grant", err, store.ErrConflict)

	// Late replays are still recognized for an hour past the expiry.
	clock.Advance(time.Minute + 59*time.Minute)
	_, _, err = s.RedeemOIDCCode(ctx, "code-1", redeemWith(clock.Now(), ""))
	isErr(t, "RedeemOIDCCode replayed after the code's expiry", err, store.ErrConflict)
}

func testOIDCCodeUnknownOrExpired(t *testing.T, s store.Store, clock *Clock) {
	ctx := t.Context()
	never := func(*store.OIDCCode) (*store.OIDCGrant, *store.OIDCRefreshToken, error) {
		t.Error("redeem callback called")
		return nil, nil, errors.New("unreachable")
	}
	_, _, err := s.RedeemOIDCCode(ctx, "unknown", never)
	isErr(t, "RedeemOIDCCode(unknown)", err, store.ErrNotFound)

	in := newOIDCCode("code-1", clock.Now())
	ok(t, "CreateOIDCCode", s.CreateOIDCCode(ctx, in))
	isErr(t, "CreateOIDCCode(duplicate)", s.CreateOIDCCode(ctx, newOIDCCode("code-1", clock.Now())), store.ErrAlreadyExists)
	clock.Advance(time.Minute)
	_, _, err = s.RedeemOIDCCode(ctx, "code-1", never)
	isErr(t, "RedeemOIDCCode(expired)", err, store.ErrNotFound)
}

func testOIDCRefreshRotation(t *testing.T, s store.Store, clock *Clock) {
	ctx := t.Context()
	ok(t, "CreateOIDCCode", s.CreateOIDCCode(ctx, newOIDCCode("code-1", clock.Now())))
	_, grant, err := s.RedeemOIDCCode(ctx, "code-1", redeemWith(clock.Now(), "refresh-1"))
	ok(t, "RedeemOIDCCode", err)

	clock.Advance(time.Hour)
	newIdentity := []byte(`{"user_uuid":"user-1","email":"alice@example.com","name":"Alice"}`)
	newExpiry := clock.Now().Add(30 * 24 * time.Hour)
	next := newRefresh("refresh-2", grant.ID, clock.Now())
	got, err := rotate(ctx, s, "refresh-1", next, func(g *store.OIDCGrant) error {
		equal(t, "grant passed to update", *g, *grant)
		g.Identity, g.ExpiresAt = newIdentity, newExpiry
		g.UserID, g.Scopes = "someone-else", []string{"openid"} // fixed fields: ignored
		return nil
	})
	ok(t, "RotateOIDCRefreshToken", err)
	want := *grant
	want.Identity, want.ExpiresAt = newIdentity, ts(newExpiry)
	equal(t, "rotated grant", *got, want)
	stored, err := s.GetOIDCGrant(ctx, grant.ID)
	ok(t, "GetOIDCGrant", err)
	equal(t, "stored grant after rotation", *stored, want)

	old, _, err := s.GetOIDCRefreshToken(ctx, "refresh-1")
	ok(t, "GetOIDCRefreshToken(old)", err)
	requireAllFieldsSet(t, old)
	if !old.UsedAt.Equal(ts(clock.Now())) || old.SuccessorHash != "refresh-2" || string(old.SealedSuccessor) != string(sealedFor(next)) {
		t.Errorf("rotated token UsedAt %v, successor %q sealed %q; want %v, %q, %q", old.UsedAt, old.SuccessorHash, old.SealedSuccessor,
			ts(clock.Now()), "refresh-2", sealedFor(next))
	}
	nt, _, err := s.GetOIDCRefreshToken(ctx, "refresh-2")
	ok(t, "GetOIDCRefreshToken(new)", err)
	equal(t, "new refresh token", *nt, normRefresh(next))

	clock.Advance(time.Hour)
	_, err = rotate(ctx, s, "refresh-2", newRefresh("refresh-3", grant.ID, clock.Now()), func(*store.OIDCGrant) error { return nil })
	ok(t, "second rotation", err)
	isErr(t, "rotation into a taken hash",
		errOnly(rotate(ctx, s, "refresh-3", newRefresh("refresh-1", grant.ID, clock.Now()), func(*store.OIDCGrant) error { return nil })),
		store.ErrAlreadyExists)
}

func errOnly[T any](_ T, err error) error { return err }

func testOIDCRefreshReuse(t *testing.T, s store.Store, clock *Clock) {
	ctx := t.Context()
	ok(t, "CreateOIDCCode", s.CreateOIDCCode(ctx, newOIDCCode("code-1", clock.Now())))
	_, grant, err := s.RedeemOIDCCode(ctx, "code-1", redeemWith(clock.Now(), "refresh-1"))
	ok(t, "RedeemOIDCCode", err)
	noUpdate := func(*store.OIDCGrant) error { return nil }
	_, err = rotate(ctx, s, "refresh-1", newRefresh("refresh-2", grant.ID, clock.Now()), noUpdate)
	ok(t, "RotateOIDCRefreshToken", err)

	clock.Advance(time.Minute)
	called := false
	_, err = rotate(ctx, s, "refresh-1", newRefresh("refresh-x", grant.ID, clock.Now()), func(*store.OIDCGrant) error {
		called = true
		return nil
	})
	isErr(t, "reuse of a rotated refresh token", err, store.ErrConflict)
	if called {
		t.Error("update called on a reuse")
	}
	g, err := s.GetOIDCGrant(ctx, grant.ID)
	ok(t, "GetOIDCGrant", err)
	if !g.RevokedAt.Equal(ts(clock.Now())) || g.RevokeReason != store.OIDCRevokedRefreshReused {
		t.Errorf("after a reuse the grant has RevokedAt %v, reason %q; want %v, %q", g.RevokedAt, g.RevokeReason, ts(clock.Now()), store.OIDCRevokedRefreshReused)
	}
	_, _, err = s.GetOIDCRefreshToken(ctx, "refresh-x")
	isErr(t, "the reused rotation's new token", err, store.ErrNotFound)
	_, err = rotate(ctx, s, "refresh-2", newRefresh("refresh-3", grant.ID, clock.Now()), noUpdate)
	isErr(t, "rotating the family's newest token after a reuse", err, store.ErrConflict)
}

func testOIDCRefreshUpdateRefused(t *testing.T, s store.Store, clock *Clock) {
	ctx := t.Context()
	ok(t, "CreateOIDCCode", s.CreateOIDCCode(ctx, newOIDCCode("code-1", clock.Now())))
	_, grant, err := s.RedeemOIDCCode(ctx, "code-1", redeemWith(clock.Now(), "refresh-1"))
	ok(t, "RedeemOIDCCode", err)
	refused := errors.New("policy denies")
	_, err = rotate(ctx, s, "refresh-1", newRefresh("refresh-2", grant.ID, clock.Now()), func(*store.OIDCGrant) error { return refused })
	if err != refused { //nolint:errorlint // the contract says unwrapped
		t.Fatalf("RotateOIDCRefreshToken with a refusing update = %v, want the update's error unwrapped", err)
	}
	old, _, err := s.GetOIDCRefreshToken(ctx, "refresh-1")
	ok(t, "GetOIDCRefreshToken", err)
	if !old.UsedAt.IsZero() {
		t.Error("a refused rotation marked the old token used")
	}
	_, _, err = s.GetOIDCRefreshToken(ctx, "refresh-2")
	isErr(t, "GetOIDCRefreshToken(next of a refused rotation)", err, store.ErrNotFound)
	_, err = rotate(ctx, s, "refresh-1", newRefresh("refresh-2", "another-grant", clock.Now()), func(*store.OIDCGrant) error { return nil })
	if err == nil {
		t.Error("RotateOIDCRefreshToken accepted a next token of another grant")
	}
}

func testOIDCExpiry(t *testing.T, s store.Store, clock *Clock) {
	ctx := t.Context()
	ok(t, "CreateOIDCCode", s.CreateOIDCCode(ctx, newOIDCCode("code-1", clock.Now())))
	_, grant, err := s.RedeemOIDCCode(ctx, "code-1", func(c *store.OIDCCode) (*store.OIDCGrant, *store.OIDCRefreshToken, error) {
		g := grantFor(c, clock.Now())
		g.ExpiresAt = clock.Now().Add(2 * time.Hour)
		rt := newRefresh("refresh-1", g.ID, clock.Now())
		rt.ExpiresAt = clock.Now().Add(time.Hour)
		return g, rt, nil
	})
	ok(t, "RedeemOIDCCode", err)
	noUpdate := func(*store.OIDCGrant) error { return nil }

	clock.Advance(time.Hour - time.Second)
	_, _, err = s.GetOIDCRefreshToken(ctx, "refresh-1")
	ok(t, "GetOIDCRefreshToken before expiry", err)
	clock.Advance(time.Second)
	_, _, err = s.GetOIDCRefreshToken(ctx, "refresh-1")
	isErr(t, "GetOIDCRefreshToken at expiry", err, store.ErrNotFound)
	_, err = rotate(ctx, s, "refresh-1", newRefresh("refresh-2", grant.ID, clock.Now()), noUpdate)
	isErr(t, "RotateOIDCRefreshToken of an expired token", err, store.ErrNotFound)
	_, err = s.GetOIDCGrant(ctx, grant.ID)
	ok(t, "GetOIDCGrant before the grant's expiry", err)

	clock.Advance(time.Hour)
	_, err = s.GetOIDCGrant(ctx, grant.ID)
	isErr(t, "GetOIDCGrant at expiry", err, store.ErrNotFound)
	isErr(t, "RevokeOIDCGrant of an expired grant", s.RevokeOIDCGrant(ctx, grant.ID, "x"), store.ErrNotFound)

	// An unexpired token of an expired grant is not found either.
	ok(t, "CreateOIDCCode", s.CreateOIDCCode(ctx, newOIDCCode("code-2", clock.Now())))
	_, _, err = s.RedeemOIDCCode(ctx, "code-2", func(c *store.OIDCCode) (*store.OIDCGrant, *store.OIDCRefreshToken, error) {
		g := grantFor(c, clock.Now())
		g.ExpiresAt = clock.Now().Add(time.Minute)
		return g, newRefresh("refresh-3", g.ID, clock.Now()), nil
	})
	ok(t, "RedeemOIDCCode", err)
	clock.Advance(time.Minute)
	_, _, err = s.GetOIDCRefreshToken(ctx, "refresh-3")
	isErr(t, "GetOIDCRefreshToken of an expired grant", err, store.ErrNotFound)
	_, err = rotate(ctx, s, "refresh-3", newRefresh("refresh-4", "grant-code-2", clock.Now()), noUpdate)
	isErr(t, "RotateOIDCRefreshToken of an expired grant", err, store.ErrNotFound)
}

func testOIDCRevokeGrant(t *testing.T, s store.Store, clock *Clock) {
	ctx := t.Context()
	isErr(t, "RevokeOIDCGrant(unknown)", s.RevokeOIDCGrant(ctx, "nope", "admin"), store.ErrNotFound)
	ok(t, "CreateOIDCCode", s.CreateOIDCCode(ctx, newOIDCCode("code-1", clock.Now())))
	_, grant, err := s.RedeemOIDCCode(ctx, "code-1", redeemWith(clock.Now(), "refresh-1"))
	ok(t, "RedeemOIDCCode", err)
	clock.Advance(time.Second)
	revokedAt := ts(clock.Now())
	ok(t, "RevokeOIDCGrant", s.RevokeOIDCGrant(ctx, grant.ID, "admin"))
	clock.Advance(time.Second)
	ok(t, "RevokeOIDCGrant again", s.RevokeOIDCGrant(ctx, grant.ID, "other"))
	g, err := s.GetOIDCGrant(ctx, grant.ID)
	ok(t, "GetOIDCGrant", err)
	if !g.RevokedAt.Equal(revokedAt) || g.RevokeReason != "admin" {
		t.Errorf("revoked grant has RevokedAt %v, reason %q; want the first revocation's %v, %q", g.RevokedAt, g.RevokeReason, revokedAt, "admin")
	}
	_, err = rotate(ctx, s, "refresh-1", newRefresh("refresh-2", grant.ID, clock.Now()), func(*store.OIDCGrant) error { return nil })
	isErr(t, "RotateOIDCRefreshToken of a revoked grant", err, store.ErrConflict)
	old, _, err := s.GetOIDCRefreshToken(ctx, "refresh-1")
	ok(t, "GetOIDCRefreshToken", err)
	if !old.UsedAt.IsZero() {
		t.Error("a refused rotation of a revoked grant marked the token used")
	}
}

func testOIDCConcurrentCode(t *testing.T, s store.Store, clock *Clock) {
	ctx := t.Context()
	ok(t, "CreateOIDCCode", s.CreateOIDCCode(ctx, newOIDCCode("code-1", clock.Now())))
	errs := race(func(i int) error {
		_, _, err := s.RedeemOIDCCode(ctx, "code-1", redeemWith(clock.Now(), fmt.Sprintf("refresh-%d", i)))
		return err
	})
	if wins := countErrs(t, "RedeemOIDCCode", errs, store.ErrConflict); wins != 1 {
		t.Fatalf("%d of %d concurrent RedeemOIDCCode calls won, want exactly 1", wins, goroutines)
	}
	g, err := s.GetOIDCGrant(ctx, "grant-code-1")
	ok(t, "GetOIDCGrant", err)
	if g.RevokeReason != store.OIDCRevokedCodeReplayed {
		t.Errorf("after concurrent redemptions the grant's revoke reason is %q, want %q", g.RevokeReason, store.OIDCRevokedCodeReplayed)
	}
}

func testOIDCConcurrentRefresh(t *testing.T, s store.Store, clock *Clock) {
	ctx := t.Context()
	ok(t, "CreateOIDCCode", s.CreateOIDCCode(ctx, newOIDCCode("code-1", clock.Now())))
	_, grant, err := s.RedeemOIDCCode(ctx, "code-1", redeemWith(clock.Now(), "refresh-0"))
	ok(t, "RedeemOIDCCode", err)
	errs := race(func(i int) error {
		_, err := rotate(ctx, s, "refresh-0", newRefresh(fmt.Sprintf("refresh-%d", i+1), grant.ID, clock.Now()),
			func(*store.OIDCGrant) error { return nil })
		return err
	})
	if wins := countErrs(t, "RotateOIDCRefreshToken", errs, store.ErrConflict); wins != 1 {
		t.Fatalf("%d of %d concurrent rotations of one refresh token won, want exactly 1", wins, goroutines)
	}
	g, err := s.GetOIDCGrant(ctx, grant.ID)
	ok(t, "GetOIDCGrant", err)
	if g.RevokeReason != store.OIDCRevokedRefreshReused {
		t.Errorf("after concurrent rotations the grant's revoke reason is %q, want %q", g.RevokeReason, store.OIDCRevokedRefreshReused)
	}
}

// sealedFor stands in for the token endpoint's sealing of a successor: the store keeps the
// bytes opaque, so any recognizable value will do.
func sealedFor(next *store.OIDCRefreshToken) []byte { return []byte("sealed:" + next.TokenHash) }

// rotate is RotateOIDCRefreshToken without reuse grace, returning the grant.
func rotate(ctx context.Context, s store.Store, oldHash string, next *store.OIDCRefreshToken, update func(*store.OIDCGrant) error) (*store.OIDCGrant, error) {
	r, err := s.RotateOIDCRefreshToken(ctx, &store.OIDCRefreshRotation{OldHash: oldHash, Next: next, SealedNext: sealedFor(next), Update: update})
	if err != nil {
		return nil, err
	}
	if r.Reused {
		return nil, fmt.Errorf("rotation without grace reported a forgiven reuse")
	}
	return r.Grant, nil
}

// graceRotation is a rotation of oldHash into nextHash with reuse grace.
func graceRotation(oldHash, nextHash, grantID string, now time.Time, grace time.Duration, update func(*store.OIDCGrant) error) *store.OIDCRefreshRotation {
	next := newRefresh(nextHash, grantID, now)
	if update == nil {
		update = func(*store.OIDCGrant) error { return nil }
	}
	return &store.OIDCRefreshRotation{OldHash: oldHash, Next: next, SealedNext: sealedFor(next), ReuseGrace: grace, Update: update}
}

func testOIDCRefreshReuseWithinGrace(t *testing.T, s store.Store, clock *Clock) {
	ctx := t.Context()
	const grace = 10 * time.Second
	ok(t, "CreateOIDCCode", s.CreateOIDCCode(ctx, newOIDCCode("code-1", clock.Now())))
	_, grant, err := s.RedeemOIDCCode(ctx, "code-1", redeemWith(clock.Now(), "refresh-1"))
	ok(t, "RedeemOIDCCode", err)
	first := graceRotation("refresh-1", "refresh-2", grant.ID, clock.Now(), grace, nil)
	r, err := s.RotateOIDCRefreshToken(ctx, first)
	ok(t, "RotateOIDCRefreshToken", err)
	if r.Reused || r.SealedSuccessor != nil {
		t.Fatalf("a first rotation reported Reused %v, SealedSuccessor %q", r.Reused, r.SealedSuccessor)
	}
	rotatedAt := ts(clock.Now())

	// A refused update within the grace period changes nothing.
	clock.Advance(grace / 2)
	refused := errors.New("policy denies")
	_, err = s.RotateOIDCRefreshToken(ctx, graceRotation("refresh-1", "refresh-x", grant.ID, clock.Now(), grace,
		func(*store.OIDCGrant) error { return refused }))
	if err != refused { //nolint:errorlint // the contract says unwrapped
		t.Fatalf("reuse within grace with a refusing update = %v, want the update's error unwrapped", err)
	}

	// Just inside the window: forgiven. The grant is updated, the successor handed out again,
	// nothing new is stored and the window does not move.
	clock.Advance(grace/2 - time.Microsecond)
	newIdentity := []byte(`{"user_uuid":"user-1","email":"alice@example.com","name":"Alice"}`)
	newExpiry := clock.Now().Add(40 * 24 * time.Hour)
	r, err = s.RotateOIDCRefreshToken(ctx, graceRotation("refresh-1", "refresh-x", grant.ID, clock.Now(), grace,
		func(g *store.OIDCGrant) error {
			g.Identity, g.ExpiresAt = newIdentity, newExpiry
			return nil
		}))
	ok(t, "RotateOIDCRefreshToken within the grace period", err)
	if !r.Reused || string(r.SealedSuccessor) != string(sealedFor(first.Next)) {
		t.Fatalf("reuse within grace: Reused %v, SealedSuccessor %q; want true, %q", r.Reused, r.SealedSuccessor, sealedFor(first.Next))
	}
	want := *grant
	want.Identity, want.ExpiresAt = newIdentity, ts(newExpiry)
	equal(t, "grant after a forgiven reuse", *r.Grant, want)
	stored, err := s.GetOIDCGrant(ctx, grant.ID)
	ok(t, "GetOIDCGrant", err)
	equal(t, "stored grant after a forgiven reuse", *stored, want)
	_, _, err = s.GetOIDCRefreshToken(ctx, "refresh-x")
	isErr(t, "the next token of a forgiven reuse", err, store.ErrNotFound)
	old, _, err := s.GetOIDCRefreshToken(ctx, "refresh-1")
	ok(t, "GetOIDCRefreshToken(old)", err)
	if !old.UsedAt.Equal(rotatedAt) || old.SuccessorHash != "refresh-2" {
		t.Errorf("after a forgiven reuse the old token has UsedAt %v, successor %q; want %v, %q", old.UsedAt, old.SuccessorHash, rotatedAt, "refresh-2")
	}
	succ, _, err := s.GetOIDCRefreshToken(ctx, "refresh-2")
	ok(t, "GetOIDCRefreshToken(successor)", err)
	if !succ.UsedAt.IsZero() {
		t.Error("a forgiven reuse marked the successor used")
	}

	// At the end of the window: a reuse, the family is revoked.
	clock.Advance(time.Microsecond)
	_, err = s.RotateOIDCRefreshToken(ctx, graceRotation("refresh-1", "refresh-y", grant.ID, clock.Now(), grace, nil))
	isErr(t, "reuse at the end of the grace period", err, store.ErrConflict)
	g, err := s.GetOIDCGrant(ctx, grant.ID)
	ok(t, "GetOIDCGrant", err)
	if !g.RevokedAt.Equal(ts(clock.Now())) || g.RevokeReason != store.OIDCRevokedRefreshReused {
		t.Errorf("after a reuse past the grace period the grant has RevokedAt %v, reason %q", g.RevokedAt, g.RevokeReason)
	}
	_, err = s.RotateOIDCRefreshToken(ctx, graceRotation("refresh-2", "refresh-3", grant.ID, clock.Now(), grace, nil))
	isErr(t, "rotating the successor after the family was revoked", err, store.ErrConflict)
}

func testOIDCRefreshReuseGraceRefused(t *testing.T, s store.Store, clock *Clock) {
	const grace = time.Minute
	for i, tc := range []struct {
		name string
		// after runs after the first rotation (token 1 into token 2), before token 1 comes back.
		after func(t *testing.T, grantID string, hash func(int) string)
		// unsealed makes the first rotation seal nothing.
		unsealed bool
		// revokeReason is the grant's expected revoke reason.
		revokeReason string
	}{
		{name: "successor already rotated", revokeReason: store.OIDCRevokedRefreshReused,
			after: func(t *testing.T, grantID string, hash func(int) string) {
				_, err := s.RotateOIDCRefreshToken(t.Context(), graceRotation(hash(2), hash(3), grantID, clock.Now(), grace, nil))
				ok(t, "rotate the successor", err)
			}},
		{name: "nothing sealed at the rotation", unsealed: true, revokeReason: store.OIDCRevokedRefreshReused},
		{name: "grant revoked", revokeReason: "admin",
			after: func(t *testing.T, grantID string, _ func(int) string) {
				ok(t, "RevokeOIDCGrant", s.RevokeOIDCGrant(t.Context(), grantID, "admin"))
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			hash := func(n int) string { return fmt.Sprintf("case%d-refresh-%d", i, n) }
			code := fmt.Sprintf("case%d-code", i)
			ok(t, "CreateOIDCCode", s.CreateOIDCCode(ctx, newOIDCCode(code, clock.Now())))
			_, grant, err := s.RedeemOIDCCode(ctx, code, redeemWith(clock.Now(), hash(1)))
			ok(t, "RedeemOIDCCode", err)
			first := graceRotation(hash(1), hash(2), grant.ID, clock.Now(), grace, nil)
			if tc.unsealed {
				first.SealedNext = nil
			}
			_, err = s.RotateOIDCRefreshToken(ctx, first)
			ok(t, "RotateOIDCRefreshToken", err)
			clock.Advance(time.Second)
			if tc.after != nil {
				tc.after(t, grant.ID, hash)
			}
			called := false
			_, err = s.RotateOIDCRefreshToken(ctx, graceRotation(hash(1), hash(9), grant.ID, clock.Now(), grace,
				func(*store.OIDCGrant) error { called = true; return nil }))
			isErr(t, "reuse within the grace period", err, store.ErrConflict)
			if called {
				t.Error("update called on a refused reuse")
			}
			g, err := s.GetOIDCGrant(ctx, grant.ID)
			ok(t, "GetOIDCGrant", err)
			if g.RevokedAt.IsZero() || g.RevokeReason != tc.revokeReason {
				t.Errorf("grant RevokedAt %v, reason %q; want revoked with %q", g.RevokedAt, g.RevokeReason, tc.revokeReason)
			}
		})
	}
}

func testOIDCConcurrentRefreshWithGrace(t *testing.T, s store.Store, clock *Clock) {
	ctx := t.Context()
	const grace = 10 * time.Second
	ok(t, "CreateOIDCCode", s.CreateOIDCCode(ctx, newOIDCCode("code-1", clock.Now())))
	_, grant, err := s.RedeemOIDCCode(ctx, "code-1", redeemWith(clock.Now(), "refresh-0"))
	ok(t, "RedeemOIDCCode", err)
	results := make([]*store.OIDCRefreshRotated, goroutines)
	rotations := make([]*store.OIDCRefreshRotation, goroutines)
	for i := range rotations {
		rotations[i] = graceRotation("refresh-0", fmt.Sprintf("refresh-%d", i+1), grant.ID, clock.Now(), grace, nil)
	}
	errs := race(func(i int) error {
		var err error
		results[i], err = s.RotateOIDCRefreshToken(ctx, rotations[i])
		return err
	})
	if wins := countErrs(t, "RotateOIDCRefreshToken", errs, nil); wins != goroutines {
		t.Fatalf("%d of %d concurrent rotations within the grace period succeeded, want all", wins, goroutines)
	}
	winner := -1
	for i, r := range results {
		if !r.Reused {
			if winner >= 0 {
				t.Fatalf("rotations %d and %d both rotated", winner, i)
			}
			winner = i
		}
	}
	if winner < 0 {
		t.Fatal("no rotation rotated")
	}
	for i, r := range results {
		if i != winner && string(r.SealedSuccessor) != string(sealedFor(rotations[winner].Next)) {
			t.Errorf("forgiven reuse %d hands out %q, want the winner's successor %q", i, r.SealedSuccessor, sealedFor(rotations[winner].Next))
		}
		_, _, err := s.GetOIDCRefreshToken(ctx, rotations[i].Next.TokenHash)
		if i == winner {
			ok(t, "the winner's new token", err)
		} else {
			isErr(t, "a forgiven reuse's new token", err, store.ErrNotFound)
		}
	}
	g, err := s.GetOIDCGrant(ctx, grant.ID)
	ok(t, "GetOIDCGrant", err)
	if !g.RevokedAt.IsZero() {
		t.Errorf("concurrent refreshes within the grace period revoked the grant (%q)", g.RevokeReason)
	}
}
