package applib

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// matchString renders a lookup result compactly: "ChatGPT", "ChatGPT(support)", "Notion(shared)".
func matchString(ms []Match) string {
	var s []string
	for _, m := range ms {
		x := m.App.Name
		if m.Support {
			x += "(support)"
		}
		if m.Shared {
			x += "(shared)"
		}
		s = append(s, x)
	}
	return strings.Join(s, ",")
}

func TestLookup(t *testing.T) {
	c := mustDefault(t)
	tests := []struct {
		host string
		want string
	}{
		{"chatgpt.com", "ChatGPT"},
		{"www.chatgpt.com", "ChatGPT"},          // subdomain of a core hostname
		{"a.b.c.chat.openai.com", "ChatGPT"},    // deep subdomain
		{"sora.chatgpt.com", "Sora"},            // more specific core hostname wins
		{"CHATGPT.COM", "ChatGPT"},              // ASCII upper case is folded
		{"chatgpt.com.", "ChatGPT"},             // one trailing dot is tolerated
		{"chatgpt.com..", ""},                   // but not two
		{"notchatgpt.com", ""},                  // a suffix that is not a label boundary
		{"chatgpt.com.evil.example", ""},        // the name must end with the hostname
		{"auth.openai.com", "ChatGPT(support)"}, // support hostname flagged
		{"files.oaiusercontent.com", "ChatGPT(support),Sora(support)"},
		{"openai.com", ""},                                    // the vendor's site is not catalogued
		{"api.openai.com", "OpenAI API"},                      //
		{"us.api.openai.com", "OpenAI API"},                   // data-residency host is a subdomain
		{"www.notion.so", "Notion AI(shared),Notion(shared)"}, // overlapping: every app, by id
		{"notion.so", "Notion"},
		{"mcp.notion.com", "Notion MCP"},
		{"www.notion.com", "Notion"},
		{"grok.x.com", "Grok"},
		{"x.com", "X"},
		{"api.x.ai", "xAI API"},
		{"sydney.bing.com", "Microsoft Copilot(support)"}, // support hostname more specific than Bing
		{"www.bing.com", "Bing"},
		{"duckduckgo.com", "DuckDuckGo,Duck.ai(support)"}, // core first, then support
		{"login.microsoftonline.com", "Microsoft Entra ID,Microsoft 365 Copilot(support),Microsoft Teams(support),SharePoint(support),Outlook(support),Microsoft 365(support),Microsoft Azure(support)"},
		{"substrate.office.com", "Microsoft 365,Microsoft 365 Copilot(support)"},
		{"m365.cloud.microsoft", "Microsoft 365 Copilot"},
		{"teams.cloud.microsoft", "Microsoft Teams"},
		{"x.cloud.microsoft", "Microsoft 365"},
		{"myres.openai.azure.com", "Azure OpenAI"},
		{"api.individual.githubcopilot.com", "GitHub Copilot"},
		{"copilot-proxy.githubusercontent.com", "GitHub Copilot(support)"},
		{"raw.githubusercontent.com", "GitHub"},
		{"copilotprodattachments.blob.core.windows.net", "GitHub Copilot(support)"},
		{"acct.blob.core.windows.net", "Azure Blob Storage"},
		{"gemini.google.com", "Gemini"},
		{"accounts.google.com", "Google Account,Gemini(support),NotebookLM(support),Google Meet(support),Google Drive(support),Gmail(support),Google Workspace(support),Google Cloud(support)"},
		{"www.google.com", "Google Search"},
		{"google.com", ""},
		{"bedrock-runtime.us-east-1.amazonaws.com", "Amazon Bedrock"},
		{"amazonaws.com", ""},
		{"us-central1-aiplatform.googleapis.com", "Vertex AI"},
		{"a.b.c.d.e.f.copilotprodattachments.blob.core.windows.net", "GitHub Copilot(support)"}, // more labels than any catalogue hostname
		{"a.b.c.d.e.f.g.h.example", ""},
		{"", ""},
		{".", ""},
		{"com", ""},
		{"192.0.2.1", ""},
		{"[2001:db8::1]", ""},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			if got := matchString(c.Lookup(tt.host)); got != tt.want {
				t.Errorf("Lookup(%q) = %q, want %q", tt.host, got, tt.want)
			}
		})
	}
}

