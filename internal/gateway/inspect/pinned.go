package inspect

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"sync"
	"time"

	"golang.org/x/net/http/httpguts"

	"github.com/gatehouse/gatehouse/internal/gateway"
	"github.com/gatehouse/gatehouse/internal/gateway/h1"
)

// pinnedUpstream forwards the requests of one HTTP/1.1 client connection over one kept-alive
// HTTP/1.1 connection to the tunnel's destination. An HTTP/1.1 client sends one request at a
// time, so each request is written and its response read in the handler's own goroutine: no
// connection pool, no reader and writer goroutines and no hand-offs between them, which is most
// of what a kept-alive inspected request costs through http.Transport. The request is written
// from its parsed form (http.Request.Write), never from the client's bytes, so its framing is
// the one this side chose (writeRequest); the response is read strictly (h1.ReadResponse), so a response
// whose framing two parsers could read differently ends the connection instead of being
// forwarded. A request that finds the connection busy (it never should on
// HTTP/1.1) goes through the shared transport instead.
type pinnedUpstream struct {
	in *Inspector
	t  *gateway.Tunnel
	// ctx is the client connection's: its end unblocks any read or write on the upstream
	// connection at once (each connection's watch; the connection is not reused after that).
	ctx context.Context

	mu   sync.Mutex
	busy bool
	// conn is nil until the first request and after a connection could not be reused.
	conn *tls.Conn
	// raw is the TCP connection beneath conn, looked at before a request that cannot be sent
	// twice reuses it.
	raw net.Conn
	br  *bufio.Reader
	bw  *bufio.Writer
	// verified: conn's certificate was verified (a connection made for an untrusted_cert
	// pass_through rule was not, and serves only such requests).
	verified bool
	closed   bool
	// unwatch stops conn's watch of ctx.
	unwatch func() bool
	// readDeadline is conn's read deadline as exchange set it (zero: none).
	readDeadline time.Time
	// requestDone is the Done channel of the context of the request the client connection
	// serves now (serveHTTP1 sets it): that context ends only with ctx or after the request's
	// handler returned, so the connection's watch covers an exchange under it, which needs no
	// watch of its own.
	requestDone <-chan struct{}

	// trusted and untrusted are the round trippers transport hands out, made once.
	trusted, untrusted pinnedRoundTripper
}

func newPinnedUpstream(ctx context.Context, in *Inspector, t *gateway.Tunnel) *pinnedUpstream {
	p := &pinnedUpstream{in: in, t: t, ctx: ctx}
	p.trusted = pinnedRoundTripper{p: p}
	p.untrusted = pinnedRoundTripper{p: p, untrusted: true}
	return p
}

// transport is the tunnel handler's gateway.UpstreamTransport: protocol upgrades (WebSocket)
// go through the shared HTTP/1.1 transport, whose responses hand the connection over.
func (p *pinnedUpstream) transport(untrusted, http1 bool) http.RoundTripper {
	if http1 {
		return p.in.upstream(untrusted, true)
	}
	if untrusted {
		return &p.untrusted
	}
	return &p.trusted
}

type pinnedRoundTripper struct {
	p         *pinnedUpstream
	untrusted bool
}

func (rt *pinnedRoundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	return rt.p.roundTrip(req, rt.untrusted)
}

// close closes the upstream connection when the client connection is done.
func (p *pinnedUpstream) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	if !p.busy {
		p.dropLocked()
	}
}

// setRequest notes the context of the request the client connection serves now (see
// requestDone).
func (p *pinnedUpstream) setRequest(ctx context.Context) {
	done := ctx.Done()
	p.mu.Lock()
	p.requestDone = done
	p.mu.Unlock()
}

func (p *pinnedUpstream) dropLocked() {
	if p.conn != nil {
		p.unwatch()
		_ = p.conn.Close()
		p.conn, p.raw, p.br, p.bw, p.unwatch = nil, nil, nil, nil, nil
	}
}

// acquire takes the connection for one request; ok is false when another request holds it.
// A request that could not be sent again (replayable false) does not go out on a connection
// the destination has closed while it was idle. scoped reports whether the request's context
// is the current request's (requestDone), which the connection's watch covers.
func (p *pinnedUpstream) acquire(ctx context.Context, untrusted, replayable bool) (ok, reused, scoped bool, err error) {
	done := ctx.Done()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.busy || p.closed {
		return false, false, false, nil
	}
	scoped = done == nil || done == p.requestDone
	if p.conn != nil && !untrusted && !p.verified {
		p.dropLocked()
	}
	if p.conn != nil && !replayable {
		if closed, known := peerClosed(p.raw); closed || !known {
			p.dropLocked()
		}
	}
	p.busy = true
	if p.conn != nil {
		return true, true, scoped, nil
	}
	if err := p.dialLocked(ctx, untrusted); err != nil {
		p.busy = false
		return true, false, scoped, err
	}
	return true, false, scoped, nil
}

