package inspect

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// A decrypted HTTP/1.1 request whose framing two parsers could read differently is answered
// with 400 and the connection closed: nothing reaches the destination, nor does a request
// hidden behind it.
func TestHTTP1RefusesAmbiguousFraming(t *testing.T) {
	h := newHarness(t, e2eRules)
	now := time.Now()
	o := newOrigin(t, h.origins.leaf(t, []string{"chatgpt.com"}, now.Add(-time.Hour), now.Add(time.Hour)))
	dest := "chatgpt.com:" + o.port
	smuggled := "GET /smuggled HTTP/1.1\r\nHost: " + dest + "\r\n\r\n"
	cases := map[string]string{
		"length and chunked": "POST /a HTTP/1.1\r\nHost: " + dest + "\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggled,
		"space before colon": "POST /a HTTP/1.1\r\nHost: " + dest + "\r\nTransfer-Encoding : chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n" + smuggled,
		"obs-fold":           "GET /a HTTP/1.1\r\nHost: " + dest + "\r\nX-A: 1\r\n Transfer-Encoding: chunked\r\n\r\n" + smuggled,
		"two lengths":        "POST /a HTTP/1.1\r\nHost: " + dest + "\r\nContent-Length: 0\r\nContent-Length: 44\r\n\r\n" + smuggled,
		"bare LF":            "GET /a HTTP/1.1\nHost: " + dest + "\n\n" + smuggled,
		"gzip, chunked":      "POST /a HTTP/1.1\r\nHost: " + dest + "\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n" + smuggled,
	}
	for name, raw := range cases {
		t.Run(name, func(t *testing.T) {
			tc, err := h.connectTLS(t, dest, "chatgpt.com", []string{"http/1.1"})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := io.WriteString(tc, raw); err != nil {
				t.Fatal(err)
			}
			br := bufio.NewReader(tc)
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.ReadAll(resp.Body)
			if resp.StatusCode/100 != 4 && resp.StatusCode != 501 {
				t.Fatalf("status %d, want a refusal", resp.StatusCode)
			}
			if _, err := br.ReadByte(); err == nil {
				t.Fatal("the connection carried on after a refused request")
			}
		})
	}
	if n := o.count(); n != 0 {
		t.Fatalf("the destination saw %d requests", n)
	}
}

// On one kept-alive decrypted connection: a HEAD answer has no body, a 204 neither, a request
// waiting for 100 Continue gets it before it sends its body, and a response without a length
// is chunked; each response ends where the next begins.
func TestHTTP1KeepAliveFraming(t *testing.T) {
	h := newHarness(t, e2eRules)
	now := time.Now()
	o := newCountingOrigin(t, h.origins.leaf(t, []string{"chatgpt.com"}, now.Add(-time.Hour), now.Add(time.Hour)),
		func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			switch r.URL.Path {
			case "/empty":
				w.WriteHeader(http.StatusNoContent)
			case "/stream":
				_, _ = io.WriteString(w, "part one ")
				w.(http.Flusher).Flush()
				_, _ = io.WriteString(w, "part two")
			default:
				fmt.Fprintf(w, "%s %s %s", r.Method, r.URL.Path, body)
			}
		})
	dest := "chatgpt.com:" + o.port
	tc, err := h.connectTLS(t, dest, "chatgpt.com", []string{"http/1.1"})
	if err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(tc)
	exchange := func(method, head, body string) (*http.Response, string) {
		t.Helper()
		if _, err := io.WriteString(tc, head); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(head, "100-continue") {
			resp, err := http.ReadResponse(br, nil)
			if err != nil || resp.StatusCode != http.StatusContinue {
				t.Fatalf("before the body: %v %v", resp, err)
			}
		}
		if _, err := io.WriteString(tc, body); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(br, &http.Request{Method: method})
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp, string(b)
	}
	host := "Host: " + dest + "\r\n"
	if resp, _ := exchange("HEAD", "HEAD /h HTTP/1.1\r\n"+host+"\r\n", ""); resp.StatusCode != 200 {
		t.Fatalf("HEAD: %d", resp.StatusCode)
	}
	if resp, b := exchange("GET", "GET /empty HTTP/1.1\r\n"+host+"\r\n", ""); resp.StatusCode != 204 || b != "" {
		t.Fatalf("204: %d %q", resp.StatusCode, b)
	}
	resp, b := exchange("PUT", "PUT /up HTTP/1.1\r\n"+host+"Content-Length: 5\r\nExpect: 100-continue\r\n\r\n", "hello")
	if resp.StatusCode != 200 || b != "PUT /up hello" {
		t.Fatalf("100-continue: %d %q", resp.StatusCode, b)
	}
	resp, b = exchange("POST", "POST /c HTTP/1.1\r\n"+host+"Transfer-Encoding: chunked\r\n\r\n", "3;x=1\r\nabc\r\n0\r\n\r\n")
	if resp.StatusCode != 200 || b != "POST /c abc" {
		t.Fatalf("chunked request: %d %q", resp.StatusCode, b)
	}
	resp, b = exchange("GET", "GET /stream HTTP/1.1\r\n"+host+"\r\n", "")
	if resp.StatusCode != 200 || b != "part one part two" || len(resp.TransferEncoding) != 1 {
		t.Fatalf("stream: %d %q %v", resp.StatusCode, b, resp.TransferEncoding)
	}
	if n := o.conns.Load(); n != 1 {
		t.Fatalf("%d upstream connections, want 1", n)
	}
}

// A destination's response whose framing is ambiguous is not forwarded: the client gets a
// gateway error (net/http's reader took Transfer-Encoding over Content-Length and passed the
// response on).
func TestHTTP1RefusesAmbiguousResponse(t *testing.T) {
	h := newHarness(t, e2eRules)
	now := time.Now()
	cert := h.origins.leaf(t, []string{"chatgpt.com"}, now.Add(-time.Hour), now.Add(time.Hour))
	o := newOneShotOrigin(t, cert)
	o.reply = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nsmuggled"
	c := h.keepAliveClient()
	if code, body := get(t, c, "GET", "https://chatgpt.com:"+o.port+"/a", ""); code != http.StatusBadGateway || strings.Contains(body, "smuggled") {
		t.Fatalf("got %d %q, want 502", code, body)
	}
}
