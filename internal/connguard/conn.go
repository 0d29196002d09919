package connguard

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
)

// maxHeldBytes bounds what a client may send after a request that offers a protocol switch
// and before the switch is decided (RFC 6455 says a client sends nothing until then).
const maxHeldBytes = 64 << 10

// headFailureFiller is delivered to net/http before the error of a refused request head: it
// ensures net/http is reading a request (and so answers 400) rather than waiting idly for one
// (and so closing silently), and it cannot complete a line, so nothing of it is ever parsed.
var headFailureFiller = []byte{0, 0, 0, 0}

// errHeldTooLong fails a connection whose client sent too much before a protocol switch was
// decided.
var errHeldTooLong = &FramingError{Reason: "data-before-switch"}

// Conn is a plain client connection of the public listener. Its HTTP/1.1 request stream passes
// through a framer before net/http reads it (see framer); HTTP/2 with prior knowledge passes
// through unchanged after its preface.
type Conn struct {
	net.Conn
	onReject func(net.Conn, *FramingError)

	mu sync.Mutex
	f  *framer
	// pending is delivered before anything else: bytes held during a protocol switch offer
	// once the connection is handed over, or the filler before a head's failure.
	pending []byte
	// held are bytes received after a request that offered a protocol switch.
	held []byte
	// readErr is returned once pending is empty; a failure in a body becomes io.EOF after it
	// was returned once, so that net/http closes quietly after the aborted request.
	readErr    error
	errThenEOF bool
}

// TLSConn is a TLS client connection that did not negotiate HTTP/2: a Conn whose
// ConnectionState lets net/http fill in Request.TLS.
type TLSConn struct {
	*Conn
	tls *tls.Conn
}

// ConnectionState returns the TLS connection's state.
func (c *TLSConn) ConnectionState() tls.ConnectionState { return c.tls.ConnectionState() }

// NetConn returns the TCP connection under TLS.
func (c *TLSConn) NetConn() net.Conn { return c.tls.NetConn() }

func newConn(inner net.Conn, opts *Options) *Conn {
	return &Conn{Conn: inner, onReject: opts.onReject, f: newFramer(opts.maxHead(), opts.PriorKnowledgeHTTP2)}
}

// Read returns the next bytes of the request stream that the framer approved.
func (c *Conn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for {
		c.mu.Lock()
		if len(c.pending) > 0 {
			n := copy(p, c.pending)
			c.pending = c.pending[n:]
			c.mu.Unlock()
			return n, nil
		}
		if c.readErr != nil {
			err := c.readErr
			if c.errThenEOF {
				c.readErr = io.EOF
			}
			c.mu.Unlock()
			return 0, err
		}
		st := c.f.st
		c.mu.Unlock()

		switch st {
		case stPassThrough:
			return c.Conn.Read(p)
		case stHold:
			if err := c.readHeld(p); err != nil {
				return 0, err
			}
			continue
		}
		n, err := c.Conn.Read(p)
		if n > 0 {
			c.mu.Lock()
			k := c.f.feed(p[:n])
			if k < n {
				switch c.f.st {
				case stFailed:
					c.failLocked(c.f.err, c.f.headFailed)
				case stHold:
					c.held = append(c.held, p[k:n]...)
				}
			}
			c.mu.Unlock()
			if k > 0 {
				if k < n {
					return k, nil
				}
				return k, err
			}
		}
		if err != nil {
			return 0, err
		}
	}
}

// readHeld reads from the client while a protocol switch is being decided, keeping what
// arrives; it returns when something arrived or with the read's error (for example the
// deadline net/http sets to stop a background read).
func (c *Conn) readHeld(buf []byte) error {
	n, err := c.Conn.Read(buf)
	c.mu.Lock()
	defer c.mu.Unlock()
	if n > 0 {
		if c.f.st != stHold {
			// Handed over while reading: these bytes come after the held ones.
			k := c.f.feed(buf[:n])
			c.pending = append(c.pending, buf[:k]...)
			if c.f.st == stFailed && c.readErr == nil {
				c.failLocked(c.f.err, false)
			}
		} else {
			c.held = append(c.held, buf[:n]...)
			if len(c.held) > maxHeldBytes {
				c.held = nil
				c.failLocked(errHeldTooLong, false)
			}
		}
	}
	if n == 0 && err != nil {
		return err
	}
	return nil
}

// failLocked makes every later Read fail with err (after the filler, for a head).
func (c *Conn) failLocked(err *FramingError, inHead bool) {
	if inHead {
		c.pending = append(c.pending[:0:0], headFailureFiller...)
	} else {
		c.errThenEOF = true
	}
	c.readErr = err
	if c.onReject != nil {
		c.onReject(c, err)
	}
}

// handOver stops HTTP framing: net/http handed the connection to a handler (a protocol
// switch). What the client sent while the switch was decided goes first; after a WebSocket
// offer, the client's frames are checked (see framer.handOver).
func (c *Conn) handOver() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.f.st == stFailed {
		return
	}
	c.f.handOver()
	held := c.held
	c.held = nil
	k := c.f.feed(held)
	c.pending = append(c.pending, held[:k]...)
	if c.f.st == stFailed {
		c.failLocked(c.f.err, false)
	}
}

// idle is told that net/http finished a request and waits for the next one. After a request
// that offered a protocol switch which did not happen, there is no next one on this connection:
// the client may already have sent data for the other protocol.
func (c *Conn) idle() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.f.st == stHold {
		c.held = nil
		c.readErr, c.errThenEOF = io.EOF, false
	}
}

// CloseWrite shuts down the writing side where the connection supports it, so that net/http's
// closeWriteAndWait works as on a bare TCP connection.
func (c *Conn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return errors.ErrUnsupported
}

// tcpConn returns the TCP connection under c.
func (c *Conn) tcpConn() net.Conn {
	if tc, ok := c.Conn.(*tls.Conn); ok {
		return tc.NetConn()
	}
	return c.Conn
}

// ConnState is the http.Server ConnState hook that keeps the framer of a Conn in step with
// net/http: a hijacked connection is no longer framed, and a connection that goes idle after a
// request that offered a protocol switch it did not take is closed.
func ConnState(nc net.Conn, state http.ConnState) {
	var c *Conn
	switch v := nc.(type) {
	case *Conn:
		c = v
	case *TLSConn:
		c = v.Conn
	default:
		return
	}
	switch state {
	case http.StateHijacked:
		c.handOver()
	case http.StateIdle:
		c.idle()
	}
}
