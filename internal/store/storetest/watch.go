package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

var watchTests = []suiteTest{
	{"Config", testWatchConfig},
	{"Revocations", testWatchRevocations},
	{"Keys", testWatchKeys},
	{"ClosedWhenContextEnds", testWatchClosed},
}

func isConfig(c store.Change) bool      { return c.Config }
func isRevocations(c store.Change) bool { return c.Revocations }
func isKeys(c store.Change) bool        { return c.Keys }

func testWatchConfig(t *testing.T, s store.Store, _ *Clock) {
	ctx := t.Context()
	ch1, ch2 := s.Watch(ctx), s.Watch(ctx)
	_, err := s.UpdateConfig(ctx, func(c *store.Config) error {
		c.Organization.Name = "org"
		return nil
	})
	ok(t, "UpdateConfig", err)
	waitFor(t, ch1, "first watcher after UpdateConfig", isConfig)
	waitFor(t, ch2, "second watcher after UpdateConfig", isConfig)

	// Several changes before the receiver reads still end in at least one notification.
	for range 3 {
		_, err := s.UpdateConfig(ctx, func(*store.Config) error { return nil })
		ok(t, "UpdateConfig", err)
	}
	waitFor(t, ch1, "after three UpdateConfig calls", isConfig)
}

func testWatchRevocations(t *testing.T, s store.Store, clock *Clock) {
	ctx := t.Context()
	u, err := s.UpsertUserByEmail(ctx, "alice@example.com", lastSeen(clock.Now(), "idp-1"))
	ok(t, "UpsertUserByEmail", err)
	ok(t, "CreateSession", s.CreateSession(ctx, newSession("sess-1", u.ID, clock.Now(), time.Hour)))
	ch := s.Watch(ctx)

	ok(t, "RevokeSession", s.RevokeSession(ctx, "sess-1"))
	waitFor(t, ch, "after RevokeSession", isRevocations)
	ok(t, "RevokeUserSessions", s.RevokeUserSessions(ctx, u.ID))
	waitFor(t, ch, "after RevokeUserSessions", isRevocations)
	ok(t, "RevokeAppTokens", s.RevokeAppTokens(ctx, "app-1"))
	waitFor(t, ch, "after RevokeAppTokens", isRevocations)
}

func testWatchKeys(t *testing.T, s store.Store, clock *Clock) {
	ctx := t.Context()
	ch := s.Watch(ctx)
	ok(t, "RotateSigningKey", s.RotateSigningKey(ctx, "", newKey("k1", clock.Now()), time.Hour))
	waitFor(t, ch, "after the first RotateSigningKey", isKeys)
	ok(t, "RotateSigningKey", s.RotateSigningKey(ctx, "k1", newKey("k2", clock.Now()), time.Hour))
	waitFor(t, ch, "after the second RotateSigningKey", isKeys)
}

func testWatchClosed(t *testing.T, s store.Store, _ *Clock) {
	ctx, cancel := context.WithCancel(t.Context())
	ch := s.Watch(ctx)
	other := s.Watch(t.Context())
	cancel()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case _, open := <-ch:
			if !open {
				// The other watcher still works.
				_, err := s.UpdateConfig(t.Context(), func(*store.Config) error { return nil })
				ok(t, "UpdateConfig", err)
				waitFor(t, other, "watcher with a live context", isConfig)
				return
			}
		case <-timeout:
			t.Fatal("Watch channel not closed within 10s of its context ending")
		}
	}
}
