package rules

import (
	"strings"
	"testing"
)

// TestParsePrinting: each expression parses and prints canonically; the canonical form shows
// how operators bind.
func TestParsePrinting(t *testing.T) {
	tests := []struct{ in, want string }{
		// Precedence: not > and > xor > or, left-associative.
		{`http.request.host == "a" or http.request.host == "b" and http.request.method == "GET"`,
			`http.request.host == "a" or http.request.host == "b" and http.request.method == "GET"`},
		{`(http.request.host == "a" or http.request.host == "b") and http.request.method == "GET"`,
			`(http.request.host == "a" or http.request.host == "b") and http.request.method == "GET"`},
		{`not http.request.host == "a" and http.request.method == "GET"`,
			`not(http.request.host == "a") and http.request.method == "GET"`},
		{`not (http.request.host == "a" and http.request.method == "GET")`,
			`not(http.request.host == "a" and http.request.method == "GET")`},
		{`!http.request.host == "a" || http.request.host == "b" && http.request.host == "c"`,
			`not(http.request.host == "a") or http.request.host == "b" and http.request.host == "c"`},
		{`http.request.host == "a" and (http.request.host == "b" and http.request.host == "c")`,
			`http.request.host == "a" and (http.request.host == "b" and http.request.host == "c")`},
		{`http.request.host == "a" xor http.request.host == "b" or http.request.host == "c" ^^ http.request.host == "d"`,
			`http.request.host == "a" xor http.request.host == "b" or http.request.host == "c" xor http.request.host == "d"`},
		{`((http.request.host == "a"))`, `http.request.host == "a"`},
		{`not not http.request.host == "a"`, `not(not(http.request.host == "a"))`},
		// Every comparison operator and its aliases.
		{`http.request.host eq "a"`, `http.request.host == "a"`},
		{`http.request.host ne "a"`, `http.request.host != "a"`},
		{`http.request.host != "a"`, `http.request.host != "a"`},
		{`http.upload.file.size lt 10`, `http.upload.file.size < 10`},
		{`http.upload.file.size le 10`, `http.upload.file.size <= 10`},
		{`http.upload.file.size gt 10`, `http.upload.file.size > 10`},
		{`http.upload.file.size ge 10`, `http.upload.file.size >= 10`},
		{`http.upload.file.size<10`, `http.upload.file.size < 10`},
		{`http.upload.file.size<=10`, `http.upload.file.size <= 10`},
		{`http.upload.file.size>10`, `http.upload.file.size > 10`},
		{`http.upload.file.size>=-1`, `http.upload.file.size >= -1`},
		{`http.request.uri contains "/x"`, `http.request.uri contains "/x"`},
		{`http.request.uri matches "^/r/"`, `http.request.uri matches "^/r/"`},
		{`http.request.uri ~ "^/r/"`, `http.request.uri matches "^/r/"`},
		{`http.request.host in {"a" "b"}`, `http.request.host in {"a" "b"}`},
		{`http.request.host not in {"a" "b"}`, `not(http.request.host in {"a" "b"})`},
		{`http.request.uri not matches "x"`, `not(http.request.uri matches "x")`},
		{`http.request.host in $allowed-hosts`, `http.request.host in $allowed-hosts`},
		{`http.request.host in $01302951-49f9-47c9-a400-0297e60b6a10`, `http.request.host in $01302951-49f9-47c9-a400-0297e60b6a10`},
		// Literals.
		{`http.conn.src_ip in {10.0.0.0/8 192.0.2.1}`, `http.conn.src_ip in {10.0.0.0/8 192.0.2.1}`},
		{`http.conn.src_ip in {2001:db8::/32 ::1 fe80::1}`, `http.conn.src_ip in {2001:db8::/32 ::1 fe80::1}`},
		{`http.conn.src_ip == ::ffff:192.0.2.1`, `http.conn.src_ip == ::ffff:192.0.2.1`},
		{`any(app.ids[*] in {505 1199})`, `any(app.ids[*] in {505 1199})`},
		{"http.request.uri == \"a\\\"b\\\\c\\n\\t\\r\\x01\"", "http.request.uri == \"a\\\"b\\\\c\\n\\t\\r\\x01\""},
		{`http.request.uri == "\x41"`, `http.request.uri == "A"`},
		{`http.request.uri matches r"\d+\.html"`, `http.request.uri matches "\\d+\\.html"`},
		{`http.request.uri matches r#"say "hi""#`, `http.request.uri matches "say \"hi\""`},
		{`http.request.uri == "héllo"`, `http.request.uri == "héllo"`},
		// Arrays, maps and Cloudflare's two spellings of group fields.
		{`any(identity.groups[*].name in {"Contractors"})`, `any(identity.groups.name[*] in {"Contractors"})`},
		{`any(identity.groups.name[*] in {"Contractors"})`, `any(identity.groups.name[*] in {"Contractors"})`},
		{`any(identity.saml_attributes["dept"] in {"sales"})`, `any(identity.saml_attributes["dept"][*] in {"sales"})`},
		{`all(app.statuses[*] == "approved")`, `all(app.statuses[*] == "approved")`},
		{"http.request.host == \"a\"\n  and\thttp.request.method == \"GET\"", `http.request.host == "a" and http.request.method == "GET"`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			e, err := Parse(tt.in)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got := e.String(); got != tt.want {
				t.Errorf("String() = %s\nwant       %s", got, tt.want)
			}
			// The canonical form parses to itself.
			e2, err := Parse(e.String())
			if err != nil {
				t.Fatalf("reparse %s: %v", e.String(), err)
			}
			if e2.String() != e.String() {
				t.Errorf("reparse printed %s", e2.String())
			}
		})
	}
}

