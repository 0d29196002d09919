package inspect

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http/httpguts"

	"github.com/gatehouse/gatehouse/internal/gateway/h1"
)

// maxPostHandlerDrain is how much of a request body the handler left unread is read away so
// that the connection can carry the next request (net/http's figure); beyond it the connection
// is closed.
const maxPostHandlerDrain = 256 << 10

// bufferBeforeChunking is how much of a response body is held before the head is written, so
// that a short response gets a Content-Length instead of chunks (net/http's figure).
const bufferBeforeChunking = 2048

// http1Conn serves the decrypted HTTP/1.1 requests of one client connection, one at a time in
// its own goroutine: read a request with the strict reader (h1.ReadRequestContext), hand it to the
// tunnel's handler, write the response with framing chosen here. It replaces net/http's server
// for HTTP/1.1 tunnels: no per-request background reader, no hand-offs between goroutines.
// Protocol switches (WebSocket) hijack the connection as they would from net/http.
type http1Conn struct {
	in *Inspector
	// pin, when set, is told each request's context (pinnedUpstream.setRequest).
	pin     *pinnedUpstream
	tc      *tls.Conn
	br      *bufio.Reader
	bw      *bufio.Writer
	handler http.Handler
	state   *tls.ConnectionState
	remote  string
	// hijacked: a handler took the connection over (it closes it).
	hijacked atomic.Bool
	// idleSet is when the idle deadline in place was set (zero: another deadline is set).
	idleSet time.Time
	// w is the response writer, reused for each request in turn (a handler does not keep it
	// past its return), with its header map and pending, the buffer of a body's first bytes
	// (as large as the largest so far, at most bufferBeforeChunking).
	w       http1Writer
	pending []byte
}

var headEnd = []byte("\r\n\r\n")

// tunnelServer is the http.ServerContextKey value of decrypted HTTP/1.1 requests.
var tunnelServer = &http.Server{}

var (
	http1Readers = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 16<<10) }}
	http1Writers = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 16<<10) }}
)

// serveHTTP1 serves tc until the client closes it, a request asks to close, the idle timeout
// passes or ctx ends. It reports whether a handler hijacked the connection. pin, when set, is
// the upstream connection of tc's requests, told each request's context.
func (in *Inspector) serveHTTP1(ctx context.Context, tc *tls.Conn, h http.Handler, pin *pinnedUpstream) (hijacked bool) {
	state := tc.ConnectionState()
	c := &http1Conn{in: in, pin: pin, tc: tc, handler: h, state: &state, remote: tc.RemoteAddr().String()}
	c.br = http1Readers.Get().(*bufio.Reader)
	c.br.Reset(tc)
	c.bw = http1Writers.Get().(*bufio.Writer)
	c.bw.Reset(tc)
	defer func() {
		if !c.hijacked.Load() {
			c.br.Reset(nil)
			http1Readers.Put(c.br)
			c.bw.Reset(nil)
			http1Writers.Put(c.bw)
		}
	}()
	ctx = context.WithValue(ctx, http.LocalAddrContextKey, tc.LocalAddr())
	// Handlers written for net/http's server look for it: httputil.ReverseProxy (protocol
	// switches) aborts a response whose body broke off only under a server, instead of ending
	// it as if it were complete.
	ctx = context.WithValue(ctx, http.ServerContextKey, tunnelServer)
	for ctx.Err() == nil {
		if !c.serveOne(ctx) {
			break
		}
	}
	return c.hijacked.Load()
}

