package ca

import (
	"context"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// TestFollow: a minter following the store switches to each newly activated CA, keeps its CA
// across unrelated changes, and has none once no CA is in use.
func TestFollow(t *testing.T) {
	mgr, st := newTestManager(t, time.Now)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	minter := newTestMinter(t, nil, MinterOptions{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		mgr.Follow(ctx, st.Watch(ctx), minter, nil)
	}()
	waitAuthority := func(want string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			got := ""
			if a := minter.Authority(); a != nil {
				got = a.ID()
			}
			if got == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("minter follows %q, want %q", got, want)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	first, err := mgr.Generate(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mgr.Activate(ctx, first.ID); err != nil {
		t.Fatal(err)
	}
	waitAuthority(first.ID)
	if _, err := minter.Certificate(ctx, "example.com"); err != nil {
		t.Fatal(err)
	}
	kept := minter.Authority()

	// A new inactive CA changes nothing; activating it switches.
	second, err := mgr.Generate(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mgr.SetState(ctx, second.ID, store.GatewayCAAvailable); err != nil {
		t.Fatal(err)
	}
	if err := mgr.Reload(ctx, minter); err != nil || minter.Authority() != kept || minter.Stats().Entries != 1 {
		t.Fatalf("reload without a new CA in use replaced the authority or the cache (%v)", err)
	}
	if _, err := mgr.Activate(ctx, second.ID); err != nil {
		t.Fatal(err)
	}
	waitAuthority(second.ID)
	cancel()
	<-done

	// With no CA in use (a store emptied by hand), Reload leaves the minter with none.
	empty, _ := newTestManager(t, time.Now)
	if err := empty.Reload(t.Context(), minter); err != nil || minter.Authority() != nil {
		t.Fatalf("Reload with no CA in use: %v, authority %v", err, minter.Authority())
	}
}