// TestParseTree checks the tree shape, not just the printing.
func TestParseTree(t *testing.T) {
	e, err := Parse(`http.request.host == "a" or http.request.host == "b" and not http.request.host == "c"`)
	if err != nil {
		t.Fatal(err)
	}
	or, ok := e.(*Binary)
	if !ok || or.Op != "or" {
		t.Fatalf("root = %#v, want or", e)
	}
	and, ok := or.R.(*Binary)
	if !ok || and.Op != "and" {
		t.Fatalf("right = %#v, want and", or.R)
	}
	if _, ok := and.R.(*Not); !ok {
		t.Fatalf("and.R = %#v, want not", and.R)
	}
	c := or.L.(*Compare)
	if c.Field.Name != "http.request.host" || c.Op != "==" || c.Value.Kind != ValString || c.Value.Str != "a" {
		t.Errorf("left = %+v", c)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		in        string
		line, col int
		msg       string
	}{
		{``, 1, 1, "empty expression"},
		{`http.request.host`, 1, 18, "unexpected end of expression; expected a comparison operator"},
		{`http.request.host = "a"`, 1, 19, `write == to compare`},
		{`http.request.host == "a`, 1, 22, "unterminated string"},
		{`http.request.host == "a\q"`, 1, 24, `unknown escape \q`},
		{`http.request.host == "a" and`, 1, 29, "unexpected end of expression"},
		{`http.request.host == "a" "b"`, 1, 26, `unexpected string "b"; expected and, or`},
		{`(http.request.host == "a"`, 1, 26, `expected ")"`},
		{`http.request.host in {"a", "b"}`, 1, 26, "separated by spaces, not commas"},
		{`http.request.host in {}`, 1, 22, "empty set"},
		{`http.request.host == {"a"}`, 1, 22, "a set {…} goes only after in"},
		{`http.request.host == $x`, 1, 22, "a list $name goes only after in"},
		{`http.conn.src_ip in {10.0.0.1/8}`, 1, 22, "did you mean 10.0.0.0/8?"},
		{`http.conn.src_ip in {10.0.0.0/33}`, 1, 22, `invalid CIDR "10.0.0.0/33"`},
		{`http.conn.src_ip == 300.1.1.1`, 1, 21, `invalid IP address "300.1.1.1"`},
		{`http.conn.src_ip == fe80::1%eth0`, 1, 28, `unexpected character '%'`},
		{`http.upload.file.size > 99999999999999999999`, 1, 25, "out of range"},
		{`http.upload.file.size > 12ab`, 1, 25, `malformed number "12ab"`},
		{`any(http.request.host == "a" and http.request.host == "b")`, 1, 5, "any(…) takes one comparison"},
		{`identity.groups[*][*] == "a"`, 1, 19, `expected [*] or a map key`},
		{"http.request.host == \"a\"\nand http.request.host @ \"b\"", 2, 23, `unexpected character '@'`},
		{`http..host == "a"`, 1, 1, `malformed field name "http..host"`},
		{`"a" == http.request.host`, 1, 1, `unexpected string "a"; expected a field`},
		{`http.request.host == $`, 1, 22, "expected a list name after $"},
		{`http.request.uri matches r#"x"`, 1, 26, "unterminated raw string"},
		{strings.Repeat("(", 100) + `http.request.host == "a"` + strings.Repeat(")", 100), 1, 65, "nested deeper than 64"},
		{strings.Repeat("not ", 100) + `http.request.host == "a"`, 1, 257, "nested deeper than 64"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			_, err := Parse(tt.in)
			var pe *ExprError
			if err == nil {
				t.Fatal("no error")
			}
			pe = err.(*ExprError)
			if pe.Line != tt.line || pe.Col != tt.col || !strings.Contains(pe.Msg, tt.msg) {
				t.Errorf("got %v, want %d:%d: …%s…", err, tt.line, tt.col, tt.msg)
			}
		})
	}
}
