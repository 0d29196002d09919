package config

import (
	"context"
	"errors"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
)

func openStore(t *testing.T) *sqlstore.Store {
	t.Helper()
	st, err := sqlstore.Open(t.Context(), "sqlite", "file:"+filepath.Join(t.TempDir(), "gatehouse.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

func mustParse(t *testing.T, in string) *File {
	t.Helper()
	f, err := Parse([]byte(in), "t.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return f
}

var audRE = regexp.MustCompile(`^[0-9a-f]{64}$`)

func TestApply(t *testing.T) {
	ctx := t.Context()
	st := openStore(t)

	// Something an admin created before the file was applied.
	if _, err := st.UpdateConfig(ctx, func(c *store.Config) error {
		c.Policies = append(c.Policies, store.Policy{ID: "stale", Decision: "allow",
			Include: []store.Rule{{Everyone: &store.Empty{}}}})
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	f := mustParse(t, string(Example()))
	before := time.Now().UTC().Add(-time.Second)
	cfg, err := f.Apply(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Version != 2 {
		t.Errorf("version = %d, want 2", cfg.Version)
	}
	if got := ids(cfg.Policies, func(p store.Policy) string { return p.ID }); got != "employees,ci" {
		t.Errorf("policies = %s: the file's objects must replace the store's", got)
	}
	auds := map[string]string{}
	for _, a := range cfg.Applications {
		if !audRE.MatchString(a.AUD) {
			t.Errorf("app %s has AUD %q", a.ID, a.AUD)
		}
		auds[a.ID] = a.AUD
	}
	created := cfg.ServiceTokens[0].CreatedAt
	if created.Before(before) || created.Location() != time.UTC {
		t.Errorf("new token CreatedAt = %v", created)
	}
	stored, err := st.GetConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if stored.Version != cfg.Version || len(stored.Applications) != len(f.Applications) ||
		stored.Organization != f.Organization {
		t.Errorf("GetConfig differs from what Apply returned:\n%+v\n%+v", stored, cfg)
	}

	// Applying the same file again keeps AUDs and token creation times.
	cfg, err = f.Apply(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range cfg.Applications {
		if a.AUD != auds[a.ID] {
			t.Errorf("app %s AUD changed from %s to %s", a.ID, auds[a.ID], a.AUD)
		}
	}
	if !cfg.ServiceTokens[0].CreatedAt.Equal(created) {
		t.Errorf("token CreatedAt changed from %v to %v", created, cfg.ServiceTokens[0].CreatedAt)
	}

	// A changed file: an application removed, a token re-keyed.
	edited := strings.Replace(string(Example()), "client_secret_sha256: 0a5ea0d8", "client_secret_sha256: 1a5ea0d8", 1)
	i, j := strings.Index(edited, "  - id: status"), strings.Index(edited, "\npolicies:")
	edited = edited[:i] + edited[j+1:]
	cfg, err = mustParse(t, edited).Apply(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(cfg.Applications, func(a store.Application) string { return a.ID }); got != "wiki,api,jira,chat,launcher" {
		t.Errorf("applications = %s", got)
	}
	if !cfg.ServiceTokens[0].CreatedAt.After(created) {
		t.Errorf("re-keyed token kept CreatedAt %v", created)
	}
	if cfg.ServiceTokens[0].ClientSecretSHA256[:8] != "1a5ea0d8" {
		t.Errorf("hash not replaced: %s", cfg.ServiceTokens[0].ClientSecretSHA256)
	}
}

func TestApplyRefusesInvalid(t *testing.T) {
	ctx := t.Context()
	st := openStore(t)
	f := &File{Version: 1, Organization: store.Organization{AuthDomain: "https://auth.example.com"}}
	f.SetDefaults()
	_, err := f.Apply(ctx, st)
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("Apply = %v", err)
	}
	// A secret that cannot be resolved stops Apply too.
	f = mustParse(t, head+"service_tokens: [{id: a, client_id: a, client_secret: {env: GATEHOUSE_TEST_UNSET_APPLY}}]\n")
	if _, err := f.Apply(ctx, st); !errors.As(err, &ve) {
		t.Fatalf("Apply = %v", err)
	}
	cfg, err := st.GetConfig(ctx)
	if err != nil || cfg.Version != 0 {
		t.Errorf("store changed: %+v, %v", cfg, err)
	}
}

func TestApplyStoreError(t *testing.T) {
	st := openStore(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := mustParse(t, string(Example())).Apply(ctx, st)
	if err == nil || !strings.HasPrefix(err.Error(), "config: applying to the store: ") {
		t.Errorf("Apply = %v", err)
	}
}

func ids[T any](xs []T, id func(T) string) string {
	var out []string
	for _, x := range xs {
		out = append(out, id(x))
	}
	return strings.Join(out, ",")
}
