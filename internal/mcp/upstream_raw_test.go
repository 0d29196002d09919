package mcp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/gatehouse/gatehouse/internal/store"
)

// TestRawCallMatchesSDKClient: the portal's own tools/call relay (callToolRaw and
// readToolResult) gets from an upstream what the SDK's client session gets, for results of
// every kind, tool errors, protocol errors, and calls during which the upstream sends
// notifications and asks the client for its roots (answered as the SDK's client answers), in
// every revision the relay is used for.
func TestRawCallMatchesSDKClient(t *testing.T) {
	for _, mode := range []struct {
		version      string
		jsonResponse bool
	}{{"2025-03-26", false}, {"2025-06-18", false}, {"2025-11-25", false}, {"2025-11-25", true}} {
		version := mode.version
		t.Run(fmt.Sprintf("%s json %v", version, mode.jsonResponse), func(t *testing.T) {
			s := sdk.NewServer(&sdk.Implementation{Name: "raw", Version: "1"}, &sdk.ServerOptions{SupportedProtocolVersions: []string{version}})
			obj := map[string]any{"type": "object"}
			s.AddTool(&sdk.Tool{Name: "text", InputSchema: obj}, func(ctx context.Context, req *sdk.CallToolRequest) (*sdk.CallToolResult, error) {
				return &sdk.CallToolResult{Content: []sdk.Content{&sdk.TextContent{Text: "args " + string(req.Params.Arguments)}}}, nil
			})
			s.AddTool(&sdk.Tool{Name: "mixed", InputSchema: obj}, func(ctx context.Context, req *sdk.CallToolRequest) (*sdk.CallToolResult, error) {
				return &sdk.CallToolResult{Content: []sdk.Content{&sdk.TextContent{Text: "t"}, &sdk.ImageContent{Data: []byte("png"), MIMEType: "image/png"},
					&sdk.EmbeddedResource{Resource: &sdk.ResourceContents{URI: "file:///a", Text: "embedded"}}},
					StructuredContent: map[string]any{"n": 1.5}, Meta: sdk.Meta{"k": "v"}, IsError: true}, nil
			})
			s.AddTool(&sdk.Tool{Name: "protocol", InputSchema: obj}, func(ctx context.Context, req *sdk.CallToolRequest) (*sdk.CallToolResult, error) {
				return nil, &jsonrpc.Error{Code: -32050, Message: "quota", Data: json.RawMessage(`{"retry":true}`)}
			})
			s.AddTool(&sdk.Tool{Name: "closing", InputSchema: obj}, func(ctx context.Context, req *sdk.CallToolRequest) (*sdk.CallToolResult, error) {
				return nil, &jsonrpc.Error{Code: -32004, Message: "server is closing"}
			})
			s.AddTool(&sdk.Tool{Name: "chatty", InputSchema: obj}, func(ctx context.Context, req *sdk.CallToolRequest) (*sdk.CallToolResult, error) {
				_ = req.Session.Log(ctx, &sdk.LoggingMessageParams{Level: "info", Data: "working"})
				_ = req.Session.NotifyProgress(ctx, &sdk.ProgressNotificationParams{ProgressToken: "p", Progress: 1})
				roots, err := req.Session.ListRoots(ctx, nil)
				if err != nil {
					return nil, err
				}
				return &sdk.CallToolResult{Content: []sdk.Content{&sdk.TextContent{Text: fmt.Sprintf("%d roots", len(roots.Roots))}}}, nil
			})
			srv := httptest.NewServer(sdk.NewStreamableHTTPHandler(func(*http.Request) *sdk.Server { return s }, &sdk.StreamableHTTPOptions{JSONResponse: mode.jsonResponse}))
			defer srv.Close()
			ups := NewUpstreams(http.DefaultClient)
			defer ups.Close()
			uc, err := ups.conn(t.Context(), &store.MCPServer{ID: "raw", URL: srv.URL + "/mcp"}, "")
			if err != nil {
				t.Fatal(err)
			}
			if !uc.raw {
				t.Fatalf("%s: the raw relay is not used", version)
			}
			for _, c := range []struct{ tool, args string }{
				// (chatty's requests to the client need an event stream: not in JSON mode)
				{"text", `{"a":[1,2],"b":"<&>"}`}, {"text", ``}, {"mixed", `{}`}, {"protocol", `{}`}, {"chatty", `{}`}, {"nothing", `{}`},
				{"closing", `{}`}, // last: the SDK's client session is closed after it
			} {
				if c.tool == "chatty" && mode.jsonResponse {
					continue
				}
				raw, rawErr := uc.callToolRaw(t.Context(), c.tool, []byte(c.args))
				var got []byte
				if rawErr == nil {
					if _, got, _, rawErr = readToolResult(raw); rawErr != nil {
						t.Fatalf("%s: %v", c.tool, rawErr)
					}
				}
				res, sdkErr := uc.session.CallTool(t.Context(), &sdk.CallToolParams{Name: c.tool, Arguments: json.RawMessage(orEmptyObject([]byte(c.args)))})
				var rawJErr, sdkJErr *jsonrpc.Error
				if errors.As(rawErr, &rawJErr) != errors.As(sdkErr, &sdkJErr) || (rawErr == nil) != (sdkErr == nil) {
					t.Fatalf("%s: raw %v, SDK %v", c.tool, rawErr, sdkErr)
				}
				if rawJErr != nil {
					if rawJErr.Code != sdkJErr.Code || rawJErr.Message != sdkJErr.Message || string(rawJErr.Data) != string(sdkJErr.Data) {
						t.Errorf("%s: raw error %+v, SDK %+v", c.tool, rawJErr, sdkJErr)
					}
					continue
				}
				if rawErr != nil {
					continue // both failed as a transport or session failure
				}
				if res.Content == nil {
					res.Content = []sdk.Content{}
				}
				want, _ := json.Marshal(res)
				var a, b any
				if json.Unmarshal(got, &a) != nil || json.Unmarshal(want, &b) != nil || !reflect.DeepEqual(a, b) {
					t.Errorf("%s: raw %s, SDK %s", c.tool, got, want)
				}
				if c.tool == "chatty" && string(got) != `{"content":[{"type":"text","text":"0 roots"}]}` {
					t.Errorf("chatty: %s", got)
				}
			}
		})
	}
}
