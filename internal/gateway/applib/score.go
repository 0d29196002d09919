package applib

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
)

// Score names one of the two five-point application confidence scores.
type Score string

// The two confidence scores of the design reference (§2.4).
const (
	PostureScore Score = "posture" // Application Posture Score
	AIScore      Score = "gen_ai"  // Generative-AI Posture Score (AI applications only)
)

// LevelUnknown is the value an evidence overlay uses to withdraw shipped evidence; the criterion
// then scores 0 as "no evidence". Criteria must not define a level with this name.
const LevelUnknown = "unknown"

// Criterion is one line of a confidence rubric: it is worth Points, of which an application
// earns the fraction its evidence's level is worth.
type Criterion struct {
	Key    string  `yaml:"key" json:"key,omitempty"`
	Name   string  `yaml:"name" json:"name,omitempty"`
	Score  Score   `yaml:"score" json:"score,omitempty"`
	Points float64 `yaml:"points" json:"points,omitempty"`
	// Inputs describes what the evidence must show.
	Inputs string `yaml:"inputs" json:"inputs,omitempty"`
	// Levels maps an evidence value to the fraction of Points it earns (0–1).
	Levels map[string]float64 `yaml:"levels" json:"levels,omitempty"`
}

func (cr *Criterion) validate() error {
	if cr.Key == "" || cr.Name == "" {
		return fmt.Errorf("score criterion %q: key and name are required", cr.Key)
	}
	if cr.Score != PostureScore && cr.Score != AIScore {
		return fmt.Errorf("score criterion %q: score %q is not %q or %q", cr.Key, cr.Score, PostureScore, AIScore)
	}
	if cr.Points <= 0 || cr.Points > 5 {
		return fmt.Errorf("score criterion %q: points %.2f out of range", cr.Key, cr.Points)
	}
	if len(cr.Levels) == 0 {
		return fmt.Errorf("score criterion %q: no levels", cr.Key)
	}
	for l, f := range cr.Levels {
		if l == LevelUnknown || l == "" {
			return fmt.Errorf("score criterion %q: level %q is reserved", cr.Key, l)
		}
		if f < 0 || f > 1 {
			return fmt.Errorf("score criterion %q: level %q is worth %.2f, outside 0–1", cr.Key, l, f)
		}
	}
	return nil
}

func (cr *Criterion) levelNames() []string {
	n := make([]string, 0, len(cr.Levels))
	for l := range cr.Levels {
		n = append(n, l)
	}
	sort.Slice(n, func(i, j int) bool {
		if cr.Levels[n[i]] != cr.Levels[n[j]] {
			return cr.Levels[n[i]] > cr.Levels[n[j]]
		}
		return n[i] < n[j]
	})
	return n
}

// Criteria returns the rubric, posture criteria first, in data order.
func (c *Catalog) Criteria() []Criterion {
	out := make([]Criterion, 0, len(c.criteria))
	for _, sc := range []Score{PostureScore, AIScore} {
		for _, cr := range c.criteria {
			if cr.Score == sc {
				out = append(out, cr)
			}
		}
	}
	return out
}

// Contribution is one criterion's part of a score.
type Contribution struct {
	Criterion Criterion `json:"criterion"`
	// Level is the evidence's value, or "" when there is no evidence.
	Level string `json:"level,omitempty"`
	// Points is what the criterion contributes: Criterion.Points × the level's fraction.
	Points float64 `json:"points"`
	// Evidence is the fact behind Level; nil means "no evidence" (scored 0).
	Evidence *Evidence `json:"evidence"`
	// FromOverlay is true when the operator's overlay supplied or withdrew the evidence.
	FromOverlay bool `json:"from_overlay,omitempty"`
}

// ScoreResult is one computed confidence score.
type ScoreResult struct {
	Score Score `json:"score"`
	// Applicable is false for the generative-AI score of an application that is not AI.
	Applicable bool `json:"applicable"`
	// Total is the sum of the contributions, rounded to two decimals, out of Max (5).
	Total         float64        `json:"total"`
	Max           float64        `json:"max"`
	Contributions []Contribution `json:"contributions"`
}

// Confidence holds both confidence scores of an application.
type Confidence struct {
	AppID   int         `json:"app_id"`
	Posture ScoreResult `json:"posture"`
	AI      ScoreResult `json:"gen_ai"`
}

