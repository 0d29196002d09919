package storetest

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// mcpUpstreamTests cover the optional MCPUpstreamAuth capability; a backend without it skips
// them.
var mcpUpstreamTests = []suiteTest{
	{"GrantRoundTrip", testMCPGrantRoundTrip},
	{"GrantSwap", testMCPGrantSwap},
	{"GrantConcurrentSwap", testMCPGrantConcurrentSwap},
	{"GrantsDeletedWithUserRevocation", testMCPGrantsRevokedUser},
	{"Client", testMCPUpstreamClient},
	{"StateSingleUse", testMCPStateSingleUse},
	{"StateConcurrentConsume", testMCPStateConcurrentConsume},
}

func testMCPGrantRoundTrip(t *testing.T, s store.Store, clock *Clock) {
	m := capability[store.MCPUpstreamAuth](t, s)
	ctx := t.Context()
	_, err := m.GetMCPUpstreamGrant(ctx, "tickets", "u1")
	isErr(t, "GetMCPUpstreamGrant before any", err, store.ErrNotFound)
	// Sealed bytes are binary: every byte value, a NUL among them, reads back exactly.
	sealed := make([]byte, 256)
	for i := range sealed {
		sealed[i] = byte(i)
	}
	g := store.MCPUpstreamGrant{ServerID: "tickets", UserID: "u1", UserEmail: "alice@example.com", Sealed: sealed,
		ExpiresAt: clock.Now().Add(time.Hour + 999*time.Nanosecond)}
	ok(t, "PutMCPUpstreamGrant", m.PutMCPUpstreamGrant(ctx, &g))
	if g.Version != 1 || g.CreatedAt != ts(clock.Now()) || g.UpdatedAt != ts(clock.Now()) {
		t.Errorf("after put: version %d created %v updated %v", g.Version, g.CreatedAt, g.UpdatedAt)
	}
	admin := store.MCPUpstreamGrant{ServerID: "tickets", Sealed: []byte("admin")}
	ok(t, "PutMCPUpstreamGrant (administrator's)", m.PutMCPUpstreamGrant(ctx, &admin))
	other := store.MCPUpstreamGrant{ServerID: "wiki", UserID: "u1", Sealed: []byte("wiki")}
	ok(t, "PutMCPUpstreamGrant (other server)", m.PutMCPUpstreamGrant(ctx, &other))
	got, err := m.GetMCPUpstreamGrant(ctx, "tickets", "u1")
	ok(t, "GetMCPUpstreamGrant", err)
	want := g
	want.ExpiresAt = ts(g.ExpiresAt)
	requireAllFieldsSet(t, want)
	equal(t, "grant", *got, want)
	got, err = m.GetMCPUpstreamGrant(ctx, "tickets", "")
	ok(t, "GetMCPUpstreamGrant (administrator's)", err)
	if !bytes.Equal(got.Sealed, []byte("admin")) || !got.ExpiresAt.IsZero() {
		t.Errorf("administrator's grant = %+v", got)
	}
	list, err := m.ListMCPUpstreamGrants(ctx, "u1")
	ok(t, "ListMCPUpstreamGrants", err)
	if len(list) != 2 || list[0].ServerID != "tickets" || list[1].ServerID != "wiki" {
		t.Errorf("u1's grants = %+v, want tickets and wiki", list)
	}
	list, err = m.ListMCPUpstreamGrants(ctx, "nobody")
	ok(t, "ListMCPUpstreamGrants (nobody)", err)
	if list == nil || len(list) != 0 {
		t.Errorf("nobody's grants = %#v, want an empty list", list)
	}

	// A new authorization replaces the grant and counts on from its version.
	clock.Advance(time.Minute)
	again := store.MCPUpstreamGrant{ServerID: "tickets", UserID: "u1", UserEmail: "alice@example.com", Sealed: []byte("new")}
	ok(t, "PutMCPUpstreamGrant (again)", m.PutMCPUpstreamGrant(ctx, &again))
	if again.Version != 2 || again.UpdatedAt != ts(clock.Now()) {
		t.Errorf("replaced grant: version %d updated %v", again.Version, again.UpdatedAt)
	}
	ok(t, "DeleteMCPUpstreamGrant", m.DeleteMCPUpstreamGrant(ctx, "tickets", "u1"))
	ok(t, "DeleteMCPUpstreamGrant (again)", m.DeleteMCPUpstreamGrant(ctx, "tickets", "u1"))
	_, err = m.GetMCPUpstreamGrant(ctx, "tickets", "u1")
	isErr(t, "GetMCPUpstreamGrant after delete", err, store.ErrNotFound)
	_, err = m.GetMCPUpstreamGrant(ctx, "tickets", "")
	ok(t, "the administrator's grant survives the user's deletion", err)
	notSentinel(t, "PutMCPUpstreamGrant without sealed tokens", m.PutMCPUpstreamGrant(ctx, &store.MCPUpstreamGrant{ServerID: "tickets", UserID: "u2"}))
	_, err = m.GetMCPUpstreamGrant(ctx, "tickets", "u2")
	isErr(t, "GetMCPUpstreamGrant after a refused put", err, store.ErrNotFound)
}