// release gives the connection back after a response: keep is false when it cannot carry
// another request (its framing is unknown, the body was not read to its end, or either side
// asked to close).
func (p *pinnedUpstream) release(keep bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.busy = false
	if !keep || p.closed {
		p.dropLocked()
	}
}

func (p *pinnedUpstream) dialLocked(ctx context.Context, untrusted bool) error {
	conn, err := p.in.dialUpstream(ctx, p.t, untrusted, []string{"http/1.1"})
	if err != nil {
		return err
	}
	p.conn, p.raw, p.verified = conn, conn.NetConn(), !untrusted
	p.readDeadline = time.Time{}
	p.unwatch = context.AfterFunc(p.ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	p.br = bufio.NewReaderSize(conn, 4<<10)
	p.bw = bufio.NewWriterSize(conn, 4<<10)
	return nil
}

func (p *pinnedUpstream) roundTrip(req *http.Request, untrusted bool) (*http.Response, error) {
	ctx := req.Context()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := validHeaders(req.Header); err != nil {
		return nil, err
	}
	again := replayable(req)
	ok, reused, scoped, err := p.acquire(ctx, untrusted, again)
	if !ok {
		return p.in.upstream(untrusted, false).RoundTrip(req)
	}
	if err != nil {
		return nil, err
	}
	resp, err := p.exchange(ctx, req, scoped)
	if err != nil && reused && again && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
		// The destination closed the idle connection as the request went out: once more on a
		// new one, as http.Transport does for requests that can be sent again.
		p.mu.Lock()
		p.dropLocked()
		err = p.dialLocked(ctx, untrusted)
		p.mu.Unlock()
		if err == nil {
			resp, err = p.exchange(ctx, req, scoped)
		}
	}
	if err != nil {
		p.release(false)
		return nil, err
	}
	return resp, nil
}

// validHeaders refuses header names and values that cannot be written on the wire, as
// http.Transport does (Request.Write would otherwise write them).
func validHeaders(h http.Header) error {
	for k, vv := range h {
		if !httpguts.ValidHeaderFieldName(k) {
			return fmt.Errorf("inspect: invalid header field name %q", k)
		}
		for _, v := range vv {
			if !httpguts.ValidHeaderFieldValue(v) {
				return fmt.Errorf("inspect: invalid header field value for %q", k)
			}
		}
	}
	return nil
}

// replayable reports whether req may be sent again after its connection failed: an idempotent
// method without a body.
func replayable(req *http.Request) bool {
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
	default:
		return false
	}
	return req.Body == nil || req.Body == http.NoBody
}

// exchange writes req on the pinned connection and reads its response head. The response
// body, when there is one, gives the connection back when it is read to its end or closed.
// scoped: ctx is the current request's, covered by the connection's watch.
func (p *pinnedUpstream) exchange(ctx context.Context, req *http.Request, scoped bool) (*http.Response, error) {
	conn, br, bw := p.conn, p.br, p.bw
	// A cancelled request (the client went away, the gateway closes) unblocks any read or
	// write on the connection at once; the connection is not reused after that. The
	// connection's watch does it for the client connection's end; a request with a context of
	// another making gets a watch of its own.
	stop := stopNothing
	if !scoped {
		stop = context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	}
	if err := writeRequest(bw, req); err != nil {
		stop()
		return nil, fmt.Errorf("inspect: writing the request upstream: %w", ctxErr(ctx, err))
	}
	if err := bw.Flush(); err != nil {
		stop()
		return nil, fmt.Errorf("inspect: writing the request upstream: %w", ctxErr(ctx, err))
	}
	// The response head must come within ResponseHeaderTimeout: a deadline in place from the
	// last exchange (whose body was buffered whole) that falls at most idleSlack of it earlier
	// is kept, rather than updating the timer for each request.
	rht := p.in.opts.ResponseHeaderTimeout
	if want := time.Now().Add(rht); p.readDeadline.After(want) || want.Sub(p.readDeadline) > idleSlack(rht) {
		if err := p.setReadDeadline(ctx, conn, want); err != nil {
			stop()
			return nil, fmt.Errorf("inspect: reading the response: %w", err)
		}
	}
	var resp *http.Response
	for {
		var err error
		resp, err = h1.ReadResponse(br, req.Method, h1.Limits{MaxHeaderBytes: p.in.opts.MaxHeaderBytes})
		if err == nil {
			resp.Request = req
		}
		if err != nil {
			stop()
			return nil, fmt.Errorf("inspect: reading the response: %w", ctxErr(ctx, err))
		}
		// Interim responses (100 Continue, 103 Early Hints) are passed to the client trace,
		// which the reverse proxy uses to relay them; 101 ends the exchange like a final one.
		if resp.StatusCode >= 100 && resp.StatusCode < 200 && resp.StatusCode != http.StatusSwitchingProtocols {
			if trace := httptrace.ContextClientTrace(ctx); trace != nil && trace.Got1xxResponse != nil {
				if err := trace.Got1xxResponse(resp.StatusCode, textproto.MIMEHeader(resp.Header)); err != nil {
					stop()
					return nil, err
				}
			}
			continue
		}
		break
	}
	// The body is read without a deadline (a stream may take its time), unless it is buffered
	// whole: then it never reads conn, and the deadline stays for the next exchange.
	if !bodyBuffered(resp, br) {
		if err := p.setReadDeadline(ctx, conn, time.Time{}); err != nil {
			stop()
			return nil, fmt.Errorf("inspect: reading the response: %w", err)
		}
	}
	if resp.StatusCode == http.StatusSwitchingProtocols {
		// Upgrades go through the shared transport; a destination switching protocols on a
		// request that did not ask for it leaves a connection nobody can frame.
		stop()
		_ = resp.Body.Close()
		return nil, errors.New("inspect: unexpected 101 Switching Protocols")
	}
	keep := !resp.Close && !req.Close
	resp.Body = &pinnedBody{rc: resp.Body, p: p, stop: stop, keep: keep, eof: resp.Body == http.NoBody}
	return resp, nil
}

