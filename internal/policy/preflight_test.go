package policy

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/identity"
)

func TestPreflight(t *testing.T) {
	doc := `
policies:
  - id: staff
    decision: allow
    include: [{email_domain: {domain: example.com}}]
    exclude: [{geo: {country_code: KP}}]
  - id: office-only
    decision: allow
    include: [{everyone: {}}]
    require: [{ip_list: {id: office}}, {auth_method: {auth_method: mfa}}]
  - {id: block-kp, decision: deny, include: [{geo: {country_code: KP}}]}
  - {id: block-bob, decision: deny, include: [{email: {email: bob@contractor.io}}]}
  - {id: block-office-guests, decision: deny, include: [{everyone: {}}], require: [{ip: {ip: 192.0.2.0/24}}]}
  - {id: everyone, decision: allow, include: [{everyone: {}}]}
  - {id: health, decision: bypass, include: [{ip: {ip: 203.0.113.0/24}}]}
  - {id: ci, decision: non_identity, include: [{service_token: {token_id: ci}}]}
  - {id: nobody, decision: allow, include: [{email: {email: a@example.com}}], exclude: [{email: {email: a@example.com}}]}
applications:
  - {id: staff, policies: [{ref: staff, precedence: 1}, {ref: health, precedence: 2}, {ref: ci, precedence: 3}]}
  - {id: office, policies: [{ref: office-only, precedence: 1}]}
  - {id: blocked-countries, policies: [{ref: block-kp, precedence: 1}, {ref: everyone, precedence: 2}]}
  - {id: identity-block, policies: [{ref: block-bob, precedence: 1}, {ref: everyone, precedence: 2}]}
  - {id: guests, policies: [{ref: block-office-guests, precedence: 1}, {ref: everyone, precedence: 2}]}
  - {id: machines, policies: [{ref: ci, precedence: 1}]}
  - {id: nobody, policies: [{ref: nobody, precedence: 1}]}
  - {id: late-block, policies: [{ref: everyone, precedence: 1}, {ref: block-kp, precedence: 2}]}
`
	e := compileYAML(t, doc)
	tests := []struct {
		name     string
		app      string
		in       Input
		action   Action
		policyID string
		reasons  []string
	}{
		{"login needed", "staff", Input{Country: "PT"}, ActionLogin, "", []string{"identity-required"}},
		{"excluded country", "staff", Input{Country: "KP"}, ActionDeny, "", []string{"no-policy-matched", "excluded-by-geo"}},
		{"identity is ignored", "staff", Input{Identity: alice, Country: "PT"}, ActionLogin, "", []string{"identity-required"}},
		{"bypass", "staff", Input{ClientIP: netip.MustParseAddr("203.0.113.9"), Country: "KP"}, ActionBypass, "health", []string{"policy-matched", "ip-ok"}},
		{"service token", "staff", Input{ServiceToken: token("ci"), Country: "KP"}, ActionServiceAuth, "ci", []string{"policy-matched", "service_token-ok"}},
		{"expired token may still log in", "staff", Input{ServiceToken: badToken("ci", "service-token-expired")}, ActionLogin, "",
			[]string{"identity-required", "service-token-expired"}},
		{"expired token from excluded country", "staff", Input{ServiceToken: badToken("ci", "service-token-expired"), Country: "KP"}, ActionDeny, "",
			[]string{"no-policy-matched", "service-token-expired", "include-failed-ip", "include-failed-service_token", "excluded-by-geo"}},
		{"outside required network", "office", Input{ClientIP: outsideIP}, ActionDeny, "", []string{"no-policy-matched", "require-failed-ip_list"}},
		{"inside required network", "office", Input{ClientIP: officeIP}, ActionLogin, "", []string{"identity-required"}},
		{"non-identity block", "blocked-countries", Input{Country: "KP"}, ActionDeny, "block-kp", []string{"policy-matched", "geo-ok"}},
		{"non-identity block not matching", "blocked-countries", Input{Country: "PT"}, ActionLogin, "", []string{"identity-required"}},
		{"identity block is not definite", "identity-block", Input{}, ActionLogin, "", []string{"identity-required"}},
		{"block with require", "guests", Input{ClientIP: officeIP}, ActionDeny, "block-office-guests", []string{"policy-matched", "everyone-ok"}},
		{"block with require not matching", "guests", Input{ClientIP: outsideIP}, ActionLogin, "", []string{"identity-required"}},
		{"machine-only app", "machines", Input{}, ActionDeny, "", []string{"no-policy-matched"}},
		{"machine-only app, wrong token", "machines", Input{ServiceToken: token("deploy")}, ActionDeny, "", []string{"no-policy-matched", "include-failed-service_token"}},
		// Kleene logic cannot see that email X and not email X is impossible: conservative.
		{"conservative", "nobody", Input{}, ActionLogin, "", []string{"identity-required"}},
		// An allow before the block wins first.
		{"allow before block", "late-block", Input{Country: "KP"}, ActionLogin, "", []string{"identity-required"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkDecision(t, e.App(tt.app).Preflight(&tt.in), tt.action, tt.policyID, tt.reasons...)
		})
	}
}

