package token_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/gatehouse/gatehouse/internal/token"
)

func verified(exp int64) *token.Verified {
	return &token.Verified{Claims: &token.Claims{ExpiresAt: exp}, KID: "k"}
}

func TestCacheGetPut(t *testing.T) {
	c := token.NewCache(100)
	exp := testNow.Unix() + 10
	v := verified(exp)
	if _, ok := c.Get("a.b.c", testNow); ok {
		t.Fatal("hit in an empty cache")
	}
	c.Put("a.b.c", v)
	if got, ok := c.Get("a.b.c", testNow); !ok || got != v {
		t.Fatalf("Get = %v, %v", got, ok)
	}
	if _, ok := c.Get("a.b.d", testNow); ok {
		t.Fatal("hit for a different token")
	}
	// Entries are returned only while exp is in the future.
	if _, ok := c.Get("a.b.c", testNow.Add(9_999_000_000)); !ok {
		t.Fatal("miss just before exp")
	}
	if _, ok := c.Get("a.b.c", testNow.Add(10_000_000_000)); ok {
		t.Fatal("hit at exp")
	}
	c.Purge()
	if _, ok := c.Get("a.b.c", testNow); ok || c.Len() != 0 {
		t.Fatal("hit after Purge")
	}
	var none *token.Cache
	none.Put("a.b.c", v)
	if _, ok := none.Get("a.b.c", testNow); ok || none.Len() != 0 {
		t.Fatal("nil cache stored something")
	}
	none.Purge()
	c.Put("nil", nil)
	c.Put("nil claims", &token.Verified{})
	if c.Len() != 0 {
		t.Fatal("stored an entry without claims")
	}
}

func TestCacheBounded(t *testing.T) {
	for _, capacity := range []int{0, 1, 7, 100, 1000, 5000} {
		t.Run(fmt.Sprint(capacity), func(t *testing.T) {
			c := token.NewCache(capacity)
			for i := range 3 * capacity {
				c.Put(fmt.Sprintf("tok-%d", i), verified(testNow.Unix()+int64(i)+1))
			}
			if n := c.Len(); n > capacity || (capacity >= 64 && n < capacity*3/4) {
				t.Fatalf("Len = %d for capacity %d", n, capacity)
			}
			// The newest entry is always there.
			if capacity > 0 {
				if _, ok := c.Get(fmt.Sprintf("tok-%d", 3*capacity-1), testNow); !ok {
					t.Fatal("newest entry evicted")
				}
			}
		})
	}
}

func TestCacheEvictsExpiredFirst(t *testing.T) {
	c := token.NewCache(1) // one shard, one entry: eviction is deterministic
	c.Put("old", verified(testNow.Unix()-100))
	c.Put("new", verified(testNow.Unix()+100))
	if _, ok := c.Get("new", testNow); !ok || c.Len() != 1 {
		t.Fatal("full cache did not make room")
	}
	c.Put("new", verified(testNow.Unix()+200)) // replacing does not evict
	if _, ok := c.Get("new", testNow); !ok || c.Len() != 1 {
		t.Fatal("replacement lost the entry")
	}
}

func TestCacheGetDoesNotAllocate(t *testing.T) {
	c := token.NewCache(1000)
	raw := string(make([]byte, 900))
	c.Put(raw, verified(testNow.Unix()+60))
	allocs := testing.AllocsPerRun(1000, func() {
		if _, ok := c.Get(raw, testNow); !ok {
			t.Fatal("miss")
		}
	})
	if allocs != 0 {
		t.Fatalf("Get allocates %v times per call", allocs)
	}
	miss := testing.AllocsPerRun(1000, func() { c.Get("absent", testNow) })
	if miss != 0 {
		t.Fatalf("missing Get allocates %v times per call", miss)
	}
}

func TestCacheConcurrent(t *testing.T) {
	c := token.NewCache(256)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 2000 {
				raw := fmt.Sprintf("t-%d-%d", g, i%300)
				if v, ok := c.Get(raw, testNow); ok && v.Claims.ExpiresAt <= testNow.Unix() {
					t.Error("expired hit")
				}
				c.Put(raw, verified(testNow.Unix()+int64(i%5)))
				if i%500 == 0 {
					c.Purge()
				}
			}
		})
	}
	wg.Wait()
	if c.Len() > 256 {
		t.Fatalf("Len = %d", c.Len())
	}
}