func testMCPGrantSwap(t *testing.T, s store.Store, clock *Clock) {
	m := capability[store.MCPUpstreamAuth](t, s)
	ctx := t.Context()
	g := store.MCPUpstreamGrant{ServerID: "tickets", UserID: "u1", Sealed: []byte("v1")}
	ok(t, "PutMCPUpstreamGrant", m.PutMCPUpstreamGrant(ctx, &g))
	clock.Advance(time.Second)
	next := store.MCPUpstreamGrant{ServerID: "tickets", UserID: "u1", Sealed: []byte("v2"), ExpiresAt: clock.Now().Add(time.Hour)}
	ok(t, "SwapMCPUpstreamGrant", m.SwapMCPUpstreamGrant(ctx, &next, 1))
	if next.Version != 2 || next.UpdatedAt != ts(clock.Now()) {
		t.Errorf("after swap: version %d updated %v", next.Version, next.UpdatedAt)
	}
	stale := store.MCPUpstreamGrant{ServerID: "tickets", UserID: "u1", Sealed: []byte("stale")}
	isErr(t, "SwapMCPUpstreamGrant at an old version", m.SwapMCPUpstreamGrant(ctx, &stale, 1), store.ErrConflict)
	got, err := m.GetMCPUpstreamGrant(ctx, "tickets", "u1")
	ok(t, "GetMCPUpstreamGrant", err)
	if string(got.Sealed) != "v2" || got.Version != 2 || got.ExpiresAt != ts(next.ExpiresAt) || got.CreatedAt != ts(g.CreatedAt) {
		t.Errorf("grant after a refused swap = %+v", got)
	}
	// A grant deleted meanwhile (the user disconnected) is not brought back by a refresh.
	ok(t, "DeleteMCPUpstreamGrant", m.DeleteMCPUpstreamGrant(ctx, "tickets", "u1"))
	isErr(t, "SwapMCPUpstreamGrant of a deleted grant", m.SwapMCPUpstreamGrant(ctx, &stale, 2), store.ErrNotFound)
	_, err = m.GetMCPUpstreamGrant(ctx, "tickets", "u1")
	isErr(t, "GetMCPUpstreamGrant after a swap of a deleted grant", err, store.ErrNotFound)
}

// testMCPGrantConcurrentSwap: replicas refreshing one grant at once; exactly one swap wins.
func testMCPGrantConcurrentSwap(t *testing.T, s store.Store, clock *Clock) {
	m := capability[store.MCPUpstreamAuth](t, s)
	ctx := t.Context()
	g := store.MCPUpstreamGrant{ServerID: "tickets", UserID: "u1", Sealed: []byte("v1")}
	ok(t, "PutMCPUpstreamGrant", m.PutMCPUpstreamGrant(ctx, &g))
	errs := race(func(i int) error {
		return m.SwapMCPUpstreamGrant(ctx, &store.MCPUpstreamGrant{ServerID: "tickets", UserID: "u1", Sealed: []byte(fmt.Sprint("g", i))}, 1)
	})
	if wins := countErrs(t, "SwapMCPUpstreamGrant", errs, store.ErrConflict); wins != 1 {
		t.Fatalf("%d of %d concurrent swaps won, want exactly 1", wins, goroutines)
	}
	got, err := m.GetMCPUpstreamGrant(ctx, "tickets", "u1")
	ok(t, "GetMCPUpstreamGrant", err)
	if got.Version != 2 {
		t.Errorf("version after the race = %d, want 2", got.Version)
	}
}

func testMCPGrantsRevokedUser(t *testing.T, s store.Store, clock *Clock) {
	m := capability[store.MCPUpstreamAuth](t, s)
	ctx := t.Context()
	alice, err := s.UpsertUserByEmail(ctx, "alice@example.com", lastSeen(clock.Now(), "idp-1"))
	ok(t, "UpsertUserByEmail", err)
	bob, err := s.UpsertUserByEmail(ctx, "bob@example.com", lastSeen(clock.Now(), "idp-1"))
	ok(t, "UpsertUserByEmail", err)
	for _, g := range []store.MCPUpstreamGrant{
		{ServerID: "tickets", UserID: alice.ID, Sealed: []byte("a1")},
		{ServerID: "wiki", UserID: alice.ID, Sealed: []byte("a2")},
		{ServerID: "tickets", UserID: bob.ID, Sealed: []byte("b1")},
		{ServerID: "tickets", Sealed: []byte("admin")},
	} {
		ok(t, "PutMCPUpstreamGrant", m.PutMCPUpstreamGrant(ctx, &g))
	}
	ok(t, "RevokeUserSessions", s.RevokeUserSessions(ctx, alice.ID))
	list, err := m.ListMCPUpstreamGrants(ctx, alice.ID)
	ok(t, "ListMCPUpstreamGrants", err)
	if len(list) != 0 {
		t.Errorf("a revoked user keeps %d upstream grants", len(list))
	}
	for _, user := range []string{bob.ID, ""} {
		_, err := m.GetMCPUpstreamGrant(ctx, "tickets", user)
		ok(t, fmt.Sprintf("GetMCPUpstreamGrant(tickets, %q) after another user's revocation", user), err)
	}
}

