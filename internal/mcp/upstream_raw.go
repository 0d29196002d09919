package mcp

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	fastjson "github.com/segmentio/encoding/json"
)

// errResultTooLarge is what callToolRaw returns for an upstream answer larger than
// MaxResultBytes allows.
var errResultTooLarge = errors.New("mcp: upstream result too large")

// codeServerClosing is the JSON-RPC code of a server closing (the SDK's ErrServerClosing).
const codeServerClosing = -32004

// rawCallID numbers the portal's own upstream requests. They are strings, so they never
// collide with the SDK session's numeric ids on the same session.
var rawCallID atomic.Int64

// maxUpstreamAnswer bounds what callToolRaw reads of one upstream answer: the largest result
// the portal passes on and room for the JSON-RPC envelope and SSE framing around it.
const maxUpstreamAnswer = MaxResultBytes + 64<<10

// callToolRaw relays a tools/call on the session of c (c.raw set) without decoding and
// encoding it as the SDK's client would: the arguments go as they came (a JSON object), and
// the result comes back as the bytes the upstream sent. An upstream's JSON-RPC error is
// returned as a *jsonrpc.Error, as the SDK's client returns it; any other error means the
// upstream or the session failed.
func (c *upstreamConn) callToolRaw(ctx context.Context, name string, args []byte) (json.RawMessage, error) {
	id := "gh-" + strconv.FormatInt(rawCallID.Add(1), 10)
	body := make([]byte, 0, len(args)+len(name)+96)
	body = append(body, `{"jsonrpc":"2.0","id":"`...)
	body = append(body, id...)
	body = append(body, `","method":"tools/call","params":{"name":`...)
	body = fastjson.AppendEscape(body, name, 0)
	body = append(body, `,"arguments":`...)
	body = append(body, orEmptyObject(args)...)
	body = append(body, "}}"...)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	if ir := c.session.InitializeResult(); ir != nil {
		req.Header.Set("Mcp-Protocol-Version", ir.ProtocolVersion)
	}
	if sid := c.session.ID(); sid != "" {
		req.Header.Set("Mcp-Session-Id", sid)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
		return nil, fmt.Errorf("mcp: upstream answered tools/call with %s", resp.Status)
	}
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	switch mt {
	case "application/json":
		b, err := io.ReadAll(io.LimitReader(resp.Body, maxUpstreamAnswer+1))
		if err != nil {
			return nil, err
		}
		if len(b) > maxUpstreamAnswer {
			return nil, errResultTooLarge
		}
		res, ok, err := rpcResult(b, id)
		if err == nil && !ok {
			err = errors.New("mcp: upstream answered with another request's response")
		}
		return res, err
	case "text/event-stream":
		return c.readEvents(ctx, resp.Body, id)
	}
	return nil, fmt.Errorf("mcp: upstream answered tools/call with content type %q", mt)
}

// readEvents reads an SSE stream until the response to request id: notifications on the way
// are dropped (the portal does not relay them), and requests the upstream makes of its client
// are answered as the SDK's client without handlers answers them.
func (c *upstreamConn) readEvents(ctx context.Context, r io.Reader, id string) (json.RawMessage, error) {
	sc := newEventScanner(io.LimitReader(r, maxUpstreamAnswer+1))
	defer sc.release()
	for {
		data, err := sc.next()
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, bufio.ErrTooLong) {
				if sc.read >= maxUpstreamAnswer {
					return nil, errResultTooLarge
				}
				return nil, errors.New("mcp: upstream ended the stream without a response")
			}
			return nil, err
		}
		if len(data) == 0 {
			continue
		}
		var m rpcEnvelope
		if _, err := fastjson.Parse(data, &m, fastjson.DontMatchCaseInsensitiveStructFields|fastjson.ZeroCopy); err != nil {
			return nil, fmt.Errorf("mcp: upstream sent a malformed message: %w", err)
		}
		switch {
		case m.Method != "" && len(m.ID) > 0:
			c.answer(ctx, m.ID, m.Method)
		case m.Method != "":
			// A notification (progress, logging): nothing to relay it to.
		default:
			res, ok, err := rpcResult(data, id)
			if ok || err != nil {
				return res, err
			}
		}
	}
}

// answer replies to a request an upstream made of the portal's client during a call, as the
// SDK's client does with no handlers: an empty list of roots, an empty ping result, and
// "method not found" for the rest (sampling and elicitation are not offered).
func (c *upstreamConn) answer(ctx context.Context, id json.RawMessage, method string) {
	var body []byte
	switch method {
	case "roots/list":
		body = fmt.Appendf(nil, `{"jsonrpc":"2.0","id":%s,"result":{"roots":[]}}`, id)
	case "ping":
		body = fmt.Appendf(nil, `{"jsonrpc":"2.0","id":%s,"result":{}}`, id)
	default:
		body = fmt.Appendf(nil, `{"jsonrpc":"2.0","id":%s,"error":{"code":%d,"message":"method not found"}}`, id, jsonrpc.CodeMethodNotFound)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, bytes.NewReader(body))
	if err != nil {
		return
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	if ir := c.session.InitializeResult(); ir != nil {
		req.Header.Set("Mcp-Protocol-Version", ir.ProtocolVersion)
	}
	if sid := c.session.ID(); sid != "" {
		req.Header.Set("Mcp-Session-Id", sid)
	}
	if resp, err := c.http.Do(req); err == nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
		resp.Body.Close()
	}
}

