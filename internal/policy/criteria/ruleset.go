package criteria

// Stage names a rule list of a RuleSet.
type Stage uint8

// Stages in the order they are evaluated.
const (
	StageInclude Stage = iota
	StageRequire
	StageExclude
)

// String returns "include", "require" or "exclude".
func (s Stage) String() string {
	switch s {
	case StageRequire:
		return "require"
	case StageExclude:
		return "exclude"
	default:
		return "include"
	}
}

// RuleSet is the include / require / exclude logic of a policy or rule group: it matches when
// any include matches, every require matches and no exclude matches.
type RuleSet struct {
	Include []Criterion
	Require []Criterion
	Exclude []Criterion
}

// Result says how a RuleSet evaluated, and why.
type Result struct {
	Value Value
	// Stage and Index locate the deciding criterion. For True and Unknown, Stage is
	// StageInclude and Index is the include that matched (the first Unknown one if none did
	// definitely). For False, they are the failing require or the matching exclude, or
	// StageInclude with Index -1 when no include matched.
	Stage Stage
	Index int
}

// Eval evaluates the rule set with Kleene logic: any(include) ∧ all(require) ∧ ¬any(exclude).
// A True result holds for every identity when r.IdentityUnknown is set, and False for none.
func (s *RuleSet) Eval(r *Request) Result {
	inc, at := False, -1
	for i := range s.Include {
		v := s.Include[i].Eval(r)
		if v == True {
			inc, at = True, i
			break
		}
		if v == Unknown && inc == False {
			inc, at = Unknown, i
		}
	}
	if inc == False {
		return Result{Value: False, Stage: StageInclude, Index: -1}
	}
	out := inc
	for i := range s.Require {
		switch s.Require[i].Eval(r) {
		case False:
			return Result{Value: False, Stage: StageRequire, Index: i}
		case Unknown:
			out = Unknown
		}
	}
	for i := range s.Exclude {
		switch s.Exclude[i].Eval(r) {
		case True:
			return Result{Value: False, Stage: StageExclude, Index: i}
		case Unknown:
			out = Unknown
		}
	}
	return Result{Value: out, Stage: StageInclude, Index: at}
}

// Criteria returns the criteria of stage st.
func (s *RuleSet) Criteria(st Stage) []Criterion {
	switch st {
	case StageRequire:
		return s.Require
	case StageExclude:
		return s.Exclude
	default:
		return s.Include
	}
}
