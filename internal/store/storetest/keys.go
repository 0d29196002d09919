package storetest

import (
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

var rateLimitTests = []suiteTest{
	{"FixedWindow", testRateLimit},
}

var signingKeyTests = []suiteTest{
	{"Rotation", testSigningKeyRotation},
}

func testRateLimit(t *testing.T, s store.Store, clock *Clock) {
	ctx := t.Context()
	const window, limit = time.Minute, 3
	hit := func(key string, want bool) {
		t.Helper()
		got, err := s.HitRateLimit(ctx, key, window, limit)
		ok(t, "HitRateLimit", err)
		if got != want {
			t.Errorf("HitRateLimit(%s) = %v, want %v", key, got, want)
		}
	}
	// Hits at one instant fall in one window, whatever the windows' alignment.
	for range limit {
		hit("login:alice", true)
	}
	hit("login:alice", false)
	hit("login:alice", false)
	hit("login:bob", true) // keys count separately

	// A window later is another window: the count starts again.
	clock.Advance(window)
	for range limit {
		hit("login:alice", true)
	}
	hit("login:alice", false)

	clock.Advance(3 * window)
	hit("login:alice", true)
}

func newKey(id string, now time.Time) *store.SigningKey {
	return &store.SigningKey{
		ID: id, Algorithm: "RS256", PrivateKeyEncrypted: []byte("sealed:" + id),
		CertificatePEM: "-----BEGIN CERTIFICATE-----\n" + id + "\n-----END CERTIFICATE-----\n",
		CreatedAt:      now,
	}
}

func normKey(k *store.SigningKey, retireAt time.Time) store.SigningKey {
	c := *k
	c.CreatedAt = ts(c.CreatedAt)
	c.RetireAt = retireAt
	if !retireAt.IsZero() {
		c.RetireAt = ts(retireAt)
	}
	return c
}

func testSigningKeyRotation(t *testing.T, s store.Store, clock *Clock) {
	ctx := t.Context()
	const overlap = time.Hour
	keys := func(want ...store.SigningKey) {
		t.Helper()
		got, err := s.SigningKeys(ctx)
		ok(t, "SigningKeys", err)
		if len(want) == 0 && len(got) == 0 {
			return
		}
		equal(t, "SigningKeys", got, want)
	}
	keys()

	k1 := newKey("k1", clock.Now())
	requireAllFieldsSet(t, k1, "SigningKey.RetireAt")
	isErr(t, "first rotation expecting a current key", s.RotateSigningKey(ctx, "k0", k1, overlap), store.ErrConflict)
	ok(t, "first RotateSigningKey", s.RotateSigningKey(ctx, "", k1, overlap))
	keys(normKey(k1, time.Time{}))

	k2 := newKey("k2", clock.Now())
	isErr(t, "second rotation expecting no key", s.RotateSigningKey(ctx, "", k2, overlap), store.ErrConflict)
	isErr(t, "rotation expecting an unknown key", s.RotateSigningKey(ctx, "nope", k2, overlap), store.ErrConflict)
	keys(normKey(k1, time.Time{}))

	clock.Advance(time.Minute)
	k2 = newKey("k2", clock.Now())
	k1Retire := clock.Now().Add(overlap)
	ok(t, "RotateSigningKey(k1 -> k2)", s.RotateSigningKey(ctx, "k1", k2, overlap))
	keys(normKey(k2, time.Time{}), normKey(k1, k1Retire))
	isErr(t, "rotation with a stale expectedCurrent", s.RotateSigningKey(ctx, "k1", newKey("k3", clock.Now()), overlap), store.ErrConflict)

	clock.Advance(overlap / 2)
	k3 := newKey("k3", clock.Now())
	k2Retire := clock.Now().Add(overlap)
	ok(t, "RotateSigningKey(k2 -> k3)", s.RotateSigningKey(ctx, "k2", k3, overlap))
	keys(normKey(k3, time.Time{}), normKey(k2, k2Retire), normKey(k1, k1Retire))

	clock.Advance(overlap/2 + time.Second) // past k1's RetireAt
	keys(normKey(k3, time.Time{}), normKey(k2, k2Retire))
	clock.Advance(overlap / 2) // past k2's RetireAt
	keys(normKey(k3, time.Time{}))
}
