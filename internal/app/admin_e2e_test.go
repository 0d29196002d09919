package app_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/admin"
	"github.com/gatehouse/gatehouse/internal/testenv"
	"github.com/gatehouse/gatehouse/internal/token"
)

// TestAdminAPIRevocationTakesEffectAtOnce: a session revoked through the admin API on the auth
// domain is refused on the very next proxied request, with no wait for the store's notification.
func TestAdminAPIRevocationTakesEffectAtOnce(t *testing.T) {
	e := testenv.Start(t, "")
	_, plain, err := (&admin.Service{Store: e.G.Store}).CreateAdminToken(t.Context(), admin.CLIActor, "e2e")
	if err != nil {
		t.Fatal(err)
	}
	api := func(method, path, tok string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, e.URL("auth.localhost", path), nil)
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, body := e.NewBrowser().Do(t, req)
		return resp.StatusCode, body
	}
	proxied := func(b *testenv.Browser) int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, e.URL("app.localhost", "/"), nil)
		req.Header.Set("Accept", "application/json")
		resp, _ := b.Do(t, req)
		return resp.StatusCode
	}

	if status, body := api("GET", "/api/v1/users", ""); status != 401 || !strings.Contains(body, `"success":false`) {
		t.Fatalf("without a token: %d %s", status, body)
	}
	// The API is only on the auth domain; on an app host the path is proxied (and needs a login).
	if status, _ := api("GET", "/api/v1/users", plain); status != 200 {
		t.Fatalf("with a token: %d", status)
	}

	b := loggedIn(t, e)
	if got := proxied(b); got != 200 {
		t.Fatalf("fresh session: %d", got)
	}
	claims, err := token.NewVerifier(e.G.Keys, e.G.Snapshots.Load().Issuer, e.Clock.Now).Verify(appCookie(t, e, b, "app.localhost"))
	if err != nil {
		t.Fatal(err)
	}
	if status, body := api("DELETE", "/api/v1/users/"+claims.Subject+"/active_sessions/"+claims.IdentityNonce, plain); status != 200 {
		t.Fatalf("revoke session: %d %s", status, body)
	}
	if got := proxied(b); got != 401 {
		t.Errorf("next request after revoking the session: %d, want 401", got)
	}

	e.Clock.Advance(1e9)
	b = loggedIn(t, e)
	if status, body := api("POST", "/api/v1/users/alice@example.com/revoke", plain); status != 200 {
		t.Fatalf("revoke user: %d %s", status, body)
	}
	if got := proxied(b); got != 401 {
		t.Errorf("next request after revoking the user: %d, want 401", got)
	}

	e.Clock.Advance(1e9)
	b = loggedIn(t, e)
	if status, body := api("POST", "/api/v1/apps/app/revoke_tokens", plain); status != 200 {
		t.Fatalf("revoke app tokens: %d %s", status, body)
	}
	if got := proxied(b); got != 401 {
		t.Errorf("next request after revoking the app's tokens: %d, want 401", got)
	}
	// The login itself shows up in the access_requests log.
	if status, body := api("GET", "/api/v1/logs/access_requests?email=alice@example.com", plain); status != 200 || !strings.Contains(body, `"user_email":"alice@example.com"`) {
		t.Errorf("access requests: %d %s", status, body)
	}
}
