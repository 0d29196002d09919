//go:build unix

package inspect

import (
	"errors"
	"net"
	"syscall"
)

// peerClosed reports whether an idle connection can no longer carry a request: the peer closed
// it, or sent bytes nobody asked for (on an idle HTTP/1.1 connection, a TLS alert before the
// close). It peeks without blocking and without consuming; ok is false when the connection
// does not expose its socket.
func peerClosed(c net.Conn) (closed, ok bool) {
	sc, isSys := c.(syscall.Conn)
	if !isSys {
		return false, false
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return false, false
	}
	var buf [1]byte
	var rerr error
	if err := raw.Read(func(fd uintptr) bool {
		_, _, rerr = syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		return true // never wait: this is a look, not a read
	}); err != nil {
		return true, true
	}
	if errors.Is(rerr, syscall.EAGAIN) || errors.Is(rerr, syscall.EWOULDBLOCK) {
		return false, true
	}
	if errors.Is(rerr, syscall.EINTR) {
		return false, false
	}
	// 0 bytes: the peer closed; more: unexpected bytes; another error: a broken connection.
	return true, true
}
