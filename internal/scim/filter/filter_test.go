package filter

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

const enterpriseURN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

// parseCases are (input, canonical form) pairs; they also seed FuzzParse.
var parseCases = []struct {
	in, want string
}{
	// RFC 7644 §3.4.2.2 examples.
	{`userName Eq "john"`, `userName eq "john"`},
	{`Username eq "john"`, `Username eq "john"`},
	{`name.familyName co "O'Malley"`, `name.familyName co "O'Malley"`},
	{`userName sw "J"`, `userName sw "J"`},
	{`urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J"`, `urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J"`},
	{`title pr`, `title pr`},
	{`meta.lastModified gt "2011-05-13T04:42:34Z"`, `meta.lastModified gt "2011-05-13T04:42:34Z"`},
	{`meta.lastModified ge "2011-05-13T04:42:34Z"`, `meta.lastModified ge "2011-05-13T04:42:34Z"`},
	{`meta.lastModified lt "2011-05-13T04:42:34Z"`, `meta.lastModified lt "2011-05-13T04:42:34Z"`},
	{`meta.lastModified le "2011-05-13T04:42:34Z"`, `meta.lastModified le "2011-05-13T04:42:34Z"`},
	{`title pr and userType eq "Employee"`, `title pr and userType eq "Employee"`},
	{`title pr or userType eq "Intern"`, `title pr or userType eq "Intern"`},
	{`schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"`, `schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"`},
	{`userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")`, `userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")`},
	{`userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")`, `userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")`},
	{`userType eq "Employee" and (emails.type eq "work")`, `userType eq "Employee" and emails.type eq "work"`},
	{`userType eq "Employee" and emails[type eq "work" and value co "@example.com"]`, `userType eq "Employee" and emails[type eq "work" and value co "@example.com"]`},
	{`emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]`, `emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]`},
	// Okta and Entra lookups.
	{`userName eq "isabell.s@example.com"`, `userName eq "isabell.s@example.com"`},
	{`externalId eq "00u1abcd"`, `externalId eq "00u1abcd"`},
	{`displayName eq "Engineering"`, `displayName eq "Engineering"`},
	{`id eq "5b6a" and members[value eq "u1"]`, `id eq "5b6a" and members[value eq "u1"]`},
	// Precedence and associativity.
	{`a eq 1 or b eq 2 and c eq 3`, `a eq 1 or b eq 2 and c eq 3`},
	{`(a eq 1 or b eq 2) and c eq 3`, `(a eq 1 or b eq 2) and c eq 3`},
	{`a eq 1 and (b eq 2 and c eq 3)`, `a eq 1 and (b eq 2 and c eq 3)`},
	{`a eq 1 or (b eq 2 or c eq 3)`, `a eq 1 or (b eq 2 or c eq 3)`},
	{`NOT(a pr) AND b pr OR c pr`, `not (a pr) and b pr or c pr`},
	{`not (not (a pr))`, `not (not (a pr))`},
	{`((((a pr))))`, `a pr`},
	// Literals.
	{`active eq true`, `active eq true`},
	{`active eq FALSE`, `active eq false`},
	{`title eq null`, `title eq null`},
	{`x gt -1.5e3`, `x gt -1500.0`},
	{`x ge 42`, `x ge 42`},
	{`x le 0.25`, `x le 0.25`},
	{`x eq 99999999999999999999`, `x eq 1e+20`},
	{`displayName eq "say \"hi\"\\ \u00e9\t/"`, `displayName eq "say \"hi\"\\ é\t/"`},
	{`displayName co "<&>"`, `displayName co "<&>"`},
	// URN-qualified paths and sub-attributes.
	{enterpriseURN + `:employeeNumber eq "701984"`, enterpriseURN + `:employeeNumber eq "701984"`},
	{enterpriseURN + `:manager.value eq "26118915-6090-4610-87e4-49d8ca9f808d"`, enterpriseURN + `:manager.value eq "26118915-6090-4610-87e4-49d8ca9f808d"`},
	{`members.$ref pr`, `members.$ref pr`},
	{"userName\teq\n\"x\"", `userName eq "x"`},
	{`userName  eq   "x"  `, `userName eq "x"`},
}

