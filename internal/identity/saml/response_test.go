package saml

import (
	"bytes"
	"compress/flate"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/gatehouse/gatehouse/internal/identity"
)

func TestValidResponse(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(*respSpec)
	}{
		{"response and assertion signed", func(*respSpec) {}},
		{"only assertion signed", func(s *respSpec) { s.SignResp = false }},
		{"no KeyInfo", func(s *respSpec) { s.NoKeyInfo = true }},
		{"no response issuer", func(s *respSpec) { s.RespIssuer = "" }},
		{"no response InResponseTo", func(s *respSpec) { s.NoRespIRT = true }},
		{"rsa-sha512", func(s *respSpec) { s.SigMethod = dsig.RSASHA512SignatureMethod }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, nil)
			s := validSpec(t)
			tc.mod(&s)
			id, err := h.callback(postRequest(s.bytes(t)), flow())
			if err != nil {
				t.Fatalf("valid response rejected: %v", err)
			}
			want := &identity.Identity{
				Email:            "alice@example.com",
				Name:             "Alice Liddell",
				IdP:              identity.IdP{ID: testIdPID, Type: "saml"},
				Groups:           []identity.Group{{ID: "admins", Name: "admins"}, {ID: "eng", Name: "eng"}},
				AMR:              []string{"pwd"},
				SAMLAttributes:   map[string][]string{"department": {"R&D"}, "groups": {"admins", "eng"}},
				HeaderAttributes: map[string][]string{"X-Department": {"R&D"}},
			}
			if !equalIdentity(id, want) {
				t.Errorf("identity = %+v\nwant       %+v", id, want)
			}
		})
	}
}

func equalIdentity(a, b *identity.Identity) bool {
	eq := func(x, y map[string][]string) bool {
		if len(x) != len(y) {
			return false
		}
		for k, v := range x {
			if !slices.Equal(v, y[k]) {
				return false
			}
		}
		return true
	}
	return a.Email == b.Email && a.Name == b.Name && a.IdP == b.IdP && slices.Equal(a.Groups, b.Groups) &&
		slices.Equal(a.AMR, b.AMR) && eq(a.SAMLAttributes, b.SAMLAttributes) && eq(a.HeaderAttributes, b.HeaderAttributes)
}

// negCase is one rejected input. Either raw (decoded SAMLResponse) or req (whole request) is
// set; flow defaults to the test flow.
type negCase struct {
	name   string
	raw    []byte
	req    func() *http.Request
	flow   map[string]string
	at     time.Time // clock; default testNow
	reason string
	extra  map[string]any
}

// evilAssertion returns an unsigned copy of the signed assertion of doc with the NameID
// replaced and the given ID.
func evilAssertion(doc *etree.Document, id, nameID string) *etree.Element {
	orig := doc.Root().SelectElement("Assertion")
	e := orig.Copy()
	for _, s := range e.SelectElements("Signature") {
		e.RemoveChild(s)
	}
	e.SelectAttr("ID").Value = id
	e.FindElement("./Subject/NameID").SetText(nameID)
	return e
}

