package main

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const aiFixtures = "../../internal/ai/extract/testdata"

func aiExtractJSON(t *testing.T, args ...string) (map[string]any, error) {
	t.Helper()
	out, stderr, err := run(t, append([]string{"ai", "extract"}, args...)...)
	var v map[string]any
	if jerr := json.Unmarshal([]byte(out), &v); jerr != nil && err == nil {
		t.Fatalf("ai extract %v printed no JSON: %v\n%s%s", args, jerr, out, stderr)
	}
	return v, err
}

func field(v map[string]any, path ...string) any {
	var cur any = v
	for _, p := range path {
		m, _ := cur.(map[string]any)
		cur = m[p]
	}
	return cur
}

// TestAIExtractRequestCapture: an HTTP request capture finds its adapter by host and path.
func TestAIExtractRequestCapture(t *testing.T) {
	v, err := aiExtractJSON(t, filepath.Join(aiFixtures, "claude-web", "request.http"))
	if err != nil {
		t.Fatal(err)
	}
	if field(v, "adapter") != "claude-web" || field(v, "app_name") != "Claude" || field(v, "status") != "reverse-engineered" {
		t.Errorf("identification: %v", v)
	}
	if field(v, "request", "prompt") != "Fix the bug in the attached file" || field(v, "request", "conversation_id") != "5f3a0000-0000-4000-8000-0000000000bb" {
		t.Errorf("request: %v", field(v, "request"))
	}
	// --app that disagrees with the URL is refused.
	if _, err := aiExtractJSON(t, "--app", "ChatGPT", filepath.Join(aiFixtures, "claude-web", "request.http")); err == nil || !strings.Contains(err.Error(), "not one of --app") {
		t.Errorf("mismatched --app: %v", err)
	}
}

// TestAIExtractResponseCapture: a response needs --app; the framing comes from Content-Type.
func TestAIExtractResponseCapture(t *testing.T) {
	f := filepath.Join(aiFixtures, "gemini-generate", "stream-array.http")
	if _, err := aiExtractJSON(t, f); err == nil || !strings.Contains(err.Error(), "--app is required") {
		t.Errorf("response without --app: %v", err)
	}
	for _, app := range []string{"90006", "Gemini API", "gemini-generate"} {
		v, err := aiExtractJSON(t, "--app", app, f)
		if err != nil {
			t.Fatalf("--app %s: %v", app, err)
		}
		if field(v, "kind") != "response" || field(v, "response", "text") != "A red bicycle." || field(v, "response", "complete") != true {
			t.Errorf("--app %s: %v", app, v)
		}
	}
}

// TestAIExtractBareBody: a bare body with --path and --content-type, as a request and as a
// response; a body of the wrong shape exits 1 with the reason.
func TestAIExtractBareBody(t *testing.T) {
	dir := t.TempDir()
	body := filepath.Join(dir, "body.json")
	if err := os.WriteFile(body, []byte(`{"model":"gpt-4o","messages":[{"role":"user","content":"hello there"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	v, err := aiExtractJSON(t, "--app", "OpenAI API", "--path", "/v1/chat/completions", body)
	if err != nil || field(v, "adapter") != "openai-chat" || field(v, "request", "prompt") != "hello there" {
		t.Fatalf("bare request: %v %v", err, v)
	}
	if _, err := aiExtractJSON(t, "--app", "OpenAI API", "--path", "/v1/embeddings", body); err == nil || !strings.Contains(err.Error(), "recognises the path") {
		t.Errorf("unknown path: %v", err)
	}

	sse := filepath.Join(dir, "sse.txt")
	if err := os.WriteFile(sse, []byte("data: {\"choices\":[{\"delta\":{\"content\":\"hi\"}}]}\n\ndata: [DONE]\n\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	v, err = aiExtractJSON(t, "--app", "openai-compatible-chat", "--response", "--content-type", "text/event-stream", sse)
	if err != nil || field(v, "response", "text") != "hi" || field(v, "app_name") != nil {
		t.Fatalf("bare response: %v %v", err, v)
	}

	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"action":"next","turns":[]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	v, err = aiExtractJSON(t, "--app", "1199", "--path", "/backend-api/f/conversation", bad)
	var ee exitError
	if !errors.As(err, &ee) || ee != 1 {
		t.Fatalf("unparsed body: err %v, want exit status 1", err)
	}
	if reason, _ := field(v, "request", "unparsed", "reason").(string); !strings.Contains(reason, "messages") {
		t.Errorf("unparsed reason: %v", v)
	}
}

// TestAIExtractList lists every adapter with version and status.
func TestAIExtractList(t *testing.T) {
	out, _, err := run(t, "ai", "extract", "--list")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"ADAPTER", "chatgpt-web", "reverse-engineered", "ChatGPT (1199)", "openai-compatible-chat", "any host", "bedrock-converse"} {
		if !strings.Contains(out, want) {
			t.Errorf("--list lacks %q:\n%s", want, out)
		}
	}
	js, _, err := run(t, "ai", "extract", "--list", "--json")
	var list []map[string]any
	if err != nil || json.Unmarshal([]byte(js), &list) != nil || len(list) < 20 {
		t.Fatalf("--list --json: %v, %d adapters", err, len(list))
	}
	f := filepath.Join(aiFixtures, "openai-chat", "stream.http")
	if _, _, err := run(t, "ai", "extract", "--app", "Nope", f); err == nil || !strings.Contains(err.Error(), "no adapter id, application id or application name") {
		t.Errorf("unknown --app: %v", err)
	}
	if _, _, err := run(t, "ai", "extract", "--app", "Sora", f); err == nil || !strings.Contains(err.Error(), "no adapter for application") {
		t.Errorf("--app without adapters: %v", err)
	}
}
