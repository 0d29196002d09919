package samlidp

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/samlxml"
	"github.com/gatehouse/gatehouse/internal/store"
)

// login follows the fake login the way a browser would: the first response must send the
// browser to /fake-login, which comes back to the pending-request URL with a session.
func (h *harness) login(t *testing.T, first *http.Request) (*http.Request, string) {
	t.Helper()
	w := h.serve(first, "")
	if w.Code != http.StatusFound {
		t.Fatalf("without a session: status %d, want a redirect to the login; body: %s", w.Code, w.Body)
	}
	loc, err := url.Parse(w.Header().Get("Location"))
	if err != nil || loc.Path != "/fake-login" {
		t.Fatalf("redirected to %q, want /fake-login", w.Header().Get("Location"))
	}
	back := loc.Query().Get("rd")
	return withSession(getSSOPath(back)), back
}

func getSSOPath(p string) *http.Request {
	r, err := http.NewRequest(http.MethodGet, "https://auth.example.com"+p, nil)
	if err != nil {
		panic(err)
	}
	return r
}

func TestSPInitiatedRedirectBinding(t *testing.T) {
	h := newHarness(t)
	relay := `https://wiki.example.com/page?a=1&b=<"'>`
	next, back := h.login(t, getSSO(redirectQuery(authnRequestXML(testSP, nil), relay)))
	if !strings.HasPrefix(back, "/.gatehouse/sso/saml/wiki?pending=") || strings.Contains(back, "SAMLRequest") {
		t.Fatalf("return path %q does not name a pending request", back)
	}
	if len(h.st.pending) != 1 {
		t.Fatalf("%d pending requests stored, want 1", len(h.st.pending))
	}

	form, raw := samlResponse(t, h.serve(next, ""))
	if form.Action != testACS {
		t.Errorf("form action %q, want the configured ACS %q", form.Action, testACS)
	}
	if got := form.Fields.Get("RelayState"); got != relay {
		t.Errorf("RelayState %q, want %q", got, relay)
	}
	v := verify(t, raw, h.keys.Certificate(), h.clk.Now())
	checkResponse(t, h, v, "_req-1")

	e := h.st.lastEvent(t)
	if e.Action != AuthAction || !e.Allowed || e.AppID != testAppID || e.IdPID != "okta" || e.IdPType != "saml" ||
		e.Email != "alice@example.com" || e.UserID == "" || e.PolicyID != "everyone" || !slices.Contains(e.Reasons, "saml-sp-initiated") {
		t.Errorf("auth event %+v", e)
	}

	// The pending request is single use.
	w := h.serve(withSession(getSSOPath(back)), "")
	if w.Code != http.StatusBadRequest || h.st.lastEvent(t).Reasons[0] != "saml-request-replayed" {
		t.Fatalf("second use of the pending request: status %d, event %+v", w.Code, h.st.lastEvent(t))
	}
}

