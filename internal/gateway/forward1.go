package gateway

import (
	"context"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"net/url"
	"strings"

	"golang.org/x/net/http/httpguts"
)

// forwardInspected forwards an allowed request decrypted from an HTTP/1.x client connection
// that does not switch protocols. It does what g.irp (httputil.ReverseProxy with
// rewriteInspected, checkResponse and inspectedError) does, step for step, without its
// per-request copies of the request and its header: the outgoing request is built once,
// with the incoming header less its hop-by-hop and X-Forwarded fields; interim responses are
// relayed; the response's hop-by-hop fields are removed, the response phase runs, the header
// is copied and the body streamed (flushed at each write for event streams and bodies without
// a length); a body that breaks off aborts the response (http.ErrAbortHandler), and trailers
// follow the body.
func (g *Gateway) forwardInspected(ctx context.Context, w http.ResponseWriter, r *http.Request, e *entry, ir *inspectedRequest) {
	e.outcome = "forwarded"
	body := &ir.body
	if r.Body != nil && r.Body != http.NoBody {
		body.rc = r.Body
		r.Body = body
	}
	t := ir.t
	// The client's query as it is: rewriteInspected takes it from the incoming request,
	// after httputil.ReverseProxy cleaned the outgoing one.
	ir.outURL = url.URL{Scheme: "https", Host: t.hostPort(), Path: r.URL.Path, RawPath: r.URL.RawPath,
		RawQuery: r.URL.RawQuery}
	// Built on the stack: the request sent is WithContext's copy of it.
	base := http.Request{
		Method:     r.Method,
		URL:        &ir.outURL,
		Proto:      "HTTP/1.1",
		ProtoMajor: 1, ProtoMinor: 1,
		Header:        outgoingHeader(r.Header),
		Body:          r.Body,
		ContentLength: r.ContentLength,
		Host:          t.httpsHost(),
	}
	if r.ContentLength == 0 {
		base.Body = nil
	} else {
		base.TransferEncoding = r.TransferEncoding
	}
	if base.Body != nil {
		defer base.Body.Close()
	}
	ir.trace.Got1xxResponse = func(code int, header textproto.MIMEHeader) error {
		h := w.Header()
		copyHeaderInto(h, http.Header(header))
		w.WriteHeader(code)
		clear(h)
		return nil
	}
	out := base.WithContext(httptrace.WithClientTrace(ctx, &ir.trace))
	res, err := inspectedTransport{}.RoundTrip(out)
	if err != nil {
		g.inspectedError(w, out, err)
		e.up = body.n
		return
	}
	if res.StatusCode == http.StatusSwitchingProtocols {
		// The request asked for no switch (those go through g.irp).
		_ = res.Body.Close()
		g.inspectedError(w, out, errors.New("gateway: the destination switched protocols unasked"))
		e.up = body.n
		return
	}
	removeHopByHop(res.Header)
	if err := g.checkResponse(res); err != nil {
		_ = res.Body.Close()
		g.inspectedError(w, out, err)
		e.up = body.n
		return
	}
	copyHeaderInto(w.Header(), res.Header)
	announced := len(res.Trailer)
	if announced > 0 {
		keys := make([]string, 0, announced)
		for k := range res.Trailer {
			keys = append(keys, k)
		}
		w.Header()["Trailer"] = []string{strings.Join(keys, ", ")}
	}
	w.WriteHeader(res.StatusCode)
	if err := copyResponseBody(w, res); err != nil {
		_ = res.Body.Close()
		panic(http.ErrAbortHandler)
	}
	_ = res.Body.Close() // now: it fills res.Trailer
	if len(res.Trailer) > 0 {
		_ = http.NewResponseController(w).Flush()
	}
	if len(res.Trailer) == announced {
		copyHeaderInto(w.Header(), res.Trailer)
	} else {
		for k, vv := range res.Trailer {
			k = http.TrailerPrefix + k
			for _, v := range vv {
				w.Header().Add(k, v)
			}
		}
	}
	e.up = body.n
}