var parseErrors = []struct {
	in    string
	limit bool
}{
	{``, false},
	{`userName`, false},
	{`userName eq`, false},
	{`userName eq john`, false},
	{`userName === "x"`, false},
	{`userName eq "x" and`, false},
	{`userName eq "x" or or b pr`, false},
	{`(userName eq "x"`, false},
	{`userName eq "x")`, false},
	{`emails[type eq "work"`, false},
	{`emails[type eq "work"]]`, false},
	{`emails[types[value eq "x"]]`, false},
	{`emails[urn:a:b:type eq "x"]`, false},
	{`emails[type.x eq "x"]`, false},
	{`name.familyName[value eq "x"]`, false},
	{`not userName eq "x"`, false},
	{`userName eq "unterminated`, false},
	{`userName eq "bad \x escape"`, false},
	{`userName eq "` + "\x01" + `"`, false},
	{`1userName eq "x"`, false},
	{`__proto__ eq "x"`, false},
	{`user..name eq "x"`, false},
	{`name.given.family eq "x"`, false},
	{`urn:: eq "x"`, false},
	{`urn:ietf:params:scim:schemas:core:2.0:User: eq "x"`, false},
	{`active gt true`, false},
	{`title lt null`, false},
	{`userName co 5`, false},
	{`x eq 01`, false},
	{`x eq 1.`, false},
	{`x eq -`, false},
	{`x eq 1e999`, false},
	{`userName eq "x"; DROP TABLE users`, false},
	{`userName eq "x" ' OR 1=1 --`, false},
	{"userName eq \"\xff\"", false},
	{strings.Repeat(`a pr or `, 64) + `a pr`, true},
	{strings.Repeat("(", 17) + "a pr" + strings.Repeat(")", 17), true},
	{strings.Repeat("not (", 17) + "a pr" + strings.Repeat(")", 17), true},
	{`userName eq "` + strings.Repeat("x", MaxLength) + `"`, true},
}

func TestParse(t *testing.T) {
	for _, tc := range parseCases {
		t.Run(tc.in, func(t *testing.T) {
			e, err := Parse(tc.in)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got := e.String(); got != tc.want {
				t.Fatalf("String() = %s\nwant       %s", got, tc.want)
			}
			// The canonical form parses back to the same tree.
			e2, err := Parse(e.String())
			if err != nil {
				t.Fatalf("reparse: %v", err)
			}
			if !reflect.DeepEqual(e, e2) {
				t.Fatalf("reparse differs:\n%#v\n%#v", e, e2)
			}
		})
	}
}

func TestParseTree(t *testing.T) {
	e, err := Parse(`a eq "1" or b pr and not (c.d EQ 2) or urn:x:y:E[f ne true]`)
	if err != nil {
		t.Fatal(err)
	}
	want := Or{
		L: Or{
			L: Compare{Path: Path{Attr: "a"}, Op: "eq", Value: "1"},
			R: And{L: Present{Path: Path{Attr: "b"}}, R: Not{X: Compare{Path: Path{Attr: "c", Sub: "d"}, Op: "eq", Value: int64(2)}}},
		},
		R: ValuePath{Path: Path{URN: "urn:x:y", Attr: "E"}, Filter: Compare{Path: Path{Attr: "f"}, Op: "ne", Value: true}},
	}
	if !reflect.DeepEqual(e, want) {
		t.Fatalf("got  %#v\nwant %#v", e, want)
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range parseErrors {
		name := tc.in
		if len(name) > 60 {
			name = name[:60]
		}
		t.Run(name, func(t *testing.T) {
			e, err := Parse(tc.in)
			if err == nil {
				t.Fatalf("Parse succeeded: %v", e)
			}
			if !errors.Is(err, ErrInvalidFilter) {
				t.Fatalf("error %v does not wrap ErrInvalidFilter", err)
			}
			if errors.Is(err, ErrLimit) != tc.limit {
				t.Fatalf("errors.Is(ErrLimit) = %v, want %v (%v)", !tc.limit, tc.limit, err)
			}
			if len(err.Error()) > 200 {
				t.Fatalf("error message too long (%d bytes): it must not echo the input", len(err.Error()))
			}
		})
	}
}

func TestParsePatchPath(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{`members`, `members`, true},
		{`name.givenName`, `name.givenName`, true},
		{`members[value eq "2819c223"]`, `members[value eq "2819c223"]`, true},
		{`emails[type eq "work"].value`, `emails[type eq "work"].value`, true},
		{`addresses[type eq "work"].streetAddress`, `addresses[type eq "work"].streetAddress`, true},
		{enterpriseURN + `:manager`, enterpriseURN + `:manager`, true},
		{`urn:ietf:params:scim:schemas:core:2.0:User:name.givenName`, `urn:ietf:params:scim:schemas:core:2.0:User:name.givenName`, true},
		{`emails[type eq "work"] .value`, ``, false},
		{`emails[type eq "work"].`, ``, false},
		{`emails[type eq "work"].value.x`, ``, false},
		{`emails[type eq "work"]x`, ``, false},
		{`__proto__`, ``, false},
		{`constructor.prototype.polluted`, ``, false},
		{``, ``, false},
		{`members[value eq "x"`, ``, false},
		{`members eq "x"`, ``, false},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			pp, err := ParsePatchPath(tc.in)
			if tc.ok != (err == nil) {
				t.Fatalf("ParsePatchPath(%q) error = %v, want ok=%v", tc.in, err, tc.ok)
			}
			if err == nil && pp.String() != tc.want {
				t.Fatalf("String() = %s, want %s", pp.String(), tc.want)
			}
			if err != nil && !errors.Is(err, ErrInvalidFilter) {
				t.Fatalf("error %v does not wrap ErrInvalidFilter", err)
			}
		})
	}
}

