package app_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/admin"
	"github.com/gatehouse/gatehouse/internal/ai/promptlog"
	"github.com/gatehouse/gatehouse/internal/dlp"
	"github.com/gatehouse/gatehouse/internal/testenv"
)

// TestPromptLogWriterInTheRunningGateway: with dlp.payload_log.public_key set, the running
// gateway has a prompt log writer; what it logs is listed by the admin API sealed (and opens
// with the private key), the process's log holds no prompt, and shutdown closes the writer.
func TestPromptLogWriterInTheRunningGateway(t *testing.T) {
	pub, priv, err := dlp.GenerateKeyPair()
	if err != nil {
		t.Fatal(err)
	}
	e := testenv.StartGateway(t, testenv.DefaultConfig+fmt.Sprintf(`dlp:
  payload_log: {public_key: %q}
gateway:
  prompt_logs: {retention: 48h}
`, base64.StdEncoding.EncodeToString(pub)))
	w := e.G.PromptLog
	if w == nil {
		t.Fatal("no prompt log writer although the key is set")
	}
	const canary = "CANARY-e2e-prompt-9f2c"
	entry := promptlog.Entry{RequestID: "req-e2e", User: promptlog.User{Email: "dana@example.com"}, ConversationID: "conv-e2e",
		App: promptlog.App{ID: "1199", Name: "ChatGPT"}, Policy: promptlog.Policy{Action: "allow"}}
	if err := w.Log(t.Context(), entry, promptlog.Payload{Prompt: canary, Response: canary}); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}

	_, token, err := (&admin.Service{Store: e.G.Store}).CreateAdminToken(t.Context(), admin.CLIActor, "e2e")
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, e.URL("auth.localhost", "/api/v1/gateway/prompt-logs?conversation_id=conv-e2e"), nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, body := e.NewBrowser().Do(t, req)
	if resp.StatusCode != http.StatusOK || strings.Contains(body, canary) {
		t.Fatalf("prompt logs: %d %s", resp.StatusCode, body)
	}
	var env struct {
		Result []promptlog.Entry `json:"result"`
	}
	if err := json.Unmarshal([]byte(body), &env); err != nil || len(env.Result) != 1 {
		t.Fatalf("prompt logs: %v %s", err, body)
	}
	if p, err := promptlog.Open(priv, env.Result[0].PayloadEnc); err != nil || p.Prompt != canary {
		t.Errorf("payload: %+v, %v", p, err)
	}

	e.Stop()
	if err := w.Log(t.Context(), entry, promptlog.Payload{Prompt: canary}); !errors.Is(err, promptlog.ErrClosed) {
		t.Errorf("Log after shutdown: %v, want ErrClosed", err)
	}
	if logs := e.Logs.String(); strings.Contains(logs, canary) || !strings.Contains(logs, "ai prompt log entries dropped") {
		t.Errorf("process log (want the drop line, no prompt):\n%s", logs)
	}
}

// TestNoPromptLogWriterWithoutKey: without dlp.payload_log.public_key nothing can be logged.
func TestNoPromptLogWriterWithoutKey(t *testing.T) {
	e := testenv.StartGateway(t, testenv.DefaultConfig)
	if e.G.PromptLog != nil {
		t.Error("a prompt log writer without a key")
	}
}
