package rules

import (
	"net/netip"
	"strings"
	"testing"
)

var testLists = Lists{
	"ai-hosts":    {"chatgpt.com", "Claude.AI."},
	"office-nets": {"10.0.0.0/8", "2001:db8::/32", "192.0.2.7"},
	"ai-apps":     {"1199", " 505 "},
	"bad-ips":     {"10.0.0.0/8", "not-an-ip"},
	"bad-ints":    {"12", "x"},
}

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		in        string
		line, col int
		msg       string
	}{
		{`http.request.hots == "a"`, 1, 1, "unknown field http.request.hots; did you mean http.request.host?"},
		{`http.requst.uri.path == "/"`, 1, 1, "did you mean http.request.uri.path?"},
		{`http.request == "a"`, 1, 1, "unknown field http.request; did you mean"},
		{`foo == "a"`, 1, 1, "unknown field foo"},
		{`http.request.host == 1`, 1, 22, `http.request.host == needs a quoted string; got 1`},
		{`http.request.host < "a"`, 1, 1, `operator < does not apply to http.request.host`},
		{`http.request.host in {"a" 1}`, 1, 27, `needs quoted strings in the set; got 1`},
		{`http.request.uri matches "(a"`, 1, 26, "invalid regular expression: missing closing ): `(a`"},
		{`http.request.uri matches "a**"`, 1, 26, "invalid regular expression"},
		{`http.request.uri matches "` + strings.Repeat(`(a|b)?`, 500) + `"`, 1, 26, "regular expression too complex"},
		{`http.request.uri matches "[a-z]{1000}[0-9]{1000}"`, 1, 26, "regular expression too complex"},
		{`http.upload.file.size > "big"`, 1, 25, `needs a number; got "big"`},
		{`http.upload.file.size contains "1"`, 1, 1, `operator contains does not apply to http.upload.file.size (an Int)`},
		{`http.upload.file.size > 9223372036854775807`, 1, 25, "out of range for http.upload.file.size"},
		{`http.conn.src_ip == "nope"`, 1, 21, `invalid IP address "nope"`},
		{`http.conn.src_ip in {"10.0.0.0/8"}`, 1, 22, `IP addresses or CIDR networks in the set`},
		{`http.conn.src_ip matches "10"`, 1, 1, `operator matches does not apply to http.conn.src_ip (an IP)`},
		{`http.conn.src_ip == 10`, 1, 21, `needs an IP address or CIDR network; got 10`},
		{`app.ids == 505`, 1, 1, "app.ids is an array; compare its elements with any(app.ids[*] == …)"},
		{`app.ids[*] in {505}`, 1, 1, "app.ids is an array"},
		{`any(http.request.host == "a")`, 1, 5, "any(…) needs an array field; http.request.host is a String"},
		{`http.request.host[*] == "a"`, 1, 1, "not an array; drop [*]"},
		{`http.request.host["x"] == "a"`, 1, 1, `not a map; drop ["x"]`},
		{`any(identity.saml_attributes[*] == "a")`, 1, 5, `identity.saml_attributes needs a name`},
		{`any(app.ids[*] in {"505"})`, 1, 20, `needs numbers in the set`},
		{`any(app.statuses[*] == 1)`, 1, 24, `needs a quoted string`},
		{`http.request.host in $nope`, 1, 22, "unknown list $nope"},
		{`http.request.host in $ai-host`, 1, 22, "unknown list $ai-host; did you mean $ai-hosts?"},
		{`http.conn.src_ip in $bad-ips`, 1, 21, `list $bad-ips: "not-an-ip" is not an IP address`},
		{`any(app.ids[*] in $bad-ints)`, 1, 19, `list $bad-ints: "x" is not a number`},
		{"http.request.host == \"a\" and\n  http.request.metod == \"GET\"", 2, 3, "did you mean http.request.method?"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			_, err := CompileExpr(tt.in, testLists)
			if err == nil {
				t.Fatal("no error")
			}
			pe := err.(*ExprError)
			if pe.Line != tt.line || pe.Col != tt.col || !strings.Contains(pe.Msg, tt.msg) {
				t.Errorf("got %v, want %d:%d: …%s…", err, tt.line, tt.col, tt.msg)
			}
		})
	}
}