// checkResponse checks everything a Response for the test user says.
func checkResponse(t *testing.T, h *harness, v *verified, inResponseTo string) {
	t.Helper()
	now := h.clk.Now()
	ts := func(d time.Duration) string { return now.Add(d).UTC().Format(timeFormat) }
	r, a := v.Response, v.Assertion
	for attr, want := range map[string]string{
		"Destination": testACS, "InResponseTo": inResponseTo, "Version": "2.0", "IssueInstant": ts(0),
	} {
		if got := samlxml.Attr(r, attr); got != want {
			t.Errorf("Response %s = %q, want %q", attr, got, want)
		}
	}
	if inResponseTo == "" && samlxml.HasAttr(r, "InResponseTo") {
		t.Error("IdP-initiated Response has InResponseTo")
	}
	if got := text(t, r, "Issuer"); got != testSSO {
		t.Errorf("Response Issuer %q", got)
	}
	if sc, _ := samlxml.Child(r, samlxml.NSProtocol, "Status"); sc == nil {
		t.Error("no Status")
	} else if code, _ := samlxml.Child(sc, samlxml.NSProtocol, "StatusCode"); code == nil || samlxml.Attr(code, "Value") != statusSuccess {
		t.Error("StatusCode is not Success")
	}
	if got := text(t, a, "Issuer"); got != testSSO {
		t.Errorf("Assertion Issuer %q", got)
	}
	nid := find(t, a, "Subject/NameID")
	if samlxml.Attr(nid, "Format") != formatEmail || nid.Text() != "alice@example.com" {
		t.Errorf("NameID %s %q", samlxml.Attr(nid, "Format"), nid.Text())
	}
	sc := find(t, a, "Subject/SubjectConfirmation")
	if samlxml.Attr(sc, "Method") != methodBearer {
		t.Errorf("SubjectConfirmation Method %q", samlxml.Attr(sc, "Method"))
	}
	scd := find(t, a, "Subject/SubjectConfirmation/SubjectConfirmationData")
	if samlxml.Attr(scd, "Recipient") != testACS || samlxml.Attr(scd, "InResponseTo") != inResponseTo ||
		samlxml.Attr(scd, "NotOnOrAfter") != ts(AssertionLifetime) || samlxml.HasAttr(scd, "NotBefore") {
		t.Errorf("SubjectConfirmationData %v", scd.Attr)
	}
	cond := find(t, a, "Conditions")
	if samlxml.Attr(cond, "NotBefore") != ts(-ClockSkew) || samlxml.Attr(cond, "NotOnOrAfter") != ts(AssertionLifetime) {
		t.Errorf("Conditions %v", cond.Attr)
	}
	if got := text(t, a, "Conditions/AudienceRestriction/Audience"); got != testSP {
		t.Errorf("Audience %q", got)
	}
	as := find(t, a, "AuthnStatement")
	if samlxml.Attr(as, "AuthnInstant") != ts(-time.Hour) || samlxml.Attr(as, "SessionNotOnOrAfter") != ts(23*time.Hour) ||
		samlxml.Attr(as, "SessionIndex") == "" || strings.Contains(samlxml.Attr(as, "SessionIndex"), "sess-1") {
		t.Errorf("AuthnStatement %v", as.Attr)
	}
	if got := text(t, a, "AuthnStatement/AuthnContext/AuthnContextClassRef"); got != classREFEDSMFA {
		t.Errorf("AuthnContextClassRef %q (AMR pwd+mfa)", got)
	}
	attrs := attributeValues(t, a)
	for name, want := range map[string][]string{
		"id": {"5b3c2f1e-8d4a-4c6b-9e7f-0a1b2c3d4e5f"}, "email": {"alice@example.com"},
		"name": {`Alice <&"'> O'Brien`}, "groups": {"eng", "R&D <core>"},
	} {
		if !slices.Equal(attrs[name], want) {
			t.Errorf("attribute %s = %q, want %q", name, attrs[name], want)
		}
	}
}

func TestSPInitiatedPOSTBindingWithSession(t *testing.T) {
	h := newHarness(t)
	xml := authnRequestXML(testSP, map[string]string{"ID": "_post-7", "AssertionConsumerServiceURL": "-", "AssertionConsumerServiceIndex": "0"})
	form := url.Values{"SAMLRequest": {"\n" + wrap76(encodeStd([]byte(xml))) + "\n"}, "RelayState": {"rs-1"}}
	w := h.serve(withSession(postSSO(form)), "")
	f, raw := samlResponse(t, w)
	if f.Fields.Get("RelayState") != "rs-1" {
		t.Errorf("RelayState %q", f.Fields.Get("RelayState"))
	}
	checkResponse(t, h, verify(t, raw, h.keys.Certificate(), h.clk.Now()), "_post-7")
	// The pending request was consumed at once.
	for id, p := range h.st.pending {
		if p.UsedAt.IsZero() {
			t.Errorf("pending request %s left unused", id)
		}
	}
	if csp := w.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'nonce-") {
		t.Errorf("auto-post page CSP %q", csp)
	}
}

func TestSPInitiatedPOSTBindingLogsIn(t *testing.T) {
	h := newHarness(t)
	form := url.Values{"SAMLRequest": {encodeStd([]byte(authnRequestXML(testSP, nil)))}}
	next, back := h.login(t, postSSO(form))
	if !strings.Contains(back, "pending=") {
		t.Fatalf("return path %q", back)
	}
	_, raw := samlResponse(t, h.serve(next, ""))
	checkResponse(t, h, verify(t, raw, h.keys.Certificate(), h.clk.Now()), "_req-1")
}

