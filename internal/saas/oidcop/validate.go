package oidcop

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/configfield"
	"github.com/gatehouse/gatehouse/internal/httpx"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Lifetime ranges (Cloudflare's).
const (
	minAccessTokenLifetime  = time.Minute
	maxAccessTokenLifetime  = 24 * time.Hour
	minRefreshTokenLifetime = time.Minute // exclusive
	maxGroupFilterLen       = 1024
)

// ValidateApp checks the OIDC part of a saas_app object and reports every problem at once as
// configfield.Errors, with Field the path inside saas_app using the YAML names (for example
// "redirect_uris[1]"), sorted by field. Secret values never appear in the messages.
//
// Rules: client_id is 1-255 characters of letters, digits and "-._~"; client_secret_sha256 is
// 64 hex digits, required unless allow_pkce_without_client_secret; redirect_uris are at least
// one, unique, absolute https URLs (http only for the loopback hosts of httpx.LoopbackHTTPHost) without
// userinfo, fragment, wildcard, backslash, whitespace or control characters; scopes are among
// openid, email, profile, groups and include openid; grant_types are among authorization_code,
// authorization_code_with_pkce and refresh_tokens and include one of the first two (hybrid and
// implicit are not supported); access_token_lifetime is 1m-24h; refresh_token_options.lifetime
// is over 1m and refresh_token_options.reuse_grace_period 0-1m; group_filter_regex compiles (RE2); custom_claims have unique, non-reserved names,
// a scope among the app's scopes and a source name.
func ValidateApp(app *store.SaaSApp) error {
	var errs configfield.Errors
	add := func(field, format string, args ...any) {
		errs = append(errs, configfield.FieldError{Field: field, Msg: fmt.Sprintf(format, args...)})
	}
	if app == nil {
		return configfield.Errors{{Msg: "saas_app is missing"}}
	}
	if app.AuthType != store.SaaSAuthOIDC {
		add("auth_type", "must be %q for an OIDC application", store.SaaSAuthOIDC)
	}
	switch {
	case app.ClientID == "":
		add("client_id", "is required")
	case len(app.ClientID) > 255 || strings.IndexFunc(app.ClientID, func(r rune) bool { return !unreserved(r) }) >= 0:
		add("client_id", "must be 1-255 letters, digits or -._~")
	}
	switch s := app.ClientSecretSHA256; {
	case s == "" && !app.AllowPKCEWithoutClientSecret:
		add("client_secret_sha256", "is required unless allow_pkce_without_client_secret is true")
	case s != "" && (len(s) != 64 || strings.IndexFunc(s, func(r rune) bool { return !strings.ContainsRune("0123456789abcdefABCDEF", r) }) >= 0):
		add("client_secret_sha256", "must be the hex SHA-256 of the client secret (64 hex digits)")
	}

	if len(app.RedirectURIs) == 0 {
		add("redirect_uris", "at least one redirect URI is required")
	}
	for i, u := range app.RedirectURIs {
		field := fmt.Sprintf("redirect_uris[%d]", i)
		if msg := checkClientURL(u, false); msg != "" {
			add(field, "%s", msg)
		} else if slices.Index(app.RedirectURIs, u) < i {
			add(field, "duplicate of redirect_uris[%d]", slices.Index(app.RedirectURIs, u))
		}
	}

	for i, s := range app.Scopes {
		field := fmt.Sprintf("scopes[%d]", i)
		switch {
		case !slices.Contains(configScopes, s):
			add(field, "unknown scope %q (known: %s)", s, strings.Join(configScopes, ", "))
		case slices.Index(app.Scopes, s) < i:
			add(field, "duplicate scope %q", s)
		}
	}
	if len(app.Scopes) > 0 && !slices.Contains(app.Scopes, scopeOpenID) {
		add("scopes", "must include openid")
	}

	codeFlow := len(app.GrantTypes) == 0
	for i, gt := range app.GrantTypes {
		field := fmt.Sprintf("grant_types[%d]", i)
		switch gt {
		case grantCode, grantCodeWithPKCE:
			codeFlow = true
		case grantRefresh:
		case grantHybrid, grantImplicit:
			add(field, "%q is not supported by Gatehouse yet; use authorization_code or authorization_code_with_pkce", gt)
			continue
		default:
			add(field, "unknown grant type %q (known: authorization_code, authorization_code_with_pkce, refresh_tokens)", gt)
			continue
		}
		if slices.Index(app.GrantTypes, gt) < i {
			add(field, "duplicate grant type %q", gt)
		}
	}
	if !codeFlow {
		add("grant_types", "must include authorization_code or authorization_code_with_pkce")
	}

	if d := app.AccessTokenLifetime.Std(); d != 0 && (d < minAccessTokenLifetime || d > maxAccessTokenLifetime) {
		add("access_token_lifetime", "must be between 1m and 24h (got %s)", d)
	}
	if app.RefreshTokenOptions != nil {
		if d := app.RefreshTokenOptions.Lifetime.Std(); d != 0 && d <= minRefreshTokenLifetime {
			add("refresh_token_options.lifetime", "must be longer than 1m (got %s)", d)
		}
		if g := app.RefreshTokenOptions.ReuseGracePeriod; g != nil && (g.Std() < 0 || g.Std() > MaxRefreshReuseGracePeriod) {
			add("refresh_token_options.reuse_grace_period", "must be between 0s (no grace) and 1m (got %s): within it a stolen rotated refresh token goes unnoticed", g.Std())
		}
	}
	if re := app.GroupFilterRegex; re != "" {
		if len(re) > maxGroupFilterLen {
			add("group_filter_regex", "is longer than %d characters", maxGroupFilterLen)
		} else if _, err := regexp.Compile(re); err != nil {
			add("group_filter_regex", "is not a valid RE2 regular expression: %v", err)
		}
	}

	scopes := appScopes(app)
	for i, cc := range app.CustomClaims {
		field := fmt.Sprintf("custom_claims[%d]", i)
		switch {
		case cc.Name == "":
			add(field+".name", "is required")
		case reservedClaims[cc.Name]:
			add(field+".name", "%q is a claim Gatehouse sets itself", cc.Name)
		case strings.IndexFunc(cc.Name, func(r rune) bool { return r < 0x21 || r == 0x7f }) >= 0:
			add(field+".name", "must not contain spaces or control characters")
		case slices.IndexFunc(app.CustomClaims, func(o store.OIDCClaim) bool { return o.Name == cc.Name }) < i:
			add(field+".name", "duplicate claim %q", cc.Name)
		}
		if cc.Scope != "" && !slices.Contains(scopes, cc.Scope) {
			add(field+".scope", "must be one of the app's scopes (%s)", strings.Join(scopes, ", "))
		}
		if cc.Source.Name == "" {
			add(field+".source.name", "is required")
		}
		for j, m := range cc.Source.NameByIdP {
			if m.IdPID == "" {
				add(fmt.Sprintf("%s.source.name_by_idp[%d].idp_id", field, j), "is required")
			}
			if m.SourceName == "" {
				add(fmt.Sprintf("%s.source.name_by_idp[%d].source_name", field, j), "is required")
			}
		}
	}
	if app.SendEmptyGroupsAttribute != nil {
		add("send_empty_groups_attribute", "is a SAML setting; this application's auth_type is oidc")
	}
	if app.AppLauncherURL != "" {
		if msg := checkClientURL(app.AppLauncherURL, true); msg != "" {
			add("app_launcher_url", "%s", msg)
		}
	}
	if len(errs) == 0 {
		return nil
	}
	slices.SortStableFunc(errs, func(a, b configfield.FieldError) int { return strings.Compare(a.Field, b.Field) })
	return errs
}

func unreserved(r rune) bool {
	return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || strings.ContainsRune("-._~", r)
}

// checkClientURL returns why u is not acceptable as a redirect URI (or, with fragmentOK, as a
// launcher link), or "".
func checkClientURL(u string, fragmentOK bool) string {
	lower := strings.ToLower(strings.TrimSpace(u))
	switch {
	case u == "":
		return "must not be empty"
	case strings.HasPrefix(lower, "javascript:"), strings.HasPrefix(lower, "data:"), strings.HasPrefix(lower, "vbscript:"):
		return "javascript:, data: and vbscript: URLs are not allowed"
	case strings.IndexFunc(u, func(r rune) bool { return r <= 0x20 || r == 0x7f }) >= 0:
		return "must not contain spaces or control characters"
	case strings.Contains(u, `\`):
		return "must not contain a backslash"
	case strings.Contains(u, "*"):
		return "wildcards are not allowed: register every redirect URI exactly"
	case !fragmentOK && strings.Contains(u, "#"):
		return "must not have a fragment"
	}
	p, err := url.Parse(u)
	if err != nil {
		return "is not a valid URL"
	}
	switch {
	case p.Scheme != "https" && p.Scheme != "http":
		return "must be an absolute https URL"
	case p.Opaque != "" || p.Host == "":
		return "must be an absolute URL with a host (https://host/path)"
	case p.User != nil:
		return "must not contain user information (user@host)"
	case p.Scheme == "http" && !httpx.LoopbackHTTPHost(p.Host):
		return "must use https (http is only allowed for localhost, 127.x.y.z and [::1], written plainly)"
	}
	return ""
}
