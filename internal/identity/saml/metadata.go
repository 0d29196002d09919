package saml

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/beevik/etree"
)

// SAML binding URNs.
const (
	bindingRedirectURN = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
	bindingPostURN     = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
	nameIDEmail        = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
)

// maxMetadataSize bounds IdP metadata, inline or fetched.
const maxMetadataSize = 4 << 20

// idpMetadata is what Gatehouse takes from an IdP's metadata document.
type idpMetadata struct {
	EntityID string
	// SSO maps a binding ("redirect", "post") to the SingleSignOnService location.
	SSO   map[string]string
	Certs []*x509.Certificate
}

// parseIdPMetadata reads an EntityDescriptor, or the one IdP EntityDescriptor of an
// EntitiesDescriptor (the one named entityID when given). Documents with a DOCTYPE are refused.
func parseIdPMetadata(b []byte, entityID string) (*idpMetadata, error) {
	if len(b) > maxMetadataSize {
		return nil, fmt.Errorf("metadata is larger than %d bytes", maxMetadataSize)
	}
	doc, err := parseXML(b)
	if err != nil {
		if errors.Is(err, errDoctype) {
			return nil, errors.New("metadata with a DOCTYPE or ENTITY declaration is not accepted")
		}
		return nil, fmt.Errorf("metadata is not valid XML: %w", err)
	}
	root := doc.Root()
	if !is(root, nsMetadata, "EntityDescriptor") && !is(root, nsMetadata, "EntitiesDescriptor") {
		return nil, errors.New("metadata must be an md:EntityDescriptor or md:EntitiesDescriptor")
	}
	var idps []*etree.Element // IDPSSODescriptor of each candidate entity
	var ids []string
	for _, ed := range descendants(root, nsMetadata, "EntityDescriptor") {
		for _, d := range children(ed, nsMetadata, "IDPSSODescriptor") {
			if !slices.Contains(strings.Fields(attr(d, "protocolSupportEnumeration")), nsProtocol) {
				continue
			}
			id := attr(ed, "entityID")
			if entityID != "" && id != entityID {
				continue
			}
			idps, ids = append(idps, d), append(ids, id)
			break
		}
	}
	switch {
	case len(idps) == 0 && entityID != "":
		return nil, fmt.Errorf("metadata has no SAML 2.0 IdP with entityID %q (issuer_url)", entityID)
	case len(idps) == 0:
		return nil, errors.New("metadata has no SAML 2.0 IDPSSODescriptor")
	case len(idps) > 1:
		return nil, errors.New("metadata describes several IdPs: set issuer_url to choose one")
	case ids[0] == "":
		return nil, errors.New("metadata EntityDescriptor has no entityID")
	}
	md := &idpMetadata{EntityID: ids[0], SSO: map[string]string{}}
	for _, s := range children(idps[0], nsMetadata, "SingleSignOnService") {
		var b string
		switch attr(s, "Binding") {
		case bindingRedirectURN:
			b = BindingRedirect
		case bindingPostURN:
			b = BindingPost
		default:
			continue
		}
		loc := strings.TrimSpace(attr(s, "Location"))
		if _, seen := md.SSO[b]; seen || loc == "" {
			continue
		}
		if err := checkEndpointURL(loc); err != nil {
			return nil, fmt.Errorf("SingleSignOnService %s %w", loc, err)
		}
		md.SSO[b] = loc
	}
	if len(md.SSO) == 0 {
		return nil, errors.New("metadata has no HTTP-Redirect or HTTP-POST SingleSignOnService")
	}
	for _, kd := range children(idps[0], nsMetadata, "KeyDescriptor") {
		if use := attr(kd, "use"); use != "" && use != "signing" {
			continue
		}
		for _, ki := range children(kd, nsDSig, "KeyInfo") {
			for _, xd := range children(ki, nsDSig, "X509Data") {
				for _, xc := range children(xd, nsDSig, "X509Certificate") {
					s, err := text(xc)
					if err != nil {
						return nil, err
					}
					c, err := parseCertificate(s)
					if err != nil {
						return nil, fmt.Errorf("metadata signing certificate: %w", err)
					}
					if !slices.ContainsFunc(md.Certs, c.Equal) {
						md.Certs = append(md.Certs, c)
					}
				}
			}
		}
	}
	if len(md.Certs) == 0 {
		return nil, errors.New("metadata has no signing certificate: SAML stays disabled without one")
	}
	return md, nil
}

