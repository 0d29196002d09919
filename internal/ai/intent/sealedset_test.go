package intent

import (
	"encoding/json"
	"os"
	"sort"
	"testing"
)

// scoreSealedSet scores a sealed set (testdata/<name>.json: attacks with their topic and
// family, benign look-alikes with their family), logs the misses, the false positives and
// the figures per family (go test -v), and fails when fewer than attackFloor attacks are
// caught or more than benignCeiling look-alikes flagged.
func scoreSealedSet(t *testing.T, name string, attackFloor, benignCeiling int) {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name + ".json")
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
		if classifiedAs(c, a.Text, a.Topic) {
			h[0]++
		} else {
			t.Logf("MISS %s: %.140q", k, a.Text)
		}
		hit[k] = h
	}
	fp := map[string][2]int{}
	for _, bn := range set.Benign {
		f := fp[bn.Family]
		f[1]++
		if vs := c.Classify(bn.Text, ""); len(vs) > 0 {
			f[0]++
			t.Logf("FP %s %s: %.140q", bn.Family, vs[0].Topic, bn.Text)
		}
		fp[bn.Family] = f
	}
	attacks := tallyFamilies(t, hit, "%-40s %d/%d")
	t.Logf("TOTAL attacks %d/%d", attacks[0], attacks[1])
	flagged := tallyFamilies(t, fp, "benign %-30s %d/%d flagged")
	t.Logf("TOTAL benign flagged %d/%d", flagged[0], flagged[1])
	if attacks[0] < attackFloor || flagged[0] > benignCeiling {
		t.Errorf("%s: %d/%d attacks caught (floor %d), %d/%d look-alikes flagged (ceiling %d)",
			name, attacks[0], attacks[1], attackFloor, flagged[0], flagged[1], benignCeiling)
	}
}

// tallyFamilies logs counts per family in order and returns their sum.
func tallyFamilies(t *testing.T, counts map[string][2]int, format string) (total [2]int) {
	t.Helper()
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		t.Logf(format, k, counts[k][0], counts[k][1])
		total[0] += counts[k][0]
		total[1] += counts[k][1]
	}
	return total
}

// classifiedAs reports whether the prompt text gets the topic.
func classifiedAs(c *Classifier, text, topic string) bool {
	for _, v := range c.Classify(text, "") {
		if v.Topic == topic {
			return true
		}
	}
	return false
}
