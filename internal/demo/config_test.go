package demo

import (
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/store"
)

func TestAllow(t *testing.T) {
	var a Allow
	for _, v := range []string{"Me@Mine.Test", "@Corp.Test", "other.test", " you@x.test "} {
		if err := a.Add(v); err != nil {
			t.Fatalf("Add(%q): %v", v, err)
		}
	}
	if strings.Join(a.Emails, ",") != "me@mine.test,you@x.test" || strings.Join(a.Domains, ",") != "corp.test,other.test" {
		t.Errorf("Allow = %+v", a)
	}
	if got, want := a.Rule(), "addresses @example.com, @corp.test, @other.test, me@mine.test and you@x.test"; got != want {
		t.Errorf("Rule() = %q, want %q", got, want)
	}
	if got := (Allow{}).Rule(); got != "addresses @example.com" {
		t.Errorf("empty Rule() = %q", got)
	}
	for _, bad := range []string{"", "@", "a@b@c", "no spaces.test x", "user@", "exa mple.com", "-bad-.com"} {
		var b Allow
		if err := b.Add(bad); err == nil {
			t.Errorf("Add(%q) = nil, want an error (got %+v)", bad, b)
		}
	}

	// The configuration with them is valid and admits them.
	f, err := config.Parse([]byte(Options{DataDir: "/data", Listen: "127.0.0.1:8080", Allow: a}.Config()), "demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var include []store.Rule
	for _, p := range f.Policies {
		if p.ID == "example-com" {
			include = p.Include
		}
	}
	if len(include) != 5 || include[3].Email == nil || include[3].Email.Email != "me@mine.test" || include[1].EmailDomain.Domain != "corp.test" {
		t.Errorf("policy include = %+v", include)
	}
	if f.Applications[0].Upstream != store.UpstreamBuiltinDemo {
		t.Errorf("demo app upstream = %q, want the built-in origin", f.Applications[0].Upstream)
	}
}

// FuzzAllowAdd: whatever --allow is given, it is refused or yields a configuration that parses
// (nothing given on the command line can break the YAML).
func FuzzAllowAdd(f *testing.F) {
	for _, s := range []string{"me@mine.test", "@corp.test", "corp.test", "a\"b@c.test", "x: y", "é@bücher.de"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		var a Allow
		if err := a.Add(v); err != nil {
			return
		}
		if _, err := config.Parse([]byte(Options{DataDir: "/data", Listen: "127.0.0.1:8080", Allow: a}.Config()), "demo.yaml"); err != nil {
			t.Fatalf("--allow %q: the configuration does not parse: %v", v, err)
		}
	})
}

// TestGatewayConfig: with a gateway the demo's configuration is valid and has the gateway, the
// device-enrolment application for the demo's users, the CLI token and the demo rules.
func TestGatewayConfig(t *testing.T) {
	f, err := config.Parse([]byte(Options{DataDir: "/data", Listen: "127.0.0.1:8080", Gateway: "127.0.0.1:8081",
		TokenSecretFile: "/data/gateway-token.secret", PromptLogPublicKey: "bm90IGEga2V5IGJ1dCAzMiBieXRlcyBsb25nLi4uLi4="}.Config()), "demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if f.Listen.Gateway != "127.0.0.1:8081" || len(f.Gateway.Rules) != 4 || f.Gateway.AppReviews["DeepSeek"] != "unapproved" ||
		f.DLP.PayloadLog.PublicKey == "" {
		t.Errorf("gateway = %q, %+v", f.Listen.Gateway, f.Gateway)
	}
	var warp bool
	for _, a := range f.Applications {
		warp = warp || a.Type == store.AppWarp
	}
	if !warp || len(f.ServiceTokens) != 1 || f.ServiceTokens[0].ClientID != TokenClientID || f.ServiceTokens[0].ClientSecret.File != "/data/gateway-token.secret" {
		t.Errorf("warp app %v, service tokens %+v", warp, f.ServiceTokens)
	}
	// Without a gateway, none of it.
	f, err = config.Parse([]byte(Options{DataDir: "/data", Listen: "127.0.0.1:8080"}.Config()), "demo.yaml")
	if err != nil || f.Listen.Gateway != "" || len(f.ServiceTokens) != 0 || len(f.Gateway.Rules) != 0 {
		t.Errorf("without a gateway: %v %+v", err, f)
	}
}

// TestMCPConfig: with the demo MCP server the configuration is valid and registers it,
// approved, behind the portal MCPPortalID for the demo's service token with DLP; with or
// without the gateway.
func TestMCPConfig(t *testing.T) {
	for _, gateway := range []string{"", "127.0.0.1:8081"} {
		f, err := config.Parse([]byte(Options{DataDir: "/data", Listen: "127.0.0.1:8080", Gateway: gateway,
			TokenSecretFile: "/data/gateway-token.secret", MCPServerURL: "http://127.0.0.1:9999/mcp"}.Config()), "demo.yaml")
		if err != nil {
			t.Fatalf("gateway %q: %v", gateway, err)
		}
		if len(f.MCPServers) != 1 || f.MCPServers[0].ID != MCPServerID || f.MCPServers[0].URL != "http://127.0.0.1:9999/mcp" ||
			f.MCPServers[0].ReviewStatus != store.MCPReviewApproved {
			t.Errorf("gateway %q: servers %+v", gateway, f.MCPServers)
		}
		if len(f.MCPPortals) != 1 || f.MCPPortals[0].ID != MCPPortalID || f.MCPPortals[0].DLP == nil || len(f.MCPPortals[0].Policies) != 1 {
			t.Errorf("gateway %q: portals %+v", gateway, f.MCPPortals)
		}
		if len(f.ServiceTokens) != 1 || f.ServiceTokens[0].ClientID != TokenClientID {
			t.Errorf("gateway %q: service tokens %+v", gateway, f.ServiceTokens)
		}
	}
}
