package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/gateway/applib"
)

// TestGatewayPolicyDecodes checks that rules in Cloudflare's shape, lists, reviews and the TLS
// settings decode and compile.
func TestGatewayPolicyDecodes(t *testing.T) {
	in := head + `gateway:
  default_action: allow
  lists: {ai_hosts: [chatgpt.com, claude.ai]}
  app_reviews: {ChatGPT: unapproved, '1199': unapproved, Claude: in_review}
  tls_decrypt: {enabled: false}
  rules:
    - id: tenant
      name: ChatGPT workspace only
      precedence: 10
      enabled: true
      action: allow
      traffic: any(http.request.domains[*] == "chatgpt.com")
      rule_settings:
        add_headers: {ChatGPT-Allowed-Workspace-Id: [ws-1]}
        untrusted_cert: {action: pass_through}
    - id: unapproved
      name: Unapproved AI to the approved one
      precedence: 20
      enabled: true
      action: redirect
      traffic: any(app.statuses[*] == "unapproved") or any(http.request.domains[*] in $ai_hosts)
      identity: any(identity.groups[*].name in {"Contractors"})
      rule_settings:
        redirect: {target_uri: "https://ai.example.com/", preserve_path_and_query: true, include_context: true}
`
	f, err := Parse([]byte(in), "gatehouse.yaml")
	if err != nil {
		t.Fatal(err)
	}
	g := f.Gateway
	if g.DecryptEnabled() {
		t.Error("tls_decrypt.enabled: false not decoded")
	}
	p, reviews, err := g.CompilePolicy(applib.MustDefault())
	if err != nil {
		t.Fatal(err)
	}
	if n := len(p.Rules()); n != 2 {
		t.Fatalf("%d rules compiled, want 2", n)
	}
	if got := p.Rules()[0].RuleSettings.AddHeaders["ChatGPT-Allowed-Workspace-Id"]; len(got) != 1 || got[0] != "ws-1" {
		t.Errorf("add_headers = %v", got)
	}
	if reviews.Status(1199) != applib.StatusUnapproved {
		t.Errorf("ChatGPT status %q", reviews.Status(1199))
	}
	var empty Gateway
	if !empty.DecryptEnabled() {
		t.Error("tls_decrypt.enabled must default to true")
	}
}

func TestGatewayUpstreamRoots(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.pem")
	if err := os.WriteFile(bad, []byte("not pem"), 0o600); err != nil {
		t.Fatal(err)
	}
	g := Gateway{UpstreamCAFiles: []string{bad}}
	if _, err := g.UpstreamRoots(); err == nil {
		t.Error("a file without certificates was accepted")
	}
	g.UpstreamCAFiles = []string{filepath.Join(dir, "missing.pem")}
	if _, err := g.UpstreamRoots(); err == nil {
		t.Error("a missing file was accepted")
	}
}

// TestGatewayAppEvidence: gateway.app_evidence is checked against the catalogue and the scoring
// rubric when the configuration is loaded.
func TestGatewayAppEvidence(t *testing.T) {
	if _, err := Parse([]byte(head+`gateway:
  app_evidence:
    Claude:
      - {criterion: data_management, value: full, source: "https://privacy.anthropic.com", date: "2026-12-01"}
    DeepSeek:
      - {criterion: training_data, value: unknown}
`), "gatehouse.yaml"); err != nil {
		t.Fatalf("valid evidence refused: %v", err)
	}
	_, err := Parse([]byte(head+`gateway:
  app_evidence:
    Claud:
      - {criterion: data_management, value: full, source: "https://x.example", date: "2026-12-01"}
    Claude:
      - {criterion: data_managment, value: full, source: "http://x.example", date: "yesterday"}
`), "gatehouse.yaml")
	got := strings.Join(problemsOf(t, err), "\n")
	for _, want := range []string{`gateway.app_evidence: ["Claud"]: unknown application "Claud"; did you mean "Claude"?`, `["Claude"]`} {
		if !strings.Contains(got, want) {
			t.Errorf("problems lack %q:\n%s", want, got)
		}
	}
}
