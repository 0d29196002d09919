package applib

import (
	"testing"
)

func mustDefault(t testing.TB) *Catalog {
	t.Helper()
	c, err := Default()
	if err != nil {
		t.Fatalf("embedded catalogue: %v", err)
	}
	return c
}

// TestCatalogueCounts: the issue asks for ≥150 applications of which ≥60 are AI.
func TestCatalogueCounts(t *testing.T) {
	c := mustDefault(t)
	ai := 0
	for _, a := range c.Apps() {
		if a.IsAI() {
			ai++
		}
	}
	t.Logf("%d applications, %d AI", len(c.Apps()), ai)
	if len(c.Apps()) < 150 {
		t.Errorf("%d applications, want at least 150", len(c.Apps()))
	}
	if ai < 60 {
		t.Errorf("%d AI applications, want at least 60", ai)
	}
}