// serveOne reads and serves one request; it reports whether the connection may carry another.
func (c *http1Conn) serveOne(ctx context.Context) bool {
	in := c.in
	if c.br.Buffered() == 0 {
		c.idleDeadline()
		if _, err := c.br.Peek(1); err != nil {
			return false
		}
	}
	// Reading a head that is buffered whole cannot block: the header deadline is set only
	// when it is not, and cleared only when a read may follow (a body); a deadline left from
	// the idle wait is replaced before any read that could block (the next wait, or Hijack).
	buffered, _ := c.br.Peek(c.br.Buffered())
	headBuffered := bytes.Contains(buffered, headEnd)
	if !headBuffered {
		c.setReadDeadline(time.Now().Add(in.opts.HandshakeTimeout))
	}
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	req, err := h1.ReadRequestContext(rctx, c.br, h1.Limits{MaxHeaderBytes: in.opts.MaxHeaderBytes})
	if !headBuffered || (err == nil && req.Body != http.NoBody) {
		c.setReadDeadline(time.Time{})
	}
	if err != nil {
		var bad *h1.Error
		if errors.As(err, &bad) {
			in.log.DebugContext(ctx, "inspect: malformed request refused", "reason", bad.Reason)
			c.refuse(bad.Status)
		}
		return false
	}
	req.RemoteAddr = c.remote
	req.TLS = c.state
	body := req.Body
	var cont *continueReader
	if expect, ok := req.Header["Expect"]; ok {
		if len(expect) == 1 && strings.EqualFold(expect[0], "100-continue") && req.ProtoMinor == 1 && req.ContentLength != 0 {
			cont = &continueReader{c: c, rc: req.Body}
			req.Body = cont
		} else {
			c.refuse(http.StatusExpectationFailed)
			return false
		}
		delete(req.Header, "Expect")
	}
	if c.pin != nil {
		c.pin.setRequest(rctx)
	}
	w := &c.w
	header := w.header
	if header == nil {
		header = make(http.Header, 8)
	} else {
		clear(header)
	}
	*w = http1Writer{c: c, req: req, body: body, cont: cont, header: header, contentLength: -1, pending: c.pending[:0]}
	if !c.run(w, req) {
		return false
	}
	if c.hijacked.Load() {
		return false
	}
	if err := w.finish(); err != nil {
		return false
	}
	return !w.closeAfter && !req.Close && req.ProtoMinor == 1 && bodyDone(body)
}

// idleDeadline sets the idle timeout for the wait for the next request: at most IdleTimeout
// from now, and not before IdleTimeout less idleSlack. Within idleSlack of the last one it set,
// the deadline is left as it is (resetting it is a timer update per request otherwise).
func (c *http1Conn) idleDeadline() {
	now := time.Now()
	if !c.idleSet.IsZero() && now.Sub(c.idleSet) < idleSlack(c.in.opts.IdleTimeout) {
		return
	}
	_ = c.tc.SetReadDeadline(now.Add(c.in.opts.IdleTimeout))
	c.idleSet = now
}

// setReadDeadline sets another read deadline than the idle one.
func (c *http1Conn) setReadDeadline(t time.Time) {
	_ = c.tc.SetReadDeadline(t)
	c.idleSet = time.Time{}
}

// idleSlack is how much earlier than d a deadline left in place may fall: 1/64 of d, at most a
// second.
func idleSlack(d time.Duration) time.Duration { return min(d/64, time.Second) }

// run calls the handler; a panic (http.ErrAbortHandler: a response body broke off) ends the
// connection, as in net/http.
func (c *http1Conn) run(w *http1Writer, req *http.Request) (ok bool) {
	defer func() {
		if p := recover(); p != nil {
			ok = false
			if p != http.ErrAbortHandler {
				c.in.log.Error("inspect: panic serving a decrypted request", "panic", fmt.Sprint(p))
			}
		}
	}()
	c.handler.ServeHTTP(w, req)
	return true
}

// refuse answers a request that is not served, and the connection closes.
func (c *http1Conn) refuse(status int) {
	text := strconv.Itoa(status) + " " + http.StatusText(status)
	_, _ = c.bw.WriteString("HTTP/1.1 " + text + "\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n" + text)
	_ = c.bw.Flush()
}

func bodyDone(rc io.ReadCloser) bool {
	switch b := rc.(type) {
	case *h1.Body:
		return b.Done()
	case nil:
		return true
	}
	return rc == http.NoBody
}

// continueReader sends "100 Continue" before the first read of a body the client holds back.
type continueReader struct {
	c    *http1Conn
	rc   io.ReadCloser
	sent bool
	mu   sync.Mutex
}