// negativeCases is the table shared by TestNegative and the fuzz seeds. All are built from
// the valid signed response of validSpec.
func negativeCases(t testing.TB) []negCase {
	idp, evil, old := keys(t)
	valid := func() *etree.Document { return validSpec(t).build(t) }
	spec := func(mod func(*respSpec)) []byte {
		s := validSpec(t)
		mod(&s)
		return s.bytes(t)
	}
	mutate := func(mod func(doc *etree.Document)) []byte {
		doc := valid()
		mod(doc)
		return docBytes(t, doc)
	}
	assertionOf := func(doc *etree.Document) *etree.Element { return doc.Root().SelectElement("Assertion") }
	replaceIn := func(old, new string) []byte {
		b := validSpec(t).bytes(t)
		if !bytes.Contains(b, []byte(old)) {
			t.Fatalf("fixture does not contain %q", old)
		}
		return bytes.Replace(b, []byte(old), []byte(new), 1)
	}

	cases := []negCase{
		// Signature wrapping (XSW1-XSW8 style).
		{name: "xsw evil assertion before signed one", reason: "saml-multiple-assertions", raw: mutate(func(doc *etree.Document) {
			doc.Root().InsertChildAt(assertionOf(doc).Index(), evilAssertion(doc, "_evil", "admin@example.com"))
		})},
		{name: "xsw evil assertion after signed one", reason: "saml-multiple-assertions", raw: mutate(func(doc *etree.Document) {
			doc.Root().AddChild(evilAssertion(doc, "_evil", "admin@example.com"))
		})},
		{name: "xsw evil assertion with same ID after signed one", reason: "saml-multiple-assertions", raw: mutate(func(doc *etree.Document) {
			doc.Root().AddChild(evilAssertion(doc, "_assert1", "admin@example.com"))
		})},
		{name: "xsw evil assertion inside signed one", reason: "saml-multiple-assertions", raw: mutate(func(doc *etree.Document) {
			a := assertionOf(doc)
			a.SelectElement("Subject").AddChild(evilAssertion(doc, "_evil", "admin@example.com"))
		})},
		{name: "xsw signed assertion inside evil one", reason: "saml-multiple-assertions", raw: mutate(func(doc *etree.Document) {
			orig := assertionOf(doc)
			ev := evilAssertion(doc, "_assert1", "admin@example.com")
			doc.Root().RemoveChild(orig)
			ev.AddChild(orig)
			doc.Root().AddChild(ev)
		})},
		{name: "xsw signature moved to evil assertion, original in ds:Object", reason: "saml-multiple-assertions", raw: mutate(func(doc *etree.Document) {
			orig := assertionOf(doc)
			sig := orig.SelectElement("Signature")
			ev := evilAssertion(doc, "_assert1", "admin@example.com")
			moved := sig.Copy()
			obj := moved.CreateElement("ds:Object")
			doc.Root().RemoveChild(orig)
			obj.AddChild(orig)
			ev.InsertChildAt(1, moved)
			doc.Root().AddChild(ev)
		})},
		{name: "xsw original in samlp:Extensions, evil assertion in place", reason: "saml-multiple-assertions", raw: mutate(func(doc *etree.Document) {
			orig := assertionOf(doc)
			ev := evilAssertion(doc, "_evil", "admin@example.com")
			doc.Root().RemoveChild(orig)
			ext := etree.NewElement("samlp:Extensions")
			ext.AddChild(orig)
			doc.Root().InsertChildAt(2, ext)
			doc.Root().AddChild(ev)
		})},
		{name: "xsw only assertion moved into samlp:Extensions", reason: "saml-assertion-misplaced", raw: mutate(func(doc *etree.Document) {
			orig := assertionOf(doc)
			doc.Root().RemoveChild(orig)
			ext := etree.NewElement("samlp:Extensions")
			ext.AddChild(orig)
			doc.Root().InsertChildAt(2, ext)
		})},
		{name: "xsw signed response wrapped in evil response", reason: "saml-multiple-assertions", raw: mutate(func(doc *etree.Document) {
			orig := doc.Root()
			evil := orig.Copy()
			evil.SelectAttr("ID").Value = "_evilresp"
			for _, s := range evil.SelectElements("Signature") {
				evil.RemoveChild(s)
			}
			ea := evil.SelectElement("Assertion")
			evil.RemoveChild(ea)
			evil.AddChild(evilAssertion(doc, "_evil", "admin@example.com"))
			evil.CreateElement("samlp:Extensions").AddChild(orig)
			doc.SetRoot(evil)
		})},
		{name: "xsw response signature references the assertion", reason: "saml-signature-invalid", raw: mutate(func(doc *etree.Document) {
			doc.Root().SelectElement("Signature").FindElement("./SignedInfo/Reference").SelectAttr("URI").Value = "#_assert1"
		})},
		{name: "xsw assertion signature moved to response", reason: "saml-unsigned-assertion", raw: func() []byte {
			s := validSpec(t)
			s.SignResp = false
			doc := s.build(t)
			a := assertionOf(doc)
			sig := a.SelectElement("Signature")
			a.RemoveChild(sig)
			doc.Root().InsertChildAt(1, sig)
			return docBytes(t, doc)
		}()},
		{name: "xsw foreign-namespace wrapper around the assertion", reason: "saml-assertion-misplaced", raw: mutate(func(doc *etree.Document) {
			orig := assertionOf(doc)
			doc.Root().RemoveChild(orig)
			w := doc.Root().CreateElement("evil:Assertion")
			w.CreateAttr("xmlns:evil", "urn:evil")
			w.AddChild(orig)
		})},
		{name: "xsw assertion re-prefixed to a foreign namespace", reason: "saml-signature-misplaced", raw: mutate(func(doc *etree.Document) {
			a := assertionOf(doc)
			a.CreateAttr("xmlns:saml", "urn:not-saml")
		})},
		{name: "signature inside the subject", reason: "saml-signature-misplaced", raw: mutate(func(doc *etree.Document) {
			a := assertionOf(doc)
			sig := a.SelectElement("Signature")
			a.RemoveChild(sig)
			a.SelectElement("Subject").AddChild(sig)
		})},

		// Unsigned, extra and wrongly signed assertions.
		{name: "unsigned assertion, unsigned response", reason: "saml-unsigned-assertion", raw: spec(func(s *respSpec) { s.SignAssertion, s.SignResp = false, false })},
		{name: "unsigned assertion in signed response", reason: "saml-unsigned-assertion", raw: spec(func(s *respSpec) { s.SignAssertion = false })},
		{name: "extra signed assertion", reason: "saml-multiple-assertions", raw: mutate(func(doc *etree.Document) {
			s := validSpec(t)
			s.AssertionID = "_assert2"
			doc.Root().AddChild(sign(t, s.assertionElement(), &idp, "", true))
		})},
		{name: "encrypted assertion", reason: "saml-encrypted-assertion", raw: mutate(func(doc *etree.Document) {
			ea := doc.Root().CreateElement("saml:EncryptedAssertion")
			ea.CreateAttr("xmlns:saml", nsAssertion)
			ea.CreateElement("xenc:EncryptedData").CreateAttr("xmlns:xenc", "http://www.w3.org/2001/04/xmlenc#")
		})},
		{name: "signed by an unconfigured key with its cert in KeyInfo", reason: "saml-untrusted-certificate", raw: spec(func(s *respSpec) { s.AssertionKey, s.ResponseKey = &evil, &evil })},
		{name: "assertion signed by an unconfigured key, response by the IdP", reason: "saml-untrusted-certificate", raw: spec(func(s *respSpec) { s.AssertionKey = &evil })},
		{name: "signed by an unconfigured key without KeyInfo", reason: "saml-signature-invalid", raw: spec(func(s *respSpec) {
			s.AssertionKey, s.ResponseKey, s.NoKeyInfo = &evil, &evil, true
		})},
		{name: "KeyInfo swapped to the IdP cert, signed by another key", reason: "saml-signature-invalid", raw: func() []byte {
			b := spec(func(s *respSpec) { s.AssertionKey, s.ResponseKey = &evil, &evil })
			return bytes.ReplaceAll(b, []byte(base64.StdEncoding.EncodeToString(evil.cert.Raw)), []byte(base64.StdEncoding.EncodeToString(idp.cert.Raw)))
		}()},
		{name: "signed with an expired configured certificate", reason: "saml-certificate-expired", raw: spec(func(s *respSpec) { s.AssertionKey, s.ResponseKey = &old, &old }),
			extra: map[string]any{"idp_public_certs": []any{certPEM(idp.cert), certPEM(old.cert)}}},
		{name: "rsa-sha1 signature", reason: "saml-weak-algorithm", raw: spec(func(s *respSpec) { s.SigMethod = dsig.RSASHA1SignatureMethod })},
		{name: "assertion tampered after signing", reason: "saml-signature-invalid", raw: mutate(func(doc *etree.Document) {
			assertionOf(doc).FindElement("./Subject/NameID").SetText("admin@example.com")
		})},
		{name: "response tampered after signing", reason: "saml-signature-invalid", raw: mutate(func(doc *etree.Document) {
			doc.Root().SelectAttr("IssueInstant").Value = ts(testNow)
		})},
		{name: "empty reference URI", reason: "saml-signature-invalid", raw: mutate(func(doc *etree.Document) {
			assertionOf(doc).FindElement("./Signature/SignedInfo/Reference").SelectAttr("URI").Value = ""
		})},
		{name: "duplicate ID attribute", reason: "saml-malformed", raw: replaceIn(`ID="_assert1"`, `ID="_assert1" ID="_evil"`)},
		{name: "prefixed duplicate ID attribute", reason: "saml-malformed", raw: replaceIn(`ID="_assert1"`, `ID="_assert1" xsi:ID="_evil"`)},

		// Binding checks.
		{name: "replay", reason: "saml-replay"}, // filled in by TestNegative
		{name: "expired confirmation", reason: "saml-expired", raw: validSpec(t).bytes(t), at: testNow.Add(5*time.Minute + DefaultClockSkew)},
		{name: "expired conditions", reason: "saml-expired", raw: spec(func(s *respSpec) { s.NotOnOrAfter = testNow.Add(-2 * DefaultClockSkew) })},
		{name: "not yet valid", reason: "saml-not-yet-valid", raw: spec(func(s *respSpec) { s.NotBefore = testNow.Add(2 * DefaultClockSkew) })},
		{name: "wrong audience", reason: "saml-audience-mismatch", raw: spec(func(s *respSpec) { s.Audience = "https://other.example.com/sp" })},
		{name: "wrong destination", reason: "saml-destination-mismatch", raw: spec(func(s *respSpec) { s.Destination = "https://evil.example.com/acs" })},
		{name: "wrong destination on an unsigned response", reason: "saml-destination-mismatch", raw: spec(func(s *respSpec) {
			s.Destination, s.SignResp = "https://evil.example.com/acs", false
		})},
		{name: "wrong recipient", reason: "saml-recipient-mismatch", raw: spec(func(s *respSpec) { s.Recipient = "https://evil.example.com/acs" })},
		{name: "in-response-to mismatch", reason: "saml-in-response-to-mismatch", raw: validSpec(t).bytes(t), flow: map[string]string{FlowRequestID: "_other"}},
		{name: "assertion answers another request", reason: "saml-in-response-to-mismatch", raw: spec(func(s *respSpec) { s.IRT = "_other"; s.NoRespIRT = true })},
		{name: "unsolicited response", reason: "saml-unsolicited-response", raw: spec(func(s *respSpec) { s.NoIRT, s.NoRespIRT = true, true }), flow: map[string]string{}},
		{name: "solicited response without a flow", reason: "saml-in-response-to-mismatch", raw: validSpec(t).bytes(t), flow: map[string]string{},
			extra: map[string]any{"allow_idp_initiated": true}},
		{name: "wrong issuer", reason: "saml-issuer-mismatch", raw: spec(func(s *respSpec) { s.Issuer, s.RespIssuer = "https://evil.example.org", "https://evil.example.org" })},
		{name: "wrong response issuer", reason: "saml-issuer-mismatch", raw: spec(func(s *respSpec) { s.RespIssuer = "https://evil.example.org" })},
		{name: "idp error status", reason: "saml-idp-error", raw: spec(func(s *respSpec) { s.Status = "urn:oasis:names:tc:SAML:2.0:status:Responder" })},
		{name: "no e-mail", reason: "saml-email-missing", raw: spec(func(s *respSpec) {
			s.NameID, s.NameIDFormat = "opaque-id-1", "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
		})},
		{name: "NameID e-mail with KELVIN SIGN", reason: "saml-email-invalid", raw: spec(func(s *respSpec) {
			s.NameID, s.NameIDFormat = "\u212Aate@example.com", "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
		})},
		{name: "e-mail attribute with LONG S", reason: "saml-email-invalid", raw: spec(func(s *respSpec) {
			s.NameIDFormat = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
			s.Attributes = append(s.Attributes, attribute{Name: "email", Values: []string{"\u017Fam@example.com"}})
		})},
		{name: "e-mail attribute with a bidi control", reason: "saml-email-invalid", raw: spec(func(s *respSpec) {
			s.NameIDFormat = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
			s.Attributes = append(s.Attributes, attribute{Name: "email", Values: []string{"sam\u202E@example.com"}})
		})},
		{name: "multi-@ e-mail", reason: "saml-email-invalid", raw: spec(func(s *respSpec) {
			s.NameIDFormat = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
			s.Attributes = append(s.Attributes, attribute{Name: "email", Values: []string{"alice@example.com@evil.com"}})
		})},

		// Parser attacks.
		{name: "doctype", reason: "saml-doctype", raw: append([]byte(`<?xml version="1.0"?><!DOCTYPE Response [<!ELEMENT Response ANY>]>`), validSpec(t).bytes(t)...)},
		{name: "entity expansion", reason: "saml-doctype", raw: []byte(`<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>` +
			`<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol">&lol2;</samlp:Response>`)},
		{name: "lower-case doctype", reason: "saml-doctype", raw: append([]byte(`<!doctype x>`), validSpec(t).bytes(t)...)},
		{name: "external entity", reason: "saml-doctype", raw: replaceIn(`<saml:Issuer>`, `<!ENTITY x SYSTEM "file:///etc/passwd"><saml:Issuer>`)},
		{name: "non round-trip stable XML", reason: "saml-roundtrip", raw: replaceIn(`<saml:Assertion `, `<saml:Assertion ::ID="_evil" `)},
		{name: "non round-trip stable element name", reason: "saml-roundtrip", raw: replaceIn(`<samlp:Status>`, `<samlp:Status><x::Extensions></x::Extensions>`)},
		{name: "not UTF-8", reason: "saml-malformed", raw: replaceIn(`Alice Liddell`, "Alice \xff")},
		{name: "undeclared namespace prefix", reason: "saml-malformed", raw: replaceIn(`<samlp:Status>`, `<samlp:Status><saml2:Assertion/>`)},
		{name: "processing instruction", reason: "saml-malformed", raw: replaceIn(`<saml:Issuer>`, `<?evil x?><saml:Issuer>`)},
		{name: "not a response", reason: "saml-malformed", raw: []byte(`<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"/>`)},
		{name: "response in wrong namespace", reason: "saml-malformed", raw: replaceIn(`xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"`, `xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol-evil"`)},
		{name: "deeply nested", reason: "saml-malformed", raw: []byte(`<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol">` +
			strings.Repeat("<a>", 100) + strings.Repeat("</a>", 100) + `</samlp:Response>`)},
		{name: "oversized body", reason: "saml-too-large", req: func() *http.Request {
			body := "RelayState=state123&SAMLResponse=" + strings.Repeat("A", MaxBodyBytes)
			r := httptest.NewRequest(http.MethodPost, testACS, strings.NewReader(body))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			return r
		}},
		{name: "deflate bomb on the redirect binding", reason: "saml-unsupported-binding", req: func() *http.Request {
			return httptest.NewRequest(http.MethodGet, testACS+"?RelayState=state123&SAMLResponse="+url.QueryEscape(deflateBomb(t)), nil)
		}},
		{name: "deflate bomb posted", reason: "saml-malformed", raw: func() []byte {
			b, _ := base64.StdEncoding.DecodeString(deflateBomb(t))
			return b
		}()},
		{name: "not base64", reason: "saml-bad-encoding", req: func() *http.Request {
			r := httptest.NewRequest(http.MethodPost, testACS, strings.NewReader("RelayState=state123&SAMLResponse=@@@@"))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			return r
		}},
		{name: "response in the query only", reason: "saml-missing-response", req: func() *http.Request {
			q := url.Values{"SAMLResponse": {base64.StdEncoding.EncodeToString(validSpec(t).bytes(t))}}
			r := httptest.NewRequest(http.MethodPost, testACS+"?"+q.Encode(), strings.NewReader("RelayState=state123"))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			return r
		}},
	}
	return cases
}

