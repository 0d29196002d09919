package ca

import (
	"bytes"
	"crypto/x509"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
)

// testClock is a settable clock for Manager and Minter.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func newTestClock() *testClock {
	return &testClock{now: time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)}
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

var testMasterKey = bytes.Repeat([]byte{0x42}, 32)

// newTestManager returns a Manager over a fresh SQLite store and the store itself.
func newTestManager(t testing.TB, now func() time.Time) (*Manager, *sqlstore.Store) {
	t.Helper()
	st, err := sqlstore.Open(t.Context(), "sqlite", filepath.Join(t.TempDir(), "gatehouse.db"), sqlstore.WithClock(now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	m, err := NewManager(st, testMasterKey, Options{Organization: "Example Corp", Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return m, st
}

// activeAuthority generates a CA, activates it and returns it decrypted.
func activeAuthority(t testing.TB, m *Manager) *Authority {
	t.Helper()
	info, err := m.Generate(t.Context(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Activate(t.Context(), info.ID); err != nil {
		t.Fatal(err)
	}
	a, err := m.InUse(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if a.ID() != info.ID {
		t.Fatalf("InUse = %s, want %s", a.ID(), info.ID)
	}
	return a
}

func caPool(a *Authority) *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(a.Certificate())
	return p
}
