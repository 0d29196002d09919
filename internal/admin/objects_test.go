package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/store"
)

func TestScopes(t *testing.T) {
	for _, tc := range []struct {
		scopes []string
		area   string
		write  bool
		want   bool
	}{
		{[]string{ScopeAll}, ScopeAccess, true, true},
		{[]string{ScopeRead}, ScopeAccess, false, true},
		{[]string{ScopeRead}, ScopeAccess, true, false},
		{[]string{ScopeRead}, ScopeAudit, false, true},
		{[]string{"access:read"}, ScopeAccess, false, true},
		{[]string{"access:read"}, ScopeAccess, true, false},
		{[]string{"access:read"}, ScopeGateway, false, false},
		{[]string{ScopeAccess}, ScopeAccess, true, true},
		{[]string{ScopeAccess}, ScopeMCP, false, false},
		{[]string{ScopeAccess}, ScopeAudit, false, false},
		{[]string{ScopeAudit}, ScopeAudit, false, true},
		{[]string{ScopeMCP, "gateway:read"}, ScopeGateway, false, true},
		{[]string{ScopeMCP, "gateway:read"}, ScopeGateway, true, false},
		{nil, ScopeAccess, false, false},
		{nil, scopeAny, false, true},
	} {
		if got := allows(tc.scopes, tc.area, tc.write); got != tc.want {
			t.Errorf("allows(%v, %s, write=%v) = %v, want %v", tc.scopes, tc.area, tc.write, got, tc.want)
		}
	}
	got, err := NormalizeScopes([]string{"audit, Access:read", "read", "audit:read"})
	if err != nil || strings.Join(got, " ") != "access:read audit read" {
		t.Errorf("NormalizeScopes = %v, %v", got, err)
	}
	if got, _ := NormalizeScopes(nil); !slices.Equal(got, []string{ScopeAll}) {
		t.Errorf("no scopes = %v, want all", got)
	}
	if _, err := NormalizeScopes([]string{"admin"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("unknown scope: %v", err)
	}
}

// TestEveryRouteHasAScopeArea: a route outside the known prefixes would fall into the access
// area silently; this pins the mapping of every registered route.
func TestEveryRouteHasAScopeArea(t *testing.T) {
	api := NewAPI(&Service{}, APIOptions{})
	for _, rt := range api.Routes() {
		want := ScopeAccess
		switch {
		case rt.Path == "/api/v1/openapi.json":
			want = scopeAny
		case strings.Contains(rt.Path, "/mcp/"):
			want = ScopeMCP
		case strings.Contains(rt.Path, "/gateway/") || strings.Contains(rt.Path, "devices") || strings.HasPrefix(rt.Path, "/api/v1/dlp/"),
			rt.Path == "/api/v1/reports/ai_security":
			want = ScopeGateway
		case strings.HasPrefix(rt.Path, "/api/v1/audit"):
			want = ScopeAudit
		}
		if rt.Area != want {
			t.Errorf("%s %s: area %q, want %q", rt.Method, rt.Path, rt.Area, want)
		}
		// Only checks of a body may be POSTs that read scopes allow.
		if rt.Read != (rt.Method == "POST" && rt.Path == "/api/v1/gateway/rules/check") {
			t.Errorf("%s %s: read %v", rt.Method, rt.Path, rt.Read)
		}
	}
}

// TestOpenAPICoversEveryRoute: the served description has an operation, with a summary, for
// every registered route, and no summary is left for a route that is gone.
func TestOpenAPICoversEveryRoute(t *testing.T) {
	api := NewAPI(&Service{}, APIOptions{})
	missing, stale := api.undocumented()
	if len(missing) > 0 {
		t.Errorf("routes without a summary in routeDocs (openapi.go): %v", missing)
	}
	if len(stale) > 0 {
		t.Errorf("routeDocs entries without a route: %v", stale)
	}
	b, err := json.Marshal(api.OpenAPI())
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		OpenAPI string                               `json:"openapi"`
		Paths   map[string]map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi = %q", doc.OpenAPI)
	}
	n := 0
	for _, rt := range api.Routes() {
		op := doc.Paths[rt.Path][strings.ToLower(rt.Method)]
		if op == nil || op["summary"] == "" || op["operationId"] == "" {
			t.Errorf("%s %s is missing from the OpenAPI description", rt.Method, rt.Path)
		}
		n++
	}
	for _, item := range doc.Paths {
		n -= len(item)
	}
	if n != 0 {
		t.Errorf("the description has %d operations more than there are routes", -n)
	}
	// Every field of the configuration types is described (the schemas come from the types).
	if !bytes.Contains(b, []byte(`"prompt_protection"`)) || !bytes.Contains(b, []byte(`"managed_by":{"allOf"`)) {
		t.Errorf("schemas lack fields: %.300s", b)
	}
}

