package app_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/testenv"
)

const (
	oidMail        = "urn:oid:0.9.2342.19200300.100.1.3"
	oidAffiliation = "urn:oid:1.3.6.1.4.1.5923.1.1.1.1" // crewjam sends the user's groups here
)

// TestPeerCrewjamSAMLLogin logs in to a protected app through Gatehouse with crewjam/saml's
// samlidp as the IdP (configured from its metadata URL), then checks what the origin receives:
// the identity, the SAML attribute in the JWT's custom claim, a header attribute, and that the
// saml selector decided. A user outside the required group is denied.
func TestPeerCrewjamSAMLLogin(t *testing.T) {
	idp := testenv.StartCrewjamIdP(t, "alice", "Alice@Example.com", []string{"eng", "admins"})
	e := testenv.Start(t, fmt.Sprintf(`
organization: {name: T, auth_domain: auth.localhost}
identity_providers:
  - id: corp
    name: Corp SAML
    type: saml
    config:
      metadata_url: %s/metadata
      email_attribute_name: %q
      attributes: [%q]
      header_attributes: [{attribute_name: %q, header_name: X-Groups}]
applications:
  - {id: app, name: App, destinations: [app.localhost], upstream: UPSTREAM, policies: [{ref: eng, precedence: 1}]}
  - {id: ops, name: Ops, destinations: [ops.localhost], upstream: UPSTREAM, policies: [{ref: ops, precedence: 1}]}
policies:
  - {id: eng, decision: allow, include: [{saml: {attribute_name: %q, attribute_value: eng, identity_provider_id: corp}}]}
  - {id: ops, decision: allow, include: [{saml: {attribute_name: %q, attribute_value: ops}}]}
`, idp.URL, oidMail, oidAffiliation, oidAffiliation, oidAffiliation, oidAffiliation))
	b := e.NewBrowser()
	_, md := b.Get(t, e.URL("auth.localhost", "/.gatehouse/saml-metadata"))
	if !strings.Contains(md, "AssertionConsumerService") {
		t.Fatalf("SP metadata: %s", md)
	}
	idp.RegisterSP(t, "gatehouse", []byte(md))

	// Request with a spoofed header attribute: it must not reach the origin.
	resp, body := b.Get(t, e.URL("app.localhost", "/saml?x=1"))
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `name="password"`) {
		t.Fatalf("expected the IdP's login page, got %d\n%s", resp.StatusCode, body)
	}
	_, login := testenv.ParseForm(t, body)
	login.Set("user", "alice")
	login.Set("password", "hunter2")
	if resp, body := b.PostForm(t, idp.URL+"/login", login); resp.StatusCode != http.StatusOK {
		t.Fatalf("IdP login: %d %s", resp.StatusCode, body)
	}
	_, page := b.PostForm(t, idp.URL+"/sso", url.Values{"SAMLRequest": {login.Get("SAMLRequest")}, "RelayState": {login.Get("RelayState")}})
	acs, samlResp := testenv.ParseForm(t, page)
	if acs != e.URL("auth.localhost", "/.gatehouse/callback") {
		t.Fatalf("IdP posts to %q", acs)
	}
	req, _ := http.NewRequest(http.MethodPost, acs, strings.NewReader(samlResp.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Groups", "spoofed")
	resp, body = b.Do(t, req)
	if resp.StatusCode != http.StatusOK || resp.Request.URL.String() != e.URL("app.localhost", "/saml?x=1") {
		t.Fatalf("after the ACS: %d at %s\n%s", resp.StatusCode, resp.Request.URL, body)
	}
	v := decodeUpstream(t, body)
	if got := v.header("Gatehouse-Authenticated-User-Email"); len(got) != 1 || got[0] != "alice@example.com" {
		t.Errorf("email header %v", got)
	}
	if got := v.header("X-Groups"); strings.Join(got, ",") != "eng,admins" {
		t.Errorf("X-Groups header %v", got)
	}
	claims, err := e.G.Tokens.Verify(v.header("Gatehouse-Jwt-Assertion")[0])
	if err != nil {
		t.Fatal(err)
	}
	if claims.IdP == nil || claims.IdP.ID != "corp" || claims.IdP.Type != "saml" {
		t.Errorf("idp claim %+v", claims.IdP)
	}
	if got := fmt.Sprint(claims.Custom[oidAffiliation]); got != "[eng admins]" {
		t.Errorf("custom claim %v", claims.Custom)
	}
	// The replayed SAML response is refused: its login flow is spent. (A response replayed into
	// another flow fails its InResponseTo check, and the assertion ID is in the replay cache;
	// the connector's tests cover both.)
	resp, _ = b.Do(t, mustPost(t, acs, samlResp))
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("replayed SAML response: %d", resp.StatusCode)
	}
	// SSO to an app whose policy needs another group: denied after login, with reasons.
	resp, _ = b.Get(t, e.URL("ops.localhost", "/"))
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(resp.Header.Get("Gatehouse-Reasons"), "no-policy-matched") {
		t.Errorf("ops app: %d %q", resp.StatusCode, resp.Header.Get("Gatehouse-Reasons"))
	}
}

