package saml

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/beevik/etree"
	xrv "github.com/mattermost/xml-roundtrip-validator"
	dsig "github.com/russellhaering/goxmldsig"
	"github.com/russellhaering/goxmldsig/etreeutils"

	"github.com/gatehouse/gatehouse/internal/identity"
	"github.com/gatehouse/gatehouse/internal/mailaddr"
)

const (
	statusSuccess = "urn:oasis:names:tc:SAML:2.0:status:Success"
	cmBearer      = "urn:oasis:names:tc:SAML:2.0:cm:bearer"
	nameIDEntity  = "urn:oasis:names:tc:SAML:2.0:nameid-format:entity"
	nameIDUnspec  = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"
)

// checks is what a Response is verified against.
type checks struct {
	certs     []*x509.Certificate // trusted IdP signing certificates
	issuer    string              // IdP entity ID
	acs       string              // our ACS URL: Destination and Recipient
	audience  string              // our SP entity ID
	requestID string              // the AuthnRequest ID of the flow; "" when there is none
	// authAfter, when set, is when a forced fresh authentication (ForceAuthn) was requested: an
	// AuthnStatement's AuthnInstant must not predate it (less the skew).
	authAfter         time.Time
	allowIdPInitiated bool
	// decrypters are the SP encryption keys; nil when the IdP's enable_encryption is off, and
	// encrypted assertions are then refused.
	decrypters []crypto.Decrypter
	now        time.Time
	skew       time.Duration
}

// assertion is what a verified Assertion says, read from the verified element only.
type assertion struct {
	ID           string
	NameID       string
	NameIDFormat string
	Attributes   []attribute
	AuthnClasses []string // AuthnContextClassRef values
	// Expires is when the assertion can no longer be accepted anywhere (latest NotOnOrAfter plus
	// the skew): the replay cache keeps its ID until then.
	Expires time.Time
}

type attribute struct {
	Name   string
	Values []string
}

// Allowed signature and digest algorithms. SHA-1 is refused.
var (
	allowedSignatureMethods = []string{
		dsig.RSASHA256SignatureMethod, dsig.RSASHA384SignatureMethod, dsig.RSASHA512SignatureMethod,
		dsig.ECDSASHA256SignatureMethod, dsig.ECDSASHA384SignatureMethod, dsig.ECDSASHA512SignatureMethod,
	}
	allowedDigestMethods = []string{
		"http://www.w3.org/2001/04/xmlenc#sha256",
		"http://www.w3.org/2001/04/xmldsig-more#sha384",
		"http://www.w3.org/2001/04/xmlenc#sha512",
	}
	allowedTransforms = []string{
		string(dsig.EnvelopedSignatureAltorithmId),
		string(dsig.CanonicalXML10ExclusiveAlgorithmId),
		string(dsig.CanonicalXML10ExclusiveWithCommentsAlgorithmId),
	}
)

func fail(reason string, format string, args ...any) error {
	return identity.Failf(reason, format, args...)
}