func TestRedaction(t *testing.T) {
	idp := store.IdentityProvider{ID: "okta", Type: store.IdPOIDC, Config: map[string]any{
		"client_id": "c", "client_secret": "s3cr3t-value", "nested": map[string]any{"password": map[string]any{"value": "pw"}},
		"smtp": map[string]any{"password": map[string]any{"env": "SMTP_PASSWORD"}}}}
	b, _ := json.Marshal(Redacted(idp))
	if bytes.Contains(b, []byte("s3cr3t")) || bytes.Contains(b, []byte(`"pw"`)) || !bytes.Contains(b, []byte("SMTP_PASSWORD")) {
		t.Fatalf("Redacted = %s: want literal secrets hidden and references shown", b)
	}
	// A replacement that gives the redacted form back keeps the stored secrets.
	var back store.IdentityProvider
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	back.Name = "Okta"
	if err := restoreRedacted(&idp, &back); err != nil {
		t.Fatal(err)
	}
	if back.Config["client_secret"] != "s3cr3t-value" || back.Name != "Okta" {
		t.Errorf("restored = %+v", back)
	}
	// The placeholder where there was no secret is an error, not a literal "[redacted]" secret.
	fresh := store.IdentityProvider{ID: "x", Config: map[string]any{"client_secret": RedactedValue}}
	if err := restoreRedacted(&store.IdentityProvider{ID: "x"}, &fresh); !errors.Is(err, ErrInvalid) {
		t.Errorf("placeholder without a stored secret: %v", err)
	}
}

func TestMergePatch(t *testing.T) {
	var target, patch any
	_ = json.Unmarshal([]byte(`{"a": 1, "b": {"c": 2, "d": 3}, "e": [1]}`), &target)
	_ = json.Unmarshal([]byte(`{"a": null, "b": {"c": 5}, "e": [2, 3], "f": "x"}`), &patch)
	got, _ := json.Marshal(mergePatch(target, patch))
	if string(got) != `{"b":{"c":5,"d":3},"e":[2,3],"f":"x"}` {
		t.Errorf("mergePatch = %s", got)
	}
}

// acceptAll is a ConfigChecker for tests of the mechanics, not of validation.
func acceptAll(*store.Config) []Problem { return nil }

// FuzzObjectBody: any body, decoded as the API decodes it and stored, reads back as stored, and
// a merge patch of any body never panics nor stores what the decoder refuses.
func FuzzObjectBody(f *testing.F) {
	for _, seed := range []string{`{"id": "p", "decision": "allow", "include": [{"everyone": {}}]}`, `{"id": ""}`, `[]`, `{"include": [{"email": {"email": 1}}]}`,
		`{"id": "x", "session_duration": "8h", "extra": 1}`, `{"a": null}`, "{\"id\": \"x\"} {}"} {
		f.Add([]byte(seed), []byte(`{"name": "n"}`))
	}
	f.Fuzz(func(t *testing.T, body, patch []byte) {
		st := newMemConfigStore()
		svc := &Service{Store: st, CheckConfig: acceptAll}
		var p store.Policy
		if err := DecodeStrict(bytes.NewReader(body), &p); err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("DecodeStrict error %v does not wrap ErrInvalid", err)
			}
			return
		}
		created, etag, err := svc.Policies().Create(t.Context(), CLIActor, p)
		if err != nil {
			return // e.g. a read-only managed_by
		}
		got, getTag, err := svc.Policies().Get(t.Context(), created.ID)
		if err != nil || getTag != etag {
			t.Fatalf("Get after Create: %v (ETag %s vs %s)", err, getTag, etag)
		}
		a, _ := json.Marshal(got)
		b, _ := json.Marshal(created)
		if !bytes.Equal(a, b) {
			t.Fatalf("Get = %s, Create returned %s", a, b)
		}
		before := st.version
		if _, _, err := svc.Policies().Patch(t.Context(), CLIActor, created.ID, patch, ""); err != nil && st.version != before {
			t.Fatalf("a refused patch (%v) changed the store", err)
		}
	})
}

