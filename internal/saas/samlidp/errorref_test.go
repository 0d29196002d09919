package samlidp

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/store"
)

var referenceRE = regexp.MustCompile(`Reference: ([0-9a-f]{16})`)

// TestErrorPagesCarryTheEventReference: every failed SSO that shows the user an error page
// records its saas_sso event with the reference on that page (issue 12), whether it failed
// before the user was known (every rejected request), after the login (expired, replayed or
// stale pending requests, attributes, store, signing) or for the method.
func TestErrorPagesCarryTheEventReference(t *testing.T) {
	type failure struct {
		name   string
		run    func(t *testing.T, h *harness) *httptest.ResponseRecorder
		reason string
	}
	var cases []failure
	for _, rc := range rejectCases() {
		cases = append(cases, failure{"rejected: " + rc.name, func(_ *testing.T, h *harness) *httptest.ResponseRecorder {
			return h.serve(rc.req(), "")
		}, rc.reason})
	}
	loginThen := func(prepare func(h *harness)) func(t *testing.T, h *harness) *httptest.ResponseRecorder {
		return func(t *testing.T, h *harness) *httptest.ResponseRecorder {
			next, _ := h.login(t, getSSO(redirectQuery(authnRequestXML(testSP, nil), "")))
			prepare(h)
			return h.serve(next, "")
		}
	}
	cases = append(cases,
		failure{"method", func(_ *testing.T, h *harness) *httptest.ResponseRecorder {
			return h.serve(withSession(httptest.NewRequest(http.MethodPut, testSSO, nil)), "")
		}, "method-not-allowed"},
		failure{"pending request expired", loginThen(func(h *harness) { h.clk.Advance(PendingLifetime) }), "saml-request-expired"},
		failure{"pending request replayed", func(t *testing.T, h *harness) *httptest.ResponseRecorder {
			next, back := h.login(t, getSSO(redirectQuery(authnRequestXML(testSP, nil), "")))
			if w := h.serve(next, ""); w.Code != http.StatusOK {
				t.Fatalf("first use: %d", w.Code)
			}
			return h.serve(withSession(getSSOPath(back)), "")
		}, "saml-request-replayed"},
		failure{"pending request stale", loginThen(func(h *harness) {
			h.cfg.Applications[0].SaaSApp.ConsumerServiceURL = "https://wiki2.example.com/acs"
			h.compile(t, &harnessConfig{scheme: "https"})
		}), "saml-request-stale"},
		failure{"pending request unreadable", loginThen(func(h *harness) { h.st.fail = store.ErrUnavailable }), "store-unavailable"},
		failure{"pending request not stored", func(_ *testing.T, h *harness) *httptest.ResponseRecorder {
			h.st.fail = store.ErrUnavailable
			return h.serve(getSSO(redirectQuery(authnRequestXML(testSP, nil), "")), "")
		}, "store-unavailable"},
		failure{"required attribute missing", func(t *testing.T, h *harness) *httptest.ResponseRecorder {
			h.cfg.Applications[0].SaaSApp.CustomAttributes = []store.SAMLAttribute{{Name: "employeeNumber", Required: true, Source: store.AttributeSource{Name: "employee_id"}}}
			h.compile(t, &harnessConfig{scheme: "https"})
			return h.serve(withSession(getSSO(nil)), "")
		}, "saml-attribute-missing"},
		failure{"NameID missing", func(_ *testing.T, h *harness) *httptest.ResponseRecorder {
			h.auth.grant.Identity.Email = ""
			return h.serve(withSession(getSSO(nil)), "")
		}, "saml-nameid-missing"},
		failure{"no identity", func(_ *testing.T, h *harness) *httptest.ResponseRecorder {
			h.auth.grant.Identity = nil
			return h.serve(withSession(getSSO(nil)), "")
		}, "saml-no-identity"},
		failure{"default_relay_state unsafe", func(t *testing.T, h *harness) *httptest.ResponseRecorder {
			h.cfg.Applications[0].SaaSApp.DefaultRelayState = "javascript:alert(1)"
			h.compile(t, &harnessConfig{scheme: "https"})
			return h.serve(withSession(getSSO(nil)), "")
		}, "saml-app-misconfigured"},
	)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			w := tc.run(t, h)
			if w.Code < 400 {
				t.Fatalf("status %d, want an error page", w.Code)
			}
			m := referenceRE.FindStringSubmatch(w.Body.String())
			if m == nil {
				t.Fatalf("no reference on the error page: %.300s", w.Body)
			}
			e := h.st.lastEvent(t)
			if e.RequestID != m[1] || e.Allowed || e.Action != AuthAction || len(e.Reasons) == 0 || e.Reasons[0] != tc.reason {
				t.Errorf("event request ID %q allowed %v reasons %v; want %q, refused, %q", e.RequestID, e.Allowed, e.Reasons, m[1], tc.reason)
			}
			if strings.Contains(w.Body.String(), tc.reason) {
				t.Errorf("the page shows the private reason %q", tc.reason)
			}
		})
	}
}