// req is a typical inspected request to ChatGPT by a user in the engineering group.
func req() *Input {
	return &Input{
		Host:               "chat.openai.com",
		Domains:            Domains("chat.openai.com"),
		SrcIP:              netip.MustParseAddr("10.1.2.3"),
		DstIP:              netip.MustParseAddr("2001:db8::10"),
		SrcCountry:         "GB",
		Location:           "office",
		ProxyEndpoint:      "gw.example.com",
		ContentCategories:  []int{164},
		AppIDs:             []int{1199},
		AppTypeIDs:         []int{25},
		AppStatuses:        []string{"unapproved"},
		Email:              "Alice@Example.com",
		Name:               "Alice Smith",
		GroupNames:         []string{"Engineering", "Contractors"},
		GroupIDs:           []string{"g1", "g2"},
		GroupEmails:        []string{"eng@example.com"},
		SAMLAttributes:     map[string][]string{"department": {"sales", "emea"}},
		IdP:                "okta",
		DeviceID:           "dev-1",
		URL:                "https://chat.openai.com/backend-api/Files?x=1",
		Path:               "/backend-api/Files",
		PathAndQuery:       "/backend-api/Files?x=1",
		Query:              "x=1",
		Method:             "POST",
		AppControls:        []int{1653},
		UploadMime:         "Application/PDF",
		ResponseStatus:     200,
		BodyPhase:          "upload",
		UploadFileTypes:    []string{"pdf"},
		UploadFileSize:     12 << 20,
		DLPProfiles:        []string{"pii"},
		SecurityCategories: nil,
	}
}

