package samlidp

import (
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/samlxml"
)

// FuzzParseRequest feeds AuthnRequest XML through both bindings. Whatever the input, parsing
// must not panic, and a request it accepts must name the configured SP, agree with the
// configured ACS and carry a usable ID.
func FuzzParseRequest(f *testing.F) {
	good := authnRequestXML(testSP, nil)
	for _, s := range []string{
		good,
		authnRequestXML(testSP, map[string]string{"AssertionConsumerServiceURL": "-", "AssertionConsumerServiceIndex": "0"}),
		authnRequestXML("https://evil.example.com", nil),
		authnRequestXML(testSP, map[string]string{"AssertionConsumerServiceURL": "https://evil.example.com/acs"}),
		`<!DOCTYPE x>` + good,
		strings.Replace(good, "<saml:Issuer>", `<saml:Issuer ::Format="x">`, 1),
		strings.Replace(good, "</saml:Issuer>", `</saml:Issuer><!-- c --><saml:Issuer>x</saml:Issuer>`, 1),
		"",
	} {
		f.Add([]byte(s), "relay", false)
		f.Add([]byte(s), "", true)
	}
	want := &expect{spEntityID: testSP, acs: testACS, idpSSO: testSSO}
	f.Fuzz(func(t *testing.T, xml []byte, relay string, post bool) {
		q := url.Values{"RelayState": {relay}}
		b := bindingRedirect
		if post {
			b = bindingPOST
			q.Set("SAMLRequest", encodeStd(xml))
		} else {
			q.Set("SAMLRequest", encodeStd(deflate(xml)))
		}
		req, err := parseRequest(q, b, want)
		if err != nil {
			if !strings.HasPrefix(reasonOf(err), "saml-request-") {
				t.Fatalf("failure without a saml-request reason: %v", err)
			}
			return
		}
		if !validRequestID(req.ID) || req.RelayState != relay {
			t.Fatalf("accepted request %+v", req)
		}
		doc, err := samlxml.Parse(xml)
		if err != nil {
			t.Fatalf("accepted XML that samlxml.Parse refuses: %v", err)
		}
		root := doc.Root()
		iss, _ := samlxml.Child(root, samlxml.NSAssertion, "Issuer")
		if v, _ := samlxml.Text(iss); v != testSP {
			t.Fatalf("accepted a request from %q", v)
		}
		if samlxml.HasAttr(root, "AssertionConsumerServiceURL") && samlxml.Attr(root, "AssertionConsumerServiceURL") != testACS {
			t.Fatal("accepted a foreign ACS")
		}
	})
}
