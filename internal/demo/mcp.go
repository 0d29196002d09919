package demo

import (
	"context"
	"net/http"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
)

// The demo's MCP server and portal.
const (
	// MCPServerID is the demo MCP server's id: its tools are shown as demo_<tool>.
	MCPServerID = "demo"
	// MCPPortalID is the demo portal's id (an application id: not "demo", the demo app's).
	MCPPortalID = "demo-mcp"
	// FakeCredential is what the demo's fake_credential tool returns: a made-up AWS key pair
	// of the right shape, which the credentials DLP profile finds (it does not report AWS's
	// published example key, AKIAIOSFODNN7EXAMPLE).
	FakeCredential = "aws_access_key_id = AKIAZ7Q3K5N2R4T6W8Y1\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEZ"
)

type echoInput struct {
	Text string `json:"text" jsonschema:"the text to echo"`
}

// MCPServer returns the demo MCP server (the official Go SDK): three harmless tools,
// time_now, echo, and fake_credential, whose result the portal's DLP blocks.
func MCPServer(now func() time.Time) *sdk.Server {
	if now == nil {
		now = time.Now
	}
	s := sdk.NewServer(&sdk.Implementation{Name: "gatehouse-demo-tools", Version: "1"}, nil)
	text := func(s string) (*sdk.CallToolResult, any, error) {
		return &sdk.CallToolResult{Content: []sdk.Content{&sdk.TextContent{Text: s}}}, nil, nil
	}
	sdk.AddTool(s, &sdk.Tool{Name: "time_now", Description: "Returns the current time (UTC, RFC 3339)."},
		func(context.Context, *sdk.CallToolRequest, struct{}) (*sdk.CallToolResult, any, error) {
			return text(now().UTC().Format(time.RFC3339))
		})
	sdk.AddTool(s, &sdk.Tool{Name: "echo", Description: "Returns the text it is given."},
		func(_ context.Context, _ *sdk.CallToolRequest, in echoInput) (*sdk.CallToolResult, any, error) {
			return text(in.Text)
		})
	sdk.AddTool(s, &sdk.Tool{Name: "fake_credential", Description: "Returns a (fake) cloud credential: the portal's DLP blocks the result."},
		func(context.Context, *sdk.CallToolRequest, struct{}) (*sdk.CallToolResult, any, error) {
			return text(FakeCredential)
		})
	return s
}

// MCPHandler serves the demo MCP server over Streamable HTTP, statelessly, at any path.
func MCPHandler(now func() time.Time) http.Handler {
	s := MCPServer(now)
	return sdk.NewStreamableHTTPHandler(func(*http.Request) *sdk.Server { return s }, &sdk.StreamableHTTPOptions{Stateless: true})
}

// mcpTokenPolicy admits the demo's service token (the portal's policy).
const mcpTokenPolicy = `  - id: demo-token
    name: The demo's service token
    decision: non_identity
    include: [{service_token: {token_id: demo-cli}}]
`

// mcpConfig registers the demo MCP server at url, approved, and the portal that exposes it
// to the demo's service token, with the credentials DLP profile on its tool traffic.
func mcpConfig(url string) string {
	return `# The demo MCP server runs only while "gatehouse demo" does: a copy of this file served on its
# own logs that the server's sync failed (remove mcp_servers and mcp_portals, or register yours).
mcp_servers:
  - id: ` + MCPServerID + `
    name: Demo tools
    url: "` + url + `"
    review_status: approved
mcp_portals:
  - id: ` + MCPPortalID + `
    name: Demo MCP portal
    servers: [{server_id: ` + MCPServerID + `}]
    policies: [{ref: demo-token, precedence: 1}]
    dlp: {profiles: [credentials_and_secrets], action: block}
    prompt_injection: block
`
}
