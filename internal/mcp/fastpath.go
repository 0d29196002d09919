package mcp

import (
	"bytes"
	"context"
	"encoding/json"
	"mime"
	"net/http"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
	fastjson "github.com/segmentio/encoding/json"
)

// The portal answers tools/call, its hot method, itself (serveToolCall) when the request is
// one the SDK's stateless handler would take to the tool handler unchanged, and hands every
// other request to the SDK: anything unusual in the request (an unknown field anywhere, a
// batch, a header the SDK would refuse, an id the SDK would rewrite, a tool whose schema binds
// parameters to headers) takes the SDK's path, which answers it as it always has. The fast
// path runs the same authorisation, view, relay (DLP, classifier, log) as the SDK's path;
// only the JSON-RPC framing around them is the portal's own, and a differential test
// (TestFastPathMatchesSDK) holds it to the SDK's.

// revisionNew is the first revision whose requests carry their protocol version, client
// capabilities and client info in _meta, and whose results carry resultType and the
// server's info.
const revisionNew = "2026-07-28"

// fastRevisions are the revisions a fast-path request may name in Mcp-Protocol-Version: those
// the SDK's server supports ("" is a client that sends none, read as 2025-03-26).
var fastRevisions = map[string]bool{"": true, "2024-11-05": true, "2025-03-26": true, "2025-06-18": true, "2025-11-25": true, revisionNew: true}

// metaServerInfo is the key of the server's implementation in the new revision's result _meta.
const metaServerInfo = "io.modelcontextprotocol/serverInfo"

// fastCall is a tools/call request as the fast path reads it: strictly (no unknown field, no
// field matched but for its exact name), so that a request it accepts is one the SDK reads
// the same way.
type fastCall struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Method  string          `json:"method"`
	Params  *struct {
		Meta      *fastMeta       `json:"_meta"`
		Name      string          `json:"name"`
		Arguments json.RawMessage `json:"arguments"`
	} `json:"params"`
}

type fastMeta struct {
	ProtocolVersion    *string         `json:"io.modelcontextprotocol/protocolVersion"`
	ClientCapabilities *fastClientCaps `json:"io.modelcontextprotocol/clientCapabilities"`
	ClientInfo         *struct {
		Name    string `json:"name"`
		Title   string `json:"title"`
		Version string `json:"version"`
	} `json:"io.modelcontextprotocol/clientInfo"`
	ProgressToken json.RawMessage `json:"progressToken"`
}

type fastClientCaps struct {
	Roots *struct {
		ListChanged bool `json:"listChanged"`
	} `json:"roots"`
	Sampling    *struct{} `json:"sampling"`
	Elicitation *struct{} `json:"elicitation"`
}

const strictJSON = fastjson.DisallowUnknownFields | fastjson.DontMatchCaseInsensitiveStructFields

// parseFastCall reads body as a tools/call the fast path serves, and reports whether the
// request uses the new revision (its _meta names the revision; the header must agree). ok is
// false for any request the SDK's path must answer.
func parseFastCall(h http.Header, body []byte) (c *fastCall, newRevision, ok bool) {
	c = &fastCall{}
	if rest, err := fastjson.Parse(body, c, strictJSON); err != nil || len(bytes.TrimSpace(rest)) != 0 {
		return nil, false, false
	}
	if c.JSONRPC != "2.0" || c.Method != "tools/call" || c.Params == nil || !simpleID(c.ID) {
		return nil, false, false
	}
	if a := c.Params.Arguments; len(a) > 0 && a[0] != '{' {
		return nil, false, false
	}
	versions := h.Values("Mcp-Protocol-Version")
	if len(versions) > 1 {
		return nil, false, false
	}
	header := ""
	if len(versions) == 1 {
		header = versions[0]
	}
	if !fastRevisions[header] {
		return nil, false, false
	}
	meta := c.Params.Meta
	if pt := meta.progressToken(); len(pt) > 0 && pt[0] != '"' && (pt[0] < '0' || pt[0] > '9') {
		return nil, false, false
	}
	if header != revisionNew {
		// The old revisions: no protocol version in _meta (the SDK checks one against the
		// header), and nothing of the new revision's.
		if meta != nil && (meta.ProtocolVersion != nil || meta.ClientCapabilities != nil || meta.ClientInfo != nil) {
			return nil, false, false
		}
		return c, false, true
	}
	// The new revision: _meta names it and the client's capabilities, and the standard
	// headers name the method and the tool.
	if meta == nil || meta.ProtocolVersion == nil || *meta.ProtocolVersion != header || meta.ClientCapabilities == nil {
		return nil, false, false
	}
	if h.Get("Mcp-Method") != c.Method || h.Get("Mcp-Name") != c.Params.Name {
		return nil, false, false
	}
	return c, true, true
}

