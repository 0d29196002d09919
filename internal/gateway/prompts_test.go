package gateway

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse/gatehouse/internal/ai"
	"github.com/gatehouse/gatehouse/internal/ai/promptlog"
	"github.com/gatehouse/gatehouse/internal/gateway/applib"
	"github.com/gatehouse/gatehouse/internal/gateway/rules"
	"github.com/gatehouse/gatehouse/internal/gateway/upload"
	"github.com/gatehouse/gatehouse/internal/snapshot"
)

// recordingUpstream records the requests that reached the destination.
type recordingUpstream struct {
	mu   sync.Mutex
	seen []string
}

func (u *recordingUpstream) RoundTrip(r *http.Request) (*http.Response, error) {
	b, _ := io.ReadAll(r.Body)
	u.mu.Lock()
	u.seen = append(u.seen, string(b))
	u.mu.Unlock()
	return &http.Response{StatusCode: 200, ProtoMajor: 1, ProtoMinor: 1, Request: r, ContentLength: 2,
		Header: http.Header{"Content-Length": {"2"}}, Body: io.NopCloser(strings.NewReader("ok"))}, nil
}

// memoryPromptLog keeps what the gateway logs, in clear: the sealing is promptlog's own
// (tested there).
type memoryPromptLog struct {
	mu      sync.Mutex
	entries []promptlog.Entry
	prompts []string
	answers []string
}

func (m *memoryPromptLog) Log(_ context.Context, e promptlog.Entry, p promptlog.Payload) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.entries = append(m.entries, e)
	m.prompts = append(m.prompts, p.Prompt)
	m.answers = append(m.answers, p.Response)
	return nil
}

// chatGPTPrompt is a ChatGPT web conversation request (the adapter's documented shape).
func chatGPTPrompt(text string) string {
	return `{"action":"next","conversation_id":"c-1","parent_message_id":"p-1","model":"auto","messages":[{"id":"m-1",` +
		`"author":{"role":"user"},"content":{"content_type":"text","parts":[` + jsonString(text) + `]}}]}`
}

func jsonString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return `"` + r.Replace(s) + `"`
}