// verifyResponse verifies a decoded SAMLResponse and returns the verified assertion. Every
// failure is an *identity.LoginError with a precise "saml-…" reason. The rules, in order:
//
//  1. Size at most MaxBodyBytes; no DOCTYPE/ENTITY anywhere (checked on the bytes, before any
//     parser runs); the XML round-trip validator passes (before any signature work); UTF-8,
//     no directives or processing instructions, no duplicate attributes, depth <= 64.
//  2. The root is {protocol}Response (namespace-exact everywhere). The whole document holds
//     exactly one {assertion}Assertion, a direct child of the Response (or, with
//     enable_encryption, one EncryptedAssertion there instead: see verifyEncrypted). ds:Signature elements may only be direct children of the
//     Response or of that Assertion, at most one each.
//  3. A non-Success StatusCode is reported as saml-idp-error.
//  4. Signatures. The Assertion MUST carry a signature that verifies; identity is read only
//     from the element goxmldsig returns for it (the canonical bytes the digest covered,
//     re-parsed), never from the received document. When the Response also carries a
//     signature it MUST verify too, and Response-level fields (Destination, InResponseTo,
//     Issuer) are then read from the verified Response; an invalid Response signature is never
//     ignored. A signature-less Response is accepted because many IdPs (Okta, Entra ID, and
//     crewjam's and samlify's defaults for "sign assertion") only sign the assertion, and
//     everything that binds the login (Recipient, InResponseTo, Audience, times, the subject)
//     is inside the signed assertion; unsigned Response fields are only ever used to reject.
//     Each signature: one SignedInfo with one Reference whose URI is "#" + the ID of the
//     element it sits in; RSA or ECDSA with SHA-256/384/512; enveloped + exclusive C14N
//     transforms only; verified against the configured certificates only. KeyInfo merely
//     selects among them: a KeyInfo certificate that is not configured is refused
//     (saml-untrusted-certificate), a KeyInfo without a certificate is ignored.
//  5. Response: Version 2.0; Destination present and equal to the ACS; Issuer, when present,
//     equal to issuer_url; InResponseTo equal to the flow's request ID when present, and
//     absent for an IdP-initiated login.
//  6. Assertion: Version 2.0; Issuer present and equal to issuer_url; IssueInstant not in the
//     future; a bearer SubjectConfirmation with Recipient = ACS, NotOnOrAfter in the future,
//     InResponseTo = the request ID (or absent when IdP-initiated logins are allowed and
//     there is no flow request); Conditions present with NotBefore/NotOnOrAfter respected and
//     every AudienceRestriction naming our entity ID; no condition we do not understand; at
//     least one AuthnStatement, whose SessionNotOnOrAfter has not passed.
//
// Every time comparison allows c.skew. The caller then checks the replay cache.
func verifyResponse(raw []byte, c *checks) (*assertion, error) {
	if len(raw) > MaxBodyBytes {
		return nil, fail("saml-too-large", "response is larger than %d bytes", MaxBodyBytes)
	}
	if hasDirective(raw) {
		return nil, identity.Fail("saml-doctype", errDoctype)
	}
	if !utf8.Valid(raw) {
		return nil, fail("saml-malformed", "the response is not UTF-8 XML")
	}
	if err := xrv.Validate(bytes.NewReader(raw)); err != nil {
		return nil, identity.Fail("saml-roundtrip", fmt.Errorf("XML is not round-trip stable: %w", err))
	}
	doc, err := parseXML(raw)
	if err != nil {
		if errors.Is(err, errDoctype) {
			return nil, identity.Fail("saml-doctype", err)
		}
		return nil, identity.Fail("saml-malformed", err)
	}

	root := doc.Root()
	if !is(root, nsProtocol, "Response") {
		return nil, fail("saml-malformed", "root element is <%s>, not a samlp:Response", root.Tag)
	}
	if encs := descendants(root, nsAssertion, "EncryptedAssertion"); len(encs) > 0 {
		return verifyEncrypted(root, encs, c)
	}
	as := descendants(root, nsAssertion, "Assertion")
	if len(as) > 1 {
		return nil, fail("saml-multiple-assertions", "the response holds %d assertions; exactly one is accepted", len(as))
	}
	for _, s := range descendants(root, nsDSig, "Signature") {
		if p := s.Parent(); p != root && (len(as) == 0 || p != as[0]) {
			return nil, fail("saml-signature-misplaced", "a ds:Signature inside <%s> signs neither the Response nor the Assertion", p.Tag)
		}
	}
	if err := checkStatus(root); err != nil {
		return nil, err
	}
	if len(as) == 0 {
		return nil, fail("saml-missing-assertion", "the response holds no assertion")
	}
	if as[0].Parent() != root {
		return nil, fail("saml-assertion-misplaced", "the assertion is inside <%s>, not a direct child of the Response", as[0].Parent().Tag)
	}
	respSig, err := child(root, nsDSig, "Signature")
	if err != nil {
		return nil, fail("saml-signature-misplaced", "the Response carries several signatures")
	}
	asSig, err := child(as[0], nsDSig, "Signature")
	if err != nil {
		return nil, fail("saml-signature-misplaced", "the Assertion carries several signatures")
	}
	if asSig == nil {
		return nil, fail("saml-unsigned-assertion", "the assertion is not signed")
	}
	if respID := attr(root, "ID"); respID != "" && respID == attr(as[0], "ID") {
		return nil, fail("saml-malformed", "Response and Assertion share the ID %q", respID)
	}

	resp := root // unsigned: its fields are only used to reject
	if respSig != nil {
		if resp, err = verifySignature(root, respSig, c); err != nil {
			return nil, err
		}
	}
	va, err := verifySignature(as[0], asSig, c)
	if err != nil {
		return nil, err
	}
	if !is(va, nsAssertion, "Assertion") || (respSig != nil && !is(resp, nsProtocol, "Response")) {
		return nil, fail("saml-signature-invalid", "the verified element is not the expected one")
	}
	if err := checkResponse(resp, c); err != nil {
		return nil, err
	}
	return readAssertion(va, c)
}

