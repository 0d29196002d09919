package h1

import (
	"bufio"
	"bytes"
	"io"
	"maps"
	"net/http"
	"slices"
	"testing"
)

var requestSeeds = []string{
	"GET / HTTP/1.1\r\nHost: a.example\r\n\r\n",
	"GET /p?q=1 HTTP/1.1\r\nHost: a.example\r\nConnection: close\r\nUser-Agent: x\r\n\r\nGET / HTTP/1.1\r\n\r\n",
	"POST /u HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhelloGET / HTTP/1.1\r\nHost: a\r\n\r\n",
	"POST /u HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n0\r\n\r\nNEXT",
	"POST /u HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n",
	"POST /u HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello",
	"POST /u HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
	"POST /u HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n0\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: a\r\nX : b\r\n\r\n",
	"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
	"GET https://a.example/x HTTP/1.1\r\nHost: a.example\r\n\r\n",
	"CONNECT a.example:443 HTTP/1.1\r\nHost: a.example:443\r\n\r\n",
	"OPTIONS * HTTP/1.1\r\nHost: a\r\nPragma: no-cache\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: y\r\n\r\n",
}

// FuzzReadRequest: for any bytes, ReadRequest refuses them, or net/http's http.ReadRequest
// accepts them too and reads the same method, target, header, framing and body, and stops at
// the same byte (the next request starts at the same place for both).
func FuzzReadRequest(f *testing.F) {
	for _, s := range requestSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		obr := bufio.NewReader(bytes.NewReader(data))
		ours, err := ReadRequest(obr, Limits{MaxHeaderBytes: 4096})
		if err != nil {
			return
		}
		sbr := bufio.NewReader(bytes.NewReader(data))
		std, err := http.ReadRequest(sbr)
		if err != nil {
			t.Fatalf("accepted a request net/http refuses (%v): %q", err, data)
		}
		if ours.Method != std.Method || ours.RequestURI != std.RequestURI || ours.URL.String() != std.URL.String() ||
			ours.Proto != std.Proto || ours.ProtoMajor != std.ProtoMajor || ours.ProtoMinor != std.ProtoMinor ||
			ours.Host != std.Host || ours.ContentLength != std.ContentLength || ours.Close != std.Close ||
			!slices.Equal(ours.TransferEncoding, std.TransferEncoding) {
			t.Fatalf("request line or framing differs:\nours %+v\nstd  %+v\ninput %q", ours, std, data)
		}
		if !equalHeader(ours.Header, std.Header) {
			t.Fatalf("header differs:\nours %q\nstd  %q\ninput %q", ours.Header, std.Header, data)
		}
		obody, oerr := io.ReadAll(ours.Body)
		if oerr != nil {
			return
		}
		sbody, serr := io.ReadAll(std.Body)
		if serr != nil {
			t.Fatalf("read a body net/http refuses (%v): %q", serr, data)
		}
		if !bytes.Equal(obody, sbody) {
			t.Fatalf("body differs: ours %q std %q input %q", obody, sbody, data)
		}
		if len(std.Trailer) > 0 {
			t.Fatalf("accepted trailer fields %q: %q", std.Trailer, data)
		}
		orest, _ := io.ReadAll(obr)
		srest, _ := io.ReadAll(sbr)
		if !bytes.Equal(orest, srest) {
			t.Fatalf("the next message starts elsewhere: ours %q std %q input %q", orest, srest, data)
		}
	})
}

var responseSeeds = []string{
	"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloHTTP/1.1 204 No Content\r\n\r\n",
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-T\r\n\r\n5\r\nhello\r\n0\r\nX-T: 1\r\n\r\nNEXT",
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n",
	"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
	"HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\nHTTP/1.1 200 OK\r\n\r\n",
	"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n",
	"HTTP/1.0 200 OK\r\n\r\nuntil close",
	"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil close",
	"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
	"HTTP/1.1 200\r\nX: a\r\n  b\r\nContent-Length: 0\r\n\r\n",
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
}

// FuzzReadResponse: for any bytes and either method, ReadResponse refuses them, or net/http's
// http.ReadResponse accepts them too and reads the same status, header, framing, body and
// trailer, stopping at the same byte.
func FuzzReadResponse(f *testing.F) {
	for _, s := range responseSeeds {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, data []byte, head bool) {
		method := http.MethodGet
		if head {
			method = http.MethodHead
		}
		obr := bufio.NewReader(bytes.NewReader(data))
		ours, err := ReadResponse(obr, method, Limits{MaxHeaderBytes: 4096})
		if err != nil {
			return
		}
		sbr := bufio.NewReader(bytes.NewReader(data))
		std, err := http.ReadResponse(sbr, &http.Request{Method: method})
		if err != nil {
			t.Fatalf("accepted a response net/http refuses (%v): %q", err, data)
		}
		if ours.Status != std.Status || ours.StatusCode != std.StatusCode || ours.Proto != std.Proto ||
			ours.ProtoMajor != std.ProtoMajor || ours.ProtoMinor != std.ProtoMinor ||
			ours.ContentLength != std.ContentLength || ours.Close != std.Close ||
			!slices.Equal(ours.TransferEncoding, std.TransferEncoding) {
			t.Fatalf("status line or framing differs:\nours %+v\nstd  %+v\ninput %q", ours, std, data)
		}
		if !equalHeader(ours.Header, std.Header) || !equalHeader(ours.Trailer, std.Trailer) {
			t.Fatalf("header differs:\nours %q %q\nstd  %q %q\ninput %q", ours.Header, ours.Trailer, std.Header, std.Trailer, data)
		}
		obody, oerr := io.ReadAll(ours.Body)
		if oerr != nil {
			return
		}
		sbody, serr := io.ReadAll(std.Body)
		if serr != nil {
			t.Fatalf("read a body net/http refuses (%v): %q", serr, data)
		}
		if !bytes.Equal(obody, sbody) {
			t.Fatalf("body differs: ours %q std %q input %q", obody, sbody, data)
		}
		if !equalHeader(ours.Trailer, std.Trailer) {
			t.Fatalf("trailer differs: ours %q std %q input %q", ours.Trailer, std.Trailer, data)
		}
		orest, _ := io.ReadAll(obr)
		srest, _ := io.ReadAll(sbr)
		if !bytes.Equal(orest, srest) {
			t.Fatalf("the next message starts elsewhere: ours %q std %q input %q", orest, srest, data)
		}
	})
}

func equalHeader(a, b http.Header) bool {
	if len(a) == 0 && len(b) == 0 {
		return true
	}
	return maps.EqualFunc(a, b, func(x, y []string) bool { return slices.Equal(x, y) })
}