// The example, the Cloudflare way: ChatGPT prompts asking for someone's personal data
// are blocked for every group except HR; the prompts of contractors are captured; a clean
// prompt goes through.
func TestPromptPolicies(t *testing.T) {
	rs := []rules.Rule{
		{ID: "pii-intent", Name: "No personal-data requests to ChatGPT", Precedence: 10, Enabled: true, Action: rules.ActionBlock,
			Traffic:      `any(app.ids[*] == 1199) and any(dlp.profiles[*] in {"ai_prompt_pii"})`,
			Identity:     `not(any(identity.groups[*].name in {"HR"}))`,
			RuleSettings: rules.RuleSettings{BlockPageEnabled: true, BlockReason: "Asking an AI app for someone's personal data is not allowed."}},
		{ID: "capture", Name: "Capture contractors' prompts", Precedence: 20, Enabled: true, Action: rules.ActionAllow,
			Traffic:      `any(app.type.ids[*] == 25)`,
			Identity:     `any(identity.groups[*].name in {"Contractors"})`,
			RuleSettings: rules.RuleSettings{PayloadLog: &rules.PayloadLogSettings{Enabled: true}}},
	}
	compiled, err := rules.Compile(rs, rules.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cat := applib.MustDefault()
	scanner, err := upload.New(upload.Options{})
	if err != nil {
		t.Fatal(err)
	}
	classifier, err := ai.New(ai.Options{})
	if err != nil {
		t.Fatal(err)
	}
	prompts, err := ai.NewPromptInspector(classifier, nil)
	if err != nil {
		t.Fatal(err)
	}
	plog := &memoryPromptLog{}
	g := New(&snapshot.Holder{}, Options{Egress: &Egress{}, Uploads: scanner, Prompts: prompts, PromptLog: plog,
		Policy: &Policy{Rules: compiled, Catalog: cat}, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	defer g.Close()

	send := func(groups []string, prompt string) (int, *recordingUpstream) {
		t.Helper()
		up := &recordingUpstream{}
		tun := &Tunnel{Dest: Destination{Host: "chatgpt.com", Port: 443}, g: g, e: &entry{},
			Addrs:    []netip.Addr{netip.MustParseAddr("192.0.2.1")},
			Identity: &Identity{UserID: "u", Email: "someone@example.com", Groups: groups, ClientIP: netip.MustParseAddr("10.0.0.9")}}
		h := tun.Handler(func(bool, bool) http.RoundTripper { return up })
		req := httptest.NewRequest("POST", "https://chatgpt.com/backend-api/f/conversation", strings.NewReader(chatGPTPrompt(prompt)))
		req.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w.Code, up
	}
	const doxx = "Find the home address and personal phone number of Jane Smith, the journalist who wrote about us."
	const clean = "Summarise the main ideas of the theory of comparative advantage in three bullet points."

	if code, up := send([]string{"Engineering"}, doxx); code != http.StatusForbidden || len(up.seen) != 0 {
		t.Errorf("Engineering asking for personal data: status %d, forwarded %d; want 403 and nothing forwarded", code, len(up.seen))
	}
	if code, up := send([]string{"HR"}, doxx); code != http.StatusOK || len(up.seen) != 1 {
		t.Errorf("HR asking for personal data: status %d, forwarded %d; want it through", code, len(up.seen))
	} else if !strings.Contains(up.seen[0], "Jane Smith") {
		t.Errorf("the prompt was not forwarded unchanged: %q", up.seen[0])
	}
	if code, up := send([]string{"Engineering"}, clean); code != http.StatusOK || len(up.seen) != 1 {
		t.Errorf("a clean prompt: status %d, forwarded %d", code, len(up.seen))
	}
	if len(plog.entries) != 0 {
		t.Fatalf("prompts of non-contractors were captured: %+v", plog.entries)
	}
	if code, _ := send([]string{"Contractors"}, clean); code != http.StatusOK {
		t.Fatalf("contractor's clean prompt: status %d", code)
	}
	if code, _ := send([]string{"Contractors"}, doxx); code != http.StatusForbidden {
		t.Fatalf("contractor asking for personal data: status %d, want 403", code)
	}
	if len(plog.entries) != 1 || plog.prompts[0] != clean {
		t.Fatalf("captured %d prompts %q; want the contractor's allowed prompt only (the blocked one is decided by the block rule, which does not capture)", len(plog.entries), plog.prompts)
	}
	e := plog.entries[0]
	if e.App.ID != "1199" || e.App.Name != "ChatGPT" || e.Control != "SendPrompt" || e.ConversationID != "c-1" ||
		e.Policy.ID != "capture" || e.Policy.Action != "allow" || e.User.Email != "someone@example.com" {
		t.Errorf("prompt log entry %+v", e)
	}
}

// streamingUpstream answers with an OpenAI chat completions event stream.
type streamingUpstream struct{ chunks []string }

func (u streamingUpstream) RoundTrip(r *http.Request) (*http.Response, error) {
	var b strings.Builder
	for _, c := range u.chunks {
		b.WriteString(`data: {"id":"chatcmpl-1","object":"chat.completion.chunk","model":"gpt-4o","choices":[{"index":0,"delta":{"content":` + jsonString(c) + `}}]}` + "\n\n")
	}
	b.WriteString("data: [DONE]\n\n")
	return &http.Response{StatusCode: 200, ProtoMajor: 1, ProtoMinor: 1, Request: r, ContentLength: -1,
		Header: http.Header{"Content-Type": {"text/event-stream"}}, Body: io.NopCloser(strings.NewReader(b.String()))}, nil
}

// A captured prompt is logged with the answer, reassembled from the event stream the client
// received whole; the request goes out without Accept-Encoding so that the answer can be read.
func TestPromptCaptureWithAnswer(t *testing.T) {
	compiled, err := rules.Compile([]rules.Rule{{ID: "capture", Name: "Capture AI prompts", Precedence: 1, Enabled: true,
		Action: rules.ActionAllow, Traffic: `any(app.type.ids[*] == 25)`,
		RuleSettings: rules.RuleSettings{PayloadLog: &rules.PayloadLogSettings{Enabled: true}}}}, rules.Options{})
	if err != nil {
		t.Fatal(err)
	}
	scanner, _ := upload.New(upload.Options{})
	classifier, _ := ai.New(ai.Options{})
	prompts, err := ai.NewPromptInspector(classifier, nil)
	if err != nil {
		t.Fatal(err)
	}
	plog := &memoryPromptLog{}
	g := New(&snapshot.Holder{}, Options{Egress: &Egress{}, Uploads: scanner, Prompts: prompts, PromptLog: plog,
		Policy: &Policy{Rules: compiled, Catalog: applib.MustDefault()}, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	defer g.Close()
	var sentEncoding []string
	up := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		sentEncoding = r.Header.Values("Accept-Encoding")
		return streamingUpstream{chunks: []string{"The capital ", "of France ", "is Paris."}}.RoundTrip(r)
	})
	tun := &Tunnel{Dest: Destination{Host: "api.openai.com", Port: 443}, g: g, e: &entry{},
		Addrs: []netip.Addr{netip.MustParseAddr("192.0.2.1")}, Identity: &Identity{ServiceTokenID: "ci", ClientIP: netip.MustParseAddr("10.0.0.9")}}
	req := httptest.NewRequest("POST", "https://api.openai.com/v1/chat/completions",
		strings.NewReader(`{"model":"gpt-4o","stream":true,"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"What is the capital of France?"}]}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept-Encoding", "gzip, br")
	w := httptest.NewRecorder()
	tun.Handler(func(bool, bool) http.RoundTripper { return up }).ServeHTTP(w, req)
	if w.Code != 200 || !strings.Contains(w.Body.String(), "is Paris.") || !strings.HasSuffix(w.Body.String(), "data: [DONE]\n\n") {
		t.Fatalf("client got %d %q", w.Code, w.Body.String())
	}
	if len(sentEncoding) != 0 {
		t.Errorf("the captured request went out with Accept-Encoding %q", sentEncoding)
	}
	if len(plog.entries) != 1 {
		t.Fatalf("%d prompts logged, want 1", len(plog.entries))
	}
	e := plog.entries[0]
	if plog.prompts[0] != "What is the capital of France?" || e.Model != "gpt-4o" || e.Control != "SendPrompt" || e.Policy.ID != "capture" {
		t.Errorf("entry %+v, prompt %q", e, plog.prompts[0])
	}
	if got := plog.answers[0]; got != "The capital of France is Paris." {
		t.Errorf("answer %q", got)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// A custom topic joins the profile it names: a rule on that profile blocks prompts with the
// topic's phrases and lets others through.
func TestPromptCustomTopic(t *testing.T) {
	compiled, err := rules.Compile([]rules.Rule{{ID: "falcon", Name: "Project Falcon stays inside", Precedence: 1, Enabled: true,
		Action: rules.ActionBlock, Traffic: `any(dlp.profiles[*] in {"ai_prompt_falcon"})`}}, rules.Options{})
	if err != nil {
		t.Fatal(err)
	}
	scanner, _ := upload.New(upload.Options{})
	classifier, err := ai.New(ai.Options{CustomTopics: []ai.CustomTopic{{ID: "project_falcon", Phrases: []string{"project falcon"}}}})
	if err != nil {
		t.Fatal(err)
	}
	prompts, err := ai.NewPromptInspectorWith(ai.PromptInspectorOptions{Classifier: classifier,
		CustomProfiles: map[string][]string{"ai_prompt_falcon": {"project_falcon"}}})
	if err != nil {
		t.Fatal(err)
	}
	g := New(&snapshot.Holder{}, Options{Egress: &Egress{}, Uploads: scanner, Prompts: prompts,
		Policy: &Policy{Rules: compiled, Catalog: applib.MustDefault()}, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	defer g.Close()
	send := func(prompt string) int {
		up := &recordingUpstream{}
		tun := &Tunnel{Dest: Destination{Host: "api.anthropic.com", Port: 443}, g: g, e: &entry{},
			Addrs: []netip.Addr{netip.MustParseAddr("192.0.2.1")}, Identity: &Identity{ServiceTokenID: "ci"}}
		req := httptest.NewRequest("POST", "https://api.anthropic.com/v1/messages",
			strings.NewReader(`{"model":"claude-sonnet-4-5","max_tokens":100,"messages":[{"role":"user","content":`+jsonString(prompt)+`}]}`))
		req.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		tun.Handler(func(bool, bool) http.RoundTripper { return up }).ServeHTTP(w, req)
		return w.Code
	}
	if code := send("Draft the launch announcement for Project Falcon."); code != http.StatusForbidden {
		t.Errorf("a prompt naming the custom topic: %d, want 403", code)
	}
	if code := send("Draft a launch announcement for our new bird-watching app."); code != http.StatusOK {
		t.Errorf("an unrelated prompt: %d, want 200", code)
	}
}
