package oidcop

import (
	"slices"
	"strings"

	"github.com/gatehouse/gatehouse/internal/identity"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Scopes.
const (
	scopeOpenID  = "openid"
	scopeEmail   = "email"
	scopeProfile = "profile"
	scopeGroups  = "groups"
	// scopeOffline is accepted and granted when the app issues refresh tokens; refresh tokens
	// are issued whether or not it is requested (Cloudflare: offline_access is implied).
	scopeOffline = "offline_access"
)

// configScopes are the scopes an app may list, in canonical order; also the default.
var configScopes = []string{scopeOpenID, scopeEmail, scopeProfile, scopeGroups}

// Grant types of saas_app.grant_types.
const (
	grantCode         = "authorization_code"
	grantCodeWithPKCE = "authorization_code_with_pkce"
	grantRefresh      = "refresh_tokens"
	grantHybrid       = "hybrid"
	grantImplicit     = "implicit"
)

// appScopes returns the scopes the app releases (all four when it lists none).
func appScopes(cfg *store.SaaSApp) []string {
	if len(cfg.Scopes) == 0 {
		return configScopes
	}
	return cfg.Scopes
}

// grantTypes returns the app's grant types (authorization_code when it lists none).
func grantTypes(cfg *store.SaaSApp) []string {
	if len(cfg.GrantTypes) == 0 {
		return []string{grantCode}
	}
	return cfg.GrantTypes
}

func refreshEnabled(cfg *store.SaaSApp) bool { return slices.Contains(grantTypes(cfg), grantRefresh) }

// pkceRequired reports whether every authorization request must carry a PKCE challenge.
func pkceRequired(cfg *store.SaaSApp) bool {
	return cfg.AllowPKCEWithoutClientSecret || slices.Contains(grantTypes(cfg), grantCodeWithPKCE)
}

// hasSecret reports whether confidential clients can authenticate.
func hasSecret(cfg *store.SaaSApp) bool { return cfg.ClientSecretSHA256 != "" }

// supportedScopes is what discovery advertises and what a request may be granted.
func supportedScopes(cfg *store.SaaSApp) []string {
	s := slices.Clone(appScopes(cfg))
	if !slices.Contains(s, scopeOpenID) {
		s = append([]string{scopeOpenID}, s...)
	}
	if refreshEnabled(cfg) {
		s = append(s, scopeOffline)
	}
	return s
}

// grantScopes returns the requested scopes the app supports, in the app's order, without
// duplicates; unknown scopes are dropped. ok is false when openid was not requested.
func grantScopes(requested string, cfg *store.SaaSApp) (granted []string, ok bool) {
	req := strings.Fields(requested)
	if !slices.Contains(req, scopeOpenID) {
		return nil, false
	}
	for _, s := range supportedScopes(cfg) {
		if slices.Contains(req, s) {
			granted = append(granted, s)
		}
	}
	return granted, true
}

// mcpScopes grants an MCP client the supported scopes it asked for (none required).
func mcpScopes(requested string) []string {
	granted := []string{}
	for _, s := range []string{scopeOpenID, scopeEmail, scopeProfile, scopeGroups, scopeOffline} {
		if slices.Contains(strings.Fields(requested), s) {
			granted = append(granted, s)
		}
	}
	return granted
}

// reservedClaims are claims Gatehouse sets itself; custom claims may not use these names.
var reservedClaims = map[string]bool{
	"iss": true, "sub": true, "aud": true, "exp": true, "iat": true, "nbf": true, "jti": true,
	"nonce": true, "auth_time": true, "at_hash": true, "c_hash": true, "azp": true, "acr": true,
	"amr": true, "sid": true, "scope": true, "client_id": true, "grant_id": true, "cnf": true,
	"email": true, "email_verified": true, "name": true, "groups": true, "custom": true,
}

// userClaims returns the user claims released for scopes: sub; email and email_verified
// (email); name, the IdP's pass-through claims under "custom" (profile); group names matching
// group_filter_regex (groups); and the app's custom claims whose scope was granted and that
// have a value. missing names a required custom claim without a value (tokens must then not
// be issued).
func (p *Provider) userClaims(cfg *store.SaaSApp, id *identity.Identity, scopes []string) (claims map[string]any, missing string) {
	claims = map[string]any{"sub": id.UserID}
	if slices.Contains(scopes, scopeEmail) && id.Email != "" {
		claims["email"] = id.Email
		claims["email_verified"] = true // Gatehouse only keeps verified addresses
	}
	if slices.Contains(scopes, scopeProfile) {
		if id.Name != "" {
			claims["name"] = id.Name
		}
		if custom := id.Custom(); len(custom) > 0 {
			claims["custom"] = custom
		}
	}
	if slices.Contains(scopes, scopeGroups) {
		claims["groups"] = p.groupNames(cfg, id)
	}
	for _, cc := range cfg.CustomClaims {
		scope := cc.Scope
		if scope == "" {
			scope = scopeProfile
		}
		if !slices.Contains(scopes, scope) || reservedClaims[cc.Name] || cc.Name == "" {
			continue
		}
		v, ok := claimValue(id, cc.Source)
		if !ok {
			if cc.Required && missing == "" {
				missing = cc.Name
			}
			continue
		}
		claims[cc.Name] = v
	}
	return claims, missing
}

// groupNames returns the user's group names (or e-mail or ID when a group has no name) that
// match the app's group_filter_regex (unanchored, RE2 syntax). Never nil.
func (p *Provider) groupNames(cfg *store.SaaSApp, id *identity.Identity) []string {
	names := []string{}
	re, ok := p.groupFilter(cfg.GroupFilterRegex)
	if !ok {
		return names
	}
	for _, g := range id.Groups {
		n := g.Name
		if n == "" {
			n = g.Email
		}
		if n == "" {
			n = g.ID
		}
		if n == "" || slices.Contains(names, n) || (re != nil && !re.MatchString(n)) {
			continue
		}
		names = append(names, n)
	}
	return names
}

// claimValue resolves a custom claim's source for the IdP the user logged in with: id, email,
// name and groups name Gatehouse's own attributes; anything else is an IdP claim (OIDC) or
// attribute (SAML) configured for pass-through. One value is released as a string, several as
// an array.
func claimValue(id *identity.Identity, src store.AttributeSource) (any, bool) {
	name := src.Name
	for _, m := range src.NameByIdP {
		if m.IdPID == id.IdP.ID && m.SourceName != "" {
			name = m.SourceName
			break
		}
	}
	var vals []string
	switch name {
	case "":
		return nil, false
	case "id":
		vals = []string{id.UserID}
	case "email":
		vals = []string{id.Email}
	case "name":
		vals = []string{id.Name}
	case "groups":
		for _, g := range id.Groups {
			if g.Name != "" {
				vals = append(vals, g.Name)
			}
		}
	default:
		vals = id.OIDCClaims[name]
		if len(vals) == 0 {
			vals = id.SAMLAttributes[name]
		}
	}
	vals = slices.DeleteFunc(slices.Clone(vals), func(s string) bool { return s == "" })
	switch len(vals) {
	case 0:
		return nil, false
	case 1:
		return vals[0], true
	}
	return vals, true
}
