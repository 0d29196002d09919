package gateway

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse/gatehouse/internal/gateway/applib"
	"github.com/gatehouse/gatehouse/internal/gateway/rules"
	"github.com/gatehouse/gatehouse/internal/gateway/upload"
)

// syncBuffer is a log destination safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// testPolicy compiles rules with the default catalogue and ChatGPT (1199) unapproved.
func testPolicy(t testing.TB, rs []rules.Rule) *Policy {
	t.Helper()
	p, err := rules.Compile(rs, rules.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cat := applib.MustDefault()
	reviews, err := applib.ParseReviews(cat, applib.Reviews{"ChatGPT": "unapproved"})
	if err != nil {
		t.Fatal(err)
	}
	return &Policy{Rules: p, Catalog: cat, Reviews: reviews, DLPProfiles: p.FieldStrings("dlp.profiles"), Scores: ScoresOf(cat, nil)}
}

var policyRules = []rules.Rule{
	{ID: "blk", Name: "No unapproved uploads", Precedence: 10, Enabled: true, Action: rules.ActionBlock,
		Traffic:      `any(app.statuses[*] == "unapproved") and http.request.uri.path == "/blocked"`,
		RuleSettings: rules.RuleSettings{BlockPageEnabled: true, BlockReason: "Use the approved assistant."}},
	{ID: "bare", Name: "Bare", Precedence: 15, Enabled: true, Action: rules.ActionBlock,
		Traffic: `http.request.uri.path == "/bare"`},
	{ID: "redir", Name: "To the approved one", Precedence: 20, Enabled: true, Action: rules.ActionRedirect,
		Traffic: `http.request.uri.path matches "^/old"`,
		RuleSettings: rules.RuleSettings{Redirect: &rules.RedirectSettings{TargetURI: "https://ai.example.com/go?x=1",
			PreservePathAndQuery: true, IncludeContext: true}}},
	{ID: "tenant", Name: "Workspace", Precedence: 30, Enabled: true, Action: rules.ActionAllow,
		Traffic:      `any(http.request.domains[*] == "chatgpt.com")`,
		RuleSettings: rules.RuleSettings{AddHeaders: map[string][]string{"Chatgpt-Allowed-Workspace-Id": {"ws-1"}}}},
	{ID: "teapot", Name: "No teapots", Precedence: 40, Enabled: true, Action: rules.ActionBlock,
		Traffic: `http.response.status_code == 418`, RuleSettings: rules.RuleSettings{BlockPageEnabled: true}},
}

func TestPlainHTTPPolicies(t *testing.T) {
	var seen sync.Map
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen.Store(r.URL.Path, r.Header.Clone())
		if r.URL.Path == "/teapot" {
			w.WriteHeader(http.StatusTeapot)
		}
		_, _ = io.WriteString(w, "origin "+r.URL.Path)
	}))
	defer origin.Close()
	_, port, _ := net.SplitHostPort(origin.Listener.Addr().String())
	logs := &syncBuffer{}
	gw := newTestGateway(t, Options{
		Egress: &Egress{Pins: map[string]netip.Addr{"chatgpt.com": netip.MustParseAddr("127.0.0.1")},
			Allowed: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}},
		Policy: testPolicy(t, policyRules),
		Log:    slog.New(slog.NewJSONHandler(logs, nil)),
	})
	proxyURL := &url.URL{Scheme: "http", Host: gw, User: url.UserPassword("ci", testSecret)}
	client := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(proxyURL)},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	base := "http://chatgpt.com:" + port
	get := func(path, accept string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", base+path, nil)
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		req.Header.Set("Chatgpt-Allowed-Workspace-Id", "spoofed")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp, string(b)
	}

	resp, body := get("/blocked", "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8")
	if resp.StatusCode != 403 || !strings.Contains(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("blocked HTML: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	for _, want := range []string{"No unapproved uploads", "blk", "Use the approved assistant.", "ChatGPT", "Reference ID"} {
		if !strings.Contains(body, want) {
			t.Errorf("block page lacks %q:\n%s", want, body)
		}
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "unsafe") {
		t.Errorf("CSP %q", csp)
	}
	if _, ok := seen.Load("/blocked"); ok {
		t.Error("a blocked request reached the origin")
	}

	resp, body = get("/blocked", "application/json")
	var j map[string]string
	if err := json.Unmarshal([]byte(body), &j); err != nil || resp.StatusCode != 403 {
		t.Fatalf("blocked JSON: %d %q %v", resp.StatusCode, body, err)
	}
	if j["rule_id"] != "blk" || j["application_name"] != "ChatGPT" || j["request_id"] == "" || j["error"] != "blocked" {
		t.Errorf("block JSON %v", j)
	}

	resp, body = get("/bare", "text/html")
	if resp.StatusCode != 403 || strings.Contains(body, "<html") || !strings.Contains(body, "reference") {
		t.Errorf("bare block: %d %q", resp.StatusCode, body)
	}

	resp, _ = get("/old/chat?q=1", "")
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusTemporaryRedirect || loc == nil || loc.Host != "ai.example.com" || loc.Path != "/go/old/chat" {
		t.Fatalf("redirect: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if q := loc.Query(); q.Get("x") != "1" || q.Get("q") != "1" || q.Get("cf_rule_id") != "redir" || q.Get("cf_site_uri") != base+"/old/chat?q=1" {
		t.Errorf("redirect query %v", q)
	}

	resp, body = get("/ok", "")
	if resp.StatusCode != 200 || body != "origin /ok" {
		t.Fatalf("allowed: %d %q", resp.StatusCode, body)
	}
	h, _ := seen.Load("/ok")
	if got := h.(http.Header).Values("Chatgpt-Allowed-Workspace-Id"); len(got) != 1 || got[0] != "ws-1" {
		t.Errorf("origin saw workspace header %v, want [ws-1]", got)
	}

	resp, body = get("/teapot", "application/json")
	if resp.StatusCode != 403 || !strings.Contains(body, `"rule_id":"teapot"`) || strings.Contains(body, "origin") {
		t.Errorf("response-phase block: %d %q", resp.StatusCode, body)
	}

	out := logs.String()
	for _, want := range []string{`"rule_id":"blk"`, `"action":"block"`, `"app_id":1199`, `"app":"ChatGPT"`, `"app_status":"unapproved"`,
		`"rule_id":"tenant"`, `"action":"allow"`, `"rule_id":"redir"`, `"outcome":"redirected"`, `"rule_id":"teapot"`} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %s", want)
		}
	}
}