func (r *continueReader) Read(p []byte) (int, error) {
	r.mu.Lock()
	if !r.sent {
		r.sent = true
		_, _ = r.c.bw.WriteString("HTTP/1.1 100 Continue\r\n\r\n")
		if err := r.c.bw.Flush(); err != nil {
			r.mu.Unlock()
			return 0, err
		}
	}
	r.mu.Unlock()
	return r.rc.Read(p)
}

func (r *continueReader) Close() error { return r.rc.Close() }

// http1Writer is the http.ResponseWriter of one request, framing the response as net/http's
// server does: a Content-Length when the handler set one or finished within the first 2 KiB,
// chunks otherwise; no body for HEAD, 1xx, 204 and 304; a Date and a sniffed Content-Type when
// the handler set none; Connection: close when the connection ends after the response.
type http1Writer struct {
	c      *http1Conn
	req    *http.Request
	body   io.ReadCloser // the request body as read (before any wrapper)
	cont   *continueReader
	header http.Header

	status      int
	wroteHeader bool // WriteHeader was called (the head may still be pending)
	headSent    bool
	pending     []byte
	chunking    bool
	noBody      bool
	// contentLength is the length announced (-1: none); written counts the body bytes.
	contentLength int64
	written       int64
	closeAfter    bool
	handlerDone   bool
	trailers      []string
}

func (w *http1Writer) Header() http.Header { return w.header }

func (w *http1Writer) WriteHeader(code int) {
	if w.wroteHeader || w.c.hijacked.Load() {
		return
	}
	if code < 100 || code > 999 {
		panic(fmt.Sprintf("invalid WriteHeader code %v", code))
	}
	if code >= 100 && code < 200 && code != http.StatusSwitchingProtocols {
		// An interim response goes out at once; the final one follows.
		w.writeStatusLine(code)
		writeHeaderFields(w.c.bw, w.header, nil)
		_, _ = w.c.bw.WriteString("\r\n")
		_ = w.c.bw.Flush()
		return
	}
	w.wroteHeader = true
	w.status = code
	if cl := w.header.Get("Content-Length"); cl != "" {
		if n, err := strconv.ParseInt(cl, 10, 64); err == nil && n >= 0 {
			w.contentLength = n
		} else {
			delete(w.header, "Content-Length")
		}
	}
}

func (w *http1Writer) Write(p []byte) (int, error) {
	if w.c.hijacked.Load() {
		return 0, http.ErrHijacked
	}
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if !bodyAllowedForStatus(w.status) {
		return 0, http.ErrBodyNotAllowed
	}
	w.written += int64(len(p))
	if w.contentLength != -1 && w.written > w.contentLength {
		return 0, http.ErrContentLength
	}
	if !w.headSent {
		if len(w.pending)+len(p) <= bufferBeforeChunking {
			w.pending = append(w.pending, p...)
			return len(p), nil
		}
		if err := w.sendHead(); err != nil {
			return 0, err
		}
	}
	if err := w.writeBody(p); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (w *http1Writer) writeBody(p []byte) error {
	if len(p) == 0 || w.noBody {
		return nil
	}
	bw := w.c.bw
	if w.chunking {
		writeInt(bw, int64(len(p)), 16)
		_, _ = bw.WriteString("\r\n")
		_, _ = bw.Write(p)
		_, err := bw.WriteString("\r\n")
		return err
	}
	_, err := bw.Write(p)
	return err
}

// Flush sends the head and what the body has so far (streamed responses).
func (w *http1Writer) Flush() { _ = w.FlushError() }

// FlushError is Flush reporting the connection's error (http.ResponseController).
func (w *http1Writer) FlushError() error {
	if w.c.hijacked.Load() {
		return http.ErrHijacked
	}
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if !w.headSent {
		if err := w.sendHead(); err != nil {
			return err
		}
	}
	return w.c.bw.Flush()
}

// Hijack hands the connection over (protocol switches): the returned connection first reads
// what the client sent after the request and is already buffered.
func (w *http1Writer) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if w.headSent {
		return nil, nil, errors.New("inspect: hijack after the response began")
	}
	if !w.c.hijacked.CompareAndSwap(false, true) {
		return nil, nil, http.ErrHijacked
	}
	_ = w.c.tc.SetDeadline(time.Time{})
	conn := &bufferedConn{Conn: w.c.tc, br: w.c.br}
	return conn, bufio.NewReadWriter(bufio.NewReader(conn), bufio.NewWriter(w.c.tc)), nil
}

