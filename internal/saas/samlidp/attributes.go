package samlidp

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/internal/identity"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Attribute name formats (custom_attributes[].name_format).
const (
	NameFormatUnspecified = "urn:oasis:names:tc:SAML:2.0:attrname-format:unspecified"
	NameFormatBasic       = "urn:oasis:names:tc:SAML:2.0:attrname-format:basic"
	NameFormatURI         = "urn:oasis:names:tc:SAML:2.0:attrname-format:uri"
)

// name_id_format values and the NameID formats they select.
const (
	NameIDEmail = "email" // the user's e-mail address (the default)
	NameIDUser  = "id"    // the stable user UUID

	formatEmail      = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
	formatPersistent = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
)

// Identity attributes every assertion carries when the identity has them, as Cloudflare Access
// sends them: the user UUID, e-mail, name and group names (plain string values).
var defaultAttributes = []string{"id", "email", "name", "groups"}

// sourceGroups is the identity attribute of the user's groups; attributes taken from it are sent
// without values for a user who has none (saas_app.send_empty_groups_attribute).
const sourceGroups = "groups"

// attribute is one saml:Attribute.
type attribute struct {
	Name         string
	NameFormat   string
	FriendlyName string
	Values       []string
}

// attributes returns the attributes of an assertion for id: the defaults, then the app's
// custom_attributes, a custom attribute replacing a default (or earlier) one of the same name.
// A custom attribute takes its values from the source named for the user's IdP in
// name_by_idp, else from source.name (see lookup). Without values it is left out (together with
// the default of the same name), or, when it is required, the login fails with reason saml-attribute-missing. The exception is an attribute
// of the user's groups (the default groups attribute, or a custom one whose source is groups):
// for a user without groups it is sent with no AttributeValue (SAML 2.0 core §2.7.3.1 allows
// zero), unless the app sets send_empty_groups_attribute to false. A required one still fails.
func attributes(id *identity.Identity, cfg *store.SaaSApp) ([]attribute, error) {
	var out []attribute
	emptyGroups := cfg.EmptyGroupsAttribute()
	for _, name := range defaultAttributes {
		if vs := lookup(id, name); len(vs) > 0 || (name == sourceGroups && emptyGroups) {
			out = append(out, attribute{Name: name, NameFormat: NameFormatUnspecified, Values: vs})
		}
	}
	for _, ca := range cfg.CustomAttributes {
		src := ca.Source.Name
		for _, m := range ca.Source.NameByIdP {
			if m.IdPID == id.IdP.ID {
				src = m.SourceName
				break
			}
		}
		vs := lookup(id, src)
		if len(vs) == 0 {
			if ca.Required {
				return nil, failf("saml-attribute-missing", fmt.Errorf("required attribute %q: source %q has no value for this login (IdP %q)", ca.Name, src, id.IdP.ID))
			}
			if src != sourceGroups || !emptyGroups {
				// Left out, and so is the default it names: the app mapped that name elsewhere.
				out = slices.DeleteFunc(out, func(o attribute) bool { return o.Name == ca.Name })
				continue
			}
		}
		a := attribute{Name: ca.Name, NameFormat: ca.NameFormat, FriendlyName: ca.FriendlyName, Values: vs}
		if a.NameFormat == "" {
			a.NameFormat = NameFormatUnspecified
		}
		if i := slices.IndexFunc(out, func(o attribute) bool { return o.Name == a.Name }); i >= 0 {
			out[i] = a
		} else {
			out = append(out, a)
		}
	}
	return out, nil
}

// lookup returns the non-empty values of the identity attribute name: id, email, name or
// groups (group names) first, then the IdP's SAML attributes, then its OIDC claims, the first
// that has values winning.
func lookup(id *identity.Identity, name string) []string {
	var vs []string
	switch name {
	case "id":
		vs = []string{id.UserID}
	case "email":
		vs = []string{id.Email}
	case "name":
		vs = []string{id.Name}
	case "groups":
		for _, g := range id.Groups {
			if g.Name != "" {
				vs = append(vs, g.Name)
			} else {
				vs = append(vs, g.ID)
			}
		}
	}
	for _, cand := range [][]string{vs, id.SAMLAttributes[name], id.OIDCClaims[name]} {
		var out []string
		for _, v := range cand {
			if v != "" {
				out = append(out, xmlText(v))
			}
		}
		if len(out) > 0 {
			return out
		}
	}
	return nil
}

// subjectNameID returns the NameID for name_id_format.
func subjectNameID(id *identity.Identity, format string) (nameID, error) {
	switch format {
	case "", NameIDEmail:
		if id.Email == "" {
			return nameID{}, failf("saml-nameid-missing", errors.New("the identity has no e-mail address for the emailAddress NameID"))
		}
		return nameID{Format: formatEmail, Value: xmlText(id.Email)}, nil
	case NameIDUser:
		if id.UserID == "" {
			return nameID{}, failf("saml-nameid-missing", errors.New("the identity has no user ID for the persistent NameID"))
		}
		return nameID{Format: formatPersistent, Value: xmlText(id.UserID)}, nil
	}
	return nameID{}, failf("saml-app-misconfigured", fmt.Errorf("unknown name_id_format %q", format))
}

// nameIDFormatURI returns the NameID format URI name_id_format selects.
func nameIDFormatURI(format string) (string, bool) {
	switch format {
	case "", NameIDEmail:
		return formatEmail, true
	case NameIDUser:
		return formatPersistent, true
	}
	return "", false
}

// xmlText returns s with every character XML 1.0 cannot carry (invalid UTF-8, most C0
// controls, U+FFFE/U+FFFF, surrogates) replaced by U+FFFD, so that what is signed is exactly
// what a parser reads back. XML-significant characters (<&"'>) stay: the serializer escapes
// them.
func xmlText(s string) string {
	if validXMLText(s) {
		return s
	}
	var b strings.Builder
	for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
		if !isXMLChar(r) {
			r = utf8.RuneError
		}
		b.WriteRune(r)
	}
	return b.String()
}

func validXMLText(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if !isXMLChar(r) {
			return false
		}
	}
	return true
}

// isXMLChar is the XML 1.0 Char production.
func isXMLChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD ||
		r >= 0x10000 && r <= 0x10FFFF
}
