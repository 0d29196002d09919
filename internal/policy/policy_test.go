package policy

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/identity"
)

// single returns the app of a configuration with one policy linked to one app.
func single(t *testing.T, decision, rule string) *App {
	t.Helper()
	return appFor(t, fmt.Sprintf(`
policies:
  - {id: p, decision: %s, include: [%s]}
applications:
  - {id: app, policies: [{ref: p, precedence: 1}]}
`, decision, rule), "app")
}

func TestSelectors(t *testing.T) {
	type check struct {
		in      Input
		action  Action
		reasons []string
	}
	allow := func(in Input, reasons ...string) check { return check{in, ActionAllow, reasons} }
	deny := func(in Input, reasons ...string) check { return check{in, ActionDeny, reasons} }
	svc := func(in Input, reasons ...string) check { return check{in, ActionServiceAuth, reasons} }
	tests := []struct {
		name     string
		decision string
		rule     string
		checks   []check
	}{
		{"email", "allow", `{email: {email: alice@example.com}}`, []check{
			allow(Input{Identity: alice}, "policy-matched", "email-ok"),
			deny(Input{Identity: bob}, "no-policy-matched", "include-failed-email"),
			deny(Input{}, "no-policy-matched", "identity-required"),
		}},
		{"email case-insensitive", "allow", `{email: {email: ALICE@Example.com}}`, []check{
			allow(Input{Identity: alice}, "policy-matched", "email-ok"),
		}},
		{"email_domain", "allow", `{email_domain: {domain: example.com}}`, []check{
			allow(Input{Identity: alice}, "policy-matched", "email_domain-ok"),
			allow(Input{Identity: root}, "policy-matched", "email_domain-ok"),
			deny(Input{Identity: bob}, "no-policy-matched", "include-failed-email_domain"),
			deny(Input{Identity: subdom}, "no-policy-matched", "include-failed-email_domain"),
		}},
		{"email_domain with @", "allow", `{email_domain: {domain: "@Example.COM"}}`, []check{
			allow(Input{Identity: alice}, "policy-matched", "email_domain-ok"),
		}},
		{"email_list", "allow", `{email_list: {id: admins}}`, []check{
			allow(Input{Identity: root}, "policy-matched", "email_list-ok"),
			deny(Input{Identity: alice}, "no-policy-matched", "include-failed-email_list"),
		}},
		{"everyone", "allow", `{everyone: {}}`, []check{
			allow(Input{Identity: bob}, "policy-matched", "everyone-ok"),
			deny(Input{}, "no-policy-matched", "identity-required"),
		}},
		{"ip", "allow", `{ip: {ip: 192.0.2.0/24}}`, []check{
			allow(Input{Identity: alice, ClientIP: officeIP}, "policy-matched", "ip-ok"),
			allow(Input{Identity: alice, ClientIP: netip.MustParseAddr("::ffff:192.0.2.10")}, "policy-matched", "ip-ok"),
			deny(Input{Identity: alice, ClientIP: outsideIP}, "no-policy-matched", "include-failed-ip"),
			deny(Input{Identity: alice}, "no-policy-matched", "include-failed-ip"),
		}},
		{"ip single v6", "allow", `{ip: {ip: "2001:db8::1"}}`, []check{
			allow(Input{Identity: alice, ClientIP: netip.MustParseAddr("2001:db8::1")}, "policy-matched", "ip-ok"),
			allow(Input{Identity: alice, ClientIP: netip.MustParseAddr("2001:db8::1%eth0")}, "policy-matched", "ip-ok"),
			deny(Input{Identity: alice, ClientIP: netip.MustParseAddr("2001:db8::2")}, "no-policy-matched", "include-failed-ip"),
		}},
		{"ip_list", "allow", `{ip_list: {id: office}}`, []check{
			allow(Input{Identity: alice, ClientIP: officeIP}, "policy-matched", "ip_list-ok"),
			allow(Input{Identity: alice, ClientIP: netip.MustParseAddr("2001:db8:0:ff::1")}, "policy-matched", "ip_list-ok"),
			deny(Input{Identity: alice, ClientIP: netip.MustParseAddr("2001:db8:1::1")}, "no-policy-matched", "include-failed-ip_list"),
		}},
		{"geo", "allow", `{geo: {country_code: PT}}`, []check{
			allow(Input{Identity: alice, Country: "PT"}, "policy-matched", "geo-ok"),
			deny(Input{Identity: alice, Country: "ES"}, "no-policy-matched", "include-failed-geo"),
			deny(Input{Identity: alice}, "no-policy-matched", "include-failed-geo"),
		}},
		{"login_method", "allow", `{login_method: {id: corp}}`, []check{
			allow(Input{Identity: alice}, "policy-matched", "login_method-ok"),
			deny(Input{Identity: bob}, "no-policy-matched", "include-failed-login_method"),
		}},
		{"auth_method", "allow", `{auth_method: {auth_method: mfa}}`, []check{
			allow(Input{Identity: alice}, "policy-matched", "auth_method-ok"),
			deny(Input{Identity: aliceNoMFA}, "no-policy-matched", "include-failed-auth_method"),
		}},
		{"saml", "allow", `{saml: {attribute_name: groups, attribute_value: ops}}`, []check{
			allow(Input{Identity: alice}, "policy-matched", "saml-ok"),
			deny(Input{Identity: bob}, "no-policy-matched", "include-failed-saml"),
		}},
		{"saml with idp", "allow", `{saml: {attribute_name: groups, attribute_value: eng, identity_provider_id: gh}}`, []check{
			deny(Input{Identity: alice}, "no-policy-matched", "include-failed-saml"),
		}},
		{"oidc", "allow", `{oidc: {claim_name: org, claim_value: umbrella, identity_provider_id: gh}}`, []check{
			allow(Input{Identity: bob}, "policy-matched", "oidc-ok"),
			deny(Input{Identity: alice}, "no-policy-matched", "include-failed-oidc"),
		}},
		{"github-organization", "allow", `{github-organization: {name: ACME, team: Platform}}`, []check{
			allow(Input{Identity: octo}, "policy-matched", "github-organization-ok"),
			deny(Input{Identity: modified(octo, func(id *identity.Identity) { id.GitHubOrgs = id.GitHubOrgs[1:] })},
				"no-policy-matched", "include-failed-github-organization"),
			deny(Input{Identity: alice}, "no-policy-matched", "include-failed-github-organization"),
			deny(Input{}, "no-policy-matched", "identity-required"),
		}},
		{"github_organization alias with idp", "allow", `{github_organization: {name: umbrella, identity_provider_id: gh}}`, []check{
			allow(Input{Identity: octo}, "policy-matched", "github-organization-ok"),
			deny(Input{Identity: modified(octo, func(id *identity.Identity) { id.IdP.ID = "corp" })},
				"no-policy-matched", "include-failed-github-organization"),
		}},
		{"service_token", "non_identity", `{service_token: {token_id: ci}}`, []check{
			svc(Input{ServiceToken: token("ci")}, "policy-matched", "service_token-ok"),
			deny(Input{ServiceToken: token("deploy")}, "no-policy-matched", "include-failed-service_token"),
			deny(Input{ServiceToken: badToken("ci", "service-token-expired")},
				"no-policy-matched", "service-token-expired", "include-failed-service_token"),
			deny(Input{ServiceToken: badToken("", "")},
				"no-policy-matched", "service-token-invalid", "include-failed-service_token"),
			deny(Input{Identity: alice}, "no-policy-matched"),
		}},
		{"any_valid_service_token", "non_identity", `{any_valid_service_token: {}}`, []check{
			svc(Input{ServiceToken: token("deploy")}, "policy-matched", "any_valid_service_token-ok"),
			deny(Input{ServiceToken: badToken("deploy", "service-token-disabled")},
				"no-policy-matched", "service-token-disabled", "include-failed-any_valid_service_token"),
		}},
		{"bypass ip", "bypass", `{ip: {ip: 192.0.2.0/24}}`, []check{
			{Input{ClientIP: officeIP}, ActionBypass, []string{"policy-matched", "ip-ok"}},
			// An invalid token is surfaced even when something else matched.
			{Input{ClientIP: officeIP, ServiceToken: badToken("ci", "service-token-expired")}, ActionBypass,
				[]string{"policy-matched", "ip-ok", "service-token-expired"}},
			deny(Input{ClientIP: outsideIP}, "no-policy-matched"),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app := single(t, tt.decision, tt.rule)
			for i, c := range tt.checks {
				t.Run(fmt.Sprint(i), func(t *testing.T) {
					want := ""
					if c.action != ActionDeny {
						want = "p"
					}
					checkDecision(t, app.Evaluate(&c.in), c.action, want, c.reasons...)
				})
			}
		})
	}
}

