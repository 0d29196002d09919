package samlidp

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	"github.com/crewjam/saml"
	"github.com/crewjam/saml/samlsp"
	"github.com/gatehouse/gatehouse/internal/samlxml"
)

// crewjamSP is crewjam/saml's samlsp middleware in front of a page that prints the session's
// attributes as JSON.
type crewjamSP struct {
	srv *httptest.Server
	mw  *samlsp.Middleware
}

func startCrewjamSP(t *testing.T) (*crewjamSP, *swappable) {
	t.Helper()
	sw := &swappable{h: http.NotFoundHandler()}
	srv := httptest.NewServer(sw)
	t.Cleanup(srv.Close)
	return &crewjamSP{srv: srv}, sw
}

func (sp *crewjamSP) entityID() string { return sp.srv.URL + "/saml/metadata" }
func (sp *crewjamSP) acs() string      { return sp.srv.URL + "/saml/acs" }

// TestPeerCrewjamSP logs into crewjam/saml's samlsp (an independent Go SP) through
// Gatehouse's IdP: SP-initiated over HTTP-Redirect (samlsp's choice from our metadata), then
// IdP-initiated with default_relay_state. samlsp reads our metadata, verifies both signatures,
// Destination, Recipient, Audience, InResponseTo against its tracked request and the time
// window, and must read the attributes exactly, XML-significant characters included. A
// tampered Response must be refused.
func TestPeerCrewjamSP(t *testing.T) {
	ctx := contextFor(t)
	idp := startIdP(t)
	sp, spHandler := startCrewjamSP(t)
	sa := defaultSaaS()
	sa.SPEntityID, sa.ConsumerServiceURL = sp.entityID(), sp.acs()
	sa.DefaultRelayState = sp.srv.URL + "/hello?from=idp"
	sa.CustomAttributes = trickyCustom()
	idp.configure(t, sa)
	// Go's encoding/xml, which samlsp reads values with, turns even an escaped CR into LF.
	in, want := trickyValues(false)
	idp.auth.grant.Identity.SAMLAttributes["tricky"] = in

	sp.serve(ctx, t, idp, spHandler)

	// SP-initiated: the browser asks for /hello, samlsp sends it to our SSO endpoint, the fake
	// login signs it in and brings it back, and our page posts the Response to the ACS.
	b := browser(t)
	form := fetchAutoPost(t, b, sp.srv.URL+"/hello?from=sp")
	if form.Action != sp.acs() || form.Fields.Get("RelayState") == "" {
		t.Fatalf("auto-post to %q with RelayState %q", form.Action, form.Fields.Get("RelayState"))
	}
	if !strings.Contains(idp.auth.lastReturn(), "pending=") {
		t.Fatalf("SP-initiated login returned to %q", idp.auth.lastReturn())
	}
	// A tampered Response is refused (samlsp really checks our signature).
	bad := cloneValues(form.Fields)
	bad.Set("SAMLResponse", tamper(t, bad.Get("SAMLResponse")))
	if code, body := post(t, b, form.Action, bad); code != http.StatusForbidden {
		t.Fatalf("tampered Response: status %d, body %s", code, body)
	}
	code, body := post(t, b, form.Action, form.Fields)
	if code != http.StatusOK {
		t.Fatalf("samlsp did not accept the Response: %d %s", code, body)
	}
	checkCrewjamSession(t, body, "from=sp", want)

	// IdP-initiated: a GET on the SSO URL; samlsp (AllowIDPInitiated) follows the RelayState.
	b2 := browser(t)
	b2.Jar.SetCookies(mustURL(t, idp.srv.URL), []*http.Cookie{{Name: "fake_session", Value: "1", Path: "/"}})
	form = fetchAutoPost(t, b2, idp.ssoURL())
	if form.Fields.Get("RelayState") != sa.DefaultRelayState {
		t.Fatalf("IdP-initiated RelayState %q", form.Fields.Get("RelayState"))
	}
	code, body = post(t, b2, form.Action, form.Fields)
	if code != http.StatusOK {
		t.Fatalf("samlsp did not accept the IdP-initiated Response: %d %s", code, body)
	}
	checkCrewjamSession(t, body, "from=idp", want)

	events := idp.st.authEvents()
	var issued int
	for _, e := range events {
		if e.Action == AuthAction && e.Allowed {
			issued++
		}
	}
	if issued != 2 {
		t.Errorf("%d issued-assertion events, want 2", issued)
	}
}

