package rules

import (
	"strings"
	"testing"
)

// TestEvaluateBodyIncomplete: when a body could not be scanned whole, a block rule that could
// still match blocks (fail closed) unless its scan_failure says allow; rules whose other
// conditions cannot hold are passed over.
func TestEvaluateBodyIncomplete(t *testing.T) {
	rs := []Rule{
		{ID: "pii-to-ai", Precedence: 10, Enabled: true, Action: "block",
			Traffic: `any(app.type.ids[*] in {25}) and any(dlp.profiles[*] in {"pii"})`},
		{ID: "big-uploads", Precedence: 20, Enabled: true, Action: "block",
			Traffic:      `any(http.request.domains[*] == "files.example") and http.upload.file.size > 50`,
			RuleSettings: RuleSettings{ScanFailure: &ScanFailureSettings{Action: ScanFailureAllow}}},
		{ID: "exe", Precedence: 30, Enabled: true, Action: "block", Traffic: `any(http.upload.file.types[*] in {"exe"})`},
	}
	p, err := Compile(rs, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name       string
		in         Input
		rule       string
		incomplete bool
	}{
		{"AI app: the PII rule fails closed", Input{Host: "chatgpt.com", AppTypeIDs: []int{25}}, "pii-to-ai", true},
		{"AI app, PII seen in what was scanned: the PII rule matched", Input{Host: "chatgpt.com", AppTypeIDs: []int{25}, DLPProfiles: []string{"pii"}}, "pii-to-ai", false},
		{"other app: the exe rule fails closed (the file-size rule's scan_failure is allow)", Input{Host: "files.example", Domains: Domains("files.example"), UploadFileSize: 10}, "exe", true},
		{"other app, large upload seen: the size rule matches what was scanned", Input{Host: "files.example", Domains: Domains("files.example"), UploadFileSize: 60 << 20}, "big-uploads", false},
	} {
		d := p.EvaluateBodyIncomplete(&tc.in)
		if d.RuleID() != tc.rule || d.Incomplete != tc.incomplete || d.Action != ActionBlock || d.Phase != PhaseBody {
			t.Errorf("%s: %+v (rule %q); want rule %q, incomplete %v", tc.name, d, d.RuleID(), tc.rule, tc.incomplete)
		}
	}

	// Only allow rules, or block rules that opt out: nothing blocks for the failure itself.
	p, err = Compile([]Rule{{ID: "ok", Enabled: true, Action: "block", Traffic: `any(dlp.profiles[*] == "pii")`,
		RuleSettings: RuleSettings{ScanFailure: &ScanFailureSettings{Action: "allow"}}}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if d := p.EvaluateBodyIncomplete(&Input{}); d.Matched() {
		t.Errorf("an opted-out rule decided %+v on an incomplete scan of nothing", d)
	}
	if d := p.EvaluateBodyIncomplete(&Input{DLPProfiles: []string{"pii"}}); d.RuleID() != "ok" || d.Incomplete {
		t.Errorf("an opted-out rule on a partial scan that found PII: %+v", d)
	}

	_, err = Compile([]Rule{
		{ID: "a", Action: "block", Traffic: `http.request.host == "x"`, RuleSettings: RuleSettings{ScanFailure: &ScanFailureSettings{Action: "block"}}},
		{ID: "b", Action: "block", Traffic: `any(dlp.profiles[*] == "pii")`, RuleSettings: RuleSettings{ScanFailure: &ScanFailureSettings{Action: "ignore"}}},
	}, Options{})
	for _, want := range []string{`rules[0].rule_settings.scan_failure (rule "a"): scan_failure applies only to rules that use body fields`, `rules[1].rule_settings.scan_failure.action (rule "b"): must be block or allow, not "ignore"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Compile error %v lacks %q", err, want)
		}
	}
}

// TestConfidenceScores: scores are compared to whole-point literals exactly to the hundredth;
// an app without a score (a host outside the library) matches neither side.
func TestConfidenceScores(t *testing.T) {
	low, err := CompileExpr(`any(app.confidence_scores[*] < 3)`, nil)
	if err != nil {
		t.Fatal(err)
	}
	highAI, err := CompileExpr(`any(app.gen_ai_scores[*] >= 4)`, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		posture, ai   []int
		wantLow, want bool
	}{
		{[]int{299}, nil, true, false},
		{[]int{300}, []int{400}, false, true},
		{[]int{170}, []int{399}, true, false},
		{nil, nil, false, false},
	} {
		in := &Input{AppConfidenceScores: tc.posture, AppGenAIScores: tc.ai}
		if got := low.Match(in); got != tc.wantLow {
			t.Errorf("posture %v < 3 = %v", tc.posture, got)
		}
		if got := highAI.Match(in); got != tc.want {
			t.Errorf("gen AI %v >= 4 = %v", tc.ai, got)
		}
	}
}
