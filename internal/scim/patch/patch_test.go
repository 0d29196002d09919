package patch

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/scim/filter"
)

func decode(t testing.TB, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("bad JSON fixture %s: %v", s, err)
	}
	return m
}

func body(ops string) string {
	return `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[` + ops + `]}`
}

const userJSON = `{
  "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
  "id": "2819c223-7f76-453a-919d-413861904646",
  "externalId": "00u1abcd",
  "userName": "bjensen@example.com",
  "name": {"givenName": "Barbara", "familyName": "Jensen"},
  "active": true,
  "emails": [
    {"value": "bjensen@example.com", "type": "work", "primary": true},
    {"value": "babs@jensen.org", "type": "home"}
  ],
  "meta": {"resourceType": "User", "created": "2010-01-23T04:56:22Z"}
}`

const groupJSON = `{
  "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
  "id": "abf4dd94-a4c0-4f67-89c9-76b03340cb9b",
  "displayName": "Engineering",
  "members": [
    {"value": "u1", "display": "one@example.com"},
    {"value": "u2"}
  ]
}`

// patchCases are applied to a fresh copy of the base resource; want is the full result, or
// scimType the expected error. They also seed FuzzApply.
var patchCases = []struct {
	name     string
	base     string // userJSON or groupJSON
	ops      string
	want     string // JSON of the result; "" when an error is expected
	scimType string
}{
	// Okta, "SCIM 2.0 protocol reference", developer.okta.com/docs/api/openapi/okta-scim/guides/scim-20:
	// "Update a specific User (PATCH)": deactivation is a pathless replace.
	{"okta deactivate user", userJSON,
		`{"op":"replace","value":{"active":false}}`,
		`{"active":false}`, ""},
	// Okta, same guide, "Update a specific Group name": the value echoes the group id.
	{"okta rename group", groupJSON,
		`{"op":"replace","value":{"id":"abf4dd94-a4c0-4f67-89c9-76b03340cb9b","displayName":"Test SCIMv2"}}`,
		`{"displayName":"Test SCIMv2"}`, ""},
	// Okta, same guide, "Add Group Members".
	{"okta add members", groupJSON,
		`{"op":"add","path":"members","value":[{"value":"23a35c27-23d3-4c03-b4c5-6443c09e7173","display":"test.user@okta.local"}]}`,
		`{"members":[{"value":"u1","display":"one@example.com"},{"value":"u2"},{"value":"23a35c27-23d3-4c03-b4c5-6443c09e7173","display":"test.user@okta.local"}]}`, ""},
	// Okta, same guide, "Remove Group Members".
	{"okta remove member", groupJSON,
		`{"op":"remove","path":"members[value eq \"u1\"]"}`,
		`{"members":[{"value":"u2"}]}`, ""},
	{"okta remove absent member is noTarget", groupJSON,
		`{"op":"remove","path":"members[value eq \"nobody\"]"}`, "", ScimTypeNoTarget},
	// Microsoft Entra ID, "Tutorial: Develop and plan provisioning for a SCIM endpoint",
	// learn.microsoft.com/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups,
	// "Update User [Multi-valued properties]" and "[Single-valued properties]".
	{"entra replace work email and family name", userJSON,
		`{"op":"Replace","path":"emails[type eq \"work\"].value","value":"updatedEmail@microsoft.com"},
		 {"op":"Replace","path":"name.familyName","value":"updatedFamilyName"}`,
		`{"emails":[{"value":"updatedEmail@microsoft.com","type":"work","primary":true},{"value":"babs@jensen.org","type":"home"}],
		  "name":{"givenName":"Barbara","familyName":"updatedFamilyName"}}`, ""},
	{"entra replace userName", userJSON,
		`{"op":"Replace","path":"userName","value":"5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com"}`,
		`{"userName":"5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com"}`, ""},
	// Entra, same tutorial, "Disable User"; with the compatibility flag off Entra sends "False".
	{"entra disable user string boolean", userJSON,
		`{"op":"Replace","path":"active","value":"False"}`,
		`{"active":false}`, ""},
	{"entra enable user boolean", userJSON,
		`{"op":"Replace","path":"active","value":true}`,
		`{}`, ""},
	// Entra, same tutorial, "Add Member to Group" / "Remove Member from Group".
	{"entra add member", groupJSON,
		`{"op":"Add","path":"members","value":[{"$ref":null,"value":"f648f8d5ea4e4cd38e9c"}]}`,
		`{"members":[{"value":"u1","display":"one@example.com"},{"value":"u2"},{"value":"f648f8d5ea4e4cd38e9c"}]}`, ""},
	{"entra remove member by value list", groupJSON,
		`{"op":"Remove","path":"members","value":[{"$ref":null,"value":"u2"}]}`,
		`{"members":[{"value":"u1","display":"one@example.com"}]}`, ""},
	{"entra update group displayName", groupJSON,
		`{"op":"Replace","path":"displayName","value":"1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName"}`,
		`{"displayName":"1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName"}`, ""},
	// Entra adds a work e-mail / enterprise attributes to users that have none; manager as a bare id
	// (attribute-mapping defaults, same tutorial, "User attributes").
	{"entra add email by filter creates value", `{"userName":"x@example.com"}`,
		`{"op":"Add","path":"emails[type eq \"work\"].value","value":"x@example.com"}`,
		`{"emails":[{"type":"work","value":"x@example.com"}]}`, ""},
	{"entra enterprise extension", userJSON,
		`{"op":"Add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber","value":"701984"},
		 {"op":"Replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","value":"26118915-6090"}`,
		`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
		  "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"employeeNumber":"701984","manager":{"value":"26118915-6090"}}}`, ""},
	{"pathless extension object", userJSON,
		`{"op":"add","value":{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"R&D"},"nickName":"Babs","name.middleName":"J"}}`,
		`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
		  "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"R&D"},"nickName":"Babs",
		  "name":{"givenName":"Barbara","familyName":"Jensen","middleName":"J"}}`, ""},
	// RFC 7644 §3.5.2 shapes.
	{"add complex merges", userJSON,
		`{"op":"add","path":"name","value":{"formatted":"Ms. Barbara J Jensen"}}`,
		`{"name":{"givenName":"Barbara","familyName":"Jensen","formatted":"Ms. Barbara J Jensen"}}`, ""},
	{"add email primary moves", userJSON,
		`{"op":"add","path":"emails","value":{"value":"new@example.com","type":"other","primary":"True"}}`,
		`{"emails":[{"value":"bjensen@example.com","type":"work","primary":false},{"value":"babs@jensen.org","type":"home"},{"value":"new@example.com","type":"other","primary":true}]}`, ""},
	{"add existing email merges", userJSON,
		`{"op":"add","path":"emails","value":[{"value":"BABS@jensen.org","display":"Babs"}]}`,
		`{"emails":[{"value":"bjensen@example.com","type":"work","primary":true},{"value":"BABS@jensen.org","type":"home","display":"Babs"}]}`, ""},
	{"replace multi-valued", userJSON,
		`{"op":"replace","path":"emails","value":[{"value":"only@example.com"}]}`,
		`{"emails":[{"value":"only@example.com"}]}`, ""},
	{"replace filtered whole value", userJSON,
		`{"op":"replace","path":"emails[type eq \"home\"]","value":{"value":"h@example.com","type":"home"}}`,
		`{"emails":[{"value":"bjensen@example.com","type":"work","primary":true},{"value":"h@example.com","type":"home"}]}`, ""},
	{"replace filter no match is noTarget", userJSON,
		`{"op":"replace","path":"emails[type eq \"other\"].value","value":"x@example.com"}`, "", ScimTypeNoTarget},
	{"remove single", userJSON, `{"op":"remove","path":"name.givenName"}`,
		`{"name":{"familyName":"Jensen"}}`, ""},
	{"remove last sub unassigns", `{"userName":"a","name":{"givenName":"B"}}`, `{"op":"remove","path":"name.givenName"}`,
		`{"name":null}`, ""},
	{"remove multi all", userJSON, `{"op":"remove","path":"emails"}`, `{"emails":null}`, ""},
	{"remove filtered sub", userJSON, `{"op":"remove","path":"emails[type eq \"work\"].primary"}`,
		`{"emails":[{"value":"bjensen@example.com","type":"work"},{"value":"babs@jensen.org","type":"home"}]}`, ""},
	{"remove absent is fine", userJSON, `{"op":"remove","path":"title"}`, `{}`, ""},
	{"remove members by or filter", groupJSON, `{"op":"remove","path":"members[value eq \"u1\" or value eq \"u2\"]"}`,
		`{"members":null}`, ""},
	{"replace null unassigns", userJSON, `{"op":"replace","path":"name","value":null}`, `{"name":null}`, ""},
	{"case-insensitive names", userJSON, `{"op":"REPLACE","path":"NAME.GIVENNAME","value":"Babs"},{"op":"add","path":"DisplayName","value":"B"}`,
		`{"name":{"givenName":"Babs","familyName":"Jensen"},"displayName":"B"}`, ""},
	{"core urn path", userJSON, `{"op":"replace","path":"urn:ietf:params:scim:schemas:core:2.0:User:title","value":"Boss"}`,
		`{"title":"Boss"}`, ""},
	{"remove extension attribute drops empty extension", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],"userName":"a","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"x"}}`,
		`{"op":"remove","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"}`,
		`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":null}`, ""},
	// Mutability.
	{"id readOnly", userJSON, `{"op":"replace","path":"id","value":"other"}`, "", ScimTypeMutability},
	{"id readOnly pathless", userJSON, `{"op":"replace","value":{"id":"other"}}`, "", ScimTypeMutability},
	{"meta readOnly", userJSON, `{"op":"add","path":"meta.lastModified","value":"2020-01-01T00:00:00Z"}`, "", ScimTypeMutability},
	{"meta remove", userJSON, `{"op":"remove","path":"meta"}`, "", ScimTypeMutability},
	{"groups readOnly", userJSON, `{"op":"add","path":"groups","value":[{"value":"g"}]}`, "", ScimTypeMutability},
	{"manager displayName readOnly", userJSON, `{"op":"add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","value":{"value":"m","displayName":"M"}}`, "", ScimTypeMutability},
	{"member value immutable", groupJSON, `{"op":"replace","path":"members[value eq \"u1\"].value","value":"u9"}`, "", ScimTypeMutability},
	{"member replace immutable", groupJSON, `{"op":"replace","path":"members[value eq \"u1\"]","value":{"value":"u9"}}`, "", ScimTypeMutability},
	{"required userName", userJSON, `{"op":"remove","path":"userName"}`, "", ScimTypeInvalidValue},
	// Paths and values.
	{"proto path", userJSON, `{"op":"add","path":"__proto__","value":{"polluted":true}}`, "", ScimTypeInvalidPath},
	{"constructor prototype", userJSON, `{"op":"add","path":"constructor.prototype","value":{"polluted":true}}`, "", ScimTypeInvalidPath},
	{"proto pathless", userJSON, `{"op":"add","value":{"__proto__":{"polluted":true}}}`, "", ScimTypeInvalidPath},
	{"unknown attribute", userJSON, `{"op":"add","path":"favouriteColour","value":"red"}`, "", ScimTypeInvalidPath},
	{"unknown sub-attribute", userJSON, `{"op":"add","path":"name.nick","value":"x"}`, "", ScimTypeInvalidPath},
	{"unknown sub in value", userJSON, `{"op":"add","path":"name","value":{"constructor":{"prototype":1}}}`, "", ScimTypeInvalidValue},
	{"unknown schema", userJSON, `{"op":"add","path":"urn:example:evil:1.0:User:x","value":"x"}`, "", ScimTypeInvalidPath},
	{"filter on single-valued", userJSON, `{"op":"replace","path":"name[givenName eq \"B\"]","value":{}}`, "", ScimTypeInvalidPath},
	{"filter unknown sub", userJSON, `{"op":"remove","path":"emails[kind eq \"work\"]"}`, "", ScimTypeInvalidPath},
	{"bad filter", userJSON, `{"op":"remove","path":"emails[type eq ]"}`, "", ScimTypeInvalidPath},
	{"wrong type", userJSON, `{"op":"replace","path":"active","value":"yes"}`, "", ScimTypeInvalidValue},
	{"wrong type string", userJSON, `{"op":"replace","path":"userName","value":5}`, "", ScimTypeInvalidValue},
	{"number as e-mail after a valid op", `{"userName":"a"}`, `{"op":"replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value","value":"m"},{"op":"add","path":"emails","value":{"value":5}}`, "", ScimTypeInvalidValue},
	{"atomic: later failure discards earlier ops", userJSON, `{"op":"replace","path":"title","value":"T"},{"op":"replace","path":"id","value":"x"}`, "", ScimTypeMutability},
}

