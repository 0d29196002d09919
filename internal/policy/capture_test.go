package policy

import (
	"testing"

	"github.com/gatehouse/gatehouse/internal/identity"
)

// TestCapturesPrompts checks prompt_protection.log_prompts: Access rules evaluated with the
// identity of an allowed request, an Access group among them.
func TestCapturesPrompts(t *testing.T) {
	app := appFor(t, `
groups:
  - {id: contractors, include: [{okta: {name: Contractors}}]}
policies:
  - {id: all, decision: allow, include: [{everyone: {}}]}
applications:
  - id: llm
    policies: [{ref: all, precedence: 1}]
    prompt_protection:
      enabled: true
      log_prompts:
        include: [{group: {id: contractors}}, {email: {email: audit@example.com}}]
        exclude: [{email: {email: exempt@example.com}}]
  - id: other
    policies: [{ref: all, precedence: 1}]
`, "llm")
	contractor := &identity.Identity{Email: "c@example.com", Groups: []identity.Group{{Name: "Contractors"}}}
	for _, tc := range []struct {
		name string
		in   *Input
		want bool
	}{
		{"group member", &Input{Identity: contractor}, true},
		{"named address", &Input{Identity: &identity.Identity{Email: "audit@example.com"}}, true},
		{"other user", &Input{Identity: &identity.Identity{Email: "e@example.com", Groups: []identity.Group{{Name: "Engineering"}}}}, false},
		{"excluded member", &Input{Identity: modified(contractor, func(id *identity.Identity) { id.Email = "exempt@example.com" })}, false},
		{"no identity", &Input{ServiceToken: token("ci")}, false},
		{"nil input", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := app.CapturesPrompts(tc.in); got != tc.want {
				t.Errorf("CapturesPrompts = %v, want %v", got, tc.want)
			}
		})
	}
	if appFor(t, `
policies:
  - {id: all, decision: allow, include: [{everyone: {}}]}
applications:
  - {id: other, policies: [{ref: all, precedence: 1}]}
`, "other").CapturesPrompts(&Input{Identity: contractor}) {
		t.Error("an application without log_prompts captures prompts")
	}
	var none *App
	if none.CapturesPrompts(&Input{Identity: contractor}) {
		t.Error("a nil App captures prompts")
	}
}
