package admin

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/testenv/peers"
)

// openAPIValidatorPeer returns node and interop/openapi-validator; when they are missing the
// test is skipped, loudly, unless CI=true, where it fails.
func openAPIValidatorPeer(t *testing.T) (node, dir string) {
	t.Helper()
	return peers.Node(t, "openapi-validator", "install-openapi-validator.sh", false,
		"node_modules/@seriousme/openapi-schema-validator/package.json", "node_modules/@readme/openapi-parser/package.json")
}

type validatorVerdict struct {
	Seriousme struct {
		Valid   bool              `json:"valid"`
		Version string            `json:"version"`
		Errors  []json.RawMessage `json:"errors"`
	} `json:"seriousme"`
	Readme struct {
		Valid  bool              `json:"valid"`
		Errors []json.RawMessage `json:"errors"`
	} `json:"readme"`
}

func runValidators(t *testing.T, node, dir string, doc []byte) validatorVerdict {
	t.Helper()
	file := filepath.Join(t.TempDir(), "openapi.json")
	if err := os.WriteFile(file, doc, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, filepath.Join(dir, "validate.mjs"), file)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("validate.mjs: %v\n%s", err, out)
	}
	var v validatorVerdict
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatalf("validate.mjs printed %s: %v", out, err)
	}
	return v
}

// TestInteropOpenAPIValidators: the description GET /api/v1/openapi.json serves is valid OpenAPI
// 3.1 for two independent validators from npm, @seriousme/openapi-schema-validator (the official
// JSON Schema, strict) and @readme/openapi-parser (schema and semantic rules); and both reject a
// copy that is broken on purpose, so the check can fail.
func TestInteropOpenAPIValidators(t *testing.T) {
	node, dir := openAPIValidatorPeer(t)
	st := newMemConfigStore()
	svc := &Service{Store: tokenStore{st, map[string]store.AdminToken{}}}
	_, tok, err := svc.CreateAdminToken(t.Context(), CLIActor, "docs", ScopeAudit)
	if err != nil {
		t.Fatal(err)
	}
	api := NewAPI(svc, APIOptions{})
	req := httptest.NewRequest(http.MethodGet, "/api/v1/openapi.json", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	w := httptest.NewRecorder()
	api.ServeHTTP(w, req)
	if w.Code != 200 || !strings.HasPrefix(w.Header().Get("Content-Type"), "application/json") {
		t.Fatalf("GET /api/v1/openapi.json: %d %s", w.Code, w.Body)
	}
	v := runValidators(t, node, dir, w.Body.Bytes())
	if !v.Seriousme.Valid || v.Seriousme.Version != "3.1" {
		t.Errorf("@seriousme/openapi-schema-validator: valid %v (version %s): %s", v.Seriousme.Valid, v.Seriousme.Version, v.Seriousme.Errors)
	}
	if !v.Readme.Valid {
		t.Errorf("@readme/openapi-parser: %s", v.Readme.Errors)
	}

	// Broken on purpose: a duplicated operationId (semantic) and no info (schema).
	var doc map[string]any
	_ = json.Unmarshal(w.Body.Bytes(), &doc)
	delete(doc, "info")
	var first string
	for _, item := range doc["paths"].(map[string]any) {
		for _, op := range item.(map[string]any) {
			o := op.(map[string]any)
			if first == "" {
				first = o["operationId"].(string)
			} else {
				o["operationId"] = first
			}
		}
	}
	broken, _ := json.Marshal(doc)
	v = runValidators(t, node, dir, broken)
	if v.Seriousme.Valid || v.Readme.Valid {
		t.Errorf("a broken description passed: seriousme %v, readme %v", v.Seriousme.Valid, v.Readme.Valid)
	}
}

// tokenStore adds admin tokens (by hash) to a configuration-only store.
type tokenStore struct {
	*memConfigStore
	tokens map[string]store.AdminToken
}

func (s tokenStore) CreateAdminToken(_ context.Context, t *store.AdminToken) error {
	s.tokens[t.TokenHash] = *t
	return nil
}

func (s tokenStore) AdminTokenByHash(_ context.Context, h string) (*store.AdminToken, error) {
	t, ok := s.tokens[h]
	if !ok {
		return nil, store.ErrNotFound
	}
	return &t, nil
}
func (tokenStore) ListAdminTokens(context.Context) ([]store.AdminToken, error) { return nil, nil }
func (tokenStore) TouchAdminToken(context.Context, string) error               { return nil }
func (tokenStore) DeleteAdminToken(context.Context, string) error              { return nil }
func (tokenStore) HitRateLimit(context.Context, string, time.Duration, int) (bool, error) {
	return true, nil
}