// mergeWant applies the top-level keys of want onto base (null deletes), to state results
// compactly.
func mergeWant(base, want map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range base {
		out[k] = v
	}
	for k, v := range want {
		if v == nil {
			delete(out, k)
		} else {
			out[k] = v
		}
	}
	return out
}

func schemaFor(base string) Schema {
	if strings.Contains(base, "members") {
		return GroupSchema
	}
	return UserSchema
}

func TestApply(t *testing.T) {
	for _, tc := range patchCases {
		t.Run(tc.name, func(t *testing.T) {
			ops, err := ParseRequest([]byte(body(tc.ops)))
			if err != nil {
				// Some invalid paths are caught before Apply.
				var pe *Error
				if tc.scimType == "" || !errors.As(err, &pe) || pe.ScimType != tc.scimType {
					t.Fatalf("ParseRequest: %v", err)
				}
				return
			}
			res := decode(t, tc.base)
			orig := decode(t, tc.base)
			got, err := Apply(res, ops, schemaFor(tc.base))
			if !reflect.DeepEqual(res, orig) {
				t.Fatalf("Apply modified its input")
			}
			if tc.scimType != "" {
				var pe *Error
				if !errors.As(err, &pe) || pe.ScimType != tc.scimType || pe.Status != 400 {
					t.Fatalf("Apply error = %v, want scimType %s", err, tc.scimType)
				}
				return
			}
			if err != nil {
				t.Fatalf("Apply: %v", err)
			}
			want := mergeWant(orig, decode(t, tc.want))
			if !reflect.DeepEqual(got, want) {
				g, _ := json.Marshal(got)
				w, _ := json.Marshal(want)
				t.Fatalf("got  %s\nwant %s", g, w)
			}
		})
	}
}

