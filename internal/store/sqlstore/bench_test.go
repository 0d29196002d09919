package sqlstore

import (
	"fmt"
	"strconv"
	"testing"
	"time"
)

// BenchmarkConsumeHandoffCode measures one successful consumption. The codes are inserted
// beforehand in a single transaction, outside the timed loop.
func BenchmarkConsumeHandoffCode(b *testing.B) {
	s, _ := openTemp(b)
	ctx := b.Context()
	expires := time.Now().Add(time.Hour).UnixMicro()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	for i := range b.N {
		_, err := tx.ExecContext(ctx, "INSERT INTO handoff_codes ("+handoffColumns+") VALUES (?, 'sess', 'app', 'host', 'https://host/', 'binding', 'token', 1, ?, 0)",
			"code-"+strconv.Itoa(i), expires)
		if err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := range b.N {
		if _, err := s.ConsumeHandoffCode(ctx, "code-"+strconv.Itoa(i)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHitRateLimit measures hits on a handful of keys from one goroutine.
func BenchmarkHitRateLimit(b *testing.B) {
	s, _ := openTemp(b)
	ctx := b.Context()
	keys := make([]string, 16)
	for i := range keys {
		keys[i] = fmt.Sprintf("login:user%d", i)
	}
	b.ResetTimer()
	for i := range b.N {
		if _, err := s.HitRateLimit(ctx, keys[i%len(keys)], time.Minute, 1<<30); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHitRateLimitParallel measures hits from GOMAXPROCS goroutines, which queue for
// SQLite's single writer.
func BenchmarkHitRateLimitParallel(b *testing.B) {
	s, _ := openTemp(b)
	ctx := b.Context()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			i++
			if _, err := s.HitRateLimit(ctx, "login:user"+strconv.Itoa(i%16), time.Minute, 1<<30); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
