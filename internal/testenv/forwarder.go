package testenv

import (
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
)

// Forwarder is a TCP relay on 127.0.0.1 that a test can cut and restore, to take a database
// "down" for one Gatehouse without touching the shared server, or make hang.
type Forwarder struct {
	Addr   string
	target string
	t      *testing.T
	// hung makes the relay swallow everything and answer nothing (see Hang).
	hung atomic.Bool

	mu    sync.Mutex
	ln    net.Listener
	conns map[net.Conn]struct{}
}

// NewForwarder relays 127.0.0.1:<free port> to target.
func NewForwarder(t *testing.T, target string) *Forwarder {
	t.Helper()
	f := &Forwarder{target: target, t: t, conns: map[net.Conn]struct{}{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f.Addr = ln.Addr().String()
	f.serve(ln)
	t.Cleanup(f.Cut)
	return f
}

func (f *Forwarder) serve(ln net.Listener) {
	f.mu.Lock()
	f.ln = ln
	f.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go f.relay(c)
		}
	}()
}

func (f *Forwarder) relay(c net.Conn) {
	if f.hung.Load() {
		f.mu.Lock()
		f.conns[c] = struct{}{}
		f.mu.Unlock()
		_, _ = io.Copy(io.Discard, c)
		return
	}
	up, err := net.Dial("tcp", f.target)
	if err != nil {
		c.Close()
		return
	}
	f.mu.Lock()
	if f.ln == nil {
		f.mu.Unlock()
		c.Close()
		up.Close()
		return
	}
	f.conns[c], f.conns[up] = struct{}{}, struct{}{}
	f.mu.Unlock()
	done := make(chan struct{}, 2)
	go func() { f.pipe(up, c); done <- struct{}{} }()
	go func() { f.pipe(c, up); done <- struct{}{} }()
	<-done
	c.Close()
	up.Close()
	f.mu.Lock()
	delete(f.conns, c)
	delete(f.conns, up)
	f.mu.Unlock()
}

// pipe copies src to dst; once the relay hangs it swallows what src sends instead.
func (f *Forwarder) pipe(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 && !f.hung.Load() {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// Hang makes the target hang instead of refusing: connections (open and new) stay up, what is
// sent is swallowed and nothing is ever answered, as with a stalled database server or a
// black-holing network. Cut ends it.
func (f *Forwarder) Hang() { f.hung.Store(true) }

// Cut closes the listener and every relayed connection: the target is unreachable.
func (f *Forwarder) Cut() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ln != nil {
		f.ln.Close()
		f.ln = nil
	}
	for c := range f.conns {
		c.Close()
		delete(f.conns, c)
	}
}

// Restore listens again on the same address.
func (f *Forwarder) Restore() {
	f.t.Helper()
	ln, err := net.Listen("tcp", f.Addr)
	if err != nil {
		f.t.Fatalf("restore forwarder: %v", err)
	}
	f.serve(ln)
}
