package devices

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/gateway"
	"github.com/gatehouse/gatehouse/internal/identity"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
)

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// countingStore counts the reads and writes the verifier makes.
type countingStore struct {
	*sqlstore.Store
	mu               sync.Mutex
	getUser, touches int
	getDevice        int
	touched          map[string]time.Time
}

func (s *countingStore) GetUser(ctx context.Context, id string) (*store.User, error) {
	s.mu.Lock()
	s.getUser++
	s.mu.Unlock()
	return s.Store.GetUser(ctx, id)
}

func (s *countingStore) TouchGatewayDevices(ctx context.Context, seen map[string]time.Time) error {
	s.mu.Lock()
	s.touches++
	s.touched = seen
	s.mu.Unlock()
	return s.Store.TouchGatewayDevices(ctx, seen)
}

func (s *countingStore) GetGatewayDevice(ctx context.Context, id string) (*store.GatewayDevice, error) {
	s.mu.Lock()
	s.getDevice++
	s.mu.Unlock()
	return s.Store.GetGatewayDevice(ctx, id)
}

func (s *countingStore) deviceReads() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.getDevice
}

func (s *countingStore) counts() (int, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.getUser, s.touches
}

type fixture struct {
	st    *countingStore
	clk   *clock
	v     *Verifier
	user  *store.User
	cred  *Credentials
	devID string
}

func newFixture(t *testing.T) *fixture { return newFixtureTB(t) }

func newFixtureTB(t testing.TB) *fixture { return newFixtureOn(t, "sqlite", ":memory:") }