// preflightCase builds a random application from a small vocabulary of rules and checks the
// Preflight contract against Evaluate for every identity in a fixed population:
//
//   - Preflight never allows;
//   - a Preflight deny means no identity is allowed by Evaluate;
//   - in particular a Preflight deny by a deny policy means every identity is denied (maybe by
//     an earlier, identity-dependent deny policy);
//   - a Preflight bypass or service auth is what Evaluate decides too.
func preflightCase(t *testing.T, seed1, seed2 uint64) {
	rng := rand.New(rand.NewPCG(seed1, seed2))
	atoms := []string{
		`{everyone: {}}`,
		`{geo: {country_code: PT}}`,
		`{geo: {country_code: KP}}`,
		`{ip_list: {id: office}}`,
		`{ip: {ip: 198.51.100.0/24}}`,
		`{email: {email: alice@example.com}}`,
		`{email_domain: {domain: example.com}}`,
		`{email_list: {id: admins}}`,
		`{auth_method: {auth_method: mfa}}`,
		`{login_method: {id: gh}}`,
		`{saml: {attribute_name: groups, attribute_value: eng}}`,
		`{group: {id: g-id}}`,
		`{group: {id: g-net}}`,
	}
	nonIdentity := []string{atoms[0], atoms[1], atoms[2], atoms[3], atoms[4], `{group: {id: g-net}}`}
	rules := func(pool []string, min int) string {
		n := min + rng.IntN(3)
		parts := make([]string, n)
		for i := range parts {
			parts[i] = pool[rng.IntN(len(pool))]
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	var b strings.Builder
	b.WriteString(`
groups:
  - {id: g-id, include: [{email_domain: {domain: contractor.io}}, {auth_method: {auth_method: otp}}], exclude: [{geo: {country_code: KP}}]}
  - {id: g-net, include: [{ip_list: {id: office}}, {geo: {country_code: PT}}]}
policies:
`)
	n := 1 + rng.IntN(4)
	var links []string
	for i := range n {
		decision, pool := "allow", atoms
		switch rng.IntN(6) {
		case 0, 1:
			decision = "deny"
		case 2:
			decision, pool = "bypass", nonIdentity
		}
		fmt.Fprintf(&b, "  - {id: p%d, decision: %s, include: %s, require: %s, exclude: %s}\n",
			i, decision, rules(pool, 1), rules(pool, 0), rules(pool, 0))
		links = append(links, fmt.Sprintf("{ref: p%d, precedence: %d}", i, rng.IntN(1000)*10+i))
	}
	fmt.Fprintf(&b, "applications:\n  - {id: app, policies: [%s]}\n", strings.Join(links, ", "))
	app := appFor(t, b.String(), "app")

	population := []*identity.Identity{alice, aliceNoMFA, aliceOther, bob, bobMFA, root, rootMFA, subdom}
	for _, country := range []string{"", "PT", "KP", "ES"} {
		for _, ip := range []netip.Addr{officeIP, outsideIP, netip.MustParseAddr("198.51.100.1"), {}} {
			in := Input{ClientIP: ip, Country: country}
			pre := app.Preflight(&in)
			fail := func(format string, args ...any) {
				t.Helper()
				t.Fatalf("config:\n%s\ninput %s %v: preflight %v %q %q: %s", b.String(), country, ip,
					pre.Action, pre.PolicyID, pre.Reasons, fmt.Sprintf(format, args...))
			}
			switch pre.Action {
			case ActionAllow:
				fail("preflight allowed")
			case ActionBypass, ActionServiceAuth:
				if got := app.Evaluate(&in); got.Action != pre.Action || got.PolicyID != pre.PolicyID {
					fail("evaluate without identity says %v %q", got.Action, got.PolicyID)
				}
			case ActionDeny:
				for _, id := range population {
					in := in
					in.Identity = id
					got := app.Evaluate(&in)
					if got.Action != ActionDeny {
						fail("%s would get %v by %q", id.Email, got.Action, got.PolicyID)
					}
				}
			}
		}
	}
}

func TestPreflightSound(t *testing.T) {
	for i := range uint64(500) {
		preflightCase(t, i, 42)
	}
}

func FuzzPreflightSound(f *testing.F) {
	for i := range uint64(10) {
		f.Add(i, uint64(42))
	}
	f.Fuzz(preflightCase)
}
