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
	{"UsesRotateIndependently", testSigningKeyUses},
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
	requireAllFieldsSet(t, k1, "SigningKey.RetireAt", "SigningKey.Use")
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

// testSigningKeyUses: each use has its own current key; rotating one use neither needs nor
// touches the other's.
func testSigningKeyUses(t *testing.T, s store.Store, clock *Clock) {
	ctx := t.Context()
	const overlap = time.Hour
	tok := newKey("tok1", clock.Now())
	saml := newKey("saml1", clock.Now())
	saml.Use = store.SigningKeyUseSaaSSAML
	ok(t, "first token key", s.RotateSigningKey(ctx, "", tok, overlap))
	// The SAML use has no current key yet, whatever the token use has.
	isErr(t, "SAML rotation expecting the token key", s.RotateSigningKey(ctx, "tok1", saml, overlap), store.ErrConflict)
	ok(t, "first SAML key", s.RotateSigningKey(ctx, "", saml, overlap))
	equal(t, "SigningKeys", allKeys(t, s), []store.SigningKey{normKey(saml, time.Time{}), normKey(tok, time.Time{})})

	clock.Advance(time.Minute)
	tok2 := newKey("tok2", clock.Now())
	ok(t, "token rotation", s.RotateSigningKey(ctx, "tok1", tok2, overlap))
	equal(t, "SigningKeys after a token rotation", allKeys(t, s),
		[]store.SigningKey{normKey(tok2, time.Time{}), normKey(saml, time.Time{}), normKey(tok, clock.Now().Add(overlap))})

	saml2 := newKey("saml2", clock.Now())
	saml2.Use = store.SigningKeyUseSaaSSAML
	isErr(t, "SAML rotation expecting the token key", s.RotateSigningKey(ctx, "tok2", saml2, overlap), store.ErrConflict)
	ok(t, "SAML rotation", s.RotateSigningKey(ctx, "saml1", saml2, overlap))
	equal(t, "SigningKeys after a SAML rotation", allKeys(t, s),
		[]store.SigningKey{normKey(saml2, time.Time{}), normKey(tok2, time.Time{}), normKey(saml, clock.Now().Add(overlap)), normKey(tok, clock.Now().Add(overlap))})
}

func allKeys(t *testing.T, s store.Store) []store.SigningKey {
	t.Helper()
	keys, err := s.SigningKeys(t.Context())
	ok(t, "SigningKeys", err)
	return keys
}
