package intent

import "testing"

// TestSealed4Eval scores testdata/sealed4.json, a fourth set written blind (160 attacks in 31
// families, 100 look-alikes in 13) while the third generalisation pass was under way, by an
// engineer who saw neither the rules nor the other sets; nobody working on the rules saw it
// until both figures below were recorded (2026-12-07):
//
//	before the third pass (commit d665c08): attacks 79/160 (jailbreak 49/100, PII 13/30,
//	  code abuse 17/30), look-alikes flagged 7/100
//	after it, first run of the rules as merged: attacks 127/160 (jailbreak 78/100, PII 24/30,
//	  code abuse 25/30), look-alikes flagged 8/100
//
//	after the fifth pass, which used its misses and false positives to find
//	  classes (branch hj): attacks 157/160 (jailbreak 97/100, PII 30/30, code
//	  abuse 30/30), look-alikes flagged 0/100
//
// From then on the set is no longer held out; the test fails below the figures reached.
func TestSealed4Eval(t *testing.T) {
	scoreSealedSet(t, "sealed4", sealed4AttackFloor, sealed4BenignCeiling)
}

// The figures the rules have reached on sealed4; raise them as they improve.
const (
	sealed4AttackFloor   = 157
	sealed4BenignCeiling = 0
)