func TestEvaluate(t *testing.T) {
	tests := []struct {
		expr string
		want bool
	}{
		{``, true},
		{`http.request.host == "chat.openai.com"`, true},
		{`http.request.host == "CHAT.OpenAI.com."`, true}, // host literals are case-folded
		{`http.request.host == "openai.com"`, false},
		{`http.request.host != "openai.com"`, true},
		{`http.request.host in {"a.example" "chat.openai.com"}`, true},
		{`not(http.request.host in {"a" "b"})`, true},
		{`http.request.host contains "openai"`, true},
		{`http.request.host matches "^chat\\."`, true},
		{`http.request.host matches "^CHAT"`, false}, // regexes see the lower-case host
		// Domains match the host and every parent domain.
		{`any(http.request.domains[*] == "openai.com")`, true},
		{`any(http.request.domains[*] == "chat.openai.com")`, true},
		{`any(http.request.domains[*] == "penai.com")`, false},
		{`any(http.request.domains[*] in $ai-hosts)`, false},
		{`any(http.request.domains[*] in {"OpenAI.com"})`, true},
		// URL, path and query are case-sensitive.
		{`http.request.uri == "https://chat.openai.com/backend-api/Files?x=1"`, true},
		{`http.request.uri.path == "/backend-api/files"`, false},
		{`http.request.uri.path == "/backend-api/Files"`, true},
		{`http.request.uri.path_and_query contains "?x=1"`, true},
		{`http.request.uri.query == "x=1"`, true},
		{`http.request.uri matches "/backend-api/(F|f)iles"`, true},
		{`http.request.method == "POST"`, true},
		{`http.request.method in {"GET" "HEAD"}`, false},
		// IPs, CIDRs, IPv6, lists.
		{`http.conn.src_ip in {10.0.0.0/8 192.0.2.1}`, true},
		{`http.conn.src_ip in {192.168.0.0/16}`, false},
		{`http.conn.src_ip == 10.1.2.3`, true},
		{`http.conn.src_ip == ::ffff:10.1.2.3`, true},
		{`http.conn.src_ip in {::ffff:10.0.0.0/104}`, true},
		{`http.conn.src_ip != 10.1.2.3`, false},
		{`http.conn.src_ip == "10.0.0.0/8"`, true},
		{`http.conn.src_ip in $office-nets`, true},
		{`http.conn.dst_ip in {2001:db8::/32}`, true},
		{`http.conn.dst_ip in {2001:db9::/32 10.0.0.0/8}`, false},
		{`http.conn.dst_ip == 2001:db8::10`, true},
		{`http.conn.dst_ip in $office-nets`, true},
		{`http.src_ip.geo.country == "GB"`, true},
		{`http.conn.location == "office"`, true},
		{`proxy.endpoint == "GW.example.com"`, true},
		// Integers and arrays.
		{`any(app.ids[*] in {505 1199})`, true},
		{`any(app.ids[*] == 1199)`, true},
		{`any(app.ids[*] in $ai-apps)`, true},
		{`any(app.ids[*] != 1199)`, false},
		{`any(app.type.ids[*] in {25})`, true},
		{`any(app.statuses[*] == "unapproved")`, true},
		{`all(app.statuses[*] == "unapproved")`, true},
		{`all(identity.groups[*].name == "Engineering")`, false},
		{`all(http.request.uri.security_category[*] == 1)`, false}, // all() of nothing is false
		{`any(http.request.uri.content_category[*] in {164})`, true},
		{`any(app_control.controls[*] in {1653})`, true},
		{`any(app.ids[*] == 1199) and any(app_control.controls[*] in {1653})`, true},
		{`http.upload.file.size > 10`, true}, // 12 MiB
		{`http.upload.file.size < 12`, false},
		{`http.upload.file.size <= 12`, true},
		{`http.upload.file.size >= 13`, false},
		{`http.upload.file.size == 12`, true},
		{`http.response.status_code == 200`, true},
		{`http.response.status_code == "200"`, true},
		{`http.response.status_code in {404 500}`, false},
		{`http.upload.mime == "application/pdf"`, true},
		{`any(http.upload.file.types[*] in {"pdf" "zip"})`, true},
		{`http.body_phase == "upload"`, true},
		{`any(dlp.profiles[*] in {"pii"})`, true},
		// Identity.
		{`identity.email == "alice@example.com"`, true},
		{`identity.email in {"ALICE@example.com"}`, true},
		{`identity.email matches "@example\\.com$"`, true},
		{`identity.name == "Alice Smith"`, true},
		{`identity.name == "alice smith"`, false},
		{`any(identity.groups[*].name in {"Contractors"})`, true},
		{`any(identity.groups.name[*] in {"contractors"})`, false},
		{`any(identity.groups[*].id == "g2")`, true},
		{`any(identity.groups[*].email == "ENG@example.com")`, true},
		{`any(identity.saml_attributes["department"] in {"sales"})`, true},
		{`any(identity.saml_attributes["department"][*] == "emea")`, true},
		{`any(identity.saml_attributes["role"] in {"sales"})`, false},
		{`identity.idp == "okta"`, true},
		{`identity.service_token_uuid == ""`, true},
		{`device.id == "dev-1"`, true},
		{`any(device_posture.checks.passed[*] == "x")`, false},
		// Logic.
		{`http.request.host == "x" or http.request.method == "POST"`, true},
		{`http.request.host == "x" and http.request.method == "POST"`, false},
		{`http.request.host == "x" xor http.request.method == "POST"`, true},
		{`http.request.host == "chat.openai.com" xor http.request.method == "POST"`, false},
		{`not(http.request.host == "x") && !(http.request.method == "GET")`, true},
	}
	in := req()
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			x, err := CompileExpr(tt.expr, testLists)
			if err != nil {
				t.Fatal(err)
			}
			if got := x.Match(in); got != tt.want {
				t.Errorf("Match = %v, want %v", got, tt.want)
			}
			// Without Domains, http.request.domains is derived from Host: same result.
			derived := *in
			derived.Domains = nil
			if got := x.Match(&derived); got != tt.want {
				t.Errorf("Match with Domains derived from Host = %v, want %v", got, tt.want)
			}
			// Negation flips every result: no expression is vacuously both.
			if tt.expr != "" {
				nx, err := CompileExpr("not("+tt.expr+")", testLists)
				if err != nil {
					t.Fatal(err)
				}
				if nx.Match(in) == tt.want {
					t.Errorf("not(…) also %v", tt.want)
				}
			}
		})
	}
}

// TestEvaluateEmptyInput: comparisons on missing values are false, so not(…) is true.
func TestEvaluateEmptyInput(t *testing.T) {
	in := &Input{}
	for _, expr := range []string{
		`http.request.host == "a"`, `http.conn.src_ip in {0.0.0.0/0 ::/0}`, `any(app.ids[*] == 0)`,
		`identity.email contains "@"`, `http.conn.dst_ip == 0.0.0.0`,
	} {
		x, err := CompileExpr(expr, nil)
		if err != nil {
			t.Fatal(err)
		}
		if x.Match(in) {
			t.Errorf("%s matched an empty input", expr)
		}
	}
}