// deflateBomb is 1 MiB of zeros deflated (about 1 KiB), base64-encoded.
func deflateBomb(t testing.TB) string {
	var buf bytes.Buffer
	w, _ := flate.NewWriter(&buf, flate.BestCompression)
	if _, err := w.Write(make([]byte, 1<<20)); err != nil {
		t.Fatal(err)
	}
	w.Close()
	return base64.StdEncoding.EncodeToString(buf.Bytes())
}

func TestNegative(t *testing.T) {
	for _, tc := range negativeCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, tc.extra)
			if tc.name == "replay" {
				raw := validSpec(t).bytes(t)
				if _, err := h.callback(postRequest(raw), flow()); err != nil {
					t.Fatalf("first use rejected: %v", err)
				}
				tc.raw = raw
			}
			if !tc.at.IsZero() {
				h.clock.Set(tc.at)
			}
			fl := tc.flow
			if fl == nil {
				fl = flow()
			}
			var r *http.Request
			if tc.req != nil {
				r = tc.req()
			} else {
				r = postRequest(tc.raw)
			}
			// authn calls CallbackState first; a failure there is final too.
			var id *identity.Identity
			_, err := h.c.CallbackState(r)
			if err == nil {
				id, err = h.c.HandleCallback(context.Background(), r, loginReq(), fl)
			}
			if err == nil {
				t.Fatalf("accepted: %+v", id)
			}
			if got := identity.FailureReason(err); got != tc.reason {
				t.Errorf("reason = %q, want %q (%v)", got, tc.reason, err)
			}
		})
	}
}

