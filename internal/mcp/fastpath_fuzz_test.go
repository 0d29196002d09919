package mcp

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
)

// FuzzReadToolResult: readToolResult reads any upstream result as the SDK's client does.
// Whatever it reads without the SDK's decoder, it encodes to the same bytes as the SDK's
// decoding and encoding of it (what DLP scans is what it always scanned); what the SDK
// refuses, it refuses.
func FuzzReadToolResult(f *testing.F) {
	for _, s := range []string{
		`{"content":[{"type":"text","text":"hi"}]}`,
		`{"content":[{"type":"text","text":"a"},{"type":"text","text":"<b>"}],"isError":true}`,
		`{"content":[],"structuredContent":{"b":1,"a":[1,2]}}`,
		`{"content":null,"structuredContent":null}`,
		`{"content":[{"type":"image","data":"AQID","mimeType":"image/png"}],"_meta":{"k":"v"}}`,
		`{"content":[{"type":"text","text":"x","annotations":{"priority":1}}]}`,
		`{"Content":[{"type":"text","text":"x"}]}`,
		`{"content":[{"type":"text","text":"x"}],"content":[]}`,
		`{"content":[{"type":"text","text":"\u00e9\ud83d\ude00"}],"resultType":"complete"}`,
		`{"content":[{"type":"text","text":"a\u2028b\u0000<\ud800>"}],"structuredContent":{"z":[true,null,"\u0026"],"a":1e400}}`,
		`{}`,
		`[]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		res, out, _, err := readToolResult(raw)
		want := new(sdk.CallToolResult)
		werr := json.Unmarshal(raw, want)
		if (err == nil) != (werr == nil) {
			t.Fatalf("readToolResult err %v, the SDK's %v (%q)", err, werr, raw)
		}
		if err != nil {
			return
		}
		if res == nil || out == nil {
			t.Fatalf("no result for %q", raw)
		}
		if want.Content == nil {
			want.Content = []sdk.Content{}
		}
		wantOut, err := json.Marshal(want)
		if err != nil {
			t.Skip() // a value the SDK cannot encode again either
		}
		if !bytes.Equal(out, wantOut) {
			t.Fatalf("%q: got %s, the SDK's %s", raw, out, wantOut)
		}
	})
}

// FuzzParseFastCall: a request the fast path takes names the method, tool, id and arguments
// the standard library reads in it too, and its arguments are an object or absent.
func FuzzParseFastCall(f *testing.F) {
	for _, s := range []struct{ body, version string }{
		{`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a_b","arguments":{"x":1}}}`, ""},
		{`{"jsonrpc":"2.0","id":"s","method":"tools/call","params":{"name":"a_b"}}`, "2025-06-18"},
		{`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"_meta":{"io.modelcontextprotocol/clientCapabilities":{},"io.modelcontextprotocol/protocolVersion":"2026-07-28"},"name":"a_b","arguments":{}}}`, "2026-07-28"},
		{`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a_b","name":"c_d"}}`, ""},
		{`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"NAME":"a_b"}}`, ""},
		{`{"jsonrpc":"2.0","id":1.5,"method":"tools/call","params":{"name":"a_b"}}`, ""},
	} {
		f.Add([]byte(s.body), s.version)
	}
	f.Fuzz(func(t *testing.T, body []byte, version string) {
		h := http.Header{}
		if version != "" {
			h.Set("Mcp-Protocol-Version", version)
		}
		c, newRevision, ok := parseFastCall(h, body)
		if !ok {
			return
		}
		var std struct {
			ID     json.RawMessage `json:"id"`
			Method string          `json:"method"`
			Params struct {
				Name      string          `json:"name"`
				Arguments json.RawMessage `json:"arguments"`
			} `json:"params"`
		}
		if err := json.Unmarshal(body, &std); err != nil {
			t.Fatalf("accepted %q, which the standard library refuses: %v", body, err)
		}
		if std.Method != c.Method || c.Method != "tools/call" || std.Params.Name != c.Params.Name || !bytes.Equal(bytes.TrimSpace(std.ID), c.ID) {
			t.Fatalf("%q: read %q %q %s, the standard library %q %q %s", body, c.Method, c.Params.Name, c.ID, std.Method, std.Params.Name, std.ID)
		}
		if a := c.Params.Arguments; len(a) > 0 && a[0] != '{' {
			t.Fatalf("%q: arguments %s", body, a)
		}
		if newRevision != (version == revisionNew) {
			t.Fatalf("%q: new revision %v under %q", body, newRevision, version)
		}
	})
}

// FuzzEventScanner: the event stream reader never panics, returns no more than the stream
// held, and finds the response to its request among other events.
func FuzzEventScanner(f *testing.F) {
	for _, s := range []string{
		"event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":\"gh-1\",\"result\":{}}\n\n",
		"id: a_1\nevent: prime\ndata:\n\nevent: message\r\ndata: {\"jsonrpc\":\"2.0\",\r\ndata: \"method\":\"notifications/progress\"}\r\n\r\n",
		": comment\rdata: x\r\rdata: {\"jsonrpc\":\"2.0\",\"id\":\"gh-1\",\"error\":{\"code\":-32602,\"message\":\"m\"}}\n\n",
		"data: {}\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, stream string) {
		sc := newEventScanner(strings.NewReader(stream))
		total := 0
		for range 1000 {
			data, err := sc.next()
			if err != nil {
				if err != io.EOF {
					t.Fatalf("%q: %v", stream, err)
				}
				break
			}
			total += len(data)
			if total > len(stream) {
				t.Fatalf("%q: read %d bytes of data", stream, total)
			}
			_, _, _ = rpcResult(data, "gh-1")
		}
	})
}
