package inspect

import (
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"testing"
	"time"
)

// recordHello captures the bytes of a real crypto/tls ClientHello for serverName.
func recordHello(t testing.TB, serverName string, protos []string) []byte {
	t.Helper()
	// The client writes its ClientHello, then reads EOF: no second goroutine and no pipe, so
	// that fuzzing workers, which build the seeds too, never wait on one.
	c := &helloRecorder{}
	tc := tls.Client(c, &tls.Config{ServerName: serverName, NextProtos: protos, InsecureSkipVerify: true})
	_ = tc.Handshake()
	raw, _, err := ReadClientHello(bytes.NewReader(c.out.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// helloRecorder is a connection that keeps what is written to it and has nothing to read.
type helloRecorder struct {
	net.Conn
	out bytes.Buffer
}

func (c *helloRecorder) Write(p []byte) (int, error)      { return c.out.Write(p) }
func (c *helloRecorder) Read([]byte) (int, error)         { return 0, io.EOF }
func (c *helloRecorder) Close() error                     { return nil }
func (c *helloRecorder) SetDeadline(time.Time) error      { return nil }
func (c *helloRecorder) SetReadDeadline(time.Time) error  { return nil }
func (c *helloRecorder) SetWriteDeadline(time.Time) error { return nil }

func TestReadClientHello(t *testing.T) {
	raw := recordHello(t, "chatgpt.com", []string{"h2", "http/1.1"})
	got, hello, err := ReadClientHello(bytes.NewReader(append(append([]byte(nil), raw...), "trailing"...)))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, raw) {
		t.Error("ReadClientHello read beyond the ClientHello's records")
	}
	if hello.ServerName != "chatgpt.com" || len(hello.ALPN) != 2 || hello.ALPN[0] != "h2" {
		t.Errorf("hello %+v", hello)
	}
	// The same message split over two records (as some clients send it) parses the same.
	body := raw[5:]
	split := append([]byte{22, 3, 1, 0, 10}, body[:10]...)
	rest := body[10:]
	split = append(split, 22, 3, 1, byte(len(rest)>>8), byte(len(rest)))
	split = append(split, rest...)
	if _, h2, err := ReadClientHello(bytes.NewReader(split)); err != nil || h2.ServerName != "chatgpt.com" {
		t.Errorf("split records: %+v %v", h2, err)
	}
	// No SNI (an IP address as the server name).
	if _, h3, err := ReadClientHello(bytes.NewReader(recordHello(t, "127.0.0.1", nil))); err != nil || h3.ServerName != "" {
		t.Errorf("no SNI: %+v %v", h3, err)
	}
	for name, in := range map[string][]byte{
		"http":        []byte("GET / HTTP/1.1\r\n\r\n"),
		"ssh":         []byte("SSH-2.0-OpenSSH_9.6\r\n"),
		"truncated":   raw[:len(raw)-3],
		"bad length":  {22, 3, 1, 0xff, 0xff},
		"not a hello": {22, 3, 1, 0, 4, 2, 0, 0, 0},
	} {
		if _, _, err := ReadClientHello(bytes.NewReader(in)); !errors.Is(err, ErrNotTLS) {
			t.Errorf("%s: err %v, want ErrNotTLS", name, err)
		}
	}
	if _, _, err := ReadClientHello(bytes.NewReader(nil)); !errors.Is(err, io.EOF) {
		t.Errorf("empty: %v", err)
	}
}

func FuzzReadClientHello(f *testing.F) {
	f.Add(recordHello(f, "chatgpt.com", []string{"h2"}))
	f.Add(recordHello(f, "a.b", nil))
	f.Add([]byte{22, 3, 1, 0, 4, 1, 0, 0, 0})
	f.Fuzz(func(t *testing.T, in []byte) {
		raw, hello, err := ReadClientHello(bytes.NewReader(in))
		if len(raw) > len(in) || !bytes.Equal(raw, in[:len(raw)]) {
			t.Fatal("raw is not a prefix of the input")
		}
		if err == nil && hello == nil {
			t.Fatal("nil hello without an error")
		}
		if err == nil {
			for _, c := range hello.ServerName {
				if c <= ' ' || c >= 0x7f {
					t.Fatalf("server name %q has a control or non-ASCII byte", hello.ServerName)
				}
			}
		}
	})
}

func BenchmarkReadClientHello(b *testing.B) {
	raw := recordHello(b, "chatgpt.com", []string{"h2", "http/1.1"})
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := ReadClientHello(bytes.NewReader(raw)); err != nil {
			b.Fatal(err)
		}
	}
}
