package connguard

import (
	"strings"
	"testing"
)

// BenchmarkFramerHead measures the framer on a typical browser request head (about 700 bytes).
func BenchmarkFramerHead(b *testing.B) {
	head := []byte("GET /dashboard/reports?range=30d HTTP/1.1\r\nHost: app.example.com\r\n" +
		"User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36\r\n" +
		"Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\nAccept-Language: en-GB,en;q=0.9\r\n" +
		"Accept-Encoding: gzip, deflate, br\r\nCookie: Gatehouse_Authorization=" + strings.Repeat("x", 360) + "\r\n" +
		"Connection: keep-alive\r\n\r\n")
	f := newFramer(1<<16, false)
	b.SetBytes(int64(len(head)))
	b.ReportAllocs()
	for b.Loop() {
		if f.feed(head) != len(head) {
			b.Fatal(f.err)
		}
	}
}

// BenchmarkFramerChunkedBody measures the framer on a chunked body of 16 KiB chunks.
func BenchmarkFramerChunkedBody(b *testing.B) {
	chunk := []byte("4000\r\n" + strings.Repeat("a", 16<<10) + "\r\n")
	f := newFramer(1<<16, false)
	f.feed([]byte("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"))
	b.SetBytes(int64(len(chunk)))
	b.ReportAllocs()
	for b.Loop() {
		if f.feed(chunk) != len(chunk) {
			b.Fatal(f.err)
		}
	}
}