// TestCommentSplitNameID: a comment inside the NameID is outside exclusive C14N, so the
// signature still verifies; the address must be the whole element text, never the part before
// the comment.
func TestCommentSplitNameID(t *testing.T) {
	s := validSpec(t)
	s.NameID = "alice@example.com.evil.com"
	doc := s.build(t)
	nid := doc.Root().FindElement("./Assertion/Subject/NameID")
	nid.Child = nil
	nid.AddChild(etree.NewText("alice@example.com"))
	nid.AddChild(etree.NewComment(""))
	nid.AddChild(etree.NewText(".evil.com"))
	raw := docBytes(t, doc)
	if !bytes.Contains(raw, []byte("alice@example.com<!---->.evil.com")) {
		t.Fatalf("fixture lacks the split NameID:\n%s", raw)
	}
	h := newHarness(t, nil)
	id, err := h.callback(postRequest(raw), flow())
	if err != nil {
		t.Fatalf("rejected: %v", err)
	}
	if id.Email != "alice@example.com.evil.com" {
		t.Errorf("email = %q, want the whole NameID alice@example.com.evil.com", id.Email)
	}
}

func TestIdPInitiated(t *testing.T) {
	s := validSpec(t)
	s.NoIRT, s.NoRespIRT = true, true
	h := newHarness(t, map[string]any{"allow_idp_initiated": true})
	if _, err := h.callback(postRequest(s.bytes(t)), map[string]string{}); err != nil {
		t.Fatalf("IdP-initiated response rejected with allow_idp_initiated: %v", err)
	}
	// samlify's template writes InResponseTo="" when there is no request: the same as none.
	e := validSpec(t)
	e.IRT, e.RespInResponseTo, e.AssertionID = "", "", "_assert_empty_irt"
	if _, err := h.callback(postRequest(e.bytes(t)), map[string]string{}); err != nil {
		t.Fatalf("IdP-initiated response with empty InResponseTo rejected: %v", err)
	}
	// Even with allow_idp_initiated, an unsolicited response cannot complete an SP-initiated flow.
	s.AssertionID = "_assert2"
	if _, err := h.callback(postRequest(s.bytes(t)), flow()); identity.FailureReason(err) != "saml-in-response-to-mismatch" {
		t.Errorf("unsolicited response on an SP-initiated flow: %v", err)
	}
}