func (m *fastMeta) progressToken() json.RawMessage {
	if m == nil {
		return nil
	}
	return m.ProgressToken
}

// simpleID reports whether a JSON-RPC id is one the SDK echoes byte for byte: an integer the
// SDK's float decoding keeps exactly, or a string of plain printable ASCII.
func simpleID(id json.RawMessage) bool {
	if len(id) == 0 {
		return false
	}
	if id[0] == '"' {
		if len(id) < 3 || len(id) > 130 || id[len(id)-1] != '"' {
			return false
		}
		for _, b := range id[1 : len(id)-1] {
			if b < 0x20 || b > 0x7e || b == '"' || b == '\\' || b == '<' || b == '>' || b == '&' {
				return false
			}
		}
		return true
	}
	digits := id
	if digits[0] == '-' {
		digits = digits[1:]
	}
	if len(digits) == 0 || len(digits) > 15 || (digits[0] == '0' && len(id) > 1) {
		return false
	}
	for _, b := range digits {
		if b < '0' || b > '9' {
			return false
		}
	}
	return true
}

// fastTransport reports whether the HTTP request is one the SDK's stateless handler takes to
// its session: a POST of JSON, accepting JSON and event streams, not resuming a stream, with
// no parameter headers.
func fastTransport(r *http.Request) bool {
	if r.Method != http.MethodPost || len(r.Header.Values("Last-Event-Id")) > 0 {
		return false
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return false
	}
	if len(r.Header.Values("Mcp-Method")) > 1 || len(r.Header.Values("Mcp-Name")) > 1 {
		return false
	}
	for k := range r.Header {
		if strings.HasPrefix(k, "Mcp-Param-") {
			return false
		}
	}
	jsonOK, streamOK := accepts(r.Header.Values("Accept"))
	return jsonOK && streamOK
}

// accepts reads Accept values as the SDK's Streamable HTTP handler does.
func accepts(values []string) (jsonOK, streamOK bool) {
	for _, value := range values {
		for raw := range strings.SplitSeq(value, ",") {
			base, _, _ := strings.Cut(strings.TrimSpace(raw), ";")
			switch strings.ToLower(strings.TrimSpace(base)) {
			case "application/json", "application/*":
				jsonOK = true
			case "text/event-stream", "text/*":
				streamOK = true
			case "*/*":
				jsonOK, streamOK = true, true
			}
		}
	}
	return jsonOK, streamOK
}

