package policy

import (
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/gatehouse/gatehouse/internal/identity"
	"github.com/gatehouse/gatehouse/internal/policy/criteria"
	"github.com/gatehouse/gatehouse/internal/store"
)

// A selector is spread over several places: its store.Rule field, store.Rule.Selector,
// selectorNames and the switch of compiler.rule, a criteria constructor with its Kind, the
// kind's name (which every reason carries), its case in Criterion.Eval, and its Identity or
// ServiceToken classification. Forgetting one of them compiles or fails silently: a rule that
// never matches, a reason such as "-ok", an identity selector accepted in a bypass policy.
// TestSelectorCompleteness finds the selectors by reflection over store.Rule, so a new field
// is checked without anyone remembering to add it here; the one thing it needs by hand is an
// entry in selectorCases, and it fails until there is one.

// selectorCase is how TestSelectorCompleteness exercises one selector.
type selectorCase struct {
	// value is the selector's value in YAML, decoded strictly into the field's struct. It may
	// refer to the objects of baseYAML and completenessYAML.
	value string
	// decision is a policy decision the selector is valid in: "allow", or "non_identity" for
	// service-token selectors.
	decision string
	// match is a request the selector matches, miss one it does not. miss is nil only for a
	// selector that matches every request (everyone); the test then checks that it matches
	// every input of this table.
	match Input
	miss  *Input
}

// groupMember belongs to one IdP group, seen as okta (name), azureAD (id) and gsuite (email).
var groupMember = modified(alice, func(id *identity.Identity) {
	id.Groups = []identity.Group{{ID: "5f0c3e6a-1b2d-4c8e-9f00-a1b2c3d4e5f6", Name: "Engineering", Email: "eng@example.com"}}
})

// selectorCases has an entry per canonical selector (the JSON key store.Rule.Selector
// returns); alias fields use their canonical selector's entry.
var selectorCases = map[string]selectorCase{
	"email":        {`{email: alice@example.com}`, "allow", Input{Identity: alice}, &Input{Identity: bob}},
	"email_domain": {`{domain: example.com}`, "allow", Input{Identity: alice}, &Input{Identity: bob}},
	"email_list":   {`{id: admins}`, "allow", Input{Identity: root}, &Input{Identity: alice}},
	"everyone":     {`{}`, "allow", Input{Identity: alice}, nil},
	"ip": {`{ip: 192.0.2.0/24}`, "allow",
		Input{Identity: alice, ClientIP: officeIP}, &Input{Identity: alice, ClientIP: outsideIP}},
	"ip_list": {`{id: office}`, "allow",
		Input{Identity: alice, ClientIP: officeIP}, &Input{Identity: alice, ClientIP: outsideIP}},
	"geo": {`{country_code: PT}`, "allow",
		Input{Identity: alice, Country: "PT"}, &Input{Identity: alice, Country: "ES"}},
	"group":        {`{id: staff}`, "allow", Input{Identity: alice}, &Input{Identity: bob}},
	"login_method": {`{id: corp}`, "allow", Input{Identity: alice}, &Input{Identity: bob}},
	"auth_method":  {`{auth_method: mfa}`, "allow", Input{Identity: alice}, &Input{Identity: aliceNoMFA}},
	"service_token": {`{token_id: ci}`, "non_identity",
		Input{ServiceToken: token("ci")}, &Input{ServiceToken: token("deploy")}},
	"any_valid_service_token": {`{}`, "non_identity",
		Input{ServiceToken: token("deploy")}, &Input{ServiceToken: badToken("deploy", "service-token-disabled")}},
	"saml": {`{attribute_name: groups, attribute_value: ops}`, "allow",
		Input{Identity: alice}, &Input{Identity: bob}},
	"oidc": {`{claim_name: org, claim_value: umbrella}`, "allow",
		Input{Identity: bob}, &Input{Identity: alice}},
	"github-organization": {`{name: acme, team: platform}`, "allow",
		Input{Identity: octo}, &Input{Identity: alice}},
	"okta":    {`{name: engineering}`, "allow", Input{Identity: groupMember}, &Input{Identity: alice}},
	"azureAD": {`{id: 5f0c3e6a-1b2d-4c8e-9f00-a1b2c3d4e5f6}`, "allow", Input{Identity: groupMember}, &Input{Identity: alice}},
	"gsuite":  {`{email: ENG@example.com}`, "allow", Input{Identity: groupMember}, &Input{Identity: alice}},
}

