package policy

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/store"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

// where is an Error without its message, for comparisons.
type where struct{ Object, ID, Field string }

func compileErrors(t *testing.T, doc string) Errors {
	t.Helper()
	e, err := Compile(parseConfig(t, doc))
	if err == nil {
		t.Fatal("Compile succeeded")
	}
	if e != nil {
		t.Error("Compile returned an engine and an error")
	}
	var errs Errors
	if !errors.As(err, &errs) {
		t.Fatalf("error %T is not policy.Errors", err)
	}
	return errs
}

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want []where
		msg  string // substring of the first message
	}{
		{"no selector", `
policies: [{id: p, decision: allow, include: [{}]}]`,
			[]where{{"policy", "p", "include[0]"}}, "rule has no selector"},
		{"two selectors", `
policies: [{id: p, decision: allow, include: [{everyone: {}}, {email: {email: a@b.c}, geo: {country_code: PT}}]}]`,
			[]where{{"policy", "p", "include[1]"}}, "rule has 2 selectors (email, geo)"},
		{"bad cidr", `
policies: [{id: p, decision: allow, include: [{everyone: {}}, {everyone: {}}, {ip: {ip: 10.0.0.0/33}}]}]`,
			[]where{{"policy", "p", "include[2].ip.ip"}}, `invalid CIDR: netip.ParsePrefix("10.0.0.0/33")`},
		{"bad country", `
policies: [{id: p, decision: allow, include: [{everyone: {}}], exclude: [{geo: {country_code: UK}}]}]`,
			[]where{{"policy", "p", "exclude[0].geo.country_code"}}, "did you mean GB?"},
		{"bad decision", `
policies: [{id: p, decision: permit, include: [{everyone: {}}]}]`,
			[]where{{"policy", "p", "decision"}}, `unknown decision "permit"`},
		{"missing include", `
policies: [{id: p, decision: allow, require: [{everyone: {}}]}]`,
			[]where{{"policy", "p", "include"}}, "at least one include"},
		{"missing and duplicate ids", `
policies:
  - {decision: allow, include: [{everyone: {}}]}
  - {id: p, decision: allow, include: [{everyone: {}}]}
  - {id: p, decision: allow, include: [{everyone: {}}]}`,
			[]where{{"policy", "", "id"}, {"policy", "p", "id"}}, "id is required"},
		{"bad email and domain", `
policies: [{id: p, decision: allow, include: [{email: {email: alice}}, {email_domain: {domain: "*.example.com"}}]}]`,
			[]where{{"policy", "p", "include[0].email.email"}, {"policy", "p", "include[1].email_domain.domain"}}, "invalid e-mail address"},
		{"unknown references", `
policies:
  - id: p
    decision: allow
    include:
      - {email_list: {id: nope}}
      - {ip_list: {id: nope}}
      - {group: {id: nope}}
      - {login_method: {id: nope}}
      - {saml: {attribute_name: a, attribute_value: b, identity_provider_id: nope}}
      - {oidc: {claim_name: a, claim_value: b, identity_provider_id: nope}}
  - {id: s, decision: non_identity, include: [{service_token: {token_id: nope}}]}`,
			[]where{
				{"policy", "p", "include[0].email_list.id"},
				{"policy", "p", "include[1].ip_list.id"},
				{"policy", "p", "include[2].group.id"},
				{"policy", "p", "include[3].login_method.id"},
				{"policy", "p", "include[4].saml.identity_provider_id"},
				{"policy", "p", "include[5].oidc.identity_provider_id"},
				{"policy", "s", "include[0].service_token.token_id"},
			}, `unknown list "nope"`},
		{"list type mismatch", `
policies: [{id: p, decision: allow, include: [{email_list: {id: office}}, {ip_list: {id: admins}}]}]`,
			[]where{{"policy", "p", "include[0].email_list.id"}, {"policy", "p", "include[1].ip_list.id"}}, `list "office" has type "IP"`},
		{"empty saml fields", `
policies: [{id: p, decision: allow, include: [{saml: {attribute_name: "", attribute_value: ""}}, {oidc: {claim_name: c, claim_value: ""}}, {auth_method: {auth_method: ""}}]}]`,
			[]where{
				{"policy", "p", "include[0].saml.attribute_name"},
				{"policy", "p", "include[0].saml.attribute_value"},
				{"policy", "p", "include[1].oidc.claim_value"},
				{"policy", "p", "include[2].auth_method.auth_method"},
			}, "attribute_name is required"},
		{"github-organization problems", `
policies:
  - id: p
    decision: allow
    include:
      - {github-organization: {name: ""}}
      - {github_organization: {name: acme, team: Platform Team}}
      - {github-organization: {name: acme, identity_provider_id: nope}}
      - {github-organization: {name: acme}, github_organization: {name: acme}}
      - {github-organization: {name: acme, team: platform, identity_provider_id: gh}}
  - {id: b, decision: bypass, include: [{ip: {ip: 10.0.0.0/8}}], exclude: [{github_organization: {name: acme}}]}`,
			[]where{
				{"policy", "p", "include[0].github-organization.name"},
				{"policy", "p", "include[1].github_organization.team"},
				{"policy", "p", "include[2].github-organization.identity_provider_id"},
				{"policy", "p", "include[3]"},
				{"policy", "b", "exclude[0].github_organization"},
			}, "organization name is required"},
		{"identity selector in bypass", `
policies:
  - {id: p, decision: bypass, include: [{ip: {ip: 10.0.0.0/8}}], exclude: [{email: {email: a@example.com}}]}
  - {id: s, decision: non_identity, include: [{any_valid_service_token: {}}], require: [{auth_method: {auth_method: mfa}}]}`,
			[]where{{"policy", "p", "exclude[0].email"}, {"policy", "s", "require[0].auth_method"}},
			"identity selector email is not allowed in a bypass policy"},
		{"identity group in bypass", `
groups:
  - {id: outer, include: [{geo: {country_code: PT}}, {group: {id: inner}}]}
  - {id: inner, include: [{ip: {ip: 10.0.0.0/8}}], exclude: [{email_domain: {domain: example.com}}]}
  - {id: net, include: [{ip: {ip: 10.0.0.0/8}}]}
policies:
  - {id: p, decision: bypass, include: [{group: {id: net}}, {group: {id: outer}}]}`,
			[]where{{"policy", "p", "include[1].group.id"}},
			`identity selector email_domain (via group "outer" include[1].group.id -> group "inner" exclude[0].email_domain) is not allowed`},
		{"service token in allow and deny", `
groups:
  - {id: machines, include: [{any_valid_service_token: {}}]}
policies:
  - {id: a, decision: allow, include: [{service_token: {token_id: ci}}]}
  - {id: d, decision: deny, include: [{everyone: {}}], exclude: [{group: {id: machines}}]}`,
			[]where{{"policy", "a", "include[0].service_token"}, {"policy", "d", "exclude[0].group.id"}},
			"selector service_token only satisfies service auth (non_identity) policies, not allow"},
		{"group cycle", `
groups:
  - {id: a, include: [{group: {id: b}}]}
  - {id: b, include: [{everyone: {}}], require: [{group: {id: c}}]}
  - {id: c, include: [{group: {id: a}}]}
  - {id: self, include: [{group: {id: self}}]}
policies:
  - {id: p, decision: allow, include: [{group: {id: a}}]}`,
			[]where{{"group", "c", "include[0].group.id"}, {"group", "self", "include[0].group.id"}},
			"group reference cycle: a -> b -> c -> a"},
		{"group problems", `
groups:
  - {id: g, require: [{geo: {country_code: ZZ}}]}`,
			[]where{{"group", "g", "include"}, {"group", "g", "require[0].geo.country_code"}}, "at least one include"},
		{"lists", `
lists:
  - {id: l1, type: EMAIL, items: [{value: ok@example.com}, {value: nope}]}
  - {id: l2, type: IP, items: [{value: 10.0.0.0/8}, {value: 10.0.0.0/99}]}
  - {id: l3, type: DOMAIN}
  - {type: IP}`,
			[]where{
				{"list", "l1", "items[1].value"},
				{"list", "l2", "items[1].value"},
				{"list", "l3", "type"},
				{"list", "", "id"},
			}, `invalid e-mail address "nope"`},
		{"applications", `
policies: [{id: p, decision: allow, include: [{everyone: {}}]}, {id: q, decision: deny, include: [{everyone: {}}]}]
applications:
  - {id: app, policies: [{ref: p, precedence: 1}, {ref: nope, precedence: 2}, {ref: q, precedence: 1}, {ref: p, precedence: 3}, {precedence: 4}]}
  - {id: app, policies: [{ref: p, precedence: 1}]}
  - {policies: []}`,
			[]where{
				{"application", "app", "policies[1].ref"},
				{"application", "app", "policies[2].precedence"},
				{"application", "app", "policies[3].ref"},
				{"application", "app", "policies[4].ref"},
				{"application", "app", "id"},
				{"application", "", "id"},
			}, `unknown policy "nope"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errs := compileErrors(t, tt.doc)
			var got []where
			for _, e := range errs {
				got = append(got, where{e.Object, e.ID, e.Field})
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("errors at\n  %v\nwant\n  %v\n(%v)", got, tt.want, errs)
			}
			if len(errs) > 0 && !strings.Contains(errs[0].Msg, tt.msg) {
				t.Errorf("first message %q does not contain %q", errs[0].Msg, tt.msg)
			}
		})
	}
}

func TestErrorsFormat(t *testing.T) {
	errs := Errors{
		{Object: "policy", ID: "p", Field: "include[0].ip.ip", Msg: "bad"},
		{Object: "application", ID: "a", Msg: "worse"},
	}
	if got, want := errs.Error(), `policy "p": include[0].ip.ip: bad; application "a": worse`; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	var one Error
	if !errors.As(error(errs), &one) || one.Field != "include[0].ip.ip" {
		t.Errorf("errors.As(Error) = %+v", one)
	}
	if _, err := Compile(nil); err == nil {
		t.Error("Compile(nil) succeeded")
	}
}

// TestCompileGolden compiles testdata/*.yaml and compares the error list (or "ok") with the
// .golden file next to it. Run with -update to rewrite the golden files.
func TestCompileGolden(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			src, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var got strings.Builder
			_, err = Compile(parseConfig(t, string(src)))
			var errs Errors
			switch {
			case err == nil:
				got.WriteString("ok\n")
			case errors.As(err, &errs):
				for _, e := range errs {
					got.WriteString(e.Error() + "\n")
				}
			default:
				t.Fatal(err)
			}
			golden := strings.TrimSuffix(file, ".yaml") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got.String()), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got.String() != string(want) {
				t.Errorf("errors differ from %s (run with -update to accept):\n--- got\n%s--- want\n%s", golden, got.String(), want)
			}
		})
	}
}

// FuzzCompile feeds arbitrary configurations (as YAML) to Compile: it must not panic, and it
// returns either an engine or policy.Errors.
func FuzzCompile(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.yaml"))
	for _, file := range files {
		if src, err := os.ReadFile(file); err == nil {
			f.Add(string(src))
		}
	}
	f.Add("policies: [{id: p, decision: allow, include: [{group: {id: g}}]}]\ngroups: [{id: g, include: [{group: {id: g}}]}]\n")
	f.Fuzz(func(t *testing.T, doc string) {
		var cfg store.Config
		if err := yamlUnmarshal([]byte(withBase(doc)), &cfg); err != nil {
			return
		}
		e, err := Compile(&cfg)
		var errs Errors
		switch {
		case err == nil && e == nil:
			t.Fatal("nil engine without error")
		case err != nil && (!errors.As(err, &errs) || len(errs) == 0):
			t.Fatalf("error is not policy.Errors: %v", err)
		}
		if e != nil {
			for _, a := range cfg.Applications {
				app := e.App(a.ID)
				app.Evaluate(&Input{Identity: alice, ServiceToken: badToken("ci", "")})
				app.Preflight(&Input{Country: "PT"})
			}
		}
	})
}