func testUser() map[string]any {
	return map[string]any{
		"schemas":    []any{"urn:ietf:params:scim:schemas:core:2.0:User", enterpriseURN},
		"id":         "2819c223-7f76-453a-919d-413861904646",
		"externalId": "00uAbC",
		"userName":   "Bjensen@example.com",
		"name":       map[string]any{"familyName": "Jensen", "givenName": "Barbara"},
		"title":      "",
		"userType":   "Employee",
		"active":     true,
		"loginCount": float64(7),
		"emails": []any{
			map[string]any{"value": "bjensen@example.com", "type": "work", "primary": true},
			map[string]any{"value": "babs@jensen.org", "type": "home"},
		},
		"meta": map[string]any{
			"created":      "2010-01-23T04:56:22Z",
			"lastModified": "2011-05-13T04:42:34+02:00",
		},
		enterpriseURN: map[string]any{
			"employeeNumber": "701984",
			"manager":        map[string]any{"value": "26118915"},
		},
	}
}

func TestMatch(t *testing.T) {
	tests := []struct {
		filter string
		want   bool
		opts   []MatchOption
	}{
		{`userName eq "bjensen@example.com"`, true, nil},
		{`USERNAME EQ "BJENSEN@EXAMPLE.COM"`, true, nil},
		{`userName eq "bjensen@example.com"`, false, []MatchOption{CaseExact("userName")}},
		{`userName eq "Bjensen@example.com"`, true, []MatchOption{CaseExact("userName")}},
		{`externalId eq "00uabc"`, false, []MatchOption{CaseExact("id", "externalId")}},
		{`userName ne "bjensen@example.com"`, false, nil},
		{`nickName ne "x"`, true, nil},
		{`name.familyName co "ens"`, true, nil},
		{`name.familyName sw "jen"`, true, nil},
		{`name.familyName ew "SEN"`, true, nil},
		{`name.familyName ew "jen"`, false, nil},
		{`name.givenName gt "Alice"`, true, nil},
		{`name.givenName lt "alice"`, false, nil},
		{`title pr`, false, nil},
		{`userType pr`, true, nil},
		{`nickName pr`, false, nil},
		{`emails pr`, true, nil},
		{`name pr`, true, nil},
		{`active eq true`, true, nil},
		{`active eq false`, false, nil},
		{`active ne false`, true, nil},
		{`active eq "true"`, false, nil},
		{`loginCount gt 5`, true, nil},
		{`loginCount le 6.5`, false, nil},
		{`loginCount eq 7`, true, nil},
		{`emails.value eq "babs@jensen.org"`, true, nil},
		{`emails co "jensen.org"`, true, nil},
		{`emails.type eq "other"`, false, nil},
		{`emails[type eq "work" and value co "@example.com"]`, true, nil},
		{`emails[type eq "home" and value co "@example.com"]`, false, nil},
		{`emails[type eq "home" and not (primary eq true)]`, true, nil},
		{`emails[primary pr]`, true, nil},
		{`name[givenName eq "barbara"]`, true, nil},
		{`emails[value eq "BABS@jensen.org"]`, false, []MatchOption{CaseExact("emails.value")}},
		{`meta.lastModified gt "2011-05-13T02:00:00Z"`, true, nil},
		{`meta.lastModified lt "2011-05-13T02:42:35Z"`, true, nil},
		{`meta.lastModified eq "2011-05-13T02:42:34Z"`, true, nil},
		{`meta.created ge "2010-01-23T04:56:22.000Z"`, true, nil},
		{enterpriseURN + `:employeeNumber eq "701984"`, true, nil},
		{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:user:employeenumber eq "701984"`, true, nil},
		{enterpriseURN + `:manager.value eq "26118915"`, true, nil},
		{`employeeNumber eq "701984"`, false, nil},
		{`urn:ietf:params:scim:schemas:core:2.0:User:userName sw "bjen"`, true, nil},
		{`urn:example:other:userName sw "bjen"`, false, nil},
		{`nickName eq null`, true, nil},
		{`userName eq null`, false, nil},
		{`userName ne null`, true, nil},
		{`not (nickName eq "x")`, true, nil},
		{`userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")`, true, nil},
		{`userType ne "Employee" or not (emails co "example.com")`, false, nil},
		{`schemas eq "` + enterpriseURN + `"`, true, nil},
	}
	for _, tc := range tests {
		t.Run(tc.filter, func(t *testing.T) {
			e, err := Parse(tc.filter)
			if err != nil {
				t.Fatal(err)
			}
			if got := Match(e, testUser(), tc.opts...); got != tc.want {
				t.Fatalf("Match = %v, want %v", got, tc.want)
			}
		})
	}
}

var testCols = map[string]Column{
	"userName":                        {Expr: "u.user_name", Kind: KindString},
	"externalId":                      {Expr: "u.external_id", Kind: KindString, CaseExact: true},
	"emails.value":                    {Expr: "u.email", Kind: KindString, Folded: true},
	"active":                          {Expr: "u.active", Kind: "boolean"},
	"meta.created":                    {Expr: "u.created_at", Kind: KindMicros},
	"meta.lastModified":               {Expr: "u.updated_at", Kind: "dateTime"},
	"loginCount":                      {Expr: "u.login_count", Kind: KindInt},
	enterpriseURN + ":employeeNumber": {Expr: "u.employee_number", Kind: KindString},
}

func TestToSQL(t *testing.T) {
	tm := time.Date(2011, 5, 13, 2, 42, 34, 0, time.UTC)
	tests := []struct {
		filter string
		where  string
		args   []any
	}{
		{`userName eq "Bjensen"`, `LOWER(u.user_name) = LOWER(?)`, []any{"Bjensen"}},
		{`urn:ietf:params:scim:schemas:core:2.0:User:USERNAME eq "x"`, `LOWER(u.user_name) = LOWER(?)`, []any{"x"}},
		{`externalId eq "AbC"`, `u.external_id = ?`, []any{"AbC"}},
		{`emails.value eq "A@B.example"`, `u.email = ?`, []any{"a@b.example"}},
		{`userName ne "x"`, `(u.user_name IS NULL OR LOWER(u.user_name) <> LOWER(?))`, []any{"x"}},
		{`userName co "50%_off\\"`, `LOWER(u.user_name) LIKE LOWER(?) ESCAPE '\'`, []any{`%50\%\_off\\%`}},
		{`userName sw "a"`, `LOWER(u.user_name) LIKE LOWER(?) ESCAPE '\'`, []any{`a%`}},
		{`externalId ew "Z"`, `u.external_id LIKE ? ESCAPE '\'`, []any{`%Z`}},
		{`userName gt "m"`, `LOWER(u.user_name) > LOWER(?)`, []any{"m"}},
		{`userName pr`, `(u.user_name IS NOT NULL AND u.user_name <> '')`, nil},
		{`active pr`, `u.active IS NOT NULL`, nil},
		{`active eq false`, `u.active = ?`, []any{false}},
		{`active ne true`, `(u.active IS NULL OR u.active <> ?)`, []any{true}},
		{`userName eq null`, `u.user_name IS NULL`, nil},
		{`userName ne null`, `u.user_name IS NOT NULL`, nil},
		{`meta.created ge "2011-05-13T04:42:34+02:00"`, `u.created_at >= ?`, []any{tm.UnixMicro()}},
		{`meta.lastModified lt "2011-05-13T04:42:34+02:00"`, `u.updated_at < ?`, []any{tm}},
		{`loginCount le 3`, `u.login_count <= ?`, []any{int64(3)}},
		{`loginCount gt 2.5`, `u.login_count > ?`, []any{2.5}},
		{enterpriseURN + `:employeeNumber eq "7"`, `LOWER(u.employee_number) = LOWER(?)`, []any{"7"}},
		{`userName eq "a" and active eq true or not (externalId pr)`,
			`((LOWER(u.user_name) = LOWER(?) AND u.active = ?) OR NOT COALESCE((u.external_id IS NOT NULL AND u.external_id <> ''), FALSE))`,
			[]any{"a", true}},
		// Injection-shaped values only ever travel as arguments.
		{`userName eq "x' OR '1'='1"`, `LOWER(u.user_name) = LOWER(?)`, []any{"x' OR '1'='1"}},
		{`userName eq "\"); DROP TABLE users; --"`, `LOWER(u.user_name) = LOWER(?)`, []any{`"); DROP TABLE users; --`}},
	}
	for _, tc := range tests {
		t.Run(tc.filter, func(t *testing.T) {
			e, err := Parse(tc.filter)
			if err != nil {
				t.Fatal(err)
			}
			where, args, err := ToSQL(e, testCols)
			if err != nil {
				t.Fatalf("ToSQL: %v", err)
			}
			if where != tc.where {
				t.Errorf("where = %s\nwant    %s", where, tc.where)
			}
			if !reflect.DeepEqual(args, tc.args) {
				t.Errorf("args = %#v, want %#v", args, tc.args)
			}
			if strings.Count(where, "?") != len(args) {
				t.Errorf("%d placeholders for %d args", strings.Count(where, "?"), len(args))
			}
		})
	}
}

func TestToSQLErrors(t *testing.T) {
	tests := []struct {
		filter string
		target error
	}{
		{`nickName eq "x"`, ErrNotIndexed},
		{`emails[type eq "work"]`, ErrNotIndexed},
		{`userName eq "x" or title pr`, ErrNotIndexed},
		{`employeeNumber eq "7"`, ErrNotIndexed},
		{`urn:example:other:2.0:User:employeeNumber eq "7"`, ErrNotIndexed},
		{`userName eq 5`, ErrInvalidFilter},
		{`active eq "true"`, ErrInvalidFilter},
		{`loginCount eq "3"`, ErrInvalidFilter},
		{`meta.created gt "yesterday"`, ErrInvalidFilter},
		{`meta.created co "2011"`, ErrInvalidFilter},
	}
	for _, tc := range tests {
		t.Run(tc.filter, func(t *testing.T) {
			e, err := Parse(tc.filter)
			if err != nil {
				t.Fatal(err)
			}
			_, _, err = ToSQL(e, testCols)
			if !errors.Is(err, tc.target) {
				t.Fatalf("ToSQL error = %v, want %v", err, tc.target)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	for _, tc := range parseCases {
		f.Add(tc.in)
	}
	for _, tc := range parseErrors {
		if len(tc.in) < 600 {
			f.Add(tc.in)
		}
	}
	res := testUser()
	f.Fuzz(func(t *testing.T, s string) {
		e, err := Parse(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidFilter) {
				t.Fatalf("error does not wrap ErrInvalidFilter: %v", err)
			}
			return
		}
		canon := e.String()
		e2, err := Parse(canon)
		if err != nil {
			t.Fatalf("canonical form %q does not parse: %v", canon, err)
		}
		if e2.String() != canon {
			t.Fatalf("canonical form not stable: %q -> %q", canon, e2.String())
		}
		Match(e, res)
		where, args, err := ToSQL(e, testCols)
		if err == nil && strings.Count(where, "?") != len(args) {
			t.Fatalf("%d placeholders for %d args", strings.Count(where, "?"), len(args))
		}
		_, _ = ParsePatchPath(s)
	})
}

func BenchmarkParse(b *testing.B) {
	for _, f := range []string{
		`userName eq "bjensen@example.com"`,
		`userType eq "Employee" and (emails co "example.com" or emails.value co "example.org") and not (title pr)`,
		`emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]`,
	} {
		b.Run(strings.Fields(f)[0], func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Parse(f); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkMatch(b *testing.B) {
	e, _ := Parse(`userType eq "Employee" and emails[type eq "work" and value co "@example.com"]`)
	res := testUser()
	b.ReportAllocs()
	for b.Loop() {
		Match(e, res)
	}
}