func TestIdPInitiated(t *testing.T) {
	for _, relay := range []string{"https://wiki.example.com/home?x=<1>&y=2", ""} {
		t.Run("relay="+relay, func(t *testing.T) {
			sa := defaultSaaS()
			sa.DefaultRelayState = relay
			h := newHarness(t, withSaaS(sa))
			next, back := h.login(t, getSSO(nil))
			if back != "/.gatehouse/sso/saml/wiki" {
				t.Fatalf("return path %q, want the SSO path", back)
			}
			form, raw := samlResponse(t, h.serve(next, ""))
			if got, has := form.Fields["RelayState"]; relay == "" && has || relay != "" && (len(got) != 1 || got[0] != relay) {
				t.Errorf("RelayState %q, want %q", got, relay)
			}
			checkResponse(t, h, verify(t, raw, h.keys.Certificate(), h.clk.Now()), "")
			if e := h.st.lastEvent(t); !e.Allowed || !slices.Contains(e.Reasons, "saml-idp-initiated") {
				t.Errorf("auth event %+v", e)
			}
		})
	}
}

func TestIdPInitiatedRefusesUnsafeRelayState(t *testing.T) {
	// Configuration validation refuses it first; the handler checks again at use.
	sa := defaultSaaS()
	sa.DefaultRelayState = "javascript:alert(document.domain)"
	h := newHarness(t, withSaaS(sa))
	w := h.serve(withSession(getSSO(nil)), "")
	if w.Code != http.StatusInternalServerError || strings.Contains(w.Body.String(), "javascript") || strings.Contains(w.Body.String(), "SAMLResponse") {
		t.Fatalf("status %d; body %s", w.Code, w.Body)
	}
	if e := h.st.lastEvent(t); e.Allowed || e.Reasons[0] != "saml-app-misconfigured" {
		t.Errorf("auth event %+v", e)
	}
}

func TestUnsafeACSNeverReceivesAResponse(t *testing.T) {
	for _, acs := range []string{"javascript:alert(1)//", "data:text/html,<script>alert(1)</script>", "http://wiki.example.com/acs"} {
		t.Run(acs, func(t *testing.T) {
			sa := defaultSaaS()
			sa.ConsumerServiceURL = acs
			h := newHarness(t, withSaaS(sa))
			w := h.serve(withSession(getSSO(nil)), "")
			if w.Code != http.StatusInternalServerError || strings.Contains(w.Body.String(), "SAMLResponse") {
				t.Fatalf("status %d; body %s", w.Code, w.Body)
			}
		})
	}
}

// rejectCase is an SSO request that must be refused before any login.
type rejectCase struct {
	name   string
	req    func() *http.Request
	reason string
}

