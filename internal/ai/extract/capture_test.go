package extract

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestParseCapture(t *testing.T) {
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write([]byte("data: {\"choices\":[{\"delta\":{\"content\":\"zip\"}}]}\n\n"))
	_ = zw.Close()
	// A chunked, gzip-encoded response: both codings are undone.
	var resp bytes.Buffer
	resp.WriteString("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n")
	body := gz.Bytes()
	for len(body) > 0 {
		n := min(10, len(body))
		fmt.Fprintf(&resp, "%x\r\n", n)
		resp.Write(body[:n])
		resp.WriteString("\r\n")
		body = body[n:]
	}
	resp.WriteString("0\r\n\r\n")
	c, err := ParseCapture(resp.Bytes(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if !c.IsResponse || c.ContentType != "text/event-stream" || !strings.Contains(string(c.Body), "zip") {
		t.Fatalf("capture %+v body %q", c, c.Body)
	}
	r := MustDefault().Adapter("openai-chat").ExtractResponse(c.ContentType, c.Body, Limits{})
	if r.Text != "zip" {
		t.Errorf("text %q", r.Text)
	}

	// A request without Content-Length takes the rest as its body; host port is dropped.
	c, err = ParseCapture([]byte("POST /v1/messages HTTP/1.1\nHost: API.Anthropic.com:443\n\n{\"messages\":[]}"), 0)
	if err != nil || !c.IsRequest || c.Host != "api.anthropic.com" || string(c.Body) != `{"messages":[]}` {
		t.Fatalf("request capture %+v, %v", c, err)
	}
	// A bare body stays a bare body.
	c, err = ParseCapture([]byte(`{"a":1}`), 0)
	if err != nil || c.IsRequest || c.IsResponse {
		t.Fatalf("bare body %+v, %v", c, err)
	}
	if _, err := ParseCapture([]byte(strings.Repeat("x", 100)), 10); !errors.Is(err, ErrTooLarge) {
		t.Errorf("oversize bare body: %v", err)
	}
	if _, err := ParseCapture([]byte("HTTP/1.1 200 OK\r\nContent-Encoding: compress\r\n\r\nxx"), 0); err == nil {
		t.Error("unknown Content-Encoding accepted")
	}
}
