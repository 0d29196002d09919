package session_test

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/identity"
	"github.com/gatehouse/gatehouse/internal/keys"
	"github.com/gatehouse/gatehouse/internal/session"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
	"github.com/gatehouse/gatehouse/internal/token"
)

const (
	issuer = "https://auth.example.com"
	orgAUD = "auth.example.com"
	appAUD = "aud-wiki"
)

// countingStore counts session reads and can fail them.
type countingStore struct {
	store.Store
	reads atomic.Int32
	fail  atomic.Bool
}

func (s *countingStore) GetSession(ctx context.Context, id string) (*store.Session, error) {
	s.reads.Add(1)
	if s.fail.Load() {
		return nil, errors.New("database is down")
	}
	return s.Store.GetSession(ctx, id)
}

// keySet is the published keys, with one kid that can be retired.
type keySet struct {
	km      *keys.Manager
	retired atomic.Value // string
}

func (k *keySet) PublicKey(kid string) (*rsa.PublicKey, bool) {
	if r, _ := k.retired.Load().(string); r == kid {
		return nil, false
	}
	return k.km.PublicKey(kid)
}

type fixture struct {
	clock *storetest.Clock
	st    *countingStore
	km    *keys.Manager
	ks    *keySet
	rev   *session.Revocations
	v     *session.Verifier
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := t.Context()
	clock := storetest.NewClock(time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC))
	raw, err := sqlstore.Open(ctx, "sqlite", "file:"+filepath.Join(t.TempDir(), "s.db"), sqlstore.WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	km, err := keys.NewManager(raw, make([]byte, 32), keys.Options{Issuer: orgAUD, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	if err := km.Load(ctx); err != nil {
		t.Fatal(err)
	}
	f := &fixture{clock: clock, st: &countingStore{Store: raw}, km: km, ks: &keySet{km: km}, rev: &session.Revocations{}}
	f.v = session.NewVerifier(session.VerifierOptions{Store: f.st, Tokens: token.NewVerifier(km, issuer, clock.Now),
		Keys: f.ks, Revocations: f.rev, Now: clock.Now})
	return f
}

// login creates a session for email through Create, as the login flow does.
func (f *fixture) login(t *testing.T, email string) (*store.Session, *identity.Identity) {
	t.Helper()
	ident := &identity.Identity{Email: email, IdP: identity.IdP{ID: "okta", Type: "saml"},
		Groups: []identity.Group{{ID: "eng", Name: "eng"}}}
	sess, err := session.Create(t.Context(), f.st, session.Start{Identity: ident, IP: "192.0.2.1", Country: "DE",
		Now: f.clock.Now(), Lifetime: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	return sess, ident
}

func (f *fixture) mint(t *testing.T, typ, aud string, sess *store.Session) string {
	t.Helper()
	now := f.clock.Now()
	raw, err := token.Mint(f.km, &token.Claims{Type: typ, Audience: []string{aud}, Issuer: issuer, Subject: sess.UserID,
		Email: sess.Email, IdentityNonce: sess.ID, IssuedAt: now.Unix(), NotBefore: now.Unix(), ExpiresAt: now.Add(time.Hour).Unix()})
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func TestCreateRecordsUserAndSession(t *testing.T) {
	f := newFixture(t)
	sess, ident := f.login(t, "alice@example.com")
	if ident.UserID == "" || sess.UserID != ident.UserID || sess.IP != "192.0.2.1" || sess.Country != "DE" {
		t.Fatalf("session %+v identity %+v", sess, ident)
	}
	if !sess.ExpiresAt.Equal(f.clock.Now().Add(time.Hour)) {
		t.Errorf("expires %v", sess.ExpiresAt)
	}
	u, err := f.st.GetUser(t.Context(), ident.UserID)
	if err != nil || u.LastSeen.IdPID != "okta" || u.LastSeen.IP != "192.0.2.1" {
		t.Fatalf("user %+v %v", u, err)
	}
	// A second login of the same address is the same user with a new session.
	again, _ := f.login(t, "alice@example.com")
	if again.UserID != sess.UserID || again.ID == sess.ID {
		t.Errorf("second login: %+v", again)
	}
}

func TestCreateRefusesInactiveUser(t *testing.T) {
	f := newFixture(t)
	_, ident := f.login(t, "bob@example.com")
	if _, err := f.st.UpdateUser(t.Context(), ident.UserID, func(u *store.User) error { u.Status = store.UserInactive; return nil }); err != nil {
		t.Fatal(err)
	}
	_, err := session.Create(t.Context(), f.st, session.Start{Identity: &identity.Identity{Email: "bob@example.com"}, Now: f.clock.Now(), Lifetime: time.Hour})
	if !errors.Is(err, session.ErrUserInactive) {
		t.Fatalf("err = %v, want ErrUserInactive", err)
	}
}

func TestVerify(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	sess, _ := f.login(t, "alice@example.com")
	org := f.mint(t, "org", orgAUD, sess)
	want := session.Want{Type: "org", Audience: orgAUD}

	got, err := f.v.Verify(ctx, org, want)
	if err != nil {
		t.Fatal(err)
	}
	if got.Session.ID != sess.ID || got.Identity.Email != "alice@example.com" || got.Claims.Subject != sess.UserID {
		t.Fatalf("verified %+v", got)
	}

	for name, tc := range map[string]struct {
		raw  string
		want session.Want
	}{
		"no token":      {"", want},
		"garbage":       {"x.y.z", want},
		"app token":     {f.mint(t, "app", orgAUD, sess), want},
		"wrong aud":     {f.mint(t, "org", "other.example.com", sess), want},
		"other session": {f.mint(t, "org", orgAUD, &store.Session{ID: "missing", UserID: sess.UserID}), want},
	} {
		if _, err := f.v.Verify(ctx, tc.raw, tc.want); !session.IsNoSession(err) {
			t.Errorf("%s: err = %v, want ErrNoSession", name, err)
		}
	}

	// A store failure is not "no session": callers fail closed with it.
	f.st.fail.Store(true)
	if _, err := f.v.Verify(ctx, org, want); err == nil || session.IsNoSession(err) {
		t.Errorf("store down: err = %v, want a failure", err)
	}
	f.st.fail.Store(false)

	// Revocation, deactivation and expiry end the session.
	f.rev.Set(&store.Revocations{RevokedSessions: map[string]time.Time{sess.ID: sess.ExpiresAt}})
	if _, err := f.v.Verify(ctx, org, want); !session.IsNoSession(err) {
		t.Errorf("revoked session accepted: %v", err)
	}
	f.rev.Set(&store.Revocations{})
	if _, err := f.st.UpdateUser(ctx, sess.UserID, func(u *store.User) error { u.Status = store.UserInactive; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := f.v.Verify(ctx, org, want); !session.IsNoSession(err) {
		t.Errorf("inactive user accepted: %v", err)
	}
	carol, _ := f.login(t, "carol@example.com")
	carolOrg := f.mint(t, "org", orgAUD, carol)
	f.clock.Advance(time.Hour + time.Second)
	if _, err := f.v.Verify(ctx, carolOrg, want); !session.IsNoSession(err) {
		t.Errorf("expired session accepted: %v", err)
	}
}

// TestAppTokenIsCachedButRechecked: the store is read once per token; audience, key publication
// and revocation are checked on every call, so a cached token stops working as soon as any of
// them changes.
func TestAppTokenIsCachedButRechecked(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	sess, _ := f.login(t, "alice@example.com")
	raw := f.mint(t, "app", appAUD, sess)

	for range 5 {
		vt, ident, err := f.v.AppToken(ctx, raw, appAUD, "wiki")
		if err != nil {
			t.Fatal(err)
		}
		if ident.Email != "alice@example.com" || vt.Claims.IdentityNonce != sess.ID {
			t.Fatalf("identity %+v", ident)
		}
	}
	if n := f.st.reads.Load(); n != 1 {
		t.Errorf("%d session reads for five requests, want 1", n)
	}
	if _, _, err := f.v.AppToken(ctx, raw, "aud-other", "other"); !session.IsNoSession(err) {
		t.Errorf("cached token for another app: %v", err)
	}
	f.rev.Set(&store.Revocations{AppNotBefore: map[string]time.Time{"wiki": f.clock.Now()}})
	if _, _, err := f.v.AppToken(ctx, raw, appAUD, "wiki"); !session.IsNoSession(err) {
		t.Errorf("cached token after app-wide revocation: %v", err)
	}
	f.rev.Set(&store.Revocations{})
	_, kid := f.km.Signer()
	f.ks.retired.Store(kid)
	if _, _, err := f.v.AppToken(ctx, raw, appAUD, "wiki"); !session.IsNoSession(err) {
		t.Errorf("cached token after its key was retired: %v", err)
	}
	f.ks.retired.Store("")

	// An org token is never an app token, and a store failure on first sight fails closed.
	if _, _, err := f.v.AppToken(ctx, f.mint(t, "org", appAUD, sess), appAUD, "wiki"); !session.IsNoSession(err) {
		t.Errorf("org token accepted as app token: %v", err)
	}
	f.st.fail.Store(true)
	fresh := f.mint(t, "app", "aud-2", sess)
	if _, _, err := f.v.AppToken(ctx, fresh, "aud-2", "two"); err == nil || session.IsNoSession(err) {
		t.Errorf("store down on first sight: %v", err)
	}
}

// TestLoadMergesOwnIdPsSCIMGroups: the identity of a session gets the groups its own IdP
// provisions over SCIM, never another IdP's.
func TestLoadMergesOwnIdPsSCIMGroups(t *testing.T) {
	f := newFixture(t)
	sess, ident := f.login(t, "alice@example.com")
	if _, err := f.st.UpdateUser(t.Context(), ident.UserID, func(u *store.User) error {
		u.SCIMGroups = map[string][]string{"okta": {"ops"}, "entra": {"admins"}}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	_, got, err := f.v.Load(t.Context(), sess.ID)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, g := range got.Groups {
		names = append(names, g.Name)
	}
	if !slices.Equal(names, []string{"eng", "ops"}) {
		t.Errorf("groups %v, want [eng ops]", names)
	}
}

// TestRefusalReasons checks that every refusal carries its precise reason, typed (session.Reason)
// rather than in the error text, through Verify and AppToken alike, and that a failure has none.
func TestRefusalReasons(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	sess, _ := f.login(t, "alice@example.com")
	mintWith := func(edit func(*token.Claims)) string {
		now := f.clock.Now()
		c := &token.Claims{Type: "app", Audience: []string{appAUD}, Issuer: issuer, Subject: sess.UserID,
			Email: sess.Email, IdentityNonce: sess.ID, IssuedAt: now.Unix(), NotBefore: now.Unix(), ExpiresAt: now.Add(time.Hour).Unix()}
		edit(c)
		raw, err := token.Mint(f.km, c)
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	good := f.mint(t, "app", appAUD, sess)
	tampered := good[:len(good)-4] + "AAAA"
	if tampered == good {
		tampered = good[:len(good)-4] + "BBBB"
	}
	appWant := session.Want{Type: "app", Audience: appAUD, AppID: "wiki"}
	check := func(name, raw, want string, setup func(), undo func()) {
		t.Helper()
		if setup != nil {
			setup()
		}
		_, err := f.v.Verify(ctx, raw, appWant)
		if got := session.Reason(err); got != want || !session.IsNoSession(err) {
			t.Errorf("%s: Verify reason = %q (%v), want %q", name, got, err, want)
		}
		if raw != "" {
			_, _, err = f.v.AppToken(ctx, raw, appAUD, "wiki")
			if got := session.Reason(err); got != want || !session.IsNoSession(err) {
				t.Errorf("%s: AppToken reason = %q (%v), want %q", name, got, err, want)
			}
		}
		if undo != nil {
			undo()
		}
	}
	check("no token", "", session.ReasonNoSession, nil, nil)
	check("garbage", "x.y.z", "token-malformed", nil, nil)
	check("forged signature", tampered, "token-bad-signature", nil, nil)
	check("not yet valid", mintWith(func(c *token.Claims) {
		c.NotBefore, c.ExpiresAt = f.clock.Now().Add(30*time.Minute).Unix(), f.clock.Now().Add(2*time.Hour).Unix()
	}), "token-not-yet-valid", nil, nil)
	check("wrong issuer", mintWith(func(c *token.Claims) { c.Issuer = "https://evil.example.com" }), "token-wrong-issuer", nil, nil)
	check("org token", f.mint(t, "org", appAUD, sess), session.ReasonWrongTokenType, nil, nil)
	check("wrong audience", mintWith(func(c *token.Claims) { c.Audience = []string{"aud-other"} }), session.ReasonAudienceMismatch, nil, nil)
	check("no session in the token", mintWith(func(c *token.Claims) { c.Subject = ""; c.CommonName = "svc" }), session.ReasonNoSubject, nil, nil)
	check("unknown session", mintWith(func(c *token.Claims) { c.IdentityNonce = "missing" }), session.ReasonSessionNotFound, nil, nil)
	check("another user's session", mintWith(func(c *token.Claims) { c.Subject = "someone-else" }), session.ReasonSubjectMismatch, nil, nil)
	revoke := func(rv *store.Revocations) func() { return func() { f.rev.Set(rv) } }
	clear := func() { f.rev.Set(&store.Revocations{}) }
	check("revoked session", mintWith(func(*token.Claims) {}), session.ReasonSessionRevoked,
		revoke(&store.Revocations{RevokedSessions: map[string]time.Time{sess.ID: sess.ExpiresAt}}), clear)
	check("user's tokens revoked", mintWith(func(*token.Claims) {}), session.ReasonUserRevoked,
		revoke(&store.Revocations{UserNotBefore: map[string]time.Time{sess.UserID: f.clock.Now()}}), clear)
	check("app's tokens revoked", mintWith(func(*token.Claims) {}), session.ReasonAppRevoked,
		revoke(&store.Revocations{AppNotBefore: map[string]time.Time{"wiki": f.clock.Now()}}), clear)
	_, kid := f.km.Signer()
	// Only the cached hot path checks key publication (Verify verifies with the key manager).
	f.ks.retired.Store(kid)
	if _, _, err := f.v.AppToken(ctx, good, appAUD, "wiki"); session.Reason(err) != session.ReasonKeyRetired {
		t.Errorf("retired key: AppToken reason = %q (%v)", session.Reason(err), err)
	}
	f.ks.retired.Store("")

	bob, _ := f.login(t, "bob@example.com")
	bobTok := f.mint(t, "app", appAUD, bob)
	if _, err := f.st.UpdateUser(ctx, bob.UserID, func(u *store.User) error { u.Status = store.UserInactive; return nil }); err != nil {
		t.Fatal(err)
	}
	check("inactive user", bobTok, session.ReasonUserInactive, nil, nil)

	// A failure is not a refusal: no reason.
	carol, _ := f.login(t, "carol@example.com")
	carolTok := f.mint(t, "app", appAUD, carol)
	f.st.fail.Store(true)
	if _, _, err := f.v.AppToken(ctx, carolTok, appAUD, "wiki"); err == nil || session.Reason(err) != "" {
		t.Errorf("store down: reason %q (%v), want none", session.Reason(err), err)
	}
	f.st.fail.Store(false)

	for _, tc := range []struct {
		err  error
		want string
	}{
		{nil, ""},
		{errors.New("boom"), ""},
		{session.ErrNoSession, session.ReasonNoSession},
		{fmt.Errorf("wrapped: %w", session.ErrNoSession), session.ReasonNoSession},
	} {
		if got := session.Reason(tc.err); got != tc.want {
			t.Errorf("Reason(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
	_, _, err := f.v.AppToken(ctx, tampered, appAUD, "wiki")
	if wrapped := fmt.Errorf("proxy: %w", err); session.Reason(wrapped) != "token-bad-signature" || !errors.Is(wrapped, token.ErrSignature) {
		t.Errorf("wrapped refusal: reason %q, token error kept: %v", session.Reason(wrapped), errors.Is(wrapped, token.ErrSignature))
	}

	// The session ends before a token minted late in its life (the store no longer returns an
	// expired session, so it is not found); then the token expires.
	f.clock.Advance(59 * time.Minute)
	late := mintWith(func(*token.Claims) {})
	f.clock.Advance(2 * time.Minute)
	check("expired session", late, session.ReasonSessionNotFound, nil, nil)
	f.clock.Advance(time.Hour)
	check("expired token", late, "token-expired", nil, nil)
}

// TestIsRefusal: every reason a Verifier gives for refusing a presented credential counts as a
// refusal, and "no session at all" does not.
func TestIsRefusal(t *testing.T) {
	for _, r := range []string{session.ReasonWrongTokenType, session.ReasonAudienceMismatch, session.ReasonNoSubject,
		session.ReasonKeyRetired, session.ReasonSessionNotFound, session.ReasonSessionExpired, session.ReasonSubjectMismatch,
		session.ReasonUserNotFound, session.ReasonUserInactive, session.ReasonSessionRevoked, session.ReasonUserRevoked,
		session.ReasonAppRevoked} {
		if !session.IsRefusal(r) {
			t.Errorf("%s is not a refusal", r)
		}
	}
	for _, err := range []error{token.ErrExpired, token.ErrNotYetValid, token.ErrSignature, token.ErrUnknownKey,
		token.ErrAlgorithm, token.ErrIssuer, errors.New("anything else")} {
		if r := session.TokenReason(err); !session.IsRefusal(r) {
			t.Errorf("TokenReason(%v) = %s is not a refusal", err, r)
		}
	}
	if session.IsRefusal(session.ReasonNoSession) || session.IsRefusal("identity-required") {
		t.Error("a request without a credential counts as a refusal")
	}
}
