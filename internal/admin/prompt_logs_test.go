package admin_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/admin"
	"github.com/gatehouse/gatehouse/internal/ai/promptlog"
	"github.com/gatehouse/gatehouse/internal/dlp"
	"github.com/gatehouse/gatehouse/internal/store"
)

func TestGatewayPromptLogs(t *testing.T) {
	f := newFixture(t)
	pub, priv, err := dlp.GenerateKeyPair()
	if err != nil {
		t.Fatal(err)
	}
	w, err := promptlog.New(promptlog.Options{Store: f.st, PublicKey: pub, Now: func() time.Time { return f.clockNow }})
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range []struct {
		conv, user, app string
		ago             time.Duration
	}{
		{"c1", "alice@example.com", "ChatGPT", 3 * time.Hour},
		{"c1", "alice@example.com", "ChatGPT", 2 * time.Hour},
		{"c2", "bob@example.com", "Claude", time.Hour},
	} {
		entry := promptlog.Entry{Time: f.clockNow.Add(-e.ago), RequestID: string(rune('a' + i)), ConversationID: e.conv,
			User: promptlog.User{Email: e.user}, App: promptlog.App{ID: "1", Name: e.app}, Policy: promptlog.Policy{Action: "allow"}}
		if err := w.Log(t.Context(), entry, promptlog.Payload{Prompt: "PROMPT-SECRET-" + e.conv, Response: "RESPONSE-SECRET"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(t.Context()); err != nil {
		t.Fatal(err)
	}

	var all []promptlog.Entry
	env := f.ok(t, http.MethodGet, "/api/v1/gateway/prompt-logs", &all)
	if len(all) != 3 || all[0].ConversationID != "c2" || env.ResultInfo == nil || env.ResultInfo.Count != 3 || env.ResultInfo.Cursor != "" {
		t.Fatalf("all: %+v, info %+v", all, env.ResultInfo)
	}
	if strings.Contains(string(env.Result), "SECRET") {
		t.Fatalf("the API answered plaintext: %s", env.Result)
	}
	var raw []map[string]any
	_ = json.Unmarshal(env.Result, &raw)
	enc, _ := raw[0]["payload_enc"].(string)
	blob, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		t.Fatalf("payload_enc is not base64: %q", enc)
	}
	if p, err := promptlog.Open(priv, blob); err != nil || p.Prompt != "PROMPT-SECRET-c2" {
		t.Errorf("payload_enc opens to %+v, %v", p, err)
	}
	for _, k := range []string{"ts", "request_id", "user", "device_id", "src_ip", "app", "control", "conversation_id", "model", "policy", "dlp", "topics", "bytes_up", "payload_enc"} {
		if _, ok := raw[0][k]; !ok {
			t.Errorf("entry has no %q: %v", k, raw[0])
		}
	}

	for q, want := range map[string]int{
		"?conversation_id=c1":            2,
		"?user=ALICE@example.com":        2,
		"?app=Claude":                    1,
		"?since=90m":                     1,
		"?until=150m":                    1,
		"?since=1d&user=bob@example.com": 1,
		"?conversation_id=none":          0,
	} {
		var got []promptlog.Entry
		f.ok(t, http.MethodGet, "/api/v1/gateway/prompt-logs"+q, &got)
		if len(got) != want {
			t.Errorf("%s: %d entries, want %d", q, len(got), want)
		}
	}

	// Paging by cursor.
	var page []promptlog.Entry
	env = f.ok(t, http.MethodGet, "/api/v1/gateway/prompt-logs?limit=2", &page)
	if len(page) != 2 || env.ResultInfo.Cursor == "" {
		t.Fatalf("first page: %d entries, cursor %q", len(page), env.ResultInfo.Cursor)
	}
	env = f.ok(t, http.MethodGet, "/api/v1/gateway/prompt-logs?limit=2&cursor="+env.ResultInfo.Cursor, &page)
	if len(page) != 1 || page[0].RequestID != "a" || env.ResultInfo.Cursor != "" {
		t.Errorf("second page: %+v, cursor %q", page, env.ResultInfo.Cursor)
	}

	for _, q := range []string{"?since=yesterday", "?until=-1h", "?limit=0", "?limit=1001", "?cursor=abc", "?cursor=0"} {
		if status, env := f.do(t, http.MethodGet, "/api/v1/gateway/prompt-logs"+q, f.token); status != http.StatusBadRequest || len(env.Errors) != 1 {
			t.Errorf("%s: %d %+v", q, status, env.Errors)
		}
	}
	if status, _ := f.do(t, http.MethodGet, "/api/v1/gateway/prompt-logs", ""); status != http.StatusUnauthorized {
		t.Errorf("without a token: %d", status)
	}

	// Every reading is audited with its filters, and the audit log holds no prompt.
	evs, err := f.st.ListAuditEvents(t.Context(), store.AuditQuery{Action: admin.ActionReadPromptLogs, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var convReads, failures int
	for _, e := range evs {
		if strings.Contains(string(e.Details), "SECRET") {
			t.Errorf("audit event holds plaintext: %+v", e)
		}
		if e.TargetID == "c1" && strings.Contains(string(e.Details), `"conversation_id":"c1"`) && e.Actor == "ci-bot" {
			convReads++
		}
		if e.Result == store.AuditFailure {
			failures++
		}
	}
	// 10 readings; of the 6 bad requests, the 2 with a bad limit are refused before the service.
	if convReads != 1 || failures != 4 || len(evs) != 14 {
		t.Errorf("audit: %d reads of c1, %d failures, %d events; want 1, 4, 14", convReads, failures, len(evs))
	}
}
