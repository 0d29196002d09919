package rules

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func TestCompileRuleErrors(t *testing.T) {
	rs := []Rule{
		{ID: "ok", Name: "fine", Enabled: true, Action: "block", Traffic: `http.request.host == "a"`},
		{ID: "ok", Action: "allow"},                                    // 1: duplicate id
		{Action: "allow"},                                              // 2: missing id
		{ID: "iso", Action: "isolate"},                                 // 3
		{ID: "what", Action: "permit"},                                 // 4
		{ID: "dns", Action: "block", Filters: []string{"http", "dns"}}, // 5
		{ID: "typo", Action: "block", Traffic: `http.request.hots == "a"`, Identity: `identity.email == 1`},                             // 6
		{ID: "dni", Action: "off", Traffic: `any(http.request.domains[*] == "bank.example") and http.request.uri.path == "/x"`},         // 7
		{ID: "hdr", Action: "block", RuleSettings: RuleSettings{AddHeaders: map[string][]string{"X-A": {"1"}}}},                         // 8
		{ID: "hdr2", Action: "allow", RuleSettings: RuleSettings{AddHeaders: map[string][]string{"Bad Name": {"1"}, "X-Ok": {"a\nb"}}}}, // 9
		{ID: "redir", Action: "redirect"}, // 10
		{ID: "redir2", Action: "redirect", RuleSettings: RuleSettings{Redirect: &RedirectSettings{TargetURI: "/relative"}}},      // 11
		{ID: "redir3", Action: "allow", RuleSettings: RuleSettings{Redirect: &RedirectSettings{TargetURI: "https://x.example"}}}, // 12
		{ID: "cert", Action: "allow", RuleSettings: RuleSettings{UntrustedCert: &UntrustedCertSettings{Action: "ignore"}}},       // 13
		{ID: "cert2", Action: "block", RuleSettings: RuleSettings{UntrustedCert: &UntrustedCertSettings{Action: "block"}}},       // 14
		{ID: "bp", Action: "block", RuleSettings: RuleSettings{BlockPage: &BlockPageSettings{TargetURI: "javascript:alert(1)"}}}, // 15
		{ID: "bp2", Action: "allow", RuleSettings: RuleSettings{BlockPageEnabled: true}},                                         // 16
		{ID: "dni2", Action: "off", Identity: `identity.email == "a@b"`, DevicePosture: `any(dlp.profiles[*] == "x")`},           // 17
	}
	_, err := Compile(rs, Options{DefaultAction: "deny"})
	var errs Errors
	if !errors.As(err, &errs) {
		t.Fatalf("Compile error = %v, want Errors", err)
	}
	want := []string{
		`default_action: must be allow or block, not "deny"`,
		`rules[1].id (rule "ok"): duplicate id "ok" (also rules[0])`,
		`rules[2].id: missing id`,
		`rules[3].action (rule "iso"): action "isolate" is not supported`,
		`rules[4].action (rule "what"): unknown action "permit"`,
		`rules[5].filters[1] (rule "dns"): only http rules are supported, not "dns"`,
		`rules[6].traffic (rule "typo"): 1:1: unknown field http.request.hots; did you mean http.request.host?`,
		`rules[6].identity (rule "typo"): 1:19: identity.email == needs a quoted string; got 1`,
		`rules[7].traffic (rule "dni"): a Do Not Inspect (off) rule is decided before decryption and cannot use http.request.uri.path`,
		`rules[8].rule_settings.add_headers (rule "hdr"): add_headers applies only to allow rules`,
		`rules[9].rule_settings.add_headers (rule "hdr2"): invalid header name "Bad Name"`,
		`rules[9].rule_settings.add_headers["X-Ok"][0] (rule "hdr2"): invalid header value`,
		`rules[10].rule_settings.redirect.target_uri (rule "redir"): a redirect rule needs a target_uri`,
		`rules[11].rule_settings.redirect.target_uri (rule "redir2"): target_uri "/relative" must be an absolute http or https URL`,
		`rules[12].rule_settings.redirect (rule "redir3"): redirect applies only to redirect rules`,
		`rules[13].rule_settings.untrusted_cert.action (rule "cert"): must be error, block or pass_through, not "ignore"`,
		`rules[14].rule_settings.untrusted_cert (rule "cert2"): untrusted_cert applies only to allow rules`,
		`rules[15].rule_settings.block_page.target_uri (rule "bp"): target_uri "javascript:alert(1)" must be an absolute http or https URL`,
		`rules[16].rule_settings.block_page_enabled (rule "bp2"): block page settings apply only to block rules`,
		`rules[17].device_posture (rule "dni2"): a Do Not Inspect (off) rule is decided before decryption and cannot use dlp.profiles`,
	}
	if len(errs) != len(want) {
		for _, e := range errs {
			t.Log(e)
		}
		t.Fatalf("%d errors, want %d", len(errs), len(want))
	}
	for i, w := range want {
		if !strings.HasPrefix(errs[i].Error(), w) {
			t.Errorf("error %d = %s\nwant prefix     %s", i, errs[i], w)
		}
	}
	// Expression errors carry their position.
	if e := errs[7]; e.Expr == nil || e.Expr.Offset != 18 || e.Field != "rules[6].identity" {
		t.Errorf("identity error = %+v", e)
	}
}

