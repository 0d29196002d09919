package extract

import "testing"

func TestDefaultTableLoads(t *testing.T) {
	tab, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	if len(tab.Adapters()) < 20 {
		t.Fatalf("%d adapters", len(tab.Adapters()))
	}
}