// sharedKinds lists the selectors that compile to one criteria kind by design, with that kind's
// name; every other selector's kind must be named after its own API key, as reasons.go
// documents. The IdP-group selectors are one criterion (criteria.IdPGroup) that differs only in
// the group field it compares, so their reasons say "idp_group-ok", "include-failed-idp_group".
var sharedKinds = map[string]string{
	"okta":    "idp_group",
	"azureAD": "idp_group",
	"gsuite":  "idp_group",
}

// completenessYAML adds what selectorCases refers to beyond baseYAML.
const completenessYAML = `
groups:
  - {id: staff, include: [{email_domain: {domain: example.com}}]}
`

// TestSelectorCompleteness checks, for every field of store.Rule, that a rule setting only
// that field is named by store.Rule.Selector and selectorNames, compiles to a criterion of a
// valid kind named after the selector, is evaluated (a request it matches and one it does not
// decide differently, with reasons naming the kind in the include, require and exclude
// stages), and is classified as identity or service-token selector exactly when its evaluation
// depends on the identity or the token. It then checks that every criteria kind has a name of
// its own and is the kind of some field.
func TestSelectorCompleteness(t *testing.T) {
	rt := reflect.TypeFor[store.Rule]()
	jsonKeys := map[string]reflect.StructField{}
	for i := range rt.NumField() {
		f := rt.Field(i)
		jsonKeys[tagName(f.Tag.Get("json"))] = f
	}
	// kindOf holds the canonical selectors that compile to each kind.
	kindOf := map[criteria.Kind]map[string]bool{}
	canonicals := map[string]bool{}
	// ran counts the subtests that ran: the checks across selectors below need all of them,
	// which a -run filter such as TestSelectorCompleteness/Geo prevents.
	ran := 0

	for i := range rt.NumField() {
		f := rt.Field(i)
		key := tagName(f.Tag.Get("json"))
		t.Run(f.Name, func(t *testing.T) {
			ran++
			if key == "" || key == "-" {
				t.Fatalf("store.Rule.%s has no JSON name; every field of Rule is a selector", f.Name)
			}
			if y := tagName(f.Tag.Get("yaml")); y != key {
				t.Errorf("store.Rule.%s: YAML name %q differs from JSON name %q; compile errors name one key for both", f.Name, y, key)
			}
			if f.Type.Kind() != reflect.Pointer || f.Type.Elem().Kind() != reflect.Struct {
				t.Fatalf("store.Rule.%s is a %v; a selector field is a pointer to its value's struct (nil when unset)", f.Name, f.Type)
			}

			// The field is known to store.Rule.Selector, which also maps an alias to its
			// canonical selector, and to compile.go's selectorNames.
			var r store.Rule
			field := reflect.ValueOf(&r).Elem().Field(i)
			field.Set(reflect.New(f.Type.Elem()))
			canonical, n := r.Selector()
			if canonical == "" || n != 1 {
				t.Fatalf("store.Rule.Selector() = %q, %d for a rule with only %s set, want its selector name and 1: add the field to Selector",
					canonical, n, key)
			}
			canonicals[canonical] = true
			if canonical != key {
				cf, ok := jsonKeys[canonical]
				if !ok || cf.Type != f.Type {
					t.Fatalf("store.Rule.Selector() names %s an alias of %q, which is no field of the same type", key, canonical)
				}
			}
			if got := selectorNames(&r); !slices.Equal(got, []string{key}) {
				t.Fatalf("selectorNames = %q for a rule with only %s set, want [%s]: add the field to selectorNames in compile.go", got, key, key)
			}

			c, ok := selectorCases[canonical]
			if !ok {
				t.Fatalf("selectorCases has no entry for %q: add one (a valid value, the decision, a request it matches and one it does not)", canonical)
			}
			value := reflect.New(f.Type.Elem())
			dec := yaml.NewDecoder(strings.NewReader(c.value))
			dec.KnownFields(true)
			if err := dec.Decode(value.Interface()); err != nil {
				t.Fatalf("selectorCases[%q].value %s: %v", canonical, c.value, err)
			}
			field.Set(value)

			// (1) It compiles, to a criterion of a valid kind, in each stage.
			everyone := store.Rule{Everyone: &store.Empty{}}
			cfg := parseConfig(t, completenessYAML)
			cfg.Policies = []store.Policy{
				{ID: "inc", Decision: c.decision, Include: []store.Rule{r}},
				{ID: "req", Decision: c.decision, Include: []store.Rule{everyone}, Require: []store.Rule{r}},
				{ID: "exc", Decision: c.decision, Include: []store.Rule{everyone}, Exclude: []store.Rule{r}},
			}
			for _, p := range cfg.Policies {
				cfg.Applications = append(cfg.Applications, store.Application{
					ID: p.ID, Policies: []store.PolicyLink{{Ref: p.ID, Precedence: 1}},
				})
			}
			e, err := Compile(cfg)
			if err != nil {
				t.Fatalf("compiling %s policies whose rule sets only %s: %v", c.decision, key, err)
			}
			apps := map[string]*App{}
			for _, p := range cfg.Policies {
				apps[p.ID] = e.App(p.ID)
			}
			ps := slices.Concat(apps["inc"].machine, apps["inc"].human)
			if len(ps) != 1 || len(ps[0].rules.Include) != 1 {
				t.Fatalf("app inc compiled to %d policies, want 1 with 1 include", len(ps))
			}
			cr := ps[0].rules.Include[0]
			k := cr.Kind()
			if k == criteria.KindInvalid {
				t.Fatalf("%s compiled without an error to the invalid kind, which never matches: compiler.rule lacks its case", key)
			}
			if kindOf[k] == nil {
				kindOf[k] = map[string]bool{}
			}
			kindOf[k][canonical] = true

			// (2) The kind is named after the selector (or its documented shared kind).
			name := k.String()
			want := canonical
			if s, ok := sharedKinds[canonical]; ok {
				want = s
			}
			if name != want {
				t.Errorf("%s compiles to kind %d named %q, want %q (the kind names in reasons are the selectors' API keys, see sharedKinds for exceptions)",
					key, k, name, want)
			}

			// (3) Evaluation has a case for it, and the reasons name the kind.
			action := decisions[c.decision]
			matched := []string{ReasonPolicyMatched, name + "-ok"}
			expect(t, "include: ["+key+"], a request it matches", apps["inc"].Evaluate(&c.match), action, matched...)
			expect(t, "exclude: ["+key+"], a request it matches", apps["exc"].Evaluate(&c.match), ActionDeny, "excluded-by-"+name)
			if c.miss != nil {
				expect(t, "include: ["+key+"], a request it does not match", apps["inc"].Evaluate(c.miss), ActionDeny, "include-failed-"+name)
				expect(t, "require: ["+key+"], a request it does not match", apps["req"].Evaluate(c.miss), ActionDeny, "require-failed-"+name)
			} else {
				for other, oc := range selectorCases {
					for _, in := range []*Input{&oc.match, oc.miss} {
						if in == nil || action == ActionAllow && in.Identity == nil {
							continue // allow policies are evaluated for logged-in users only
						}
						expect(t, key+" has no miss input, so it matches every request, such as an input of "+other,
							apps["inc"].Evaluate(in), action, matched...)
					}
				}
			}

			// (4) It is an identity selector, refused in bypass policies, exactly when it
			// cannot be decided before login; and a service-token selector, refused in allow
			// policies, exactly when its match needs the token.
			req := request(&c.match)
			req.Identity, req.IdentityUnknown = nil, true
			needsIdentity := cr.Eval(&req) == criteria.Unknown
			needsToken := false
			if c.match.ServiceToken != nil {
				in := c.match
				in.ServiceToken = nil
				req := request(&in)
				needsToken = cr.Eval(&req) == criteria.False
			}
			checkRefused(t, r, "bypass", needsIdentity, "is not allowed in a bypass policy")
			checkRefused(t, r, "allow", needsToken, "only satisfies service auth")
		})
	}

	if ran < rt.NumField() {
		t.Logf("%d of %d selectors checked: skipping the checks across selectors", ran, rt.NumField())
		return
	}
	for key := range selectorCases {
		if !canonicals[key] {
			t.Errorf("selectorCases has an entry for %q, which is no selector of store.Rule", key)
		}
	}
	for key := range sharedKinds {
		if !canonicals[key] {
			t.Errorf("sharedKinds has an entry for %q, which is no selector of store.Rule", key)
		}
	}
	for k, sels := range kindOf {
		if len(sels) < 2 {
			continue
		}
		for s := range sels {
			if sharedKinds[s] != k.String() {
				t.Errorf("selectors %v compile to one kind %q: each selector needs a kind of its own (or, if they are one criterion by design, entries in sharedKinds)",
					slices.Sorted(maps.Keys(sels)), k)
				break
			}
		}
	}
	// Every kind has a name of its own and is the kind of some selector: a kind added to
	// package criteria without a store.Rule field (or whose field compiles to another kind)
	// is dead code that no configuration reaches.
	byName := map[string]criteria.Kind{}
	for k := range criteria.NumKinds {
		if k == criteria.KindInvalid {
			continue
		}
		name := k.String()
		if name == "" || name == criteria.KindInvalid.String() {
			t.Errorf("criteria kind %d has no name: add it to kindNames", k)
		}
		if o, dup := byName[name]; dup {
			t.Errorf("criteria kinds %d and %d are both named %q", o, k, name)
		}
		byName[name] = k
		if !t.Failed() && len(kindOf[k]) == 0 {
			t.Errorf("criteria kind %d (%q) is the kind of no store.Rule field", k, name)
		}
	}
}

