// Package criteria implements the selectors of Access policy rules (email, ip, geo, group, ...)
// and the include/require/exclude logic that combines them.
//
// A Criterion is a closed, tagged value rather than an interface so that evaluation is a switch
// on its Kind: nothing escapes to the heap and a request is evaluated without allocating. Each
// selector family lives in its own file with its constructor (which validates and normalises the
// configured value) and its match function.
//
// Evaluation is three-valued: identity selectors evaluate to Unknown when the request says that
// nobody has logged in yet (Request.IdentityUnknown), so that callers can tell "no identity could
// ever match" from "it depends on who logs in".
package criteria

import (
	"net/netip"

	"github.com/gatehouse/gatehouse/internal/identity"
)

// Value is a three-valued (Kleene) truth value.
type Value uint8

// Truth values. False is the zero value.
const (
	False Value = iota
	True
	Unknown
)

// String returns "false", "true" or "unknown".
func (v Value) String() string {
	switch v {
	case True:
		return "true"
	case Unknown:
		return "unknown"
	default:
		return "false"
	}
}

func boolValue(b bool) Value {
	if b {
		return True
	}
	return False
}

// Request is what criteria see of a request. The caller normalises it once.
type Request struct {
	// Identity is the logged-in user, nil if there is none.
	Identity *identity.Identity
	// Addr is the client address, 4-in-6 unmapped and without zone.
	Addr netip.Addr
	// Country is the ISO 3166-1 alpha-2 code of Addr, upper case; "" when unknown.
	Country string
	// TokenID is the ID of the service token presented; only meaningful when TokenValid.
	TokenID string
	// TokenValid is set when a service token was presented and authenticated.
	TokenValid bool
	// IdentityUnknown makes identity selectors evaluate to Unknown instead of consulting
	// Identity: the question is then "could some identity match?".
	IdentityUnknown bool
}

// Kind names a selector. The zero Kind is invalid and never matches.
type Kind uint8

// Selector kinds, named after the API keys of Cloudflare Access rules.
const (
	KindInvalid Kind = iota
	KindEmail
	KindEmailDomain
	KindEmailList
	KindEveryone
	KindIP
	KindIPList
	KindGeo
	KindGroup
	KindLoginMethod
	KindAuthMethod
	KindServiceToken
	KindAnyValidServiceToken
	KindSAML
	KindOIDC
	KindGitHubOrganization
	KindIdPGroup

	// NumKinds is one more than the largest Kind, for tables indexed by Kind.
	NumKinds
)

var kindNames = [NumKinds]string{
	KindInvalid:              "invalid",
	KindEmail:                "email",
	KindEmailDomain:          "email_domain",
	KindEmailList:            "email_list",
	KindEveryone:             "everyone",
	KindIP:                   "ip",
	KindIPList:               "ip_list",
	KindGeo:                  "geo",
	KindGroup:                "group",
	KindLoginMethod:          "login_method",
	KindAuthMethod:           "auth_method",
	KindServiceToken:         "service_token",
	KindAnyValidServiceToken: "any_valid_service_token",
	KindSAML:                 "saml",
	KindOIDC:                 "oidc",
	KindGitHubOrganization:   "github-organization",
	KindIdPGroup:             "idp_group",
}

// String returns the selector's API key, e.g. "email_domain".
func (k Kind) String() string {
	if k >= NumKinds {
		return "invalid"
	}
	return kindNames[k]
}

// Identity reports whether the selector looks at the logged-in identity. Such selectors are
// evaluated at login only and are not allowed in bypass and service-auth policies. Groups are
// neither: it depends on their contents.
func (k Kind) Identity() bool {
	switch k {
	case KindEmail, KindEmailDomain, KindEmailList, KindLoginMethod, KindAuthMethod, KindSAML, KindOIDC,
		KindGitHubOrganization, KindIdPGroup:
		return true
	}
	return false
}

// ServiceToken reports whether the selector matches service-token credentials, which may only
// satisfy service-auth (non_identity) policies.
func (k Kind) ServiceToken() bool {
	return k == KindServiceToken || k == KindAnyValidServiceToken
}