func TestKeyRotation(t *testing.T) {
	idp, evil, _ := keys(t)
	// Both the old (here: evil) and the new certificate are configured; without KeyInfo each
	// is tried.
	h := newHarness(t, nil, evil.cert, idp.cert)
	s := validSpec(t)
	s.NoKeyInfo = true
	if _, err := h.callback(postRequest(s.bytes(t)), flow()); err != nil {
		t.Fatalf("rotation: %v", err)
	}
	s.AssertionID, s.AssertionKey, s.ResponseKey, s.NoKeyInfo = "_assert2", &evil, &evil, false
	if _, err := h.callback(postRequest(s.bytes(t)), flow()); err != nil {
		t.Fatalf("rotation, first cert with KeyInfo: %v", err)
	}
}

func TestAMRAndEmailSources(t *testing.T) {
	for _, tc := range []struct {
		name    string
		mod     func(*respSpec)
		cfg     map[string]any
		email   string
		amr     []string
		headers []string
	}{
		{name: "mfa context", mod: func(s *respSpec) { s.AuthnClass = "http://schemas.microsoft.com/claims/multipleauthn" }, email: "alice@example.com", amr: []string{"mfa"}},
		{name: "smartcard", mod: func(s *respSpec) { s.AuthnClass = "urn:oasis:names:tc:SAML:2.0:ac:classes:SmartcardPKI" }, email: "alice@example.com", amr: []string{"sc", "hwk"}},
		{name: "x509", mod: func(s *respSpec) { s.AuthnClass = "urn:oasis:names:tc:SAML:2.0:ac:classes:X509" }, email: "alice@example.com", amr: []string{"hwk"}},
		{name: "email attribute when NameID is opaque", mod: func(s *respSpec) {
			s.NameID, s.NameIDFormat = "x1", "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
			s.Attributes = append(s.Attributes, attribute{Name: "email", Values: []string{"Bob@Example.com"}})
		}, email: "bob@example.com", amr: []string{"pwd"}},
		{name: "header values with line breaks are dropped", mod: func(s *respSpec) {
			s.Attributes[2].Values = []string{"R&D\nX-Evil: 1", "Ops"}
		}, email: "alice@example.com", amr: []string{"pwd"}, headers: []string{"Ops"}},
		{name: "configured attribute wins over NameID", cfg: map[string]any{"email_attribute_name": "mail"}, mod: func(s *respSpec) {
			s.Attributes = append(s.Attributes, attribute{Name: "mail", Values: []string{"carol@example.com"}})
		}, email: "carol@example.com", amr: []string{"pwd"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := validSpec(t)
			tc.mod(&s)
			h := newHarness(t, tc.cfg)
			id, err := h.callback(postRequest(s.bytes(t)), flow())
			if err != nil {
				t.Fatal(err)
			}
			if id.Email != tc.email || !slices.Equal(id.AMR, tc.amr) {
				t.Errorf("email %q amr %v, want %q %v", id.Email, id.AMR, tc.email, tc.amr)
			}
			if tc.headers != nil && !slices.Equal(id.HeaderAttributes["X-Department"], tc.headers) {
				t.Errorf("header values %q, want %q", id.HeaderAttributes["X-Department"], tc.headers)
			}
		})
	}
}

