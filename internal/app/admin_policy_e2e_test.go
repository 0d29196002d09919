package app_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/admin"
	"github.com/gatehouse/gatehouse/internal/testenv"
)

// TestAdminAPIPolicyEndpoints: on a running Gatehouse with the gateway on, a read-only admin
// token reads the file's gateway rules (managed by the file), checks an expression against the
// file's lists, lists the DLP profiles, the signing keys (the same kids and moduli the auth
// domain publishes in its certs document) and the gateway CA in use; it cannot test a DLP
// profile; no answer carries private key material.
func TestAdminAPIPolicyEndpoints(t *testing.T) {
	e := testenv.StartGateway(t, gatewayConfig(`gateway:
  lists: {bad_hosts: [evil.example]}
  rules:
    - {id: block-evil, name: Block evil, precedence: 10, enabled: true, action: block, traffic: 'any(http.request.domains[*] in $bad_hosts)'}
`))
	_, reader, err := (&admin.Service{Store: e.G.Store}).CreateAdminToken(t.Context(), admin.CLIActor, "e2e-read", admin.ScopeRead)
	if err != nil {
		t.Fatal(err)
	}
	api := func(method, path, body string, into any) int {
		t.Helper()
		req, _ := http.NewRequest(method, e.URL("auth.localhost", path), strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+reader)
		resp, raw := e.NewBrowser().Do(t, req)
		if strings.Contains(raw, "PRIVATE KEY") || strings.Contains(raw, `"d":`) || strings.Contains(raw, `"p":`) || strings.Contains(raw, `"q":`) {
			t.Errorf("%s %s: private material in %s", method, path, raw)
		}
		var env struct {
			Result json.RawMessage `json:"result"`
		}
		if resp.StatusCode == 200 && into != nil {
			if err := json.Unmarshal([]byte(raw), &env); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(env.Result, into); err != nil {
				t.Fatalf("%s %s: %v: %s", method, path, err, raw)
			}
		}
		return resp.StatusCode
	}

	var rs []admin.GatewayRuleView
	if status := api("GET", "/api/v1/gateway/rules", "", &rs); status != 200 || len(rs) != 1 || rs[0].ID != "block-evil" || rs[0].ManagedBy != "file" {
		t.Fatalf("rules: %d %+v", status, rs)
	}
	var check admin.ExpressionCheckResult
	if status := api("POST", "/api/v1/gateway/rules/check", `{"expression":"http.request.host in $bad_hosts","kind":"traffic"}`, &check); status != 200 || !check.Valid {
		t.Errorf("check with the file's list: %d %+v", status, check)
	}
	var ps []admin.DLPProfile
	if status := api("GET", "/api/v1/dlp/profiles", "", &ps); status != 200 || len(ps) == 0 {
		t.Errorf("profiles: %d %d", status, len(ps))
	}
	if status := api("POST", "/api/v1/dlp/profiles/pii/test", `{"text":"x"}`, nil); status != 403 {
		t.Errorf("read-only DLP test: %d", status)
	}

	var ks []admin.SigningKeyInfo
	if status := api("GET", "/api/v1/keys", "", &ks); status != 200 || len(ks) == 0 {
		t.Fatalf("keys: %d %+v", status, ks)
	}
	// The key that signs Gatehouse's tokens now is listed as current with its public modulus.
	_, kid := e.G.Keys.Signer()
	pub, ok := e.G.Keys.PublicKey(kid)
	if !ok {
		t.Fatalf("no public key for %s", kid)
	}
	found := false
	for _, k := range ks {
		found = found || k.KID == kid && k.Use == "tokens" && k.State == admin.KeyStateCurrent &&
			k.PublicJWK.N == base64.RawURLEncoding.EncodeToString(pub.N.Bytes())
	}
	if !found {
		t.Errorf("the current token key %s is not listed with its modulus: %+v", kid, ks)
	}

	// The CA the CLI generates and activates is listed in use, with the certificate the CLI
	// exports.
	caPEM := activateGatewayCA(t, e)
	var cs []admin.GatewayCertificate
	if status := api("GET", "/api/v1/gateway/certificates", "", &cs); status != 200 || len(cs) != 1 || !cs[0].InUse ||
		cs[0].State != "in_use" || cs[0].CertificatePEM != string(caPEM) || len(cs[0].Fingerprint) != 64 {
		t.Errorf("gateway certificates: %d %+v", status, cs)
	}
}