func TestWantsHTML(t *testing.T) {
	for accept, want := range map[string]bool{
		"": false, "*/*": false, "application/json": false, "text/html": true,
		"text/html;q=0.5, application/json": false, "application/json;q=0.1, text/html": true,
		"text/html;q=0": false, "application/xhtml+xml": true,
	} {
		r := httptest.NewRequest("GET", "/", nil)
		if accept != "" {
			r.Header.Set("Accept", accept)
		}
		if got := WantsHTML(r); got != want {
			t.Errorf("WantsHTML(%q) = %v", accept, got)
		}
	}
}

// TestConnectPolicies checks a tunnel that is not inspected: a block rule decidable before
// decryption refuses the CONNECT with 403; rules needing the URL cannot apply; other hosts
// open.
func TestConnectPolicies(t *testing.T) {
	echo := echoServer(t)
	_, port, _ := net.SplitHostPort(echo)
	lo := netip.MustParseAddr("127.0.0.1")
	logs := &syncBuffer{}
	gw := newTestGateway(t, Options{
		Egress: &Egress{Pins: map[string]netip.Addr{"chatgpt.com": lo, "claude.ai": lo},
			Allowed: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}},
		Policy: testPolicy(t, []rules.Rule{
			{ID: "url", Precedence: 1, Enabled: true, Action: rules.ActionBlock, Traffic: `http.request.uri.path == "/"`},
			{ID: "unapproved", Name: "Unapproved AI", Precedence: 2, Enabled: true, Action: rules.ActionBlock,
				Traffic: `any(app.statuses[*] == "unapproved")`},
		}),
		Log: slog.New(slog.NewJSONHandler(logs, nil)),
	})
	c, br, status := connect(t, gw, "chatgpt.com:"+port, "")
	if status != http.StatusForbidden {
		t.Fatalf("CONNECT to an unapproved app: %d, want 403", status)
	}
	_ = br
	c.Close()
	c, br, status = connect(t, gw, "claude.ai:"+port, "")
	if status != http.StatusOK {
		t.Fatalf("CONNECT to an unreviewed app: %d, want 200", status)
	}
	_, _ = c.Write([]byte("ping"))
	buf := make([]byte, 4)
	if _, err := io.ReadFull(br, buf); err != nil || string(buf) != "ping" {
		t.Fatalf("tunnel echo %q %v", buf, err)
	}
	c.Close()
	if out := logs.String(); !strings.Contains(out, `"rule_id":"unapproved"`) || !strings.Contains(out, `"outcome":"blocked"`) {
		t.Errorf("log lacks the CONNECT block:\n%s", out)
	}
}

