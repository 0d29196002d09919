package rules

import (
	"fmt"
	"testing"
)

// benchPolicy is 50 rules of the kinds a real policy has; the typical request (req) matches only
// the last one, so every rule is evaluated.
func benchPolicy(tb testing.TB) *Policy {
	var rs []Rule
	for i := range 49 {
		r := Rule{ID: fmt.Sprintf("r%d", i), Name: fmt.Sprintf("rule %d", i), Precedence: i * 10, Enabled: true, Action: ActionBlock}
		switch i % 7 {
		case 0:
			r.Traffic = fmt.Sprintf(`any(http.request.domains[*] == "blocked%d.example") and any(app.statuses[*] == "unapproved")`, i)
		case 1:
			r.Traffic = fmt.Sprintf(`any(app.ids[*] in {%d %d %d})`, 5000+i, 6000+i, 7000+i)
			r.Identity = `any(identity.groups[*].name in {"Contractors" "Interns"})`
		case 2:
			r.Traffic = fmt.Sprintf(`http.request.host in {"a%d.example" "b%d.example" "c%d.example"}`, i, i, i)
		case 3:
			r.Traffic = fmt.Sprintf(`http.request.uri.path matches "^/r/gaming%d"`, i)
		case 4:
			r.Traffic = `any(app.type.ids[*] in {25}) and http.request.method == "DELETE"`
		case 5:
			r.Traffic = fmt.Sprintf(`http.conn.src_ip in {192.168.%d.0/24 2001:db8:%x::/48}`, i, i)
		case 6:
			r.Traffic = fmt.Sprintf(`any(app.ids[*] == 1199) and any(app_control.controls[*] in {%d})`, 9000+i)
			r.Identity = fmt.Sprintf(`identity.email == "user%d@example.com"`, i)
		}
		rs = append(rs, r)
	}
	rs = append(rs, Rule{ID: "last", Precedence: 10000, Enabled: true, Action: ActionAllow,
		Traffic:  `any(http.request.domains[*] == "openai.com") and any(app.ids[*] == 1199)`,
		Identity: `any(identity.groups[*].name in {"Engineering"})`})
	p, err := Compile(rs, Options{})
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

func TestBenchPolicyDecides(t *testing.T) {
	in := req()
	in.Email = "alice@example.com"
	p := benchPolicy(t)
	if d := p.EvaluateRequest(in); d.RuleID() != "last" {
		t.Fatalf("decision = %+v", d)
	}
	if n := testing.AllocsPerRun(100, func() { p.EvaluateRequest(in) }); n != 0 && !raceEnabled {
		t.Errorf("EvaluateRequest allocates %v times", n)
	}
}

// BenchmarkEvaluate: a 50-rule policy over a typical request that only the last rule matches.
func BenchmarkEvaluate(b *testing.B) {
	in := req()
	in.Email = "alice@example.com"
	p := benchPolicy(b)
	b.ReportAllocs()
	for b.Loop() {
		p.EvaluateRequest(in)
	}
}

// BenchmarkCompile: compiling the same policy (done once per configuration snapshot).
func BenchmarkCompile(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		benchPolicy(b)
	}
}
