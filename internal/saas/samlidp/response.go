package samlidp

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/gatehouse/gatehouse/internal/keys"
	"github.com/gatehouse/gatehouse/internal/samlxml"
)

// SAML constants of the Response.
const (
	statusSuccess       = "urn:oasis:names:tc:SAML:2.0:status:Success"
	statusResponder     = "urn:oasis:names:tc:SAML:2.0:status:Responder"
	statusNoPassive     = "urn:oasis:names:tc:SAML:2.0:status:NoPassive"
	statusRequestDenied = "urn:oasis:names:tc:SAML:2.0:status:RequestDenied"
	methodBearer        = "urn:oasis:names:tc:SAML:2.0:cm:bearer"
	// timeFormat is xs:dateTime in UTC with milliseconds.
	timeFormat = "2006-01-02T15:04:05.000Z"
)

// Authentication context classes.
const (
	classUnspecified                = "urn:oasis:names:tc:SAML:2.0:ac:classes:unspecified"
	classPasswordProtectedTransport = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"
	classX509                       = "urn:oasis:names:tc:SAML:2.0:ac:classes:X509"
	classSmartcard                  = "urn:oasis:names:tc:SAML:2.0:ac:classes:Smartcard"
	classSoftwarePKI                = "urn:oasis:names:tc:SAML:2.0:ac:classes:SoftwarePKI"
	classKerberos                   = "urn:oasis:names:tc:SAML:2.0:ac:classes:Kerberos"
	classREFEDSMFA                  = "https://refeds.org/profile/mfa"
)

// authnContextByAMR maps RFC 8176 AMR values to the AuthnContextClassRef of the assertion, the
// strongest first: the first AMR value of the identity found in this list decides. Anything
// else (an e-mailed PIN, "otp", or no AMR at all, as after most OIDC and GitHub logins) is
// "unspecified" rather than a claim Gatehouse cannot back. These are the inverse of what the
// SAML login method (identity/saml) reads.
var authnContextByAMR = []struct{ amr, class string }{
	{"mfa", classREFEDSMFA},
	{"hwk", classX509},
	{"sc", classSmartcard},
	{"swk", classSoftwarePKI},
	{"wia", classKerberos},
	{"pwd", classPasswordProtectedTransport},
}

// authnContextClass returns the AuthnContextClassRef for amr.
func authnContextClass(amr []string) string {
	for _, m := range authnContextByAMR {
		if slices.Contains(amr, m.amr) {
			return m.class
		}
	}
	return classUnspecified
}

// nameID is the assertion subject.
type nameID struct{ Format, Value string }

// responseParams is everything one Response says.
type responseParams struct {
	IssuerID     string // the IdP entity ID
	Audience     string // the SP entity ID
	ACS          string // Destination and Recipient
	InResponseTo string // "" for an IdP-initiated login
	NameID       nameID
	Attributes   []attribute
	AMR          []string

	SessionIndex        string
	AuthnInstant        time.Time
	SessionNotOnOrAfter time.Time // zero: not sent
	Now                 time.Time

	Signer crypto.Signer
	Cert   *x509.Certificate
}

