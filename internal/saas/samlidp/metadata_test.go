package samlidp

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/keys"
	"github.com/gatehouse/gatehouse/internal/samlxml"
)

// metadataCerts fetches the metadata and returns its entity ID and signing certificates,
// checking the rest of its shape.
func metadataCerts(t *testing.T, h *harness) (string, []*x509.Certificate) {
	t.Helper()
	w := h.serve(httptest.NewRequest(http.MethodGet, testSSO+"/"+EndpointMetadata, nil), EndpointMetadata)
	if w.Code != http.StatusOK || w.Header().Get("Content-Type") != "application/samlmetadata+xml" {
		t.Fatalf("metadata: status %d, type %q", w.Code, w.Header().Get("Content-Type"))
	}
	doc, err := samlxml.Parse(w.Body.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	ed := doc.Root()
	if !samlxml.Is(ed, samlxml.NSMetadata, "EntityDescriptor") {
		t.Fatalf("root <%s>", ed.Tag)
	}
	idp, err := samlxml.Child(ed, samlxml.NSMetadata, "IDPSSODescriptor")
	if err != nil || idp == nil {
		t.Fatal("no IDPSSODescriptor")
	}
	if samlxml.Attr(idp, "protocolSupportEnumeration") != samlxml.NSProtocol || samlxml.Attr(idp, "WantAuthnRequestsSigned") != "false" {
		t.Errorf("IDPSSODescriptor %v", idp.Attr)
	}
	sso := samlxml.Children(idp, samlxml.NSMetadata, "SingleSignOnService")
	if len(sso) != 2 || samlxml.Attr(sso[0], "Binding") != bindingRedirectURI || samlxml.Attr(sso[1], "Binding") != bindingPOSTURI {
		t.Fatalf("SingleSignOnService %v", sso)
	}
	for _, s := range sso {
		if samlxml.Attr(s, "Location") != testSSO {
			t.Errorf("SSO Location %q", samlxml.Attr(s, "Location"))
		}
	}
	var certs []*x509.Certificate
	for _, kd := range samlxml.Children(idp, samlxml.NSMetadata, "KeyDescriptor") {
		if samlxml.Attr(kd, "use") != "signing" {
			t.Errorf("KeyDescriptor use %q", samlxml.Attr(kd, "use"))
		}
		ki, _ := samlxml.Child(kd, samlxml.NSDSig, "KeyInfo")
		xd, _ := samlxml.Child(ki, samlxml.NSDSig, "X509Data")
		xc, _ := samlxml.Child(xd, samlxml.NSDSig, "X509Certificate")
		s, _ := samlxml.Text(xc)
		der, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		certs = append(certs, c)
	}
	return samlxml.Attr(ed, "entityID"), certs
}

func TestMetadata(t *testing.T) {
	for format, want := range map[string]string{NameIDEmail: formatEmail, NameIDUser: formatPersistent} {
		sa := defaultSaaS()
		sa.NameIDFormat = format
		h := newHarness(t, withSaaS(sa))
		entityID, certs := metadataCerts(t, h)
		if entityID != testSSO {
			t.Errorf("entityID %q, want the SSO URL", entityID)
		}
		if len(certs) != 1 || !bytes.Equal(certs[0].Raw, h.keys.Certificate().Raw) {
			t.Errorf("certificates %d", len(certs))
		}
		w := h.serve(httptest.NewRequest(http.MethodGet, testSSO+"/"+EndpointMetadata, nil), EndpointMetadata)
		doc, _ := samlxml.Parse(w.Body.Bytes())
		idp, _ := samlxml.Child(doc.Root(), samlxml.NSMetadata, "IDPSSODescriptor")
		f := samlxml.Children(idp, samlxml.NSMetadata, "NameIDFormat")
		if len(f) != 1 || f[0].Text() != want {
			t.Errorf("name_id_format %q: NameIDFormat %v", format, f)
		}
	}
}

func TestMetadataAcrossRotation(t *testing.T) {
	h := newHarness(t)
	// This test rotates: its own key manager on the harness clock.
	km, err := keys.NewManager(newFakeStore(h.clk.Now), testMaster, keys.Options{Issuer: testIssuer, Now: h.clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	if err := km.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	h.keys = km
	h.idp.env.Keys = km
	h.idp.env.SAMLKeys = km
	h.auth.always = true
	old := km.Certificate()

	h.clk.Advance(time.Hour)
	if err := km.Rotate(context.Background()); err != nil {
		t.Fatal(err)
	}
	current := km.Certificate()
	_, certs := metadataCerts(t, h)
	if len(certs) != 2 || !bytes.Equal(certs[0].Raw, current.Raw) || !bytes.Equal(certs[1].Raw, old.Raw) {
		t.Fatalf("metadata after rotation: %d certificates, want the current then the rotated-out one", len(certs))
	}
	// Assertions are signed with the new key, which the metadata's first certificate verifies.
	_, raw := samlResponse(t, h.serve(getSSO(nil), ""))
	verify(t, raw, certs[0], h.clk.Now())

	h.clk.Advance(keys.DefaultOverlap)
	if _, certs = metadataCerts(t, h); len(certs) != 1 || !bytes.Equal(certs[0].Raw, current.Raw) {
		t.Fatalf("metadata after the overlap: %d certificates", len(certs))
	}
}

func TestMetadataHead(t *testing.T) {
	h := newHarness(t)
	w := h.serve(httptest.NewRequest(http.MethodHead, testSSO+"/"+EndpointMetadata, nil), EndpointMetadata)
	if w.Code != http.StatusOK || w.Body.Len() != 0 || w.Header().Get("Cache-Control") == "" {
		t.Fatalf("HEAD: status %d, %d bytes", w.Code, w.Body.Len())
	}
}
