package oidcop_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// BenchmarkTokenEndpoint measures the whole token endpoint for the authorization_code grant:
// client_secret_basic, PKCE S256, the code's single-use redemption and grant creation in SQLite
// (with a refresh token), the revocation check, an RS256 access token and ID token, and the
// auth event written to the store. Codes are created beforehand. Run with -cpu 1 for the
// one-core figure (req/s).
func BenchmarkTokenEndpoint(b *testing.B) {
	h := newHarness(b, harnessOpts{})
	ctx := context.Background()
	ident, _ := json.Marshal(h.ident)
	codes := make([]string, b.N)
	for i := range codes {
		codes[i] = fmt.Sprintf("bench-code-%d-%s", i, strings.Repeat("x", 32))
		err := h.st.CreateOIDCCode(ctx, &store.OIDCCode{CodeHash: secretHash(codes[i]), GrantID: fmt.Sprintf("grant-%d", i),
			AppID: appID, ClientID: clientID, RedirectURI: redirectURI, CodeChallenge: s256(verifier), Nonce: "n",
			Scopes: []string{"openid", "email", "profile", "groups"}, UserID: h.user.ID, SessionID: sessionID,
			AuthTime: h.clock.Now(), Identity: ident, ExpiresAt: h.clock.Now().Add(time.Hour)})
		if err != nil {
			b.Fatal(err)
		}
	}
	handler := h.handler()
	tokenURL := h.issuer() + "/token"
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		r := httptest.NewRequest(http.MethodPost, tokenURL, strings.NewReader(codeForm(codes[i], verifier).Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.SetBasicAuth(clientID, "s3cret%3Awith%25odd%26chars")
		w := httptest.NewRecorder()
		handler.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			b.Fatalf("token endpoint answered %d: %s", w.Code, w.Body)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}