func testMCPUpstreamClient(t *testing.T, s store.Store, clock *Clock) {
	m := capability[store.MCPUpstreamAuth](t, s)
	ctx := t.Context()
	_, err := m.GetMCPUpstreamClient(ctx, "tickets")
	isErr(t, "GetMCPUpstreamClient before any", err, store.ErrNotFound)
	c := store.MCPUpstreamClient{ServerID: "tickets", Issuer: "https://as.example.com", RedirectURI: "https://auth.example.com/cb", Sealed: []byte{0, 1, 2}}
	ok(t, "PutMCPUpstreamClient", m.PutMCPUpstreamClient(ctx, &c))
	got, err := m.GetMCPUpstreamClient(ctx, "tickets")
	ok(t, "GetMCPUpstreamClient", err)
	requireAllFieldsSet(t, *got)
	equal(t, "client", *got, store.MCPUpstreamClient{ServerID: "tickets", Issuer: "https://as.example.com",
		RedirectURI: "https://auth.example.com/cb", Sealed: []byte{0, 1, 2}, CreatedAt: ts(clock.Now())})
	clock.Advance(time.Minute)
	c2 := store.MCPUpstreamClient{ServerID: "tickets", Issuer: "https://as2.example.com", RedirectURI: "https://auth.example.com/cb", Sealed: []byte("x")}
	ok(t, "PutMCPUpstreamClient (replace)", m.PutMCPUpstreamClient(ctx, &c2))
	got, err = m.GetMCPUpstreamClient(ctx, "tickets")
	ok(t, "GetMCPUpstreamClient", err)
	equal(t, "replaced client", *got, store.MCPUpstreamClient{ServerID: "tickets", Issuer: "https://as2.example.com",
		RedirectURI: "https://auth.example.com/cb", Sealed: []byte("x"), CreatedAt: ts(clock.Now())})
}

func testMCPStateSingleUse(t *testing.T, s store.Store, clock *Clock) {
	m := capability[store.MCPUpstreamAuth](t, s)
	ctx := t.Context()
	st := store.MCPUpstreamState{ID: "h1", ServerID: "tickets", UserID: "u1", UserEmail: "alice@example.com", PortalID: "agents",
		Sealed: []byte{9, 0, 9}, ExpiresAt: clock.Now().Add(10 * time.Minute)}
	ok(t, "CreateMCPUpstreamState", m.CreateMCPUpstreamState(ctx, &st))
	dup := st
	dup.CreatedAt = time.Time{}
	isErr(t, "CreateMCPUpstreamState with a taken id", m.CreateMCPUpstreamState(ctx, &dup), store.ErrAlreadyExists)
	got, err := m.ConsumeMCPUpstreamState(ctx, "h1")
	ok(t, "ConsumeMCPUpstreamState", err)
	want := st
	want.CreatedAt, want.ExpiresAt = ts(clock.Now()), ts(st.ExpiresAt)
	requireAllFieldsSet(t, want)
	equal(t, "state", *got, want)
	_, err = m.ConsumeMCPUpstreamState(ctx, "h1")
	isErr(t, "ConsumeMCPUpstreamState again", err, store.ErrNotFound)
	_, err = m.ConsumeMCPUpstreamState(ctx, "H1")
	isErr(t, "ConsumeMCPUpstreamState with another case", err, store.ErrNotFound)

	exp := store.MCPUpstreamState{ID: "h2", ServerID: "tickets", Sealed: []byte("x"), ExpiresAt: clock.Now().Add(time.Minute)}
	ok(t, "CreateMCPUpstreamState", m.CreateMCPUpstreamState(ctx, &exp))
	clock.Advance(time.Minute)
	_, err = m.ConsumeMCPUpstreamState(ctx, "h2")
	isErr(t, "ConsumeMCPUpstreamState at its expiry", err, store.ErrNotFound)
	notSentinel(t, "CreateMCPUpstreamState without sealed data", m.CreateMCPUpstreamState(ctx, &store.MCPUpstreamState{ID: "h3", ServerID: "tickets"}))
}

// testMCPStateConcurrentConsume: a callback replayed at several replicas at once finishes once.
func testMCPStateConcurrentConsume(t *testing.T, s store.Store, clock *Clock) {
	m := capability[store.MCPUpstreamAuth](t, s)
	ctx := t.Context()
	st := store.MCPUpstreamState{ID: "raced", ServerID: "tickets", Sealed: []byte("x"), ExpiresAt: clock.Now().Add(time.Minute)}
	ok(t, "CreateMCPUpstreamState", m.CreateMCPUpstreamState(ctx, &st))
	errs := race(func(int) error {
		_, err := m.ConsumeMCPUpstreamState(ctx, "raced")
		return err
	})
	if wins := countErrs(t, "ConsumeMCPUpstreamState", errs, store.ErrNotFound); wins != 1 {
		t.Fatalf("%d of %d concurrent consumptions won, want exactly 1", wins, goroutines)
	}
}