// TestEvaluationOrder is the spec's example: links [Allow A, Block B, Service Auth C,
// Bypass D, Allow E] run C > D > A > B > E. Every policy matches every request, so removing
// the winner shows the next one in line.
func TestEvaluationOrder(t *testing.T) {
	const policies = `
policies:
  - {id: A, decision: allow, include: [{everyone: {}}]}
  - {id: B, decision: deny, include: [{everyone: {}}]}
  - {id: C, decision: non_identity, include: [{any_valid_service_token: {}}]}
  - {id: D, decision: bypass, include: [{everyone: {}}]}
  - {id: E, decision: allow, include: [{everyone: {}}], session_duration: 1h}
`
	links := map[string]string{
		"A": "{ref: A, precedence: 10}",
		"B": "{ref: B, precedence: 20}",
		"C": "{ref: C, precedence: 30}",
		"D": "{ref: D, precedence: 40}",
		"E": "{ref: E, precedence: 50}",
	}
	in := &Input{Identity: alice, ServiceToken: token("ci")}
	want := []struct {
		id     string
		action Action
	}{{"C", ActionServiceAuth}, {"D", ActionBypass}, {"A", ActionAllow}, {"B", ActionDeny}, {"E", ActionAllow}}
	linked := []string{"E", "D", "C", "B", "A"} // listed out of order on purpose
	for _, w := range want {
		var list string
		for _, id := range linked {
			list += links[id] + ", "
		}
		app := appFor(t, policies+"applications:\n  - {id: app, policies: ["+list+"]}\n", "app")
		d := app.Evaluate(in)
		if d.PolicyID != w.id || d.Action != w.action {
			t.Fatalf("links %v: got %v by %q, want %v by %q", linked, d.Action, d.PolicyID, w.action, w.id)
		}
		linked = slicesDelete(linked, w.id)
	}
	app := appFor(t, policies+"applications:\n  - {id: app, policies: ["+links["E"]+"]}\n", "app")
	if d := app.Evaluate(in); d.SessionDuration != time.Hour {
		t.Errorf("SessionDuration = %v, want 1h", d.SessionDuration)
	}
}

