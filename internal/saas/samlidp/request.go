package samlidp

import (
	"bytes"
	"compress/flate"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	xrv "github.com/mattermost/xml-roundtrip-validator"

	"github.com/gatehouse/gatehouse/internal/samlxml"
)

// Size limits of AuthnRequests, on every binding.
const (
	// MaxRequestBytes bounds the AuthnRequest XML, after base64 and, on HTTP-Redirect, after
	// inflating: real requests are a few kilobytes.
	MaxRequestBytes = 32 << 10
	// MaxRelayStateBytes bounds the RelayState (SAML says 80 bytes; SPs send URLs).
	MaxRelayStateBytes = 4 << 10
	// maxEncodedBytes bounds the SAMLRequest parameter before decoding.
	maxEncodedBytes = 2 * MaxRequestBytes
	// maxBodyBytes bounds the HTTP-POST form body.
	maxBodyBytes = 2*maxEncodedBytes + MaxRelayStateBytes
	// maxRequestIDBytes bounds the AuthnRequest ID echoed as InResponseTo.
	maxRequestIDBytes = 256
)

// SAML constants.
const (
	bindingPOSTURI     = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
	bindingRedirectURI = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
	entityFormat       = "urn:oasis:names:tc:SAML:2.0:nameid-format:entity"
)

// binding is how an AuthnRequest arrived.
type binding int

const (
	bindingRedirect binding = iota // query string, DEFLATE + base64
	bindingPOST                    // form field, base64
)

// expect is what an AuthnRequest must agree with: the application's configuration and our SSO
// URL.
type expect struct {
	spEntityID string
	acs        string
	idpSSO     string
}

// authnRequest is what Gatehouse keeps of a valid AuthnRequest.
type authnRequest struct {
	ID         string
	RelayState string
	// ForceAuthn asks for a fresh login; IsPassive forbids any interaction with the user.
	ForceAuthn, IsPassive bool
}

// parseRequest decodes and checks the SAMLRequest and RelayState parameters of one binding.
// Errors carry a "saml-request-…" reason. Signature and SigAlg are ignored (see the package
// documentation) but may occur at most once, like every other SAML parameter.
func parseRequest(params url.Values, b binding, want *expect) (*authnRequest, error) {
	for _, k := range []string{"SAMLRequest", "RelayState", "SigAlg", "Signature"} {
		if n := len(params[k]); n > 1 {
			return nil, failf("saml-request-malformed", fmt.Errorf("%s given %d times", k, n))
		}
	}
	enc := params.Get("SAMLRequest")
	if strings.TrimSpace(enc) == "" {
		return nil, failf("saml-request-malformed", errors.New("empty SAMLRequest"))
	}
	if len(enc) > maxEncodedBytes {
		return nil, failf("saml-request-too-large", fmt.Errorf("SAMLRequest parameter is %d bytes", len(enc)))
	}
	if b == bindingRedirect {
		// A '+' left unescaped in the query string arrives as a space.
		enc = strings.ReplaceAll(enc, " ", "+")
	}
	raw, err := samlxml.DecodeBase64Loose(enc, maxEncodedBytes)
	if err != nil {
		return nil, failf("saml-request-bad-encoding", fmt.Errorf("SAMLRequest is not base64: %w", err))
	}
	// HTTP-Redirect requests are DEFLATEd. So are HTTP-POST requests from node-saml (and
	// passport-saml) by default, against the binding: a POST body that is not XML is inflated
	// too, with the same bound, and must then pass the same checks.
	if b == bindingRedirect || !looksLikeXML(raw) {
		if raw, err = inflate(raw, MaxRequestBytes); err != nil {
			if errors.Is(err, samlxml.ErrTooLarge) {
				return nil, failf("saml-request-too-large", fmt.Errorf("inflated SAMLRequest exceeds %d bytes", MaxRequestBytes))
			}
			return nil, failf("saml-request-bad-encoding", fmt.Errorf("SAMLRequest is not DEFLATE data: %w", err))
		}
	}
	relay := params.Get("RelayState")
	if len(relay) > MaxRelayStateBytes {
		return nil, failf("saml-request-relay-state-too-long", fmt.Errorf("RelayState is %d bytes", len(relay)))
	}
	if !utf8.ValidString(relay) || strings.ContainsFunc(relay, unicode.IsControl) {
		return nil, failf("saml-request-malformed", errors.New("RelayState is not UTF-8 text"))
	}
	req, err := checkAuthnRequest(raw, want)
	if err != nil {
		return nil, err
	}
	req.RelayState = relay
	return req, nil
}

// looksLikeXML reports whether b starts, after white space and a UTF-8 byte order mark, with
// '<'.
func looksLikeXML(b []byte) bool {
	b = bytes.TrimLeft(bytes.TrimPrefix(bytes.TrimLeft(b, " \t\r\n"), []byte("\xef\xbb\xbf")), " \t\r\n")
	return len(b) > 0 && b[0] == '<'
}

