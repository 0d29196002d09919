package applib

import (
	"slices"
	"strings"
	"testing"
)

// TestControlsFor checks the documented endpoints of ai-apps.md §2–§3 against the catalogue.
func TestControlsFor(t *testing.T) {
	c := mustDefault(t)
	tests := []struct {
		app, method, host, path string
		want                    string
	}{
		// ChatGPT §3.1
		{"ChatGPT", "POST", "chatgpt.com", "/backend-api/f/conversation", "prompt"},
		{"ChatGPT", "POST", "chatgpt.com", "/backend-api/conversation", "prompt"},
		{"ChatGPT", "POST", "chat.openai.com", "/backend-api/f/conversation", "prompt"},
		{"ChatGPT", "GET", "chatgpt.com", "/backend-api/f/conversation", ""},
		{"ChatGPT", "POST", "chatgpt.com", "/backend-api/f/conversation/prepare", ""},
		{"ChatGPT", "POST", "chatgpt.com", "/backend-anon/f/conversation", "prompt,anonymous"},
		{"ChatGPT", "GET", "chatgpt.com", "/backend-anon/models", "anonymous"},
		{"ChatGPT", "POST", "chatgpt.com", "/backend-api/files", "upload"},
		{"ChatGPT", "POST", "chatgpt.com", "/backend-api/files/file-abc123/uploaded", "upload"},
		{"ChatGPT", "POST", "chatgpt.com", "/backend-api/files/process_upload_stream", "upload"},
		{"ChatGPT", "PUT", "files.oaiusercontent.com", "/file-abc", "upload"},
		{"ChatGPT", "POST", "auth.openai.com", "/api/accounts/login", "login"},
		{"ChatGPT", "POST", "evil.example", "/backend-api/f/conversation", ""}, // not the app's host
		{"ChatGPT", "POST", "chatgpt.com", "/Backend-api/f/conversation", ""},  // paths are case-sensitive
		// OpenAI API §2.1–§2.3, §3.10
		{"OpenAI API", "POST", "api.openai.com", "/v1/chat/completions", "prompt"},
		{"OpenAI API", "POST", "api.openai.com", "/v1/responses", "prompt"},
		{"OpenAI API", "POST", "api.openai.com", "/v1/threads/thread_1/messages", "prompt"},
		{"OpenAI API", "POST", "api.openai.com", "/v1/files", "upload"},
		{"OpenAI API", "POST", "api.openai.com", "/v1/uploads/upload_1/parts", "upload"},
		{"OpenAI API", "POST", "api.openai.com", "/v1/vector_stores/vs_1/files", "upload"},
		{"OpenAI API", "GET", "api.openai.com", "/v1/models", ""},
		// Claude §3.2
		{"Claude", "POST", "claude.ai", "/api/organizations/0d1c/chat_conversations/9f2e/completion", "prompt"},
		{"Claude", "POST", "claude.ai", "/api/organizations/0d1c/chat_conversations/9f2e/retry_completion", "prompt"},
		{"Claude", "POST", "claude.ai", "/api/organizations/0d1c/chat_conversations", ""},
		{"Claude", "POST", "claude.ai", "/api/organizations/0d1c/conversations/9f2e/wiggle/upload-file", "upload"},
		{"Claude", "POST", "claude.ai", "/api/0d1c/upload", "upload"},
		{"Claude", "POST", "claude.ai", "/api/convert_document", "upload"},
		{"Anthropic API", "POST", "api.anthropic.com", "/v1/messages", "prompt"},
		{"Anthropic API", "POST", "api.anthropic.com", "/v1/files", "upload"},
		{"Anthropic API", "POST", "api.anthropic.com", "/v1/messages/count_tokens", ""},
		// Gemini §3.3, §2.5
		{"Gemini", "POST", "gemini.google.com", "/_/BardChatUi/data/assistant.lamda.BardFrontendService/StreamGenerate", "prompt"},
		{"Gemini", "POST", "gemini.google.com", "/u/1/_/BardChatUi/data/assistant.lamda.BardFrontendService/StreamGenerate", "prompt"},
		{"Gemini", "POST", "gemini.google.com", "/_/BardChatUi/data/batchexecute", ""},
		{"Gemini", "POST", "content-push.googleapis.com", "/upload/", "upload"},
		{"Gemini API", "POST", "generativelanguage.googleapis.com", "/v1beta/models/gemini-2.5-pro:generateContent", "prompt"},
		{"Gemini API", "POST", "generativelanguage.googleapis.com", "/v1beta/models/gemini-2.5-pro:streamGenerateContent", "prompt"},
		{"Gemini API", "POST", "generativelanguage.googleapis.com", "/upload/v1beta/files", "upload"},
		{"Gemini API", "GET", "generativelanguage.googleapis.com", "/v1beta/models", ""},
		{"Vertex AI", "POST", "us-central1-aiplatform.googleapis.com", "/v1/projects/p/locations/us-central1/publishers/google/models/gemini-2.5-pro:generateContent", "prompt"},
		{"Vertex AI", "POST", "europe-west4-aiplatform.googleapis.com", "/v1/projects/p/locations/europe-west4/publishers/anthropic/models/claude:streamRawPredict", "prompt"},
		// Copilot §3.5
		{"Microsoft Copilot", "GET", "copilot.microsoft.com", "/c/api/chat", "prompt"},
		{"Microsoft Copilot", "POST", "copilot.microsoft.com", "/c/api/attachments", "upload"},
		{"Microsoft 365 Copilot", "POST", "substrate.office.com", "/m365Copilot/UploadFile", "upload"},
		{"Microsoft 365 Copilot", "GET", "substrate.office.com", "/m365Copilot/Chathub/oid@tid", "prompt"},
		{"GitHub Copilot", "POST", "api.githubcopilot.com", "/chat/completions", "prompt"},
		{"GitHub Copilot", "POST", "api.business.githubcopilot.com", "/chat/completions", "prompt"},
		{"GitHub Copilot", "POST", "api.individual.githubcopilot.com", "/github/chat/threads/t1/messages", "prompt"},
		{"GitHub Copilot", "POST", "api.githubcopilot.com", "/mcp/", "mcp"},
		{"GitHub Copilot", "PUT", "copilotprodattachments.blob.core.windows.net", "/c/blob", "upload"},
		// Perplexity §3.4
		{"Perplexity", "POST", "www.perplexity.ai", "/rest/sse/perplexity_ask", "prompt"},
		{"Perplexity", "POST", "www.perplexity.ai", "/rest/uploads/batch_create_upload_urls", "upload"},
		{"Perplexity", "PUT", "ppl-ai-file-upload.s3.amazonaws.com", "/web/direct-files/x.pdf", "upload"},
		{"Perplexity API", "POST", "api.perplexity.ai", "/chat/completions", "prompt"},
		// DeepSeek §3.6, others §3.7–§3.9
		{"DeepSeek", "POST", "chat.deepseek.com", "/api/v0/chat/completion", "prompt"},
		{"DeepSeek", "POST", "chat.deepseek.com", "/api/v0/file/upload_file", "upload"},
		{"DeepSeek", "POST", "chat.deepseek.com", "/api/v0/chat_session/create", ""},
		{"Le Chat", "POST", "chat.mistral.ai", "/api/chat", "prompt"},
		{"Grok", "POST", "grok.com", "/rest/app-chat/conversations/c1/responses", "prompt"},
		{"Qwen Chat", "POST", "chat.qwen.ai", "/api/v2/chat/completions", "prompt"},
		{"Poe", "POST", "poe.com", "/api/gql_upload_POST", "upload"},
		{"Notion AI", "POST", "www.notion.so", "/api/v3/runInferenceTranscript", "prompt"},
		{"Notion", "POST", "www.notion.so", "/api/v3/runInferenceTranscript", ""},
		{"Cursor", "POST", "api2.cursor.sh", "/aiserver.v1.AiService/StreamChat", "prompt"},
		{"Cursor", "POST", "api2.cursor.sh", "/aiserver.v1.DashboardService/GetTeams", ""},
		{"Windsurf", "POST", "server.codeium.com", "/exa.language_server_pb.LanguageServerService/GetChatMessage", "prompt"},
		{"Amazon Bedrock", "POST", "bedrock-runtime.us-east-1.amazonaws.com", "/model/anthropic.claude-v2/converse-stream", "prompt"},
		{"Azure OpenAI", "POST", "myres.openai.azure.com", "/openai/deployments/gpt4/chat/completions", "prompt"},
		{"Hugging Face", "POST", "router.huggingface.co", "/v1/chat/completions", "prompt"},
		{"Notion MCP", "POST", "mcp.notion.com", "/mcp", "mcp"},
	}
	for _, tt := range tests {
		t.Run(tt.app+" "+tt.method+" "+tt.host+tt.path, func(t *testing.T) {
			app := c.AppByName(tt.app)
			if app == nil {
				t.Fatalf("no app %q", tt.app)
			}
			got := strings.Join(c.ControlsFor(app, tt.method, tt.host, tt.path), ",")
			if got != tt.want {
				t.Errorf("ControlsFor = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestControlIDs(t *testing.T) {
	c := mustDefault(t)
	chatgpt := c.App(1199)
	if chatgpt == nil || chatgpt.Name != "ChatGPT" {
		t.Fatalf("app 1199 = %+v, want ChatGPT (Cloudflare's id)", chatgpt)
	}
	ids := chatgpt.AppendControlIDs(nil, "POST", "chatgpt.com", "/backend-api/files")
	if !slices.Equal(ids, []int{1653}) {
		t.Errorf("ChatGPT upload control ids = %v, want [1653] (Cloudflare's)", ids)
	}
	claude := c.AppByName("claude")
	ids = claude.AppendControlIDs(nil, "POST", "claude.ai", "/api/organizations/o/chat_conversations/c/completion")
	if want := []int{claude.ID*100 + ControlOrdinal("prompt")}; !slices.Equal(ids, want) {
		t.Errorf("Claude prompt control ids = %v, want %v", ids, want)
	}
	if app, ct := c.Control(1653); app != chatgpt || ct == nil || ct.Name != "upload" {
		t.Errorf("Control(1653) = %v, %v; want ChatGPT's upload", app, ct)
	}
	if app, ct := c.Control(claude.ID*100 + 1); app != claude || ct.Name != "prompt" {
		t.Errorf("Control(%d) = %v, %v; want Claude's prompt", claude.ID*100+1, app, ct)
	}
	if app, ct := c.Control(42); app != nil || ct != nil {
		t.Errorf("Control(42) = %v, %v; want nothing", app, ct)
	}
	buf := make([]int, 0, 4)
	if n := testing.AllocsPerRun(100, func() {
		buf = chatgpt.AppendControlIDs(buf[:0], "POST", "chatgpt.com", "/backend-api/f/conversation")
	}); n != 0 {
		t.Errorf("AppendControlIDs allocates %.0f times", n)
	}
}

func TestMatchPath(t *testing.T) {
	tests := []struct {
		pattern, path string
		want          bool
	}{
		{"/", "/", true},
		{"/a", "/a", true},
		{"/a", "/a/", false},
		{"/a", "/ab", false},
		{"/a/*", "/a/x", true},
		{"/a/*", "/a/", true}, // * matches an empty segment
		{"/a/*", "/a/x/y", false},
		{"/a/*/c", "/a/x/c", true},
		{"/a/**", "/a", true},
		{"/a/**", "/a/", true},
		{"/a/**", "/a/x/y/z", true},
		{"/a/**", "/ab", false},
		{"/**", "/", true},
		{"/**", "/anything/at/all", true},
		{"/m/*:gen", "/m/gemini:gen", true},
		{"/m/*:gen", "/m/gemini:generate", false},
		{"/x.*/*Chat*", "/x.AiService/StreamChat", true},
		{"/x.*/*Chat*", "/x.AiService/Chats", true},
		{"/x.*/*Chat*", "/y.AiService/StreamChat", false},
		{"/a*b*c", "/aXbYbZc", true},
		{"/a*b*c", "/aXbYbZ", false},
		{"/a", "", false},
		{"/a", "a", false},
	}
	for _, tt := range tests {
		if got := matchPath(tt.pattern, tt.path); got != tt.want {
			t.Errorf("matchPath(%q, %q) = %v, want %v", tt.pattern, tt.path, got, tt.want)
		}
	}
}

// FuzzMatchPath compares the allocation-free matcher with path.Match-like segment matching
// built from the standard library.
func FuzzMatchPath(f *testing.F) {
	f.Add("/a/*/c", "/a/b/c")
	f.Add("/a/**", "/a/b/c")
	f.Add("/m/*:gen*", "/m/x:generate")
	f.Add("/**", "")
	f.Add("/a/**", "/a")
	f.Fuzz(func(t *testing.T, pattern, path string) {
		if validatePathPattern(pattern) != nil || strings.ContainsAny(pattern, `?[\`) {
			return
		}
		if got, want := matchPath(pattern, path), refMatchPath(pattern, path); got != want {
			t.Fatalf("matchPath(%q, %q) = %v, reference %v", pattern, path, got, want)
		}
	})
}

func refMatchPath(pattern, p string) bool {
	if !strings.HasPrefix(p, "/") {
		return false
	}
	ps := strings.Split(pattern[1:], "/")
	ss := strings.Split(p[1:], "/")
	if ps[len(ps)-1] == "**" {
		prefix := ps[:len(ps)-1]
		// "/a/**" also matches "/a" itself.
		if len(ss) == len(prefix) || len(ss) > len(prefix) {
			return refSegs(prefix, ss[:len(prefix)])
		}
		return false
	}
	return len(ps) == len(ss) && refSegs(ps, ss)
}

func refSegs(ps, ss []string) bool {
	for i := range ps {
		if ok, _ := pathMatch(ps[i], ss[i]); !ok {
			return false
		}
	}
	return true
}

// TestControlHostsLookUpToTheirApp: a control is only ever consulted for a request the lookup
// attributes to its application, so every host a control names (or, for matchers without a
// host, every core hostname) must look up to that application.
func TestControlHostsLookUpToTheirApp(t *testing.T) {
	c := mustDefault(t)
	for _, a := range c.Apps() {
		for _, ct := range a.Controls {
			for _, m := range ct.Matchers {
				hosts := a.Hostnames
				if m.Host != "" {
					hosts = []string{m.Host}
				}
				for _, h := range hosts {
					found := false
					for _, mt := range c.Lookup(h) {
						found = found || mt.App == a
					}
					if !found {
						t.Errorf("%s control %s: host %q looks up to %q, not to the application", a.Name, ct.Name, h, matchString(c.Lookup(h)))
					}
				}
			}
		}
	}
}

// TestTenantPresetHosts: every host a tenant-control preset injects on is a well-formed name,
// and presets tied to an application cover one of its hostnames.
func TestTenantPresetHosts(t *testing.T) {
	c := mustDefault(t)
	for _, p := range c.TenantPresets() {
		if p.App == "" {
			continue
		}
		app := c.AppByName(p.App)
		ok := false
		for _, h := range p.Hosts {
			for _, m := range c.Lookup(h) {
				ok = ok || m.App == app
			}
		}
		if !ok {
			t.Errorf("preset %s: none of %v belongs to %s", p.Key, p.Hosts, p.App)
		}
		if !slices.Contains(app.TenantControls, p.Key) {
			t.Errorf("preset %s is for %s, which does not list it in tenant_controls", p.Key, p.App)
		}
	}
}
