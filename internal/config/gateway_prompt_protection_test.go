package config

import (
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/ai/extract"
	"github.com/gatehouse/gatehouse/internal/gateway/applib"
)

// gateway.prompt_protection: fail modes are open or closed, per application by its name or
// id in the library; an unknown application or mode is an error at its path.
func TestGatewayPromptProtection(t *testing.T) {
	good := head + `listen: {gateway: "127.0.0.1:8443"}
gateway:
  prompt_protection:
    customer_names: [Globex, Initech]
    fail_mode: open
    app_fail_modes: {ChatGPT: closed, "1199": closed, Claude: open}
`
	f, err := Parse([]byte(good), "gatehouse.yaml")
	if err != nil {
		t.Fatalf("valid prompt_protection refused: %v", err)
	}
	def, per := f.Gateway.PromptProtection.PromptFailModes(applib.MustDefault())
	if def != extract.FailOpen || per[1199] != extract.FailClosed || len(per) != 2 {
		t.Errorf("fail modes: default %q, per app %v", def, per)
	}
	// Without the section, unreadable requests fail closed.
	f, err = Parse([]byte(head+`listen: {gateway: "127.0.0.1:8443"}`+"\n"), "gatehouse.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if def, _ := f.Gateway.PromptProtection.PromptFailModes(applib.MustDefault()); !def.Closed() {
		t.Errorf("default fail mode %q, want closed", def)
	}

	bad := head + `listen: {gateway: "127.0.0.1:8443"}
gateway:
  prompt_protection:
    customer_names: ["", Globex]
    fail_mode: sometimes
    app_fail_modes: {NotAnApp: open, Claude: ajar}
`
	_, err = Parse([]byte(bad), "gatehouse.yaml")
	got := strings.Join(problemsOf(t, err), "\n")
	for _, want := range []string{
		`gateway.prompt_protection.fail_mode: must be "open" or "closed"`,
		`gateway.prompt_protection.customer_names[0]: must not be empty`,
		`gateway.prompt_protection.app_fail_modes.NotAnApp: no application of the library has this name or id`,
		`gateway.prompt_protection.app_fail_modes.Claude: must be "open" or "closed"`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing problem %q in:\n%s", want, got)
		}
	}
}

// Custom topics join an AI prompt profile that rules name in dlp.profiles; bad ids, empty
// phrase lists and a DLP profile's id are errors at their paths.
func TestGatewayCustomPromptTopics(t *testing.T) {
	good := head + `listen: {gateway: "127.0.0.1:8443"}
gateway:
  prompt_protection:
    custom_topics:
      - {id: project_falcon, name: Project Falcon, phrases: [project falcon, falcon roadmap], profile_id: ai_prompt_falcon}
      - {id: acquisitions, phrases: [merger, acquisition target], min_matches: 2, profile_id: ai_prompt_customer}
  rules:
    - {id: r1, name: Falcon, precedence: 1, enabled: true, action: block, traffic: 'any(dlp.profiles[*] in {"ai_prompt_falcon"})'}
`
	f, err := Parse([]byte(good), "gatehouse.yaml")
	if err != nil {
		t.Fatalf("valid custom topics refused: %v", err)
	}
	if got := f.Gateway.PromptProtection.CustomPromptProfiles(); len(got["ai_prompt_falcon"]) != 1 || got["ai_prompt_customer"][0] != "acquisitions" {
		t.Errorf("custom profiles %v", got)
	}
	bad := head + `listen: {gateway: "127.0.0.1:8443"}
gateway:
  prompt_protection:
    custom_topics:
      - {id: Project-Falcon, phrases: [falcon], profile_id: ai_prompt_falcon}
      - {id: intent_jailbreak, phrases: [x], profile_id: ai_prompt_x}
      - {id: empty, phrases: [], profile_id: pii}
      - {id: empty, phrases: ["  "], min_matches: 3, profile_id: "Bad Id"}
  rules:
    - {id: r1, name: Typo, precedence: 1, enabled: true, action: block, traffic: 'any(dlp.profiles[*] in {"ai_prompt_falcom"})'}
`
	_, err = Parse([]byte(bad), "gatehouse.yaml")
	got := strings.Join(problemsOf(t, err), "\n")
	for _, want := range []string{
		`custom_topics[0].id: must be lower case letters`,
		`custom_topics[1].id: is a built-in topic's id`,
		`custom_topics[2].phrases: must list at least one phrase`,
		`custom_topics[2].profile_id: is a DLP profile's id`,
		`custom_topics[3].id: is defined twice`,
		`custom_topics[3].phrases[0]: must not be empty`,
		`custom_topics[3].min_matches: must be between 1 and the number of phrases`,
		`custom_topics[3].profile_id: must name an AI prompt profile`,
		`unknown DLP profile "ai_prompt_falcom"`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing problem %q in:\n%s", want, got)
		}
	}
}

// An internal LLM's prompt_protection.block_topics may name the organisation's custom topics.
func TestBlockTopicsKnowCustomTopics(t *testing.T) {
	cfg := head + `gateway:
  prompt_protection:
    custom_topics: [{id: project_falcon, phrases: [project falcon], profile_id: ai_prompt_falcon}]
applications:
  - id: llm
    destinations: [llm.example.com]
    upstream: 'http://10.0.0.9:8000'
    prompt_protection: {enabled: true, block_topics: [intent_jailbreak, project_falcon]}
`
	if _, err := Parse([]byte(cfg), "gatehouse.yaml"); err != nil {
		t.Fatalf("a custom topic in block_topics was refused: %v", err)
	}
	_, err := Parse([]byte(strings.Replace(cfg, "block_topics: [intent_jailbreak, project_falcon]", "block_topics: [project_eagle]", 1)), "gatehouse.yaml")
	if got := strings.Join(problemsOf(t, err), "\n"); !strings.Contains(got, `unknown topic "project_eagle"`) || !strings.Contains(got, "project_falcon") {
		t.Errorf("an unknown topic: %s", got)
	}
}