// bufferedConn reads the bytes buffered before a hijack first.
type bufferedConn struct {
	net.Conn
	br *bufio.Reader
}

func (c *bufferedConn) Read(p []byte) (int, error) { return c.br.Read(p) }

// finish completes the response after the handler returned.
func (w *http1Writer) finish() error {
	w.handlerDone = true
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if !w.headSent {
		if err := w.sendHead(); err != nil {
			return err
		}
	}
	bw := w.c.bw
	if w.chunking {
		_, _ = bw.WriteString("0\r\n")
		for _, k := range w.trailers {
			if vv := w.header[k]; len(vv) > 0 {
				writeField(bw, k, vv)
			}
		}
		for k, vv := range w.header {
			if strings.HasPrefix(k, http.TrailerPrefix) {
				writeField(bw, strings.TrimPrefix(k, http.TrailerPrefix), vv)
			}
		}
		_, _ = bw.WriteString("\r\n")
	} else if w.contentLength != -1 && w.written != w.contentLength && !w.noBody {
		// A body shorter than announced: the client would wait for the rest.
		w.closeAfter = true
	}
	return bw.Flush()
}

// sendHead writes the status line and the header with the framing decided here.
func (w *http1Writer) sendHead() error {
	w.headSent = true
	h := w.header
	isHEAD := w.req.Method == http.MethodHead
	code := w.status
	_, hasTE := h["Transfer-Encoding"]
	if vv := h["Trailer"]; len(vv) > 0 {
		for _, v := range vv {
			for _, k := range strings.Split(v, ",") {
				if k = strings.TrimSpace(k); k != "" {
					w.trailers = append(w.trailers, http.CanonicalHeaderKey(k))
				}
			}
		}
	}
	hasTrailers := len(w.trailers) > 0
	for k := range h {
		if strings.HasPrefix(k, http.TrailerPrefix) {
			hasTrailers = true
		}
	}
	extraLength := false
	if w.handlerDone && !hasTrailers && !hasTE && bodyAllowedForStatus(code) && w.contentLength == -1 && (!isHEAD || len(w.pending) > 0) {
		w.contentLength = int64(len(w.pending))
		extraLength = true
	}
	// The rest of a request body the handler did not read is read away, so that the
	// connection reaches the next request; too much of it, or a body the client holds back
	// for 100 Continue, closes the connection after the response.
	if !bodyDone(w.body) {
		if w.cont != nil && !w.cont.sent {
			w.closeAfter = true
		} else if !w.closeAfter {
			_, err := io.CopyN(io.Discard, w.body, maxPostHandlerDrain+1)
			if err != io.EOF || !bodyDone(w.body) {
				w.closeAfter = true
			}
		}
	}
	if w.req.ProtoMinor == 0 || w.req.Close {
		w.closeAfter = true
	}
	if httpguts.HeaderValuesContainsToken(h["Connection"], "close") {
		w.closeAfter = true
	}
	exclude := map[string]bool(nil)
	skip := func(k string) {
		if _, ok := h[k]; ok {
			if exclude == nil {
				exclude = make(map[string]bool, 4)
			}
			exclude[k] = true
		}
	}
	for k := range h {
		if strings.HasPrefix(k, http.TrailerPrefix) {
			skip(k)
		}
	}
	var contentType string
	if bodyAllowedForStatus(code) {
		_, haveType := h["Content-Type"]
		if !haveType && !hasTE && h.Get("Content-Encoding") == "" && len(w.pending) > 0 {
			contentType = http.DetectContentType(w.pending)
		}
	} else {
		skip("Content-Length")
		skip("Transfer-Encoding")
		if code == http.StatusNotModified {
			skip("Content-Type")
		}
	}
	w.noBody = isHEAD || !bodyAllowedForStatus(code)
	hasCL := w.contentLength != -1
	switch {
	case w.noBody:
		skip("Transfer-Encoding")
	case hasCL:
		skip("Transfer-Encoding")
	case w.req.ProtoMinor == 1:
		w.chunking = true
		skip("Transfer-Encoding")
		skip("Content-Length")
	default:
		w.closeAfter = true
		skip("Transfer-Encoding")
	}
	bw := w.c.bw
	w.writeStatusLine(code)
	writeHeaderFields(bw, h, exclude)
	if extraLength {
		_, _ = bw.WriteString("Content-Length: ")
		writeInt(bw, w.contentLength, 10)
		_, _ = bw.WriteString("\r\n")
	}
	if contentType != "" {
		_, _ = bw.WriteString("Content-Type: " + contentType + "\r\n")
	}
	if _, ok := h["Date"]; !ok {
		_, _ = bw.WriteString("Date: ")
		_, _ = bw.Write(httpDate())
		_, _ = bw.WriteString("\r\n")
	}
	if w.chunking {
		_, _ = bw.WriteString("Transfer-Encoding: chunked\r\n")
	}
	if w.closeAfter && !httpguts.HeaderValuesContainsToken(h["Connection"], "close") && code != http.StatusSwitchingProtocols && w.req.ProtoMinor == 1 {
		_, _ = bw.WriteString("Connection: close\r\n")
	}
	_, _ = bw.WriteString("\r\n")
	p := w.pending
	w.pending = nil
	err := w.writeBody(p)
	w.c.pending = p[:0] // bufio copied it: the next request's body starts there
	return err
}