// verifyEncrypted handles a Response carrying an EncryptedAssertion (enable_encryption): exactly
// one, a direct child of the Response, and no plain Assertion beside it. A Response signature,
// when present, is verified first, over the ciphertext; then the assertion is decrypted (see
// decryptAssertion), its plaintext goes through the same hardening as a response (size, no
// DTD, round trip, parser limits), and it MUST carry its own valid signature like any
// assertion: encryption to Gatehouse's public certificate proves nothing about the sender.
func verifyEncrypted(root *etree.Element, encs []*etree.Element, c *checks) (*assertion, error) {
	if c.decrypters == nil {
		return nil, fail("saml-encrypted-assertion", "the assertion is encrypted but enable_encryption is off for this identity provider")
	}
	if len(encs) > 1 || len(descendants(root, nsAssertion, "Assertion")) > 0 {
		return nil, fail("saml-multiple-assertions", "the response holds more than one assertion")
	}
	if encs[0].Parent() != root {
		return nil, fail("saml-assertion-misplaced", "the encrypted assertion is inside <%s>, not a direct child of the Response", encs[0].Parent().Tag)
	}
	for _, s := range descendants(root, nsDSig, "Signature") {
		if s.Parent() != root {
			return nil, fail("saml-signature-misplaced", "a ds:Signature inside <%s> does not sign the Response", s.Parent().Tag)
		}
	}
	if err := checkStatus(root); err != nil {
		return nil, err
	}
	respSig, err := child(root, nsDSig, "Signature")
	if err != nil {
		return nil, fail("saml-signature-misplaced", "the Response carries several signatures")
	}
	resp := root // unsigned: its fields are only used to reject
	if respSig != nil {
		if resp, err = verifySignature(root, respSig, c); err != nil {
			return nil, err
		}
		if !is(resp, nsProtocol, "Response") {
			return nil, fail("saml-signature-invalid", "the verified element is not the expected one")
		}
	}
	plain, err := decryptAssertion(encs[0], c.decrypters, respSig != nil)
	if err != nil {
		return nil, err
	}
	if hasDirective(plain) || !utf8.Valid(plain) {
		return nil, fail("saml-decrypt-failed", "%v", errDecrypt)
	}
	if err := xrv.Validate(bytes.NewReader(plain)); err != nil {
		return nil, identity.Fail("saml-roundtrip", fmt.Errorf("decrypted assertion is not round-trip stable: %w", err))
	}
	adoc, err := parseXML(plain)
	if err != nil {
		return nil, fail("saml-decrypt-failed", "%v", errDecrypt)
	}
	a := adoc.Root()
	if !is(a, nsAssertion, "Assertion") {
		return nil, fail("saml-malformed", "the encrypted element is <%s>, not a saml:Assertion", a.Tag)
	}
	if len(descendants(a, nsAssertion, "Assertion")) > 1 || len(descendants(a, nsAssertion, "EncryptedAssertion")) > 0 { // descendants includes a
		return nil, fail("saml-multiple-assertions", "the decrypted assertion holds another assertion")
	}
	for _, s := range descendants(a, nsDSig, "Signature") {
		if s.Parent() != a {
			return nil, fail("saml-signature-misplaced", "a ds:Signature inside <%s> does not sign the Assertion", s.Parent().Tag)
		}
	}
	asSig, err := child(a, nsDSig, "Signature")
	if err != nil {
		return nil, fail("saml-signature-misplaced", "the Assertion carries several signatures")
	}
	if asSig == nil {
		return nil, fail("saml-unsigned-assertion", "the assertion is not signed (an encrypted assertion must be signed too)")
	}
	if respID := attr(root, "ID"); respID != "" && respID == attr(a, "ID") {
		return nil, fail("saml-malformed", "Response and Assertion share the ID %q", respID)
	}
	va, err := verifySignature(a, asSig, c)
	if err != nil {
		return nil, err
	}
	if !is(va, nsAssertion, "Assertion") {
		return nil, fail("saml-signature-invalid", "the verified element is not the expected one")
	}
	if err := checkResponse(resp, c); err != nil {
		return nil, err
	}
	return readAssertion(va, c)
}

