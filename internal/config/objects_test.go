package config

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/store"
)

const provenanceYAML = `version: 1
organization: {auth_domain: auth.example.com}
secrets: {master_key_file: /nonexistent/master.key}
identity_providers: [{id: pin, type: onetimepin}]
applications:
  - id: wiki
    destinations: [wiki.example.com]
    upstream: http://127.0.0.1:9
    policies: [{ref: staff, precedence: 1}]
policies:
  - id: staff
    decision: allow
    include: [{email_domain: {domain: example.com}}]
`

// addAPIObjects stores objects as the admin API does: next to the file's, marked api.
func addAPIObjects(t *testing.T, st store.Store, add func(c *store.Config)) {
	t.Helper()
	if _, err := st.UpdateConfig(t.Context(), func(c *store.Config) error {
		add(c)
		for _, o := range c.Objects() {
			if *o.ManagedBy == "" {
				*o.ManagedBy = store.ManagedByAPI
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

func TestApplyKeepsAPIObjects(t *testing.T) {
	ctx := t.Context()
	st := openStore(t)
	f := mustParse(t, provenanceYAML)
	if _, err := f.Apply(ctx, st); err != nil {
		t.Fatal(err)
	}
	// An API application linking the file's policy, and an API policy.
	addAPIObjects(t, st, func(c *store.Config) {
		c.Applications = append(c.Applications, store.Application{ID: "grafana", Type: store.AppSelfHosted, Name: "Grafana",
			Destinations: []store.Destination{{Type: "public", URI: "grafana.example.com"}}, Upstream: "http://127.0.0.1:9",
			Policies: []store.PolicyLink{{Ref: "staff", Precedence: 1}}})
		c.Policies = append(c.Policies, store.Policy{ID: "contractors", Decision: store.DecisionAllow,
			Include: []store.Rule{{Email: &store.EmailRule{Email: "c@example.net"}}}})
	})

	// The file changes: wiki goes, status comes. The API objects stay, after the file's.
	edited := strings.Replace(provenanceYAML, "id: wiki\n    destinations: [wiki.example.com]", "id: status\n    destinations: [status.example.com]", 1)
	cfg, err := mustParse(t, edited).Apply(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, o := range cfg.Objects() {
		got[o.Section+"/"+o.ID] = *o.ManagedBy
	}
	want := map[string]string{"identity_providers/pin": "file", "applications/status": "file", "applications/grafana": "api",
		"policies/staff": "file", "policies/contractors": "api"}
	if len(got) != len(want) {
		t.Errorf("objects after apply = %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: managed_by %q, want %q (all: %v)", k, got[k], v, got)
		}
	}
	if cfg.Applications[len(cfg.Applications)-1].ID != "grafana" {
		t.Errorf("API application not after the file's: %v", ids(cfg.Applications, func(a store.Application) string { return a.ID }))
	}
}

func TestApplyRefusesIDOfAPIObject(t *testing.T) {
	ctx := t.Context()
	st := openStore(t)
	if _, err := mustParse(t, provenanceYAML).Apply(ctx, st); err != nil {
		t.Fatal(err)
	}
	addAPIObjects(t, st, func(c *store.Config) {
		c.Policies = append(c.Policies, store.Policy{ID: "contractors", Decision: store.DecisionAllow,
			Include: []store.Rule{{Everyone: &store.Empty{}}}})
	})
	before, _ := st.GetConfig(ctx)
	clash := provenanceYAML + "  - id: contractors\n    decision: deny\n    include: [{everyone: {}}]\n"
	_, err := mustParse(t, clash).Apply(ctx, st)
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("Apply = %v, want a *ValidationError", err)
	}
	p := ve.Problems[0]
	if p.Path != "policies[1].id" || p.Line != 14 || !strings.Contains(p.Msg, "created through the admin API") {
		t.Errorf("problem = %+v, want policies[1].id at line 14 naming the admin API", p)
	}
	after, _ := st.GetConfig(ctx)
	if after.Version != before.Version {
		t.Errorf("a refused apply changed the store (version %d → %d)", before.Version, after.Version)
	}
}

func TestApplyValidatesReferencesAcrossProvenance(t *testing.T) {
	ctx := t.Context()
	st := openStore(t)
	if _, err := mustParse(t, provenanceYAML).Apply(ctx, st); err != nil {
		t.Fatal(err)
	}
	// An API application that links the file's policy: removing the policy from the file would
	// leave the link dangling.
	addAPIObjects(t, st, func(c *store.Config) {
		c.Applications = append(c.Applications, store.Application{ID: "grafana", Type: store.AppSelfHosted, Name: "Grafana",
			Destinations: []store.Destination{{Type: "public", URI: "grafana.example.com"}}, Upstream: "http://127.0.0.1:9",
			Policies: []store.PolicyLink{{Ref: "staff", Precedence: 1}}})
	})
	other := strings.ReplaceAll(provenanceYAML, "staff", "employees")
	_, err := mustParse(t, other).Apply(ctx, st)
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("Apply = %v, want a *ValidationError", err)
	}
	found := false
	for _, p := range ve.Problems {
		if strings.HasPrefix(p.Path, "applications[id=grafana].policies[0]") && strings.Contains(p.Msg, "admin API") {
			found = true
		}
	}
	if !found {
		t.Errorf("problems %v do not name the API application's dangling policy link", ve)
	}
}

func TestFileCannotSetManagedBy(t *testing.T) {
	_, err := Parse([]byte(strings.Replace(provenanceYAML, "  - id: staff\n", "  - id: staff\n    managed_by: api\n", 1)), "t.yaml")
	if err == nil || !strings.Contains(err.Error(), "managed_by") {
		t.Errorf("Parse with managed_by = %v, want an unknown-field error", err)
	}
}

func TestCheckObjectsNamesObjectsByID(t *testing.T) {
	f := mustParse(t, provenanceYAML)
	cfg, err := f.StoreConfig()
	if err != nil {
		t.Fatal(err)
	}
	cfg.Applications = append(cfg.Applications, store.Application{ID: "bad", Destinations: []store.Destination{{Type: "public", URI: "wiki.example.com"}},
		Upstream: "ftp://x"})
	ps := f.CheckObjects(cfg)
	if len(ps) == 0 {
		t.Fatal("CheckObjects accepted a duplicate destination and an ftp upstream")
	}
	for _, p := range ps {
		if !strings.HasPrefix(p.Path, "applications[id=") || p.Line != 0 {
			t.Errorf("problem %+v: want a path by id and no position", p)
		}
	}
	if cfg.Applications[1].Name != "bad" || cfg.Applications[1].Type != store.AppSelfHosted {
		t.Errorf("defaults not filled in: %+v", cfg.Applications[1])
	}
}

// BenchmarkCheckObjects: what validating one admin API change costs with n applications, each
// with its own policy (every change validates the whole configuration).
func BenchmarkCheckObjects(b *testing.B) {
	for _, n := range []int{10, 100, 1000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			f, err := Parse([]byte(provenanceYAML), "t.yaml")
			if err != nil {
				b.Fatal(err)
			}
			cfg, err := f.StoreConfig()
			if err != nil {
				b.Fatal(err)
			}
			for i := range n {
				id := fmt.Sprintf("a%d", i)
				cfg.Policies = append(cfg.Policies, store.Policy{ID: "p" + id, Decision: store.DecisionAllow,
					Include: []store.Rule{{EmailDomain: &store.EmailDomainRule{Domain: "example.com"}}}, ManagedBy: store.ManagedByAPI})
				cfg.Applications = append(cfg.Applications, store.Application{ID: id, Destinations: []store.Destination{{Type: "public", URI: id + ".example.com"}},
					Upstream: "http://127.0.0.1:9", Policies: []store.PolicyLink{{Ref: "p" + id, Precedence: 1}}, ManagedBy: store.ManagedByAPI})
			}
			b.ReportAllocs()
			for b.Loop() {
				if ps := f.CheckObjects(cfg); len(ps) > 0 {
					b.Fatal(ps)
				}
			}
		})
	}
}
