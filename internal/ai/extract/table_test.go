package extract

import (
	"strings"
	"testing"
)

func TestDefaultTableLoads(t *testing.T) {
	tab, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	if len(tab.Adapters()) < 20 {
		t.Fatalf("%d adapters", len(tab.Adapters()))
	}
	for _, a := range tab.Adapters() {
		if a.Status == StatusReverseEngineered && a.App == 0 {
			t.Errorf("%s: a reverse-engineered web format belongs to one application", a.ID)
		}
	}
}

func TestTableMatch(t *testing.T) {
	tab := MustDefault()
	for _, tc := range []struct {
		method, host, path, want string
		caps                     map[string]string
	}{
		{"POST", "api.openai.com", "/v1/chat/completions", "openai-chat", nil},
		{"POST", "eu.api.openai.com", "/v1/chat/completions", "openai-chat", nil}, // subdomain
		{"POST", "vllm.internal", "/v1/chat/completions", "openai-compatible-chat", nil},
		{"POST", "generativelanguage.googleapis.com", "/v1beta/models/gemini-2.5-pro:streamGenerateContent", "gemini-generate", map[string]string{"api": "v1beta", "model": "gemini-2.5-pro"}},
		{"POST", "europe-west4-aiplatform.googleapis.com", "/v1/projects/p/locations/europe-west4/publishers/google/models/gemini-2.0-flash:generateContent", "vertex-generate", map[string]string{"api": "v1", "model": "gemini-2.0-flash"}},
		{"POST", "bedrock-runtime.eu-west-1.amazonaws.com", "/model/amazon.nova-pro-v1:0/converse", "bedrock-converse", map[string]string{"model": "amazon.nova-pro-v1:0"}},
		{"POST", "claude.ai", "/api/organizations/o1/chat_conversations/c1/completion", "claude-web", map[string]string{"org": "o1", "conversation": "c1"}},
		{"POST", "gemini.google.com", "/u/1/_/BardChatUi/data/assistant.lamda.BardFrontendService/StreamGenerate", "gemini-web", nil},
		{"PUT", "sdmntprwestus.oaiusercontent.com", "/files/x/raw", "chatgpt-blob-upload", nil},
		{"GET", "chatgpt.com", "/backend-api/f/conversation", "", nil},       // wrong method
		{"POST", "chatgpt.com", "/backend-api/me", "", nil},                  // known host, not a target
		{"POST", "s3.amazonaws.com", "/model/x/converse", "", nil},           // not bedrock-runtime
		{"POST", "evil-chatgpt.com", "/backend-api/f/conversation", "", nil}, // not a subdomain
	} {
		m, ok := tab.Match(tc.method, tc.host, tc.path)
		got := ""
		if ok {
			got = m.Adapter.ID
		}
		if got != tc.want {
			t.Errorf("%s %s%s matched %q, want %q", tc.method, tc.host, tc.path, got, tc.want)
			continue
		}
		for k, v := range tc.caps {
			if m.Captures[k] != v {
				t.Errorf("%s: capture %s = %q, want %q", tc.path, k, m.Captures[k], v)
			}
		}
	}
	if !tab.KnownHost("chatgpt.com") || tab.KnownHost("example.com") {
		t.Error("KnownHost")
	}
}

func TestParseTableRejects(t *testing.T) {
	base := "adapters:\n  - {id: a, app: 1, version: 1, status: documented, method: POST, paths: [/x], control: prompt, request: {body: json}, response: {framings: [sse]}}\n"
	if _, err := ParseTable([]byte(base)); err != nil {
		t.Fatalf("base table: %v", err)
	}
	for name, tc := range map[string]struct{ from, to, want string }{
		"status":      {"status: documented", "status: guessed", "status"},
		"version":     {"version: 1", "version: 0", "version"},
		"control":     {"control: prompt", "control: chat", "control"},
		"path":        {"paths: [/x]", "paths: [x]", "must start with /"},
		"double star": {"paths: [/x]", "paths: [/**/x]", "**"},
		"body":        {"body: json", "body: xml", "body"},
		"framing":     {"framings: [sse]", "framings: [websocket]", "framing"},
		"field":       {"method: POST", "method: POST, colour: red", "colour"},
		"field path":  {"body: json}", "body: json, model: [\"$.a[\"]}", "unclosed"},
	} {
		_, err := ParseTable([]byte(strings.Replace(base, tc.from, tc.to, 1)))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error mentioning %q", name, err, tc.want)
		}
	}
	if _, err := ParseTable([]byte(base + strings.TrimPrefix(base, "adapters:\n"))); err == nil || !strings.Contains(err.Error(), "duplicate") {
		t.Errorf("duplicate id: %v", err)
	}
}
