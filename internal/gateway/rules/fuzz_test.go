package rules

import (
	"net/netip"
	"strings"
	"testing"
)

// fuzzSeeds are table-test inputs and golden expressions, so the fuzzer starts from the language
// as it is used.
func fuzzSeeds(f *testing.F) {
	for _, s := range []string{
		`any(http.request.domains[*] == "chatgpt.com") and any(app.statuses[*] == "unapproved")`,
		`any(identity.groups[*].name in {"Contractors"})`,
		`any(app.ids[*] in {505})`,
		`http.request.uri matches "/r/gaming"`,
		`not(http.request.host in {"a" "b"})`,
		`http.conn.src_ip in {10.0.0.0/8 192.0.2.1 2001:db8::/32}`,
		`http.upload.file.size >= 10 xor http.response.status_code != "200"`,
		`any(identity.saml_attributes["dept"] in {"sales"}) or identity.email in $list`,
		`http.request.uri matches r#"a"b"# && !(http.request.method eq "GET") || http.request.host ~ "x"`,
		"http.request.uri == \"\\x00\\\\\\\"\\n\"",
		`all(app.type.ids[*] le -5)`,
		`http.request.host not in {"x"}`,
	} {
		f.Add(s)
	}
}

// FuzzParse: parsing never panics, and whatever parses prints to a canonical form that parses
// to the same expression (printing it again gives the same text); whatever compiles, compiles
// again from its canonical form to an expression that uses the same fields and decides the
// same.
func FuzzParse(f *testing.F) {
	fuzzSeeds(f)
	lists := Lists{"list": {"a", "10.0.0.0/8", "1"}}
	in := req()
	f.Fuzz(func(t *testing.T, src string) {
		e, err := Parse(src)
		if err != nil {
			if _, ok := err.(*ExprError); !ok {
				t.Fatalf("error %T is not *ExprError", err)
			}
			return
		}
		canon := e.String()
		e2, err := Parse(canon)
		if err != nil {
			t.Fatalf("%q printed as %q, which does not parse: %v", src, canon, err)
		}
		if e2.String() != canon {
			t.Fatalf("%q printed as %q, which prints as %q", src, canon, e2.String())
		}
		x, err := CompileExpr(src, lists)
		if err != nil {
			if _, err2 := CompileExpr(canon, lists); err2 == nil {
				t.Fatalf("%q fails (%v) but its canonical form %q compiles", src, err, canon)
			}
			return
		}
		y, err := CompileExpr(canon, lists)
		if err != nil {
			t.Fatalf("%q compiles but its canonical form %q does not: %v", src, canon, err)
		}
		if x.needs != y.needs || x.phase != y.phase || x.Match(in) != y.Match(in) {
			t.Fatalf("%q and its canonical form %q compile differently", src, canon)
		}
	})
}

// FuzzEvaluate: any compiling expression evaluates without panicking over inputs made of fuzzed
// strings, and not(e) always decides the opposite of e.
func FuzzEvaluate(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, src string) {
		x, err := CompileExpr(src, Lists{"list": {"a"}})
		if err != nil || strings.Trim(src, " \t\r\n") == "" {
			return
		}
		nx, err := CompileExpr("not("+src+")", Lists{"list": {"a"}})
		if err != nil {
			// Nesting one level deeper can exceed the depth limit; nothing else.
			if !strings.Contains(err.Error(), "nested deeper") {
				t.Fatalf("not(%s): %v", src, err)
			}
			return
		}
		for _, in := range []*Input{{}, req(), {
			Host: src, Domains: Domains(src), URL: src, Email: src, GroupNames: []string{src},
			SAMLAttributes: map[string][]string{src: {src}}, AppIDs: []int{len(src)},
			SrcIP: netip.MustParseAddr("::ffff:10.0.0.1"), UploadFileSize: int64(len(src)) << 20,
		}} {
			if x.Match(in) == nx.Match(in) {
				t.Fatalf("%q and its negation agree on %+v", src, in)
			}
		}
	})
}
