package rules

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestBlockedAtConnect: a tunnel is answered before its destination is resolved only when no
// request can escape the block.
func TestBlockedAtConnect(t *testing.T) {
	rs := []Rule{
		{ID: "public", Precedence: 10, Enabled: true, Action: "allow", Traffic: `http.request.host == "mixed.example" and http.request.uri.path == "/public"`},
		{ID: "mixed", Precedence: 20, Enabled: true, Action: "block", Traffic: `http.request.host == "mixed.example"`},
		{ID: "deepseek", Precedence: 30, Enabled: true, Action: "block", Traffic: `any(http.request.domains[*] == "deepseek.com")`},
		{ID: "bank", Precedence: 5, Enabled: true, Action: "off", Traffic: `http.request.host == "deepseek.com"`},
		{ID: "go", Precedence: 40, Enabled: true, Action: "redirect", Traffic: `http.request.host == "old.example"`,
			RuleSettings: RuleSettings{Redirect: &RedirectSettings{TargetURI: "https://new.example/"}}},
	}
	p, err := Compile(rs, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for host, want := range map[string]string{
		"chat.deepseek.com": "deepseek", // blocked whatever the request
		"deepseek.com":      "",         // Do Not Inspect: spliced, not blocked
		"mixed.example":     "",         // /public is allowed: the request decides
		"old.example":       "go",
		"other.example":     "",
	} {
		d, ok := p.BlockedAtConnect(&Input{Host: host})
		if got := d.RuleID(); ok != (want != "") || got != want {
			t.Errorf("%s: %q %v, want %q", host, got, ok, want)
		}
	}
	p, _ = Compile([]Rule{{ID: "ok", Enabled: true, Action: "allow", Traffic: `http.request.host == "ok.example"`}}, Options{DefaultAction: "block"})
	if d, ok := p.BlockedAtConnect(&Input{Host: "other.example"}); !ok || d.Action != ActionBlock || d.Matched() {
		t.Errorf("default block: %+v %v", d, ok)
	}
	if _, ok := p.BlockedAtConnect(&Input{Host: "ok.example"}); ok {
		t.Error("an allowed host was blocked at connect")
	}
}

// TestBlockedAtConnectIsSound: for random policies over a host (known at CONNECT) and a path
// and method (known per request), whenever BlockedAtConnect says a tunnel is blocked, every
// request through it gets that block from EvaluateRequest.
func TestBlockedAtConnectIsSound(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	hosts := []string{"a.example", "b.example", "c.example"}
	paths := []string{"/", "/x", "/y"}
	methods := []string{"GET", "POST"}
	actions := []string{"allow", "block", "redirect", "off"}
	cond := func() string {
		switch r.IntN(4) {
		case 0:
			return fmt.Sprintf("http.request.host == %q", hosts[r.IntN(len(hosts))])
		case 1:
			return fmt.Sprintf("http.request.uri.path == %q", paths[r.IntN(len(paths))])
		case 2:
			return fmt.Sprintf("http.request.method == %q", methods[r.IntN(len(methods))])
		}
		return fmt.Sprintf("not http.request.host == %q", hosts[r.IntN(len(hosts))])
	}
	checked := 0
	for i := range 3000 {
		var rs []Rule
		for j := range 1 + r.IntN(5) {
			a := actions[r.IntN(len(actions))]
			traffic := cond()
			if r.IntN(2) == 0 {
				traffic += " and " + cond()
			}
			if a == "off" {
				traffic = fmt.Sprintf("http.request.host == %q", hosts[r.IntN(len(hosts))])
			}
			rule := Rule{ID: fmt.Sprintf("r%d", j), Precedence: r.IntN(10), Enabled: true, Action: a, Traffic: traffic}
			if a == "redirect" {
				rule.RuleSettings.Redirect = &RedirectSettings{TargetURI: "https://x.example/"}
			}
			rs = append(rs, rule)
		}
		def := "allow"
		if r.IntN(3) == 0 {
			def = "block"
		}
		p, err := Compile(rs, Options{DefaultAction: def})
		if err != nil {
			t.Fatalf("policy %d: %v", i, err)
		}
		for _, h := range hosts {
			d, ok := p.BlockedAtConnect(&Input{Host: h})
			if !ok {
				continue
			}
			checked++
			for _, path := range paths {
				for _, m := range methods {
					got := p.EvaluateRequest(&Input{Host: h, Path: path, Method: m})
					if got.Action != d.Action || got.RuleID() != d.RuleID() {
						t.Fatalf("policy %+v default %s, host %s: blocked at connect by %q (%s), but %s %s gets %q (%s)",
							rs, def, h, d.RuleID(), d.Action, m, path, got.RuleID(), got.Action)
					}
				}
			}
		}
	}
	if checked < 500 {
		t.Fatalf("only %d blocked tunnels checked", checked)
	}
}
