package console

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/admin"
	"github.com/gatehouse/gatehouse/internal/store"
)

// fakePolicy stands in for the gateway's policy (internal/app wires the real compiler and DLP
// engine, tested there): an expression is wrong where it says "oops"; the text "4111…" is a
// card number.
type fakePolicy struct{ scanned []string }

func (fakePolicy) Rules() ([]admin.GatewayRule, string) {
	return []admin.GatewayRule{
		{ID: "r1", Name: "Block <uploads>", Precedence: 1, Enabled: true, Action: "block", Traffic: `http.request.method == "POST"`, Settings: []string{"block page shown"}},
		{ID: "r2", Name: "Old", Precedence: 5, Action: "allow", Identity: `identity.email == "a@example.com"`},
	}, "allow"
}

func (fakePolicy) CheckExpression(src string) *admin.ExpressionProblem {
	i := strings.Index(src, "oops")
	if i < 0 {
		return nil
	}
	line := 1 + strings.Count(src[:i], "\n")
	col := i + 1 - (strings.LastIndexByte(src[:i], '\n') + 1)
	return &admin.ExpressionProblem{Line: line, Col: col, Offset: i, Message: `unknown field "oops"`}
}

func (fakePolicy) DLPProfiles() ([]admin.DLPProfile, error) {
	return []admin.DLPProfile{{ID: "financial_information", Name: "Financial Information", Type: "predefined", ConfidenceThreshold: "low",
		Entries: []admin.DLPEntry{{ID: "payment_card", Name: "Credit card number", Kind: "predefined"}}}}, nil
}

func (p *fakePolicy) ScanText(_ context.Context, profile, text string) (*admin.DLPScan, error) {
	p.scanned = append(p.scanned, text)
	if profile != "financial_information" {
		return nil, admin.ErrNotFound
	}
	out := &admin.DLPScan{Profile: profile, Findings: []admin.DLPFinding{}}
	if strings.Contains(text, "4111111111111111") {
		out.Match, out.MatchCount = true, 1
		out.Findings = append(out.Findings, admin.DLPFinding{Entry: "payment_card", EntryName: "Credit card number", Confidence: "high",
			Sample: "4111********1111", Context: "card 4111********1111 exp"})
	}
	return out, nil
}

func withPolicy(f *fixture) *fakePolicy {
	p := &fakePolicy{}
	f.c.Admin.GatewayPolicy = p
	return p
}

// TestGatewayRulesPage: the rules in precedence order, marked as the file's, for administrators
// and read-only users (not auditors); the page may connect to the console (its checker) and
// loads the checker's script from the console, never inline.
func TestGatewayRulesPage(t *testing.T) {
	f := newFixture(t, true)
	withPolicy(f)
	for user, want := range map[string]int{"alice@example.com": 200, "rita@example.com": 200, "carl@example.com": 403} {
		w := f.do(t, "GET", user, root+"gateway/rules", nil)
		if w.Code != want {
			t.Fatalf("%s: %d", user, w.Code)
		}
		if want != 200 {
			continue
		}
		body := w.Body.String()
		if i, j := strings.Index(body, "<code>r1</code>"), strings.Index(body, "<code>r2</code>"); i < 0 || j < i {
			t.Errorf("rules not in precedence order:\n%s", body)
		}
		for _, s := range []string{"Block &lt;uploads&gt;", "managed by the configuration file", "block page shown", "<em>disabled</em>",
			`src="` + root + `assets/rulecheck.js"`, `data-check="` + root + `gateway/rules/check"`} {
			if !strings.Contains(body, s) {
				t.Errorf("%s: page lacks %q", user, s)
			}
		}
		if csp := w.Header().Get("Content-Security-Policy"); csp != checkerCSP || !strings.Contains(csp, "connect-src 'self'") ||
			strings.Contains(csp, "unsafe") || !strings.Contains(csp, "script-src 'self'") {
			t.Errorf("CSP %q", csp)
		}
		if strings.Contains(body, "Changes marked") {
			t.Errorf("%s: the read-only page asks for a fresh sign-in", user)
		}
	}
	// The overview counts the enabled rules for those who may see them.
	if body := f.do(t, "GET", "rita@example.com", root, nil).Body.String(); !strings.Contains(body, "Gateway rules in force") ||
		!strings.Contains(body, "1 disabled; no match: allow; 1 DLP profile") {
		t.Errorf("overview:\n%s", body)
	}
	if body := f.do(t, "GET", "carl@example.com", root, nil).Body.String(); strings.Contains(body, "Gateway rules") {
		t.Errorf("auditor's overview mentions the gateway rules")
	}
	// Other pages keep the CSP without connections.
	if csp := f.do(t, "GET", "alice@example.com", root+"users", nil).Header().Get("Content-Security-Policy"); csp != CSP || strings.Contains(csp, "connect-src") {
		t.Errorf("users CSP %q", csp)
	}
}