func slicesDelete(s []string, v string) []string {
	var out []string
	for _, x := range s {
		if x != v {
			out = append(out, x)
		}
	}
	return out
}

func TestBlockBeforeAllow(t *testing.T) {
	doc := `
policies:
  - {id: block-contractors, decision: deny, include: [{email_domain: {domain: contractor.io}}]}
  - {id: everyone, decision: allow, include: [{everyone: {}}]}
applications:
  - {id: block-first, policies: [{ref: block-contractors, precedence: 1}, {ref: everyone, precedence: 2}]}
  - {id: allow-first, policies: [{ref: block-contractors, precedence: 2}, {ref: everyone, precedence: 1}]}
`
	e := compileYAML(t, doc)
	checkDecision(t, e.App("block-first").Evaluate(&Input{Identity: bob}), ActionDeny, "block-contractors", "policy-matched", "email_domain-ok")
	checkDecision(t, e.App("block-first").Evaluate(&Input{Identity: alice}), ActionAllow, "everyone", "policy-matched", "everyone-ok")
	checkDecision(t, e.App("allow-first").Evaluate(&Input{Identity: bob}), ActionAllow, "everyone", "policy-matched", "everyone-ok")
}

func TestRequireAndExclude(t *testing.T) {
	doc := `
policies:
  - id: staff
    decision: allow
    include: [{email_domain: {domain: example.com}}, {email: {email: bob@contractor.io}}]
    require: [{auth_method: {auth_method: mfa}}, {ip_list: {id: office}}]
    exclude: [{geo: {country_code: KP}}, {email_list: {id: admins}}]
  - id: two-countries
    decision: allow
    include: [{everyone: {}}]
    require: [{geo: {country_code: PT}}, {geo: {country_code: ES}}]
applications:
  - {id: staff, policies: [{ref: staff, precedence: 1}]}
  - {id: countries, policies: [{ref: two-countries, precedence: 1}]}
`
	e := compileYAML(t, doc)
	staff := e.App("staff")
	tests := []struct {
		name    string
		in      Input
		action  Action
		reasons []string
	}{
		{"all satisfied", Input{Identity: alice, ClientIP: officeIP, Country: "PT"}, ActionAllow, []string{"policy-matched", "email_domain-ok"}},
		{"second include", Input{Identity: bobMFA, ClientIP: officeIP}, ActionAllow, []string{"policy-matched", "email-ok"}},
		{"no include", Input{Identity: aliceOther, ClientIP: officeIP}, ActionDeny, []string{"no-policy-matched", "include-failed-email_domain", "include-failed-email"}},
		{"first require fails", Input{Identity: aliceNoMFA, ClientIP: officeIP}, ActionDeny, []string{"no-policy-matched", "require-failed-auth_method"}},
		{"second require fails", Input{Identity: alice, ClientIP: outsideIP}, ActionDeny, []string{"no-policy-matched", "require-failed-ip_list"}},
		{"excluded by geo", Input{Identity: alice, ClientIP: officeIP, Country: "KP"}, ActionDeny, []string{"no-policy-matched", "excluded-by-geo"}},
		{"excluded by list", Input{Identity: rootMFA, ClientIP: officeIP}, ActionDeny, []string{"no-policy-matched", "excluded-by-email_list"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := ""
			if tt.action == ActionAllow {
				want = "staff"
			}
			checkDecision(t, staff.Evaluate(&tt.in), tt.action, want, tt.reasons...)
		})
	}
	// Two values in Require are ANDed: nobody is in two countries.
	for _, cc := range []string{"PT", "ES", "FR"} {
		if d := e.App("countries").Evaluate(&Input{Identity: alice, Country: cc}); d.Action != ActionDeny {
			t.Errorf("country %s: %v, want deny", cc, d.Action)
		}
	}
}

