package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// mcpClientTests cover the optional MCPClients capability; a backend without it skips them.
var mcpClientTests = []suiteTest{
	{"RoundTrip", testMCPClientRoundTrip},
	{"Duplicate", testMCPClientDuplicate},
	{"ConcurrentCreate", testMCPClientConcurrentCreate},
	{"Invalid", testMCPClientInvalid},
	{"Retention", testMCPClientRetention},
	{"CreatedAtTruncated", testMCPClientCreatedAtTruncated},
}

// fullMCPClient has every field set. The redirect URIs hold characters JSON escapes or encodes
// specially, to show that they are stored exactly.
func fullMCPClient(id string, created time.Time) store.MCPClient {
	return store.MCPClient{
		ClientID: id, ClientName: "Claude Desktop ✓", ClientURI: "https://client.example.com/about",
		RedirectURIs: []string{
			"http://127.0.0.1:33418/callback",
			"https://client.example.com/cb?a=1&b=<2>",
			"claude://oauth/callback/é",
		},
		CreatedAt: created, SoftwareID: "com.example.claude", SoftwareVersion: "0.12.3",
	}
}

// notSentinel fails when err is nil or wraps one of the store's sentinel errors.
func notSentinel(t *testing.T, what string, err error) {
	t.Helper()
	if err == nil {
		t.Errorf("%s succeeded", what)
		return
	}
	for _, sentinel := range []error{store.ErrNotFound, store.ErrAlreadyExists, store.ErrConflict, store.ErrUnavailable} {
		if errors.Is(err, sentinel) {
			t.Errorf("%s: error %v wraps %v", what, err, sentinel)
		}
	}
}

func testMCPClientRoundTrip(t *testing.T, s store.Store, clock *Clock) {
	m := capability[store.MCPClients](t, s)
	ctx := t.Context()
	_, err := m.GetMCPClient(ctx, "c-full")
	isErr(t, "GetMCPClient before any registration", err, store.ErrNotFound)

	full := fullMCPClient("c-full", clock.Now().Add(-time.Second))
	ok(t, "CreateMCPClient", m.CreateMCPClient(ctx, &full))
	want := fullMCPClient("c-full", ts(clock.Now().Add(-time.Second)))
	requireAllFieldsSet(t, want)
	got, err := m.GetMCPClient(ctx, "c-full")
	ok(t, "GetMCPClient", err)
	equal(t, "GetMCPClient", *got, want)
	if got.CreatedAt.Location() != time.UTC {
		t.Errorf("CreatedAt not in UTC: %v", got.CreatedAt)
	}

	// Only the required fields: the optional ones read back empty.
	bare := store.MCPClient{ClientID: "c-bare", RedirectURIs: []string{"https://a.example/cb"}, CreatedAt: clock.Now()}
	ok(t, "CreateMCPClient (bare)", m.CreateMCPClient(ctx, &bare))
	got, err = m.GetMCPClient(ctx, "c-bare")
	ok(t, "GetMCPClient (bare)", err)
	equal(t, "GetMCPClient (bare)", *got, store.MCPClient{ClientID: "c-bare", RedirectURIs: []string{"https://a.example/cb"},
		CreatedAt: ts(clock.Now())})

	// Client IDs are compared byte for byte.
	for _, id := range []string{"C-FULL", "c-full ", "c-ful"} {
		_, err = m.GetMCPClient(ctx, id)
		isErr(t, fmt.Sprintf("GetMCPClient(%q)", id), err, store.ErrNotFound)
	}
	upper := fullMCPClient("C-FULL", clock.Now())
	upper.ClientName = "upper"
	ok(t, "CreateMCPClient (id differing in case)", m.CreateMCPClient(ctx, &upper))
	got, err = m.GetMCPClient(ctx, "c-full")
	ok(t, "GetMCPClient after the upper-case one", err)
	equal(t, "client after one differing in case", *got, want)
}

func testMCPClientDuplicate(t *testing.T, s store.Store, clock *Clock) {
	m := capability[store.MCPClients](t, s)
	ctx := t.Context()
	first := fullMCPClient("dup", clock.Now())
	ok(t, "CreateMCPClient", m.CreateMCPClient(ctx, &first))
	clock.Advance(time.Minute)
	second := store.MCPClient{ClientID: "dup", ClientName: "impostor", RedirectURIs: []string{"https://evil.example/cb"},
		CreatedAt: clock.Now()}
	isErr(t, "CreateMCPClient with a taken id", m.CreateMCPClient(ctx, &second), store.ErrAlreadyExists)
	got, err := m.GetMCPClient(ctx, "dup")
	ok(t, "GetMCPClient", err)
	equal(t, "client after a refused duplicate", *got, fullMCPClient("dup", ts(first.CreatedAt)))
}