func TestParseRequest(t *testing.T) {
	tests := []struct {
		name, body string
		status     int
		scimType   string
	}{
		{"ok", body(`{"op":"Add","path":"members","value":[]}`), 0, ""},
		{"lowercase operations key", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"operations":[{"op":"remove","path":"title"}]}`, 0, ""},
		{"no schema", `{"Operations":[{"op":"remove","path":"title"}]}`, 400, ScimTypeInvalidSyntax},
		{"wrong schema", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"Operations":[{"op":"remove","path":"title"}]}`, 400, ScimTypeInvalidSyntax},
		{"not json", `{"schemas":`, 400, ScimTypeInvalidSyntax},
		{"array", `[]`, 400, ScimTypeInvalidSyntax},
		{"no operations", body(``), 400, ScimTypeInvalidSyntax},
		{"bad op", body(`{"op":"move","path":"title"}`), 400, ScimTypeInvalidSyntax},
		{"op not object", body(`"remove"`), 400, ScimTypeInvalidSyntax},
		{"remove without path", body(`{"op":"remove"}`), 400, ScimTypeNoTarget},
		{"add without value", body(`{"op":"add","path":"title"}`), 400, ScimTypeInvalidValue},
		{"pathless non-object", body(`{"op":"replace","value":"x"}`), 400, ScimTypeInvalidValue},
		{"bad path", body(`{"op":"remove","path":"emails[type eq"}`), 400, ScimTypeInvalidPath},
		{"proto path", body(`{"op":"remove","path":"__proto__"}`), 400, ScimTypeInvalidPath},
		{"too many", body(strings.TrimSuffix(strings.Repeat(`{"op":"remove","path":"title"},`, MaxOperations+1), ",")), 413, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ops, err := ParseRequest([]byte(tc.body))
			if tc.status == 0 {
				if err != nil || len(ops) == 0 {
					t.Fatalf("ParseRequest = %v, %v", ops, err)
				}
				return
			}
			var pe *Error
			if !errors.As(err, &pe) || pe.Status != tc.status || pe.ScimType != tc.scimType {
				t.Fatalf("ParseRequest error = %#v, want %d %s", err, tc.status, tc.scimType)
			}
		})
	}
}

