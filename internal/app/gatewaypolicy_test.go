package app

import (
	"errors"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/admin"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/gateway/rules"
)

// TestConsoleGatewayPolicy: the console's view of the gateway's policy uses the gateway's own
// compiler with gateway.lists (an unknown field fails at its line and column, a list the file
// declares compiles, one it does not fails), lists the rules by precedence with their settings,
// and scans text with the predefined profiles: a card number is found and redacted, benign
// text finds nothing.
func TestConsoleGatewayPolicy(t *testing.T) {
	cfg := &config.File{Gateway: config.Gateway{DefaultAction: "block", Lists: map[string][]string{"bad_hosts": {"evil.example"}},
		Rules: []rules.Rule{
			{ID: "late", Name: "Late", Precedence: 20, Enabled: true, Action: "allow", Traffic: `http.request.method == "GET"`},
			{ID: "early", Name: "Early", Precedence: 10, Enabled: false, Action: "redirect",
				RuleSettings: rules.RuleSettings{Redirect: &rules.RedirectSettings{TargetURI: "https://intranet.example/", PreservePathAndQuery: true}}},
		}}}
	g := newGatewayPolicyAdmin(cfg)
	rs, def := g.Rules()
	if def != "block" || len(rs) != 2 || rs[0].ID != "early" || rs[1].ID != "late" || rs[0].Enabled ||
		len(rs[0].Settings) != 1 || rs[0].Settings[0] != "redirect to https://intranet.example/ (path and query kept)" {
		t.Fatalf("rules %+v %q", rs, def)
	}
	if p := g.CheckExpression(`any(http.request.domains[*] in $bad_hosts) and http.request.method == "POST"`); p != nil {
		t.Errorf("good expression: %+v", p)
	}
	p := g.CheckExpression("http.request.method == \"GET\" and\n  http.request.nope == \"x\"")
	if p == nil || p.Line != 2 || p.Col != 3 || !strings.Contains(p.Message, "http.request.nope") {
		t.Errorf("unknown field: %+v", p)
	}
	// The same problem as the gateway's compiler reports for a rule.
	_, err := rules.Compile([]rules.Rule{{ID: "x", Action: "allow", Traffic: "http.request.method == \"GET\" and\n  http.request.nope == \"x\""}}, rules.Options{})
	var re *rules.Error
	if !errors.As(err, &re) || re.Expr == nil || re.Expr.Msg != p.Message {
		t.Errorf("compile %v vs %+v", err, p)
	}
	if p := g.CheckExpression(`http.request.host in $missing`); p == nil || p.Col < 1 {
		t.Errorf("unknown list: %+v", p)
	}
	if p := g.CheckExpression(`http.request.method ==`); p == nil {
		t.Errorf("truncated expression compiles")
	}

	ps, err := g.DLPProfiles()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, p := range ps {
		if p.ID == "financial_information" && p.Type == "predefined" && len(p.Entries) > 0 {
			found = true
		}
	}
	if !found {
		t.Fatalf("profiles %+v", ps)
	}
	const card = "4539148803436467"
	res, err := g.ScanText(t.Context(), "financial_information", "please charge card "+card+" today")
	if err != nil {
		t.Fatal(err)
	}
	if !res.Match || len(res.Findings) == 0 || res.Findings[0].Entry != "payment_card" {
		t.Fatalf("card: %+v", res)
	}
	for _, f := range res.Findings {
		if strings.Contains(f.Sample, card) || strings.Contains(f.Context, card) {
			t.Errorf("finding not redacted: %+v", f)
		}
	}
	res, err = g.ScanText(t.Context(), "financial_information", "lunch at noon in room 4, call me on the way")
	if err != nil || res.Match || len(res.Findings) != 0 {
		t.Errorf("benign: %+v %v", res, err)
	}
	if _, err := g.ScanText(t.Context(), "nope", "x"); !errors.Is(err, admin.ErrNotFound) {
		t.Errorf("unknown profile: %v", err)
	}
}

// FuzzConsoleCheckExpression: the console's check never panics and places every problem inside
// the expression (line and column from 1, offset at most its length), consistently with the
// offset.
func FuzzConsoleCheckExpression(f *testing.F) {
	for _, s := range []string{"", `http.request.method == "GET"`, "a ==\n\"", `any(http.request.domains[*] in $l)`, "(((", "http.request.uri matches \"[\""} {
		f.Add(s)
	}
	g := newGatewayPolicyAdmin(&config.File{Gateway: config.Gateway{Lists: map[string][]string{"l": {"x.example"}}}})
	f.Fuzz(func(t *testing.T, src string) {
		if len(src) > admin.MaxExpressionBytes {
			return
		}
		p := g.CheckExpression(src)
		if p == nil {
			return
		}
		if p.Line < 1 || p.Col < 1 || p.Offset < 0 || p.Offset > len(src) || p.Message == "" {
			t.Fatalf("%q: %+v", src, p)
		}
		if line := 1 + strings.Count(src[:p.Offset], "\n"); line != p.Line {
			t.Fatalf("%q: line %d, offset says %d", src, p.Line, line)
		}
	})
}
