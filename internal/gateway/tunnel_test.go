package gateway

import (
	"io"
	"net"
	"testing"
	"time"
)

// tcpPair returns the two ends of a loopback TCP connection.
func tcpPair(t *testing.T) (net.Conn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	a, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	b := <-accepted
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

// TestSplice: bytes go both ways, a half-close passes through, and the byte counts are right.
func TestSplice(t *testing.T) {
	client, clientSide := tcpPair(t)
	upstreamSide, upstream := tcpPair(t)
	type result struct{ up, down int64 }
	done := make(chan result, 1)
	go func() {
		up, down := Splice(clientSide, upstreamSide, time.Minute)
		done <- result{up, down}
	}()
	_ = client.SetDeadline(time.Now().Add(5 * time.Second))
	_ = upstream.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := client.Write([]byte("hello upstream")); err != nil {
		t.Fatal(err)
	}
	_ = client.(*net.TCPConn).CloseWrite()
	got, err := io.ReadAll(upstream) // ends with the client's half-close
	if err != nil || string(got) != "hello upstream" {
		t.Fatalf("upstream read %q, %v", got, err)
	}
	if _, err := upstream.Write([]byte("hello client!")); err != nil {
		t.Fatal(err)
	}
	_ = upstream.(*net.TCPConn).CloseWrite()
	got, err = io.ReadAll(client)
	if err != nil || string(got) != "hello client!" {
		t.Fatalf("client read %q, %v", got, err)
	}
	select {
	case r := <-done:
		if r.up != 14 || r.down != 13 {
			t.Errorf("counted %d up, %d down; want 14, 13", r.up, r.down)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Splice did not return after both half-closes")
	}
}

// TestSpliceIdle: a tunnel without traffic ends after the idle timeout.
func TestSpliceIdle(t *testing.T) {
	_, clientSide := tcpPair(t)
	upstreamSide, _ := tcpPair(t)
	done := make(chan struct{})
	start := time.Now()
	go func() {
		Splice(clientSide, upstreamSide, 100*time.Millisecond)
		close(done)
	}()
	select {
	case <-done:
		if time.Since(start) < 100*time.Millisecond {
			t.Error("the tunnel ended before its idle timeout")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("an idle tunnel stayed open")
	}
}
