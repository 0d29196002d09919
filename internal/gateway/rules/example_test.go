package rules_test

import (
	"errors"
	"fmt"

	"github.com/gatehouse/gatehouse/internal/gateway/rules"
)

func ExampleCompile_errors() {
	_, err := rules.Compile([]rules.Rule{
		{ID: "block-ai", Action: "block", Traffic: `http.request.hots == "chatgpt.com"`},
		{ID: "dni", Action: "off", Traffic: `http.request.uri.path == "/x"`},
		{ID: "x", Action: "block", Traffic: `http.conn.src_ip in {10.0.0.1/8}`},
		{ID: "v", Action: "block", Identity: `identity.email in $contractor`},
		{ID: "t", Action: "redirect"},
	}, rules.Options{Lists: rules.Lists{"contractors": {"a@example.com"}}})
	var errs rules.Errors
	if errors.As(err, &errs) {
		for _, e := range errs {
			fmt.Println(e)
		}
	}
	// Output:
	// rules[0].traffic (rule "block-ai"): 1:1: unknown field http.request.hots; did you mean http.request.host?
	// rules[1].traffic (rule "dni"): a Do Not Inspect (off) rule is decided before decryption and cannot use http.request.uri.path
	// rules[2].traffic (rule "x"): 1:22: CIDR 10.0.0.1/8 has host bits set; did you mean 10.0.0.0/8?
	// rules[3].identity (rule "v"): 1:19: unknown list $contractor; did you mean $contractors?
	// rules[4].rule_settings.redirect.target_uri (rule "t"): a redirect rule needs a target_uri
}

func ExamplePolicy_EvaluateRequest() {
	p, err := rules.Compile([]rules.Rule{
		{ID: "r1", Name: "Unapproved AI", Precedence: 10, Enabled: true, Action: "block",
			Traffic: `any(http.request.domains[*] == "chatgpt.com") and any(app.statuses[*] == "unapproved")`},
	}, rules.Options{})
	if err != nil {
		panic(err)
	}
	in := &rules.Input{Host: "chatgpt.com", Domains: rules.Domains("chatgpt.com"), AppStatuses: []string{"unapproved"}}
	d := p.EvaluateRequest(in)
	fmt.Println(d.Action, d.RuleID(), d.RuleName())
	in = &rules.Input{Host: "example.com", Domains: rules.Domains("example.com")}
	d = p.EvaluateRequest(in)
	fmt.Println(d.Action, d.Matched())
	// Output:
	// block r1 Unapproved AI
	// allow false
}
