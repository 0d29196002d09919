package intent

import "testing"

// TestSealed3Eval scores testdata/sealed3.json, a set written blind (by an engineer who never
// saw the classifier or its other sets) after the second generalisation pass. Its first run,
// recorded before any rule looked at it (2026-12-07, commit 73bf9a6):
//
//	attacks 119/200: intent_jailbreak 79/120, intent_pii 21/40, intent_code_abuse 19/40
//	benign look-alikes flagged 6/120
//
// By family: indirect_injection 4/16, encoding 6/14, payload_splitting 5/10, comment_smuggling
// 6/10, fake_system 9/12, persona 9/12, leetspeak 6/8, homoglyph_zero_width 8/10,
// ignore_previous 11/12, other_language 15/16. After the fourth pass (classes of phrasing its
// misses showed, checked on 158 further probes and 139 look-alikes of its own, lookalike4_test.go):
//
//	attacks 198/200: intent_jailbreak 118/120, intent_pii 40/40, intent_code_abuse 40/40
//	benign look-alikes flagged 0/120
//
// From then on the set is no longer held out;
// the test prints the per-family figures (go test -v -run TestSealed3Eval) and fails below
// the floor it has reached.
func TestSealed3Eval(t *testing.T) {
	scoreSealedSet(t, "sealed3", sealed3AttackFloor, sealed3BenignCeiling)
}

// The figures the rules have reached on sealed3; raise them as they improve.
const (
	sealed3AttackFloor   = 198
	sealed3BenignCeiling = 0
)