// testMCPClientConcurrentCreate: many goroutines register the same client id at once; exactly
// one wins, the others get ErrAlreadyExists, and the stored client is the winner's.
func testMCPClientConcurrentCreate(t *testing.T, s store.Store, clock *Clock) {
	m := capability[store.MCPClients](t, s)
	ctx := t.Context()
	errs := race(func(i int) error {
		c := fullMCPClient("raced", clock.Now())
		c.ClientName = fmt.Sprint("goroutine ", i)
		return m.CreateMCPClient(ctx, &c)
	})
	if wins := countErrs(t, "CreateMCPClient", errs, store.ErrAlreadyExists); wins != 1 {
		t.Fatalf("%d of %d concurrent registrations of one id won, want exactly 1", wins, goroutines)
	}
	winner := -1
	for i, err := range errs {
		if err == nil {
			winner = i
		}
	}
	got, err := m.GetMCPClient(ctx, "raced")
	ok(t, "GetMCPClient", err)
	if want := fmt.Sprint("goroutine ", winner); got.ClientName != want {
		t.Errorf("stored client is %q's, want the winner %q's", got.ClientName, want)
	}
}

func testMCPClientInvalid(t *testing.T, s store.Store, clock *Clock) {
	m := capability[store.MCPClients](t, s)
	ctx := t.Context()
	for name, bad := range map[string]store.MCPClient{
		"empty client id":     {RedirectURIs: []string{"https://a.example/cb"}, CreatedAt: clock.Now()},
		"nil redirect URIs":   {ClientID: "no-uris", CreatedAt: clock.Now()},
		"empty redirect URIs": {ClientID: "empty-uris", RedirectURIs: []string{}, CreatedAt: clock.Now()},
	} {
		notSentinel(t, name+": CreateMCPClient", m.CreateMCPClient(ctx, &bad))
	}
	for _, id := range []string{"", "no-uris", "empty-uris"} {
		_, err := m.GetMCPClient(ctx, id)
		isErr(t, fmt.Sprintf("GetMCPClient(%q) after a refused registration", id), err, store.ErrNotFound)
	}
	n, err := m.DeleteMCPClientsBefore(ctx, clock.Now().Add(24*time.Hour))
	ok(t, "DeleteMCPClientsBefore", err)
	if n != 0 {
		t.Errorf("refused registrations left %d clients behind", n)
	}
}

func testMCPClientRetention(t *testing.T, s store.Store, clock *Clock) {
	m := capability[store.MCPClients](t, s)
	ctx := t.Context()
	t0 := clock.Now()
	for i := range 4 {
		c := fullMCPClient(fmt.Sprint("c", i), t0.Add(time.Duration(i)*time.Hour))
		ok(t, "CreateMCPClient", m.CreateMCPClient(ctx, &c))
	}
	n, err := m.DeleteMCPClientsBefore(ctx, t0)
	ok(t, "DeleteMCPClientsBefore (nothing)", err)
	if n != 0 {
		t.Errorf("deleted %d clients registered before the first", n)
	}
	n, err = m.DeleteMCPClientsBefore(ctx, t0.Add(2*time.Hour))
	ok(t, "DeleteMCPClientsBefore", err)
	if n != 2 {
		t.Errorf("deleted %d clients, want 2 (the ones before, not the one at the boundary)", n)
	}
	for i, wantKept := range []bool{false, false, true, true} {
		id := fmt.Sprint("c", i)
		got, err := m.GetMCPClient(ctx, id)
		switch {
		case wantKept:
			ok(t, "GetMCPClient "+id, err)
			equal(t, "kept client "+id, *got, fullMCPClient(id, ts(t0.Add(time.Duration(i)*time.Hour))))
		default:
			isErr(t, "GetMCPClient "+id+" after retention", err, store.ErrNotFound)
		}
	}
	n, err = m.DeleteMCPClientsBefore(ctx, t0.Add(2*time.Hour))
	ok(t, "DeleteMCPClientsBefore (again)", err)
	if n != 0 {
		t.Errorf("a second delete with the same cutoff deleted %d", n)
	}
}

// testMCPClientCreatedAtTruncated: CreatedAt is truncated, not rounded, to the microsecond, and
// retention compares the stored time.
func testMCPClientCreatedAtTruncated(t *testing.T, s store.Store, clock *Clock) {
	m := capability[store.MCPClients](t, s)
	ctx := t.Context()
	micro := time.Date(2031, time.May, 6, 5, 0, 0, 41_000, time.UTC)
	at := micro.Add(999 * time.Nanosecond).In(time.FixedZone("UTC-7", -7*60*60))
	c := store.MCPClient{ClientID: "trunc", RedirectURIs: []string{"https://a.example/cb"}, CreatedAt: at}
	ok(t, "CreateMCPClient", m.CreateMCPClient(ctx, &c))
	got, err := m.GetMCPClient(ctx, "trunc")
	ok(t, "GetMCPClient", err)
	if got.CreatedAt != micro {
		t.Errorf("CreatedAt = %v, want %v (truncated, in UTC)", got.CreatedAt, micro)
	}
	// The stored time is micro: a cutoff at it keeps the client, one a microsecond later not.
	n, err := m.DeleteMCPClientsBefore(ctx, micro)
	ok(t, "DeleteMCPClientsBefore (at the stored time)", err)
	if n != 0 {
		t.Errorf("cutoff at the stored time deleted %d", n)
	}
	n, err = m.DeleteMCPClientsBefore(ctx, micro.Add(time.Microsecond))
	ok(t, "DeleteMCPClientsBefore (a microsecond later)", err)
	if n != 1 {
		t.Errorf("cutoff a microsecond after the stored time deleted %d, want 1", n)
	}
	_, err = m.GetMCPClient(ctx, "trunc")
	isErr(t, "GetMCPClient after retention", err, store.ErrNotFound)
}