// TestUploadDLP: a body-phase rule blocks an upload holding personal data, lets a clean one
// through (body intact), and a body too large to inspect is blocked (fail closed).
func TestUploadDLP(t *testing.T) {
	var got sync.Map
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got.Store(r.URL.Path, string(b))
	}))
	defer origin.Close()
	_, port, _ := net.SplitHostPort(origin.Listener.Addr().String())
	uploads, err := upload.New(upload.Options{MaxBodyBytes: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	gw := newTestGateway(t, Options{
		Egress: &Egress{Pins: map[string]netip.Addr{"chatgpt.com": netip.MustParseAddr("127.0.0.1")},
			Allowed: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}},
		Policy: testPolicy(t, []rules.Rule{
			{ID: "allow-ai", Precedence: 1, Enabled: true, Action: rules.ActionAllow, Traffic: `any(app.ids[*] == 1199)`},
			{ID: "no-pii", Name: "No PII to AI", Precedence: 5, Enabled: true, Action: rules.ActionBlock,
				Traffic: `any(app.ids[*] == 1199) and any(dlp.profiles[*] in {"pii"})`,
				RuleSettings: rules.RuleSettings{BlockPageEnabled: true, BlockReason: "Personal data may not be sent to AI tools",
					PayloadLog: &rules.PayloadLogSettings{Enabled: true}}},
			{ID: "no-exe", Name: "No executables", Precedence: 6, Enabled: true, Action: rules.ActionBlock,
				Traffic: `any(http.upload.file.types[*] in {"exe" "dll"})`, RuleSettings: rules.RuleSettings{BlockPageEnabled: true, ScanFailure: &rules.ScanFailureSettings{Action: "allow"}}},
		}),
		Uploads: uploads,
		Log:     slog.New(slog.NewJSONHandler(logs, nil)),
	})
	client := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(&url.URL{Scheme: "http", Host: gw, User: url.UserPassword("ci", testSecret)})}}
	post := func(path, body string) (int, string) {
		t.Helper()
		resp, err := client.Post("http://chatgpt.com:"+port+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode, string(b)
	}
	clean := `{"prompt":"summarise the quarterly report"}`
	if status, _ := post("/clean", clean); status != 200 {
		t.Fatalf("clean upload: %d", status)
	}
	if b, _ := got.Load("/clean"); b != clean {
		t.Errorf("origin got %q", b)
	}
	status, body := post("/pii", `{"prompt":"write to ada.lovelace@analytical-engines.co.uk about her account"}`)
	if status != 403 || !strings.Contains(body, `"rule_id":"no-pii"`) {
		t.Fatalf("PII upload: %d %q", status, body)
	}
	if _, ok := got.Load("/pii"); ok {
		t.Error("a blocked upload reached the origin")
	}
	status, _ = post("/big", strings.Repeat("a", 65<<10))
	if status != 403 {
		t.Fatalf("over-limit upload: %d, want 403 (fail closed)", status)
	}
	if _, ok := got.Load("/big"); ok {
		t.Error("an uninspected upload reached the origin")
	}
	// An executable is blocked by its content, whatever it is called.
	exe := make([]byte, 512)
	copy(exe, "MZ")
	binary.LittleEndian.PutUint32(exe[0x3c:], 0x80)
	copy(exe[0x80:], "PE\x00\x00")
	status, body = post("/upload.txt", string(exe))
	if status != 403 || !strings.Contains(body, `"rule_id":"no-exe"`) {
		t.Fatalf("executable upload: %d %q", status, body)
	}
	out := logs.String()
	if !strings.Contains(out, `"reason":"dlp-incomplete"`) || !strings.Contains(out, `"rule_id":"no-pii"`) {
		t.Errorf("log lacks the DLP decisions:\n%s", out)
	}
	// The DLP line names the profile and entry, redacts the sample, and (payload_log on for
	// the rule, but no payload key configured) carries no payload.
	if !strings.Contains(out, `"msg":"gateway dlp"`) || !strings.Contains(out, `"profiles":["pii"]`) || !strings.Contains(out, `"entry":"email"`) ||
		strings.Contains(out, "ada.lovelace@analytical-engines.co.uk") || strings.Contains(out, `"payload"`) {
		t.Errorf("DLP log line:\n%s", out)
	}
}

