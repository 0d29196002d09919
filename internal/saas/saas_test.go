package saas

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gatehouse/gatehouse/internal/session"
	"github.com/gatehouse/gatehouse/internal/snapshot"
)

// TestAuthorizePassive: whatever the login step would have shown becomes an outcome, and nothing
// reaches the browser.
func TestAuthorizePassive(t *testing.T) {
	grant := &session.Grant{SessionID: "s"}
	for _, tc := range []struct {
		name string
		step func(w http.ResponseWriter) (*session.Grant, bool)
		want PassiveOutcome
	}{
		{"granted", func(http.ResponseWriter) (*session.Grant, bool) { return grant, false }, PassiveGranted},
		{"login redirect", func(w http.ResponseWriter) (*session.Grant, bool) {
			w.Header().Set("Location", "/login")
			w.WriteHeader(http.StatusFound)
			return nil, true
		}, PassiveLoginRequired},
		{"picker page", func(w http.ResponseWriter) (*session.Grant, bool) {
			_, _ = w.Write([]byte("pick one"))
			return nil, true
		}, PassiveLoginRequired},
		{"block page", func(w http.ResponseWriter) (*session.Grant, bool) {
			w.WriteHeader(http.StatusForbidden)
			_, _ = w.Write([]byte("denied"))
			return nil, true
		}, PassiveDenied},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := &Env{Authorize: func(w http.ResponseWriter, _ *http.Request, _ *snapshot.App, _ string, _ session.Freshness) (*session.Grant, bool) {
				return tc.step(w)
			}}
			g, got := env.AuthorizePassive(httptest.NewRequest(http.MethodGet, "/", nil), &snapshot.App{}, "/", session.Freshness{})
			if got != tc.want || (got == PassiveGranted) != (g == grant) {
				t.Errorf("outcome %v grant %v, want %v", got, g, tc.want)
			}
		})
	}
}
