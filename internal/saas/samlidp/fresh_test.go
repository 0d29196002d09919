package samlidp

import (
	"crypto/x509"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/samlxml"
	dsig "github.com/russellhaering/goxmldsig"
)

// statusCodes checks the Response's signature against the IdP certificate and returns its
// top-level and second-level StatusCode values.
func statusCodes(t *testing.T, h *harness, raw []byte) (top, second string) {
	t.Helper()
	doc, err := samlxml.Parse(raw)
	if err != nil {
		t.Fatalf("response does not parse: %v", err)
	}
	vc := dsig.NewDefaultValidationContext(&dsig.MemoryX509CertificateStore{Roots: []*x509.Certificate{h.keys.Certificate()}})
	vc.Clock = dsig.NewFakeClockAt(h.clk.Now())
	resp, err := vc.Validate(doc.Root())
	if err != nil {
		t.Fatalf("Response signature: %v", err)
	}
	st, _ := samlxml.Child(resp, samlxml.NSProtocol, "Status")
	code, _ := samlxml.Child(st, samlxml.NSProtocol, "StatusCode")
	if code == nil {
		t.Fatal("no StatusCode")
	}
	top = samlxml.Attr(code, "Value")
	if sub, _ := samlxml.Child(code, samlxml.NSProtocol, "StatusCode"); sub != nil {
		second = samlxml.Attr(sub, "Value")
	}
	return top, second
}

// TestForceAuthn: a request with ForceAuthn="true" is answered only from a login at or after it
// arrived: an older session logs in again, and the login comes back to a URL that says when.
func TestForceAuthn(t *testing.T) {
	h := newHarness(t)
	h.auth.loginAt = h.clk.Now().Add(-time.Hour)
	asked := h.clk.Now()
	req := withSession(getSSO(redirectQuery(authnRequestXML(testSP, map[string]string{"ForceAuthn": "true"}), "")))
	next, back := h.login(t, req)
	if !h.auth.fresh[len(h.auth.fresh)-1].AuthAfter.Equal(asked) {
		t.Fatalf("Authorize was asked %+v, want a login after %s", h.auth.fresh, asked)
	}
	u, _ := url.Parse(back)
	if u.Query().Get(queryAuthAfter) == "" {
		t.Fatalf("the login returns to %q, which does not say how fresh", back)
	}
	// Still the old login: asked again.
	if w := h.serve(next, ""); w.Code != http.StatusFound {
		t.Fatalf("an old session answered a ForceAuthn request: %d", w.Code)
	}
	// After the fresh login, the Response; its AuthnInstant is the session's.
	h.auth.loginAt = h.clk.Now()
	_, raw := samlResponse(t, h.serve(withSession(getSSOPath(back)), ""))
	v := verify(t, raw, h.keys.Certificate(), h.clk.Now())
	checkResponse(t, h, v, "_req-1")

	// A continuation that names a future or stale time is malformed.
	for _, at := range []time.Time{h.clk.Now().Add(time.Minute), h.clk.Now().Add(-PendingLifetime - time.Minute)} {
		q := u.Query()
		q.Set(queryAuthAfter, strconv.FormatInt(at.Unix(), 10))
		if w := h.serve(withSession(getSSOPath(u.Path+"?"+q.Encode())), ""); w.Code != http.StatusBadRequest {
			t.Errorf("auth_after %s: %d", at, w.Code)
		}
	}
	// ForceAuthn must be an xs:boolean.
	bad := getSSO(redirectQuery(authnRequestXML(testSP, map[string]string{"ForceAuthn": "yes"}), ""))
	if w := h.serve(withSession(bad), ""); w.Code != http.StatusBadRequest || h.st.lastEvent(t).Reasons[0] != "saml-request-malformed" {
		t.Errorf("ForceAuthn=yes: %d %+v", w.Code, h.st.lastEvent(t))
	}
}

// TestIsPassive: a passive request never shows a page: without a session (or when a fresh login
// is asked too) the SP gets a signed Response with Responder/NoPassive, when the policies deny the
// user Responder/RequestDenied, and with a session the ordinary Response.
func TestIsPassive(t *testing.T) {
	h := newHarness(t)
	passive := func(attrs map[string]string, session bool) (string, string, []byte) {
		t.Helper()
		r := getSSO(redirectQuery(authnRequestXML(testSP, attrs), "relay-1"))
		if session {
			r = withSession(r)
		}
		w := h.serve(r, "")
		if w.Code != http.StatusOK {
			t.Fatalf("passive request answered %d (a page or a redirect)", w.Code)
		}
		form, raw := samlResponse(t, w)
		if form.Action != testACS || form.Fields.Get("RelayState") != "relay-1" {
			t.Errorf("posted to %q with RelayState %q", form.Action, form.Fields.Get("RelayState"))
		}
		top, second := statusCodes(t, h, raw)
		return top, second, raw
	}
	if top, second, _ := passive(map[string]string{"IsPassive": "true"}, false); top != statusResponder || second != statusNoPassive {
		t.Errorf("no session: %s / %s", top, second)
	}
	if e := h.st.lastEvent(t); e.Allowed || e.Reasons[0] != "saml-no-passive" {
		t.Errorf("event %+v", e)
	}
	if top, second, _ := passive(map[string]string{"IsPassive": "1", "ForceAuthn": "true"}, true); second != statusNoPassive {
		t.Errorf("passive and forced: %s / %s", top, second)
	}
	top, _, raw := passive(map[string]string{"IsPassive": "true"}, true)
	if top != statusSuccess {
		t.Fatalf("with a session: %s", top)
	}
	checkResponse(t, h, verify(t, raw, h.keys.Certificate(), h.clk.Now()), "_req-1")
	if len(h.st.pending) != 0 {
		t.Errorf("%d pending requests stored for passive requests", len(h.st.pending))
	}
}
