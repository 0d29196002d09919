package oidcop_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/policy"

	"github.com/gatehouse/gatehouse/internal/identity"
	"github.com/gatehouse/gatehouse/internal/saas/oidcop"
	"github.com/gatehouse/gatehouse/internal/snapshot"
	"github.com/gatehouse/gatehouse/internal/store"
)

// graceApp is baseApp with reuse_grace_period set (nil: the default).
func graceApp(grace *time.Duration) *store.SaaSApp {
	app := baseApp()
	if grace != nil {
		d := store.Duration(*grace)
		app.RefreshTokenOptions = &store.RefreshTokenOptions{ReuseGracePeriod: &d}
	}
	return app
}

// noReuseEvent fails when any saas_token event records a refresh reuse.
func (h *harness) noReuseEvent(t *testing.T) {
	t.Helper()
	evs, err := h.st.ListAuthEvents(context.Background(), store.AuthEventQuery{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs {
		if e.Action == "saas_token" && (!e.Allowed || slices.Contains(e.Reasons, "oidc-refresh-reuse")) {
			t.Errorf("token event allowed %v reasons %v, want no refusal and no reuse", e.Allowed, e.Reasons)
		}
	}
}

// TestConcurrentRefreshWithinGrace: clients that refresh one token from several places at once
// (oauth2-proxy with cookie sessions, mod_auth_openidc in several Apache processes) all get
// valid tokens of the one family and the same successor refresh token; nothing is revoked and
// no reuse is recorded.
func TestConcurrentRefreshWithinGrace(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	tr0 := okTokens(t, h.tokenReq(authBasic, codeForm(h.code(t, authzParams(verifier)), verifier)))
	h.clock.Advance(10 * time.Minute)

	const n = 8
	responses := make(chan *httptest.ResponseRecorder, n)
	start := make(chan struct{})
	for range n {
		go func() {
			<-start
			responses <- h.tokenReq(authBasic, refreshForm(tr0.RefreshToken))
		}()
	}
	close(start)
	var got []*tokenResponse
	for range n {
		got = append(got, okTokens(t, <-responses))
	}
	family := grantOf(t, h, got[0].AccessToken).ID
	for i, tr := range got {
		if tr.RefreshToken != got[0].RefreshToken || tr.RefreshToken == tr0.RefreshToken {
			t.Errorf("response %d: refresh token differs from the others or was not rotated", i)
		}
		if g := grantOf(t, h, tr.AccessToken); g.ID != family || !g.RevokedAt.IsZero() {
			t.Errorf("response %d: grant %s revoked %v, want %s unrevoked", i, g.ID, g.RevokedAt, family)
		}
		if w := h.userinfo(tr.AccessToken); w.Code != http.StatusOK {
			t.Errorf("response %d: userinfo %d", i, w.Code)
		}
	}
	h.noReuseEvent(t)
	rotated, grace := 0, 0
	evs, _ := h.st.ListAuthEvents(context.Background(), store.AuthEventQuery{Limit: 1000})
	for _, e := range evs {
		rotated += countOf(e.Reasons, "oidc-refresh-rotated")
		grace += countOf(e.Reasons, "oidc-refresh-grace")
	}
	if rotated != 1 || grace != n-1 {
		t.Errorf("events: %d rotations and %d refreshes within the grace period, want 1 and %d", rotated, grace, n-1)
	}
	// The family goes on from the one successor.
	h.clock.Advance(10 * time.Minute)
	next := okTokens(t, h.tokenReq(authBasic, refreshForm(got[0].RefreshToken)))
	if next.RefreshToken == got[0].RefreshToken {
		t.Error("the successor did not rotate")
	}
	h.noReuseEvent(t)
}

func countOf(list []string, s string) int {
	n := 0
	for _, x := range list {
		if x == s {
			n++
		}
	}
	return n
}

// TestRefreshReuseAfterGraceRevokes: within the grace period a rotated token gets the successor
// again; from the end of the period on, it is a reuse that revokes the family and is audited.
func TestRefreshReuseAfterGraceRevokes(t *testing.T) {
	thirty := 30 * time.Second
	zero := time.Duration(0)
	for name, tc := range map[string]struct {
		grace *time.Duration
		want  time.Duration // the effective grace period
	}{
		"default": {nil, oidcop.DefaultRefreshReuseGracePeriod},
		"30s":     {&thirty, thirty},
		"off":     {&zero, 0},
	} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, harnessOpts{app: graceApp(tc.grace)})
			tr0 := okTokens(t, h.tokenReq(authBasic, codeForm(h.code(t, authzParams(verifier)), verifier)))
			tr1 := okTokens(t, h.tokenReq(authBasic, refreshForm(tr0.RefreshToken)))
			if tc.want > 0 {
				h.clock.Advance(tc.want - time.Microsecond)
				again := okTokens(t, h.tokenReq(authBasic, refreshForm(tr0.RefreshToken)))
				h.wantEvent(t, "saas_token", true, "oidc-refresh-grace")
				if again.RefreshToken != tr1.RefreshToken || again.AccessToken == tr1.AccessToken {
					t.Fatal("a refresh within the grace period did not return the successor with a new access token")
				}
				h.noReuseEvent(t)
				h.clock.Advance(time.Microsecond)
			}
			oauthErr(t, h.tokenReq(authBasic, refreshForm(tr0.RefreshToken)), 400, "invalid_grant")
			h.wantEvent(t, "saas_token", false, "oidc-refresh-reuse")
			if g := grantOf(t, h, tr1.AccessToken); g.RevokeReason != store.OIDCRevokedRefreshReused {
				t.Errorf("grant revoke reason %q, want %q", g.RevokeReason, store.OIDCRevokedRefreshReused)
			}
			oauthErr(t, h.tokenReq(authBasic, refreshForm(tr1.RefreshToken)), 400, "invalid_grant")
			if w := h.userinfo(tr1.AccessToken); w.Code != http.StatusUnauthorized {
				t.Errorf("userinfo with the family's newest access token after a reuse: %d", w.Code)
			}
		})
	}
}