func rejectCases() []rejectCase {
	redirect := func(xml string) func() *http.Request {
		return func() *http.Request { return getSSO(redirectQuery(xml, "")) }
	}
	post := func(xml string) func() *http.Request {
		return func() *http.Request { return postSSO(url.Values{"SAMLRequest": {encodeStd([]byte(xml))}}) }
	}
	req := func(attrs map[string]string) string { return authnRequestXML(testSP, attrs) }
	good := req(nil)
	bomb := deflate([]byte(strings.Repeat(" ", 10<<20))) // 10 MiB of spaces, ~10 KiB deflated
	return []rejectCase{
		{"unknown SP", redirect(authnRequestXML("https://evil.example.com/sp", nil)), "saml-request-unknown-sp"},
		{"issuer differs in case", redirect(authnRequestXML(strings.ToUpper(testSP), nil)), "saml-request-unknown-sp"},
		{"issuer with a trailing slash", redirect(authnRequestXML(testSP+"/", nil)), "saml-request-unknown-sp"},
		{"no issuer", redirect(authnRequestXML("", nil)), "saml-request-unknown-sp"},
		{"issuer in another namespace", redirect(strings.NewReplacer("<saml:Issuer>", `<evil:Issuer xmlns:evil="urn:evil">`,
			"</saml:Issuer>", "</evil:Issuer>").Replace(good)), "saml-request-unknown-sp"},
		{"issuer with a non-entity format", redirect(strings.Replace(good, "<saml:Issuer>", `<saml:Issuer Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">`, 1)), "saml-request-unknown-sp"},
		{"two issuers", redirect(strings.Replace(good, "</saml:Issuer>", "</saml:Issuer><saml:Issuer>"+testSP+"</saml:Issuer>", 1)), "saml-request-malformed"},
		{"ACS mismatch", redirect(req(map[string]string{"AssertionConsumerServiceURL": "https://evil.example.com/acs"})), "saml-request-acs-mismatch"},
		{"ACS with a different path", redirect(req(map[string]string{"AssertionConsumerServiceURL": testACS + "/../evil"})), "saml-request-acs-mismatch"},
		{"ACS differs in case", redirect(req(map[string]string{"AssertionConsumerServiceURL": strings.ToUpper(testACS)})), "saml-request-acs-mismatch"},
		{"ACS javascript", post(req(map[string]string{"AssertionConsumerServiceURL": "javascript:alert(1)"})), "saml-request-acs-mismatch"},
		{"ACS index 1", redirect(req(map[string]string{"AssertionConsumerServiceURL": "-", "AssertionConsumerServiceIndex": "1"})), "saml-request-acs-mismatch"},
		{"ACS URL and index", redirect(req(map[string]string{"AssertionConsumerServiceIndex": "0"})), "saml-request-malformed"},
		{"destination mismatch", redirect(req(map[string]string{"Destination": "https://auth.example.com/.gatehouse/sso/saml/other"})), "saml-request-destination-mismatch"},
		{"artifact binding", redirect(req(map[string]string{"ProtocolBinding": "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Artifact"})), "saml-request-unsupported-binding"},
		{"DOCTYPE", redirect(`<!DOCTYPE x [<!ENTITY e "` + testSP + `">]>` + good), "saml-request-doctype"},
		{"DOCTYPE lower case", post(`<!doctype x>` + good), "saml-request-doctype"},
		{"ENTITY inside", redirect(strings.Replace(good, "<saml:Issuer>", `<!ENTITY e "x"><saml:Issuer>`, 1)), "saml-request-doctype"},
		{"not round-trip stable", redirect(strings.Replace(good, "<saml:Issuer>", `<saml:Issuer ::Format="x">`, 1)), "saml-request-roundtrip"},
		{"processing instruction", redirect(strings.Replace(good, "<saml:Issuer>", `<?evil?><saml:Issuer>`, 1)), "saml-request-malformed"},
		{"wrong root", redirect(strings.ReplaceAll(good, "samlp:AuthnRequest", "samlp:LogoutRequest")), "saml-request-malformed"},
		{"root in the wrong namespace", redirect(strings.Replace(good, `xmlns:samlp="`+samlxml.NSProtocol, `xmlns:samlp="urn:oasis:names:tc:SAML:1.0:protocol`, 1)), "saml-request-malformed"},
		{"undeclared prefix", redirect(strings.Replace(good, "<saml:Issuer>", "<x:Foo/><saml:Issuer>", 1)), "saml-request-malformed"},
		{"version 1.1", redirect(req(map[string]string{"Version": "1.1"})), "saml-request-malformed"},
		{"no ID", redirect(req(map[string]string{"ID": "-"})), "saml-request-malformed"},
		{"ID with markup", redirect(req(map[string]string{"ID": `a"><x`})), "saml-request-malformed"},
		{"ID too long", redirect(req(map[string]string{"ID": "_" + strings.Repeat("a", 300)})), "saml-request-malformed"},
		{"duplicate ID attribute", redirect(strings.Replace(good, `ID="_req-1"`, `ID="_req-1" ID="_req-2"`, 1)), "saml-request-malformed"},
		{"deflate bomb", func() *http.Request {
			return getSSO(url.Values{"SAMLRequest": {encodeStd(bomb)}})
		}, "saml-request-too-large"},
		{"oversized POST", post(good + "<!--" + strings.Repeat("x", MaxRequestBytes) + "-->"), "saml-request-too-large"},
		{"oversized parameter", func() *http.Request {
			return getSSO(url.Values{"SAMLRequest": {strings.Repeat("A", maxEncodedBytes+4)}})
		}, "saml-request-too-large"},
		{"body over the limit", func() *http.Request {
			return postSSO(url.Values{"SAMLRequest": {strings.Repeat("A", maxBodyBytes)}})
		}, "saml-request-too-large"},
		{"not base64", func() *http.Request { return getSSO(url.Values{"SAMLRequest": {"!!!"}}) }, "saml-request-bad-encoding"},
		{"not deflated", func() *http.Request {
			return getSSO(url.Values{"SAMLRequest": {encodeStd([]byte(good))}})
		}, "saml-request-bad-encoding"},
		{"POST binding neither XML nor DEFLATE", func() *http.Request {
			return postSSO(url.Values{"SAMLRequest": {encodeStd([]byte("\xff\xfe garbage"))}})
		}, "saml-request-bad-encoding"},
		{"POST binding deflate bomb", func() *http.Request {
			return postSSO(url.Values{"SAMLRequest": {encodeStd(bomb)}})
		}, "saml-request-too-large"},
		{"empty SAMLRequest", func() *http.Request { return getSSO(url.Values{"SAMLRequest": {""}}) }, "saml-request-malformed"},
		{"SAMLRequest twice", func() *http.Request {
			q := redirectQuery(good, "")
			q.Add("SAMLRequest", q.Get("SAMLRequest"))
			return getSSO(q)
		}, "saml-request-malformed"},
		{"RelayState twice", func() *http.Request {
			q := redirectQuery(good, "a")
			q.Add("RelayState", "b")
			return getSSO(q)
		}, "saml-request-malformed"},
		{"RelayState too long", func() *http.Request {
			return getSSO(redirectQuery(good, strings.Repeat("r", MaxRelayStateBytes+1)))
		}, "saml-request-relay-state-too-long"},
		{"RelayState with a control character", func() *http.Request {
			return getSSO(redirectQuery(good, "a\x00b"))
		}, "saml-request-malformed"},
		{"POST without SAMLRequest", func() *http.Request { return postSSO(url.Values{"RelayState": {"x"}}) }, "saml-request-missing"},
		{"unknown parameters without SAMLRequest", func() *http.Request { return getSSO(url.Values{"foo": {"bar"}}) }, "saml-request-malformed"},
		{"pending with other parameters", func() *http.Request {
			return getSSO(url.Values{"pending": {"x"}, "SAMLRequest": {"y"}})
		}, "saml-request-malformed"},
	}
}

