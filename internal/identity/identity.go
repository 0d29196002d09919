// Package identity owns the Identity type every login method produces and the connector
// interfaces that login methods implement. Connectors live in sub-packages (onetimepin, and later
// oidc, saml, github); package authn drives them.
package identity

import (
	"slices"
)

// Identity is what Gatehouse knows about a logged-in user: the same shape whichever IdP they used.
// It is stored with the session (server-side) and drives identity policy rules.
type Identity struct {
	// UserID is the stable Gatehouse user UUID (the JWT `sub`).
	UserID string `json:"user_uuid"`
	// Email is the verified e-mail address in its normal form (package mailaddr): connectors
	// normalise it and refuse an address without one, and the login flow checks it again.
	Email string `json:"email"`
	Name  string `json:"name,omitempty"`
	// IdP is the identity provider the user logged in with.
	IdP IdP `json:"idp"`
	// Groups are the IdP groups the user belongs to.
	Groups []Group `json:"groups,omitempty"`
	// AMR are RFC 8176 authentication method references ("pwd", "mfa", "otp", ...).
	AMR []string `json:"amr,omitempty"`
	// SAMLAttributes are the SAML attributes configured for pass-through (multi-valued).
	SAMLAttributes map[string][]string `json:"saml_attributes,omitempty"`
	// OIDCClaims are the OIDC claims configured for pass-through (multi-valued, as strings).
	OIDCClaims map[string][]string `json:"oidc_fields,omitempty"`
	// GitHubOrgs are the GitHub organizations (and team slugs) of a GitHub login.
	GitHubOrgs []GitHubOrg `json:"github_orgs,omitempty"`
	// HeaderAttributes are attributes the IdP is configured to send to the origin as headers
	// (header name -> values).
	HeaderAttributes map[string][]string `json:"header_attributes,omitempty"`
}

// GitHubOrg is a GitHub organization membership.
type GitHubOrg struct {
	Name  string   `json:"name"`
	Teams []string `json:"teams,omitempty"`
}

// IdP names the identity provider of a login.
type IdP struct {
	ID   string `json:"id"`
	Type string `json:"type"`
}

// Group is an IdP group.
type Group struct {
	ID    string `json:"id,omitempty"`
	Name  string `json:"name,omitempty"`
	Email string `json:"email,omitempty"`
}

// HasAMR reports whether the identity carries the authentication method reference v.
func (id *Identity) HasAMR(v string) bool { return slices.Contains(id.AMR, v) }

// Custom returns the values that go into the JWT `custom` claim: the configured SAML attributes
// and OIDC claims, single values unwrapped.
func (id *Identity) Custom() map[string]any {
	if len(id.SAMLAttributes) == 0 && len(id.OIDCClaims) == 0 {
		return nil
	}
	out := make(map[string]any, len(id.SAMLAttributes)+len(id.OIDCClaims))
	for _, m := range []map[string][]string{id.SAMLAttributes, id.OIDCClaims} {
		for k, vs := range m {
			if len(vs) == 1 {
				out[k] = vs[0]
			} else {
				out[k] = vs
			}
		}
	}
	return out
}