// buildResponse returns the serialized samlp:Response: the saml:Assertion is built and signed
// first, then placed in the Response, which is signed over it. Both signatures are enveloped,
// exclusive C14N, RSA-SHA256 with SHA-256 digests, and sit right after their element's Issuer as
// the schema wants. The document is serialized with canonical escaping (carriage returns,
// tabs and newlines in attribute values as character references), so a parser reads back
// exactly the text that was signed.
func buildResponse(rp *responseParams) ([]byte, error) {
	ctx, err := signingContext(rp.Signer, rp.Cert)
	if err != nil {
		return nil, err
	}
	now := rp.Now.UTC()
	ts := func(t time.Time) string { return t.UTC().Format(timeFormat) }

	a := etree.NewElement("saml:Assertion")
	a.CreateAttr("xmlns:saml", samlxml.NSAssertion)
	a.CreateAttr("ID", xmlID())
	a.CreateAttr("Version", "2.0")
	a.CreateAttr("IssueInstant", ts(now))
	a.CreateElement("saml:Issuer").SetText(xmlText(rp.IssuerID))

	subject := a.CreateElement("saml:Subject")
	nid := subject.CreateElement("saml:NameID")
	nid.CreateAttr("Format", rp.NameID.Format)
	nid.SetText(xmlText(rp.NameID.Value))
	sc := subject.CreateElement("saml:SubjectConfirmation")
	sc.CreateAttr("Method", methodBearer)
	scd := sc.CreateElement("saml:SubjectConfirmationData")
	if rp.InResponseTo != "" {
		scd.CreateAttr("InResponseTo", rp.InResponseTo)
	}
	scd.CreateAttr("NotOnOrAfter", ts(now.Add(AssertionLifetime)))
	scd.CreateAttr("Recipient", xmlText(rp.ACS))

	cond := a.CreateElement("saml:Conditions")
	cond.CreateAttr("NotBefore", ts(now.Add(-ClockSkew)))
	cond.CreateAttr("NotOnOrAfter", ts(now.Add(AssertionLifetime)))
	cond.CreateElement("saml:AudienceRestriction").CreateElement("saml:Audience").SetText(xmlText(rp.Audience))

	as := a.CreateElement("saml:AuthnStatement")
	as.CreateAttr("AuthnInstant", ts(rp.AuthnInstant))
	as.CreateAttr("SessionIndex", rp.SessionIndex)
	if !rp.SessionNotOnOrAfter.IsZero() {
		as.CreateAttr("SessionNotOnOrAfter", ts(rp.SessionNotOnOrAfter))
	}
	as.CreateElement("saml:AuthnContext").CreateElement("saml:AuthnContextClassRef").SetText(authnContextClass(rp.AMR))

	if len(rp.Attributes) > 0 {
		st := a.CreateElement("saml:AttributeStatement")
		for _, at := range rp.Attributes {
			el := st.CreateElement("saml:Attribute")
			el.CreateAttr("Name", xmlText(at.Name))
			el.CreateAttr("NameFormat", xmlText(at.NameFormat))
			if at.FriendlyName != "" {
				el.CreateAttr("FriendlyName", xmlText(at.FriendlyName))
			}
			// No values: an Attribute with no AttributeValue (an empty groups list).
			for _, v := range at.Values {
				el.CreateElement("saml:AttributeValue").SetText(xmlText(v))
			}
		}
	}
	if err := signEnveloped(ctx, a); err != nil {
		return nil, fmt.Errorf("samlidp: sign assertion: %w", err)
	}

	resp := etree.NewElement("samlp:Response")
	resp.CreateAttr("xmlns:samlp", samlxml.NSProtocol)
	resp.CreateAttr("xmlns:saml", samlxml.NSAssertion)
	resp.CreateAttr("ID", xmlID())
	resp.CreateAttr("Version", "2.0")
	resp.CreateAttr("IssueInstant", ts(now))
	resp.CreateAttr("Destination", xmlText(rp.ACS))
	if rp.InResponseTo != "" {
		resp.CreateAttr("InResponseTo", rp.InResponseTo)
	}
	resp.CreateElement("saml:Issuer").SetText(xmlText(rp.IssuerID))
	resp.CreateElement("samlp:Status").CreateElement("samlp:StatusCode").CreateAttr("Value", statusSuccess)
	resp.AddChild(a)
	if err := signEnveloped(ctx, resp); err != nil {
		return nil, fmt.Errorf("samlidp: sign response: %w", err)
	}

	doc := etree.NewDocument()
	doc.CreateProcInst("xml", `version="1.0" encoding="UTF-8"`)
	doc.SetRoot(resp)
	doc.WriteSettings = etree.WriteSettings{CanonicalText: true, CanonicalAttrVal: true}
	out, err := doc.WriteToBytes()
	if err != nil {
		return nil, fmt.Errorf("samlidp: serialize response: %w", err)
	}
	return out, nil
}

// signEnveloped signs el and inserts the ds:Signature right after its first child (the
// Issuer).
func signEnveloped(ctx *dsig.SigningContext, el *etree.Element) error {
	sig, err := ctx.ConstructSignature(el, true)
	if err != nil {
		return err
	}
	el.InsertChildAt(1, sig)
	return nil
}