// checkStatus rejects a Response whose top-level StatusCode is not Success.
func checkStatus(root *etree.Element) error {
	st, err := child(root, nsProtocol, "Status")
	if err != nil || st == nil {
		return fail("saml-malformed", "the response has no single Status")
	}
	sc, err := child(st, nsProtocol, "StatusCode")
	if err != nil || sc == nil {
		return fail("saml-malformed", "the response has no single StatusCode")
	}
	if v := attr(sc, "Value"); v != statusSuccess {
		detail := v
		if sub, _ := child(sc, nsProtocol, "StatusCode"); sub != nil {
			detail += " / " + attr(sub, "Value")
		}
		return fail("saml-idp-error", "the IdP answered with status %s", detail)
	}
	return nil
}

// verifySignature checks the enveloped signature sig of el (see verifyResponse, rule 4) and
// returns the verified element.
func verifySignature(el, sig *etree.Element, c *checks) (*etree.Element, error) {
	id := attr(el, "ID")
	if id == "" {
		return nil, fail("saml-malformed", "signed <%s> has no ID", el.Tag)
	}
	if err := checkSignedInfo(sig, id); err != nil {
		return nil, err
	}
	certs, stripKeyInfo, err := candidateCerts(sig, c)
	if err != nil {
		return nil, err
	}
	nsctx, err := etreeutils.NSBuildParentContext(el)
	if err != nil {
		return nil, fail("saml-malformed", "namespaces of <%s>: %v", el.Tag, err)
	}
	detached, err := etreeutils.NSDetatch(nsctx, el)
	if err != nil {
		return nil, fail("saml-malformed", "namespaces of <%s>: %v", el.Tag, err)
	}
	if stripKeyInfo {
		for _, s := range children(detached, nsDSig, "Signature") {
			for _, ki := range children(s, nsDSig, "KeyInfo") {
				s.RemoveChild(ki)
			}
		}
	}
	var last error
	for _, cert := range certs {
		vc := dsig.NewDefaultValidationContext(&dsig.MemoryX509CertificateStore{Roots: []*x509.Certificate{cert}})
		vc.IdAttribute = dsig.DefaultIdAttr
		vc.Clock = dsig.NewFakeClockAt(c.now)
		out, err := vc.Validate(detached)
		if err == nil {
			return out, nil
		}
		last = err
	}
	return nil, identity.Fail("saml-signature-invalid", fmt.Errorf("signature on <%s> does not verify with a configured certificate: %w", el.Tag, last))
}

// checkSignedInfo enforces the signature shape and algorithms before verification.
func checkSignedInfo(sig *etree.Element, id string) error {
	si, err := child(sig, nsDSig, "SignedInfo")
	if err != nil || si == nil {
		return fail("saml-signature-invalid", "the signature has no single SignedInfo")
	}
	sm, err := child(si, nsDSig, "SignatureMethod")
	if err != nil || sm == nil {
		return fail("saml-signature-invalid", "the signature has no single SignatureMethod")
	}
	if alg := attr(sm, "Algorithm"); !slices.Contains(allowedSignatureMethods, alg) {
		return fail("saml-weak-algorithm", "signature method %q is not accepted (RSA or ECDSA with SHA-256 or better)", alg)
	}
	refs := children(si, nsDSig, "Reference")
	if len(refs) != 1 {
		return fail("saml-signature-invalid", "the signature has %d references; exactly one is accepted", len(refs))
	}
	if uri := attr(refs[0], "URI"); uri != "#"+id {
		return fail("saml-signature-invalid", "the signature references %q, not the element it is in (#%s)", uri, id)
	}
	dm, err := child(refs[0], nsDSig, "DigestMethod")
	if err != nil || dm == nil {
		return fail("saml-signature-invalid", "the reference has no single DigestMethod")
	}
	if alg := attr(dm, "Algorithm"); !slices.Contains(allowedDigestMethods, alg) {
		return fail("saml-weak-algorithm", "digest method %q is not accepted (SHA-256 or better)", alg)
	}
	if ts, _ := child(refs[0], nsDSig, "Transforms"); ts != nil {
		for _, t := range children(ts, nsDSig, "Transform") {
			if alg := attr(t, "Algorithm"); !slices.Contains(allowedTransforms, alg) {
				return fail("saml-signature-invalid", "transform %q is not accepted", alg)
			}
		}
	}
	return nil
}