// TestConfidenceScoreRules: app.confidence_scores and app.gen_ai_scores carry the scores the
// library computes for the destination's applications (none for a host it does not know).
func TestConfidenceScoreRules(t *testing.T) {
	pol := testPolicy(t, []rules.Rule{
		{ID: "low-ai", Enabled: true, Action: rules.ActionBlock, Traffic: `any(app.gen_ai_scores[*] < 3)`},
		{ID: "high", Enabled: true, Action: rules.ActionAllow, Traffic: `any(app.confidence_scores[*] >= 1)`},
	})
	cat := pol.Catalog
	decide := func(host string) string {
		st := getEvalState()
		defer putEvalState(st)
		st.fillConnect(pol, nil, Destination{Host: host, Port: 443}, netip.Addr{})
		return pol.Rules.EvaluateRequest(&st.in).RuleID()
	}
	for _, name := range []string{"Gemini", "Claude", "GitHub"} {
		a := cat.AppByName(name)
		if a == nil {
			t.Fatalf("no %s in the library", name)
		}
		c := cat.Confidence(a, nil)
		want := ""
		switch {
		case a.IsAI() && c.AI.Total < 3:
			want = "low-ai"
		case c.Posture.Total >= 1:
			want = "high"
		}
		if got := decide(a.Hostnames[0]); got != want {
			t.Errorf("%s (posture %.2f, gen AI %.2f, AI %v): rule %q, want %q", name, c.Posture.Total, c.AI.Total, a.IsAI(), got, want)
		}
	}
	if got := decide("unknown.example"); got != "" {
		t.Errorf("a host outside the library matched %q", got)
	}
}

// TestBlockedBeforeResolving: a CONNECT that the policies block whatever the request is answered
// without resolving the destination, so a blocked name that does not resolve (DNS filtering
// blocks the same names) still gets the block, not a 502; names that are not blocked, and
// policies that need the destination address, are resolved first as before.
func TestBlockedBeforeResolving(t *testing.T) {
	start := func(rs []rules.Rule) string {
		return newTestGateway(t, Options{Egress: &Egress{}, Policy: testPolicy(t, rs)})
	}
	block := rules.Rule{ID: "blocked", Name: "Blocked", Precedence: 10, Enabled: true, Action: rules.ActionBlock,
		Traffic: `any(http.request.domains[*] == "blocked.invalid")`}
	gw := start([]rules.Rule{block})
	for dest, want := range map[string]int{
		"app.blocked.invalid:443": http.StatusForbidden,  // blocked: no lookup, the block
		"open.invalid:443":        http.StatusBadGateway, // not blocked: looked up, unresolvable
	} {
		c, _, status := connect(t, gw, dest, "")
		c.Close()
		if status != want {
			t.Errorf("CONNECT %s: %d, want %d", dest, status, want)
		}
	}
	// A rule that needs the destination's address: everything is resolved first.
	gw = start([]rules.Rule{block, {ID: "net", Precedence: 1, Enabled: true, Action: rules.ActionAllow,
		Traffic: `http.conn.dst_ip in {192.0.2.0/24}`}})
	c, _, status := connect(t, gw, "app.blocked.invalid:443", "")
	c.Close()
	if status != http.StatusBadGateway {
		t.Errorf("with a rule on http.conn.dst_ip: %d, want 502 (resolved first)", status)
	}
	// A request-phase allow before the block: the request decides, so the name is resolved.
	gw = start([]rules.Rule{block, {ID: "path", Precedence: 1, Enabled: true, Action: rules.ActionAllow,
		Traffic: `http.request.uri.path == "/public"`}})
	c, _, status = connect(t, gw, "app.blocked.invalid:443", "")
	c.Close()
	if status != http.StatusBadGateway {
		t.Errorf("with a request-phase allow first: %d, want 502 (resolved first)", status)
	}
}