// naiveLookup is the reference implementation FuzzLookup compares with: among every catalogue
// hostname the host equals or is a subdomain of, the longest wins; the result is every
// application with that hostname, core before support, by id.
func naiveLookup(c *Catalog, host string) string {
	host = strings.TrimSuffix(host, ".")
	var lower []byte
	for i := 0; i < len(host); i++ {
		ch := host[i]
		if 'A' <= ch && ch <= 'Z' {
			ch += 32
		}
		lower = append(lower, ch)
	}
	host = string(lower)
	best := ""
	for _, a := range c.Apps() {
		for _, h := range slices.Concat(a.Hostnames, a.SupportHostnames) {
			if (host == h || strings.HasSuffix(host, "."+h)) && len(h) > len(best) {
				best = h
			}
		}
	}
	if best == "" {
		return ""
	}
	var core, support []string
	shared := 0
	for _, a := range c.Apps() {
		if slices.Contains(a.Hostnames, best) {
			shared++
		}
	}
	for _, a := range c.Apps() {
		if slices.Contains(a.Hostnames, best) {
			n := a.Name
			if shared > 1 {
				n += "(shared)"
			}
			core = append(core, n)
		}
		if slices.Contains(a.SupportHostnames, best) {
			support = append(support, a.Name+"(support)")
		}
	}
	return strings.Join(slices.Concat(core, support), ",")
}

func TestLookupAgreesWithNaive(t *testing.T) {
	c := mustDefault(t)
	for _, h := range c.Hostnames() {
		for _, host := range []string{h, "x." + h, strings.ToUpper(h) + ".", "x" + h} {
			if got, want := matchString(c.Lookup(host)), naiveLookup(c, host); got != want {
				t.Errorf("Lookup(%q) = %q, naive = %q", host, got, want)
			}
		}
	}
}

func FuzzLookup(f *testing.F) {
	c := mustDefault(f)
	for _, s := range []string{"chatgpt.com", "WWW.NOTION.SO.", "a.b.oaiusercontent.com", "..", ".com", "x", "sora.chatgpt.com", "\u212aimi.com", "claude.ai\x00", "a.b.c.d.e.f.copilotprodattachments.blob.core.windows.net", "x.y.z.alkalimakersuite-pa.clients6.google.com"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, host string) {
		got := matchString(c.Lookup(host))
		if want := naiveLookup(c, host); got != want {
			t.Fatalf("Lookup(%q) = %q, naive = %q", host, got, want)
		}
	})
}

func TestLookupDoesNotAllocate(t *testing.T) {
	c := mustDefault(t)
	for _, h := range []string{"chatgpt.com", "a.b.c.unknown.example", "files.oaiusercontent.com", "www.notion.so."} {
		if n := testing.AllocsPerRun(100, func() { c.Lookup(h) }); n != 0 {
			t.Errorf("Lookup(%q) allocates %.0f times", h, n)
		}
	}
}

var benchHosts = []string{
	"chatgpt.com", "www.google.com", "lh3.googleusercontent.com", "api.openai.com",
	"files.oaiusercontent.com", "a.b.c.d.unknown.example.org", "www.notion.so", "claude.ai",
	"bedrock-runtime.us-east-1.amazonaws.com", "cdn.jsdelivr.net", "login.microsoftonline.com",
	"copilot-proxy.githubusercontent.com", "x.com", "static.xx.fbcdn.net", "example.com",
	"api.individual.githubcopilot.com",
}

func BenchmarkLookup(b *testing.B) {
	c := mustDefault(b)
	b.ReportAllocs()
	n := 0
	for i := 0; b.Loop(); i++ {
		n += len(c.Lookup(benchHosts[i%len(benchHosts)]))
	}
	_ = fmt.Sprint(n)
}
