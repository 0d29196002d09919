package storetest

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

var concurrencyTests = []suiteTest{
	{"HandoffCodeOneWinner", testConcurrentHandoff},
	{"RotationOneWinner", testConcurrentRotation},
	{"RateLimitCountsExactly", testConcurrentRateLimit},
	{"PINAttemptsCountExactly", testConcurrentPIN},
	{"ConfigUpdatesNotLost", testConcurrentConfig},
	{"UpsertUserOneID", testConcurrentUpsertUser},
}

// goroutines is how many goroutines race in each concurrency test.
const goroutines = 20

// race runs fn(i) for i in [0, goroutines) at once and returns the errors by i.
func race(fn func(i int) error) []error {
	errs := make([]error, goroutines)
	var ready, wg sync.WaitGroup
	start := make(chan struct{})
	ready.Add(goroutines)
	for i := range goroutines {
		wg.Go(func() {
			ready.Done()
			<-start
			errs[i] = fn(i)
		})
	}
	ready.Wait()
	close(start)
	wg.Wait()
	return errs
}

// countErrs fails on errors other than allowed and returns how many calls succeeded.
func countErrs(t *testing.T, what string, errs []error, allowed error) (wins int) {
	t.Helper()
	for _, err := range errs {
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, allowed):
			t.Errorf("%s: unexpected error %v", what, err)
		}
	}
	return wins
}

func testConcurrentHandoff(t *testing.T, s store.Store, clock *Clock) {
	ctx := t.Context()
	ok(t, "CreateHandoffCode", s.CreateHandoffCode(ctx, newHandoffCode("hash-1", clock.Now())))
	errs := race(func(int) error {
		_, err := s.ConsumeHandoffCode(ctx, "hash-1")
		return err
	})
	if wins := countErrs(t, "ConsumeHandoffCode", errs, store.ErrConflict); wins != 1 {
		t.Errorf("%d of %d concurrent ConsumeHandoffCode calls won, want exactly 1", wins, goroutines)
	}
}

func testConcurrentRotation(t *testing.T, s store.Store, clock *Clock) {
	ctx := t.Context()
	ok(t, "RotateSigningKey", s.RotateSigningKey(ctx, "", newKey("k0", clock.Now()), time.Hour))
	errs := race(func(i int) error {
		return s.RotateSigningKey(ctx, "k0", newKey(fmt.Sprintf("k%d", i+1), clock.Now()), time.Hour)
	})
	if wins := countErrs(t, "RotateSigningKey", errs, store.ErrConflict); wins != 1 {
		t.Errorf("%d of %d concurrent rotations won, want exactly 1", wins, goroutines)
	}
	keys, err := s.SigningKeys(ctx)
	ok(t, "SigningKeys", err)
	if len(keys) != 2 || keys[1].ID != "k0" || !keys[0].RetireAt.IsZero() || keys[1].RetireAt.IsZero() {
		t.Errorf("after concurrent rotations SigningKeys = %+v, want the winner then retired k0", keys)
	}
}

func testConcurrentRateLimit(t *testing.T, s store.Store, _ *Clock) {
	ctx := t.Context()
	const perGoroutine, limit = 5, 60
	var allowed atomic.Int64
	errs := race(func(int) error {
		for range perGoroutine {
			within, err := s.HitRateLimit(ctx, "k", time.Minute, limit)
			if err != nil {
				return err
			}
			if within {
				allowed.Add(1)
			}
		}
		return nil
	})
	countErrs(t, "HitRateLimit", errs, nil)
	if got := allowed.Load(); got != limit {
		t.Errorf("%d of %d concurrent hits allowed with limit %d, want exactly %d", got, goroutines*perGoroutine, limit, limit)
	}
}

func testConcurrentPIN(t *testing.T, s store.Store, clock *Clock) {
	ctx := t.Context()
	const maxAttempts = 5
	ok(t, "CreatePINChallenge", s.CreatePINChallenge(ctx, newPIN("wrong", clock.Now())))
	errs := race(func(int) error {
		_, _, err := s.AttemptPINChallenge(ctx, "wrong", maxAttempts, func(*store.PINChallenge) bool { return false })
		return err
	})
	if n := countErrs(t, "AttemptPINChallenge (wrong PIN)", errs, store.ErrConflict); n != maxAttempts {
		t.Errorf("%d of %d concurrent wrong attempts were checked, want exactly maxAttempts = %d", n, goroutines, maxAttempts)
	}

	ok(t, "CreatePINChallenge", s.CreatePINChallenge(ctx, newPIN("right", clock.Now())))
	var consumed atomic.Int64
	errs = race(func(int) error {
		_, used, err := s.AttemptPINChallenge(ctx, "right", maxAttempts, func(*store.PINChallenge) bool { return true })
		if used {
			consumed.Add(1)
		}
		return err
	})
	wins := countErrs(t, "AttemptPINChallenge (right PIN)", errs, store.ErrConflict)
	if wins != 1 || consumed.Load() != 1 {
		t.Errorf("%d attempts succeeded and %d consumed the challenge, want exactly 1 each", wins, consumed.Load())
	}
}

func testConcurrentConfig(t *testing.T, s store.Store, _ *Clock) {
	ctx := t.Context()
	errs := race(func(i int) error {
		_, err := s.UpdateConfig(ctx, func(c *store.Config) error {
			c.Applications = append(c.Applications, store.Application{ID: fmt.Sprintf("app-%d", i)})
			return nil
		})
		return err
	})
	countErrs(t, "UpdateConfig", errs, nil)
	cfg, err := s.GetConfig(ctx)
	ok(t, "GetConfig", err)
	if cfg.Version != goroutines || len(cfg.Applications) != goroutines {
		t.Errorf("after %d concurrent updates: Version %d with %d applications, want %d and %d",
			goroutines, cfg.Version, len(cfg.Applications), goroutines, goroutines)
	}
	auds := map[string]bool{}
	for _, a := range cfg.Applications {
		auds[a.AUD] = true
	}
	if len(auds) != len(cfg.Applications) {
		t.Errorf("applications share AUDs: %d distinct for %d applications", len(auds), len(cfg.Applications))
	}
}

func testConcurrentUpsertUser(t *testing.T, s store.Store, clock *Clock) {
	ctx := t.Context()
	ids := make([]string, goroutines)
	errs := race(func(i int) error {
		u, err := s.UpsertUserByEmail(ctx, "New.User@example.com", lastSeen(clock.Now(), "idp-1"))
		if err == nil {
			ids[i] = u.ID
		}
		return err
	})
	countErrs(t, "UpsertUserByEmail", errs, nil)
	for _, id := range ids {
		if id != ids[0] {
			t.Fatalf("concurrent first logins got different user IDs: %v", ids)
		}
	}
	users, err := s.ListUsers(ctx)
	ok(t, "ListUsers", err)
	if len(users) != 1 {
		t.Errorf("concurrent first logins created %d users, want 1", len(users))
	}
}