// TestUploadBufferReleased: the scan buffer of every body is given back, whether the request
// was forwarded or blocked, so that blocked uploads cannot use up the budget and make later
// scans fail (closed) for lack of room.
func TestUploadBufferReleased(t *testing.T) {
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.Copy(io.Discard, r.Body) }))
	defer origin.Close()
	_, port, _ := net.SplitHostPort(origin.Listener.Addr().String())
	uploads, err := upload.New(upload.Options{MaxBodyBytes: 64 << 10, MaxBufferedBytes: 128 << 10})
	if err != nil {
		t.Fatal(err)
	}
	gw := newTestGateway(t, Options{
		Egress: &Egress{Pins: map[string]netip.Addr{"chatgpt.com": netip.MustParseAddr("127.0.0.1")},
			Allowed: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}},
		Policy: testPolicy(t, []rules.Rule{{ID: "no-pii", Precedence: 5, Enabled: true, Action: rules.ActionBlock,
			Traffic: `any(dlp.profiles[*] in {"pii"})`}}),
		Uploads: uploads,
	})
	client := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(&url.URL{Scheme: "http", Host: gw, User: url.UserPassword("ci", testSecret)})}}
	post := func(body string) int {
		t.Helper()
		resp, err := client.Post("http://chatgpt.com:"+port+"/", "text/plain", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	for i := range 20 {
		if status := post("write to ada.lovelace@analytical-engines.co.uk"); status != http.StatusForbidden {
			t.Fatalf("blocked upload %d: %d", i, status)
		}
		if status := post("summarise the quarterly report"); status != http.StatusOK {
			t.Fatalf("clean upload after %d blocked ones: %d (the scan buffer was not given back)", i+1, status)
		}
	}
}

// TestIdentityFieldsReachRules: what a device user's identity carries reaches the identity
// fields of the rules.
func TestIdentityFieldsReachRules(t *testing.T) {
	id := &Identity{UserID: "u1", Email: "alice@example.com", Name: "Alice Liddell", IdP: "okta", Groups: []string{"Engineers"},
		GroupIDs: []string{"g1"}, GroupEmails: []string{"eng@example.com"}, SAMLAttributes: map[string][]string{"department": {"R&D"}}, DeviceID: "d1"}
	for expr, want := range map[string]bool{
		`identity.idp == "okta"`:                                  true,
		`identity.idp == "google"`:                                false,
		`identity.name == "Alice Liddell"`:                        true,
		`any(identity.groups[*].id in {"g1"})`:                    true,
		`any(identity.groups[*].email == "eng@example.com")`:      true,
		`any(identity.saml_attributes["department"][*] == "R&D")`: true,
		`device.id == "d1"`:                                       true,
	} {
		pol := testPolicy(t, []rules.Rule{{ID: "r", Enabled: true, Action: rules.ActionBlock, Identity: expr}})
		st := getEvalState()
		st.fillConnect(pol, id, Destination{Host: "example.org", Port: 443}, netip.Addr{})
		got := pol.Rules.EvaluateRequest(&st.in).Matched()
		putEvalState(st)
		if got != want {
			t.Errorf("%s: matched %v, want %v", expr, got, want)
		}
	}
}