// TestCheckExpression: the checker endpoint answers JSON with the problem's line and column,
// refuses input over the bound as a problem of the check (not a server error), and the page
// shows the same answers without script (?expr=).
func TestCheckExpression(t *testing.T) {
	f := newFixture(t, true)
	withPolicy(f)
	get := func(user, expr string) (int, exprCheck, http.Header) {
		w := f.do(t, "GET", user, root+"gateway/rules/check?expr="+url.QueryEscape(expr), nil)
		var c exprCheck
		if w.Code == 200 {
			if err := json.Unmarshal(w.Body.Bytes(), &c); err != nil {
				t.Fatalf("%s: %v", w.Body.String(), err)
			}
		}
		return w.Code, c, w.Header()
	}
	code, c, h := get("rita@example.com", "http.request.method == \"GET\" and\n  oops == 1")
	if code != 200 || !c.Checked || c.OK || c.Problem == nil || c.Problem.Line != 2 || c.Problem.Col != 3 || c.Problem.Message != `unknown field "oops"` {
		t.Fatalf("bad expression: %d %+v %+v", code, c, c.Problem)
	}
	if h.Get("Content-Type") != "application/json; charset=utf-8" || h.Get("Cache-Control") != "no-store" || h.Get("Content-Security-Policy") != CSP ||
		h.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("headers %v", h)
	}
	if code, c, _ := get("alice@example.com", `http.request.method == "GET"`); code != 200 || !c.OK || c.Problem != nil {
		t.Errorf("good expression: %d %+v", code, c)
	}
	if code, c, _ := get("alice@example.com", "  "); code != 200 || c.Checked {
		t.Errorf("empty expression: %d %+v", code, c)
	}
	if code, c, _ := get("alice@example.com", strings.Repeat("a", admin.MaxExpressionBytes+1)); code != 200 || c.OK || !strings.Contains(c.Error, "longer than") {
		t.Errorf("long expression: %d %+v", code, c)
	}
	if code, c, _ := get("alice@example.com", "a\xff"); code != 200 || c.OK || !strings.Contains(c.Error, "UTF-8") {
		t.Errorf("not UTF-8: %d %+v", code, c)
	}
	if code, _, _ := get("carl@example.com", "x"); code != 403 {
		t.Errorf("auditor: %d", code)
	}
	if w := f.do(t, "POST", "alice@example.com", root+"gateway/rules/check", url.Values{"csrf": {"tok:" + formPurpose + ":alice@example.com"}}); w.Code != 405 {
		t.Errorf("post: %d", w.Code)
	}
	body := f.do(t, "GET", "rita@example.com", root+"gateway/rules?expr="+url.QueryEscape("oops"), nil).Body.String()
	if !strings.Contains(body, "Line 1, column 1: unknown field &#34;oops&#34;") || !strings.Contains(body, ">oops</textarea>") {
		t.Errorf("no-script check:\n%s", body)
	}
	body = f.do(t, "GET", "rita@example.com", root+"gateway/rules?expr="+url.QueryEscape(`a == "<b>"`), nil).Body.String()
	if !strings.Contains(body, "The expression compiles.") || strings.Contains(body, `"<b>"`) {
		t.Errorf("no-script check of a good expression:\n%s", body)
	}
	// Without the gateway's policy the page says so.
	f.c.Admin.GatewayPolicy = nil
	if body := f.do(t, "GET", "alice@example.com", root+"gateway/rules", nil).Body.String(); !strings.Contains(body, "not available") {
		t.Errorf("without the policy:\n%s", body)
	}
}

