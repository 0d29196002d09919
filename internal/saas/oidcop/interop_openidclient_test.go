package oidcop_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/testenv/peers"
)

// openIDClientRP returns the Node binary and the directory of interop/openid-client-rp. When
// they are not installed the test is skipped, loudly, unless CI=true, where it fails.
func openIDClientRP(t *testing.T) (node, dir string) {
	t.Helper()
	return peers.Node(t, "openid-client-rp", "install-openid-client.sh", true, "node_modules/openid-client/package.json")
}

// TestInteropOpenIDClient logs in with panva's openid-client 6.x (OpenID Certified) run on Node
// 22: discovery, authorization code with PKCE S256, state, nonce and the RFC 9207 iss check, ID
// token validation, userinfo with the subject check, a refresh, and the refusal of a reused
// refresh token (and of its family afterwards), once per client authentication method.
func TestInteropOpenIDClient(t *testing.T) {
	node, dir := openIDClientRP(t)
	const callback = "http://127.0.0.1/openid-client/callback"
	for _, method := range []string{"basic", "post", "none"} {
		t.Run(method, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), interopTimeout)
			defer cancel()
			h, issuer := interopProvider(t, func(a *store.SaaSApp) {
				a.AllowPKCEWithoutClientSecret = method == "none"
				// The RP reuses a rotated-out token at once and expects the refusal: no grace.
				// (The grace period is covered by TestPeerGoOIDC and the package's tests.)
				noGrace := store.Duration(0)
				if a.RefreshTokenOptions == nil {
					a.RefreshTokenOptions = &store.RefreshTokenOptions{}
				}
				a.RefreshTokenOptions.ReuseGracePeriod = &noGrace
			}, callback)
			cmd := exec.CommandContext(ctx, node, "rp.mjs")
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "ISSUER="+issuer, "CLIENT_ID="+clientID, "CLIENT_SECRET="+clientSecret,
				"REDIRECT_URI="+callback, "AUTH="+method)
			cmd.WaitDelay = 5 * time.Second
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err != nil {
				t.Fatalf("openid-client RP failed: %v\nstdout: %s\nstderr: %s", err, stdout.String(), stderr.String())
			}
			lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
			var got struct {
				Sub      string   `json:"sub"`
				Email    string   `json:"email"`
				Groups   []string `json:"groups"`
				Nonce    bool     `json:"nonce"`
				Userinfo struct {
					Sub   string `json:"sub"`
					Email string `json:"email"`
				} `json:"userinfo"`
				RefreshedSub         string `json:"refreshedSub"`
				Rotated              bool   `json:"rotated"`
				UserinfoAfterRefresh string `json:"userinfoAfterRefresh"`
				ReuseError           string `json:"reuseError"`
				FamilyError          string `json:"familyError"`
			}
			if err := json.Unmarshal([]byte(lines[len(lines)-1]), &got); err != nil {
				t.Fatalf("RP output %q: %v", stdout.String(), err)
			}
			t.Logf("openid-client saw: %s", lines[len(lines)-1])
			if got.Sub != h.user.ID || got.Email != userEmail || !got.Nonce || len(got.Groups) != 2 {
				t.Errorf("ID token seen by openid-client: %+v", got)
			}
			if got.Userinfo.Sub != h.user.ID || got.Userinfo.Email != userEmail {
				t.Errorf("userinfo seen by openid-client: %+v", got.Userinfo)
			}
			if got.RefreshedSub != h.user.ID || !got.Rotated || got.UserinfoAfterRefresh != h.user.ID {
				t.Errorf("refresh seen by openid-client: %+v", got)
			}
			if got.ReuseError != "invalid_grant" || got.FamilyError != "invalid_grant" {
				t.Errorf("reuse errors %q and %q, want invalid_grant twice", got.ReuseError, got.FamilyError)
			}
			h.wantEvent(t, "saas_token", false, "oidc-refresh-revoked")
		})
	}
}