// signingContext returns a goxmldsig context that signs with signer (the keys.Manager's
// RS256-bound key) and puts cert in KeyInfo.
func signingContext(signer crypto.Signer, cert *x509.Certificate) (*dsig.SigningContext, error) {
	ctx, err := dsig.NewSigningContext(signer, [][]byte{cert.Raw})
	if err != nil {
		return nil, fmt.Errorf("samlidp: signing context: %w", err)
	}
	ctx.Canonicalizer = dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("")
	if err := ctx.SetSignatureMethod(dsig.RSASHA256SignatureMethod); err != nil {
		return nil, fmt.Errorf("samlidp: signature method: %w", err)
	}
	return ctx, nil
}

// errNoSigningKey: the key manager has no current key (not loaded) or kept changing.
var errNoSigningKey = errors.New("samlidp: no current signing key and certificate")

// signingKey returns the current signer and its certificate. They are read separately from
// the manager, so a rotation in between is detected and the pair read again.
func signingKey(km *keys.Manager) (crypto.Signer, *x509.Certificate, error) {
	if km == nil {
		return nil, nil, errNoSigningKey
	}
	for range 3 {
		signer, _ := km.Signer()
		certs := km.Certificates()
		if signer == nil || len(certs) == 0 {
			return nil, nil, errNoSigningKey
		}
		if pub, ok := certs[0].PublicKey.(*rsa.PublicKey); ok && pub.Equal(signer.Public()) {
			return signer, certs[0], nil
		}
	}
	return nil, nil, errNoSigningKey
}

// xmlID returns a fresh xs:ID: '_' and 20 random bytes in hex.
func xmlID() string {
	var b [20]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return "_" + hex.EncodeToString(b[:])
}

// sessionIndex derives the SessionIndex from the org session ID without revealing it (the
// session ID is the identity nonce of get-identity).
func sessionIndex(sessionID string) string {
	if sessionID == "" {
		return xmlID()
	}
	sum := sha256.Sum256([]byte("gatehouse saml session index\x00" + sessionID))
	return "_" + hex.EncodeToString(sum[:20])
}

// buildStatusResponse returns a signed samlp:Response without an assertion, answering request
// inResponseTo with a top-level and a second-level status code (e.g. Responder/NoPassive).
func buildStatusResponse(issuer, acs, inResponseTo, top, second string, now time.Time, signer crypto.Signer, cert *x509.Certificate) ([]byte, error) {
	ctx, err := signingContext(signer, cert)
	if err != nil {
		return nil, err
	}
	resp := etree.NewElement("samlp:Response")
	resp.CreateAttr("xmlns:samlp", samlxml.NSProtocol)
	resp.CreateAttr("xmlns:saml", samlxml.NSAssertion)
	resp.CreateAttr("ID", xmlID())
	resp.CreateAttr("Version", "2.0")
	resp.CreateAttr("IssueInstant", now.UTC().Format(timeFormat))
	resp.CreateAttr("Destination", xmlText(acs))
	resp.CreateAttr("InResponseTo", inResponseTo)
	resp.CreateElement("saml:Issuer").SetText(xmlText(issuer))
	code := resp.CreateElement("samlp:Status").CreateElement("samlp:StatusCode")
	code.CreateAttr("Value", top)
	if second != "" {
		code.CreateElement("samlp:StatusCode").CreateAttr("Value", second)
	}
	if err := signEnveloped(ctx, resp); err != nil {
		return nil, fmt.Errorf("samlidp: sign response: %w", err)
	}
	doc := etree.NewDocument()
	doc.CreateProcInst("xml", `version="1.0" encoding="UTF-8"`)
	doc.SetRoot(resp)
	doc.WriteSettings = etree.WriteSettings{CanonicalText: true, CanonicalAttrVal: true}
	out, err := doc.WriteToBytes()
	if err != nil {
		return nil, fmt.Errorf("samlidp: serialize response: %w", err)
	}
	return out, nil
}