// TestRefreshReuseGraceRefusals: within the grace period, a rotated token presented by another
// client, or after its successor was rotated, is a reuse that revokes the family; one presented
// without the client's secret is refused and changes nothing.
func TestRefreshReuseGraceRefusals(t *testing.T) {
	t.Run("another client", func(t *testing.T) {
		h := newHarness(t, harnessOpts{})
		tr0 := okTokens(t, h.tokenReq(authBasic, codeForm(h.code(t, authzParams(verifier)), verifier)))
		tr1 := okTokens(t, h.tokenReq(authBasic, refreshForm(tr0.RefreshToken)))
		other := baseApp()
		other.ClientID = "another-client"
		h.setApp("auth.example.com", httpsOpts, other)
		r := httptest.NewRequest(http.MethodPost, h.issuer()+"/token", strings.NewReader(refreshForm(tr0.RefreshToken).Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.SetBasicAuth("another-client", url.QueryEscape(clientSecret))
		oauthErr(t, h.do(r), 400, "invalid_grant")
		h.wantEvent(t, "saas_token", false, "oidc-refresh-reuse")
		h.setApp("auth.example.com", httpsOpts, baseApp())
		if g := grantOf(t, h, tr1.AccessToken); g.RevokeReason != store.OIDCRevokedRefreshReused {
			t.Errorf("grant revoke reason %q", g.RevokeReason)
		}
		oauthErr(t, h.tokenReq(authBasic, refreshForm(tr1.RefreshToken)), 400, "invalid_grant")
	})
	t.Run("successor already rotated", func(t *testing.T) {
		h := newHarness(t, harnessOpts{})
		tr0 := okTokens(t, h.tokenReq(authBasic, codeForm(h.code(t, authzParams(verifier)), verifier)))
		tr1 := okTokens(t, h.tokenReq(authBasic, refreshForm(tr0.RefreshToken)))
		tr2 := okTokens(t, h.tokenReq(authBasic, refreshForm(tr1.RefreshToken)))
		oauthErr(t, h.tokenReq(authBasic, refreshForm(tr0.RefreshToken)), 400, "invalid_grant")
		h.wantEvent(t, "saas_token", false, "oidc-refresh-reuse")
		oauthErr(t, h.tokenReq(authBasic, refreshForm(tr2.RefreshToken)), 400, "invalid_grant")
	})
	t.Run("without the client secret", func(t *testing.T) {
		h := newHarness(t, harnessOpts{})
		tr0 := okTokens(t, h.tokenReq(authBasic, codeForm(h.code(t, authzParams(verifier)), verifier)))
		tr1 := okTokens(t, h.tokenReq(authBasic, refreshForm(tr0.RefreshToken)))
		oauthErr(t, h.tokenReq(authNone, refreshForm(tr0.RefreshToken)), 401, "invalid_client")
		if g := grantOf(t, h, tr1.AccessToken); !g.RevokedAt.IsZero() {
			t.Errorf("an unauthenticated request revoked the family (%q)", g.RevokeReason)
		}
		again := okTokens(t, h.tokenReq(authBasic, refreshForm(tr0.RefreshToken)))
		if again.RefreshToken != tr1.RefreshToken {
			t.Error("the grace refresh after a refused one returned another refresh token")
		}
	})
	t.Run("policy denies", func(t *testing.T) {
		h := newHarness(t, harnessOpts{})
		tr0 := okTokens(t, h.tokenReq(authBasic, codeForm(h.code(t, authzParams(verifier)), verifier)))
		okTokens(t, h.tokenReq(authBasic, refreshForm(tr0.RefreshToken)))
		h.set(func() {
			h.recheck = func(context.Context, *http.Request, *snapshot.App, string) (*identity.Identity, policy.Decision, error) {
				return nil, policy.Decision{Action: policy.ActionDeny, Reasons: []string{"no-policy-matched"}}, nil
			}
		})
		oauthErr(t, h.tokenReq(authBasic, refreshForm(tr0.RefreshToken)), 400, "invalid_grant")
		h.wantEvent(t, "saas_token", false, "oidc-refresh-policy-denied")
	})
}