// TestDomainsDerived: with Input.Domains nil, any/all over http.request.domains walk the host's
// domains, case-folded, without allocating.
func TestDomainsDerived(t *testing.T) {
	tests := []struct {
		expr, host string
		want       bool
	}{
		{`any(http.request.domains[*] == "openai.com")`, "chat.openai.com", true},
		{`any(http.request.domains[*] == "openai.com")`, "Chat.OpenAI.com.", true},
		{`any(http.request.domains[*] == "openai.com")`, "openai.com", true},
		{`any(http.request.domains[*] == "openai.com")`, "notopenai.com", false},
		{`any(http.request.domains[*] == "1.2")`, "192.0.1.2", false},
		{`any(http.request.domains[*] == "192.0.1.2")`, "192.0.1.2", true},
		{`any(http.request.domains[*] == "com")`, "", false},
		{`all(http.request.domains[*] contains "a")`, "chat.openai.com", false},
		{`all(http.request.domains[*] contains "o")`, "google.com", true},
		{`all(http.request.domains[*] contains "o")`, "", false},
	}
	for _, tt := range tests {
		x, err := CompileExpr(tt.expr, nil)
		if err != nil {
			t.Fatal(err)
		}
		in := &Input{Host: tt.host}
		if got := x.Match(in); got != tt.want {
			t.Errorf("%s with host %q: %v, want %v", tt.expr, tt.host, got, tt.want)
		}
		in.Domains = Domains(tt.host)
		if got := x.Match(in); got != tt.want {
			t.Errorf("%s with Domains(%q): %v, want %v", tt.expr, tt.host, got, tt.want)
		}
	}
	x, _ := CompileExpr(`any(http.request.domains[*] in {"a.example" "b.example"})`, nil)
	in := &Input{Host: "w.x.y.z.example"}
	if n := testing.AllocsPerRun(100, func() { x.Match(in) }); n != 0 && !raceEnabled {
		t.Errorf("derived domains allocate %v times", n)
	}
}

func TestDomains(t *testing.T) {
	tests := []struct {
		host string
		want []string
	}{
		{"chat.openai.com", []string{"chat.openai.com", "openai.com", "com"}},
		{"chat.openai.com.", []string{"chat.openai.com", "openai.com", "com"}},
		{"localhost", []string{"localhost"}},
		{"192.0.2.1", []string{"192.0.2.1"}},
		{"2001:db8::1", []string{"2001:db8::1"}},
		{"", nil},
	}
	for _, tt := range tests {
		got := Domains(tt.host)
		if strings.Join(got, ",") != strings.Join(tt.want, ",") {
			t.Errorf("Domains(%q) = %q, want %q", tt.host, got, tt.want)
		}
	}
	if n := testing.AllocsPerRun(100, func() { _ = Domains("a.b.c.d.example.com") }); n > 1 && !raceEnabled {
		t.Errorf("Domains allocates %v times, want 1", n)
	}
	buf := make([]string, 0, 8)
	if n := testing.AllocsPerRun(100, func() { buf = AppendDomains(buf[:0], "a.b.c.example.com") }); n != 0 && !raceEnabled {
		t.Errorf("AppendDomains into a buffer allocates %v times", n)
	}
}

// TestEvaluateDoesNotAllocate: the common comparisons evaluate without allocating.
func TestEvaluateDoesNotAllocate(t *testing.T) {
	in := req()
	for _, expr := range []string{
		`any(http.request.domains[*] == "openai.com") and any(app.statuses[*] == "unapproved")`,
		`http.request.host in {"a" "b" "chat.openai.com"}`,
		`identity.email == "alice@example.com"`, // folds a mixed-case input: see below
		`any(identity.groups[*].name in {"Contractors"})`,
		`http.conn.src_ip in {10.0.0.0/8 192.0.2.1} and http.request.uri matches "/backend-api/"`,
		`any(identity.saml_attributes["department"] in {"sales"})`,
		`http.upload.file.size > 10 or any(app.ids[*] in {505})`,
	} {
		x, err := CompileExpr(expr, nil)
		if err != nil {
			t.Fatal(err)
		}
		in.Email = "alice@example.com" // lower case input: folding is free
		if n := testing.AllocsPerRun(100, func() { x.Match(in) }); n != 0 && !raceEnabled {
			t.Errorf("%s: %v allocations per evaluation", expr, n)
		}
	}
}