// endpoint picks the SSO location for the configured binding ("" prefers redirect).
func (md *idpMetadata) endpoint(binding string) (string, string, error) {
	if binding != "" {
		if loc, ok := md.SSO[binding]; ok {
			return loc, binding, nil
		}
		return "", "", fmt.Errorf("the IdP offers no SingleSignOnService for binding %q", binding)
	}
	for _, b := range []string{BindingRedirect, BindingPost} {
		if loc, ok := md.SSO[b]; ok {
			return loc, b, nil
		}
	}
	return "", "", errors.New("metadata has no usable SingleSignOnService")
}

// fetchMetadata GETs metadata_url with the environment's client, reading at most
// maxMetadataSize bytes.
func fetchMetadata(ctx context.Context, client *http.Client, u string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("metadata request: %w", err)
	}
	req.Header.Set("Accept", "application/samlmetadata+xml, application/xml, text/xml")
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetching metadata: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetching metadata: HTTP status %d", resp.StatusCode)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxMetadataSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading metadata: %w", err)
	}
	if len(b) > maxMetadataSize {
		return nil, fmt.Errorf("metadata is larger than %d bytes", maxMetadataSize)
	}
	return b, nil
}

// spMetadata renders Gatehouse's SP metadata: one HTTP-POST AssertionConsumerService, e-mail
// NameIDs, signed assertions wanted, the request-signing certificate when requests are signed
// (use="signing", so that no IdP mistakes it for an encryption key), and with enable_encryption
// the encryption certificates (use="encryption") with the methods accepted, AES-GCM first.
func spMetadata(entityID, acs string, cert *x509.Certificate, encCerts []*x509.Certificate) ([]byte, error) {
	doc := etree.NewDocument()
	doc.CreateProcInst("xml", `version="1.0" encoding="UTF-8"`)
	ed := doc.CreateElement("md:EntityDescriptor")
	ed.CreateAttr("xmlns:md", nsMetadata)
	ed.CreateAttr("entityID", entityID)
	sp := ed.CreateElement("md:SPSSODescriptor")
	sp.CreateAttr("AuthnRequestsSigned", fmt.Sprint(cert != nil))
	sp.CreateAttr("WantAssertionsSigned", "true")
	sp.CreateAttr("protocolSupportEnumeration", nsProtocol)
	if cert != nil {
		kd := sp.CreateElement("md:KeyDescriptor")
		kd.CreateAttr("use", "signing")
		ki := kd.CreateElement("ds:KeyInfo")
		ki.CreateAttr("xmlns:ds", nsDSig)
		ki.CreateElement("ds:X509Data").CreateElement("ds:X509Certificate").SetText(base64.StdEncoding.EncodeToString(cert.Raw))
	}
	for _, ec := range encCerts {
		kd := sp.CreateElement("md:KeyDescriptor")
		kd.CreateAttr("use", "encryption")
		ki := kd.CreateElement("ds:KeyInfo")
		ki.CreateAttr("xmlns:ds", nsDSig)
		ki.CreateElement("ds:X509Data").CreateElement("ds:X509Certificate").SetText(base64.StdEncoding.EncodeToString(ec.Raw))
		for _, m := range encryptionMethods {
			kd.CreateElement("md:EncryptionMethod").CreateAttr("Algorithm", m)
		}
	}
	sp.CreateElement("md:NameIDFormat").SetText(nameIDEmail)
	acsEl := sp.CreateElement("md:AssertionConsumerService")
	acsEl.CreateAttr("Binding", bindingPostURN)
	acsEl.CreateAttr("Location", acs)
	acsEl.CreateAttr("index", "0")
	acsEl.CreateAttr("isDefault", "true")
	doc.Indent(2)
	b, err := doc.WriteToBytes()
	if err != nil {
		return nil, fmt.Errorf("writing SP metadata: %w", err)
	}
	return b, nil
}
