package sqlstore

import (
	"context"
	"sync"

	"github.com/gatehouse/gatehouse/internal/store"
)

// Watch returns a channel that receives a Change after each committed change of configuration,
// revocations or signing keys: at once for changes made through this Store, through
// LISTEN/NOTIFY (PostgreSQL) for changes other processes commit, and in any case by the
// fingerprint poll. The channel holds one pending Change; further changes before the receiver
// reads are merged into it, and a Change may name more than changed. It is closed when ctx ends
// or the Store is closed.
func (s *Store) Watch(ctx context.Context) <-chan store.Change {
	ch := s.watchers.watch(ctx)
	s.startListener()
	return ch
}

// broadcaster fans change notifications out to watchers without ever blocking the notifier.
type broadcaster struct {
	mu       sync.Mutex
	watchers map[*watcher]struct{}
	closed   bool
}

type watcher struct {
	mu     sync.Mutex // held by senders and by close, never by the receiver
	ch     chan store.Change
	closed bool
	stop   func() bool // stops the context.AfterFunc
}

func (b *broadcaster) init() { b.watchers = make(map[*watcher]struct{}) }

func (b *broadcaster) watch(ctx context.Context) <-chan store.Change {
	w := &watcher{ch: make(chan store.Change, 1)}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		w.close()
		return w.ch
	}
	b.watchers[w] = struct{}{}
	w.stop = context.AfterFunc(ctx, func() {
		b.mu.Lock()
		delete(b.watchers, w)
		b.mu.Unlock()
		w.close()
	})
	return w.ch
}

// notify delivers c to every watcher, merging it into a notification still pending.
func (b *broadcaster) notify(c store.Change) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for w := range b.watchers {
		w.send(c)
	}
}

// closeAll closes every watcher and makes later watchers start closed.
func (b *broadcaster) closeAll() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	for w := range b.watchers {
		w.stop()
		w.close()
		delete(b.watchers, w)
	}
}

func (w *watcher) send(c store.Change) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return
	}
	select {
	case old := <-w.ch:
		c.Config = c.Config || old.Config
		c.Revocations = c.Revocations || old.Revocations
		c.Keys = c.Keys || old.Keys
	default:
	}
	// Only senders fill the channel and they hold w.mu, so after the drain above there is room.
	w.ch <- c
}

func (w *watcher) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.closed {
		w.closed = true
		close(w.ch)
	}
}
