package criteria

import (
	"net/netip"
	"testing"

	"github.com/gatehouse/gatehouse/internal/identity"
)

// must is for constructors with constant, valid arguments.
func must(c Criterion, err error) Criterion {
	if err != nil {
		panic(err)
	}
	return c
}

func TestCriterionEval(t *testing.T) {
	alice := &identity.Identity{
		Email: "alice@example.com",
		IdP:   identity.IdP{ID: "corp", Type: "saml"},
		AMR:   []string{"pwd", "mfa"},
		SAMLAttributes: map[string][]string{
			"groups": {"eng", "ops"},
		},
		OIDCClaims: map[string][]string{
			"dept": {"sales"},
		},
	}
	emails := EmailSet{}
	for _, e := range []string{"Bob@example.com", "alice@EXAMPLE.com"} {
		if err := emails.Add(e); err != nil {
			t.Fatal(err)
		}
	}
	ips := NewIPSet([]netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8::/32")})
	octo := Request{Identity: &identity.Identity{
		Email: "octo@example.com",
		IdP:   identity.IdP{ID: "gh", Type: "github"},
		GitHubOrgs: []identity.GitHubOrg{
			{Name: "Acme", Teams: []string{"platform", "eng"}},
			{Name: "umbrella"},
		},
	}}
	req := Request{
		Identity:   alice,
		Addr:       netip.MustParseAddr("10.1.2.3"),
		Country:    "PT",
		TokenID:    "tok1",
		TokenValid: true,
	}
	tests := []struct {
		name string
		c    Criterion
		r    Request
		want Value
	}{
		{"email exact", must(Email("alice@example.com")), req, True},
		{"email case-insensitive", must(Email("Alice@Example.COM")), req, True},
		{"email other", must(Email("bob@example.com")), req, False},
		{"email prefix is not a match", must(Email("alice@example.co")), req, False},
		{"email_domain", must(EmailDomain("example.com")), req, True},
		{"email_domain with @", must(EmailDomain("@EXAMPLE.com")), req, True},
		{"email_domain no subdomains", must(EmailDomain("sub.example.com")), Request{Identity: &identity.Identity{Email: "a@example.com"}}, False},
		{"email_domain parent is not a match", must(EmailDomain("example.com")), Request{Identity: &identity.Identity{Email: "a@sub.example.com"}}, False},
		{"email_domain suffix trick", must(EmailDomain("example.com")), Request{Identity: &identity.Identity{Email: "a@evilexample.com"}}, False},
		{"email_domain two @ (never a normal form)", must(EmailDomain("example.com")), Request{Identity: &identity.Identity{Email: `"x@evil.com"@example.com`}}, False},
		{"email_domain two @ unquoted", must(EmailDomain("example.com")), Request{Identity: &identity.Identity{Email: `x@evil.com@example.com`}}, False},
		{"email_domain last @ other way", must(EmailDomain("evil.com")), Request{Identity: &identity.Identity{Email: `"x@evil.com"@example.com`}}, False},
		{"email identity not in normal form", must(Email("alice@example.com")), Request{Identity: &identity.Identity{Email: "Alice@EXAMPLE.com"}}, False},
		{"email upper-case identity, other", must(Email("alice@example.com")), Request{Identity: &identity.Identity{Email: "Alicia@EXAMPLE.com"}}, False},
		{"email empty identity address", must(Email("alice@example.com")), Request{Identity: &identity.Identity{}}, False},
		{"email_domain identity not in normal form", must(EmailDomain("example.com")), Request{Identity: &identity.Identity{Email: "a@Example.COM"}}, False},
		{"email_domain non-ASCII as U-label", must(EmailDomain("école.FR")), Request{Identity: &identity.Identity{Email: "a@xn--cole-9oa.fr"}}, True},
		{"email_domain non-ASCII as A-label", must(EmailDomain("XN--COLE-9OA.fr")), Request{Identity: &identity.Identity{Email: "a@xn--cole-9oa.fr"}}, True},
		{"email_domain U-label identity (never a normal form)", must(EmailDomain("école.fr")), Request{Identity: &identity.Identity{Email: "a@école.fr"}}, False},
		{"email long s", must(Email("sam@example.com")), Request{Identity: &identity.Identity{Email: "\u017fam@example.com"}}, False},
		{"email kelvin sign", must(Email("kate@example.com")), Request{Identity: &identity.Identity{Email: "\u212aate@example.com"}}, False},
		{"email_domain long s", must(EmailDomain("sales.test")), Request{Identity: &identity.Identity{Email: "x@\u017fales.test"}}, False},
		{"email non-ASCII kept as written", must(Email("JOSé@example.com")), Request{Identity: &identity.Identity{Email: "josé@example.com"}}, True},
		{"email non-ASCII never folded", must(Email("josé@example.com")), Request{Identity: &identity.Identity{Email: "josÉ@example.com"}}, False},
		{"email accents count", must(Email("josé@example.com")), Request{Identity: &identity.Identity{Email: "jose@example.com"}}, False},
		{"email_domain no @", must(EmailDomain("example.com")), Request{Identity: &identity.Identity{Email: "example.com"}}, False},
		{"email_list", EmailList(emails), req, True},
		{"email_list identity not in normal form", EmailList(emails), Request{Identity: &identity.Identity{Email: "BOB@example.com"}}, False},
		{"email_list Cyrillic look-alike", EmailList(emails), Request{Identity: &identity.Identity{Email: "bo\u0432@example.com"}}, False},
		{"email_list miss", EmailList(emails), Request{Identity: &identity.Identity{Email: "carol@example.com"}}, False},
		{"everyone", Everyone(), Request{}, True},
		{"ip v4", must(IP("10.0.0.0/8")), req, True},
		{"ip single", must(IP("10.1.2.3")), req, True},
		{"ip miss", must(IP("192.168.0.0/16")), req, False},
		{"ip v6", must(IP("2001:db8::/32")), Request{Addr: netip.MustParseAddr("2001:db8::1")}, True},
		{"ip v4 rule, v6 client", must(IP("10.0.0.0/8")), Request{Addr: netip.MustParseAddr("2001:db8::1")}, False},
		{"ip mapped rule", must(IP("::ffff:10.0.0.0/104")), req, True},
		{"ip invalid client", must(IP("0.0.0.0/0")), Request{}, False},
		{"ip_list", IPList(ips), req, True},
		{"ip_list v6", IPList(ips), Request{Addr: netip.MustParseAddr("2001:db8:1::5")}, True},
		{"ip_list miss", IPList(ips), Request{Addr: netip.MustParseAddr("11.0.0.1")}, False},
		{"geo", must(Geo("pt")), req, True},
		{"geo other", must(Geo("US")), req, False},
		{"geo unknown country", must(Geo("US")), Request{}, False},
		{"geo lower-case input", must(Geo("PT")), Request{Country: "pt"}, True},
		{"geo bad input", must(Geo("PT")), Request{Country: "PTX"}, False},
		{"login_method", must(LoginMethod("corp")), req, True},
		{"login_method other", must(LoginMethod("pin")), req, False},
		{"auth_method", must(AuthMethod("mfa")), req, True},
		{"auth_method missing", must(AuthMethod("hwk")), req, False},
		{"saml", must(SAML("groups", "ops", "")), req, True},
		{"saml idp", must(SAML("groups", "ops", "corp")), req, True},
		{"saml other idp", must(SAML("groups", "ops", "other")), req, False},
		{"saml exact value", must(SAML("groups", "op", "")), req, False},
		{"saml no attribute", must(SAML("role", "ops", "")), req, False},
		{"oidc", must(OIDC("dept", "sales", "")), req, True},
		{"oidc is not saml", must(OIDC("groups", "eng", "")), req, False},
		{"service_token", must(ServiceToken("tok1")), req, True},
		{"service_token other", must(ServiceToken("tok2")), req, False},
		{"service_token invalid", must(ServiceToken("tok1")), Request{TokenID: "tok1"}, False},
		{"any_valid_service_token", AnyValidServiceToken(), req, True},
		{"any_valid_service_token none", AnyValidServiceToken(), Request{}, False},
		{"zero criterion", Criterion{}, req, False},
		{"identity selector without identity", must(EmailDomain("example.com")), Request{}, False},
		{"identity selector unknown", must(EmailDomain("example.com")), Request{IdentityUnknown: true}, Unknown},
		{"identity unknown wins over identity", must(Email("nobody@example.com")), Request{Identity: alice, IdentityUnknown: true}, Unknown},
		{"non-identity selector ignores unknown", must(Geo("PT")), Request{Country: "PT", IdentityUnknown: true}, True},
		{"nil group", Group(nil), req, False},
		{"github-organization", must(GitHubOrganization("acme", "", "")), octo, True},
		{"github-organization case-insensitive", must(GitHubOrganization("ACME", "Platform", "")), octo, True},
		{"github-organization team", must(GitHubOrganization("acme", "eng", "gh")), octo, True},
		{"github-organization other team", must(GitHubOrganization("acme", "ops", "")), octo, False},
		{"github-organization team of another org", must(GitHubOrganization("umbrella", "platform", "")), octo, False},
		{"github-organization org without teams", must(GitHubOrganization("Umbrella", "", "")), octo, True},
		{"github-organization prefix is not a match", must(GitHubOrganization("acm", "", "")), octo, False},
		{"github-organization other org", must(GitHubOrganization("initech", "", "")), octo, False},
		{"github-organization other idp", must(GitHubOrganization("acme", "", "corp")), octo, False},
		{"github-organization no orgs", must(GitHubOrganization("acme", "", "")), req, False},
		{"github-organization no identity", must(GitHubOrganization("acme", "", "")), Request{}, False},
		{"github-organization identity unknown", must(GitHubOrganization("acme", "", "")), Request{IdentityUnknown: true}, Unknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.c.Eval(&tt.r); got != tt.want {
				t.Errorf("Eval = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestConstructorsReject(t *testing.T) {
	tests := []struct {
		name string
		err  error
	}{
		{"email without @", errOf(Email("alice"))},
		{"email without domain", errOf(Email("alice@"))},
		{"email without local part", errOf(Email("@example.com"))},
		{"email with space", errOf(Email("a b@example.com"))},
		{"empty domain", errOf(EmailDomain(""))},
		{"only @", errOf(EmailDomain("@"))},
		{"address as domain", errOf(EmailDomain("a@example.com"))},
		{"wildcard domain", errOf(EmailDomain("*.example.com"))},
		{"email kelvin sign", errOf(Email("\u212aate@example.com"))},
		{"email long s", errOf(Email("\u017fam@example.com"))},
		{"email zero-width space", errOf(Email("sam\u200b@example.com"))},
		{"email mixed scripts", errOf(Email("s\u0430m@example.com"))},
		{"email non-ASCII upper case", errOf(Email("JOS\u00C9@example.com"))},
		{"email display name", errOf(Email("Sam <sam@example.com>"))},
		{"domain long s", errOf(EmailDomain("\u017fales.test"))},
		{"domain fullwidth", errOf(EmailDomain("\uff53ales.test"))},
		{"domain invisible", errOf(EmailDomain("sa\u00adles.test"))},
		{"domain trailing dot", errOf(EmailDomain("sales.test."))},
		{"bad cidr", errOf(IP("10.0.0.0/33"))},
		{"bad ip", errOf(IP("10.0.0.256"))},
		{"zone", errOf(IP("fe80::1%eth0"))},
		{"empty ip", errOf(IP(""))},
		{"country three letters", errOf(Geo("USA"))},
		{"country digits", errOf(Geo("1A"))},
		{"country unassigned", errOf(Geo("QQ"))},
		{"country UK", errOf(Geo("UK"))},
		{"empty login method", errOf(LoginMethod(""))},
		{"empty auth method", errOf(AuthMethod(""))},
		{"empty token", errOf(ServiceToken(""))},
		{"saml without name", errOf(SAML("", "v", ""))},
		{"oidc without value", errOf(OIDC("n", "", ""))},
		{"github-organization without name", errOf(GitHubOrganization("", "eng", ""))},
		{"github-organization name with a slash", errOf(GitHubOrganization("acme/eng", "", ""))},
		{"github-organization team name instead of slug", errOf(GitHubOrganization("acme", "Platform Team", ""))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.err == nil {
				t.Error("no error")
			}
		})
	}
}

func errOf(_ Criterion, err error) error { return err }

func TestParseCountry(t *testing.T) {
	for in, want := range map[string]string{"us": "US", "GB": "GB", "Pt": "PT", "XK": "XK"} {
		got, err := ParseCountry(in)
		if err != nil || got != want {
			t.Errorf("ParseCountry(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	_, err := ParseCountry("uk")
	if err == nil || err.Error() != `invalid country code "uk": not ISO 3166-1 alpha-2 (did you mean GB?)` {
		t.Errorf("ParseCountry(uk) error = %v", err)
	}
	if n := len(isoCountries)/3 + 1; n != 250 {
		t.Errorf("country table has %d codes, want 249 + XK", n)
	}
}

func TestParsePrefix(t *testing.T) {
	tests := map[string]string{
		"10.0.0.0/8":             "10.0.0.0/8",
		"10.1.2.3/8":             "10.0.0.0/8",
		"192.0.2.1":              "192.0.2.1/32",
		"2001:db8::1":            "2001:db8::1/128",
		"2001:DB8::/32":          "2001:db8::/32",
		"::ffff:192.0.2.0/120":   "192.0.2.0/24",
		"::ffff:192.0.2.7":       "192.0.2.7/32",
		"::/0":                   "::/0",
		"0.0.0.0/0":              "0.0.0.0/0",
		"2001:db8::ffff:1:2/128": "2001:db8::ffff:1:2/128",
	}
	for in, want := range tests {
		p, err := ParsePrefix(in)
		if err != nil || p.String() != want {
			t.Errorf("ParsePrefix(%q) = %v, %v; want %s", in, p, err, want)
		}
	}
}

func TestRuleSetKleene(t *testing.T) {
	T, F := Everyone(), must(Geo("KP"))
	U := must(Email("a@example.com")) // Unknown under IdentityUnknown
	r := Request{Country: "PT", IdentityUnknown: true}
	tests := []struct {
		name      string
		rs        RuleSet
		want      Value
		stage     Stage
		index     int
		wantNoIdp Value // same rule set without IdentityUnknown and without identity
	}{
		{"no include", RuleSet{}, False, StageInclude, -1, False},
		{"include any", RuleSet{Include: []Criterion{F, T}}, True, StageInclude, 1, True},
		{"include unknown", RuleSet{Include: []Criterion{F, U}}, Unknown, StageInclude, 1, False},
		{"include true beats unknown", RuleSet{Include: []Criterion{U, T}}, True, StageInclude, 1, True},
		{"require all", RuleSet{Include: []Criterion{T}, Require: []Criterion{T, F}}, False, StageRequire, 1, False},
		{"require false beats unknown", RuleSet{Include: []Criterion{U}, Require: []Criterion{U, F}}, False, StageRequire, 1, False},
		{"require unknown", RuleSet{Include: []Criterion{T}, Require: []Criterion{U}}, Unknown, StageInclude, 0, False},
		{"exclude", RuleSet{Include: []Criterion{T}, Exclude: []Criterion{F, T}}, False, StageExclude, 1, False},
		{"exclude unknown", RuleSet{Include: []Criterion{T}, Exclude: []Criterion{U}}, Unknown, StageInclude, 0, True},
		{"exclude true beats unknown", RuleSet{Include: []Criterion{U}, Exclude: []Criterion{U, T}}, False, StageExclude, 1, False},
		{"exclude none", RuleSet{Include: []Criterion{T}, Exclude: []Criterion{F}}, True, StageInclude, 0, True},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.rs.Eval(&r)
			if got.Value != tt.want || got.Stage != tt.stage || got.Index != tt.index {
				t.Errorf("Eval = %+v, want {%v %v %d}", got, tt.want, tt.stage, tt.index)
			}
			r2 := r
			r2.IdentityUnknown = false
			if got := tt.rs.Eval(&r2).Value; got != tt.wantNoIdp {
				t.Errorf("Eval without identity = %v, want %v", got, tt.wantNoIdp)
			}
		})
	}
}

func TestGroupNesting(t *testing.T) {
	inner := &RuleSet{Include: []Criterion{must(Geo("PT")), must(Geo("ES"))}}
	outer := &RuleSet{Include: []Criterion{Everyone()}, Require: []Criterion{Group(inner)}}
	for _, tt := range []struct {
		country string
		want    Value
	}{{"PT", True}, {"ES", True}, {"FR", False}} {
		r := Request{Country: tt.country}
		if got := outer.Eval(&r).Value; got != tt.want {
			t.Errorf("country %s: %v, want %v", tt.country, got, tt.want)
		}
	}
}

func TestEvalDoesNotAllocate(t *testing.T) {
	rs := RuleSet{
		Include: []Criterion{must(Email("x@example.com")), must(EmailDomain("example.com"))},
		Require: []Criterion{must(AuthMethod("mfa")), Group(&RuleSet{Include: []Criterion{must(IP("10.0.0.0/8"))}})},
		Exclude: []Criterion{must(Geo("KP")), EmailList(EmailSet{"bad@example.com": {}})},
	}
	id := &identity.Identity{Email: "alice@example.com", AMR: []string{"mfa"}}
	allocs := testing.AllocsPerRun(100, func() {
		r := Request{Identity: id, Addr: netip.MustParseAddr("10.0.0.1"), Country: "PT"}
		if rs.Eval(&r).Value != True {
			t.Fatal("no match")
		}
	})
	if allocs != 0 {
		t.Errorf("Eval allocates %v times", allocs)
	}
	gh := RuleSet{Include: []Criterion{must(GitHubOrganization("other", "", "")), must(GitHubOrganization("ACME", "Eng", "gh"))}}
	octo := &identity.Identity{IdP: identity.IdP{ID: "gh"}, GitHubOrgs: []identity.GitHubOrg{{Name: "acme", Teams: []string{"ops", "eng"}}}}
	allocs = testing.AllocsPerRun(100, func() {
		r := Request{Identity: octo}
		if gh.Eval(&r).Value != True {
			t.Fatal("no match")
		}
	})
	if allocs != 0 {
		t.Errorf("github-organization Eval allocates %v times", allocs)
	}
}