func TestRequestRejected(t *testing.T) {
	for _, tc := range rejectCases() {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.auth.always = true // even a signed-in user gets no assertion
			w := h.serve(tc.req(), "")
			if w.Code != http.StatusBadRequest {
				t.Fatalf("status %d, want 400; body %s", w.Code, w.Body)
			}
			body := w.Body.String()
			if strings.Contains(body, "SAMLResponse") || strings.Contains(body, "evil") || strings.Contains(body, tc.reason) {
				t.Errorf("error page shows more than its public message: %s", body)
			}
			e := h.st.lastEvent(t)
			if e.Action != AuthAction || e.Allowed || e.AppID != testAppID || !slices.Equal(e.Reasons, []string{tc.reason}) {
				t.Errorf("auth event %+v, want reason %s", e, tc.reason)
			}
			if len(h.st.pending) != 0 || len(h.auth.returns) != 0 {
				t.Error("a rejected request was stored or reached Authorize")
			}
		})
	}
}

func TestAcceptedRequestVariants(t *testing.T) {
	good := authnRequestXML(testSP, nil)
	for name, req := range map[string]*http.Request{
		"minimal": getSSO(redirectQuery(authnRequestXML(testSP, map[string]string{
			"Destination": "-", "AssertionConsumerServiceURL": "-", "ProtocolBinding": "-"}), "")),
		"issuer with the entity format and spaces": getSSO(redirectQuery(strings.Replace(good, "<saml:Issuer>",
			`<saml:Issuer Format="`+entityFormat+`">  `, 1), "")),
		"unescaped plus in the query": func() *http.Request {
			// Find a request ID whose encoding holds a '+'.
			var q url.Values
			for i := 0; !strings.Contains(q.Get("SAMLRequest"), "+"); i++ {
				q = redirectQuery(authnRequestXML(testSP, map[string]string{"ID": fmt.Sprintf("_plus-%d", i)}), "")
			}
			r := getSSO(nil)
			r.URL.RawQuery = "SAMLRequest=" + strings.ReplaceAll(url.QueryEscape(q.Get("SAMLRequest")), "%2B", "+")
			return r
		}(),
		"signature parameters are ignored": getSSO(func() url.Values {
			q := redirectQuery(good, "r")
			q.Set("SigAlg", "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256")
			q.Set("Signature", "bm90IGEgc2lnbmF0dXJl")
			return q
		}()),
		"POST binding deflated (node-saml's default)": postSSO(url.Values{"SAMLRequest": {encodeStd(deflate([]byte(good)))}}),
		"POST binding with a byte order mark":         postSSO(url.Values{"SAMLRequest": {encodeStd([]byte("\ufeff" + good))}}),
		"signature element is ignored": postSSO(url.Values{"SAMLRequest": {encodeStd([]byte(strings.Replace(good, "</saml:Issuer>",
			`</saml:Issuer><ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignatureValue>eA==</ds:SignatureValue></ds:Signature>`, 1)))}}),
	} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t)
			h.auth.always = true
			_, raw := samlResponse(t, h.serve(req, ""))
			verify(t, raw, h.keys.Certificate(), h.clk.Now())
		})
	}
}

