package samlidp

import (
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"

	"github.com/beevik/etree"

	"github.com/gatehouse/gatehouse/internal/httpx"
	"github.com/gatehouse/gatehouse/internal/samlxml"
	"github.com/gatehouse/gatehouse/internal/snapshot"
)

// metadataMaxAge is how long SPs and caches may keep the metadata; short, so that a rotated-in
// certificate is picked up well inside the rotated-out key's overlap.
const metadataMaxAge = "300"

// serveMetadata serves the application's IdP metadata.
func (p *IdP) serveMetadata(w http.ResponseWriter, r *http.Request, snap *snapshot.Snapshot, app *snapshot.App) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		p.fail(w, r, snap, httpx.Errorf(http.StatusMethodNotAllowed, "method-not-allowed", "This method is not allowed here.", nil))
		return
	}
	format, ok := nameIDFormatURI(app.SaaSApp.NameIDFormat)
	if !ok {
		p.fail(w, r, snap, httpx.Errorf(http.StatusInternalServerError, "saml-app-misconfigured", misconfigured,
			fmt.Errorf("unknown name_id_format %q", app.SaaSApp.NameIDFormat)))
		return
	}
	var certs []*x509.Certificate
	if p.env.SAMLKeys != nil {
		certs = p.env.SAMLKeys.Certificates()
	}
	if len(certs) == 0 {
		p.fail(w, r, snap, httpx.Errorf(http.StatusServiceUnavailable, "saml-no-signing-key", publicUnavailable, errNoSigningKey))
		return
	}
	b, err := buildMetadata(EntityID(snap, app), format, certs)
	if err != nil {
		p.fail(w, r, snap, err)
		return
	}
	w.Header().Set("Content-Type", "application/samlmetadata+xml")
	w.Header().Set("Cache-Control", "public, max-age="+metadataMaxAge)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write(b)
}

// buildMetadata returns the IdP metadata: entity ID = SSO URL; one signing KeyDescriptor per
// certificate (the current key's first); the NameID format the application is configured
// with; SingleSignOnService for HTTP-Redirect and HTTP-POST at the SSO URL. Requests need not be
// signed (WantAuthnRequestsSigned="false").
func buildMetadata(entityID, nameIDFormat string, certs []*x509.Certificate) ([]byte, error) {
	if len(certs) == 0 {
		return nil, errors.New("samlidp: metadata without a certificate")
	}
	ed := etree.NewElement("md:EntityDescriptor")
	ed.CreateAttr("xmlns:md", samlxml.NSMetadata)
	ed.CreateAttr("xmlns:ds", samlxml.NSDSig)
	ed.CreateAttr("entityID", xmlText(entityID))
	idp := ed.CreateElement("md:IDPSSODescriptor")
	idp.CreateAttr("protocolSupportEnumeration", samlxml.NSProtocol)
	idp.CreateAttr("WantAuthnRequestsSigned", "false")
	for _, c := range certs {
		kd := idp.CreateElement("md:KeyDescriptor")
		kd.CreateAttr("use", "signing")
		kd.CreateElement("ds:KeyInfo").CreateElement("ds:X509Data").CreateElement("ds:X509Certificate").
			SetText(base64.StdEncoding.EncodeToString(c.Raw))
	}
	idp.CreateElement("md:NameIDFormat").SetText(nameIDFormat)
	for _, b := range []string{bindingRedirectURI, bindingPOSTURI} {
		sso := idp.CreateElement("md:SingleSignOnService")
		sso.CreateAttr("Binding", b)
		sso.CreateAttr("Location", xmlText(entityID))
	}
	doc := etree.NewDocument()
	doc.CreateProcInst("xml", `version="1.0" encoding="UTF-8"`)
	doc.SetRoot(ed)
	doc.WriteSettings = etree.WriteSettings{CanonicalText: true, CanonicalAttrVal: true}
	doc.Indent(2)
	b, err := doc.WriteToBytes()
	if err != nil {
		return nil, fmt.Errorf("samlidp: serialize metadata: %w", err)
	}
	return b, nil
}