// rpcEnvelope is a JSON-RPC message as callToolRaw reads it.
type rpcEnvelope struct {
	JSONRPC string            `json:"jsonrpc"`
	ID      json.RawMessage   `json:"id"`
	Method  string            `json:"method"`
	Result  json.RawMessage   `json:"result"`
	Error   *rpcEnvelopeError `json:"error"`
}

type rpcEnvelopeError struct {
	Code    int64           `json:"code"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data"`
}

// rpcResult reads b as the response to request id: ok is false for a response to another
// request. The upstream's error is returned as a *jsonrpc.Error.
func rpcResult(b []byte, id string) (res json.RawMessage, ok bool, err error) {
	var m rpcEnvelope
	if _, err := fastjson.Parse(b, &m, fastjson.DontMatchCaseInsensitiveStructFields); err != nil {
		return nil, false, fmt.Errorf("mcp: upstream sent a malformed response: %w", err)
	}
	var got string
	if fastjson.Unmarshal(m.ID, &got) != nil || got != id {
		return nil, false, nil
	}
	if m.JSONRPC != "2.0" {
		return nil, true, errors.New("mcp: upstream sent a response without jsonrpc 2.0")
	}
	if m.Error != nil {
		if m.Error.Code == codeServerClosing {
			// The SDK's client reads this code as the connection closing, not as the
			// upstream's answer: the session is dropped and the call fails as unavailable.
			return nil, true, fmt.Errorf("mcp: upstream is closing: %s", m.Error.Message)
		}
		return nil, true, &jsonrpc.Error{Code: m.Error.Code, Message: m.Error.Message, Data: m.Error.Data}
	}
	if len(m.Result) == 0 || m.Result[0] != '{' {
		return nil, true, errors.New("mcp: upstream sent a response without a result object")
	}
	return m.Result, true, nil
}

// eventScanner reads server-sent events (the text/event-stream format): each call of next
// returns the data of the next "message" event (the default type), its data lines joined by
// newlines. Other event types (a priming event) and comments are skipped.
type eventScanner struct {
	sc   *bufio.Scanner
	buf  *[]byte
	data []byte
	read int
}

// scanBuffers are the line buffers of event scanners (4 KiB; a longer line grows one that is
// not returned).
var scanBuffers = sync.Pool{New: func() any { b := make([]byte, 4<<10); return &b }}

func newEventScanner(r io.Reader) *eventScanner {
	sc := bufio.NewScanner(r)
	buf := scanBuffers.Get().(*[]byte)
	sc.Buffer((*buf)[:0], maxUpstreamAnswer)
	e := &eventScanner{sc: sc, buf: buf}
	sc.Split(func(data []byte, atEOF bool) (int, []byte, error) {
		adv, tok, err := scanLines(data, atEOF)
		e.read += adv
		return adv, tok, err
	})
	return e
}

// scanLines splits at \n, \r\n or a lone \r, as the event stream format allows.
func scanLines(data []byte, atEOF bool) (int, []byte, error) {
	if atEOF && len(data) == 0 {
		return 0, nil, nil
	}
	if i := bytes.IndexAny(data, "\r\n"); i >= 0 {
		if data[i] == '\r' {
			if i+1 < len(data) {
				if data[i+1] == '\n' {
					return i + 2, data[:i], nil
				}
				return i + 1, data[:i], nil
			}
			if !atEOF {
				return 0, nil, nil // a \n may follow
			}
		}
		return i + 1, data[:i], nil
	}
	if atEOF {
		return len(data), data, nil
	}
	return 0, nil, nil
}

// release returns the scanner's line buffer for reuse; the scanner and what it returned must
// not be used after.
func (e *eventScanner) release() {
	if e.buf != nil {
		scanBuffers.Put(e.buf)
		e.buf = nil
	}
}

func (e *eventScanner) next() ([]byte, error) {
	e.data = e.data[:0]
	event, hasData := "", false
	for e.sc.Scan() {
		line := e.sc.Bytes()
		if len(line) == 0 {
			if hasData && (event == "" || event == "message") {
				return e.data, nil
			}
			e.data, event, hasData = e.data[:0], "", false
			continue
		}
		field, value, _ := bytes.Cut(line, []byte(":"))
		value, _ = bytes.CutPrefix(value, []byte(" "))
		switch string(field) {
		case "data":
			if hasData {
				e.data = append(e.data, '\n')
			}
			e.data = append(e.data, value...)
			hasData = true
		case "event":
			event = string(value)
		}
	}
	if err := e.sc.Err(); err != nil {
		return nil, err
	}
	// An event the stream ended in without the blank line that dispatches it is discarded,
	// as the format says.
	return nil, io.EOF
}