// candidateCerts returns the configured certificates to try, valid now. KeyInfo is only a
// selector: its certificate must be one of the configured ones.
func candidateCerts(sig *etree.Element, c *checks) (certs []*x509.Certificate, stripKeyInfo bool, err error) {
	valid := func(cert *x509.Certificate) bool {
		return !c.now.Before(cert.NotBefore) && !c.now.After(cert.NotAfter)
	}
	var keyInfoCert *etree.Element
	ki, err := child(sig, nsDSig, "KeyInfo")
	if err != nil {
		return nil, false, fail("saml-signature-invalid", "the signature has several KeyInfo elements")
	}
	if ki != nil {
		if xd, _ := child(ki, nsDSig, "X509Data"); xd != nil {
			if xcs := children(xd, nsDSig, "X509Certificate"); len(xcs) > 0 {
				keyInfoCert = xcs[0]
			}
		}
	}
	if keyInfoCert == nil {
		for _, cert := range c.certs {
			if valid(cert) {
				certs = append(certs, cert)
			}
		}
		if len(certs) == 0 {
			return nil, false, fail("saml-certificate-expired", "no configured IdP certificate is valid now")
		}
		return certs, ki != nil, nil
	}
	s, err := text(keyInfoCert)
	if err != nil {
		return nil, false, fail("saml-signature-invalid", "KeyInfo certificate: %v", err)
	}
	der, err := decodeBase64Loose(s, 64<<10)
	if err != nil {
		return nil, false, fail("saml-signature-invalid", "KeyInfo certificate is not base64")
	}
	for _, cert := range c.certs {
		if bytes.Equal(cert.Raw, der) {
			if !valid(cert) {
				return nil, false, fail("saml-certificate-expired", "the IdP signed with a configured certificate that is not valid now (not after %s)", cert.NotAfter.UTC().Format(time.RFC3339))
			}
			return []*x509.Certificate{cert}, false, nil
		}
	}
	return nil, false, fail("saml-untrusted-certificate", "the IdP signed with a certificate that is not configured (KeyInfo certificate %s…)", shortB64(der))
}

func shortB64(der []byte) string {
	s := base64.StdEncoding.EncodeToString(der)
	if len(s) > 24 {
		s = s[len(s)-24:]
	}
	return s
}

// checkResponse applies rule 5 to the Response (verified when it was signed).
func checkResponse(resp *etree.Element, c *checks) error {
	if v := attr(resp, "Version"); v != "2.0" {
		return fail("saml-malformed", "response version %q", v)
	}
	if d := attr(resp, "Destination"); d != c.acs {
		return fail("saml-destination-mismatch", "response Destination %q is not this ACS %q", d, c.acs)
	}
	iss, err := child(resp, nsAssertion, "Issuer")
	if err != nil {
		return fail("saml-malformed", "the response has several Issuers")
	}
	if iss != nil {
		if err := checkIssuer(iss, c); err != nil {
			return err
		}
	}
	irt := attr(resp, "InResponseTo") // an empty value (samlify's IdP-initiated template) is no value
	has := irt != ""
	switch {
	case c.requestID != "" && has && irt != c.requestID:
		return fail("saml-in-response-to-mismatch", "response InResponseTo %q does not answer request %q", irt, c.requestID)
	case c.requestID == "" && has:
		return fail("saml-in-response-to-mismatch", "response answers request %q but this login sent none", irt)
	}
	return nil
}

func checkIssuer(iss *etree.Element, c *checks) error {
	v, err := text(iss)
	if err != nil {
		return fail("saml-malformed", "issuer: %v", err)
	}
	if f := attr(iss, "Format"); f != "" && f != nameIDEntity {
		return fail("saml-issuer-mismatch", "issuer format %q is not the entity format", f)
	}
	if v != c.issuer {
		return fail("saml-issuer-mismatch", "issuer %q is not the configured IdP %q", v, c.issuer)
	}
	return nil
}

