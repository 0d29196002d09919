package patch

import (
	"strings"

	"github.com/gatehouse/gatehouse/internal/scim/filter"
)

// Attribute types (RFC 7643 §2.3).
const (
	TypeString    = "string"
	TypeBoolean   = "boolean"
	TypeDecimal   = "decimal"
	TypeInteger   = "integer"
	TypeDateTime  = "dateTime"
	TypeBinary    = "binary"
	TypeReference = "reference"
	TypeComplex   = "complex"
)

// Mutability values (RFC 7643 §7). The zero value means readWrite.
const (
	ReadWrite = "readWrite"
	ReadOnly  = "readOnly"
	Immutable = "immutable"
	WriteOnly = "writeOnly"
)

// Attribute describes one SCIM attribute (RFC 7643 §7), enough both to enforce PATCH rules and
// to render the /Schemas endpoint.
type Attribute struct {
	Name            string
	Type            string
	MultiValued     bool
	Description     string
	Required        bool
	CaseExact       bool
	Mutability      string // "" means readWrite
	Returned        string // "" means default
	Uniqueness      string // "" means none
	CanonicalValues []string
	ReferenceTypes  []string
	SubAttributes   []Attribute
}

// Sub returns the sub-attribute called name (case-insensitively), or nil.
func (a *Attribute) Sub(name string) *Attribute {
	return find(a.SubAttributes, name)
}

func (a *Attribute) mutability() string {
	if a.Mutability == "" {
		return ReadWrite
	}
	return a.Mutability
}

func find(attrs []Attribute, name string) *Attribute {
	for i := range attrs {
		if strings.EqualFold(attrs[i].Name, name) {
			return &attrs[i]
		}
	}
	return nil
}

// Schema is a resource schema: its own attributes plus the schema extensions a resource of this
// type may carry, each stored in the resource under the extension's ID (RFC 7643 §3.3).
type Schema struct {
	ID          string
	Name        string
	Description string
	Attributes  []Attribute
	Extensions  []Schema
}

// Attribute returns the attribute of the core schema called name, including the common
// attributes id, externalId and meta (RFC 7643 §3.1), or nil.
func (s *Schema) Attribute(name string) *Attribute {
	if a := find(s.Attributes, name); a != nil {
		return a
	}
	return find(CommonAttributes, name)
}

// Extension returns the extension with the given schema URN (case-insensitively), or nil.
func (s *Schema) Extension(urn string) *Schema {
	for i := range s.Extensions {
		if strings.EqualFold(s.Extensions[i].ID, urn) {
			return &s.Extensions[i]
		}
	}
	return nil
}

// Lookup resolves a filter path to its attribute and, for "attr.sub" paths, its sub-attribute.
// A core-schema URN or no URN selects the core schema, an extension URN the extension.
func (s *Schema) Lookup(p filter.Path) (attr, sub *Attribute) {
	switch {
	case p.URN == "" || strings.EqualFold(p.URN, s.ID):
		attr = s.Attribute(p.Attr)
	default:
		if ext := s.Extension(p.URN); ext != nil {
			attr = find(ext.Attributes, p.Attr)
		}
	}
	if attr == nil || p.Sub == "" {
		return attr, nil
	}
	if sub = attr.Sub(p.Sub); sub == nil {
		return nil, nil
	}
	return attr, sub
}

// CaseExact reports whether the attribute at p compares case-sensitively; use it with
// filter.CaseExactFunc so Match follows the schema.
func (s *Schema) CaseExact(p filter.Path) bool {
	attr, sub := s.Lookup(p)
	switch {
	case sub != nil:
		return sub.CaseExact
	case attr != nil:
		if attr.Type == TypeComplex {
			// A complex attribute compared without sub-attribute compares its "value".
			if v := attr.Sub("value"); v != nil {
				return v.CaseExact
			}
		}
		return attr.CaseExact
	}
	return false
}

// Schema URNs.
const (
	UserURN       = "urn:ietf:params:scim:schemas:core:2.0:User"
	GroupURN      = "urn:ietf:params:scim:schemas:core:2.0:Group"
	EnterpriseURN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
)

// CommonAttributes are the attributes every resource has (RFC 7643 §3.1). "schemas" is managed
// by the service provider and is not patchable.
var CommonAttributes = []Attribute{
	{Name: "id", Type: TypeString, CaseExact: true, Mutability: ReadOnly, Returned: "always", Uniqueness: "server",
		Description: "Unique identifier for the SCIM resource as defined by the service provider."},
	{Name: "externalId", Type: TypeString, CaseExact: true,
		Description: "Identifier of the resource as defined by the provisioning client."},
	{Name: "meta", Type: TypeComplex, Mutability: ReadOnly, Description: "Resource metadata.", SubAttributes: []Attribute{
		{Name: "resourceType", Type: TypeString, CaseExact: true, Mutability: ReadOnly},
		{Name: "created", Type: TypeDateTime, Mutability: ReadOnly},
		{Name: "lastModified", Type: TypeDateTime, Mutability: ReadOnly},
		{Name: "location", Type: TypeReference, Mutability: ReadOnly, ReferenceTypes: []string{"uri"}},
		{Name: "version", Type: TypeString, CaseExact: true, Mutability: ReadOnly},
	}},
}

