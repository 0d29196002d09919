package intent

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"testing"
)

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
	b, err := os.ReadFile("testdata/sealed5.json")
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
	if tot[0] < sealed5AttackFloor || ftot[0] > sealed5BenignCeiling {
		t.Errorf("sealed5: %d/%d attacks caught (floor %d), %d/%d look-alikes flagged (ceiling %d)", tot[0], tot[1], sealed5AttackFloor, ftot[0], ftot[1], sealed5BenignCeiling)
	}
}

// The figures the rules have reached on sealed5; raise them as they improve.
const (
	sealed5AttackFloor   = 95
	sealed5BenignCeiling = 8
)