// copyResponseBody streams the response body to w: flushed after each write for event streams
// and bodies of unknown length (as httputil.ReverseProxy does).
func copyResponseBody(w http.ResponseWriter, res *http.Response) error {
	flush := res.ContentLength == -1
	if !flush {
		flush = isEventStream(res.Header.Get("Content-Type"))
	}
	rc := http.NewResponseController(w)
	if flush {
		_ = rc.Flush() // the head goes out before the body starts
	}
	bp := spliceBuffers.Get().(*[]byte)
	defer spliceBuffers.Put(bp)
	buf := *bp
	for {
		n, rerr := res.Body.Read(buf)
		if n > 0 {
			nw, werr := w.Write(buf[:n])
			if werr != nil {
				return werr
			}
			if nw != n {
				return io.ErrShortWrite
			}
			if flush {
				_ = rc.Flush()
			}
		}
		if rerr == io.EOF {
			return nil
		}
		if rerr != nil {
			return rerr
		}
	}
}

// isEventStream reports whether a Content-Type's media type is text/event-stream, parsing it
// only when it starts so.
func isEventStream(ct string) bool {
	const sse = "text/event-stream"
	t := strings.TrimLeft(ct, " \t")
	if len(t) < len(sse) || !strings.EqualFold(t[:len(sse)], sse) {
		return false
	}
	base, _, _ := mime.ParseMediaType(ct)
	return base == sse
}

// hopByHop are the fields that describe one connection, never forwarded (RFC 9110 7.6.1).
var hopByHop = []string{"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
	"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade"}

// outgoingHeader makes the client's header that of the request sent upstream, in place (the
// client's request is not read again after this): less the hop-by-hop fields (and those
// Connection names), the Forwarded and X-Forwarded fields, keeping "Te: trailers", with an empty
// User-Agent when the client sent none (so none is added).
func outgoingHeader(h http.Header) http.Header {
	teTrailers := httpguts.HeaderValuesContainsToken(h["Te"], "trailers")
	for _, f := range h["Connection"] {
		for sf := range strings.SplitSeq(f, ",") {
			if sf = textproto.TrimString(sf); sf != "" {
				delete(h, textproto.CanonicalMIMEHeaderKey(sf))
			}
		}
	}
	for _, k := range [...]string{"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization",
		"Te", "Trailer", "Transfer-Encoding", "Upgrade",
		"Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto"} {
		delete(h, k)
	}
	if teTrailers {
		h["Te"] = []string{"trailers"}
	}
	if _, ok := h["User-Agent"]; !ok {
		h["User-Agent"] = []string{""}
	}
	return h
}

// removeHopByHop removes a response's hop-by-hop fields and those its Connection names.
func removeHopByHop(h http.Header) {
	for _, f := range h["Connection"] {
		for sf := range strings.SplitSeq(f, ",") {
			if sf = textproto.TrimString(sf); sf != "" {
				h.Del(sf)
			}
		}
	}
	for _, k := range hopByHop {
		delete(h, k)
	}
}

// copyHeaderInto adds src's fields to dst (as http.Header.Add would, one by one); a field dst
// does not have takes src's values without copying them (capped, so that appending to one
// never writes into the other).
func copyHeaderInto(dst, src http.Header) {
	for k, vv := range src {
		if _, ok := dst[k]; !ok && len(vv) > 0 && k == textproto.CanonicalMIMEHeaderKey(k) {
			dst[k] = vv[:len(vv):len(vv)]
			continue
		}
		for _, v := range vv {
			dst.Add(k, v)
		}
	}
}

// switchesProtocols reports whether a request asks to switch protocols (Connection: upgrade
// with an Upgrade field), which httputil.ReverseProxy forwards and hands over.
func switchesProtocols(h http.Header) bool {
	return httpguts.HeaderValuesContainsToken(h["Connection"], "Upgrade")
}
