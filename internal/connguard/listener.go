package connguard

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"sync"
	"time"
)

// Options configure a Listener.
type Options struct {
	// TLS, when set, makes the listener terminate TLS. Connections that negotiate HTTP/2 (ALPN
	// "h2") are returned as *tls.Conn for net/http's HTTP/2 server; all others are framed.
	TLS *tls.Config
	// HandshakeTimeout bounds a TLS handshake; default 10s.
	HandshakeTimeout time.Duration
	// MaxHeaderBytes is the http.Server's MaxHeaderBytes (default 1 MiB as net/http's); the
	// framer allows more, so that net/http answers over-long heads with its own 431.
	MaxHeaderBytes int
	// PriorKnowledgeHTTP2 accepts the HTTP/2 connection preface at the start of a plain
	// connection (unencrypted HTTP/2), as the http.Server does.
	PriorKnowledgeHTTP2 bool
	// OnFramingError is called once for a connection whose request stream was refused.
	OnFramingError func(c net.Conn, err *FramingError)
	// OnHandshakeError is called for a failed TLS handshake.
	OnHandshakeError func(c net.Conn, err error)
}

func (o *Options) maxHead() int {
	m := o.MaxHeaderBytes
	if m <= 0 {
		m = 1 << 20 // net/http's DefaultMaxHeaderBytes
	}
	// net/http reads at most MaxHeaderBytes+4096 bytes for a head, plus what its 4 KiB buffer
	// already held: anything it accepts fits well within this.
	return m + 4096 + 4096 + 1024
}

func (o *Options) onReject(c net.Conn, err *FramingError) {
	if o.OnFramingError != nil {
		o.OnFramingError(c, err)
	}
}

// Listener is the public listener: it accepts TCP connections, performs TLS handshakes off the
// accept loop (a slow client never delays others), and returns every HTTP/1.x connection as a
// framed *Conn or *TLSConn.
type Listener struct {
	inner net.Listener
	opts  Options

	// TLS only: accepted and handshaken connections, and the accept loop's error.
	ready     chan net.Conn
	acceptErr chan error
	done      chan struct{}
	closeOnce sync.Once
	closeErr  error
}

// NewListener wraps inner.
func NewListener(inner net.Listener, opts Options) *Listener {
	if opts.HandshakeTimeout <= 0 {
		opts.HandshakeTimeout = 10 * time.Second
	}
	l := &Listener{inner: inner, opts: opts, done: make(chan struct{})}
	if opts.TLS != nil {
		l.ready = make(chan net.Conn)
		l.acceptErr = make(chan error, 1)
		go l.acceptTLS()
	}
	return l
}

// Accept returns the next connection.
func (l *Listener) Accept() (net.Conn, error) {
	if l.opts.TLS == nil {
		c, err := l.inner.Accept()
		if err != nil {
			return nil, err
		}
		return newConn(c, &l.opts), nil
	}
	select {
	case c := <-l.ready:
		return c, nil
	case err := <-l.acceptErr:
		return nil, err
	case <-l.done:
		return nil, net.ErrClosed
	}
}

// acceptTLS accepts TCP connections and hands each to its own handshake. Accept errors go to
// the caller of Accept (net/http backs off on temporary ones and calls again).
func (l *Listener) acceptTLS() {
	for {
		c, err := l.inner.Accept()
		if err != nil {
			select {
			case l.acceptErr <- err:
			case <-l.done:
				return
			}
			if te, ok := err.(interface{ Temporary() bool }); ok && te.Temporary() {
				continue
			}
			return
		}
		go l.handshake(c)
	}
}

// handshake completes the TLS handshake of c and queues the connection for Accept.
func (l *Listener) handshake(raw net.Conn) {
	tc := tls.Server(raw, l.opts.TLS)
	ctx, cancel := context.WithTimeout(context.Background(), l.opts.HandshakeTimeout)
	err := tc.HandshakeContext(ctx)
	cancel()
	if err != nil {
		var re tls.RecordHeaderError
		if errors.As(err, &re) && re.Conn != nil && tlsRecordHeaderLooksLikeHTTP(re.RecordHeader) {
			// As net/http does for a plain HTTP request to a TLS listener.
			_ = re.Conn.SetWriteDeadline(time.Now().Add(time.Second))
			_, _ = io.WriteString(re.Conn, "HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n")
		}
		if l.opts.OnHandshakeError != nil && !errors.Is(err, io.EOF) {
			l.opts.OnHandshakeError(raw, err)
		}
		_ = raw.Close()
		return
	}
	var c net.Conn = tc
	if tc.ConnectionState().NegotiatedProtocol != "h2" {
		c = &TLSConn{Conn: newConn(tc, &l.opts), tls: tc}
	}
	select {
	case l.ready <- c:
	case <-l.done:
		_ = c.Close()
	}
}

// tlsRecordHeaderLooksLikeHTTP reports whether a TLS record header is the start of an HTTP
// request (the same check as net/http's).
func tlsRecordHeaderLooksLikeHTTP(hdr [5]byte) bool {
	switch string(hdr[:]) {
	case "GET /", "HEAD ", "POST ", "PUT /", "OPTIO":
		return true
	}
	return false
}

// Close stops accepting.
func (l *Listener) Close() error {
	l.closeOnce.Do(func() {
		close(l.done)
		l.closeErr = l.inner.Close()
	})
	return l.closeErr
}

// Addr returns the listener's address.
func (l *Listener) Addr() net.Addr { return l.inner.Addr() }
