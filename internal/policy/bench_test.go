package policy

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/gatehouse/gatehouse/internal/store"
)

// largeConfig has n applications and n policies; application j links the three policies
// 3j, 3j+1 and 3j+2 (mod n): a bypass for an IP range, a deny by country and an allow by e-mail
// domain that requires MFA and excludes a list.
func largeConfig(n int) *store.Config {
	cfg := &store.Config{
		IdentityProviders: []store.IdentityProvider{{ID: "corp", Type: store.IdPSAML}},
		Lists: []store.List{
			{ID: "blocked", Type: store.ListEmail, Items: []store.ListItem{{Value: "mallory@example.com"}}},
		},
	}
	for i := range n {
		p := store.Policy{ID: fmt.Sprintf("p%d", i)}
		switch i % 3 {
		case 0:
			p.Decision = store.DecisionBypass
			p.Include = []store.Rule{{IP: &store.IPRule{IP: fmt.Sprintf("10.%d.%d.0/24", i/256%256, i%256)}}}
		case 1:
			p.Decision = store.DecisionDeny
			p.Include = []store.Rule{{Geo: &store.GeoRule{CountryCode: "KP"}}, {Geo: &store.GeoRule{CountryCode: "IR"}}}
		case 2:
			p.Decision = store.DecisionAllow
			p.Include = []store.Rule{
				{Email: &store.EmailRule{Email: fmt.Sprintf("user%d@example.com", i)}},
				{EmailDomain: &store.EmailDomainRule{Domain: "example.com"}},
			}
			p.Require = []store.Rule{{AuthMethod: &store.AuthMethodRule{AuthMethod: "mfa"}}}
			p.Exclude = []store.Rule{{EmailList: &store.ListRef{ID: "blocked"}}}
			p.SessionDuration = store.Duration(8 * 60 * 60 * 1e9)
		}
		cfg.Policies = append(cfg.Policies, p)
	}
	for j := range n {
		a := store.Application{ID: fmt.Sprintf("app-%d", j)}
		for t := range 3 {
			a.Policies = append(a.Policies, store.PolicyLink{Ref: fmt.Sprintf("p%d", (3*j+t)%n), Precedence: 30 - 10*t})
		}
		cfg.Applications = append(cfg.Applications, a)
	}
	return cfg
}

type benchSetup struct {
	engine *Engine
	ids    []string // applications that allow alice from outsideIP
}

func newBench(tb testing.TB) benchSetup {
	tb.Helper()
	const n = 10_000
	e, err := Compile(largeConfig(n))
	if err != nil {
		tb.Fatal(err)
	}
	var ids []string
	for j := 0; j < n && len(ids) < 1024; j += 7 {
		id := fmt.Sprintf("app-%d", j)
		if d := e.App(id).Evaluate(&Input{Identity: alice, ClientIP: outsideIP, Country: "PT"}); d.Action == ActionAllow {
			ids = append(ids, id)
		}
	}
	if len(ids) < 1000 {
		tb.Fatalf("only %d allowing apps", len(ids))
	}
	return benchSetup{e, ids}
}

// BenchmarkEvaluateAllow measures App lookup + Evaluate for an allowed identity, over 10,000
// applications and 10,000 policies.
func BenchmarkEvaluateAllow(b *testing.B) {
	s := newBench(b)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		in := Input{Identity: alice, ClientIP: outsideIP, Country: "PT"}
		if s.engine.App(s.ids[i%len(s.ids)]).Evaluate(&in).Action != ActionAllow {
			b.Fatal("not allowed")
		}
		i++
	}
}

// BenchmarkEvaluateDeny measures the default-deny path, which explains itself and may
// allocate.
func BenchmarkEvaluateDeny(b *testing.B) {
	s := newBench(b)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		in := Input{Identity: aliceNoMFA, ClientIP: outsideIP, Country: "PT"}
		if s.engine.App(s.ids[i%len(s.ids)]).Evaluate(&in).Action != ActionDeny {
			b.Fatal("not denied")
		}
		i++
	}
}

func BenchmarkPreflightLogin(b *testing.B) {
	s := newBench(b)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		in := Input{ClientIP: outsideIP, Country: "PT"}
		if s.engine.App(s.ids[i%len(s.ids)]).Preflight(&in).Action != ActionLogin {
			b.Fatal("no login")
		}
		i++
	}
}

func BenchmarkCompile(b *testing.B) {
	cfg := largeConfig(10_000)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Compile(cfg); err != nil {
			b.Fatal(err)
		}
	}
}

// TestNoAllocations pins the zero-allocation promise of the paths a normal request takes.
func TestNoAllocations(t *testing.T) {
	doc := `
policies:
  - id: staff
    decision: allow
    include: [{email: {email: x@example.com}}, {email_domain: {domain: example.com}}]
    require: [{auth_method: {auth_method: mfa}}, {group: {id: net}}]
    exclude: [{email_list: {id: admins}}, {saml: {attribute_name: groups, attribute_value: banned}}]
  - {id: health, decision: bypass, include: [{ip: {ip: 203.0.113.0/24}}]}
  - {id: ci, decision: non_identity, include: [{service_token: {token_id: ci}}]}
  - {id: block, decision: deny, include: [{geo: {country_code: KP}}]}
groups:
  - {id: net, include: [{ip_list: {id: office}}, {geo: {country_code: PT}}]}
applications:
  - {id: app, policies: [{ref: health, precedence: 1}, {ref: ci, precedence: 2}, {ref: block, precedence: 3}, {ref: staff, precedence: 4}]}
`
	e := compileYAML(t, doc)
	tok := token("ci")
	tests := []struct {
		name   string
		run    func(a *App) Decision
		action Action
	}{
		{"allow", func(a *App) Decision {
			in := Input{Identity: alice, ClientIP: netip.MustParseAddr("::ffff:192.0.2.1"), Country: "ES"}
			return a.Evaluate(&in)
		}, ActionAllow},
		{"deny policy", func(a *App) Decision {
			in := Input{Identity: alice, ClientIP: officeIP, Country: "KP"}
			return a.Evaluate(&in)
		}, ActionDeny},
		{"bypass", func(a *App) Decision {
			in := Input{ClientIP: netip.MustParseAddr("203.0.113.5")}
			return a.Evaluate(&in)
		}, ActionBypass},
		{"service auth", func(a *App) Decision {
			in := Input{ServiceToken: tok, ClientIP: outsideIP}
			return a.Evaluate(&in)
		}, ActionServiceAuth},
		{"preflight login", func(a *App) Decision {
			in := Input{ClientIP: officeIP, Country: "PT"}
			return a.Preflight(&in)
		}, ActionLogin},
		{"preflight deny policy", func(a *App) Decision {
			in := Input{ClientIP: officeIP, Country: "KP"}
			return a.Preflight(&in)
		}, ActionDeny},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d Decision
			allocs := testing.AllocsPerRun(200, func() { d = tt.run(e.App("app")) })
			if d.Action != tt.action {
				t.Fatalf("action %v, want %v (%q)", d.Action, tt.action, d.Reasons)
			}
			if allocs != 0 {
				t.Errorf("%v allocations per run, want 0", allocs)
			}
		})
	}
}