func parseTime(el *etree.Element, name string) (time.Time, bool, error) {
	if !hasAttr(el, name) {
		return time.Time{}, false, nil
	}
	t, err := time.Parse(time.RFC3339Nano, attr(el, name))
	if err != nil {
		return time.Time{}, true, fail("saml-malformed", "<%s> %s is not an xs:dateTime", el.Tag, name)
	}
	return t, true, nil
}

// readAssertion applies rule 6 to the verified assertion and reads it.
func readAssertion(va *etree.Element, c *checks) (*assertion, error) {
	a := &assertion{ID: attr(va, "ID")}
	if v := attr(va, "Version"); v != "2.0" {
		return nil, fail("saml-malformed", "assertion version %q", v)
	}
	if a.ID == "" {
		return nil, fail("saml-malformed", "the assertion has no ID")
	}
	iss, err := child(va, nsAssertion, "Issuer")
	if err != nil || iss == nil {
		return nil, fail("saml-missing-issuer", "the assertion has no single Issuer")
	}
	if err := checkIssuer(iss, c); err != nil {
		return nil, err
	}
	if t, ok, err := parseTime(va, "IssueInstant"); err != nil {
		return nil, err
	} else if !ok {
		return nil, fail("saml-malformed", "the assertion has no IssueInstant")
	} else if t.After(c.now.Add(c.skew)) {
		return nil, fail("saml-not-yet-valid", "the assertion was issued in the future (%s)", t.UTC().Format(time.RFC3339))
	}

	// Subject and bearer confirmation.
	subj, err := child(va, nsAssertion, "Subject")
	if err != nil || subj == nil {
		return nil, fail("saml-malformed", "the assertion has no single Subject")
	}
	if eid, _ := child(subj, nsAssertion, "EncryptedID"); eid != nil {
		return nil, fail("saml-encrypted-assertion", "encrypted NameIDs are not supported in this release")
	}
	nid, err := child(subj, nsAssertion, "NameID")
	if err != nil {
		return nil, fail("saml-malformed", "the subject has several NameIDs")
	}
	if nid != nil {
		if a.NameID, err = text(nid); err != nil {
			return nil, fail("saml-malformed", "NameID: %v", err)
		}
		a.NameIDFormat = attr(nid, "Format")
	}
	expires, err := checkBearer(subj, c)
	if err != nil {
		return nil, err
	}
	a.Expires = expires

	// Conditions.
	cond, err := child(va, nsAssertion, "Conditions")
	if err != nil || cond == nil {
		return nil, fail("saml-audience-mismatch", "the assertion has no single Conditions element, so no audience restriction")
	}
	if nb, ok, err := parseTime(cond, "NotBefore"); err != nil {
		return nil, err
	} else if ok && c.now.Add(c.skew).Before(nb) {
		return nil, fail("saml-not-yet-valid", "the assertion is valid from %s", nb.UTC().Format(time.RFC3339))
	}
	if na, ok, err := parseTime(cond, "NotOnOrAfter"); err != nil {
		return nil, err
	} else if ok {
		if !c.now.Add(-c.skew).Before(na) {
			return nil, fail("saml-expired", "the assertion expired at %s", na.UTC().Format(time.RFC3339))
		}
		if e := na.Add(c.skew); e.After(a.Expires) {
			a.Expires = e
		}
	}
	restrictions := 0
	for _, ce := range cond.ChildElements() {
		switch {
		case is(ce, nsAssertion, "AudienceRestriction"):
			restrictions++
			var auds []string
			for _, au := range children(ce, nsAssertion, "Audience") {
				v, err := text(au)
				if err != nil {
					return nil, fail("saml-malformed", "audience: %v", err)
				}
				auds = append(auds, v)
			}
			if !slices.Contains(auds, c.audience) {
				return nil, fail("saml-audience-mismatch", "audience %q is not this SP %q", auds, c.audience)
			}
		case is(ce, nsAssertion, "OneTimeUse"), is(ce, nsAssertion, "ProxyRestriction"):
			// OneTimeUse is what the replay cache enforces anyway; ProxyRestriction limits
			// what Gatehouse may do with the assertion, and it does not pass it on.
		default:
			return nil, fail("saml-unsupported-condition", "condition <%s> is not understood", ce.Tag)
		}
	}
	if restrictions == 0 {
		return nil, fail("saml-audience-mismatch", "the assertion has no AudienceRestriction")
	}

	// Authentication statements.
	stmts := children(va, nsAssertion, "AuthnStatement")
	if len(stmts) == 0 {
		return nil, fail("saml-missing-authn-statement", "the assertion has no AuthnStatement")
	}
	fresh := c.authAfter.IsZero()
	for _, st := range stmts {
		if !fresh {
			if at, ok, err := parseTime(st, "AuthnInstant"); err != nil {
				return nil, err
			} else if ok && !at.Before(c.authAfter.Add(-c.skew)) {
				fresh = true
			}
		}
		if sn, ok, err := parseTime(st, "SessionNotOnOrAfter"); err != nil {
			return nil, err
		} else if ok && !c.now.Add(-c.skew).Before(sn) {
			return nil, fail("saml-expired", "the IdP session ended at %s", sn.UTC().Format(time.RFC3339))
		}
		if ac, _ := child(st, nsAssertion, "AuthnContext"); ac != nil {
			if ref, _ := child(ac, nsAssertion, "AuthnContextClassRef"); ref != nil {
				if v, err := text(ref); err == nil && v != "" {
					a.AuthnClasses = append(a.AuthnClasses, v)
				}
			}
		}
	}

	if !fresh {
		return nil, fail("saml-reauthentication-missing", "a fresh authentication (ForceAuthn) was requested and no AuthnInstant is after it")
	}

	// Attributes: text values only; complex values are skipped.
	for _, as := range children(va, nsAssertion, "AttributeStatement") {
		for _, at := range children(as, nsAssertion, "Attribute") {
			name := attr(at, "Name")
			if name == "" {
				continue
			}
			var vals []string
			for _, v := range children(at, nsAssertion, "AttributeValue") {
				if s, err := text(v); err == nil && !isNil(v) {
					vals = append(vals, s)
				}
			}
			i := slices.IndexFunc(a.Attributes, func(x attribute) bool { return x.Name == name })
			if i < 0 {
				a.Attributes = append(a.Attributes, attribute{Name: name, Values: vals})
			} else {
				a.Attributes[i].Values = append(a.Attributes[i].Values, vals...)
			}
		}
	}
	return a, nil
}