// serve sets up samlsp from the IdP's metadata and serves it with a /hello page that prints
// the session's subject and attributes as JSON.
func (sp *crewjamSP) serve(ctx context.Context, t *testing.T, idp *interopIdP, spHandler *swappable) {
	t.Helper()
	mdURL, err := url.Parse(idp.metadataURL())
	if err != nil {
		t.Fatal(err)
	}
	md, err := samlsp.FetchMetadata(ctx, http.DefaultClient, *mdURL)
	if err != nil {
		t.Fatalf("samlsp cannot read our metadata: %v", err)
	}
	key, cert := interopKey(t)
	root, _ := url.Parse(sp.srv.URL)
	mw, err := samlsp.New(samlsp.Options{URL: *root, Key: key, Certificate: cert, IDPMetadata: md, AllowIDPInitiated: true})
	if err != nil {
		t.Fatal(err)
	}
	mw.OnError = func(w http.ResponseWriter, _ *http.Request, err error) {
		var ire *saml.InvalidResponseError
		if errors.As(err, &ire) {
			err = fmt.Errorf("%w: %w", err, ire.PrivateErr)
		}
		http.Error(w, "samlsp refused: "+err.Error(), http.StatusForbidden)
	}
	sp.mw = mw
	mux := http.NewServeMux()
	mux.Handle("/saml/", mw)
	mux.Handle("/hello", mw.RequireAccount(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, ok := samlsp.SessionFromContext(r.Context()).(samlsp.JWTSessionClaims)
		if !ok {
			http.Error(w, "no session claims", http.StatusInternalServerError)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"subject": s.Subject, "attributes": s.Attributes, "query": r.URL.RawQuery})
	})))
	spHandler.h = mux
}

// TestPeerCrewjamSPUserWithoutGroups: a user without groups gets a groups Attribute without
// AttributeValue (issue 12: Dex's SAML connector refuses assertions that leave groups out), and
// samlsp still verifies and accepts the assertion; with send_empty_groups_attribute false the
// attribute is left out and the assertion is accepted as well.
func TestPeerCrewjamSPUserWithoutGroups(t *testing.T) {
	for _, tc := range []struct {
		name      string
		sendEmpty *bool
		wantAttr  bool
	}{
		{"default", nil, true},
		{"send_empty_groups_attribute true", new(true), true},
		{"send_empty_groups_attribute false", new(false), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := contextFor(t)
			idp := startIdP(t)
			sp, spHandler := startCrewjamSP(t)
			sa := defaultSaaS()
			sa.SPEntityID, sa.ConsumerServiceURL = sp.entityID(), sp.acs()
			sa.SendEmptyGroupsAttribute = tc.sendEmpty
			idp.configure(t, sa)
			idp.auth.grant.Identity.Groups = nil
			sp.serve(ctx, t, idp, spHandler)

			b := browser(t)
			form := fetchAutoPost(t, b, sp.srv.URL+"/hello?from=sp")
			raw, err := base64.StdEncoding.DecodeString(form.Fields.Get("SAMLResponse"))
			if err != nil {
				t.Fatal(err)
			}
			a := verify(t, raw, idp.keys.Certificate(), time.Now()).Assertion
			var groups []*etree.Element
			for _, el := range samlxml.Children(find(t, a, "AttributeStatement"), samlxml.NSAssertion, "Attribute") {
				if el.SelectAttrValue("Name", "") == "groups" {
					groups = append(groups, el)
				}
			}
			switch {
			case tc.wantAttr && (len(groups) != 1 || len(groups[0].ChildElements()) != 0):
				t.Fatalf("want one groups Attribute without AttributeValue, got %d: %v", len(groups), groups)
			case !tc.wantAttr && len(groups) != 0:
				t.Fatalf("send_empty_groups_attribute false: groups Attribute sent")
			}
			code, body := post(t, b, form.Action, form.Fields)
			if code != http.StatusOK {
				t.Fatalf("samlsp did not accept the Response: %d %s", code, body)
			}
			var got struct{ Attributes map[string][]string }
			if err := json.Unmarshal([]byte(body), &got); err != nil {
				t.Fatalf("SP page: %v: %s", err, body)
			}
			if len(got.Attributes["groups"]) != 0 || !equalValues(got.Attributes["email"], []string{"alice@example.com"}) {
				t.Errorf("samlsp read groups %q, email %q", got.Attributes["groups"], got.Attributes["email"])
			}
		})
	}
}

func checkCrewjamSession(t *testing.T, body, query string, tricky []string) {
	t.Helper()
	var got struct {
		Subject    string
		Attributes map[string][]string
		Query      string
	}
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatalf("SP page: %v: %s", err, body)
	}
	if got.Subject != "alice@example.com" || got.Query != query {
		t.Errorf("subject %q, query %q", got.Subject, got.Query)
	}
	for name, want := range map[string][]string{
		"email": {"alice@example.com"}, "name": {`Alice <&"'> O'Brien`}, "groups": {"eng", "R&D <core>"},
		"team": {"Platform & Tools"}, "tricky": tricky,
	} {
		if !equalValues(got.Attributes[name], want) {
			t.Errorf("samlsp read %s = %q, want %q", name, got.Attributes[name], want)
		}
	}
}

// fetchAutoPost GETs u, following redirects, and returns the auto-post form it ends on.
func fetchAutoPost(t *testing.T, c *http.Client, u string) *autoPost {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET %s ended with %d: %s", u, resp.StatusCode, b)
	}
	return parseAutoPost(t, resp.Body)
}

// post submits a form as a browser would and returns the final status and body.
func post(t *testing.T, c *http.Client, action string, form url.Values) (int, string) {
	t.Helper()
	resp, err := c.PostForm(action, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, string(b)
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
