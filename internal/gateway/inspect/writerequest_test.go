package inspect

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// writeRequest frames the upstream request itself: what it writes reads back (net/http's
// reader) as the same method, target, Host, fields and body, with the framing chosen here.
func TestWriteRequestFraming(t *testing.T) {
	cases := []struct {
		name, method, body string
		length             int64
		wantTE             bool
		header             http.Header
	}{
		{name: "get", method: "GET", header: http.Header{"Accept": {"*/*"}, "User-Agent": {""}}},
		{name: "length", method: "POST", body: "hello", length: 5, header: http.Header{"Content-Length": {"999"}, "Transfer-Encoding": {"chunked"}}},
		{name: "unknown length", method: "PUT", body: strings.Repeat("x", 40000), length: -1, wantTE: true, header: http.Header{"X-A": {"1", "2"}}},
		{name: "empty post", method: "POST", header: http.Header{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req := &http.Request{Method: c.method, URL: &url.URL{Scheme: "https", Host: "a.example", Path: "/p q", RawQuery: "x=1"},
				Host: "a.example", Header: c.header, ContentLength: c.length}
			if c.body != "" {
				req.Body = io.NopCloser(strings.NewReader(c.body))
			}
			var buf bytes.Buffer
			bw := bufio.NewWriter(&buf)
			if err := writeRequest(bw, req); err != nil {
				t.Fatal(err)
			}
			_ = bw.Flush()
			got, err := http.ReadRequest(bufio.NewReader(&buf))
			if err != nil {
				t.Fatalf("%v in %q", err, buf.String())
			}
			b, _ := io.ReadAll(got.Body)
			if got.Method != c.method || got.RequestURI != "/p%20q?x=1" || got.Host != "a.example" || string(b) != c.body {
				t.Fatalf("read back %s %s %s %q", got.Method, got.RequestURI, got.Host, b)
			}
			if (len(got.TransferEncoding) == 1) != c.wantTE {
				t.Fatalf("transfer encoding %v", got.TransferEncoding)
			}
			if c.method == "POST" && c.body == "" && got.Header.Get("Content-Length") != "0" {
				t.Fatalf("bodiless POST without Content-Length: 0: %q", buf.String())
			}
			if _, ok := got.Header["User-Agent"]; ok && c.name == "get" {
				t.Fatal("an empty User-Agent was written")
			}
			if c.name == "unknown length" && strings.Join(got.Header["X-A"], ",") != "1,2" {
				t.Fatalf("fields %v", got.Header)
			}
		})
	}
	// A body longer than its Content-Length is refused rather than written past it.
	req := &http.Request{Method: "POST", URL: &url.URL{Path: "/"}, Host: "a", Header: http.Header{}, ContentLength: 2,
		Body: io.NopCloser(strings.NewReader("abc"))}
	if err := writeRequest(bufio.NewWriter(io.Discard), req); err == nil {
		t.Fatal("a body longer than its length was written")
	}
}
