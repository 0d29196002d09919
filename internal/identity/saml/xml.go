package saml

import (
	"github.com/beevik/etree"

	"github.com/gatehouse/gatehouse/internal/samlxml"
)

// The safe XML handling lives in package samlxml, shared with the SAML IdP of Access for SaaS;
// these short names keep this package's verification code readable.

// XML namespaces, matched exactly (never by prefix).
const (
	nsProtocol  = samlxml.NSProtocol
	nsAssertion = samlxml.NSAssertion
	nsMetadata  = samlxml.NSMetadata
	nsDSig      = samlxml.NSDSig
)

var (
	errDoctype   = samlxml.ErrDoctype
	errMalformed = samlxml.ErrMalformed
	errTooLarge  = samlxml.ErrTooLarge
)

// parseXML parses untrusted XML (see samlxml.Parse).
func parseXML(b []byte) (*etree.Document, error) { return samlxml.Parse(b) }

// hasDirective reports a DOCTYPE or ENTITY declaration anywhere, in any letter case.
func hasDirective(b []byte) bool { return samlxml.HasDirective(b) }

// is reports whether el is the element {ns}tag, comparing the resolved namespace URI.
func is(el *etree.Element, ns, tag string) bool { return samlxml.Is(el, ns, tag) }

// children returns the child elements {ns}tag of el.
func children(el *etree.Element, ns, tag string) []*etree.Element {
	return samlxml.Children(el, ns, tag)
}

// child returns the only child element {ns}tag of el (see samlxml.Child).
func child(el *etree.Element, ns, tag string) (*etree.Element, error) {
	return samlxml.Child(el, ns, tag)
}

// descendants returns every element {ns}tag below el (el included), in document order.
func descendants(el *etree.Element, ns, tag string) []*etree.Element {
	return samlxml.Descendants(el, ns, tag)
}

// attr returns the unprefixed attribute key of el.
func attr(el *etree.Element, key string) string { return samlxml.Attr(el, key) }

// hasAttr reports whether el has the unprefixed attribute key.
func hasAttr(el *etree.Element, key string) bool { return samlxml.HasAttr(el, key) }

// text returns the character data of el (see samlxml.Text).
func text(el *etree.Element) (string, error) { return samlxml.Text(el) }

// decodeBase64Loose decodes wrapped standard base64 of at most max encoded bytes.
func decodeBase64Loose(s string, max int) ([]byte, error) { return samlxml.DecodeBase64Loose(s, max) }
