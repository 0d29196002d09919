package token

import (
	"hash/maphash"
	"strings"
	"sync"
	"time"
)

// Verified is a token that passed Verify, as kept in a Cache. Treat it and its Claims as
// immutable once Put: they are shared by every request presenting the same token.
type Verified struct {
	Claims *Claims
	// KID is the key that verified the token (from Verifier.VerifyKID).
	KID string
	// Extra is whatever the caller derived from the claims once (say, a compiled identity).
	Extra any
}

// Cache is a bounded cache of verified tokens, keyed by the raw token string. Because the key is
// the whole token (header, payload and signature), a hit stands for exactly the bytes that were
// verified: no input of the verification is left out of the key, and two different tokens can
// never share an entry.
//
// A hit only means "this exact token verified before and has not expired". On every hit the
// caller must still:
//   - check the audience for the application being served (Claims.HasAudience);
//   - re-check that KID is still published (KeySet.PublicKey), so a rotated-out key's tokens stop
//     working at the end of its overlap window even while cached;
//   - re-check revocation (user and app not-before, session) and anything else that can change
//     after the token was issued.
//
// Get returns only entries whose exp is still in the future. When a shard is full, Put evicts the
// entry closest to expiry among a few sampled at random. Safe for concurrent use. A nil *Cache is
// valid and caches nothing.
type Cache struct {
	seed     maphash.Seed
	shards   []cacheShard
	mask     uint64
	perShard int
}

type cacheShard struct {
	mu sync.RWMutex
	m  map[string]cacheEntry
	_  [32]byte // keep shards on separate cache lines
}

type cacheEntry struct {
	v   *Verified
	exp int64
}

// evictionSample is how many random entries a full shard looks at to pick one to evict.
const evictionSample = 8

// NewCache returns a cache holding up to capacity tokens (rounded down to a multiple of the
// shard count). A capacity of zero or less gives a cache that stores nothing.
func NewCache(capacity int) *Cache {
	n := 64
	for n > 1 && capacity/n < 16 {
		n /= 2
	}
	c := &Cache{
		seed:     maphash.MakeSeed(),
		shards:   make([]cacheShard, n),
		mask:     uint64(n - 1),
		perShard: max(capacity/n, 0),
	}
	for i := range c.shards {
		c.shards[i].m = make(map[string]cacheEntry)
	}
	return c
}

func (c *Cache) shard(raw string) *cacheShard {
	return &c.shards[maphash.String(c.seed, raw)&c.mask]
}

// Get returns the verified token stored for raw if its exp is after now. It does not allocate.
func (c *Cache) Get(raw string, now time.Time) (*Verified, bool) {
	if c == nil {
		return nil, false
	}
	s := c.shard(raw)
	s.mu.RLock()
	e, ok := s.m[raw]
	s.mu.RUnlock()
	if !ok || now.Unix() >= e.exp {
		return nil, false
	}
	return e.v, true
}

// Put stores v for raw. Entries without claims or with an oversized key are ignored.
func (c *Cache) Put(raw string, v *Verified) {
	if c == nil || c.perShard == 0 || v == nil || v.Claims == nil || len(raw) > MaxTokenSize {
		return
	}
	e := cacheEntry{v: v, exp: v.Claims.ExpiresAt}
	// Clone so that the cache does not pin a larger buffer raw may point into.
	key := strings.Clone(raw)
	s := c.shard(raw)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.m[raw]; !ok && len(s.m) >= c.perShard {
		s.evictOne()
	}
	s.m[key] = e
}

// evictOne removes, among a few entries sampled in Go's randomized map order, the one that
// expires first (expired entries go before live ones).
func (s *cacheShard) evictOne() {
	var victim string
	var victimExp int64
	n := 0
	for k, e := range s.m {
		if n == 0 || e.exp < victimExp {
			victim, victimExp = k, e.exp
		}
		if n++; n == evictionSample {
			break
		}
	}
	if n > 0 {
		delete(s.m, victim)
	}
}

// Purge removes every entry, for instance after a key was revoked.
func (c *Cache) Purge() {
	if c == nil {
		return
	}
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		clear(s.m)
		s.mu.Unlock()
	}
}

// Len returns the number of entries, expired ones included.
func (c *Cache) Len() int {
	if c == nil {
		return 0
	}
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.RLock()
		n += len(s.m)
		s.mu.RUnlock()
	}
	return n
}