func TestGroups(t *testing.T) {
	doc := `
groups:
  - id: engineers
    include: [{saml: {attribute_name: groups, attribute_value: eng}}, {group: {id: leads}}]
    require: [{group: {id: strong-auth}}]
  - id: leads
    include: [{email: {email: bob@contractor.io}}]
  - id: strong-auth
    include: [{auth_method: {auth_method: mfa}}, {auth_method: {auth_method: hwk}}]
  - id: trusted-network
    include: [{ip_list: {id: office}}, {geo: {country_code: PT}}]
    exclude: [{ip: {ip: 192.0.2.66}}]
policies:
  - {id: eng, decision: allow, include: [{group: {id: engineers}}], exclude: [{group: {id: leads}}]}
  - {id: net, decision: bypass, include: [{group: {id: trusted-network}}]}
  - {id: from-trusted, decision: allow, include: [{everyone: {}}], require: [{group: {id: trusted-network}}]}
applications:
  - {id: eng, policies: [{ref: eng, precedence: 1}]}
  - {id: net, policies: [{ref: net, precedence: 1}]}
  - {id: trusted, policies: [{ref: from-trusted, precedence: 1}]}
`
	e := compileYAML(t, doc)
	tests := []struct {
		app     string
		in      Input
		action  Action
		reasons []string
	}{
		{"eng", Input{Identity: alice}, ActionAllow, []string{"policy-matched", "group-ok"}},
		{"eng", Input{Identity: aliceNoMFA}, ActionDeny, []string{"no-policy-matched", "include-failed-group"}},
		// bob is a lead with MFA: in engineers, but excluded by the leads group.
		{"eng", Input{Identity: bobMFA}, ActionDeny, []string{"no-policy-matched", "excluded-by-group"}},
		{"net", Input{ClientIP: officeIP}, ActionBypass, []string{"policy-matched", "group-ok"}},
		{"net", Input{Country: "PT", ClientIP: outsideIP}, ActionBypass, []string{"policy-matched", "group-ok"}},
		{"net", Input{ClientIP: netip.MustParseAddr("192.0.2.66")}, ActionDeny, []string{"no-policy-matched"}},
		// A group in require gives OR semantics inside an AND.
		{"trusted", Input{Identity: bob, Country: "PT"}, ActionAllow, []string{"policy-matched", "everyone-ok"}},
		{"trusted", Input{Identity: bob, ClientIP: officeIP}, ActionAllow, []string{"policy-matched", "everyone-ok"}},
		{"trusted", Input{Identity: bob, Country: "ES"}, ActionDeny, []string{"no-policy-matched", "require-failed-group"}},
	}
	for i, tt := range tests {
		t.Run(fmt.Sprintf("%s/%d", tt.app, i), func(t *testing.T) {
			d := e.App(tt.app).Evaluate(&tt.in)
			if d.Action != tt.action || fmt.Sprint(d.Reasons) != fmt.Sprint(tt.reasons) {
				t.Errorf("got %v %q, want %v %q", d.Action, d.Reasons, tt.action, tt.reasons)
			}
		})
	}
}

