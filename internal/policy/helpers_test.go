package policy

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/gatehouse/gatehouse/internal/identity"
	"github.com/gatehouse/gatehouse/internal/store"
)

// baseYAML holds the objects every test configuration can refer to, by top-level key; a test
// document that has the key itself replaces the section.
var baseYAML = map[string]string{
	"identity_providers": `
identity_providers:
  - {id: corp, name: Corp SSO, type: saml}
  - {id: gh, name: GitHub, type: github}
  - {id: pin, name: PIN, type: onetimepin}
`,
	"service_tokens": `
service_tokens:
  - {id: ci, client_id: ci.access}
  - {id: deploy, client_id: deploy.access}
`,
	"lists": `
lists:
  - {id: admins, type: EMAIL, items: [{value: Root@Example.com}, {value: ops@example.com}]}
  - {id: office, type: IP, items: [{value: 192.0.2.0/24}, {value: "2001:db8::/48"}]}
`,
}

// withBase adds the base sections doc does not define.
func withBase(doc string) string {
	var b strings.Builder
	for _, key := range []string{"identity_providers", "service_tokens", "lists"} {
		if !strings.HasPrefix(doc, key+":") && !strings.Contains(doc, "\n"+key+":") {
			b.WriteString(baseYAML[key])
		}
	}
	b.WriteString(doc)
	return b.String()
}

func parseConfig(t testing.TB, doc string) *store.Config {
	t.Helper()
	var cfg store.Config
	if err := yamlUnmarshal([]byte(withBase(doc)), &cfg); err != nil {
		t.Fatalf("bad test YAML: %v", err)
	}
	return &cfg
}

func yamlUnmarshal(b []byte, cfg *store.Config) error { return yaml.Unmarshal(b, cfg) }

func compileYAML(t testing.TB, doc string) *Engine {
	t.Helper()
	e, err := Compile(parseConfig(t, doc))
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	return e
}

func appFor(t testing.TB, doc, appID string) *App {
	t.Helper()
	a := compileYAML(t, doc).App(appID)
	if a == nil {
		t.Fatalf("no app %q", appID)
	}
	return a
}

var (
	alice = &identity.Identity{
		Email:          "alice@example.com",
		IdP:            identity.IdP{ID: "corp", Type: "saml"},
		AMR:            []string{"pwd", "mfa"},
		SAMLAttributes: map[string][]string{"groups": {"eng", "ops"}},
	}
	aliceNoMFA = &identity.Identity{Email: "alice@example.com", IdP: identity.IdP{ID: "pin"}, AMR: []string{"otp"}}
	bob        = &identity.Identity{
		Email:      "bob@contractor.io",
		IdP:        identity.IdP{ID: "gh", Type: "github"},
		AMR:        []string{"pwd"},
		OIDCClaims: map[string][]string{"org": {"acme", "umbrella"}},
	}
	root = &identity.Identity{Email: "root@example.com", IdP: identity.IdP{ID: "pin"}, AMR: []string{"otp"}}
	octo = &identity.Identity{
		Email: "octo@example.com",
		IdP:   identity.IdP{ID: "gh", Type: "github"},
		GitHubOrgs: []identity.GitHubOrg{
			{Name: "acme", Teams: []string{"platform"}},
			{Name: "Umbrella"},
		},
	}
	subdom = &identity.Identity{Email: "carol@eu.example.com", IdP: identity.IdP{ID: "corp"}}

	bobMFA     = modified(bob, func(id *identity.Identity) { id.AMR = []string{"pwd", "mfa"} })
	aliceOther = modified(alice, func(id *identity.Identity) { id.Email = "alice@other.example" })
	rootMFA    = modified(root, func(id *identity.Identity) { id.AMR = []string{"mfa"} })
)

func modified(id *identity.Identity, f func(*identity.Identity)) *identity.Identity {
	c := *id
	f(&c)
	return &c
}

var (
	officeIP  = netip.MustParseAddr("192.0.2.10")
	outsideIP = netip.MustParseAddr("198.51.100.7")
)

func token(id string) *ServiceTokenInput { return &ServiceTokenInput{ID: id, Valid: true} }

func badToken(id, reason string) *ServiceTokenInput {
	return &ServiceTokenInput{ID: id, Reason: reason}
}

func checkDecision(t *testing.T, got Decision, action Action, policyID string, reasons ...string) {
	t.Helper()
	if got.Action != action || got.PolicyID != policyID || !slices.Equal(got.Reasons, reasons) {
		t.Errorf("decision = {%v %q %q}, want {%v %q %q}", got.Action, got.PolicyID, got.Reasons, action, policyID, reasons)
	}
}