// TestDLPTest: read-only users may scan text (a post with the CSRF token, the text never in the
// URL); a card number is found and shown redacted, benign text finds nothing, the text is not
// echoed, oversize text is refused before scanning, and each test is audited without the text.
func TestDLPTest(t *testing.T) {
	f := newFixture(t, true)
	p := withPolicy(f)
	post := func(user, profile, text, csrf string) (int, string) {
		w := f.do(t, "POST", user, root+"dlp/test?back="+url.QueryEscape(root+"dlp"), url.Values{"csrf": {csrf}, "profile": {profile}, "text": {text}})
		return w.Code, w.Body.String()
	}
	tok := "tok:" + formPurpose + ":rita@example.com"
	secret := "card 4111111111111111 exp 12/30"
	code, body := post("rita@example.com", "financial_information", secret, tok)
	if code != 200 || !strings.Contains(body, "The profile matches") || !strings.Contains(body, "4111********1111") || !strings.Contains(body, "Credit card number") {
		t.Fatalf("card: %d\n%s", code, body)
	}
	if strings.Contains(body, "4111111111111111") {
		t.Errorf("the text is echoed back")
	}
	code, body = post("rita@example.com", "financial_information", "lunch at noon, room 4", tok)
	if code != 200 || !strings.Contains(body, "does not match (0 counted findings)") || strings.Contains(body, "<table class=\"data\"><thead><tr><th scope=\"col\">Detector") {
		t.Errorf("benign: %d\n%s", code, body)
	}
	if code, _ := post("rita@example.com", "financial_information", secret, "wrong"); code != 403 {
		t.Errorf("without CSRF: %d", code)
	}
	if code, _ := post("carl@example.com", "financial_information", secret, "tok:"+formPurpose+":carl@example.com"); code != 403 {
		t.Errorf("auditor: %d", code)
	}
	n := len(p.scanned)
	if code, body := post("alice@example.com", "financial_information", strings.Repeat("x", admin.MaxDLPTestBytes+1), "tok:"+formPurpose+":alice@example.com"); code != 400 || !strings.Contains(body, "longer than") {
		t.Errorf("oversize: %d", code)
	}
	// Text at the bound passes however it is encoded (non-ASCII triples its size in the form).
	if code, body := post("alice@example.com", "financial_information", strings.Repeat("é", admin.MaxDLPTestBytes/2), "tok:"+formPurpose+":alice@example.com"); code != 200 || !strings.Contains(body, "does not match") {
		t.Errorf("text at the bound: %d", code)
	}
	if code, _ := post("alice@example.com", "nope", "x", "tok:"+formPurpose+":alice@example.com"); code != 404 {
		t.Errorf("unknown profile: %d", code)
	}
	if len(p.scanned) != n+2 {
		t.Errorf("oversize text was scanned")
	}
	events, err := f.st.(store.AuditLog).ListAuditEvents(t.Context(), store.AuditQuery{Action: admin.ActionTestDLP})
	if err != nil {
		t.Fatal(err)
	}
	if len(events) < 2 {
		t.Fatalf("audit: %d events", len(events))
	}
	for _, e := range events {
		if strings.Contains(string(e.Details), "4111") || e.Actor == "" {
			t.Errorf("audit event %+v", e)
		}
	}
	// The profile list for read-only users; not for auditors.
	w := f.do(t, "GET", "rita@example.com", root+"dlp", nil)
	if w.Code != 200 || !strings.Contains(w.Body.String(), "financial_information") || w.Header().Get("Content-Security-Policy") != CSP {
		t.Errorf("profiles page: %d", w.Code)
	}
	if w := f.do(t, "GET", "carl@example.com", root+"dlp", nil); w.Code != 403 {
		t.Errorf("auditor: %d", w.Code)
	}
}