func TestServiceTokensAndIdentity(t *testing.T) {
	doc := `
policies:
  - {id: ci, decision: non_identity, include: [{service_token: {token_id: ci}}]}
  - {id: staff, decision: allow, include: [{email_domain: {domain: example.com}}]}
applications:
  - {id: app, policies: [{ref: staff, precedence: 1}, {ref: ci, precedence: 2}]}
  - {id: human, policies: [{ref: staff, precedence: 1}]}
`
	e := compileYAML(t, doc)
	app := e.App("app")
	if !app.HasServiceAuth() || !app.HasIdentityPolicies() {
		t.Error("app: want service auth and identity policies")
	}
	if e.App("human").HasServiceAuth() {
		t.Error("human: HasServiceAuth")
	}
	// Service auth runs before allow, whatever the precedence.
	checkDecision(t, app.Evaluate(&Input{Identity: alice, ServiceToken: token("ci")}), ActionServiceAuth, "ci", "policy-matched", "service_token-ok")
	// A token never satisfies an allow policy...
	checkDecision(t, e.App("human").Evaluate(&Input{ServiceToken: token("ci")}), ActionDeny, "", "no-policy-matched", "identity-required")
	// ...but a user with an expired token still gets in by identity, and the token is reported.
	checkDecision(t, app.Evaluate(&Input{Identity: alice, ServiceToken: badToken("ci", "service-token-expired")}),
		ActionAllow, "staff", "policy-matched", "email_domain-ok", "service-token-expired")
	checkDecision(t, app.Evaluate(&Input{Identity: bob, ServiceToken: badToken("ci", "service-token-expired")}),
		ActionDeny, "", "no-policy-matched", "service-token-expired", "include-failed-service_token", "include-failed-email_domain")
}

func TestUnknownAppAndNilInput(t *testing.T) {
	e := compileYAML(t, "policies: [{id: p, decision: allow, include: [{everyone: {}}]}]\napplications: [{id: app, policies: [{ref: p, precedence: 1}]}]\n")
	a := e.App("nope")
	if a != nil {
		t.Fatal("App(nope) != nil")
	}
	checkDecision(t, a.Evaluate(&Input{Identity: alice}), ActionDeny, "", "unknown-application")
	checkDecision(t, a.Preflight(&Input{}), ActionDeny, "", "unknown-application")
	if a.HasServiceAuth() || a.HasIdentityPolicies() {
		t.Error("nil app has policies")
	}
	checkDecision(t, e.App("app").Evaluate(nil), ActionDeny, "", "no-policy-matched", "identity-required")
	if (*Engine)(nil).App("app") != nil {
		t.Error("nil engine has apps")
	}
}

func TestAppWithoutPolicies(t *testing.T) {
	app := appFor(t, "applications: [{id: app}]\n", "app")
	checkDecision(t, app.Evaluate(&Input{Identity: alice}), ActionDeny, "", "no-policy-matched")
	checkDecision(t, app.Preflight(&Input{}), ActionDeny, "", "no-policy-matched")
}

func TestActionString(t *testing.T) {
	for a, want := range map[Action]string{ActionDeny: "deny", ActionAllow: "allow", ActionBypass: "bypass", ActionServiceAuth: "service_auth", ActionLogin: "login", 99: "deny"} {
		if got := a.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", a, got, want)
		}
	}
}

// TestReasonsAreNotAliased checks that a caller appending to a decision's reasons cannot
// change the reasons of later decisions, although the slices are shared.
func TestReasonsAreNotAliased(t *testing.T) {
	app := single(t, "allow", `{email_domain: {domain: example.com}}`)
	for _, in := range []*Input{{Identity: alice}, {Identity: bob}, {}} {
		first := app.Evaluate(in)
		_ = append(first.Reasons, "tampered")
		if again := app.Evaluate(in); fmt.Sprint(again.Reasons) != fmt.Sprint(first.Reasons) {
			t.Errorf("reasons changed from %q to %q", first.Reasons, again.Reasons)
		}
	}
}
