package saml

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
)

// XML namespaces, matched exactly (never by prefix).
const (
	nsProtocol  = "urn:oasis:names:tc:SAML:2.0:protocol"
	nsAssertion = "urn:oasis:names:tc:SAML:2.0:assertion"
	nsMetadata  = "urn:oasis:names:tc:SAML:2.0:metadata"
	nsDSig      = dsig.Namespace
)

// maxXMLDepth bounds nesting: real responses are about ten levels deep.
const maxXMLDepth = 64

var (
	errDoctype   = errors.New("XML with a DOCTYPE, ENTITY or other directive is not accepted")
	errMalformed = errors.New("malformed XML")
)

// parseXML parses untrusted XML after refusing everything a SAML message never needs: DTDs and
// entity declarations (before any parsing), other directives and processing instructions,
// invalid UTF-8, duplicate attributes and deep nesting. Errors wrap errDoctype or errMalformed.
func parseXML(b []byte) (*etree.Document, error) {
	if hasDirective(b) {
		return nil, errDoctype
	}
	if !utf8.Valid(b) {
		return nil, fmt.Errorf("%w: not UTF-8", errMalformed)
	}
	doc := etree.NewDocument()
	doc.ReadSettings = etree.ReadSettings{PreserveDuplicateAttrs: true, MaxDepth: maxXMLDepth}
	if err := doc.ReadFromBytes(b); err != nil {
		return nil, fmt.Errorf("%w: %w", errMalformed, err)
	}
	if doc.Root() == nil {
		return nil, fmt.Errorf("%w: no root element", errMalformed)
	}
	for _, t := range doc.Child {
		switch t := t.(type) {
		case *etree.Directive:
			return nil, errDoctype
		case *etree.ProcInst:
			if t.Target != "xml" {
				return nil, fmt.Errorf("%w: processing instruction %q", errMalformed, t.Target)
			}
		}
	}
	if err := checkTree(doc.Root()); err != nil {
		return nil, err
	}
	return doc, nil
}

// hasDirective reports a DOCTYPE or ENTITY declaration anywhere, in any letter case.
func hasDirective(b []byte) bool {
	for i := 0; ; {
		j := bytes.Index(b[i:], []byte("<!"))
		if j < 0 {
			return false
		}
		i += j + 2
		if hasPrefixFold(b[i:], "DOCTYPE") || hasPrefixFold(b[i:], "ENTITY") {
			return true
		}
	}
}

func hasPrefixFold(b []byte, prefix string) bool {
	return len(b) >= len(prefix) && bytes.EqualFold(b[:len(prefix)], []byte(prefix))
}

// checkTree rejects directives and processing instructions inside elements, undeclared
// namespace prefixes (which namespace-exact matching would silently skip), and any element
// carrying two attributes with the same local name (xmlns declarations aside): a library that
// keeps the first and one that keeps the last would read different IDs.
func checkTree(el *etree.Element) error {
	if el.Space != "" && el.NamespaceURI() == "" {
		return fmt.Errorf("%w: undeclared namespace prefix %q", errMalformed, el.Space)
	}
	for i, a := range el.Attr {
		if a.Space == "xmlns" || (a.Space == "" && a.Key == "xmlns") {
			continue
		}
		if a.Space != "" && a.Space != "xml" && a.NamespaceURI() == "" {
			return fmt.Errorf("%w: undeclared namespace prefix %q", errMalformed, a.Space)
		}
		for _, b := range el.Attr[i+1:] {
			if b.Key == a.Key && b.Space != "xmlns" {
				return fmt.Errorf("%w: duplicate attribute %q on <%s>", errMalformed, a.Key, el.Tag)
			}
		}
	}
	for _, t := range el.Child {
		switch t := t.(type) {
		case *etree.Directive:
			return errDoctype
		case *etree.ProcInst:
			return fmt.Errorf("%w: processing instruction inside <%s>", errMalformed, el.Tag)
		case *etree.Element:
			if err := checkTree(t); err != nil {
				return err
			}
		}
	}
	return nil
}

// is reports whether el is the element {ns}tag, comparing the resolved namespace URI.
func is(el *etree.Element, ns, tag string) bool {
	return el != nil && el.Tag == tag && el.NamespaceURI() == ns
}

// children returns the child elements {ns}tag of el.
func children(el *etree.Element, ns, tag string) []*etree.Element {
	var out []*etree.Element
	for _, c := range el.ChildElements() {
		if is(c, ns, tag) {
			out = append(out, c)
		}
	}
	return out
}

// child returns the only child element {ns}tag of el: nil when there is none, an error when
// there are several.
func child(el *etree.Element, ns, tag string) (*etree.Element, error) {
	cs := children(el, ns, tag)
	switch len(cs) {
	case 0:
		return nil, nil
	case 1:
		return cs[0], nil
	}
	return nil, fmt.Errorf("%w: %d <%s> elements in <%s>", errMalformed, len(cs), tag, el.Tag)
}

// descendants returns every element {ns}tag below el (el included), in document order.
func descendants(el *etree.Element, ns, tag string) []*etree.Element {
	var out []*etree.Element
	var walk func(*etree.Element)
	walk = func(e *etree.Element) {
		if is(e, ns, tag) {
			out = append(out, e)
		}
		for _, c := range e.ChildElements() {
			walk(c)
		}
	}
	walk(el)
	return out
}

// attr returns the unprefixed attribute key of el.
func attr(el *etree.Element, key string) string {
	for _, a := range el.Attr {
		if a.Space == "" && a.Key == key {
			return a.Value
		}
	}
	return ""
}

// hasAttr reports whether el has the unprefixed attribute key.
func hasAttr(el *etree.Element, key string) bool {
	for _, a := range el.Attr {
		if a.Space == "" && a.Key == key {
			return true
		}
	}
	return false
}

// text returns the character data of the whole element: all text nodes, with comments skipped
// rather than ending the value (so `a@b.c<!---->.evil` reads "a@b.c.evil", never "a@b.c").
// It fails when el has child elements, which no simple SAML value has.
func text(el *etree.Element) (string, error) {
	var b strings.Builder
	for _, t := range el.Child {
		switch t := t.(type) {
		case *etree.CharData:
			b.WriteString(t.Data)
		case *etree.Element:
			return "", fmt.Errorf("%w: unexpected element <%s> inside <%s>", errMalformed, t.Tag, el.Tag)
		}
	}
	return strings.TrimSpace(b.String()), nil
}

// decodeBase64Loose decodes standard base64 that may be wrapped in lines or padded with
// spaces, refusing anything whose encoded size exceeds max.
func decodeBase64Loose(s string, max int) ([]byte, error) {
	if len(s) > max {
		return nil, errTooLarge
	}
	clean := strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '\r', '\n':
			return -1
		}
		return r
	}, s)
	return base64.StdEncoding.DecodeString(clean)
}

var errTooLarge = errors.New("input too large")