// serveToolCall answers a tools/call the fast path took, as the SDK's stateless JSON handler
// answers it: the relay's result or error in a JSON-RPC response of its own, application/json.
func (p *Portal) serveToolCall(ctx context.Context, w http.ResponseWriter, c *fastCall, newRevision bool, t *visibleTool, impl []byte) {
	res, out, err := p.relayTool(ctx, t, c.Params.Arguments)
	h := w.Header()
	h.Set("Cache-Control", "no-cache, no-transform")
	h.Set("Content-Type", "application/json")
	b := make([]byte, 0, len(out)+len(impl)+128)
	b = append(b, `{"jsonrpc":"2.0","id":`...)
	b = append(b, c.ID...)
	if err != nil {
		jerr, ok := err.(*jsonrpc.Error)
		if !ok {
			jerr = &jsonrpc.Error{Code: jsonrpc.CodeInternalError, Message: err.Error()}
		}
		e, _ := json.Marshal(jerr)
		b = append(append(append(b, `,"error":`...), e...), '}')
		status := http.StatusOK
		if newRevision {
			switch jerr.Code {
			case jsonrpc.CodeMethodNotFound:
				status = http.StatusNotFound
			case jsonrpc.CodeInvalidParams, sdk.CodeUnsupportedProtocolVersion, sdk.CodeMissingRequiredClientCapabilities:
				status = http.StatusBadRequest
			}
		}
		w.WriteHeader(status)
		_, _ = w.Write(b)
		return
	}
	b = append(b, `,"result":`...)
	if newRevision {
		// The new revision's result names the server in _meta (unless the upstream's did)
		// and says it is complete.
		if res.Meta == nil {
			b = append(b, `{"_meta":{"`+metaServerInfo+`":`...)
			b = append(b, impl...)
			b = append(b, "},"...)
			b = append(b, out[1:len(out)-1]...)
		} else {
			m := make(sdk.Meta, len(res.Meta)+1)
			for k, v := range res.Meta {
				m[k] = v
			}
			if _, ok := m[metaServerInfo]; !ok {
				m[metaServerInfo] = json.RawMessage(impl)
			}
			withMeta := *res
			withMeta.Meta = m
			o, _ := json.Marshal(&withMeta)
			b = append(b, o[:len(o)-1]...)
		}
		b = append(b, `,"resultType":"complete"}`...)
	} else {
		b = append(b, out...)
	}
	b = append(b, '}')
	_, _ = w.Write(b)
}

// readToolResult reads an upstream's tools/call result as the SDK's client does, and returns
// it with its JSON encoding (what the portal passes on and DLP scans) and the text the
// prompt-injection classifier reads. A result of text content only is read without the
// SDK's decoder; any other is decoded by it.
func readToolResult(raw json.RawMessage) (res *sdk.CallToolResult, out []byte, text string, err error) {
	var fr struct {
		Content []struct {
			Type string `json:"type"`
			Text string `json:"text"`
		} `json:"content"`
		StructuredContent json.RawMessage `json:"structuredContent"`
		IsError           bool            `json:"isError"`
	}
	if rest, perr := fastjson.Parse(raw, &fr, strictJSON); perr == nil && len(bytes.TrimSpace(rest)) == 0 {
		res = &sdk.CallToolResult{Content: make([]sdk.Content, 0, len(fr.Content)), IsError: fr.IsError}
		for _, c := range fr.Content {
			if c.Type != "text" {
				res = nil
				break
			}
			res.Content = append(res.Content, &sdk.TextContent{Text: c.Text})
		}
		if res != nil && len(fr.StructuredContent) > 0 && string(fr.StructuredContent) != "null" {
			var sc any
			if json.Unmarshal(fr.StructuredContent, &sc) != nil {
				res = nil
			} else {
				res.StructuredContent = sc
			}
		}
	}
	if res != nil {
		// Encoded as the SDK encodes a result of text content: its fields in order, the
		// strings by the standard library (FuzzReadToolResult holds the bytes to the SDK's).
		out = make([]byte, 0, len(raw)+32)
		out = append(out, `{"content":[`...)
		for i, c := range fr.Content {
			if i > 0 {
				out = append(out, ',')
			}
			t, _ := json.Marshal(c.Text)
			out = append(append(append(out, `{"type":"text","text":`...), t...), '}')
		}
		out = append(out, ']')
		if res.StructuredContent != nil {
			sc, err := json.Marshal(res.StructuredContent)
			if err != nil {
				return nil, nil, "", err
			}
			out = append(append(out, `,"structuredContent":`...), sc...)
		}
		if res.IsError {
			out = append(out, `,"isError":true`...)
		}
		out = append(out, '}')
		return res, out, toolResultText(res), nil
	}
	res = new(sdk.CallToolResult)
	if err := json.Unmarshal(raw, res); err != nil {
		return nil, nil, "", err
	}
	if res.Content == nil {
		res.Content = []sdk.Content{} // as the SDK's server sends it
	}
	out, err = json.Marshal(res)
	if err != nil {
		return nil, nil, "", err
	}
	return res, out, toolResultText(res), nil
}
