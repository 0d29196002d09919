// Package samlxml holds the safe XML handling shared by Gatehouse's SAML service provider
// (identity/saml) and its SAML identity provider (saas/samlidp): parsing untrusted SAML XML with
// DTDs, entities, directives, processing instructions, invalid UTF-8, undeclared prefixes,
// duplicate attributes and deep nesting refused, and namespace-exact element lookup. It is the
// one parser both sides use, so they cannot disagree on what a message says.
package samlxml

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
	NSProtocol  = "urn:oasis:names:tc:SAML:2.0:protocol"
	NSAssertion = "urn:oasis:names:tc:SAML:2.0:assertion"
	NSMetadata  = "urn:oasis:names:tc:SAML:2.0:metadata"
	NSDSig      = dsig.Namespace
)

// MaxDepth bounds nesting: real responses are about ten levels deep.
const MaxDepth = 64

// Errors of Parse and the lookups. Callers map them to their own failure reasons.
var (
	// ErrDoctype: the input holds a DOCTYPE, an ENTITY declaration or another directive.
	ErrDoctype = errors.New("XML with a DOCTYPE, ENTITY or other directive is not accepted")
	// ErrMalformed: anything else Parse refuses, or an element that occurs more than once
	// where one is allowed.
	ErrMalformed = errors.New("malformed XML")
	// ErrTooLarge: DecodeBase64Loose's input exceeds its bound.
	ErrTooLarge = errors.New("input too large")
)

// Parse parses untrusted XML after refusing everything a SAML message never needs: DTDs and
// entity declarations (before any parsing), other directives and processing instructions,
// invalid UTF-8, duplicate attributes and deep nesting. Errors wrap ErrDoctype or ErrMalformed.
func Parse(b []byte) (*etree.Document, error) {
	if HasDirective(b) {
		return nil, ErrDoctype
	}
	if !utf8.Valid(b) {
		return nil, fmt.Errorf("%w: not UTF-8", ErrMalformed)
	}
	doc := etree.NewDocument()
	doc.ReadSettings = etree.ReadSettings{PreserveDuplicateAttrs: true, MaxDepth: MaxDepth}
	if err := doc.ReadFromBytes(b); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if doc.Root() == nil {
		return nil, fmt.Errorf("%w: no root element", ErrMalformed)
	}
	for _, t := range doc.Child {
		switch t := t.(type) {
		case *etree.Directive:
			return nil, ErrDoctype
		case *etree.ProcInst:
			if t.Target != "xml" {
				return nil, fmt.Errorf("%w: processing instruction %q", ErrMalformed, t.Target)
			}
		}
	}
	if err := checkTree(doc.Root()); err != nil {
		return nil, err
	}
	return doc, nil
}

// HasDirective reports a DOCTYPE or ENTITY declaration anywhere, in any letter case.
func HasDirective(b []byte) bool {
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
		return fmt.Errorf("%w: undeclared namespace prefix %q", ErrMalformed, el.Space)
	}
	for i, a := range el.Attr {
		if a.Space == "xmlns" || (a.Space == "" && a.Key == "xmlns") {
			continue
		}
		if a.Space != "" && a.Space != "xml" && a.NamespaceURI() == "" {
			return fmt.Errorf("%w: undeclared namespace prefix %q", ErrMalformed, a.Space)
		}
		for _, b := range el.Attr[i+1:] {
			if b.Key == a.Key && b.Space != "xmlns" {
				return fmt.Errorf("%w: duplicate attribute %q on <%s>", ErrMalformed, a.Key, el.Tag)
			}
		}
	}
	for _, t := range el.Child {
		switch t := t.(type) {
		case *etree.Directive:
			return ErrDoctype
		case *etree.ProcInst:
			return fmt.Errorf("%w: processing instruction inside <%s>", ErrMalformed, el.Tag)
		case *etree.Element:
			if err := checkTree(t); err != nil {
				return err
			}
		}
	}
	return nil
}

// Is reports whether el is the element {ns}tag, comparing the resolved namespace URI.
func Is(el *etree.Element, ns, tag string) bool {
	return el != nil && el.Tag == tag && el.NamespaceURI() == ns
}

// Children returns the child elements {ns}tag of el.
func Children(el *etree.Element, ns, tag string) []*etree.Element {
	var out []*etree.Element
	for _, c := range el.ChildElements() {
		if Is(c, ns, tag) {
			out = append(out, c)
		}
	}
	return out
}

// Child returns the only child element {ns}tag of el: nil when there is none, an error when
// there are several.
func Child(el *etree.Element, ns, tag string) (*etree.Element, error) {
	cs := Children(el, ns, tag)
	switch len(cs) {
	case 0:
		return nil, nil
	case 1:
		return cs[0], nil
	}
	return nil, fmt.Errorf("%w: %d <%s> elements in <%s>", ErrMalformed, len(cs), tag, el.Tag)
}

// Descendants returns every element {ns}tag below el (el included), in document order.
func Descendants(el *etree.Element, ns, tag string) []*etree.Element {
	var out []*etree.Element
	var walk func(*etree.Element)
	walk = func(e *etree.Element) {
		if Is(e, ns, tag) {
			out = append(out, e)
		}
		for _, c := range e.ChildElements() {
			walk(c)
		}
	}
	walk(el)
	return out
}

// Attr returns the unprefixed attribute key of el.
func Attr(el *etree.Element, key string) string {
	for _, a := range el.Attr {
		if a.Space == "" && a.Key == key {
			return a.Value
		}
	}
	return ""
}

// HasAttr reports whether el has the unprefixed attribute key.
func HasAttr(el *etree.Element, key string) bool {
	for _, a := range el.Attr {
		if a.Space == "" && a.Key == key {
			return true
		}
	}
	return false
}

// Text returns the character data of the whole element: all text nodes, with comments skipped
// rather than ending the value (so `a@b.c<!---->.evil` reads "a@b.c.evil", never "a@b.c").
// It fails when el has child elements, which no simple SAML value has.
func Text(el *etree.Element) (string, error) {
	var b strings.Builder
	for _, t := range el.Child {
		switch t := t.(type) {
		case *etree.CharData:
			b.WriteString(t.Data)
		case *etree.Element:
			return "", fmt.Errorf("%w: unexpected element <%s> inside <%s>", ErrMalformed, t.Tag, el.Tag)
		}
	}
	return strings.TrimSpace(b.String()), nil
}

// DecodeBase64Loose decodes standard base64 that may be wrapped in lines or padded with
// spaces, refusing anything whose encoded size exceeds max.
func DecodeBase64Loose(s string, max int) ([]byte, error) {
	if len(s) > max {
		return nil, ErrTooLarge
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
