package applib

import (
	"encoding/json"
	"strings"
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

// TestJSONFieldNames: the admin API will serve these types as JSON; their field names are the
// data file's (a public contract).
func TestJSONFieldNames(t *testing.T) {
	c := mustDefault(t)
	b, err := json.Marshal(c.App(1199))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"id":1199,"cloudflare_id":true,"name":"ChatGPT","app_type":25,"vendor":"OpenAI","ai_category":"chat"`, `"support_hostnames":[`, `"controls":[{"id":119901,"name":"prompt","match":[{"method":"POST","paths":[`, `"tenant_controls":["chatgpt-workspace"]`, `"evidence":[{"criterion":"compliance"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("ChatGPT as JSON lacks %s:\n%s", want, b)
		}
	}
	b, err = json.Marshal(c.Confidence(c.App(1199), nil))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"app_id":1199`, `"posture":{"score":"posture","applicable":true,"total":`, `"gen_ai":{"score":"gen_ai"`, `"evidence":null`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("confidence as JSON lacks %s:\n%s", want, b)
		}
	}
}
