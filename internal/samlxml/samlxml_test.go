package samlxml

import (
	"errors"
	"strings"
	"testing"
)

var parseCases = []struct {
	name string
	in   string
	want error // nil: parses
}{
	{"plain", `<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="a"/>`, nil},
	{"xml declaration", `<?xml version="1.0" encoding="UTF-8"?><r/>`, nil},
	{"doctype", `<!DOCTYPE r [<!ENTITY x "y">]><r>&x;</r>`, ErrDoctype},
	{"doctype lower case", `<!doctype r><r/>`, ErrDoctype},
	{"entity only", `<r><!ENTITY x "y"></r>`, ErrDoctype},
	{"other directive at top", `<!ELEMENT r ANY><r/>`, ErrDoctype},
	{"processing instruction", `<?evil x?><r/>`, ErrMalformed},
	{"processing instruction inside", `<r><?evil x?></r>`, ErrMalformed},
	{"invalid UTF-8", "<r>\xff</r>", ErrMalformed},
	{"undeclared element prefix", `<p:r/>`, ErrMalformed},
	{"undeclared attribute prefix", `<r p:a="1"/>`, ErrMalformed},
	{"duplicate attribute", `<r ID="a" ID="b"/>`, ErrMalformed},
	{"duplicate local name across prefixes", `<r xmlns:a="urn:a" xmlns:b="urn:b" a:ID="1" b:ID="2"/>`, ErrMalformed},
	{"too deep", strings.Repeat("<a>", MaxDepth+1) + strings.Repeat("</a>", MaxDepth+1), ErrMalformed},
	{"empty", ``, ErrMalformed},
	{"unclosed", `<r>`, ErrMalformed},
}

func TestParse(t *testing.T) {
	for _, tc := range parseCases {
		t.Run(tc.name, func(t *testing.T) {
			doc, err := Parse([]byte(tc.in))
			if tc.want == nil {
				if err != nil || doc.Root() == nil {
					t.Fatalf("Parse = %v, want success", err)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("Parse = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestLookupIsNamespaceExact(t *testing.T) {
	doc, err := Parse([]byte(`<samlp:R xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" xmlns:evil="urn:evil" ID="r">` +
		`<saml:Issuer>good</saml:Issuer><evil:Issuer>bad</evil:Issuer><Issuer>unqualified</Issuer>` +
		`<saml:V>a&lt;b<!-- c -->&amp;d</saml:V><saml:V>x</saml:V></samlp:R>`))
	if err != nil {
		t.Fatal(err)
	}
	root := doc.Root()
	if !Is(root, NSProtocol, "R") || Is(root, NSAssertion, "R") {
		t.Fatal("Is does not compare the namespace URI")
	}
	iss, err := Child(root, NSAssertion, "Issuer")
	if err != nil || iss == nil {
		t.Fatalf("Child(Issuer) = %v, %v", iss, err)
	}
	if v, _ := Text(iss); v != "good" {
		t.Fatalf("Issuer = %q", v)
	}
	if _, err := Child(root, NSAssertion, "V"); !errors.Is(err, ErrMalformed) {
		t.Fatalf("Child with two matches = %v, want ErrMalformed", err)
	}
	if vs := Children(root, NSAssertion, "V"); len(vs) != 2 {
		t.Fatalf("Children = %d", len(vs))
	}
	if v, _ := Text(Children(root, NSAssertion, "V")[0]); v != "a<b&d" {
		t.Fatalf("Text skips comments without ending the value: got %q", v)
	}
	if Attr(root, "ID") != "r" || !HasAttr(root, "ID") || HasAttr(root, "Missing") {
		t.Fatal("Attr/HasAttr")
	}
	if n := len(Descendants(root, NSAssertion, "Issuer")); n != 1 {
		t.Fatalf("Descendants = %d", n)
	}
}

func TestDecodeBase64Loose(t *testing.T) {
	if b, err := DecodeBase64Loose("aGVs\r\nbG8=  ", 100); err != nil || string(b) != "hello" {
		t.Fatalf("DecodeBase64Loose = %q, %v", b, err)
	}
	if _, err := DecodeBase64Loose(strings.Repeat("A", 101), 100); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("oversized input: %v", err)
	}
}

func FuzzParse(f *testing.F) {
	for _, tc := range parseCases {
		f.Add([]byte(tc.in))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		doc, err := Parse(b)
		if err != nil {
			if !errors.Is(err, ErrDoctype) && !errors.Is(err, ErrMalformed) {
				t.Fatalf("Parse error %v wraps neither sentinel", err)
			}
			return
		}
		if doc.Root() == nil {
			t.Fatal("Parse succeeded without a root")
		}
		if HasDirective(b) {
			t.Fatal("Parse accepted a directive")
		}
	})
}
