package app_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/admin"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
)

const propertyFile = `version: 1
organization: {auth_domain: auth.example.com}
secrets: {master_key_file: /nonexistent/master.key}
identity_providers: [{id: pin, type: onetimepin}]
applications:
  - {id: file-app, destinations: [file.example.com], upstream: "http://127.0.0.1:9", policies: [{ref: file-pol, precedence: 1}]}
policies:
  - {id: file-pol, decision: allow, include: [{email_domain: {domain: example.com}}]}
lists:
  - {id: file-list, type: EMAIL, items: [{value: a@example.com}]}
`

// TestPropertyAdminObjectsRoundTrip: for random JSON bodies of applications, policies, rule
// groups and lists (valid and not), an object the API accepts reads back through GET as the
// creation answered, a PUT of exactly what GET returned (with its ETag) changes nothing, not even
// the ETag, and an object the API refuses leaves the configuration untouched. The bodies go
// through the same decoding and the configuration file's validator as any request.
func TestPropertyAdminObjectsRoundTrip(t *testing.T) {
	ctx := t.Context()
	st, err := sqlstore.Open(ctx, "sqlite", "file:"+filepath.Join(t.TempDir(), "g.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	f, err := config.Parse([]byte(propertyFile), "gatehouse.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Apply(ctx, st); err != nil {
		t.Fatal(err)
	}
	svc := &admin.Service{Store: st, ConfigFile: "gatehouse.yaml", CheckConfig: func(c *store.Config) []admin.Problem {
		var out []admin.Problem
		for _, p := range f.CheckObjects(c) {
			out = append(out, admin.Problem{Path: p.Path, Message: p.Msg})
		}
		return out
	}}
	_, tok, err := svc.CreateAdminToken(ctx, admin.CLIActor, "prop")
	if err != nil {
		t.Fatal(err)
	}
	api := admin.NewAPI(svc, admin.APIOptions{RequestsPerMinute: 100000})
	call := func(method, path, body, ifMatch string) (int, string, json.RawMessage, string) {
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tok)
		if ifMatch != "" {
			req.Header.Set("If-Match", ifMatch)
		}
		w := httptest.NewRecorder()
		api.ServeHTTP(w, req)
		var env struct {
			Result json.RawMessage `json:"result"`
		}
		_ = json.Unmarshal(w.Body.Bytes(), &env)
		return w.Code, w.Header().Get("ETag"), env.Result, w.Body.String()
	}

	rng := rand.New(rand.NewPCG(17, 2026))
	accepted, refused := map[string]int{}, 0
	const rounds = 400
	for i := range rounds {
		kind, body := randomObject(rng, i)
		before, err := st.GetConfig(ctx)
		if err != nil {
			t.Fatal(err)
		}
		status, etag, created, raw := call("POST", kind, body, "")
		if status != http.StatusCreated {
			if status != http.StatusBadRequest && status != http.StatusConflict {
				t.Fatalf("POST %s %s: %d %s", kind, body, status, raw)
			}
			refused++
			after, _ := st.GetConfig(ctx)
			if after.Version != before.Version {
				t.Fatalf("refused POST %s %s changed the configuration", kind, body)
			}
			continue
		}
		accepted[kind]++
		var id struct{ ID string }
		_ = json.Unmarshal(created, &id)
		status, getTag, got, raw := call("GET", kind+"/"+id.ID, "", "")
		if status != 200 || getTag != etag || !jsonEqual(got, created) {
			t.Fatalf("GET after POST %s: %d %s, ETag %s (created %s, ETag %s)", body, status, raw, getTag, created, etag)
		}
		status, putTag, put, raw := call("PUT", kind+"/"+id.ID, string(got), getTag)
		if status != 200 || putTag != getTag || !jsonEqual(put, got) {
			t.Fatalf("PUT of what GET returned (%s): %d %s, ETag %s, want %s", got, status, raw, putTag, getTag)
		}
		if status, patchTag, _, raw := call("PATCH", kind+"/"+id.ID, `{}`, getTag); status != 200 || patchTag != getTag {
			t.Fatalf("empty PATCH: %d %s", status, raw)
		}
	}
	t.Logf("accepted %v, refused %d", accepted, refused)
	for _, k := range []string{"/api/v1/access/apps", "/api/v1/access/policies", "/api/v1/access/groups", "/api/v1/access/lists"} {
		if accepted[k] < 10 {
			t.Errorf("only %d of %d random %s bodies were accepted: the generator tests too little", accepted[k], rounds, k)
		}
	}
	if refused < rounds/10 {
		t.Errorf("only %d of %d random bodies were refused: the generator tests too little", refused, rounds)
	}
}

func jsonEqual(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return bytes.Equal(xa, ya)
}

// randomObject returns an endpoint and a JSON body, often valid, sometimes not.
func randomObject(rng *rand.Rand, i int) (string, string) {
	pick := func(xs ...string) string { return xs[rng.IntN(len(xs))] }
	rule := func() string {
		return pick(`{"email": {"email": "alice@example.com"}}`, `{"email_domain": {"domain": "example.com"}}`,
			`{"everyone": {}}`, `{"ip": {"ip": "10.0.0.0/8"}}`, `{"ip": {"ip": "not-an-ip"}}`, `{"geo": {"country_code": "DE"}}`,
			`{"email_list": {"id": "file-list"}}`, `{"email_list": {"id": "missing-list"}}`, `{"login_method": {"id": "pin"}}`,
			`{"auth_method": {"auth_method": "mfa"}}`, `{"group": {"id": "g`+fmt.Sprint(rng.IntN(i+1))+`"}}`)
	}
	rules := func(n int) string {
		var rs []string
		for range n {
			rs = append(rs, rule())
		}
		return "[" + strings.Join(rs, ", ") + "]"
	}
	opt := func(s string) string {
		if rng.IntN(2) == 0 {
			return ""
		}
		return ", " + s
	}
	switch rng.IntN(4) {
	case 0:
		return "/api/v1/access/policies", fmt.Sprintf(`{"id": "p%d", "decision": %q, "include": %s%s%s%s}`, i,
			pick("allow", "deny", "bypass", "non_identity", "maybe"), rules(rng.IntN(3)),
			opt(`"require": `+rules(1)), opt(`"exclude": `+rules(1)), opt(`"session_duration": "`+pick("8h", "30m", "2000h", "x")+`"`))
	case 1:
		return "/api/v1/access/groups", fmt.Sprintf(`{"id": "g%d", "name": "G %d", "include": %s%s}`, i, i, rules(1+rng.IntN(2)), opt(`"exclude": `+rules(1)))
	case 2:
		items := []string{}
		typ := pick("EMAIL", "IP", "OTHER")
		for range rng.IntN(3) + 1 {
			if typ == "IP" {
				items = append(items, fmt.Sprintf(`{"value": %q}`, pick("192.0.2.0/24", "10.1.2.3", "nope")))
			} else {
				items = append(items, fmt.Sprintf(`{"value": %q, "description": "d"}`, pick("b@example.com", "c@example.org", "not an address")))
			}
		}
		return "/api/v1/access/lists", fmt.Sprintf(`{"id": "l%d", "type": %q, "items": [%s]}`, i, typ, strings.Join(items, ", "))
	default:
		host := pick("a", "b", "c", "file", "auth") + fmt.Sprint(rng.IntN(50)) + ".example.com"
		if rng.IntN(10) == 0 {
			host = "auth.example.com"
		}
		return "/api/v1/access/apps", fmt.Sprintf(`{"id": "a%d", "name": "App %d", "destinations": [%q%s], "upstream": %q, "policies": [{"id": %q, "precedence": 1}]%s%s%s}`,
			i, i, host, opt(`{"type": "public", "uri": "`+host+`/admin/*"}`), pick("http://127.0.0.1:9", "https://up.example.com", "ftp://x"),
			pick("file-pol", "file-pol", "missing-pol", fmt.Sprintf("p%d", rng.IntN(i+1))),
			opt(`"session_duration": "`+pick("8h", "1h", "9000h")+`"`), opt(`"app_launcher_visible": true`),
			opt(`"same_site_cookie_attribute": "`+pick("lax", "strict", "sideways")+`"`))
	}
}
