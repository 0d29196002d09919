package keys

import (
	"bytes"
	"context"
	"slices"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// fakeClock is a manually advanced clock shared by a fake store and its managers.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// fakeStore implements the signing-key part of store.Store with the documented semantics;
// every other method panics (the embedded interface is nil).
type fakeStore struct {
	store.Store
	now func() time.Time

	mu        sync.Mutex
	keys      []store.SigningKey
	failReads bool
}

func newFakeStore(now func() time.Time) *fakeStore { return &fakeStore{now: now} }

func cloneKey(k store.SigningKey) store.SigningKey {
	k.PrivateKeyEncrypted = bytes.Clone(k.PrivateKeyEncrypted)
	return k
}

func (s *fakeStore) SigningKeys(ctx context.Context) ([]store.SigningKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failReads {
		return nil, store.ErrUnavailable
	}
	now := s.now()
	var out []store.SigningKey
	for _, k := range s.keys {
		if k.RetireAt.IsZero() || now.Before(k.RetireAt) {
			out = append(out, cloneKey(k))
		}
	}
	slices.SortStableFunc(out, func(a, b store.SigningKey) int { return b.CreatedAt.Compare(a.CreatedAt) })
	return out, nil
}

func (s *fakeStore) RotateSigningKey(ctx context.Context, expectedCurrent string, next *store.SigningKey, overlap time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur := slices.IndexFunc(s.keys, func(k store.SigningKey) bool { return k.RetireAt.IsZero() && k.Use == next.Use })
	curID := ""
	if cur >= 0 {
		curID = s.keys[cur].ID
	}
	if curID != expectedCurrent {
		return store.ErrConflict
	}
	if slices.ContainsFunc(s.keys, func(k store.SigningKey) bool { return k.ID == next.ID }) {
		return store.ErrAlreadyExists
	}
	if cur >= 0 {
		s.keys[cur].RetireAt = s.now().Add(overlap)
	}
	n := cloneKey(*next)
	n.RetireAt = time.Time{}
	s.keys = append(s.keys, n)
	return nil
}

func (s *fakeStore) set(f func(keys []store.SigningKey)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s.keys)
}

// hookStore runs a hook once at the start of the next RotateSigningKey, before the
// compare-and-swap: a way to let another replica win the race, whatever the backend.
type hookStore struct {
	store.Store
	mu           sync.Mutex
	beforeRotate func()
}

func (h *hookStore) RotateSigningKey(ctx context.Context, expectedCurrent string, next *store.SigningKey, overlap time.Duration) error {
	h.mu.Lock()
	hook := h.beforeRotate
	h.beforeRotate = nil
	h.mu.Unlock()
	if hook != nil {
		hook()
	}
	return h.Store.RotateSigningKey(ctx, expectedCurrent, next, overlap)
}