func isNil(v *etree.Element) bool {
	for _, at := range v.Attr {
		if at.Key == "nil" && at.Value == "true" && at.NamespaceURI() == "http://www.w3.org/2001/XMLSchema-instance" {
			return true
		}
	}
	return false
}

// checkBearer finds a bearer SubjectConfirmation that satisfies the Web SSO profile and returns
// its NotOnOrAfter plus the skew. When none does, the first bearer confirmation's problem is
// reported.
func checkBearer(subj *etree.Element, c *checks) (time.Time, error) {
	var first error
	for _, sc := range children(subj, nsAssertion, "SubjectConfirmation") {
		if attr(sc, "Method") != cmBearer {
			continue
		}
		exp, err := checkConfirmation(sc, c)
		if err == nil {
			return exp, nil
		}
		if first == nil {
			first = err
		}
	}
	if first == nil {
		first = fail("saml-no-subject-confirmation", "the subject has no bearer SubjectConfirmation")
	}
	return time.Time{}, first
}

func checkConfirmation(sc *etree.Element, c *checks) (time.Time, error) {
	d, err := child(sc, nsAssertion, "SubjectConfirmationData")
	if err != nil || d == nil {
		return time.Time{}, fail("saml-no-subject-confirmation", "the bearer confirmation has no single SubjectConfirmationData")
	}
	if r := attr(d, "Recipient"); r != c.acs {
		return time.Time{}, fail("saml-recipient-mismatch", "Recipient %q is not this ACS %q", r, c.acs)
	}
	na, ok, err := parseTime(d, "NotOnOrAfter")
	if err != nil {
		return time.Time{}, err
	}
	if !ok {
		return time.Time{}, fail("saml-malformed", "the bearer confirmation has no NotOnOrAfter")
	}
	if !c.now.Add(-c.skew).Before(na) {
		return time.Time{}, fail("saml-expired", "the bearer confirmation expired at %s", na.UTC().Format(time.RFC3339))
	}
	if nb, ok, err := parseTime(d, "NotBefore"); err != nil {
		return time.Time{}, err
	} else if ok && c.now.Add(c.skew).Before(nb) {
		return time.Time{}, fail("saml-not-yet-valid", "the bearer confirmation is valid from %s", nb.UTC().Format(time.RFC3339))
	}
	irt := attr(d, "InResponseTo")
	has := irt != ""
	switch {
	case c.requestID != "" && irt != c.requestID:
		return time.Time{}, fail("saml-in-response-to-mismatch", "the assertion answers %q, not this login's request %q", irt, c.requestID)
	case c.requestID == "" && has:
		return time.Time{}, fail("saml-in-response-to-mismatch", "the assertion answers request %q but this login sent none", irt)
	case c.requestID == "" && !c.allowIdPInitiated:
		return time.Time{}, fail("saml-unsolicited-response", "IdP-initiated login is not allowed for this IdP (allow_idp_initiated)")
	}
	return na.Add(c.skew), nil
}

