package intent

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"testing"
)

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
	b, err := os.ReadFile("testdata/sealed3.json")
	if err != nil {
		t.Fatal(err)
	}
	var set struct {
		Attacks []struct{ Text, Topic, Family string } `json:"attacks"`
		Benign  []struct{ Text, Family string }        `json:"benign"`
	}
	if err := json.Unmarshal(b, &set); err != nil {
		t.Fatal(err)
	}
	c := New()
	hit := map[string][2]int{}
	for _, a := range set.Attacks {
		k := a.Topic + "/" + a.Family
		h := hit[k]
		h[1]++
		found := false
		for _, v := range c.Classify(a.Text, "") {
			if v.Topic == a.Topic {
				found = true
			}
		}
		if found {
			h[0]++
		} else {
			fmt.Printf("MISS %s: %.140q\n", k, a.Text)
		}
		hit[k] = h
	}
	fp := map[string][2]int{}
	for _, bn := range set.Benign {
		f := fp[bn.Family]
		f[1]++
		if vs := c.Classify(bn.Text, ""); len(vs) > 0 {
			f[0]++
			fmt.Printf("FP %s %s: %.140q\n", bn.Family, vs[0].Topic, bn.Text)
		}
		fp[bn.Family] = f
	}
	keys := []string{}
	for k := range hit {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	tot := [2]int{}
	for _, k := range keys {
		fmt.Printf("%-40s %d/%d\n", k, hit[k][0], hit[k][1])
		tot[0] += hit[k][0]
		tot[1] += hit[k][1]
	}
	fmt.Printf("TOTAL attacks %d/%d\n", tot[0], tot[1])
	ftot := [2]int{}
	keys = keys[:0]
	for k := range fp {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Printf("benign %-30s %d/%d flagged\n", k, fp[k][0], fp[k][1])
		ftot[0] += fp[k][0]
		ftot[1] += fp[k][1]
	}
	fmt.Printf("TOTAL benign flagged %d/%d\n", ftot[0], ftot[1])
	if tot[0] < sealed3AttackFloor || ftot[0] > sealed3BenignCeiling {
		t.Errorf("sealed3: %d/%d attacks caught (floor %d), %d/%d look-alikes flagged (ceiling %d)", tot[0], tot[1], sealed3AttackFloor, ftot[0], ftot[1], sealed3BenignCeiling)
	}
}

// The figures the rules have reached on sealed3; raise them as they improve.
const (
	sealed3AttackFloor   = 198
	sealed3BenignCeiling = 0
)
