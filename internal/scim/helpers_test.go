package scim_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/scim"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
)

const base = "https://auth.example.com/cdn-cgi/access/scim/v2/"

// harness is a SCIM server over a fresh SQLite store with three IdPs: okta (automatic group
// updates), entra (reauth on group change), both with user_deprovision, and off (SCIM disabled).
type harness struct {
	t       testing.TB
	st      store.Store
	srv     *scim.Server
	secrets map[string]string
	mu      sync.Mutex
	revoked int
	changes []scim.Change
	now     time.Time
	dbFile  string
}

func newHarness(t *testing.T) *harness { return newTBHarness(t) }

func newBenchHarness(b *testing.B) *harness { return newTBHarness(b) }

func newTBHarness(t testing.TB) *harness {
	t.Helper()
	h := &harness{t: t, secrets: map[string]string{}, now: time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC)}
	h.dbFile = filepath.Join(t.TempDir(), "g.db")
	st, err := sqlstore.Open(t.Context(), "sqlite", h.dbFile, sqlstore.WithClock(h.clock))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	h.st = st
	idps := map[string]*store.IdentityProvider{
		"okta": {ID: "okta", Type: store.IdPOIDC, SCIMConfig: &store.SCIMConfig{Enabled: true, UserDeprovision: true, SeatDeprovision: true,
			IdentityUpdateBehavior: store.SCIMUpdateAutomatic}},
		"entra": {ID: "entra", Type: store.IdPSAML, SCIMConfig: &store.SCIMConfig{Enabled: true, UserDeprovision: true,
			IdentityUpdateBehavior: store.SCIMUpdateReauth}},
		"off": {ID: "off", Type: store.IdPOIDC, SCIMConfig: &store.SCIMConfig{Enabled: false}},
		"pin": {ID: "pin", Type: store.IdPOneTimePIN},
	}
	h.srv = &scim.Server{
		Store:   st,
		IdP:     func(id string) *store.IdentityProvider { return idps[id] },
		BaseURL: func(id string) string { return base + id },
		Revoked: func(context.Context) { h.mu.Lock(); h.revoked++; h.mu.Unlock() },
		OnChange: func(_ context.Context, c scim.Change) {
			h.mu.Lock()
			h.changes = append(h.changes, c)
			h.mu.Unlock()
		},
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Now: h.clock,
	}
	for _, id := range []string{"okta", "entra", "off"} {
		s, err := scim.RotateSecret(t.Context(), st, id)
		if err != nil {
			t.Fatal(err)
		}
		h.secrets[id] = s
	}
	return h
}

func (h *harness) clock() time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.now
}

func (h *harness) advance(d time.Duration) {
	h.mu.Lock()
	h.now = h.now.Add(d)
	h.mu.Unlock()
}

// resp is a decoded SCIM response.
type resp struct {
	Status int
	Header http.Header
	Body   map[string]any
	Raw    string
}

func (r resp) str(key string) string { s, _ := r.Body[key].(string); return s }

// do sends a request to idp's endpoint with idp's secret.
func (h *harness) do(idp, method, path, body string, hdr ...string) resp {
	h.t.Helper()
	return h.doAuth(idp, "Bearer "+h.secrets[idp], method, path, body, hdr...)
}

func (h *harness) doAuth(idp, auth, method, path, body string, hdr ...string) resp {
	h.t.Helper()
	req := httptest.NewRequest(method, base+idp+path, strings.NewReader(body))
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	req.Header.Set("Content-Type", "application/scim+json")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	h.srv.ServeHTTP(rec, req)
	r := resp{Status: rec.Code, Header: rec.Header(), Raw: rec.Body.String()}
	if rec.Body.Len() > 0 {
		if err := json.Unmarshal(rec.Body.Bytes(), &r.Body); err != nil {
			h.t.Fatalf("%s %s: answer is not JSON: %v\n%s", method, path, err, rec.Body.String())
		}
	}
	return r
}

// must fails unless the response has the status.
func (h *harness) must(r resp, status int) resp {
	h.t.Helper()
	if r.Status != status {
		h.t.Fatalf("status %d, want %d: %s", r.Status, status, r.Raw)
	}
	return r
}

// scimError checks a SCIM error response.
func (h *harness) scimError(r resp, status int, scimType string) {
	h.t.Helper()
	if r.Status != status {
		h.t.Fatalf("status %d, want %d: %s", r.Status, status, r.Raw)
	}
	schemas, _ := r.Body["schemas"].([]any)
	if len(schemas) != 1 || schemas[0] != scim.SchemaError || r.str("status") != http.StatusText(status) && r.str("status") != itoa(status) {
		h.t.Errorf("not a SCIM error body: %s", r.Raw)
	}
	if got := r.str("scimType"); got != scimType {
		h.t.Errorf("scimType %q, want %q (%s)", got, scimType, r.Raw)
	}
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// login simulates a login of email through idp and a session for it.
func (h *harness) login(email, idp, sessionID string) *store.User {
	h.t.Helper()
	u, err := h.st.UpsertUserByEmail(h.t.Context(), email, store.LastSeen{IdPID: idp})
	if err != nil {
		h.t.Fatal(err)
	}
	if u.Status != store.UserActive {
		h.t.Fatalf("login of %s refused: user %s", email, u.Status)
	}
	now := h.clock()
	if err := h.st.CreateSession(h.t.Context(), &store.Session{ID: sessionID, UserID: u.ID, Email: u.Email, IdPID: idp,
		CreatedAt: now, ExpiresAt: now.Add(time.Hour), Identity: []byte(`{}`)}); err != nil {
		h.t.Fatal(err)
	}
	return u
}

func (h *harness) sessionRevoked(id string) bool {
	h.t.Helper()
	s, err := h.st.GetSession(h.t.Context(), id)
	if err != nil {
		h.t.Fatal(err)
	}
	return !s.RevokedAt.IsZero()
}

func (h *harness) registryUser(email string) *store.User {
	h.t.Helper()
	u, err := h.st.GetUserByEmail(h.t.Context(), email)
	if err != nil {
		h.t.Fatalf("registry user %s: %v", email, err)
	}
	return u
}

func (h *harness) lastChange() scim.Change {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.changes) == 0 {
		h.t.Fatal("no change recorded")
	}
	return h.changes[len(h.changes)-1]
}

func (h *harness) revocations() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.revoked
}

func patchBody(ops string) string {
	return `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[` + ops + `]}`
}

func userBody(userName, externalID string) string {
	return `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"` + userName + `","externalId":"` + externalID +
		`","name":{"givenName":"Given","familyName":"Family"},"emails":[{"primary":true,"value":"` + userName + `","type":"work"}],"active":true}`
}