// bodyBuffered reports whether resp's body is in br whole (or there is none), so that reading
// it never reads the connection.
func bodyBuffered(resp *http.Response, br *bufio.Reader) bool {
	if resp.Body == http.NoBody {
		return true
	}
	b, ok := resp.Body.(*h1.Body)
	if !ok {
		return false
	}
	n := b.Remaining()
	return n >= 0 && int64(br.Buffered()) >= n
}

// setReadDeadline sets conn's read deadline (p.readDeadline) and then reports whether the
// exchange was cancelled: a watch that fired before would otherwise have its poisoned deadline
// replaced, and one that fires after sets its own last.
func (p *pinnedUpstream) setReadDeadline(ctx context.Context, conn *tls.Conn, t time.Time) error {
	_ = conn.SetReadDeadline(t)
	p.readDeadline = t
	if err := ctx.Err(); err != nil {
		return err
	}
	return p.ctx.Err()
}

// stopNothing is the stop function of an exchange without a watch of its own: it reports that
// no watch had fired.
func stopNothing() bool { return true }

// writeRequest writes req to bw in origin form, from its parsed form only: Host from req.Host,
// the header (already checked by validHeaders) less the fields this side frames, and the body
// with the framing decided here: Content-Length for a body of known length (the body must end
// there), chunked for one of unknown length, "Content-Length: 0" for a bodiless POST, PUT or
// PATCH. The default User-Agent is added when the header has none, as Request.Write does; the
// body is closed.
func writeRequest(bw *bufio.Writer, req *http.Request) (err error) {
	body := req.Body
	if body == http.NoBody {
		body = nil
	}
	if body != nil {
		defer func() {
			if cerr := body.Close(); err == nil && cerr != nil {
				err = cerr
			}
		}()
	}
	host := req.Host
	if host == "" && req.URL != nil {
		host = req.URL.Host
	}
	if !httpguts.ValidHostHeader(host) {
		return errors.New("inspect: invalid Host for the upstream request")
	}
	if !httpguts.ValidHeaderFieldName(req.Method) {
		return errors.New("inspect: invalid method for the upstream request")
	}
	uri := req.URL.RequestURI()
	for i := 0; i < len(uri); i++ {
		if uri[i] <= ' ' || uri[i] == 0x7f {
			return errors.New("inspect: invalid target for the upstream request")
		}
	}
	_, _ = bw.WriteString(req.Method)
	_ = bw.WriteByte(' ')
	_, _ = bw.WriteString(uri)
	_, _ = bw.WriteString(" HTTP/1.1\r\nHost: ")
	_, _ = bw.WriteString(host)
	_, _ = bw.WriteString("\r\n")
	if ua, ok := req.Header["User-Agent"]; !ok {
		_, _ = bw.WriteString("User-Agent: Go-http-client/1.1\r\n")
	} else if len(ua) > 0 && ua[0] != "" {
		_, _ = bw.WriteString("User-Agent: ")
		_, _ = bw.WriteString(textproto.TrimString(ua[0]))
		_, _ = bw.WriteString("\r\n")
	}
	if req.Close {
		_, _ = bw.WriteString("Connection: close\r\n")
	}
	switch {
	case body != nil && req.ContentLength > 0:
		_, _ = bw.WriteString("Content-Length: ")
		writeInt(bw, req.ContentLength, 10)
		_, _ = bw.WriteString("\r\n")
	case body != nil:
		_, _ = bw.WriteString("Transfer-Encoding: chunked\r\n")
	case req.Method == http.MethodPost || req.Method == http.MethodPut || req.Method == http.MethodPatch:
		_, _ = bw.WriteString("Content-Length: 0\r\n")
	}
	for k, vv := range req.Header {
		switch k {
		case "Host", "User-Agent", "Content-Length", "Transfer-Encoding", "Trailer":
			continue
		case "Connection":
			if req.Close {
				continue // written above
			}
		}
		for _, v := range vv {
			_, _ = bw.WriteString(k)
			_, _ = bw.WriteString(": ")
			_, _ = bw.WriteString(textproto.TrimString(v))
			_, _ = bw.WriteString("\r\n")
		}
	}
	if _, err := bw.WriteString("\r\n"); err != nil {
		return err
	}
	if body == nil {
		return nil
	}
	if req.ContentLength > 0 {
		n, err := io.CopyN(bw, body, req.ContentLength)
		if err != nil {
			if err == io.EOF {
				return fmt.Errorf("inspect: request body ended after %d of %d bytes", n, req.ContentLength)
			}
			return err
		}
		// The body must end there; reading its end also tells the client side's reader that
		// the request was read whole.
		var one [1]byte
		m, err := io.ReadFull(body, one[:])
		if m > 0 {
			return errors.New("inspect: request body longer than its Content-Length")
		}
		if err != io.EOF {
			return err
		}
		return nil
	}
	bp := chunkBuffers.Get().(*[]byte)
	defer chunkBuffers.Put(bp)
	buf := *bp
	for {
		n, rerr := body.Read(buf)
		if n > 0 {
			writeInt(bw, int64(n), 16)
			_, _ = bw.WriteString("\r\n")
			_, _ = bw.Write(buf[:n])
			if _, err := bw.WriteString("\r\n"); err != nil {
				return err
			}
		}
		if rerr == io.EOF {
			_, err := bw.WriteString("0\r\n\r\n")
			return err
		}
		if rerr != nil {
			return rerr
		}
	}
}