func TestImmutableTopLevel(t *testing.T) {
	s := Schema{ID: "urn:example:Thing", Attributes: []Attribute{{Name: "serial", Type: TypeString, Mutability: Immutable}}}
	got, err := Apply(map[string]any{}, []Operation{{Op: "add", Path: "serial", Value: "A1"}}, s)
	if err != nil || got["serial"] != "A1" {
		t.Fatalf("setting an unassigned immutable attribute: %v, %v", got, err)
	}
	if _, err := Apply(got, []Operation{{Op: "replace", Path: "serial", Value: "A1"}}, s); err != nil {
		t.Fatalf("replacing with the same value: %v", err)
	}
	for _, op := range []Operation{{Op: "replace", Path: "serial", Value: "B2"}, {Op: "remove", Path: "serial"}} {
		var pe *Error
		if _, err := Apply(got, []Operation{op}, s); !errors.As(err, &pe) || pe.ScimType != ScimTypeMutability {
			t.Fatalf("%s on immutable: %v", op.Op, err)
		}
	}
}

func TestSchemaCaseExact(t *testing.T) {
	for path, want := range map[string]bool{
		"id": true, "externalId": true, "userName": false, "emails.value": false,
		"urn:ietf:params:scim:schemas:core:2.0:User:id": true, "nope": false,
	} {
		s := UserSchema
		p, err := filter.ParsePath(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := s.CaseExact(p); got != want {
			t.Errorf("CaseExact(%s) = %v, want %v", path, got, want)
		}
	}
}

func FuzzApply(f *testing.F) {
	for _, tc := range patchCases {
		f.Add(tc.base, body(tc.ops))
	}
	f.Fuzz(func(t *testing.T, base, req string) {
		var res map[string]any
		if json.Unmarshal([]byte(base), &res) != nil {
			return
		}
		ops, err := ParseRequest([]byte(req))
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("ParseRequest error is not *Error: %v", err)
			}
			return
		}
		before, _ := json.Marshal(res)
		for _, s := range []Schema{UserSchema, GroupSchema} {
			out, err := Apply(res, ops, s)
			if err != nil {
				var pe *Error
				if !errors.As(err, &pe) || pe.Status == 0 {
					t.Fatalf("Apply error is not *Error: %v", err)
				}
				continue
			}
			if _, err := json.Marshal(out); err != nil {
				t.Fatalf("result does not marshal: %v", err)
			}
		}
		if after, _ := json.Marshal(res); string(after) != string(before) {
			t.Fatalf("Apply modified its input")
		}
	})
}