// inflate decompresses raw DEFLATE data, refusing (samlxml.ErrTooLarge) output beyond max
// bytes without ever holding more than max+1 of them.
func inflate(b []byte, max int) ([]byte, error) {
	fr := flate.NewReader(bytes.NewReader(b))
	defer fr.Close()
	out, err := io.ReadAll(io.LimitReader(fr, int64(max)+1))
	if len(out) > max {
		return nil, samlxml.ErrTooLarge
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

// checkAuthnRequest parses the AuthnRequest XML and checks it against want; it returns the
// request's ID, ForceAuthn and IsPassive (xs:boolean; any other value is refused). The checks, in order: size; no DOCTYPE/ENTITY (on the bytes, before any parser
// runs); UTF-8; XML round-trip stability; samlxml.Parse's rules; the root is
// {protocol}AuthnRequest with Version 2.0 and a sane ID; exactly one {assertion}Issuer equal to
// the SP entity ID (with no Format or the entity format); Destination, when present, equal to
// our SSO URL; AssertionConsumerServiceURL, when present, equal to the configured ACS, or
// AssertionConsumerServiceIndex, when present, 0 (not both); ProtocolBinding, when present,
// HTTP-POST.
func checkAuthnRequest(raw []byte, want *expect) (*authnRequest, error) {
	if len(raw) > MaxRequestBytes {
		return nil, failf("saml-request-too-large", fmt.Errorf("AuthnRequest is %d bytes", len(raw)))
	}
	if samlxml.HasDirective(raw) {
		return nil, failf("saml-request-doctype", samlxml.ErrDoctype)
	}
	if !utf8.Valid(raw) {
		return nil, failf("saml-request-malformed", errors.New("AuthnRequest is not UTF-8"))
	}
	if err := xrv.Validate(bytes.NewReader(raw)); err != nil {
		return nil, failf("saml-request-roundtrip", fmt.Errorf("XML is not round-trip stable: %w", err))
	}
	doc, err := samlxml.Parse(raw)
	if err != nil {
		if errors.Is(err, samlxml.ErrDoctype) {
			return nil, failf("saml-request-doctype", err)
		}
		return nil, failf("saml-request-malformed", err)
	}
	root := doc.Root()
	if !samlxml.Is(root, samlxml.NSProtocol, "AuthnRequest") {
		return nil, failf("saml-request-malformed", fmt.Errorf("root element is <%s>, not a samlp:AuthnRequest", root.FullTag()))
	}
	if v := samlxml.Attr(root, "Version"); v != "2.0" {
		return nil, failf("saml-request-malformed", fmt.Errorf("Version %q, want 2.0", v))
	}
	id := samlxml.Attr(root, "ID")
	if !validRequestID(id) {
		return nil, failf("saml-request-malformed", fmt.Errorf("missing or unusable ID %q", truncate(id)))
	}

	issuerEl, err := samlxml.Child(root, samlxml.NSAssertion, "Issuer")
	if err != nil {
		return nil, failf("saml-request-malformed", err)
	}
	if issuerEl == nil {
		return nil, failf("saml-request-unknown-sp", errors.New("AuthnRequest has no saml:Issuer"))
	}
	issuer, err := samlxml.Text(issuerEl)
	if err != nil {
		return nil, failf("saml-request-malformed", err)
	}
	if f := samlxml.Attr(issuerEl, "Format"); f != "" && f != entityFormat {
		return nil, failf("saml-request-unknown-sp", fmt.Errorf("Issuer Format %q", truncate(f)))
	}
	if issuer != want.spEntityID {
		return nil, failf("saml-request-unknown-sp", fmt.Errorf("Issuer %q is not the application's sp_entity_id", truncate(issuer)))
	}

	if samlxml.HasAttr(root, "Destination") {
		if d := samlxml.Attr(root, "Destination"); d != want.idpSSO {
			return nil, failf("saml-request-destination-mismatch", fmt.Errorf("Destination %q is not %q", truncate(d), want.idpSSO))
		}
	}
	hasURL, hasIndex := samlxml.HasAttr(root, "AssertionConsumerServiceURL"), samlxml.HasAttr(root, "AssertionConsumerServiceIndex")
	switch {
	case hasURL && hasIndex:
		return nil, failf("saml-request-malformed", errors.New("both AssertionConsumerServiceURL and AssertionConsumerServiceIndex"))
	case hasURL:
		if acs := samlxml.Attr(root, "AssertionConsumerServiceURL"); acs != want.acs {
			return nil, failf("saml-request-acs-mismatch", fmt.Errorf("AssertionConsumerServiceURL %q is not the configured consumer_service_url", truncate(acs)))
		}
	case hasIndex:
		if i := samlxml.Attr(root, "AssertionConsumerServiceIndex"); i != "0" {
			return nil, failf("saml-request-acs-mismatch", fmt.Errorf("AssertionConsumerServiceIndex %q (only 0, the configured consumer_service_url, exists)", truncate(i)))
		}
	}
	if samlxml.HasAttr(root, "ProtocolBinding") {
		if pb := samlxml.Attr(root, "ProtocolBinding"); pb != bindingPOSTURI {
			return nil, failf("saml-request-unsupported-binding", fmt.Errorf("ProtocolBinding %q (only HTTP-POST is supported)", truncate(pb)))
		}
	}
	req := &authnRequest{ID: id}
	for name, v := range map[string]*bool{"ForceAuthn": &req.ForceAuthn, "IsPassive": &req.IsPassive} {
		if !samlxml.HasAttr(root, name) {
			continue
		}
		switch a := samlxml.Attr(root, name); a {
		case "true", "1":
			*v = true
		case "false", "0":
		default:
			return nil, failf("saml-request-malformed", fmt.Errorf("%s %q is not an xs:boolean", name, truncate(a)))
		}
	}
	return req, nil
}

// validRequestID accepts the IDs SPs send (xs:ID values and the common variants), bounded.
func validRequestID(id string) bool {
	if id == "" || len(id) > maxRequestIDBytes {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '_', c == '-', c == '.', c == ':':
		default:
			return false
		}
	}
	return true
}

// truncate shortens untrusted values quoted in log causes.
func truncate(s string) string {
	const max = 200
	if len(s) <= max {
		return s
	}
	return s[:max] + "…"
}
