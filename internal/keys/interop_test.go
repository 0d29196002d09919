package keys

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse/gatehouse/internal/token"
	"github.com/gatehouse/gatehouse/internal/wire"
)

// Manager is what package token signs with and verifies against.
var (
	_ token.Signer = (*Manager)(nil)
	_ token.KeySet = (*Manager)(nil)
)

// An origin written for Cloudflare Access validates Gatehouse tokens with Cloudflare's documented
// Go example: go-oidc's remote key set on <team domain>/cdn-cgi/access/certs and a verifier for
// the team domain with the application's AUD as client ID.
func TestCloudflareGoExampleValidatesGatehouseTokens(t *testing.T) {
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	defer srv.Close()
	teamDomain := srv.URL

	st, err := sqlstore.Open(t.Context(), "sqlite", "file:"+filepath.Join(t.TempDir(), "db.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	m, err := NewManager(st, masterA, Options{Issuer: teamDomain})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	mux.HandleFunc("GET "+wire.Cloudflare.Path(wire.EndpointCerts), func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(m.CertsJSON())
	})

	const policyAUD = "4714c1358e65fe4b408ad6d432a5f878f08194bdb4752441fd56faefa9b2b6f2"
	var (
		ctx      = context.TODO()
		certsURL = teamDomain + "/cdn-cgi/access/certs"
		config   = &oidc.Config{ClientID: policyAUD}
		keySet   = oidc.NewRemoteKeySet(ctx, certsURL)
		verifier = oidc.NewVerifier(teamDomain, keySet, config)
	)
	// The example's middleware, as an origin handler.
	origin := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		accessJWT := r.Header.Get("Cf-Access-Jwt-Assertion")
		if accessJWT == "" {
			http.Error(w, "No token on the request", http.StatusUnauthorized)
			return
		}
		if _, err := verifier.Verify(r.Context(), accessJWT); err != nil {
			http.Error(w, "Invalid token: "+err.Error(), http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	call := func(raw string) int {
		req := httptest.NewRequest(http.MethodGet, "https://wiki.example.com/", nil)
		req.Header.Set(wire.Cloudflare.JWTHeader, raw)
		rec := httptest.NewRecorder()
		origin.ServeHTTP(rec, req)
		return rec.Code
	}

	mintFor := func(aud, sub, commonName string) string {
		now := time.Now()
		raw, err := token.Mint(m, &token.Claims{
			Audience: []string{aud}, Email: "alice@example.com", Subject: sub, Issuer: teamDomain,
			IssuedAt: now.Unix(), NotBefore: now.Unix(), ExpiresAt: now.Add(5 * time.Minute).Unix(),
			Type: token.TypeApp, IdentityNonce: "6ei69kawdKzMIAPF", Country: "US", CommonName: commonName,
		})
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	user := mintFor(policyAUD, "7335d417-61da-459d-899c-0a01c76a2f94", "")
	service := mintFor(policyAUD, "", "0f1e2d3c.access")
	otherApp := mintFor("some-other-app-aud", "7335d417-61da-459d-899c-0a01c76a2f94", "")

	idt, err := verifier.Verify(ctx, user)
	if err != nil {
		t.Fatalf("go-oidc rejects a Gatehouse token: %v", err)
	}
	if idt.Subject != "7335d417-61da-459d-899c-0a01c76a2f94" || idt.Issuer != teamDomain {
		t.Errorf("go-oidc read sub %q iss %q", idt.Subject, idt.Issuer)
	}
	for name, tc := range map[string]struct {
		raw  string
		want int
	}{
		"user token":        {user, http.StatusOK},
		"service token":     {service, http.StatusOK},
		"other app's token": {otherApp, http.StatusUnauthorized},
	} {
		if got := call(tc.raw); got != tc.want {
			t.Errorf("%s: origin answered %d, want %d", name, got, tc.want)
		}
	}

	// After a rotation the origin verifies tokens from both keys (go-oidc refetches the certs
	// on an unknown kid).
	if err := m.Rotate(context.Background()); err != nil {
		t.Fatal(err)
	}
	fresh := mintFor(policyAUD, "u2", "")
	for name, raw := range map[string]string{"previous key": user, "new key": fresh} {
		if got := call(raw); got != http.StatusOK {
			t.Errorf("after rotation, %s: origin answered %d", name, got)
		}
	}
}