func newFixtureOn(t testing.TB, driver, dsn string) *fixture {
	t.Helper()
	clk := &clock{t: time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)}
	raw, err := sqlstore.Open(context.Background(), driver, dsn, sqlstore.WithClock(clk.Now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = raw.Close() })
	st := &countingStore{Store: raw}
	ident, _ := json.Marshal(identity.Identity{Email: "alice@example.com", Name: "Alice Liddell", IdP: identity.IdP{ID: "okta", Type: "oidc"},
		Groups:         []identity.Group{{ID: "g1", Name: "Engineers", Email: "eng@example.com"}, {ID: "g2"}},
		SAMLAttributes: map[string][]string{"department": {"R&D"}}})
	u := &store.User{Email: "alice@example.com", Status: store.UserActive, SCIMGroups: map[string][]string{"okta": {"Contractors"}, "other": {"Nope"}}}
	if err := st.CreateUser(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	if _, err := st.UpdateUser(context.Background(), u.ID, func(x *store.User) error {
		x.LastSeen = store.LastSeen{At: clk.Now(), IdPID: "okta", Identity: ident}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	cred, err := NewCredentials()
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CreateGatewayDevice(context.Background(), &store.GatewayDevice{ID: cred.Username, UserID: u.ID, Name: "laptop", SecretSHA256: cred.SecretSHA256}); err != nil {
		t.Fatal(err)
	}
	v, err := NewVerifier(st, VerifierOptions{Now: clk.Now, UserTTL: 10 * time.Second, TouchInterval: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{st: st, clk: clk, v: v, user: u, cred: cred, devID: cred.Username}
}

func (f *fixture) verify(t *testing.T, user, pass string) (*gateway.Identity, string) {
	t.Helper()
	id, reason, err := f.v.VerifyDevice(t.Context(), user, pass)
	if err != nil {
		t.Fatalf("VerifyDevice: %v", err)
	}
	if (id == nil) == (reason == "") {
		t.Fatalf("VerifyDevice = %+v, %q: want exactly one of identity and reason", id, reason)
	}
	return id, reason
}

func TestVerifierIdentity(t *testing.T) {
	f := newFixture(t)
	id, _ := f.verify(t, f.cred.Username, f.cred.Password)
	if id.UserID != f.user.ID || id.Email != "alice@example.com" || id.DeviceID != f.devID || id.ServiceTokenID != "" {
		t.Fatalf("identity %+v", id)
	}
	// The IdP's groups (by name, else ID) and the SCIM groups of the login's IdP only.
	if want := []string{"Engineers", "g2", "Contractors"}; !slices.Equal(id.Groups, want) {
		t.Errorf("groups %v, want %v", id.Groups, want)
	}
	// What rules match besides: the name, the IdP, group ids and e-mails, SAML attributes.
	if id.Name != "Alice Liddell" || id.IdP != "okta" || !slices.Equal(id.GroupIDs, []string{"g1", "g2", "Contractors"}) ||
		!slices.Equal(id.GroupEmails, []string{"eng@example.com"}) || id.SAMLAttributes["department"][0] != "R&D" {
		t.Errorf("identity %+v", id)
	}
}

func TestVerifierRefusals(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct{ name, user, pass, reason string }{
		{"unknown device", "00000000-0000-4000-8000-000000000000", f.cred.Password, ReasonDeviceUnknown},
		{"not a device id", "service-token.access", "x", ReasonDeviceUnknown},
		{"wrong secret", f.cred.Username, f.cred.Password + "x", gateway.ReasonCredentialsInvalid},
		{"empty secret", f.cred.Username, "", gateway.ReasonCredentialsInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, reason := f.verify(t, tc.user, tc.pass); reason != tc.reason {
				t.Errorf("reason %q, want %q", reason, tc.reason)
			}
		})
	}

	// Revoked: refused once the revocation change arrives (Invalidate), although the device and
	// its user were cached; a wrong secret still says only that.
	f.verify(t, f.cred.Username, f.cred.Password)
	if _, err := f.st.RevokeGatewayDevice(t.Context(), f.devID); err != nil {
		t.Fatal(err)
	}
	if id, _ := f.verify(t, f.cred.Username, f.cred.Password); id == nil {
		t.Fatal("the cached device was refused before any change notification: is the cache used?")
	}
	f.v.Invalidate()
	if _, reason := f.verify(t, f.cred.Username, f.cred.Password); reason != ReasonDeviceRevoked {
		t.Errorf("revoked device: reason %q", reason)
	}
	if _, reason := f.verify(t, f.cred.Username, "wrong"); reason != gateway.ReasonCredentialsInvalid {
		t.Errorf("revoked device with a wrong secret: reason %q", reason)
	}
}

// TestVerifierUserChanges: the user's e-mail and status are cached for at most UserTTL, and not
// at all past an Invalidate (what every revocation change triggers).
func TestVerifierUserChanges(t *testing.T) {
	f := newFixture(t)
	f.verify(t, f.cred.Username, f.cred.Password)
	f.verify(t, f.cred.Username, f.cred.Password)
	if gets, _ := f.st.counts(); gets != 1 {
		t.Fatalf("%d user reads for two checks within the TTL, want 1", gets)
	}
	if _, err := f.st.UpdateUser(t.Context(), f.user.ID, func(u *store.User) error { u.Email = "alice.new@example.com"; return nil }); err != nil {
		t.Fatal(err)
	}
	f.clk.Advance(11 * time.Second)
	if id, _ := f.verify(t, f.cred.Username, f.cred.Password); id.Email != "alice.new@example.com" {
		t.Errorf("after the TTL the e-mail is %q", id.Email)
	}
	if _, err := f.st.UpdateUser(t.Context(), f.user.ID, func(u *store.User) error { u.Status = store.UserInactive; return nil }); err != nil {
		t.Fatal(err)
	}
	if id, _ := f.verify(t, f.cred.Username, f.cred.Password); id == nil {
		t.Fatal("within the TTL the cached status decides (the store's revocation change is what invalidates)")
	}
	f.v.Invalidate()
	if _, reason := f.verify(t, f.cred.Username, f.cred.Password); reason != ReasonUserInactive {
		t.Errorf("inactive user after Invalidate: reason %q", reason)
	}
}

// TestVerifierDeviceCache: a device is read from the store once per DeviceTTL, again after an
// Invalidate, and every time with the cache off; unknown devices are never cached.
func TestVerifierDeviceCache(t *testing.T) {
	f := newFixture(t)
	for range 5 {
		f.verify(t, f.cred.Username, f.cred.Password)
	}
	if n := f.st.deviceReads(); n != 1 {
		t.Fatalf("%d device reads for five checks within the TTL, want 1", n)
	}
	f.clk.Advance(DefaultDeviceTTL)
	f.verify(t, f.cred.Username, f.cred.Password)
	f.v.Invalidate()
	f.verify(t, f.cred.Username, f.cred.Password)
	if n := f.st.deviceReads(); n != 3 {
		t.Fatalf("%d device reads after the TTL and an Invalidate, want 3", n)
	}
	unknown := "00000000-0000-4000-8000-000000000000"
	f.verify(t, unknown, "x")
	f.verify(t, unknown, "x")
	if n := f.st.deviceReads(); n != 5 {
		t.Fatalf("%d device reads after two unknown checks, want 5 (never cached)", n)
	}

	off, err := NewVerifier(f.st, VerifierOptions{Now: f.clk.Now, DeviceTTL: -1, UserTTL: -1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.st.RevokeGatewayDevice(t.Context(), f.devID); err != nil {
		t.Fatal(err)
	}
	if _, reason, err := off.VerifyDevice(t.Context(), f.cred.Username, f.cred.Password); err != nil || reason != ReasonDeviceRevoked {
		t.Fatalf("without a cache a revocation applies at once: %q, %v", reason, err)
	}
}

// TestVerifierLastSeenCoalesced: many checks make one write per TouchInterval, with the latest
// time; Close writes what is left.
func TestVerifierLastSeenCoalesced(t *testing.T) {
	f := newFixture(t)
	for range 100 {
		f.verify(t, f.cred.Username, f.cred.Password)
	}
	if _, touches := f.st.counts(); touches != 0 {
		t.Fatalf("%d last-seen writes within the interval, want 0", touches)
	}
	f.clk.Advance(31 * time.Second)
	f.verify(t, f.cred.Username, f.cred.Password)
	f.v.flushWG.Wait()
	if _, touches := f.st.counts(); touches != 1 {
		t.Fatalf("%d last-seen writes after the interval, want 1", touches)
	}
	d, err := f.st.GetGatewayDevice(t.Context(), f.devID)
	if err != nil || !d.LastSeenAt.Equal(f.clk.Now()) {
		t.Fatalf("LastSeenAt %v, %v; want %v", d.LastSeenAt, err, f.clk.Now())
	}
	f.clk.Advance(time.Second)
	f.verify(t, f.cred.Username, f.cred.Password)
	if err := f.v.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if d, _ := f.st.GetGatewayDevice(t.Context(), f.devID); !d.LastSeenAt.Equal(f.clk.Now()) {
		t.Errorf("after Close LastSeenAt %v, want %v", d.LastSeenAt, f.clk.Now())
	}
}

func TestCleanName(t *testing.T) {
	for in, want := range map[string]string{"  Work laptop ": "Work laptop", "Ünïcode ✓": "Ünïcode ✓"} {
		if got, err := CleanName(in); err != nil || got != want {
			t.Errorf("CleanName(%q) = %q, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "   ", "a\nb", "\x00", strings.Repeat("a", 101), "\xff"} {
		if _, err := CleanName(bad); err == nil {
			t.Errorf("CleanName(%q) accepted", bad)
		}
	}
}

func TestNewCredentials(t *testing.T) {
	a, err := NewCredentials()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := NewCredentials()
	if a.Username == b.Username || a.Password == b.Password || len(a.Password) != len(secretPrefix)+43 || HashSecret(a.Password) != a.SecretSHA256 {
		t.Errorf("credentials %+v / %+v", a, b)
	}
}
