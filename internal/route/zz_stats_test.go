package route

import "testing"

func TestZZStats(t *testing.T) {
	tbl, _ := benchTable(t, 10000)
	idx, small := 0, 0
	for _, wi := range tbl.wild {
		if wi == nil {
			continue
		}
		for _, b := range wi.buckets {
			if b.groups != nil {
				idx++
				t.Logf("indexed bucket: %d hosts, %d shapes, %d groups", len(b.hosts), len(b.shapes), len(b.groups))
			} else {
				small++
			}
		}
	}
	t.Logf("indexed %d small %d", idx, small)
}
