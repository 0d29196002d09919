package samlidp

import (
	"errors"
	"reflect"
	"slices"
	"testing"

	"github.com/gatehouse/gatehouse/internal/identity"
	"github.com/gatehouse/gatehouse/internal/store"
)

func src(name string, byIdP ...store.IdPSourceName) store.AttributeSource {
	return store.AttributeSource{Name: name, NameByIdP: byIdP}
}

func TestAttributeMapping(t *testing.T) {
	byIdP := []store.IdPSourceName{{IdPID: "github", SourceName: "login"}, {IdPID: "okta", SourceName: "department"}}
	for _, tc := range []struct {
		name   string
		custom []store.SAMLAttribute
		modify func(*identity.Identity)
		// noEmptyGroups sets send_empty_groups_attribute: false.
		noEmptyGroups bool
		want          []attribute
		reason        string // failure reason, "" for success
	}{
		{
			name: "defaults only",
			want: []attribute{
				{Name: "id", NameFormat: NameFormatUnspecified, Values: []string{"5b3c2f1e-8d4a-4c6b-9e7f-0a1b2c3d4e5f"}},
				{Name: "email", NameFormat: NameFormatUnspecified, Values: []string{"alice@example.com"}},
				{Name: "name", NameFormat: NameFormatUnspecified, Values: []string{`Alice <&"'> O'Brien`}},
				{Name: "groups", NameFormat: NameFormatUnspecified, Values: []string{"eng", "R&D <core>"}},
			},
		},
		{
			name:   "defaults without values are left out; a group without a name sends its ID",
			modify: func(id *identity.Identity) { id.Name, id.Groups = "", []identity.Group{{ID: "gid-1"}} },
			want: []attribute{
				{Name: "id", NameFormat: NameFormatUnspecified, Values: []string{"5b3c2f1e-8d4a-4c6b-9e7f-0a1b2c3d4e5f"}},
				{Name: "email", NameFormat: NameFormatUnspecified, Values: []string{"alice@example.com"}},
				{Name: "groups", NameFormat: NameFormatUnspecified, Values: []string{"gid-1"}},
			},
		},
		{
			name:   "a user without groups gets a groups attribute without values",
			modify: func(id *identity.Identity) { id.Groups = nil },
			want: []attribute{
				{Name: "id", NameFormat: NameFormatUnspecified, Values: []string{"5b3c2f1e-8d4a-4c6b-9e7f-0a1b2c3d4e5f"}},
				{Name: "email", NameFormat: NameFormatUnspecified, Values: []string{"alice@example.com"}},
				{Name: "name", NameFormat: NameFormatUnspecified, Values: []string{`Alice <&"'> O'Brien`}},
				{Name: "groups", NameFormat: NameFormatUnspecified},
			},
		},
		{
			name:          "send_empty_groups_attribute false leaves it out",
			modify:        func(id *identity.Identity) { id.Groups = nil },
			noEmptyGroups: true,
			want: []attribute{
				{Name: "id", NameFormat: NameFormatUnspecified, Values: []string{"5b3c2f1e-8d4a-4c6b-9e7f-0a1b2c3d4e5f"}},
				{Name: "email", NameFormat: NameFormatUnspecified, Values: []string{"alice@example.com"}},
				{Name: "name", NameFormat: NameFormatUnspecified, Values: []string{`Alice <&"'> O'Brien`}},
			},
		},
		{
			name:   "custom attributes taken from groups are sent empty too, by source.name or name_by_idp",
			modify: func(id *identity.Identity) { id.Groups = []identity.Group{{Name: ""}} },
			custom: []store.SAMLAttribute{
				{Name: "memberOf", NameFormat: NameFormatBasic, Source: src("groups")},
				{Name: "roles", Source: src("costCenter", store.IdPSourceName{IdPID: "okta", SourceName: "groups"})},
				{Name: "absent", Source: src("nothing")},
			},
			want: []attribute{
				{Name: "memberOf", NameFormat: NameFormatBasic},
				{Name: "roles", NameFormat: NameFormatUnspecified},
			},
		},
		{
			name:          "custom attributes taken from groups, send_empty_groups_attribute false",
			modify:        func(id *identity.Identity) { id.Groups = nil },
			noEmptyGroups: true,
			custom:        []store.SAMLAttribute{{Name: "memberOf", Source: src("groups")}},
		},
		{
			name:   "a required attribute taken from groups still fails without groups",
			modify: func(id *identity.Identity) { id.Groups = nil },
			custom: []store.SAMLAttribute{{Name: "memberOf", Required: true, Source: src("groups")}},
			reason: "saml-attribute-missing",
		},
		{
			name:   "a custom attribute named like a default and left out takes the default with it",
			custom: []store.SAMLAttribute{{Name: "groups", Source: src("nothing")}, {Name: "name", Source: src("nothing")}},
		},
		{
			name: "custom attributes from SAML attributes, OIDC claims and built-ins, with formats",
			custom: []store.SAMLAttribute{
				{Name: "urn:oid:2.5.4.11", FriendlyName: "ou", NameFormat: NameFormatURI, Source: src("department")},
				{Name: "cost", NameFormat: NameFormatBasic, Source: src("costCenter")},
				{Name: "locale", Source: src("locale")},
				{Name: "mail", Source: src("email")},
				{Name: "absent", Source: src("nothing")},
			},
			want: []attribute{
				{Name: "urn:oid:2.5.4.11", FriendlyName: "ou", NameFormat: NameFormatURI, Values: []string{"Platform & Tools"}},
				{Name: "cost", NameFormat: NameFormatBasic, Values: []string{"cc-1", "cc-2"}},
				{Name: "locale", NameFormat: NameFormatUnspecified, Values: []string{"en-GB"}},
				{Name: "mail", NameFormat: NameFormatUnspecified, Values: []string{"alice@example.com"}},
			},
		},
		{
			name:   "a custom attribute replaces the default of the same name",
			custom: []store.SAMLAttribute{{Name: "groups", NameFormat: NameFormatBasic, Source: src("costCenter")}},
			want:   []attribute{{Name: "groups", NameFormat: NameFormatBasic, Values: []string{"cc-1", "cc-2"}}},
		},
		{
			name:   "name_by_idp picks the source for the user's IdP",
			custom: []store.SAMLAttribute{{Name: "team", Required: true, Source: src("locale", byIdP...)}},
			want:   []attribute{{Name: "team", NameFormat: NameFormatUnspecified, Values: []string{"Platform & Tools"}}},
		},
		{
			name:   "name_by_idp for another IdP: source.name",
			custom: []store.SAMLAttribute{{Name: "team", Required: true, Source: src("locale", byIdP[0])}},
			want:   []attribute{{Name: "team", NameFormat: NameFormatUnspecified, Values: []string{"en-GB"}}},
		},
		{
			name:   "name_by_idp for the user's IdP has no value: required fails, source.name is not a fallback",
			custom: []store.SAMLAttribute{{Name: "team", Required: true, Source: src("locale", store.IdPSourceName{IdPID: "okta", SourceName: "missing"})}},
			reason: "saml-attribute-missing",
		},
		{
			name: "a GitHub login maps its own claim",
			modify: func(id *identity.Identity) {
				id.IdP = identity.IdP{ID: "github", Type: "github"}
				id.OIDCClaims["login"] = []string{"alice-gh"}
			},
			custom: []store.SAMLAttribute{{Name: "team", Required: true, Source: src("locale", byIdP...)}},
			want:   []attribute{{Name: "team", NameFormat: NameFormatUnspecified, Values: []string{"alice-gh"}}},
		},
		{
			name:   "required and missing",
			custom: []store.SAMLAttribute{{Name: "employeeNumber", Required: true, Source: src("employee_id")}},
			reason: "saml-attribute-missing",
		},
		{
			name:   "required with only empty values",
			modify: func(id *identity.Identity) { id.SAMLAttributes["employee_id"] = []string{"", ""} },
			custom: []store.SAMLAttribute{{Name: "employeeNumber", Required: true, Source: src("employee_id")}},
			reason: "saml-attribute-missing",
		},
		{
			name: "SAML attribute before OIDC claim; empty built-in falls through",
			modify: func(id *identity.Identity) {
				id.Name = ""
				id.SAMLAttributes["name"] = []string{"From SAML"}
				id.OIDCClaims["name"] = []string{"From OIDC"}
			},
			custom: []store.SAMLAttribute{{Name: "displayName", Source: src("name")}},
			want:   []attribute{{Name: "displayName", NameFormat: NameFormatUnspecified, Values: []string{"From SAML"}}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := testIdentity()
			if tc.modify != nil {
				tc.modify(id)
			}
			cfg := &store.SaaSApp{CustomAttributes: tc.custom}
			if tc.noEmptyGroups {
				cfg.SendEmptyGroupsAttribute = new(false)
			}
			got, err := attributes(id, cfg)
			if tc.reason != "" {
				if err == nil || reasonOf(err) != tc.reason {
					t.Fatalf("attributes = %v, %v; want reason %s", got, err, tc.reason)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(tc.custom) > 0 {
				// Only the custom part (and any default it replaced) is under test.
				got = slices.DeleteFunc(got, func(a attribute) bool {
					return slices.Contains(defaultAttributes, a.Name) && !slices.ContainsFunc(tc.custom, func(c store.SAMLAttribute) bool { return c.Name == a.Name })
				})
			}
			if (len(got) > 0 || len(tc.want) > 0) && !reflect.DeepEqual(got, tc.want) {
				t.Errorf("attributes =\n%+v\nwant\n%+v", got, tc.want)
			}
		})
	}
}

func TestNameIDFormats(t *testing.T) {
	id := testIdentity()
	for format, want := range map[string]nameID{
		"":          {Format: formatEmail, Value: "alice@example.com"},
		NameIDEmail: {Format: formatEmail, Value: "alice@example.com"},
		NameIDUser:  {Format: formatPersistent, Value: id.UserID},
	} {
		got, err := subjectNameID(id, format)
		if err != nil || got != want {
			t.Errorf("subjectNameID(%q) = %+v, %v; want %+v", format, got, err, want)
		}
	}
	if _, err := subjectNameID(&identity.Identity{UserID: "u"}, NameIDEmail); reasonOf(err) != "saml-nameid-missing" {
		t.Errorf("no e-mail: %v", err)
	}
	if _, err := subjectNameID(&identity.Identity{Email: "a@b.c"}, NameIDUser); reasonOf(err) != "saml-nameid-missing" {
		t.Errorf("no user ID: %v", err)
	}
	if _, err := subjectNameID(id, "transient"); reasonOf(err) != "saml-app-misconfigured" {
		t.Errorf("unknown format: %v", err)
	}
}

func TestPersistentNameIDInResponse(t *testing.T) {
	sa := defaultSaaS()
	sa.NameIDFormat = NameIDUser
	h := newHarness(t, withSaaS(sa))
	h.auth.always = true
	_, raw := samlResponse(t, h.serve(getSSO(nil), ""))
	nid := find(t, verify(t, raw, h.keys.Certificate(), h.clk.Now()).Assertion, "Subject/NameID")
	if f := nid.SelectAttrValue("Format", ""); f != formatPersistent || nid.Text() != testIdentity().UserID {
		t.Errorf("NameID %s %q", f, nid.Text())
	}
}

// xmlSignificant are attribute values that break naive XML building or canonicalization; what
// the SP reads must equal want exactly (no trimming, no whitespace normalization).
var xmlSignificant = []struct{ in, want string }{
	{`<&"'>`, `<&"'>`},
	{`]]><![CDATA[x]]>`, `]]><![CDATA[x]]>`},
	{`</saml:AttributeValue><saml:AttributeValue>admin`, `</saml:AttributeValue><saml:AttributeValue>admin`},
	{"&amp; &#x41; &lt;", "&amp; &#x41; &lt;"},
	{"  padded\t", "  padded\t"},
	{"line1\r\nline2\rline3\n", "line1\r\nline2\rline3\n"},
	{"ünïcödé 日本 🙂", "ünïcödé 日本 🙂"},
	{"nul\x00bell\x07", "nul\uFFFDbell\uFFFD"},
	{"bad\xffutf8", "bad\uFFFDutf8"},
	{"\uFFFE", "\uFFFD"},
}

func TestXMLSignificantCharactersRoundTrip(t *testing.T) {
	h := newHarness(t)
	id := testIdentity()
	var values, want []string
	for _, x := range xmlSignificant {
		values, want = append(values, x.in), append(want, x.want)
	}
	id.SAMLAttributes["tricky"] = values
	id.Email = `o'hara+<x>&y@example.com`
	h.auth.grant.Identity = id
	h.cfg.Applications[0].SaaSApp.CustomAttributes = []store.SAMLAttribute{
		{Name: `a<&"'>b`, FriendlyName: `f<&"'>`, Source: src("tricky")},
	}
	h.compile(t, &harnessConfig{scheme: "https"})
	h.auth.always = true
	_, raw := samlResponse(t, h.serve(getSSO(nil), ""))
	a := verify(t, raw, h.keys.Certificate(), h.clk.Now()).Assertion
	got := attributeValues(t, a)
	if !slices.Equal(got[`a<&"'>b`], want) {
		t.Errorf("values read back:\n%q\nwant\n%q", got[`a<&"'>b`], want)
	}
	if nid := find(t, a, "Subject/NameID").Text(); nid != id.Email {
		t.Errorf("NameID %q", nid)
	}
	if !slices.Equal(got["email"], []string{id.Email}) {
		t.Errorf("email %q", got["email"])
	}
}

func TestXMLText(t *testing.T) {
	for _, x := range xmlSignificant {
		if got := xmlText(x.in); got != x.want {
			t.Errorf("xmlText(%q) = %q, want %q", x.in, got, x.want)
		}
	}
}

func TestAuthnContextClass(t *testing.T) {
	for _, tc := range []struct {
		amr  []string
		want string
	}{
		{nil, classUnspecified},
		{[]string{"otp"}, classUnspecified},
		{[]string{"pwd"}, classPasswordProtectedTransport},
		{[]string{"pwd", "mfa"}, classREFEDSMFA},
		{[]string{"hwk", "pwd"}, classX509},
		{[]string{"sc"}, classSmartcard},
		{[]string{"swk"}, classSoftwarePKI},
		{[]string{"wia"}, classKerberos},
	} {
		if got := authnContextClass(tc.amr); got != tc.want {
			t.Errorf("authnContextClass(%v) = %s, want %s", tc.amr, got, tc.want)
		}
	}
}

func TestReasonOf(t *testing.T) {
	if reasonOf(errors.New("x")) != "saml-internal-error" || reasonOf(failf("r", errors.New("x"))) != "r" {
		t.Fatal("reasonOf")
	}
}