func TestPendingRequestExpires(t *testing.T) {
	h := newHarness(t)
	next, _ := h.login(t, getSSO(redirectQuery(authnRequestXML(testSP, nil), "")))
	h.clk.Advance(PendingLifetime)
	w := h.serve(next, "")
	if w.Code != http.StatusBadRequest || h.st.lastEvent(t).Reasons[0] != "saml-request-expired" {
		t.Fatalf("status %d, event %+v", w.Code, h.st.lastEvent(t))
	}
	if e := h.st.lastEvent(t); e.Email != "alice@example.com" {
		t.Errorf("the failure after login names no user: %+v", e)
	}
	w = h.serve(withSession(getSSOPath("/.gatehouse/sso/saml/wiki?pending=made-up")), "")
	if w.Code != http.StatusBadRequest {
		t.Fatalf("unknown pending request: status %d", w.Code)
	}
}

func TestPendingRequestStaleAfterConfigChange(t *testing.T) {
	h := newHarness(t)
	next, _ := h.login(t, getSSO(redirectQuery(authnRequestXML(testSP, nil), "")))
	h.cfg.Applications[0].SaaSApp.ConsumerServiceURL = "https://wiki2.example.com/acs"
	h.compile(t, &harnessConfig{scheme: "https"})
	w := h.serve(next, "")
	if w.Code != http.StatusBadRequest || h.st.lastEvent(t).Reasons[0] != "saml-request-stale" {
		t.Fatalf("status %d, event %+v", w.Code, h.st.lastEvent(t))
	}
}

func TestStoreUnavailable(t *testing.T) {
	h := newHarness(t)
	h.st.fail = store.ErrUnavailable
	w := h.serve(getSSO(redirectQuery(authnRequestXML(testSP, nil), "")), "")
	if w.Code != http.StatusServiceUnavailable || strings.Contains(w.Body.String(), "store:") {
		t.Fatalf("status %d; body %s", w.Code, w.Body)
	}
	if e := h.st.lastEvent(t); e.Allowed || !slices.Equal(e.Reasons, []string{"store-unavailable"}) {
		t.Errorf("auth event %+v", e)
	}
}

func TestRequiredAttributeMissing(t *testing.T) {
	sa := defaultSaaS()
	sa.CustomAttributes = []store.SAMLAttribute{{Name: "employeeNumber", Required: true, Source: store.AttributeSource{Name: "employee_id"}}}
	h := newHarness(t)
	h.cfg.Applications[0].SaaSApp = sa
	h.compile(t, &harnessConfig{scheme: "https"})
	w := h.serve(withSession(getSSO(nil)), "")
	if w.Code != http.StatusForbidden || strings.Contains(w.Body.String(), "SAMLResponse") || strings.Contains(w.Body.String(), "employee") {
		t.Fatalf("status %d; body %s", w.Code, w.Body)
	}
	e := h.st.lastEvent(t)
	if e.Allowed || !slices.Equal(e.Reasons, []string{"saml-attribute-missing"}) || e.Email != "alice@example.com" || e.IdPID != "okta" {
		t.Errorf("auth event %+v", e)
	}
}

func TestEndpointsRefuseOtherMethodsAndPaths(t *testing.T) {
	h := newHarness(t)
	for _, tc := range []struct {
		method, rest string
		want         int
	}{
		{http.MethodPut, "", http.StatusMethodNotAllowed},
		{http.MethodDelete, "", http.StatusMethodNotAllowed},
		{http.MethodPost, EndpointMetadata, http.StatusMethodNotAllowed},
		{http.MethodGet, "other", http.StatusNotFound},
		{http.MethodGet, EndpointMetadata + "/x", http.StatusNotFound},
	} {
		w := h.serve(withSession(httptest.NewRequest(tc.method, testSSO, nil)), tc.rest)
		if w.Code != tc.want {
			t.Errorf("%s %q: status %d, want %d", tc.method, tc.rest, w.Code, tc.want)
		}
	}
	// An application that is not a SAML SaaS app has no SAML endpoints.
	oidc := *h.app()
	sa := *oidc.SaaSApp
	sa.AuthType = store.SaaSAuthOIDC
	oidc.SaaSApp = &sa
	w := httptest.NewRecorder()
	h.idp.ServeHTTP(w, withSession(getSSO(nil)), &oidc, "")
	if w.Code != http.StatusNotFound {
		t.Errorf("OIDC app: status %d", w.Code)
	}
}

func TestSigningFailsClosedWithoutKeys(t *testing.T) {
	if _, _, err := signingKey(nil); !errors.Is(err, errNoSigningKey) {
		t.Fatalf("signingKey(nil) = %v", err)
	}
}