// memConfigStore is a store.Store that keeps only a configuration, for the fuzz target.
type memConfigStore struct {
	store.Store
	cfg     store.Config
	version int64
}

func newMemConfigStore() *memConfigStore { return &memConfigStore{} }

func (m *memConfigStore) GetConfig(_ context.Context) (*store.Config, error) {
	c := clone(m.cfg)
	return &c, nil
}

func (m *memConfigStore) UpdateConfig(_ context.Context, update func(*store.Config) error) (*store.Config, error) {
	c := clone(m.cfg)
	if err := update(&c); err != nil {
		return nil, err
	}
	if err := c.NormalizeManagedBy(); err != nil {
		return nil, err
	}
	m.version++
	c.Version = m.version
	m.cfg = clone(c)
	return &c, nil
}

func clone(c store.Config) store.Config {
	b, _ := json.Marshal(c)
	var out store.Config
	_ = json.Unmarshal(b, &out)
	out.Version = c.Version
	return out
}

func TestObjectsAPIStatuses(t *testing.T) {
	st := newMemConfigStore()
	svc := &Service{Store: st, CheckConfig: func(c *store.Config) []Problem {
		for _, p := range c.Policies {
			if p.Decision != store.DecisionAllow {
				return []Problem{{Path: "policies[id=" + p.ID + "].decision", Message: "must be allow"}}
			}
		}
		return nil
	}, ConfigFile: "gh.yaml"}
	st.cfg.Policies = []store.Policy{{ID: "file", Decision: store.DecisionAllow, ManagedBy: store.ManagedByFile}}
	ctx := t.Context()
	if _, _, err := svc.Policies().Replace(ctx, CLIActor, "file", store.Policy{Decision: store.DecisionAllow}, ""); !errors.Is(err, ErrConflict) ||
		!strings.Contains(err.Error(), "gh.yaml") {
		t.Errorf("replace a file object: %v", err)
	}
	_, _, err := svc.Policies().Create(ctx, CLIActor, store.Policy{ID: "p", Decision: store.DecisionDeny})
	var ve *ValidationError
	if !errors.As(err, &ve) || ve.Problems[0].Path != "decision" {
		t.Errorf("invalid create: %v, want the problem at decision (relative to the object)", err)
	}
	if _, _, err := svc.Policies().Create(ctx, CLIActor, store.Policy{ID: "p", Decision: store.DecisionAllow, ManagedBy: "file"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("create claiming managed_by file: %v", err)
	}
	p, etag, err := svc.Policies().Create(ctx, CLIActor, store.Policy{Decision: store.DecisionAllow})
	if err != nil || p.ID == "" || p.ManagedBy != store.ManagedByAPI {
		t.Fatalf("create: %+v %v", p, err)
	}
	if _, _, err := svc.Policies().Replace(ctx, CLIActor, p.ID, store.Policy{ID: "other", Decision: store.DecisionAllow}, etag); !errors.Is(err, ErrInvalid) {
		t.Errorf("replace changing the id: %v", err)
	}
	if _, _, err := svc.Policies().Replace(ctx, CLIActor, p.ID, store.Policy{Name: "n", Decision: store.DecisionAllow}, `"stale"`); !errors.Is(err, ErrPrecondition) {
		t.Errorf("replace with a stale ETag: %v", err)
	}
	if err := svc.Policies().Delete(ctx, CLIActor, p.ID, etag); err != nil {
		t.Errorf("delete with the current ETag: %v", err)
	}

	// Through HTTP: the statuses and the envelope.
	rec := httptest.NewRecorder()
	api := NewAPI(svc, APIOptions{})
	api.writeError(rec, httptest.NewRequest("GET", "/", nil), ve)
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "decision: must be allow") {
		t.Errorf("validation error answer: %d %s", rec.Code, rec.Body)
	}
	rec = httptest.NewRecorder()
	api.writeError(rec, httptest.NewRequest("GET", "/", nil), ErrPrecondition)
	if rec.Code != http.StatusPreconditionFailed {
		t.Errorf("precondition answer: %d", rec.Code)
	}
}
