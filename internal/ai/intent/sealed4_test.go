package intent

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"testing"
)

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
	b, err := os.ReadFile("testdata/sealed4.json")
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
	if tot[0] < sealed4AttackFloor || ftot[0] > sealed4BenignCeiling {
		t.Errorf("sealed4: %d/%d attacks caught (floor %d), %d/%d look-alikes flagged (ceiling %d)", tot[0], tot[1], sealed4AttackFloor, ftot[0], ftot[1], sealed4BenignCeiling)
	}
}

// The figures the rules have reached on sealed4; raise them as they improve.
const (
	sealed4AttackFloor   = 157
	sealed4BenignCeiling = 0
)
