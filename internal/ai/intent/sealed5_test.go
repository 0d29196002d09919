package intent

import "testing"

// TestSealed5Eval scores testdata/sealed5.json, a fifth set written blind (150 attacks in 27
// families, 100 look-alikes in 12) while the fourth generalisation pass was under way, by an
// engineer who saw neither the rules nor the other sets and was asked to avoid the best-known
// phrasings; nobody working on the rules saw it until both figures below were recorded
// (2026-12-07):
//
//	before the fourth pass (commit c71bfe8): attacks 89/150, look-alikes flagged 10/100
//	after it, first run of the rules as merged: attacks 95/150 (jailbreak 66/100, PII 15/25,
//	  code abuse 14/25), look-alikes flagged 8/100
//
// From then on the set is no longer held out; the test fails below the figures reached.
func TestSealed5Eval(t *testing.T) {
	scoreSealedSet(t, "sealed5", sealed5AttackFloor, sealed5BenignCeiling)
}

// The figures the rules have reached on sealed5; raise them as they improve.
const (
	sealed5AttackFloor   = 95
	sealed5BenignCeiling = 8
)
