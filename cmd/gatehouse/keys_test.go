package main

import (
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/store"
)

// currentKeys returns the current key ID of each use in the configured store.
func currentKeys(t *testing.T, cfgFile string) map[string]string {
	t.Helper()
	cfg, err := config.Load(cfgFile)
	if err != nil {
		t.Fatal(err)
	}
	st, err := app.OpenStore(t.Context(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	sks, err := st.SigningKeys(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	cur := map[string]string{}
	for _, k := range sks {
		if k.RetireAt.IsZero() {
			cur[k.Use] = k.ID
		}
	}
	return cur
}

// TestKeysRotate: each use rotates on its own; the first rotation of a use creates its key.
func TestKeysRotate(t *testing.T) {
	cfgFile, _ := adminFixture(t)
	out := mustRun(t, "keys", "rotate", "--config", cfgFile)
	if !strings.Contains(out, "rotated tokens signing key") {
		t.Errorf("output %q", out)
	}
	mustRun(t, "keys", "rotate", "--config", cfgFile, "--use", "saas-saml")
	before := currentKeys(t, cfgFile)
	if before[""] == "" || before[store.SigningKeyUseSaaSSAML] == "" {
		t.Fatalf("current keys %v, want one per use", before)
	}

	mustRun(t, "keys", "rotate", "--config", cfgFile)
	after := currentKeys(t, cfgFile)
	if after[""] == before[""] || after[store.SigningKeyUseSaaSSAML] != before[store.SigningKeyUseSaaSSAML] {
		t.Errorf("token rotation: %v -> %v, want only the token key changed", before, after)
	}
	mustRun(t, "keys", "rotate", "--config", cfgFile, "--use", "saas-saml")
	last := currentKeys(t, cfgFile)
	if last[""] != after[""] || last[store.SigningKeyUseSaaSSAML] == after[store.SigningKeyUseSaaSSAML] {
		t.Errorf("SAML rotation: %v -> %v, want only the SAML key changed", after, last)
	}
	if _, _, err := run(t, "keys", "rotate", "--config", cfgFile, "--use", "jwt"); err == nil || !strings.Contains(err.Error(), "want tokens, saas-saml, saml-encryption or saml-sp") {
		t.Errorf("unknown use: %v", err)
	}
}