func mustPost(t *testing.T, u string, form url.Values) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return req
}

// TestBrowserSAMLLogin logs in with a real headless Chromium through samlify (Node) as the IdP:
// protected URL, instant auth to the IdP with a signed AuthnRequest, the IdP's auto-posted
// response to the ACS (a cross-site POST, which carries no SameSite=Lax cookie), the same-site
// continue step, the hand-off, and the upstream's answer.
func TestBrowserSAMLLogin(t *testing.T) {
	testenv.RequireSamlify(t)
	idpKey, idpCert := testenv.NewKeyPair(t, "samlify idp")
	idpPort := testenv.FreePort(t)
	idpURL := "http://127.0.0.1:" + idpPort
	certJSON, _ := json.Marshal(testenv.CertPEM(idpCert))
	e := testenv.Start(t, fmt.Sprintf(`
organization: {name: T, auth_domain: auth.localhost}
identity_providers:
  - id: samlify
    name: samlify
    type: saml
    config:
      sso_target_url: %s/sso
      issuer_url: %s/metadata
      idp_public_certs: [%s]
      sign_request: true
      email_attribute_name: email
      attributes: [groups]
applications:
  - {id: app, name: App, destinations: [app.localhost], upstream: UPSTREAM, policies: [{ref: dev, precedence: 1}]}
policies:
  - {id: dev, decision: allow, include: [{saml: {attribute_name: groups, attribute_value: dev}}]}
`, idpURL, idpURL, certJSON))
	b := e.NewBrowser()
	_, md := b.Get(t, e.URL("auth.localhost", "/.gatehouse/saml-metadata"))
	testenv.StartSamlify(t, idpPort, idpKey, idpCert, []byte(md), "Bob@Example.org", []string{"ops", "dev"})

	ctx := testenv.NewChromium(t, 90*time.Second)
	target := e.URL("app.localhost", "/hello?from=saml")
	if err := chromedp.Do(ctx, chromedp.Navigate(target)); err != nil {
		loc, _ := chromedp.Run(ctx, chromedp.Location())
		t.Fatalf("navigate: %v (browser at %s)", err, loc)
	}
	var loc, body string
	for ctx.Err() == nil {
		loc, _ = chromedp.Run(ctx, chromedp.Location())
		if loc == target {
			body, _ = chromedp.Run(ctx, chromedp.Text(`body`))
			if strings.Contains(body, "bob@example.org") {
				break
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.Contains(body, `"Gatehouse-Authenticated-User-Email":["bob@example.org"]`) {
		page, _ := chromedp.Run(ctx, chromedp.Text(`body`))
		t.Fatalf("browser at %s; page: %s", loc, page)
	}
}

// TestPeerCrewjamSAMLEncryptedAssertion: with enable_encryption, Gatehouse's SP metadata
// carries its encryption certificate, crewjam's samlidp encrypts the assertion to it
// (RSA-OAEP, AES-128-CBC, inside a signed Response), and the login goes through.
func TestPeerCrewjamSAMLEncryptedAssertion(t *testing.T) {
	idp := testenv.StartCrewjamIdP(t, "alice", "Alice@Example.com", []string{"eng"})
	e := testenv.Start(t, fmt.Sprintf(`
organization: {name: T, auth_domain: auth.localhost}
identity_providers:
  - {id: corp, name: Corp SAML, type: saml, config: {metadata_url: %s/metadata, email_attribute_name: %q, enable_encryption: true}}
applications:
  - {id: app, name: App, destinations: [app.localhost], upstream: UPSTREAM, policies: [{ref: all, precedence: 1}]}
policies:
  - {id: all, decision: allow, include: [{everyone: {}}]}
`, idp.URL, oidMail))
	b := e.NewBrowser()
	_, md := b.Get(t, e.URL("auth.localhost", "/.gatehouse/corp/saml-metadata"))
	if !strings.Contains(md, `use="encryption"`) {
		t.Fatalf("SP metadata has no encryption key:\n%s", md)
	}
	idp.RegisterSP(t, "gatehouse", []byte(md))

	resp, body := b.Get(t, e.URL("app.localhost", "/"))
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `name="password"`) {
		t.Fatalf("expected the IdP's login page, got %d\n%s", resp.StatusCode, body)
	}
	_, login := testenv.ParseForm(t, body)
	login.Set("user", "alice")
	login.Set("password", "hunter2")
	b.PostForm(t, idp.URL+"/login", login)
	_, page := b.PostForm(t, idp.URL+"/sso", url.Values{"SAMLRequest": {login.Get("SAMLRequest")}, "RelayState": {login.Get("RelayState")}})
	acs, samlResp := testenv.ParseForm(t, page)
	raw, _ := base64.StdEncoding.DecodeString(samlResp.Get("SAMLResponse"))
	if !strings.Contains(string(raw), "EncryptedAssertion") || strings.Contains(string(raw), "alice@example.com") {
		t.Fatalf("the IdP did not encrypt the assertion:\n%s", raw)
	}
	resp, body = b.Do(t, mustPost(t, acs, samlResp))
	if resp.StatusCode != http.StatusOK || resp.Request.URL.String() != e.URL("app.localhost", "/") {
		t.Fatalf("after the ACS: %d at %s\n%s", resp.StatusCode, resp.Request.URL, body)
	}
	if got := decodeUpstream(t, body).header("Gatehouse-Authenticated-User-Email"); len(got) != 1 || got[0] != "alice@example.com" {
		t.Errorf("email header %v", got)
	}
}

// TestPeerCrewjamIdPInitiated: a login started from crewjam's IdP portal (a shortcut, no
// AuthnRequest) is accepted only from an IdP with allow_idp_initiated; the browser lands on the
// application named by RelayState when it is a protected URL, else on the auth domain.
func TestPeerCrewjamIdPInitiated(t *testing.T) {
	for _, allow := range []bool{true, false} {
		t.Run(fmt.Sprintf("allow_idp_initiated=%v", allow), func(t *testing.T) {
			idp := testenv.StartCrewjamIdP(t, "alice", "Alice@Example.com", []string{"eng"})
			e := testenv.Start(t, fmt.Sprintf(`
organization: {name: T, auth_domain: auth.localhost}
identity_providers:
  - {id: corp, name: Corp SAML, type: saml, config: {metadata_url: %s/metadata, email_attribute_name: %q, allow_idp_initiated: %v}}
applications:
  - {id: app, name: App, destinations: [app.localhost], upstream: UPSTREAM, policies: [{ref: all, precedence: 1}]}
policies:
  - {id: all, decision: allow, include: [{everyone: {}}]}
`, idp.URL, oidMail, allow))
			b := e.NewBrowser()
			_, md := b.Get(t, e.URL("auth.localhost", "/.gatehouse/saml-metadata"))
			idp.RegisterSP(t, "gatehouse", []byte(md))
			spEntity := e.URL("auth.localhost", "/.gatehouse/callback")
			idp.AddShortcut(t, "app", spEntity, e.URL("app.localhost", "/reports?q=1"))
			idp.AddShortcut(t, "evil", spEntity, "https://evil.example/steal")

			// Sign in at the IdP first (its portal session).
			resp, body := b.Get(t, idp.URL+"/login/app")
			_, login := testenv.ParseForm(t, body)
			login.Set("user", "alice")
			login.Set("password", "hunter2")
			resp, page := b.PostForm(t, idp.URL+"/login", login)
			if !strings.Contains(page, "SAMLResponse") {
				_, page = b.Get(t, idp.URL+"/login/app")
			}
			acs, form := testenv.ParseForm(t, page)
			if form.Get("SAMLResponse") == "" || acs != spEntity {
				t.Fatalf("no IdP-initiated response from the shortcut (to %q): %d\n%s", acs, resp.StatusCode, page)
			}
			resp, body = b.Do(t, browserPost(t, acs, form))
			if !allow {
				if resp.StatusCode != http.StatusBadRequest {
					t.Fatalf("IdP-initiated login without allow_idp_initiated: %d\n%s", resp.StatusCode, body)
				}
				return
			}
			if resp.StatusCode != http.StatusOK || resp.Request.URL.String() != e.URL("app.localhost", "/reports?q=1") {
				t.Fatalf("after the ACS: %d at %s\n%s", resp.StatusCode, resp.Request.URL, body)
			}
			if got := decodeUpstream(t, body).header("Gatehouse-Authenticated-User-Email"); len(got) != 1 || got[0] != "alice@example.com" {
				t.Errorf("email header %v", got)
			}
			// The same response again is a replay.
			if resp, _ := b.Do(t, browserPost(t, acs, form)); resp.StatusCode != http.StatusForbidden {
				t.Errorf("replayed IdP-initiated response: %d", resp.StatusCode)
			}
			// A RelayState outside the protected applications is not followed.
			_, page = b.Get(t, idp.URL+"/login/evil")
			acs, form = testenv.ParseForm(t, page)
			resp, _ = b.Do(t, browserPost(t, acs, form))
			if got := resp.Request.URL.String(); got != e.URL("auth.localhost", "/") {
				t.Errorf("IdP-initiated login with a foreign RelayState landed on %s", got)
			}
		})
	}
}

// browserPost is mustPost with the Accept header of a browser navigation.
func browserPost(t *testing.T, u string, form url.Values) *http.Request {
	req := mustPost(t, u, form)
	req.Header.Set("Accept", "text/html,application/xhtml+xml")
	return req
}

// TestSAMLRequestSigningKeySurvivesTokenRotation: with sign_request, AuthnRequests are signed
// with a key of their own, published in the SP metadata, that the scheduled token-key rotation
// does not touch (IdPs pin the certificate they were given).
func TestSAMLRequestSigningKeySurvivesTokenRotation(t *testing.T) {
	idp := testenv.StartCrewjamIdP(t, "alice", "Alice@Example.com", nil)
	e := testenv.Start(t, fmt.Sprintf(`
organization: {name: T, auth_domain: auth.localhost}
identity_providers:
  - {id: corp, name: Corp SAML, type: saml, config: {metadata_url: %s/metadata, sign_request: true}}
applications:
  - {id: app, name: App, destinations: [app.localhost], upstream: UPSTREAM, policies: [{ref: all, precedence: 1}]}
policies:
  - {id: all, decision: allow, include: [{everyone: {}}]}
`, idp.URL))
	b := e.NewBrowser()
	signingCert := func() string {
		_, md := b.Get(t, e.URL("auth.localhost", "/.gatehouse/corp/saml-metadata"))
		i := strings.Index(md, `use="signing"`)
		if i < 0 {
			t.Fatalf("SP metadata has no signing key:\n%s", md)
		}
		j := strings.Index(md[i:], "<ds:X509Certificate>")
		k := strings.Index(md[i:], "</ds:X509Certificate>")
		return strings.TrimSpace(md[i+j+len("<ds:X509Certificate>") : i+k])
	}
	before := signingCert()
	if tokenCert := base64.StdEncoding.EncodeToString(e.G.Keys.Certificate().Raw); before == tokenCert {
		t.Fatal("AuthnRequests are signed with the token key")
	}
	if err := e.G.Keys.Rotate(t.Context()); err != nil {
		t.Fatal(err)
	}
	e.G.Reload(t.Context(), store.Change{Keys: true})
	if after := signingCert(); after != before {
		t.Error("the SP signing certificate changed with the token keys")
	}
}
