package token_test

import (
	"testing"

	"github.com/gatehouse/gatehouse/internal/token"
)

func BenchmarkMint(b *testing.B) {
	k := fixture(b)
	s, c := k.signer(), validClaims()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := token.Mint(s, c); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	k := fixture(b)
	raw, err := token.Mint(k.signer(), validClaims())
	if err != nil {
		b.Fatal(err)
	}
	v := k.verifier()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(raw); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCacheGetHit(b *testing.B) {
	k := fixture(b)
	raw, err := token.Mint(k.signer(), validClaims())
	if err != nil {
		b.Fatal(err)
	}
	c := token.NewCache(10_000)
	claims, kid, err := k.verifier().VerifyKID(raw)
	if err != nil {
		b.Fatal(err)
	}
	c.Put(raw, &token.Verified{Claims: claims, KID: kid})
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := c.Get(raw, testNow); !ok {
			b.Fatal("miss")
		}
	}
}

func BenchmarkCacheGetHitParallel(b *testing.B) {
	k := fixture(b)
	raw, err := token.Mint(k.signer(), validClaims())
	if err != nil {
		b.Fatal(err)
	}
	c := token.NewCache(10_000)
	c.Put(raw, &token.Verified{Claims: validClaims(), KID: k.kid})
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, ok := c.Get(raw, testNow); !ok {
				b.Fatal("miss")
			}
		}
	})
}