func (w *http1Writer) writeStatusLine(code int) {
	bw := w.c.bw
	if w.req.ProtoMinor == 0 {
		_, _ = bw.WriteString("HTTP/1.0 ")
	} else {
		_, _ = bw.WriteString("HTTP/1.1 ")
	}
	writeInt(bw, int64(code), 10)
	_, _ = bw.WriteString(" ")
	if text := http.StatusText(code); text != "" {
		_, _ = bw.WriteString(text)
	} else {
		_, _ = bw.WriteString("status code " + strconv.Itoa(code))
	}
	_, _ = bw.WriteString("\r\n")
}

// writeHeaderFields writes h's fields except those excluded; names that are not tokens are
// left out and CR or LF in values become spaces, as net/http does.
func writeHeaderFields(bw *bufio.Writer, h http.Header, exclude map[string]bool) {
	for k, vv := range h {
		if exclude[k] || !httpguts.ValidHeaderFieldName(k) {
			continue
		}
		writeField(bw, k, vv)
	}
}

func writeField(bw *bufio.Writer, k string, vv []string) {
	for _, v := range vv {
		_, _ = bw.WriteString(k)
		_, _ = bw.WriteString(": ")
		if strings.ContainsAny(v, "\r\n") {
			v = strings.NewReplacer("\r", " ", "\n", " ").Replace(v)
		}
		_, _ = bw.WriteString(strings.TrimSpace(v))
		_, _ = bw.WriteString("\r\n")
	}
}

// writeInt writes n in base to bw, formatted in bw's free space (a buffer on the stack would
// escape through bufio.Writer.Write).
func writeInt(bw *bufio.Writer, n int64, base int) {
	_, _ = bw.Write(strconv.AppendInt(bw.AvailableBuffer(), n, base))
}

func bodyAllowedForStatus(status int) bool {
	switch {
	case status >= 100 && status <= 199:
		return false
	case status == http.StatusNoContent, status == http.StatusNotModified:
		return false
	}
	return true
}

// dateCache holds the Date header's value for the current second.
var dateCache atomic.Pointer[cachedDate]

type cachedDate struct {
	sec int64
	b   []byte
}

func httpDate() []byte {
	now := time.Now()
	if d := dateCache.Load(); d != nil && d.sec == now.Unix() {
		return d.b
	}
	d := &cachedDate{sec: now.Unix(), b: now.UTC().AppendFormat(make([]byte, 0, 29), http.TimeFormat)}
	dateCache.Store(d)
	return d.b
}
