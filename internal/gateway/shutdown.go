package gateway

import (
	"context"
	"net/http"
	"sync"
)

// activeTunnels counts the tunnels being served, so that Shutdown can wait for them to end and
// write their log lines, usage events and captured prompts before those sinks close.
type activeTunnels struct {
	mu      sync.Mutex
	n       int
	closing bool
	idle    chan struct{} // closed when n reaches 0 while closing
}

// enter counts a new tunnel; false once shutting down.
func (a *activeTunnels) enter() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closing {
		return false
	}
	a.n++
	return true
}

func (a *activeTunnels) leave() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.n--
	if a.n == 0 && a.idle != nil {
		close(a.idle)
		a.idle = nil
	}
}

// drain refuses new tunnels and waits until the open ones have ended or ctx is done.
func (a *activeTunnels) drain(ctx context.Context) error {
	a.mu.Lock()
	a.closing = true
	if a.n == 0 {
		a.mu.Unlock()
		return nil
	}
	ch := a.idle
	if ch == nil {
		ch = make(chan struct{})
		a.idle = ch
	}
	a.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// idleCloser is an Interceptor whose upstream connections can be closed when idle.
type idleCloser interface{ CloseIdleConnections() }

// Shutdown ends every open tunnel (http.Server.Shutdown does not wait for them: they are
// hijacked connections) and waits, until ctx is done, for them to finish, so that their log
// lines, usage events and captured prompts are written; then it closes idle upstream
// connections. Call it after shutting the listener's server down and before closing the
// usage recorder and the prompt log.
func (g *Gateway) Shutdown(ctx context.Context) error {
	g.close()
	err := g.active.drain(ctx)
	if t, ok := g.rp.Transport.(*http.Transport); ok {
		t.CloseIdleConnections()
	}
	if c, ok := g.interceptor.(idleCloser); ok {
		c.CloseIdleConnections()
	}
	return err
}
