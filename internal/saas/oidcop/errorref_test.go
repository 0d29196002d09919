package oidcop_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/store"
)

var referenceRE = regexp.MustCompile(`Reference: ([0-9a-f]{16})`)

// pageReference returns the reference ID an error page shows.
func pageReference(t *testing.T, w *httptest.ResponseRecorder) string {
	t.Helper()
	m := referenceRE.FindStringSubmatch(w.Body.String())
	if m == nil {
		t.Fatalf("status %d: no reference on the page: %.300s", w.Code, w.Body.String())
	}
	return m[1]
}

// TestErrorPagesCarryTheEventReference: every failure of the authorization endpoint that shows
// the user an error page records its saas_sso event with the reference on that page (issue 12:
// support finds the event from what the user reads out).
func TestErrorPagesCarryTheEventReference(t *testing.T) {
	valid := authzParams(verifier)
	with := func(k, v string) url.Values {
		q := cloneValues(valid)
		if v == "" {
			q.Del(k)
		} else {
			q.Set(k, v)
		}
		return q
	}
	for _, tc := range []struct {
		name   string
		setup  func(h *harness)
		req    func(h *harness) *http.Request
		reason string
	}{
		{name: "form unreadable", reason: "oidc-request-malformed", req: func(h *harness) *http.Request {
			r := httptest.NewRequest(http.MethodPost, h.issuer()+"/authorization", strings.NewReader("client_id=%zz"))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			return r
		}},
		{name: "client_id missing", reason: "oidc-client-id-missing", req: getReq(with("client_id", ""))},
		{name: "client_id unknown", reason: "oidc-client-id-unknown", req: getReq(with("client_id", "nobody"))},
		{name: "client_id repeated", reason: "oidc-request-malformed", req: func(h *harness) *http.Request {
			return httptest.NewRequest(http.MethodGet, h.issuer()+"/authorization?"+valid.Encode()+"&client_id="+clientID, nil)
		}},
		{name: "redirect_uri missing", reason: "oidc-redirect-uri-missing", req: getReq(with("redirect_uri", ""))},
		{name: "redirect_uri not registered", reason: "oidc-redirect-uri-mismatch", req: getReq(with("redirect_uri", "https://evil.example/cb"))},
		{name: "required claim missing", reason: "oidc-required-claim-missing", req: getReq(valid), setup: func(h *harness) {
			app := baseApp()
			app.CustomClaims[1].Required = true
			h.setApp("auth.example.com", httpsOpts, app)
			delete(h.ident.OIDCClaims, "empid")
		}},
		{name: "no user", reason: "oidc-grant-incomplete", req: getReq(valid), setup: func(h *harness) { h.ident.UserID = "" }},
		{name: "session unreadable", reason: "oidc-session-unavailable", req: getReq(valid), setup: func(h *harness) { h.faults.failGetSession.Store(true) }},
		{name: "code not stored", reason: "store-unavailable", req: getReq(valid), setup: func(h *harness) { h.faults.failCreateCode.Store(true) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, harnessOpts{})
			if tc.setup != nil {
				tc.setup(h)
			}
			w := h.do(tc.req(h))
			if w.Code < 400 {
				t.Fatalf("status %d, want an error page", w.Code)
			}
			ref := pageReference(t, w)
			ev := h.lastEvent(t, "saas_sso")
			if ev.RequestID != ref || ev.Allowed || ev.AppID != appID || len(ev.Reasons) == 0 || ev.Reasons[len(ev.Reasons)-1] != tc.reason {
				t.Errorf("event request ID %q allowed %v app %q reasons %v; want %q, refused, %q, ending in %q",
					ev.RequestID, ev.Allowed, ev.AppID, ev.Reasons, ref, appID, tc.reason)
			}
		})
	}
}

func getReq(q url.Values) func(h *harness) *http.Request {
	return func(h *harness) *http.Request {
		return httptest.NewRequest(http.MethodGet, h.issuer()+"/authorization?"+q.Encode(), nil)
	}
}

// TestNonSignInPagesAreNotAudited: an unknown page under an issuer shows a reference but is no
// sign-in attempt, so it records no event.
func TestNonSignInPagesAreNotAudited(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	w := h.get("nothing-here", nil)
	if w.Code != http.StatusNotFound {
		t.Fatalf("status %d", w.Code)
	}
	pageReference(t, w)
	evs, err := h.st.ListAuthEvents(t.Context(), store.AuthEventQuery{})
	if err != nil || len(evs) != 0 {
		t.Errorf("events %v, %v; want none", evs, err)
	}
}