func ids(rs []*CompiledRule) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.ID)
	}
	return out
}

// TestOrderOfEnforcement follows Cloudflare's order: off rules before decryption, then
// allow/block/redirect first match by ascending precedence, then response and body rules.
func TestOrderOfEnforcement(t *testing.T) {
	rs := []Rule{
		{ID: "dlp-block", Name: "Block PII uploads", Precedence: 50, Enabled: true, Action: "block",
			Traffic: `any(dlp.profiles[*] in {"pii"}) and http.body_phase == "upload"`},
		{ID: "allow-chatgpt-team", Name: "Allow ChatGPT workspace", Precedence: 20, Enabled: true, Action: "allow",
			Traffic:      `any(app.ids[*] == 1199)`,
			RuleSettings: RuleSettings{AddHeaders: map[string][]string{"Chatgpt-Allowed-Workspace-Id": {"ws-1"}}}},
		{ID: "redirect-unapproved", Name: "Unapproved AI to the approved one", Precedence: 30, Enabled: true, Action: "redirect",
			Traffic:      `any(app.type.ids[*] in {25}) and any(app.statuses[*] == "unapproved")`,
			RuleSettings: RuleSettings{Redirect: &RedirectSettings{TargetURI: "https://chatgpt.com/", IncludeContext: true}}},
		{ID: "block-contractors", Name: "Contractors", Precedence: 10, Enabled: true, Action: "block",
			Traffic: `any(app.type.ids[*] in {25})`, Identity: `any(identity.groups[*].name in {"Contractors"})`},
		{ID: "dni-bank", Name: "Do not inspect banks", Precedence: 40, Enabled: true, Action: "off",
			Traffic: `any(http.request.domains[*] in {"bank.example"})`},
		{ID: "dni-pinned", Name: "Pinned app", Precedence: 5, Enabled: true, Action: "off",
			Traffic: `http.request.host == "pinned.example"`},
		{ID: "disabled", Precedence: 1, Enabled: false, Action: "block"},
		{ID: "block-5xx", Precedence: 60, Enabled: true, Action: "block", Traffic: `http.response.status_code >= 500`},
		{ID: "tie-a", Precedence: 70, Enabled: true, Action: "block", Traffic: `http.request.host == "tie.example"`},
		{ID: "tie-b", Precedence: 70, Enabled: true, Action: "allow", Traffic: `http.request.host == "tie.example"`},
	}
	p, err := Compile(rs, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ids(p.Rules()), []string{"dni-pinned", "block-contractors", "allow-chatgpt-team", "redirect-unapproved", "dni-bank", "dlp-block", "block-5xx", "tie-a", "tie-b"}; !slices.Equal(got, want) {
		t.Errorf("Rules() = %q, want %q", got, want)
	}

	t.Run("do not inspect", func(t *testing.T) {
		in := &Input{Host: "www.bank.example", Domains: Domains("www.bank.example")}
		d, ok := p.EvaluateConnect(in)
		if !ok || d.RuleID() != "dni-bank" || d.Action != ActionOff || d.Phase != PhaseConnect {
			t.Errorf("EvaluateConnect = %+v, %v", d, ok)
		}
		in = &Input{Host: "chat.openai.com", Domains: Domains("chat.openai.com")}
		if d, ok := p.EvaluateConnect(in); ok || d.Matched() {
			t.Errorf("EvaluateConnect(chatgpt) = %+v", d)
		}
	})
	t.Run("first match by precedence", func(t *testing.T) {
		contractor := &Input{Host: "chat.openai.com", AppIDs: []int{1199}, AppTypeIDs: []int{25}, AppStatuses: []string{"approved"}, GroupNames: []string{"Contractors"}}
		if d := p.EvaluateRequest(contractor); d.RuleID() != "block-contractors" || d.Action != ActionBlock || d.RuleName() != "Contractors" {
			t.Errorf("contractor: %+v", d)
		}
		employee := &Input{Host: "chat.openai.com", AppIDs: []int{1199}, AppTypeIDs: []int{25}, AppStatuses: []string{"unapproved"}}
		d := p.EvaluateRequest(employee)
		if d.RuleID() != "allow-chatgpt-team" || d.Action != ActionAllow {
			t.Errorf("employee: %+v", d)
		}
		if h := d.Rule.RuleSettings.AddHeaders["Chatgpt-Allowed-Workspace-Id"]; !slices.Equal(h, []string{"ws-1"}) {
			t.Errorf("add_headers = %q", h)
		}
		other := &Input{Host: "gemini.example", AppIDs: []int{7}, AppTypeIDs: []int{25}, AppStatuses: []string{"unapproved"}}
		if d := p.EvaluateRequest(other); d.RuleID() != "redirect-unapproved" || d.Rule.RuleSettings.Redirect.TargetURI != "https://chatgpt.com/" {
			t.Errorf("other AI: %+v", d)
		}
		tie := &Input{Host: "tie.example"}
		if d := p.EvaluateRequest(tie); d.RuleID() != "tie-a" {
			t.Errorf("equal precedence: %s decided, want the first configured", d.RuleID())
		}
	})
	t.Run("default", func(t *testing.T) {
		d := p.EvaluateRequest(&Input{Host: "example.com"})
		if d.Matched() || d.Action != ActionAllow || d.RuleID() != "" {
			t.Errorf("no match: %+v", d)
		}
		pb, err := Compile(rs, Options{DefaultAction: ActionBlock})
		if err != nil {
			t.Fatal(err)
		}
		if d := pb.EvaluateRequest(&Input{Host: "example.com"}); d.Matched() || d.Action != ActionBlock {
			t.Errorf("default block: %+v", d)
		}
	})
	t.Run("DLP after an allow", func(t *testing.T) {
		// The header phase allows (and that is what is logged); the body scan then blocks.
		in := &Input{Host: "chat.openai.com", AppIDs: []int{1199}, AppTypeIDs: []int{25}}
		if d := p.EvaluateRequest(in); d.RuleID() != "allow-chatgpt-team" {
			t.Fatalf("header phase: %+v", d)
		}
		if d := p.EvaluateBody(in); d.Matched() {
			t.Errorf("body phase before the scan found anything: %+v", d)
		}
		in.BodyPhase, in.DLPProfiles = "upload", []string{"pii"}
		if d := p.EvaluateBody(in); d.RuleID() != "dlp-block" || d.Action != ActionBlock || d.Phase != PhaseBody {
			t.Errorf("body phase: %+v", d)
		}
		// Body rules are not evaluated in the header phase, even with the fields filled.
		if d := p.EvaluateRequest(&Input{Host: "x", DLPProfiles: []string{"pii"}, BodyPhase: "upload"}); d.Matched() {
			t.Errorf("header phase ran a body rule: %+v", d)
		}
	})
	t.Run("response", func(t *testing.T) {
		if d := p.EvaluateResponse(&Input{ResponseStatus: 502}); d.RuleID() != "block-5xx" {
			t.Errorf("response: %+v", d)
		}
		if d := p.EvaluateResponse(&Input{ResponseStatus: 200}); d.Matched() {
			t.Errorf("response 200: %+v", d)
		}
	})
	t.Run("needs", func(t *testing.T) {
		n := p.Needs()
		if !n.Connect() || !n.Decrypt() || !n.Body() || !n.DLP() || !n.Identity() || !n.Phase(PhaseResponse) {
			t.Errorf("Needs = %+v", n)
		}
		if n.Field("http.request.uri") || !n.Field("app.ids") || !n.Field("identity.groups.name") {
			t.Errorf("Needs fields = %q", n.Fields())
		}
	})
	t.Run("needs little", func(t *testing.T) {
		p, err := Compile([]Rule{{ID: "a", Enabled: true, Action: "block", Traffic: `any(app.ids[*] == 1)`}}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		n := p.Needs()
		if n.Connect() || n.Decrypt() || n.Body() || n.DLP() || n.Identity() {
			t.Errorf("Needs = %+v (%q)", n, n.Fields())
		}
		p, err = Compile([]Rule{{ID: "a", Enabled: true, Action: "block", Traffic: `http.request.method == "PUT"`}}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if n := p.Needs(); !n.Decrypt() || n.Body() {
			t.Errorf("Needs(method) = %+v", n)
		}
	})
}

// TestRuleExpressionsAreANDed: traffic, identity and device posture must all match.
func TestRuleExpressionsAreANDed(t *testing.T) {
	p, err := Compile([]Rule{{ID: "r", Enabled: true, Action: "block",
		Traffic: `http.request.host == "a.example"`, Identity: `identity.email == "u@x.example"`, DevicePosture: `device.id == "d1"`}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		in   Input
		want bool
	}{
		{Input{Host: "a.example", Email: "u@x.example", DeviceID: "d1"}, true},
		{Input{Host: "b.example", Email: "u@x.example", DeviceID: "d1"}, false},
		{Input{Host: "a.example", Email: "v@x.example", DeviceID: "d1"}, false},
		{Input{Host: "a.example", Email: "u@x.example", DeviceID: "d2"}, false},
	} {
		if got := p.EvaluateRequest(&tt.in).Matched(); got != tt.want {
			t.Errorf("%+v: matched %v, want %v", tt.in, got, tt.want)
		}
	}
}

// TestRuleJSONAndYAML: a rule exported from Cloudflare's API decodes with its field names.
func TestRuleJSONAndYAML(t *testing.T) {
	const js = `{
	  "id": "f1e2", "name": "Redirect unapproved AI", "description": "d", "precedence": 14000, "enabled": true,
	  "action": "redirect", "filters": ["http"],
	  "traffic": "any(http.request.domains[*] == \"chatgpt.com\") and any(app.statuses[*] == \"unapproved\")",
	  "identity": "any(identity.groups.name[*] in {\"Contractors\"})", "device_posture": "",
	  "rule_settings": {"redirect": {"target_uri": "https://ai.example.com/", "include_context": true, "preserve_path_and_query": true}, "block_page_enabled": false}
	}`
	var r Rule
	if err := json.Unmarshal([]byte(js), &r); err != nil {
		t.Fatal(err)
	}
	const y = `
id: f1e2
name: Redirect unapproved AI
description: d
precedence: 14000
enabled: true
action: redirect
filters: [http]
traffic: any(http.request.domains[*] == "chatgpt.com") and any(app.statuses[*] == "unapproved")
identity: any(identity.groups.name[*] in {"Contractors"})
rule_settings:
  redirect: {target_uri: "https://ai.example.com/", include_context: true, preserve_path_and_query: true}
`
	var ry Rule
	if err := yaml.Unmarshal([]byte(y), &ry); err != nil {
		t.Fatal(err)
	}
	bj, _ := json.Marshal(r)
	by, _ := json.Marshal(ry)
	if string(bj) != string(by) {
		t.Errorf("JSON and YAML differ:\n%s\n%s", bj, by)
	}
	if r.RuleSettings.Redirect == nil || !r.RuleSettings.Redirect.PreservePathAndQuery || !r.RuleSettings.Redirect.IncludeContext {
		t.Errorf("settings = %+v", r.RuleSettings)
	}
	p, err := Compile([]Rule{r}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	in := &Input{Host: "chatgpt.com", Domains: Domains("chatgpt.com"), AppStatuses: []string{"unapproved"}, GroupNames: []string{"Contractors"}}
	if d := p.EvaluateRequest(in); d.RuleID() != "f1e2" || d.Action != ActionRedirect {
		t.Errorf("decision = %+v", d)
	}
}

// TestSupportApps: a host that is only a support host name of an app (a shared login host) counts
// as the app for allow rules, never for block or redirect rules.
func TestSupportApps(t *testing.T) {
	p, err := Compile([]Rule{
		{ID: "block-gemini", Precedence: 1, Enabled: true, Action: "block", Traffic: `any(app.ids[*] == 1340)`},
		{ID: "allow-gemini", Precedence: 2, Enabled: true, Action: "allow", Traffic: `any(app.ids[*] == 1340) and all(app.ids[*] in {1340})`},
		{ID: "dni-gemini", Precedence: 3, Enabled: true, Action: "off", Traffic: `any(app.ids[*] == 1340)`},
	}, Options{DefaultAction: ActionBlock})
	if err != nil {
		t.Fatal(err)
	}
	login := &Input{Host: "accounts.example", SupportAppIDs: []int{1340}}
	if d := p.EvaluateRequest(login); d.RuleID() != "allow-gemini" {
		t.Errorf("support host: %s decided, want allow-gemini", d.RuleID())
	}
	if _, ok := p.EvaluateConnect(login); ok {
		t.Error("an off rule matched a support host")
	}
	core := &Input{Host: "gemini.example", AppIDs: []int{1340}}
	if d := p.EvaluateRequest(core); d.RuleID() != "block-gemini" {
		t.Errorf("core host: %s decided, want block-gemini", d.RuleID())
	}
	both := &Input{Host: "x.example", AppIDs: []int{7}, SupportAppIDs: []int{1340}}
	if d := p.EvaluateRequest(both); d.Matched() {
		t.Errorf("all(app.ids[*] in {1340}) with app 7 too: %s decided", d.RuleID())
	}
}
