package testenv

import (
	"io"
	"net"
	"sync"
	"testing"
)

// Forwarder is a TCP relay on 127.0.0.1 that a test can cut and restore, to take a database
// "down" for one Gatehouse without touching the shared server.
type Forwarder struct {
	Addr   string
	target string
	t      *testing.T

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
	go func() { _, _ = io.Copy(up, c); done <- struct{}{} }()
	go func() { _, _ = io.Copy(c, up); done <- struct{}{} }()
	<-done
	c.Close()
	up.Close()
	f.mu.Lock()
	delete(f.conns, c)
	delete(f.conns, up)
	f.mu.Unlock()
}

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