var chunkBuffers = sync.Pool{New: func() any { b := make([]byte, 16<<10); return &b }}

// ctxErr prefers the context's error to the deadline error a cancellation provokes.
func ctxErr(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return cerr
	}
	return err
}

// pinnedBody is a response body on the pinned connection: read to its end, it gives the
// connection back for the next request; closed earlier, the connection is closed (the rest of
// the body would otherwise be read as the next response).
type pinnedBody struct {
	rc   io.ReadCloser
	p    *pinnedUpstream
	stop func() bool
	keep bool
	eof  bool
	done bool
	mu   sync.Mutex
}

func (b *pinnedBody) Read(buf []byte) (int, error) {
	n, err := b.rc.Read(buf)
	if err == io.EOF {
		b.mu.Lock()
		b.eof = true
		b.mu.Unlock()
	}
	return n, err
}

func (b *pinnedBody) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.done {
		return nil
	}
	b.done = true
	// stop reports false when the request's cancellation already fired and poisoned the
	// deadline; the client connection's end poisons it too (the connection's watch).
	cancelled := !b.stop() || b.p.ctx.Err() != nil
	if !b.eof || cancelled {
		// Closing the connection first: a response body's Close reads the rest of the body,
		// which for a blocked download or an endless event stream would not end.
		b.p.release(false)
		_ = b.rc.Close()
		return nil
	}
	err := b.rc.Close()
	b.p.release(b.keep && err == nil)
	return err
}

// dialUpstream dials t's vetted destination over TLS, verifying its certificate for the
// destination's name unless untrusted, offering protos.
func (in *Inspector) dialUpstream(ctx context.Context, t *gateway.Tunnel, untrusted bool, protos []string) (*tls.Conn, error) {
	raw, err := t.Dial(ctx)
	if err != nil {
		return nil, err
	}
	tc := tls.Client(raw, &tls.Config{
		ServerName:         t.Dest.Host,
		RootCAs:            in.opts.Roots,
		NextProtos:         protos,
		MinVersion:         tls.VersionTLS12,
		InsecureSkipVerify: untrusted, // only for an allow rule with untrusted_cert: pass_through
	})
	hctx, cancel := context.WithTimeout(ctx, in.opts.HandshakeTimeout)
	defer cancel()
	if err := tc.HandshakeContext(hctx); err != nil {
		_ = raw.Close()
		var ve *tls.CertificateVerificationError
		if errors.As(err, &ve) {
			return nil, &gateway.UntrustedCertError{Err: err}
		}
		return nil, err
	}
	return tc, nil
}
