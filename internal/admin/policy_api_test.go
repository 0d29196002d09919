package admin_test

import (
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/admin"
	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/gateway/ca"
	"github.com/gatehouse/gatehouse/internal/gateway/rules"
	"github.com/gatehouse/gatehouse/internal/keys"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
)

// policyFixture serves the admin API with the gateway policy of a configuration file, two
// gateway CAs and signing keys of two uses (one rotated), as the running Gatehouse wires them.
type policyFixture struct {
	st          *sqlstore.Store
	srv         *httptest.Server
	all, reader string
	caInUse     string
}

func newPolicyFixture(t *testing.T) *policyFixture {
	t.Helper()
	ctx := t.Context()
	st, err := sqlstore.Open(ctx, "sqlite", filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	master := make([]byte, 32)
	_, _ = rand.Read(master)
	cfg := &config.File{Gateway: config.Gateway{DefaultAction: "allow", Lists: map[string][]string{"bad_hosts": {"evil.example"}},
		Rules: []rules.Rule{
			{ID: "block-evil", Name: "Block evil", Precedence: 20, Enabled: true, Action: "block", Traffic: `any(http.request.domains[*] in $bad_hosts)`,
				RuleSettings: rules.RuleSettings{BlockPageEnabled: true}},
			{ID: "allow-get", Name: "Allow GET", Precedence: 10, Enabled: false, Action: "allow", Traffic: `http.request.method == "GET"`},
		}}}
	cas, err := app.NewGatewayCAAdmin(st, master)
	if err != nil {
		t.Fatal(err)
	}
	m, err := ca.NewManager(st, master, ca.Options{Organization: "Example"})
	if err != nil {
		t.Fatal(err)
	}
	f := &policyFixture{st: st}
	if _, err := m.Generate(ctx, 0); err != nil {
		t.Fatal(err)
	}
	second, err := m.Generate(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Activate(ctx, second.ID); err != nil {
		t.Fatal(err)
	}
	f.caInUse = second.ID
	for _, use := range []string{"", store.SigningKeyUseSAMLEncryption} {
		opts, err := keys.Options{Issuer: "https://auth.example.com"}.ForUse(use)
		if err != nil {
			t.Fatal(err)
		}
		km, err := keys.NewManager(st, master, opts)
		if err != nil {
			t.Fatal(err)
		}
		if err := km.Load(ctx); err != nil {
			t.Fatal(err)
		}
		if use == "" {
			if err := km.Rotate(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	svc := &admin.Service{Store: st, Audit: &audit.Recorder{Store: st}, GatewayPolicy: app.NewGatewayPolicyAdmin(cfg), GatewayCAs: cas}
	if _, f.all, err = svc.CreateAdminToken(ctx, admin.CLIActor, "admin"); err != nil {
		t.Fatal(err)
	}
	if _, f.reader, err = svc.CreateAdminToken(ctx, admin.CLIActor, "reader", admin.ScopeRead); err != nil {
		t.Fatal(err)
	}
	f.srv = httptest.NewServer(admin.NewAPI(svc, admin.APIOptions{}))
	t.Cleanup(f.srv.Close)
	return f
}

// call makes a request and checks what every answer of these endpoints must hold: the
// envelope, and no private key material (PEM private keys, or a JWK's d, p, q, dp, dq, qi).
func (f *policyFixture) call(t *testing.T, token, method, path, body string) (int, envelope, string) {
	t.Helper()
	req, _ := http.NewRequest(method, f.srv.URL+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var env envelope
	if err := json.Unmarshal(raw, &env); err != nil {
		t.Fatalf("%s %s: not JSON: %s", method, path, raw)
	}
	if env.Success != (resp.StatusCode == 200) {
		t.Errorf("%s %s: status %d with envelope %s", method, path, resp.StatusCode, raw)
	}
	if strings.Contains(string(raw), "PRIVATE KEY") {
		t.Errorf("%s %s: answer holds a private key: %s", method, path, raw)
	}
	for _, k := range []string{`"d"`, `"p"`, `"q"`, `"dp"`, `"dq"`, `"qi"`, "private_key_encrypted"} {
		if strings.Contains(string(raw), k) {
			t.Errorf("%s %s: answer holds %s: %.300s", method, path, k, raw)
		}
	}
	return resp.StatusCode, env, string(raw)
}

func (f *policyFixture) ok(t *testing.T, token, method, path, body string, into any) *admin.ResultInfo {
	t.Helper()
	status, env, raw := f.call(t, token, method, path, body)
	if status != 200 {
		t.Fatalf("%s %s: %d %s", method, path, status, raw)
	}
	if err := json.Unmarshal(env.Result, into); err != nil {
		t.Fatalf("%s %s: result: %v", method, path, err)
	}
	return env.ResultInfo
}

// TestGatewayRulesAPI: the rules come in precedence order with Cloudflare's fields, marked
// managed by the file; one rule by id; an unknown id is 404.
func TestGatewayRulesAPI(t *testing.T) {
	f := newPolicyFixture(t)
	var rs []map[string]any
	info := f.ok(t, f.reader, "GET", "/api/v1/gateway/rules", "", &rs)
	if len(rs) != 2 || rs[0]["id"] != "allow-get" || rs[1]["id"] != "block-evil" || info.TotalCount != 2 {
		t.Fatalf("rules %v %+v", rs, info)
	}
	for _, k := range []string{"id", "name", "precedence", "enabled", "action", "traffic", "identity", "device_posture", "filters", "rule_settings_summary"} {
		if _, ok := rs[1][k]; !ok {
			t.Errorf("rule lacks %q: %v", k, rs[1])
		}
	}
	if rs[1]["managed_by"] != "file" || rs[1]["action"] != "block" || rs[0]["enabled"] != false {
		t.Errorf("rule %v", rs[1])
	}
	var one map[string]any
	f.ok(t, f.reader, "GET", "/api/v1/gateway/rules/block-evil", "", &one)
	if one["name"] != "Block evil" || one["managed_by"] != "file" {
		t.Errorf("one rule %v", one)
	}
	if status, _, _ := f.call(t, f.reader, "GET", "/api/v1/gateway/rules/nope", ""); status != 404 {
		t.Errorf("unknown rule: %d", status)
	}
}

// TestGatewayRulesCheckAPI: a read-only token may check; a valid expression (using a list of
// the file) is valid, a broken one has the compiler's line and column; the kind is checked;
// an expression over 8 KiB, a body over its bound, unknown fields and non-JSON are 400.
func TestGatewayRulesCheckAPI(t *testing.T) {
	f := newPolicyFixture(t)
	var res admin.ExpressionCheckResult
	f.ok(t, f.reader, "POST", "/api/v1/gateway/rules/check", `{"expression":"any(http.request.domains[*] in $bad_hosts)"}`, &res)
	if !res.Valid || res.Problem != nil || res.Kind != "traffic" {
		t.Errorf("valid expression: %+v", res)
	}
	body, _ := json.Marshal(admin.ExpressionCheck{Expression: "http.request.method == \"GET\" and\n  http.request.nope == \"x\"", Kind: "identity"})
	res = admin.ExpressionCheckResult{}
	f.ok(t, f.reader, "POST", "/api/v1/gateway/rules/check", string(body), &res)
	if res.Valid || res.Problem == nil || res.Problem.Line != 2 || res.Problem.Col != 3 || res.Kind != "identity" ||
		!strings.Contains(res.Problem.Message, "http.request.nope") {
		t.Errorf("broken expression: %+v %+v", res, res.Problem)
	}
	res = admin.ExpressionCheckResult{}
	f.ok(t, f.reader, "POST", "/api/v1/gateway/rules/check", `{"expression":"http.request.host in $missing"}`, &res)
	if res.Valid || res.Problem == nil {
		t.Errorf("unknown list: %+v", res)
	}
	long, _ := json.Marshal(admin.ExpressionCheck{Expression: `http.request.host == "` + strings.Repeat("a", admin.MaxExpressionBytes) + `"`})
	for name, body := range map[string]string{
		"kind":          `{"expression":"http.request.method == \"GET\"","kind":"dns"}`,
		"too long":      string(long),
		"body too long": `{"expression":"` + strings.Repeat(" ", 6*admin.MaxExpressionBytes+2<<10) + `"}`,
		"unknown field": `{"expr":"x"}`,
		"not JSON":      `expression=x`,
	} {
		if status, env, raw := f.call(t, f.reader, "POST", "/api/v1/gateway/rules/check", body); status != 400 || len(env.Errors) == 0 {
			t.Errorf("%s: %d %.200s", name, status, raw)
		}
	}
}

// TestDLPProfilesAPI: profiles list and get; a test scans with the gateway's engine, answers
// redacted findings and is audited with the size, never the text; a read-only token may not
// test; text over 32 KiB is refused.
func TestDLPProfilesAPI(t *testing.T) {
	f := newPolicyFixture(t)
	var ps []admin.DLPProfile
	f.ok(t, f.reader, "GET", "/api/v1/dlp/profiles", "", &ps)
	found := false
	for _, p := range ps {
		found = found || p.ID == "financial_information" && p.Type == "predefined" && len(p.Entries) > 0
	}
	if !found {
		t.Fatalf("profiles %+v", ps)
	}
	var p admin.DLPProfile
	f.ok(t, f.reader, "GET", "/api/v1/dlp/profiles/financial_information", "", &p)
	if p.ID != "financial_information" || len(p.Entries) == 0 {
		t.Errorf("profile %+v", p)
	}
	if status, _, _ := f.call(t, f.reader, "GET", "/api/v1/dlp/profiles/nope", ""); status != 404 {
		t.Errorf("unknown profile: %d", status)
	}

	const card = "4539578763621486" // valid, not a documented example number
	text := `{"text":"please charge card ` + card + ` tomorrow"}`
	if status, _, _ := f.call(t, f.reader, "POST", "/api/v1/dlp/profiles/financial_information/test", text); status != 403 {
		t.Errorf("read-only token tested a profile: %d", status)
	}
	var scan admin.DLPScan
	status, _, raw := f.call(t, f.all, "POST", "/api/v1/dlp/profiles/financial_information/test", text)
	if status != 200 {
		t.Fatalf("test: %d %s", status, raw)
	}
	if strings.Contains(raw, card) {
		t.Errorf("the answer holds the card number: %s", raw)
	}
	var env envelope
	_ = json.Unmarshal([]byte(raw), &env)
	_ = json.Unmarshal(env.Result, &scan)
	if !scan.Match || scan.MatchCount < 1 || len(scan.Findings) == 0 {
		t.Errorf("scan %+v", scan)
	}
	evs, err := (&admin.Service{Store: f.st}).QueryAudit(t.Context(), store.AuditQuery{Action: admin.ActionTestDLP})
	if err != nil || len(evs) != 1 || evs[0].TargetID != "financial_information" || evs[0].Actor != "admin" {
		t.Fatalf("audit %+v %v", evs, err)
	}
	if strings.Contains(string(evs[0].Details), card) || strings.Contains(string(evs[0].Details), "charge") ||
		!strings.Contains(string(evs[0].Details), `"bytes"`) {
		t.Errorf("audit details %s", evs[0].Details)
	}
	long, _ := json.Marshal(admin.DLPTest{Text: strings.Repeat("x", admin.MaxDLPTestBytes+1)})
	if status, _, _ := f.call(t, f.all, "POST", "/api/v1/dlp/profiles/financial_information/test", string(long)); status != 400 {
		t.Errorf("text over the bound: %d", status)
	}
	if status, _, _ := f.call(t, f.all, "POST", "/api/v1/dlp/profiles/nope/test", `{"text":"x"}`); status != 404 {
		t.Errorf("unknown profile test: %d", status)
	}
}

// TestKeysAndCertificatesAPI: signing keys of every use with their state, rotation time and
// public JWK (RSA n and e; enc for the SAML encryption key), and the gateway CAs with state,
// fingerprint, validity and certificate; no private material anywhere (checked by call).
func TestKeysAndCertificatesAPI(t *testing.T) {
	f := newPolicyFixture(t)
	var ks []admin.SigningKeyInfo
	f.ok(t, f.reader, "GET", "/api/v1/keys", "", &ks)
	byState := map[string]int{}
	for _, k := range ks {
		byState[k.Use+"/"+k.State]++
		if k.PublicJWK.Kty != "RSA" || k.PublicJWK.N == "" || k.PublicJWK.E == "" || k.PublicJWK.Kid != k.KID ||
			!strings.Contains(k.CertificatePEM, "BEGIN CERTIFICATE") || k.CreatedAt.IsZero() {
			t.Errorf("key %+v", k)
		}
		switch {
		case k.State == admin.KeyStatePrevious && (k.RotatedAt.IsZero() || k.RetireAt.IsZero() || k.RotatedAt.Before(k.CreatedAt)):
			t.Errorf("previous key without its times: %+v", k)
		case k.Use == store.SigningKeyUseSAMLEncryption && (k.PublicJWK.Use != "enc" || k.PublicJWK.Alg != ""):
			t.Errorf("encryption key as a signing key: %+v", k.PublicJWK)
		case k.Use == "tokens" && k.PublicJWK.Use != "sig":
			t.Errorf("token key: %+v", k.PublicJWK)
		}
	}
	if len(ks) != 3 || byState["tokens/current"] != 1 || byState["tokens/previous"] != 1 || byState["saml-encryption/current"] != 1 {
		t.Errorf("keys by state %v", byState)
	}

	var cs []admin.GatewayCertificate
	f.ok(t, f.reader, "GET", "/api/v1/gateway/certificates", "", &cs)
	if len(cs) != 2 || cs[0].ID != f.caInUse || cs[0].State != store.GatewayCAInUse || !cs[0].InUse ||
		cs[1].State != store.GatewayCAInactive || cs[1].InUse {
		t.Fatalf("certificates %+v", cs)
	}
	for _, c := range cs {
		if len(c.Fingerprint) != 64 || !c.NotAfter.After(c.NotBefore) || !strings.Contains(c.CertificatePEM, "BEGIN CERTIFICATE") {
			t.Errorf("certificate %+v", c)
		}
	}
	var one admin.GatewayCertificate
	f.ok(t, f.reader, "GET", "/api/v1/gateway/certificates/"+f.caInUse, "", &one)
	if one.Fingerprint != cs[0].Fingerprint {
		t.Errorf("one certificate %+v", one)
	}
	if status, _, _ := f.call(t, f.reader, "GET", "/api/v1/gateway/certificates/nope", ""); status != 404 {
		t.Errorf("unknown certificate: %d", status)
	}
}

// TestPolicyEndpointScopes: a read-only token may GET every new endpoint and check an
// expression but may not test a DLP profile; an access-only token reaches the keys and
// nothing of the gateway; a gateway:read token the gateway and DLP reads but not the keys.
func TestPolicyEndpointScopes(t *testing.T) {
	f := newPolicyFixture(t)
	svc := &admin.Service{Store: f.st, Audit: &audit.Recorder{Store: f.st}}
	_, access, err := svc.CreateAdminToken(t.Context(), admin.CLIActor, "access", admin.ScopeAccess)
	if err != nil {
		t.Fatal(err)
	}
	_, gwRead, err := svc.CreateAdminToken(t.Context(), admin.CLIActor, "gw-read", admin.ScopeGateway+":read")
	if err != nil {
		t.Fatal(err)
	}
	check := `{"expression":"http.request.method == \"GET\""}`
	for _, tc := range []struct {
		method, path, body     string
		reader, access, gwRead int
	}{
		{"GET", "/api/v1/gateway/rules", "", 200, 403, 200},
		{"GET", "/api/v1/gateway/rules/block-evil", "", 200, 403, 200},
		{"POST", "/api/v1/gateway/rules/check", check, 200, 403, 200},
		{"GET", "/api/v1/dlp/profiles", "", 200, 403, 200},
		{"GET", "/api/v1/dlp/profiles/financial_information", "", 200, 403, 200},
		{"POST", "/api/v1/dlp/profiles/financial_information/test", `{"text":"x"}`, 403, 403, 403},
		{"GET", "/api/v1/gateway/certificates", "", 200, 403, 200},
		{"GET", "/api/v1/keys", "", 200, 200, 403},
	} {
		for _, tok := range []struct {
			name, token string
			want        int
		}{{"read", f.reader, tc.reader}, {"access", access, tc.access}, {"gateway:read", gwRead, tc.gwRead}} {
			if status, _, raw := f.call(t, tok.token, tc.method, tc.path, tc.body); status != tok.want {
				t.Errorf("%s %s with %s: %d, want %d: %.200s", tc.method, tc.path, tok.name, status, tok.want, raw)
			}
		}
	}
	// No other method is served on these paths: nothing about them can be changed.
	for _, tc := range []struct{ method, path string }{{"PUT", "/api/v1/gateway/rules/block-evil"}, {"DELETE", "/api/v1/gateway/rules/block-evil"},
		{"POST", "/api/v1/gateway/rules"}, {"POST", "/api/v1/dlp/profiles"}, {"DELETE", "/api/v1/keys"}, {"POST", "/api/v1/gateway/certificates"}} {
		if status, _, _ := f.call(t, f.all, tc.method, tc.path, "{}"); status != 404 && status != 405 {
			t.Errorf("%s %s: %d", tc.method, tc.path, status)
		}
	}
}

// TestPolicyEndpointsOpenAPI: the description gives the new endpoints their bodies and result
// schemas (the console and clients generate from them), and the check is marked as a read.
func TestPolicyEndpointsOpenAPI(t *testing.T) {
	b, err := json.Marshal(admin.NewAPI(&admin.Service{}, admin.APIOptions{}).OpenAPI())
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths      map[string]map[string]map[string]any `json:"paths"`
		Components struct {
			Schemas map[string]struct {
				Properties map[string]any `json:"properties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	check := doc.Paths["/api/v1/gateway/rules/check"]["post"]
	if check["requestBody"] == nil || !strings.Contains(check["description"].(string), "read scope") {
		t.Errorf("check operation %v", check)
	}
	for path, schema := range map[string]string{"/api/v1/gateway/rules/check": "ExpressionCheckResult", "/api/v1/keys": "SigningKeyInfo",
		"/api/v1/gateway/certificates": "GatewayCertificate", "/api/v1/dlp/profiles": "DLPProfile", "/api/v1/gateway/rules": "GatewayRuleView"} {
		ops := doc.Paths[path]
		var op map[string]any
		for _, o := range ops {
			op = o
		}
		if s, _ := json.Marshal(op["responses"]); !strings.Contains(string(s), "#/components/schemas/"+schema) {
			t.Errorf("%s: responses do not refer to %s: %s", path, schema, s)
		}
	}
	for _, k := range []string{"kid", "use", "alg", "state", "created_at", "rotated_at", "retire_at", "public_jwk", "certificate_pem"} {
		if _, ok := doc.Components.Schemas["SigningKeyInfo"].Properties[k]; !ok {
			t.Errorf("SigningKeyInfo lacks %s", k)
		}
	}
	if _, ok := doc.Components.Schemas["PublicJWK"].Properties["d"]; ok {
		t.Error("PublicJWK has a private parameter")
	}
}
