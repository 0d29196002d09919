package applib

import (
	"math"
	"strings"
	"testing"
)

func TestCriteriaAddUpToFive(t *testing.T) {
	c := mustDefault(t)
	sums := map[Score]float64{}
	for _, cr := range c.Criteria() {
		sums[cr.Score] += cr.Points
	}
	want := map[Score]float64{PostureScore: 5, AIScore: 5}
	for sc, w := range want {
		if math.Abs(sums[sc]-w) > 1e-9 {
			t.Errorf("%s criteria add up to %v, want %v", sc, sums[sc], w)
		}
	}
	// The rubric's weights are the reference's (§2.4).
	for key, pts := range map[string]float64{"compliance": 1.2, "data_management": 1.0, "security_controls": 1.0, "security_reports": 1.0, "financial_stability": 0.8, "iso42001": 1.0, "deployment_model": 1.0, "system_card": 1.0, "training_data": 2.0} {
		cr := c.critByKey[key]
		if cr == nil || cr.Points != pts {
			t.Errorf("criterion %s = %+v, want %.1f points", key, cr, pts)
		}
	}
}

func TestConfidence(t *testing.T) {
	c := mustDefault(t)
	claude := c.AppByName("Claude")
	conf := c.Confidence(claude, nil)
	// Shipped evidence for Claude: compliance full (1.2), security_reports partial (0.5);
	// iso42001 (1.0), deployment authenticated (1.0), system card (1.0), training opt_out (1.0).
	if conf.Posture.Total != 1.7 {
		t.Errorf("Claude posture = %v, want 1.7", conf.Posture.Total)
	}
	if conf.AI.Total != 4 || !conf.AI.Applicable {
		t.Errorf("Claude gen-AI = %v (applicable %v), want 4", conf.AI.Total, conf.AI.Applicable)
	}
	var noEvidence []string
	for _, ct := range conf.Posture.Contributions {
		if ct.Evidence == nil {
			if ct.Points != 0 {
				t.Errorf("%s has no evidence but %v points", ct.Criterion.Key, ct.Points)
			}
			noEvidence = append(noEvidence, ct.Criterion.Key)
			if !strings.Contains(ct.String(), "(no evidence)") {
				t.Errorf("String() = %q, want it to say no evidence", ct.String())
			}
		} else if ct.Evidence.Source == "" {
			t.Errorf("%s evidence has no source", ct.Criterion.Key)
		}
	}
	if strings.Join(noEvidence, ",") != "data_management,security_controls,financial_stability" {
		t.Errorf("criteria without evidence = %v", noEvidence)
	}

	// Operator overlay: add financial stability, withdraw the system card, upgrade reports.
	ov, err := ParseEvidenceOverlay(c, EvidenceOverlay{"claude": {
		{Criterion: "financial_stability", Value: "stable", Source: "https://example.com/funding", Date: "2026-11-30"},
		{Criterion: "system_card", Value: LevelUnknown},
		{Criterion: "security_reports", Value: "breach", Source: "https://example.com/incident", Date: "2026-12-01"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	conf = c.Confidence(claude, ov)
	if conf.Posture.Total != 2.0 { // 1.2 + 0 (breach) + 0.8
		t.Errorf("Claude posture with overlay = %v, want 2", conf.Posture.Total)
	}
	if conf.AI.Total != 3 {
		t.Errorf("Claude gen-AI with overlay = %v, want 3", conf.AI.Total)
	}
	for _, ct := range conf.AI.Contributions {
		if ct.Criterion.Key == "system_card" && (ct.Evidence != nil || !ct.FromOverlay) {
			t.Errorf("system card contribution = %+v, want withdrawn by the overlay", ct)
		}
	}

	// A SaaS app has no generative-AI score; an app without evidence scores 0 everywhere.
	slack := c.Confidence(c.AppByName("Slack"), nil)
	if slack.AI.Applicable || len(slack.AI.Contributions) != 0 {
		t.Errorf("Slack gen-AI score = %+v, want not applicable", slack.AI)
	}
	if slack.Posture.Total != 2.0 { // compliance 1.2 + financial 0.8
		t.Errorf("Slack posture = %v, want 2", slack.Posture.Total)
	}
	pika := c.Confidence(c.AppByName("Pika"), nil)
	if pika.Posture.Total != 0 || pika.AI.Total != 0 {
		t.Errorf("Pika (no evidence) = %v/%v, want 0/0", pika.Posture.Total, pika.AI.Total)
	}
	// Every shipped score stays within 0–5.
	for _, a := range c.Apps() {
		cf := c.Confidence(a, nil)
		if cf.Posture.Total < 0 || cf.Posture.Total > 5 || cf.AI.Total < 0 || cf.AI.Total > 5 {
			t.Errorf("%s: scores %v/%v out of range", a.Name, cf.Posture.Total, cf.AI.Total)
		}
	}
}

func TestParseEvidenceOverlayErrors(t *testing.T) {
	c := mustDefault(t)
	tests := []struct {
		in   EvidenceOverlay
		want string
	}{
		{EvidenceOverlay{"Claud": nil}, `did you mean "Claude"`},
		{EvidenceOverlay{"Claude": {{Criterion: "vibes", Value: "full", Source: "https://x.example", Date: "2026-01-01"}}}, `unknown criterion "vibes"`},
		{EvidenceOverlay{"Claude": {{Criterion: "compliance", Value: "great", Source: "https://x.example", Date: "2026-01-01"}}}, `value "great" is not one of full, partial, none`},
		{EvidenceOverlay{"Claude": {{Criterion: "compliance", Value: "full", Source: "http://x.example", Date: "2026-01-01"}}}, "not an https URL"},
		{EvidenceOverlay{"Claude": {{Criterion: "compliance", Value: "full", Source: "https://x.example", Date: "01/02/2026"}}}, "not YYYY-MM-DD"},
		{EvidenceOverlay{"Claude": {{Criterion: "compliance", Value: LevelUnknown}, {Criterion: "compliance", Value: LevelUnknown}}}, "given twice"},
	}
	for _, tt := range tests {
		_, err := ParseEvidenceOverlay(c, tt.in)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseEvidenceOverlay(%v) = %v, want an error containing %q", tt.in, err, tt.want)
		}
	}
}