// FuzzParseResponse: no input panics, and nothing is accepted unless it is exactly an assertion
// the IdP key signed (the seeds' valid assertions); an evil key is never trusted.
func FuzzParseResponse(f *testing.F) {
	idp, _, _ := keys(f)
	f.Add(validSpec(f).bytes(f))
	s := validSpec(f)
	s.SignResp = false
	f.Add(s.bytes(f))
	for _, tc := range negativeCases(f) {
		if tc.raw != nil {
			f.Add(tc.raw)
		}
	}
	sp := fuzzEncryptionKey(f)
	f.Add(s.encryptedGCM(f, sp.cert, gcm{16, algRSAOAEPMGF1P, ""}))
	f.Add(validSpec(f).encryptedGCM(f, sp.cert, gcm{32, algRSAOAEP11, algMGF1SHA256}))
	f.Fuzz(func(t *testing.T, raw []byte) {
		c := &checks{
			certs: []*x509.Certificate{idp.cert}, issuer: testIssuer, acs: testACS, audience: testSPEntity,
			requestID: testRequestID, now: testNow, skew: DefaultClockSkew,
			decrypters: []crypto.Decrypter{sp.key},
		}
		a, err := verifyResponse(raw, c)
		if err != nil {
			if identity.FailureReason(err) == "login-failed" {
				t.Fatalf("error without a reason: %v", err)
			}
			return
		}
		signedMu.Lock()
		ok := signedByIdP[a.ID+"\x00"+a.NameID]
		signedMu.Unlock()
		if !ok {
			t.Fatalf("accepted an assertion the IdP never signed: ID %q NameID %q", a.ID, a.NameID)
		}
	})
}

func BenchmarkVerifyResponse(b *testing.B) {
	h := newHarness(b, nil)
	h.c.env.Replay = alwaysFresh{}
	raw := validSpec(b).bytes(b)
	form := url.Values{"SAMLResponse": {base64.StdEncoding.EncodeToString(raw)}, "RelayState": {"state123"}}.Encode()
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		r := httptest.NewRequest(http.MethodPost, testACS, strings.NewReader(form))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if _, err := h.c.CallbackState(r); err != nil {
			b.Fatal(err)
		}
		if _, err := h.c.HandleCallback(ctx, r, loginReq(), flow()); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}
