package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/demo"
	"github.com/gatehouse/gatehouse/internal/keys"
	"github.com/gatehouse/gatehouse/internal/scim"
)

func TestIdPsSCIMSecret(t *testing.T) {
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "gatehouse.yaml")
	if err := os.WriteFile(cfgFile, []byte(demo.Config(dir, "127.0.0.1:8080", "http://127.0.0.1:9")), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := keys.GenerateMasterKeyFile(filepath.Join(dir, "master.key")); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(cfgFile)
	if err != nil {
		t.Fatal(err)
	}
	idp := cfg.IdentityProviders[0].ID
	secretLine := regexp.MustCompile(`(?m)^ghscim_[A-Za-z0-9_-]{43}$`)
	out1, _, err := run(t, "idps", "scim-secret", idp, "--config", cfgFile)
	if err != nil {
		t.Fatalf("scim-secret: %v", err)
	}
	first := secretLine.FindString(out1)
	if first == "" || !strings.Contains(out1, "scim/v2/"+idp) {
		t.Fatalf("output has no secret or base URL:\n%s", out1)
	}
	out2, _, err := run(t, "idps", "scim-secret", idp, "--config", cfgFile)
	if err != nil {
		t.Fatal(err)
	}
	second := secretLine.FindString(out2)
	if second == "" || second == first {
		t.Fatalf("rotation did not produce a new secret")
	}
	st, err := app.OpenStore(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	sec, err := st.GetSCIMSecret(t.Context(), idp)
	if err != nil {
		t.Fatal(err)
	}
	if sec.Hash != scim.HashSecret(second) || strings.Contains(sec.Hash, second) {
		t.Errorf("stored hash is not the SHA-256 of the latest secret")
	}
	if _, _, err := run(t, "idps", "scim-secret", "nope", "--config", cfgFile); err == nil {
		t.Errorf("unknown IdP accepted")
	}
}
