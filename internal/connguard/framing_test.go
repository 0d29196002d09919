package connguard

import (
	"bytes"
	"strings"
	"testing"
)

// framingCases are request streams with what the framer must make of them: how many bytes it
// approves (-1: all) and the reason it fails ("" for none). They seed FuzzFraming too.
var framingCases = []struct {
	name   string
	in     string
	reason string
	// held: the stream stops (held) after the approved bytes, awaiting a protocol switch.
	held bool
}{
	{"simple GET", "GET / HTTP/1.1\r\nHost: a\r\n\r\n", "", false},
	{"two pipelined", "GET /a HTTP/1.1\r\nHost: a\r\n\r\nGET /b HTTP/1.1\r\nHost: a\r\n\r\n", "", false},
	{"content-length body", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhelloGET / HTTP/1.1\r\nHost: a\r\n\r\n", "", false},
	{"content-length zero", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n", "", false},
	{"content-length OWS", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: \t 3 \r\n\r\nabc", "", false},
	{"chunked", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", "", false},
	{"chunked upper case", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\nA\r\n0123456789\r\n0\r\n\r\n", "", false},
	{"chunk extensions", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3;a=b;c;d=\"x\\\"y;z\"\r\nabc\r\n0;e\r\n\r\n", "", false},
	{"trailers", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-Sum: 1\r\nX-Other: two\r\n\r\n", "", false},
	{"leading CRLF", "\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", "", false},
	{"HTTP/1.0 with length", "POST / HTTP/1.0\r\nContent-Length: 2\r\n\r\nok", "", false},
	{"long chunk size with zeros", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0000000000000003\r\nabc\r\n0\r\n\r\n", "", false},

	{"CL then TE", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /x HTTP/1.1\r\n\r\n", "content-length-and-transfer-encoding", false},
	{"TE then CL", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n", "content-length-and-transfer-encoding", false},
	{"TE obs-folded", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n", "obs-fold", false},
	{"TE hidden in a fold", "POST / HTTP/1.1\r\nHost: a\r\nFoo: bar\r\n Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\nabc", "obs-fold", false},
	{"TE chunked, identity", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n", "transfer-encoding-not-chunked", false},
	{"TE identity", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\n\r\n", "transfer-encoding-not-chunked", false},
	{"TE gzip, chunked", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", "transfer-encoding-not-chunked", false},
	{"TE twice", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", "multiple-transfer-encoding", false},
	{"TE empty", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n\r\n", "transfer-encoding-not-chunked", false},
	{"TE in HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\nabc", "transfer-encoding-in-http10", false},
	{"TE look-alike", "POST / HTTP/1.1\r\nHost: a\r\nTransfer_Encoding: chunked\r\nContent-Length: 3\r\n\r\nabc", "framing-field-look-alike", false},
	{"CL look-alike", "POST / HTTP/1.1\r\nHost: a\r\nContent_Length: 3\r\n\r\nabc", "framing-field-look-alike", false},
	{"CL twice equal", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc", "multiple-content-length", false},
	{"CL list", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 3\r\n\r\nabc", "invalid-content-length", false},
	{"CL plus sign", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +3\r\n\r\nabc", "invalid-content-length", false},
	{"CL hex", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x3\r\n\r\nabc", "invalid-content-length", false},
	{"CL empty", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n", "invalid-content-length", false},
	{"CL huge", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 9999999999999999999\r\n\r\n", "invalid-content-length", false},
	{"two Host fields", "GET / HTTP/1.1\r\nHost: a\r\nHost: admin.internal\r\n\r\n", "multiple-host", false},
	{"space before colon", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n\r\n", "invalid-field-name", false},
	{"bare LF line ends", "GET / HTTP/1.1\nHost: a\n\n", "bare-lf", false},
	{"bare LF ends the head", "GET / HTTP/1.1\r\nHost: a\r\n\n", "bare-lf", false},
	{"bare LF in a value", "GET / HTTP/1.1\r\nX: a\nTransfer-Encoding: chunked\r\n\r\n", "bare-lf", false},
	{"bare CR", "GET / HTTP/1.1\r\nX: a\rb\r\n\r\n", "bare-cr", false},
	{"NUL in a value", "GET / HTTP/1.1\r\nX: a\x00b\r\n\r\n", "invalid-field-value", false},
	{"first field folded", "GET / HTTP/1.1\r\n Host: a\r\n\r\n", "obs-fold", false},
	{"two spaces in request line", "GET  / HTTP/1.1\r\n\r\n", "invalid-target", false},
	{"HTTP/1.2", "GET / HTTP/1.2\r\n\r\n", "invalid-version", false},
	{"HTTP/2.0 not at start", "GET / HTTP/1.1\r\nHost: a\r\n\r\nPRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "invalid-version", false},
	{"space in target", "GET /a b HTTP/1.1\r\n\r\n", "invalid-version", false},

	{"bad chunk size", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "invalid-chunk-size", false},
	{"chunk size 0x", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n", "invalid-chunk-size", false},
	{"chunk size with space", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5 \r\nhello\r\n0\r\n\r\n", "invalid-chunk-size", false},
	{"chunk size too long", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n00000000000000005\r\nhello\r\n0\r\n\r\n", "invalid-chunk-size", false},
	{"chunk size overflow", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\n", "invalid-chunk-size", false},
	{"chunk size bare LF", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n", "bare-lf", false},
	{"chunk data too long", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhello\r\n0\r\n\r\n", "invalid-chunk-end", false},
	{"chunk data LF only", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\n0\r\n\r\n", "invalid-chunk-end", false},
	{"smuggled request after bad chunk", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nZZZ\r\nGET /admin HTTP/1.1\r\nHost: a\r\n\r\n", "invalid-chunk-size", false},
	{"chunk extension with space", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3; a=b\r\nabc\r\n0\r\n\r\n", "invalid-chunk-extension", false},
	{"chunk extension unterminated quote", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3;a=\"b\r\nabc\r\n0\r\n\r\n", "bare-cr", false},
	{"chunk extension too long", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3;a=" + strings.Repeat("b", maxChunkLine) + "\r\nabc\r\n0\r\n\r\n", "chunk-line-too-long", false},
	{"trailer bare LF", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX: 1\nGET /admin HTTP/1.1\r\n\r\n", "bare-lf", false},
	{"trailer folded", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: 1\r\n 2\r\n\r\n", "obs-fold", false},
	{"trailer too long", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: " + strings.Repeat("b", maxTrailerBytes) + "\r\n\r\n", "trailer-too-large", false},

	{"upgrade holds", "GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\nGET /admin HTTP/1.1\r\n\r\n", "", true},
	{"h2c upgrade holds", "GET / HTTP/1.1\r\nHost: a\r\nUpgrade: h2c\r\nConnection: Upgrade, HTTP2-Settings\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\nPRI * HTTP/2.0\r\n\r\n", "", true},
	{"upgrade with a body holds after it", "POST / HTTP/1.1\r\nHost: a\r\nUpgrade: x\r\nContent-Length: 2\r\n\r\nokGET / HTTP/1.1\r\n\r\n", "", true},
	{"CONNECT holds", "CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n\x16\x03\x01", "", true},
}

// framingApproved returns how far the framer gets through in, fed in pieces of size step.
func framingApproved(in string, step int, priorKnowledge bool) (int, *framer) {
	f := newFramer(1<<16, priorKnowledge)
	approved := 0
	for i := 0; i < len(in); i += step {
		end := min(i+step, len(in))
		n := f.feed([]byte(in[i:end]))
		approved += n
		if n < end-i {
			break
		}
	}
	return approved, f
}

func TestFramer(t *testing.T) {
	for _, tt := range framingCases {
		t.Run(tt.name, func(t *testing.T) {
			for _, step := range []int{1, 2, 3, 7, len(tt.in)} {
				approved, f := framingApproved(tt.in, step, false)
				var reason string
				if f.err != nil {
					reason = f.err.Reason
				}
				if reason != tt.reason {
					t.Fatalf("step %d: reason %q, want %q (approved %d of %d)", step, reason, tt.reason, approved, len(tt.in))
				}
				if held := f.st == stHold; held != tt.held {
					t.Fatalf("step %d: held = %v, want %v", step, held, tt.held)
				}
				if tt.reason == "" && !tt.held && approved != len(tt.in) {
					t.Fatalf("step %d: approved %d of %d", step, approved, len(tt.in))
				}
				if tt.reason != "" && int64(approved) != f.err.Offset {
					t.Fatalf("step %d: approved %d, error offset %d", step, approved, f.err.Offset)
				}
			}
		})
	}
}

func TestFramerPreface(t *testing.T) {
	const preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
	approved, f := framingApproved(preface+"\x00\x00\x12\x04", 1, true)
	if f.st != stPassThrough || approved != len(preface)+4 {
		t.Fatalf("preface: state %d, approved %d", f.st, approved)
	}
	if _, f := framingApproved(preface, 1, false); f.err == nil || f.err.Reason != "invalid-version" {
		t.Fatalf("preface without prior knowledge: %v", f.err)
	}
	if _, f := framingApproved("PRI * HTTP/2.0\r\n\r\nSX\r\n\r\n", 1, true); f.err == nil || f.err.Reason != "invalid-preface" {
		t.Fatalf("bad preface: %v", f.err)
	}
}

func TestFramerHeadLimit(t *testing.T) {
	f := newFramer(64, false)
	in := "GET / HTTP/1.1\r\nX: " + strings.Repeat("a", 64) + "\r\n\r\n"
	if n := f.feed([]byte(in)); n != 64 || f.err == nil || f.err.Reason != "head-too-large" {
		t.Fatalf("approved %d, err %v", n, f.err)
	}
	// The limit is per request: a long stream of short requests is fine.
	f = newFramer(64, false)
	req := "GET / HTTP/1.1\r\nHost: a\r\n\r\n"
	if n := f.feed([]byte(strings.Repeat(req, 10))); n != 10*len(req) {
		t.Fatalf("approved %d of %d: %v", n, 10*len(req), f.err)
	}
}

// wsFrame builds a client WebSocket frame: first byte b0, masked (unless unmasked), with an
// n-byte payload, the length encoded in the shortest form unless lengthForm forces 126 or 127.
func wsFrame(b0 byte, n int, unmasked bool, lengthForm byte) []byte {
	var out []byte
	mask := byte(0x80)
	if unmasked {
		mask = 0
	}
	switch {
	case lengthForm == 127 || (lengthForm == 0 && n > 0xffff):
		out = append(out, b0, mask|127, 0, 0, 0, 0, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	case lengthForm == 126 || (lengthForm == 0 && n > 125):
		out = append(out, b0, mask|126, byte(n>>8), byte(n))
	default:
		out = append(out, b0, mask|byte(n))
	}
	if !unmasked {
		out = append(out, 1, 2, 3, 4)
	}
	return append(out, make([]byte, n)...)
}

// TestWebSocketFrames: after a WebSocket switch, only well-formed masked client frames pass.
func TestWebSocketFrames(t *testing.T) {
	const offer = "GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	tests := []struct {
		name   string
		frames []byte
		reason string
	}{
		{"text, binary, continuation, ping, pong, close", cat(wsFrame(0x01, 5, false, 0), wsFrame(0x82, 300, false, 0),
			wsFrame(0x80, 0, false, 0), wsFrame(0x89, 125, false, 0), wsFrame(0x8a, 0, false, 0), wsFrame(0x88, 2, false, 0)), ""},
		{"compressed (RSV1)", wsFrame(0xc1, 10, false, 0), ""},
		{"64-bit length", wsFrame(0x82, 70000, false, 0), ""},
		{"raw HTTP request", []byte("GET /admin HTTP/1.1\r\nHost: a\r\n\r\n"), "websocket-opcode"},
		{"raw HTTP after a frame", cat(wsFrame(0x81, 3, false, 0), []byte("POST /admin HTTP/1.1\r\n\r\n")), "websocket-reserved-bits"},
		{"unmasked", wsFrame(0x81, 3, true, 0), "websocket-unmasked"},
		{"RSV2", wsFrame(0xa1, 3, false, 0), "websocket-reserved-bits"},
		{"opcode 3", wsFrame(0x83, 3, false, 0), "websocket-opcode"},
		{"opcode 11", wsFrame(0x8b, 3, false, 0), "websocket-opcode"},
		{"fragmented control", wsFrame(0x09, 3, false, 0), "websocket-fragmented-control"},
		{"long control", wsFrame(0x89, 126, false, 0), "websocket-control-too-long"},
		{"64-bit length with the top bit", []byte{0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0}, "websocket-length"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, step := range []int{1, 5, len(tt.frames)} {
				f := newFramer(1<<16, false)
				if n := f.feed([]byte(offer)); n != len(offer) || f.st != stHold {
					t.Fatalf("offer: approved %d, state %d", n, f.st)
				}
				f.handOver()
				approved := 0
				for i := 0; i < len(tt.frames); i += step {
					end := min(i+step, len(tt.frames))
					n := f.feed(tt.frames[i:end])
					approved += n
					if n < end-i {
						break
					}
				}
				var reason string
				if f.err != nil {
					reason = f.err.Reason
				}
				if reason != tt.reason {
					t.Fatalf("step %d: reason %q, want %q (approved %d of %d)", step, reason, tt.reason, approved, len(tt.frames))
				}
				if tt.reason == "" && approved != len(tt.frames) {
					t.Fatalf("step %d: approved %d of %d", step, approved, len(tt.frames))
				}
			}
		})
	}
	// Other switches are not WebSocket: their bytes pass unexamined.
	f := newFramer(1<<16, false)
	f.feed([]byte("GET / HTTP/1.1\r\nHost: a\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n"))
	f.handOver()
	if raw := []byte("anything\r\n"); f.feed(raw) != len(raw) || f.st != stPassThrough {
		t.Fatalf("after a non-WebSocket switch: state %d", f.st)
	}
}