// EvidenceOverlay is operator-supplied evidence as configuration would hold it: application id
// or name → evidence entries. An entry replaces the shipped evidence for its criterion; value
// "unknown" withdraws it. Resolve it with ParseEvidenceOverlay.
type EvidenceOverlay map[string][]Evidence

// ResolvedEvidence is a validated evidence overlay: application id → criterion → evidence.
type ResolvedEvidence map[int]map[string]Evidence

// ParseEvidenceOverlay validates an evidence overlay against the catalogue: known applications
// (with "did you mean"), known criteria and levels, https sources, YYYY-MM-DD dates, one entry
// per criterion. A withdrawal (value "unknown") needs no source.
func ParseEvidenceOverlay(c *Catalog, in EvidenceOverlay) (ResolvedEvidence, error) {
	keys := make([]string, 0, len(in))
	for k := range in {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := ResolvedEvidence{}
	var errs []error
	for _, k := range keys {
		app, problem := c.resolveApp(k)
		if app == nil {
			errs = append(errs, fmt.Errorf("app_evidence[%q]: %s", k, problem))
			continue
		}
		m := out[app.ID]
		if m == nil {
			m = map[string]Evidence{}
			out[app.ID] = m
		}
		for _, e := range in[k] {
			if _, dup := m[e.Criterion]; dup {
				errs = append(errs, fmt.Errorf("app_evidence[%q]: criterion %q given twice", k, e.Criterion))
				continue
			}
			if e.Value == LevelUnknown {
				if c.critByKey[e.Criterion] == nil {
					errs = append(errs, fmt.Errorf("app_evidence[%q]: unknown criterion %q", k, e.Criterion))
					continue
				}
			} else if err := e.validate(c.critByKey); err != nil {
				errs = append(errs, fmt.Errorf("app_evidence[%q]: %w", k, err))
				continue
			}
			m[e.Criterion] = e
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

// Confidence computes an application's two confidence scores from the shipped evidence and the
// operator's overlay (which may be nil). Each criterion contributes its points × the fraction of
// its evidence's level; a criterion without evidence contributes 0 and says so.
func (c *Catalog) Confidence(app *App, overlay ResolvedEvidence) Confidence {
	shipped := map[string]*Evidence{}
	for i := range app.Evidence {
		shipped[app.Evidence[i].Criterion] = &app.Evidence[i]
	}
	over := overlay[app.ID]
	res := Confidence{
		AppID:   app.ID,
		Posture: ScoreResult{Score: PostureScore, Applicable: true, Max: 5},
		AI:      ScoreResult{Score: AIScore, Applicable: app.IsAI(), Max: 5},
	}
	for _, cr := range c.Criteria() {
		ct := Contribution{Criterion: cr}
		if e, ok := over[cr.Key]; ok {
			ct.FromOverlay = true
			if e.Value != LevelUnknown {
				ev := e
				ct.Evidence = &ev
			}
		} else if e := shipped[cr.Key]; e != nil {
			ev := *e
			ct.Evidence = &ev
		}
		if ct.Evidence != nil {
			ct.Level = ct.Evidence.Value
			ct.Points = cr.Points * cr.Levels[ct.Level]
		}
		r := &res.Posture
		if cr.Score == AIScore {
			r = &res.AI
			if !r.Applicable {
				continue
			}
		}
		r.Contributions = append(r.Contributions, ct)
		r.Total += ct.Points
	}
	res.Posture.Total = round2(res.Posture.Total)
	res.AI.Total = round2(res.AI.Total)
	return res
}

func round2(f float64) float64 { return math.Round(f*100) / 100 }

// String renders a contribution for listings: "Security & privacy compliance: 1.20/1.20
// (full; https://…, 2026-12-01)" or "…: 0.00/1.00 (no evidence)".
func (ct Contribution) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %.2f/%.2f ", ct.Criterion.Name, ct.Points, ct.Criterion.Points)
	if ct.Evidence == nil {
		b.WriteString("(no evidence")
	} else {
		fmt.Fprintf(&b, "(%s; %s, %s", ct.Level, ct.Evidence.Source, ct.Evidence.Date)
	}
	if ct.FromOverlay {
		b.WriteString("; operator overlay")
	}
	b.WriteString(")")
	return b.String()
}
