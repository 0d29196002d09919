//go:build unix

package inspect

import (
	"errors"
	"net"
	"syscall"
	"testing"
	"time"
)

// peerClosed tells an idle connection from one the peer closed or wrote to, without blocking
// and without taking bytes from it.
func TestPeerClosed(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	pair := func() (client, server net.Conn) {
		accepted := make(chan net.Conn, 1)
		go func() {
			c, _ := ln.Accept()
			accepted <- c
		}()
		client, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		server = <-accepted
		t.Cleanup(func() { client.Close(); server.Close() })
		return client, server
	}
	// waitReadable blocks (in the poller, taking nothing) until c has bytes or an end to read.
	waitReadable := func(c net.Conn) {
		t.Helper()
		raw, err := c.(syscall.Conn).SyscallConn()
		if err != nil {
			t.Fatal(err)
		}
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		defer c.SetReadDeadline(time.Time{})
		var buf [1]byte
		if err := raw.Read(func(fd uintptr) bool {
			_, _, err := syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
			return !errors.Is(err, syscall.EAGAIN)
		}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor := func(c net.Conn, want bool) {
		t.Helper()
		waitReadable(c)
		if closed, ok := peerClosed(c); closed != want || !ok {
			t.Fatalf("peerClosed = %v, %v; want %v", closed, ok, want)
		}
	}

	idle, _ := pair()
	if closed, ok := peerClosed(idle); closed || !ok {
		t.Fatalf("an idle open connection: closed %v, ok %v", closed, ok)
	}

	gone, goneServer := pair()
	_ = goneServer.Close()
	waitFor(gone, true)

	chatty, chattyServer := pair()
	if _, err := chattyServer.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	waitFor(chatty, true)
	// The look took nothing: the byte is still there to read.
	_ = chatty.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 4)
	if n, err := chatty.Read(buf); n != 1 || buf[0] != 'x' {
		t.Fatalf("read %q, %v after the look", buf[:n], err)
	}

	if _, ok := peerClosed(struct{ net.Conn }{idle}); ok {
		t.Error("a connection that hides its socket was looked at")
	}
}