// checkRefused compiles a policy with decision whose only include is r and checks that Compile
// refuses it with a message containing msg exactly when refused is set.
func checkRefused(t *testing.T, r store.Rule, decision string, refused bool, msg string) {
	t.Helper()
	cfg := parseConfig(t, completenessYAML)
	cfg.Policies = []store.Policy{{ID: "p", Decision: decision, Include: []store.Rule{r}}}
	_, err := Compile(cfg)
	switch {
	case refused && (err == nil || !strings.Contains(err.Error(), msg)):
		t.Errorf("in a policy with decision %s: Compile error = %v, want one saying %q (check the kind's Identity / ServiceToken classification)",
			decision, err, msg)
	case !refused && err != nil:
		t.Errorf("in a policy with decision %s: Compile: %v, want no error (check the kind's Identity / ServiceToken classification)", decision, err)
	}
}

// expect checks that d has action and that its reasons are want (for an admitting action) or
// include want (for a deny, which also explains the other policies).
func expect(t *testing.T, what string, d Decision, action Action, want ...string) {
	t.Helper()
	ok := d.Action == action
	if action == ActionDeny {
		for _, r := range want {
			ok = ok && slices.Contains(d.Reasons, r)
		}
	} else {
		ok = ok && slices.Equal(d.Reasons, want)
	}
	if !ok {
		t.Errorf("%s: decision = %v %q, want %v with reasons %q", what, d.Action, d.Reasons, action, want)
	}
}

// tagName is the name part of a struct tag value such as "email,omitempty".
func tagName(tag string) string {
	name, _, _ := strings.Cut(tag, ",")
	return name
}
