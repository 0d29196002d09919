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
