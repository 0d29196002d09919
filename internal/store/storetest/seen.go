package storetest

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

var rememberTests = []suiteTest{
	{"OnceUntilExpiry", testRememberOnce},
	{"ConcurrentOnce", testRememberOnceConcurrent},
}

func testRememberOnce(t *testing.T, s store.Store, clock *Clock) {
	ctx := t.Context()
	remember := func(key string, expires time.Time, want bool) {
		t.Helper()
		got, err := s.RememberOnce(ctx, key, expires)
		ok(t, "RememberOnce", err)
		if got != want {
			t.Errorf("RememberOnce(%s) = %v, want %v", key, got, want)
		}
	}
	exp := clock.Now().Add(time.Minute)
	remember("saml:a", exp, true)
	remember("saml:a", exp, false) // replay
	remember("saml:b", exp, true)  // keys are independent
	clock.Advance(time.Minute)     // expired records may be recorded again
	remember("saml:a", clock.Now().Add(time.Minute), true)
	remember("saml:a", clock.Now().Add(time.Minute), false)
}

func testRememberOnceConcurrent(t *testing.T, s store.Store, clock *Clock) {
	ctx := t.Context()
	var wins atomic.Int32
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fresh, err := s.RememberOnce(ctx, "saml:race", clock.Now().Add(time.Hour))
			if err != nil {
				t.Errorf("RememberOnce: %v", err)
			}
			if fresh {
				wins.Add(1)
			}
		}()
	}
	wg.Wait()
	if n := wins.Load(); n != 1 {
		t.Errorf("%d goroutines saw the key as new, want exactly 1", n)
	}
}
