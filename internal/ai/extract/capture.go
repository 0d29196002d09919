package extract

import (
	"bufio"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/zstd"
)

// Capture is a captured HTTP message as an operator saves it: a whole HTTP/1.1 request or
// response (start line, headers, body; chunked transfer coding and Content-Encoding undone), or
// a bare body.
type Capture struct {
	IsRequest   bool // an HTTP request
	IsResponse  bool // an HTTP response (neither: a bare body)
	Method      string
	Host        string
	Path        string
	Query       url.Values
	Header      http.Header
	Status      int
	ContentType string
	Body        []byte
}

// ParseCapture reads a capture. A request without Content-Length takes the rest of the input
// as its body (hand-edited captures rarely keep the length right). max caps the decoded body.
func ParseCapture(b []byte, max int64) (*Capture, error) {
	if max <= 0 {
		max = DefaultMaxBody
	}
	trimmed := bytes.TrimLeft(b, " \t\r\n")
	br := bufio.NewReader(bytes.NewReader(trimmed))
	c := &Capture{}
	switch {
	case bytes.HasPrefix(trimmed, []byte("HTTP/")):
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			return nil, fmt.Errorf("capture: the HTTP response head does not parse: %w", err)
		}
		defer resp.Body.Close()
		c.IsResponse, c.Status, c.Header = true, resp.StatusCode, resp.Header
		body, err := readCapped(resp.Body, max)
		if err != nil {
			return nil, err
		}
		c.Body = body
	case looksLikeRequestLine(trimmed):
		req, err := http.ReadRequest(br)
		if err != nil {
			return nil, fmt.Errorf("capture: the HTTP request head does not parse: %w", err)
		}
		defer req.Body.Close()
		c.IsRequest, c.Method, c.Header = true, req.Method, req.Header
		c.Host = req.Host
		if req.URL.Host != "" {
			c.Host = req.URL.Host
		}
		if h, _, err := net.SplitHostPort(c.Host); err == nil {
			c.Host = h
		}
		c.Host = strings.ToLower(strings.TrimSuffix(c.Host, "."))
		c.Path, c.Query = req.URL.Path, req.URL.Query()
		var body []byte
		if req.ContentLength <= 0 && len(req.TransferEncoding) == 0 {
			body, err = readCapped(br, max)
		} else {
			body, err = readCapped(req.Body, max)
		}
		if err != nil {
			return nil, err
		}
		c.Body = body
	default:
		if int64(len(b)) > max {
			return nil, tooLarge("capture body", max)
		}
		c.Body = b
		return c, nil
	}
	c.ContentType = c.Header.Get("Content-Type")
	decoded, err := decodeContent(c.Header.Get("Content-Encoding"), c.Body, max)
	if err != nil {
		return nil, err
	}
	c.Body = decoded
	c.Header.Del("Content-Encoding")
	return c, nil
}

func looksLikeRequestLine(b []byte) bool {
	line, _, _ := bytes.Cut(b, []byte("\n"))
	f := strings.Fields(string(line))
	if len(f) != 3 || !strings.HasPrefix(f[2], "HTTP/1.") {
		return false
	}
	for _, c := range f[0] {
		if c < 'A' || c > 'Z' {
			return false
		}
	}
	return true
}

func readCapped(r io.Reader, max int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, fmt.Errorf("capture: reading the body: %w", err)
	}
	if int64(len(b)) > max {
		return nil, tooLarge("capture body", max)
	}
	return b, nil
}

// decodeContent undoes a Content-Encoding list (applied in order, so undone in reverse).
func decodeContent(enc string, body []byte, max int64) ([]byte, error) {
	codings := strings.Split(enc, ",")
	for i := len(codings) - 1; i >= 0; i-- {
		coding := strings.ToLower(strings.TrimSpace(codings[i]))
		var r io.Reader
		switch coding {
		case "", "identity":
			continue
		case "gzip", "x-gzip":
			zr, err := gzip.NewReader(bytes.NewReader(body))
			if err != nil {
				return nil, fmt.Errorf("capture: gzip body: %w", err)
			}
			r = zr
		case "deflate":
			r = flate.NewReader(bytes.NewReader(body))
		case "br":
			r = brotli.NewReader(bytes.NewReader(body))
		case "zstd":
			zr, err := zstd.NewReader(bytes.NewReader(body), zstd.WithDecoderMaxMemory(uint64(max)))
			if err != nil {
				return nil, fmt.Errorf("capture: zstd body: %w", err)
			}
			defer zr.Close()
			r = zr
		default:
			return nil, fmt.Errorf("capture: unsupported Content-Encoding %q", coding)
		}
		out, err := io.ReadAll(io.LimitReader(r, max+1))
		if err != nil {
			return nil, fmt.Errorf("capture: %s body: %w", coding, err)
		}
		if int64(len(out)) > max {
			return nil, tooLarge("decoded capture body", max)
		}
		body = out
	}
	return body, nil
}

// HTTPRequest turns a request capture into an adapter input.
func (c *Capture) HTTPRequest() HTTPRequest {
	return HTTPRequest{Method: c.Method, Host: c.Host, Path: c.Path, Query: c.Query, Header: c.Header, Body: c.Body}
}

// MarshalJSON adds the size and SHA-256 of the decoded bytes (never the bytes themselves).
func (a Attachment) MarshalJSON() ([]byte, error) {
	type plain Attachment
	v := struct {
		plain
		DataBytes  int    `json:"data_bytes,omitempty"`
		DataSHA256 string `json:"data_sha256,omitempty"`
	}{plain: plain(a)}
	if a.Data != nil {
		sum := sha256.Sum256(a.Data)
		v.DataBytes, v.DataSHA256 = len(a.Data), hex.EncodeToString(sum[:])
	}
	return json.Marshal(v)
}
