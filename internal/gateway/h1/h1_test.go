package h1

import (
	"bufio"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
)

func readReq(s string) (*http.Request, error) {
	return ReadRequest(bufio.NewReader(strings.NewReader(s)), Limits{MaxHeaderBytes: 1024, MaxHeaders: 8})
}

// TestReadRequestRefuses: every ambiguity a smuggling attack needs is refused with its reason
// (and 400, 431 or 501).
func TestReadRequestRefuses(t *testing.T) {
	const head = "POST / HTTP/1.1\r\nHost: a\r\n"
	cases := []struct{ name, in, reason string }{
		{"obs-fold", head + "X: a\r\n b\r\n\r\n", "obs-fold"},
		{"space before colon", head + "Content-Length : 5\r\n\r\nhello", "space-before-colon"},
		{"tab before colon", head + "Transfer-Encoding\t: chunked\r\n\r\n", "space-before-colon"},
		{"bad name byte", head + "X\x00Y: 1\r\n\r\n", "bad-field-name"},
		{"empty name", head + ": 1\r\n\r\n", "bad-field-line"},
		{"no colon", head + "Foo\r\n\r\n", "bad-field-line"},
		{"ctl in value", head + "X: a\x01b\r\n\r\n", "bad-field-value"},
		{"cr in value", head + "X: a\rb\r\n\r\n", "bad-field-value"},
		{"del in value", head + "X: a\x7fb\r\n\r\n", "bad-field-value"},
		{"bare LF", "GET / HTTP/1.1\nHost: a\n\n", "bare-lf"},
		{"bare LF in head", head + "X: 1\n\r\n", "bare-lf"},
		{"CL and TE", head + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", "length-and-chunked"},
		{"differing CL", head + "Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", "differing-content-length"},
		{"CL list", head + "Content-Length: 5, 5\r\n\r\nhello", "bad-content-length"},
		{"signed CL", head + "Content-Length: +5\r\n\r\nhello", "bad-content-length"},
		{"empty CL", head + "Content-Length:\r\n\r\n", "bad-content-length"},
		{"huge CL", head + "Content-Length: 99999999999999999999\r\n\r\n", "bad-content-length"},
		{"TE gzip", head + "Transfer-Encoding: gzip, chunked\r\n\r\n", "unsupported-transfer-encoding"},
		{"TE case", head + "Transfer-Encoding: Chunked\r\n\r\n", "unsupported-transfer-encoding"},
		{"TE twice", head + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", "unsupported-transfer-encoding"},
		{"TE on 1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", "transfer-encoding-on-http/1.0"},
		{"trailer declared", head + "Trailer: X\r\nTransfer-Encoding: chunked\r\n\r\n", "request-trailer"},
		{"no host", "GET / HTTP/1.1\r\n\r\n", "missing-host"},
		{"two hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", "duplicate-host"},
		{"bad host", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", "bad-host"},
		{"absolute form elsewhere", "GET https://b.example/ HTTP/1.1\r\nHost: a.example\r\n\r\n", "host-mismatch"},
		{"odd scheme", "GET ftp://a/ HTTP/1.1\r\nHost: a\r\n\r\n", "bad-target"},
		{"star not options", "GET * HTTP/1.1\r\nHost: a\r\n\r\n", "bad-target"},
		{"http/2", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", "bad-version"},
		{"http/1.2", "GET / HTTP/1.2\r\nHost: a\r\n\r\n", "bad-version"},
		{"double space", "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", "bad-request-line"},
		{"bad method", "G(T / HTTP/1.1\r\nHost: a\r\n\r\n", "bad-method"},
		{"utf8 target", "GET /\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n", "bad-target"},
		{"too many fields", head + strings.Repeat("X: 1\r\n", 9) + "\r\n", "head-too-large"},
		{"head too large", head + "X: " + strings.Repeat("a", 1100) + "\r\n\r\n", "head-too-large"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := readReq(c.in)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v, want an *Error %s", err, c.reason)
			}
			if e.Reason != c.reason {
				t.Fatalf("reason = %q, want %q", e.Reason, c.reason)
			}
			if e.Status != 400 && e.Status != 431 && e.Status != 501 {
				t.Fatalf("status %d", e.Status)
			}
		})
	}
}

// TestChunkedBodyRefuses: malformed chunk framing fails the body read.
func TestChunkedBodyRefuses(t *testing.T) {
	const head = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
	cases := []struct{ name, body, reason string }{
		{"bare LF size", "5\nhello\r\n0\r\n\r\n", "bad-chunk-line"},
		{"no size", ";x\r\nhello\r\n0\r\n\r\n", "bad-chunk-size"},
		{"space after size", "5 \r\nhello\r\n0\r\n\r\n", "bad-chunk-extension"},
		{"negative", "-5\r\nhello\r\n0\r\n\r\n", "bad-chunk-size"},
		{"prefixed", "0x5\r\nhello\r\n0\r\n\r\n", "bad-chunk-extension"},
		{"too large", "1000000000000000\r\n", "chunk-too-large"},
		{"quoted ext", "5;a=\"b\"\r\nhello\r\n0\r\n\r\n", "bad-chunk-extension"},
		{"empty ext", "5;\r\nhello\r\n0\r\n\r\n", "bad-chunk-extension"},
		{"long ext", "5;" + strings.Repeat("a", 1100) + "\r\nhello\r\n0\r\n\r\n", "chunk-line-too-long"},
		{"data overrun", "5\r\nhello!\r\n0\r\n\r\n", "bad-chunk-end"},
		{"trailer field", "5\r\nhello\r\n0\r\nX: 1\r\n\r\n", "request-trailer"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, err := readReq(head + c.body)
			if err != nil {
				t.Fatal(err)
			}
			_, err = io.ReadAll(req.Body)
			var e *Error
			if !errors.As(err, &e) || e.Reason != c.reason {
				t.Fatalf("err = %v, want %s", err, c.reason)
			}
			if req.Body.(*Body).Done() {
				t.Fatal("a failed body is done")
			}
		})
	}
}

// TestReadRequestKeepAlive: two requests on one connection, each body read exactly.
func TestReadRequestKeepAlive(t *testing.T) {
	br := bufio.NewReader(strings.NewReader(
		"POST /a HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\n\r\n" +
			"PUT /b?x=1 HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\nxyz" +
			"GET https://a/c HTTP/1.1\r\nHost: A\r\nConnection: close\r\n\r\n"))
	want := []struct {
		method, path, body string
		length             int64
		close              bool
	}{{"POST", "/a", "abcde", -1, false}, {"PUT", "/b", "xyz", 3, false}, {"GET", "/c", "", 0, true}}
	for _, w := range want {
		req, err := ReadRequest(br, Limits{})
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(req.Body)
		if err != nil {
			t.Fatal(err)
		}
		if req.Method != w.method || req.URL.Path != w.path || string(b) != w.body || req.ContentLength != w.length || req.Close != w.close {
			t.Fatalf("got %s %s %q %d %v, want %+v", req.Method, req.URL.Path, b, req.ContentLength, req.Close, w)
		}
		if body, ok := req.Body.(*Body); ok && !body.Done() {
			t.Fatal("body read to its end is not done")
		}
		if _, ok := req.Header["Host"]; ok {
			t.Fatal("Host stays in the header")
		}
	}
	if _, err := ReadRequest(br, Limits{}); err != io.EOF {
		t.Fatalf("after the last request: %v, want io.EOF", err)
	}
}

func readResp(s, method string) (*http.Response, error) {
	return ReadResponse(bufio.NewReader(strings.NewReader(s)), method, Limits{})
}

// TestReadResponseFraming: bodiless statuses and HEAD answers have no body; bad framing from
// the destination is refused rather than guessed at.
func TestReadResponseFraming(t *testing.T) {
	ok := []struct {
		name, in, method, body string
		length                 int64
		close                  bool
	}{
		{"length", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", "GET", "hello", 5, false},
		{"chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", "GET", "hello", -1, false},
		{"until close", "HTTP/1.1 200 OK\r\n\r\nhello", "GET", "hello", -1, true},
		{"head", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", "HEAD", "", 5, false},
		{"304", "HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n", "GET", "", 0, false},
		{"204 zero", "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n", "GET", "", 0, false},
		{"1.0", "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nhi", "GET", "hi", 2, true},
	}
	for _, c := range ok {
		t.Run(c.name, func(t *testing.T) {
			resp, err := readResp(c.in, c.method)
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(resp.Body)
			if err != nil || string(b) != c.body || resp.ContentLength != c.length || resp.Close != c.close {
				t.Fatalf("got %q %v length %d close %v", b, err, resp.ContentLength, resp.Close)
			}
		})
	}
	bad := []struct{ name, in, reason string }{
		{"CL and TE", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", "length-and-chunked"},
		{"TE list", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", "unsupported-transfer-encoding"},
		{"differing CL", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", "differing-content-length"},
		{"204 with body", "HTTP/1.1 204 No Content\r\nContent-Length: 4\r\n\r\nabcd", "framing-on-bodiless-status"},
		{"fold", "HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n", "obs-fold"},
		{"status", "HTTP/1.1 2000 OK\r\n\r\n", "bad-status-line"},
		{"status range", "HTTP/1.1 099 Odd\r\n\r\n", "bad-status"},
		{"version", "HTTP/1.2 200 OK\r\n\r\n", "bad-version"},
		{"header splitting", "HTTP/1.1 200 OK\r\nX: a\rSet-Cookie: b\r\n\r\n", "bad-field-value"},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			_, err := readResp(c.in, "GET")
			var e *Error
			if !errors.As(err, &e) || e.Reason != c.reason {
				t.Fatalf("err = %v, want %s", err, c.reason)
			}
		})
	}
}

// TestReadResponseTrailer: a chunked response's trailer fields reach Response.Trailer.
func TestReadResponseTrailer(t *testing.T) {
	resp, err := readResp("HTTP/1.1 200 OK\r\nTrailer: X-Sum\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\nX-Sum: 9\r\n\r\n", "GET")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := resp.Trailer["X-Sum"]; !ok {
		t.Fatalf("declared trailer missing: %v", resp.Trailer)
	}
	if _, err := io.ReadAll(resp.Body); err != nil {
		t.Fatal(err)
	}
	if resp.Trailer.Get("X-Sum") != "9" {
		t.Fatalf("trailer %v", resp.Trailer)
	}
}