// identity turns a verified assertion into the identity.
func (c *Connector) identity(a *assertion) (*identity.Identity, error) {
	id := &identity.Identity{IdP: identity.IdP{ID: c.id, Type: Type}}
	values := func(name string) []string {
		for _, at := range a.Attributes {
			if at.Name == name {
				return at.Values
			}
		}
		return nil
	}

	// A NameID that is not an address in normal form (a user name, an opaque ID) leaves the
	// address to the email attribute; nameIDProblem keeps why, for when there is none.
	email, src := "", ""
	var nameIDProblem error
	nameIDCandidate := (a.NameIDFormat == nameIDEmail || a.NameIDFormat == "" || a.NameIDFormat == nameIDUnspec) && a.NameID != ""
	if nameIDCandidate {
		_, nameIDProblem = mailaddr.Normalize(a.NameID)
	}
	switch {
	case c.cfg.EmailAttributeName != "":
		src = "attribute " + c.cfg.EmailAttributeName
		vs := values(c.cfg.EmailAttributeName)
		if len(vs) > 1 {
			return nil, fail("saml-email-invalid", "%s has %d values; exactly one is needed", src, len(vs))
		}
		if len(vs) == 1 {
			email = vs[0]
		}
	case nameIDCandidate && nameIDProblem == nil:
		src, email = "NameID", a.NameID
	default:
		src = "attribute email"
		vs := values("email")
		if len(vs) > 1 {
			return nil, fail("saml-email-invalid", "%s has %d values; exactly one is needed", src, len(vs))
		}
		if len(vs) == 1 {
			email = vs[0]
		}
		if email == "" && a.NameIDFormat == nameIDEmail && nameIDProblem != nil {
			return nil, fail("saml-email-invalid", "NameID: %v", nameIDProblem)
		}
	}
	if email == "" {
		return nil, fail("saml-email-missing", "no e-mail address in %s", src)
	}
	normal, err := mailaddr.Normalize(email)
	if err != nil {
		return nil, fail("saml-email-invalid", "%s: %v", src, err)
	}
	id.Email = normal

	for _, n := range nameAttributes {
		if vs := values(n); len(vs) > 0 && vs[0] != "" {
			id.Name = vs[0]
			break
		}
	}
	for _, at := range a.Attributes {
		if strings.EqualFold(at.Name, "groups") {
			for _, g := range at.Values {
				if g != "" {
					id.Groups = append(id.Groups, identity.Group{ID: g, Name: g})
				}
			}
		}
	}
	id.AMR = amrFor(a.AuthnClasses, values(msAuthnMethodsReferences))
	if len(c.cfg.Attributes) > 0 {
		id.SAMLAttributes = map[string][]string{}
		for _, n := range c.cfg.Attributes {
			if vs := values(n); len(vs) > 0 {
				id.SAMLAttributes[n] = slices.Clone(vs)
			}
		}
		if len(id.SAMLAttributes) == 0 {
			id.SAMLAttributes = nil
		}
	}
	for _, h := range c.cfg.HeaderAttributes {
		// Values become request headers at the origin: drop any that could split a header.
		vs := slices.DeleteFunc(slices.Clone(values(h.AttributeName)), func(v string) bool {
			return strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 && r != '\t' || r == 0x7f })
		})
		if len(vs) > 0 {
			if id.HeaderAttributes == nil {
				id.HeaderAttributes = map[string][]string{}
			}
			id.HeaderAttributes[h.HeaderName] = vs
		}
	}
	return id, nil
}

// nameAttributes are tried in order for the display name.
var nameAttributes = []string{
	"name", "displayName", "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name",
	"urn:oid:2.16.840.1.113730.3.1.241", "cn", "urn:oid:2.5.4.3",
}