func BenchmarkApply(b *testing.B) {
	user := decode(b, userJSON)
	ops, err := ParseRequest([]byte(body(`{"op":"Replace","path":"emails[type eq \"work\"].value","value":"x@example.com"},{"op":"Replace","path":"active","value":"False"},{"op":"replace","value":{"displayName":"X","name.givenName":"Y"}}`)))
	if err != nil {
		b.Fatal(err)
	}
	b.Run("user", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := Apply(user, ops, UserSchema); err != nil {
				b.Fatal(err)
			}
		}
	})
	members := make([]any, 10000)
	for i := range members {
		members[i] = map[string]any{"value": "user-" + strings.Repeat("x", 8) + string(rune('a'+i%26)) + jsonInt(i)}
	}
	group := map[string]any{"displayName": "big", "members": members}
	gops, err := ParseRequest([]byte(body(`{"op":"Add","path":"members","value":[{"value":"new-user"}]},{"op":"Remove","path":"members[value eq \"user-xxxxxxxxa0\"]"}`)))
	if err != nil {
		b.Fatal(err)
	}
	b.Run("group-10k-members", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := Apply(group, gops, GroupSchema); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parse-request", func(b *testing.B) {
		raw := []byte(body(`{"op":"Add","path":"members","value":[{"value":"a"},{"value":"b"}]},{"op":"Remove","path":"members[value eq \"c\"]"}`))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := ParseRequest(raw); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func jsonInt(i int) string {
	b, _ := json.Marshal(i)
	return string(b)
}