func multiComplex(name, desc string, valueType string, canonical []string, extra ...Attribute) Attribute {
	subs := []Attribute{
		{Name: "value", Type: valueType, Description: "The attribute's significant value."},
		{Name: "display", Type: TypeString, Description: "A human-readable name, primarily used for display purposes."},
		{Name: "type", Type: TypeString, CanonicalValues: canonical, Description: "A label indicating the attribute's function."},
		{Name: "primary", Type: TypeBoolean, Description: "Indicates the primary or preferred attribute value."},
	}
	return Attribute{Name: name, Type: TypeComplex, MultiValued: true, Description: desc, SubAttributes: append(subs, extra...)}
}

// UserSchema is the core User schema (RFC 7643 §4.1) with the enterprise User extension
// (§4.3).
var UserSchema = Schema{
	ID:          UserURN,
	Name:        "User",
	Description: "User Account",
	Attributes: []Attribute{
		{Name: "userName", Type: TypeString, Required: true, Uniqueness: "server",
			Description: "Unique identifier for the User, used to authenticate; Gatehouse requires the e-mail address."},
		{Name: "name", Type: TypeComplex, Description: "The components of the user's real name.", SubAttributes: []Attribute{
			{Name: "formatted", Type: TypeString},
			{Name: "familyName", Type: TypeString},
			{Name: "givenName", Type: TypeString},
			{Name: "middleName", Type: TypeString},
			{Name: "honorificPrefix", Type: TypeString},
			{Name: "honorificSuffix", Type: TypeString},
		}},
		{Name: "displayName", Type: TypeString},
		{Name: "nickName", Type: TypeString},
		{Name: "profileUrl", Type: TypeReference, ReferenceTypes: []string{"external"}},
		{Name: "title", Type: TypeString},
		{Name: "userType", Type: TypeString},
		{Name: "preferredLanguage", Type: TypeString},
		{Name: "locale", Type: TypeString},
		{Name: "timezone", Type: TypeString},
		{Name: "active", Type: TypeBoolean},
		{Name: "password", Type: TypeString, Mutability: WriteOnly, Returned: "never"},
		multiComplex("emails", "Email addresses for the user.", TypeString, []string{"work", "home", "other"}),
		multiComplex("phoneNumbers", "Phone numbers for the User.", TypeString, []string{"work", "home", "mobile", "fax", "pager", "other"}),
		multiComplex("ims", "Instant messaging addresses for the User.", TypeString, nil),
		multiComplex("photos", "URLs of photos of the User.", TypeReference, []string{"photo", "thumbnail"}),
		{Name: "addresses", Type: TypeComplex, MultiValued: true, Description: "A physical mailing address for this User.", SubAttributes: []Attribute{
			{Name: "formatted", Type: TypeString},
			{Name: "streetAddress", Type: TypeString},
			{Name: "locality", Type: TypeString},
			{Name: "region", Type: TypeString},
			{Name: "postalCode", Type: TypeString},
			{Name: "country", Type: TypeString},
			{Name: "type", Type: TypeString, CanonicalValues: []string{"work", "home", "other"}},
			{Name: "primary", Type: TypeBoolean},
		}},
		{Name: "groups", Type: TypeComplex, MultiValued: true, Mutability: ReadOnly,
			Description: "A list of groups to which the user belongs; maintained through the Group resource.", SubAttributes: []Attribute{
				{Name: "value", Type: TypeString, Mutability: ReadOnly},
				{Name: "$ref", Type: TypeReference, Mutability: ReadOnly, ReferenceTypes: []string{"User", "Group"}},
				{Name: "display", Type: TypeString, Mutability: ReadOnly},
				{Name: "type", Type: TypeString, Mutability: ReadOnly, CanonicalValues: []string{"direct", "indirect"}},
			}},
		multiComplex("entitlements", "A list of entitlements for the User.", TypeString, nil),
		multiComplex("roles", "A list of roles for the User.", TypeString, nil),
		multiComplex("x509Certificates", "A list of certificates issued to the User.", TypeBinary, nil),
	},
	Extensions: []Schema{{
		ID:          EnterpriseURN,
		Name:        "EnterpriseUser",
		Description: "Enterprise User",
		Attributes: []Attribute{
			{Name: "employeeNumber", Type: TypeString},
			{Name: "costCenter", Type: TypeString},
			{Name: "organization", Type: TypeString},
			{Name: "division", Type: TypeString},
			{Name: "department", Type: TypeString},
			{Name: "manager", Type: TypeComplex, SubAttributes: []Attribute{
				{Name: "value", Type: TypeString},
				{Name: "$ref", Type: TypeReference, ReferenceTypes: []string{"User"}},
				{Name: "displayName", Type: TypeString, Mutability: ReadOnly},
			}},
		},
	}},
}

// GroupSchema is the core Group schema (RFC 7643 §4.2). Members also accept "display", which
// Okta sends.
var GroupSchema = Schema{
	ID:          GroupURN,
	Name:        "Group",
	Description: "Group",
	Attributes: []Attribute{
		{Name: "displayName", Type: TypeString, Required: true, Description: "A human-readable name for the Group."},
		{Name: "members", Type: TypeComplex, MultiValued: true, Description: "A list of members of the Group.", SubAttributes: []Attribute{
			{Name: "value", Type: TypeString, CaseExact: true, Mutability: Immutable},
			{Name: "$ref", Type: TypeReference, Mutability: Immutable, ReferenceTypes: []string{"User", "Group"}},
			{Name: "type", Type: TypeString, Mutability: Immutable, CanonicalValues: []string{"User", "Group"}},
			{Name: "display", Type: TypeString},
		}},
	},
}