// Criterion is one compiled selector. Build it with the constructor of its family (Email, IP,
// Geo, Group, ...); the zero Criterion never matches. It is kept to one cache line: operands
// that few selectors use live behind ext.
type Criterion struct {
	kind Kind
	// value is the normalised operand: e-mail address, domain, country, IdP ID, AMR value,
	// token ID, the SAML attribute / OIDC claim value, or the GitHub organization.
	value  string
	prefix netip.Prefix
	ext    *extension
}

// extension holds the operands of the less common selectors.
type extension struct {
	// name is the SAML attribute or OIDC claim name.
	name string
	// team is the GitHub team slug of github-organization ("" for any member).
	team string
	// idp restricts saml, oidc and github-organization to one identity provider when set.
	idp    string
	ips    *IPSet
	emails EmailSet
	group  *RuleSet
}

// Kind returns the selector kind of c.
func (c *Criterion) Kind() Kind { return c.kind }

// Eval evaluates c against r.
func (c *Criterion) Eval(r *Request) Value {
	switch c.kind {
	case KindEveryone:
		return True
	case KindIP:
		return boolValue(c.prefix.Contains(r.Addr))
	case KindIPList:
		return boolValue(c.ext.ips.Contains(r.Addr))
	case KindGeo:
		return boolValue(matchGeo(c.value, r.Country))
	case KindServiceToken:
		return boolValue(r.TokenValid && r.TokenID == c.value)
	case KindAnyValidServiceToken:
		return boolValue(r.TokenValid)
	case KindGroup:
		if c.ext.group == nil {
			return False
		}
		return c.ext.group.Eval(r).Value
	case KindEmail:
		if v, ok := identityKnown(r); !ok {
			return v
		}
		return boolValue(matchEmail(c.value, r.Identity.Email))
	case KindEmailDomain:
		if v, ok := identityKnown(r); !ok {
			return v
		}
		return boolValue(matchEmailDomain(c.value, r.Identity.Email))
	case KindEmailList:
		if v, ok := identityKnown(r); !ok {
			return v
		}
		return boolValue(c.ext.emails.Contains(r.Identity.Email))
	case KindLoginMethod:
		if v, ok := identityKnown(r); !ok {
			return v
		}
		return boolValue(r.Identity.IdP.ID == c.value)
	case KindAuthMethod:
		if v, ok := identityKnown(r); !ok {
			return v
		}
		return boolValue(r.Identity.HasAMR(c.value))
	case KindSAML:
		if v, ok := identityKnown(r); !ok {
			return v
		}
		return boolValue(matchAttribute(r.Identity, r.Identity.SAMLAttributes, c.ext.idp, c.ext.name, c.value))
	case KindOIDC:
		if v, ok := identityKnown(r); !ok {
			return v
		}
		return boolValue(matchAttribute(r.Identity, r.Identity.OIDCClaims, c.ext.idp, c.ext.name, c.value))
	case KindGitHubOrganization:
		if v, ok := identityKnown(r); !ok {
			return v
		}
		return boolValue(matchGitHubOrganization(r.Identity, c.value, c.ext.team, c.ext.idp))
	case KindIdPGroup:
		if v, ok := identityKnown(r); !ok {
			return v
		}
		return boolValue(matchIdPGroup(r.Identity, c.ext.name, c.value, c.ext.idp))
	}
	return False
}

// identityKnown reports whether identity selectors can be evaluated; when not, v is their value:
// Unknown when the question is "could some identity match", False when nobody is logged in.
func identityKnown(r *Request) (v Value, ok bool) {
	switch {
	case r.IdentityUnknown:
		return Unknown, false
	case r.Identity == nil:
		return False, false
	}
	return False, true
}

// Everyone returns the selector that matches every request.
func Everyone() Criterion { return Criterion{kind: KindEveryone} }

// Group returns a selector that matches when the rule set of a rule group does. rs may be
// filled in after the call (groups are compiled in dependency order); nil never matches.
func Group(rs *RuleSet) Criterion {
	return Criterion{kind: KindGroup, ext: &extension{group: rs}}
}
