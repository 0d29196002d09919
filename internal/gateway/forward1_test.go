package gateway

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/snapshot"
)

// cannedRecorder keeps the request it was sent and answers with a fixed response.
type cannedRecorder struct {
	got     *http.Request
	header  http.Header
	body    string
	length  int64
	bodyErr error
}

func (u *cannedRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	u.got = r
	if r.Body != nil {
		_, _ = io.ReadAll(r.Body)
	}
	var body io.ReadCloser = io.NopCloser(strings.NewReader(u.body))
	if u.bodyErr != nil {
		body = io.NopCloser(io.MultiReader(strings.NewReader(u.body), errReader{u.bodyErr}))
	}
	return &http.Response{StatusCode: 200, ProtoMajor: 1, ProtoMinor: 1, Request: r, ContentLength: u.length,
		Header: u.header.Clone(), Body: body}, nil
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

func newForwardHarness(t *testing.T) (*Gateway, *Tunnel) {
	t.Helper()
	g := New(&snapshot.Holder{}, Options{Egress: &Egress{}, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	t.Cleanup(g.Close)
	tn := &Tunnel{Dest: Destination{Host: "a.example", Port: 443}, Identity: &Identity{ServiceTokenID: "t", ClientIP: netip.MustParseAddr("127.0.0.1")},
		Addrs: []netip.Addr{netip.MustParseAddr("127.0.0.1")}, g: g, e: &entry{}}
	return g, tn
}

// forwardInspected sends the destination what httputil.ReverseProxy (g.irp) sends, and
// answers the client what it answers: hop-by-hop and X-Forwarded fields removed both ways,
// "Te: trailers" kept, no User-Agent added, the query as the client sent it.
func TestForwardInspectedMatchesReverseProxy(t *testing.T) {
	g, tn := newForwardHarness(t)
	newReq := func() *http.Request {
		r := httptest.NewRequest("POST", "https://a.example/p?a=1;b=2", strings.NewReader("body!"))
		r.Header = http.Header{"Connection": {"X-Secret, keep-alive"}, "X-Secret": {"1"}, "Keep-Alive": {"5"},
			"Proxy-Authorization": {"Basic eA=="}, "X-Forwarded-For": {"1.2.3.4"}, "Forwarded": {"for=x"},
			"Te": {"trailers, deflate"}, "Accept": {"*/*"}, "Upgrade": {"h2c"}, "Content-Type": {"text/plain"}}
		return r
	}
	respHeader := http.Header{"Connection": {"X-Internal"}, "X-Internal": {"y"}, "Keep-Alive": {"timeout=5"},
		"Content-Type": {"text/plain"}, "Content-Length": {"5"}, "X-Kept": {"k"}}
	run := func(viaProxy bool) (*http.Request, *httptest.ResponseRecorder) {
		up := &cannedRecorder{header: respHeader, body: "hello", length: 5}
		e := &entry{}
		ir := &inspectedRequest{t: tn, up: func(bool, bool) http.RoundTripper { return up }, e: e}
		r := newReq()
		r = r.WithContext(context.WithValue(r.Context(), inspectedKey{}, ir))
		w := httptest.NewRecorder()
		rec := &recorder{ResponseWriter: w, entry: e}
		if viaProxy {
			g.forward(g.irp, rec, r, e)
		} else {
			g.forwardInspected(r.Context(), rec, r, e, ir)
		}
		if e.up != 5 {
			t.Fatalf("bytes up %d", e.up)
		}
		return up.got, w
	}
	pOut, pResp := run(true)
	fOut, fResp := run(false)
	if !reflect.DeepEqual(pOut.Header, fOut.Header) {
		t.Fatalf("upstream header differs:\nproxy   %v\nforward %v", pOut.Header, fOut.Header)
	}
	if pOut.URL.String() != fOut.URL.String() || pOut.Host != fOut.Host || pOut.Method != fOut.Method || pOut.ContentLength != fOut.ContentLength {
		t.Fatalf("upstream request differs: %s %s %s vs %s %s %s", pOut.Method, pOut.URL, pOut.Host, fOut.Method, fOut.URL, fOut.Host)
	}
	if _, ok := fOut.Header["X-Secret"]; ok || fOut.Header.Get("Te") != "trailers" || fOut.URL.RawQuery != "a=1;b=2" {
		t.Fatalf("outgoing request %v %q", fOut.Header, fOut.URL.RawQuery)
	}
	if pResp.Code != fResp.Code || pResp.Body.String() != fResp.Body.String() || !reflect.DeepEqual(pResp.Header(), fResp.Header()) {
		t.Fatalf("responses differ:\nproxy   %d %v %q\nforward %d %v %q", pResp.Code, pResp.Header(), pResp.Body, fResp.Code, fResp.Header(), fResp.Body)
	}
	if _, ok := fResp.Header()["X-Internal"]; ok {
		t.Fatal("a field the response's Connection names was forwarded")
	}
}

// A response body that breaks off aborts the response (http.ErrAbortHandler): the server
// then cuts the connection instead of ending the body as if it were whole.
func TestForwardInspectedAbortsBrokenBody(t *testing.T) {
	g, tn := newForwardHarness(t)
	up := &cannedRecorder{header: http.Header{"Content-Length": {"100"}}, body: "partial", length: 100, bodyErr: errors.New("reset")}
	e := &entry{}
	ir := &inspectedRequest{t: tn, up: func(bool, bool) http.RoundTripper { return up }, e: e}
	r := httptest.NewRequest("GET", "https://a.example/", nil)
	r = r.WithContext(context.WithValue(r.Context(), inspectedKey{}, ir))
	defer func() {
		if p := recover(); p != http.ErrAbortHandler {
			t.Fatalf("recovered %v, want http.ErrAbortHandler", p)
		}
	}()
	g.forwardInspected(r.Context(), &recorder{ResponseWriter: httptest.NewRecorder(), entry: e}, r, e, ir)
	t.Fatal("a broken body ended normally")
}
