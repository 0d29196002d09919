package samlidp

import (
	"fmt"
	"net/url"
	"strings"
	"unicode"

	"github.com/gatehouse/gatehouse/internal/configfield"
	"github.com/gatehouse/gatehouse/internal/httpx"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Field problems of a saas_app, with paths relative to it (e.g. "consumer_service_url",
// "custom_attributes[0].source.name_by_idp[1].idp_id"), as configuration validation reports
// them.
type (
	FieldError = configfield.FieldError
	Errors     = configfield.Errors
)

// maxEntityIDBytes bounds sp_entity_id (SAML: at most 1024 characters).
const maxEntityIDBytes = 1024

// ValidateApp checks the SAML settings of a saas_app and returns Errors, or nil. The
// consumer_service_url and default_relay_state must be absolute https URLs (http only on a
// loopback host), without user information or fragment: SAML responses are posted there, and a
// javascript: or data: URL would run in the auth domain's origin. OIDC-only settings are
// refused on a SAML application.
func ValidateApp(app *store.SaaSApp) error {
	if app == nil {
		return Errors{{Msg: "is required for a saas application"}}
	}
	var es Errors
	add := func(field, msg string) { es = append(es, FieldError{Field: field, Msg: msg}) }

	if app.AuthType != store.SaaSAuthSAML {
		add("auth_type", fmt.Sprintf("must be %q for a SAML application, not %q", store.SaaSAuthSAML, app.AuthType))
	}
	switch {
	case app.SPEntityID == "":
		add("sp_entity_id", "is required: the SP's entity ID, which every AuthnRequest's Issuer must equal")
	case len(app.SPEntityID) > maxEntityIDBytes:
		add("sp_entity_id", fmt.Sprintf("is longer than %d bytes", maxEntityIDBytes))
	case !cleanText(app.SPEntityID):
		add("sp_entity_id", "must not have leading or trailing spaces or control characters")
	}
	if app.ConsumerServiceURL == "" {
		add("consumer_service_url", "is required: the SP's assertion consumer service URL")
	} else if msg := urlProblem(app.ConsumerServiceURL); msg != "" {
		add("consumer_service_url", msg)
	}
	if _, ok := nameIDFormatURI(app.NameIDFormat); !ok {
		add("name_id_format", fmt.Sprintf("must be %q (the e-mail address, the default) or %q (the user's UUID), not %q", NameIDEmail, NameIDUser, app.NameIDFormat))
	}
	if app.DefaultRelayState != "" {
		if msg := urlProblem(app.DefaultRelayState); msg != "" {
			add("default_relay_state", msg)
		}
	}
	names := map[string]int{}
	for i, ca := range app.CustomAttributes {
		path := fmt.Sprintf("custom_attributes[%d]", i)
		switch {
		case ca.Name == "":
			add(path+".name", "is required")
		case !cleanText(ca.Name):
			add(path+".name", "must not have leading or trailing spaces or control characters")
		default:
			if j, dup := names[ca.Name]; dup {
				add(path+".name", fmt.Sprintf("%q is already custom_attributes[%d]", ca.Name, j))
			} else {
				names[ca.Name] = i
			}
		}
		switch ca.NameFormat {
		case "", NameFormatUnspecified, NameFormatBasic, NameFormatURI:
		default:
			add(path+".name_format", fmt.Sprintf("must be %s, %s or %s", NameFormatUnspecified, NameFormatBasic, NameFormatURI))
		}
		if ca.FriendlyName != "" && !cleanText(ca.FriendlyName) {
			add(path+".friendly_name", "must not have leading or trailing spaces or control characters")
		}
		if ca.Source.Name == "" {
			add(path+".source.name", "is required: the identity attribute (id, email, name, groups, or an IdP attribute or claim) the value comes from")
		}
		idps := map[string]bool{}
		for j, m := range ca.Source.NameByIdP {
			mp := fmt.Sprintf("%s.source.name_by_idp[%d]", path, j)
			if m.IdPID == "" {
				add(mp+".idp_id", "is required")
			} else if idps[m.IdPID] {
				add(mp+".idp_id", fmt.Sprintf("identity provider %q is mapped twice", m.IdPID))
			}
			idps[m.IdPID] = true
			if m.SourceName == "" {
				add(mp+".source_name", "is required")
			}
		}
	}
	if app.AuthType == store.SaaSAuthSAML {
		for _, f := range []struct {
			name string
			set  bool
		}{
			{"client_id", app.ClientID != ""},
			{"client_secret_sha256", app.ClientSecretSHA256 != ""},
			{"redirect_uris", len(app.RedirectURIs) > 0},
			{"scopes", len(app.Scopes) > 0},
			{"grant_types", len(app.GrantTypes) > 0},
			{"allow_pkce_without_client_secret", app.AllowPKCEWithoutClientSecret},
			{"access_token_lifetime", app.AccessTokenLifetime != 0},
			{"refresh_token_options", app.RefreshTokenOptions != nil},
			{"custom_claims", len(app.CustomClaims) > 0},
			{"group_filter_regex", app.GroupFilterRegex != ""},
		} {
			if f.set {
				add(f.name, "is an OIDC setting; this application's auth_type is saml")
			}
		}
	}
	if len(es) == 0 {
		return nil
	}
	return es
}

// cleanText reports a value without leading or trailing white space and without control
// characters.
func cleanText(s string) bool {
	return strings.TrimSpace(s) == s && !strings.ContainsFunc(s, unicode.IsControl)
}

// urlProblem returns why s may not receive SAML responses or serve as a RelayState URL, or "":
// it must be an absolute https URL, or http on a loopback host written plainly (localhost,
// 127.x.y.z or [::1]; see httpx.LoopbackHTTPHost),
// with a host, without user information, fragment, white space, control characters or
// backslashes. Everything else, javascript: and data: included, is refused.
func urlProblem(s string) string {
	const want = "must be an absolute https URL (http only on a loopback host such as 127.0.0.1)"
	if strings.ContainsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) || r == '\\' }) {
		return "must not contain white space, control characters or backslashes"
	}
	u, err := url.Parse(s)
	if err != nil || !u.IsAbs() || u.Opaque != "" {
		return want
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return fmt.Sprintf("%s; the %s: scheme is not allowed", want, u.Scheme)
	}
	if u.User != nil || strings.Contains(u.Host, "@") {
		return "must not contain user information (user@host)"
	}
	if u.Fragment != "" || strings.Contains(s, "#") {
		return "must not have a fragment (#...)"
	}
	host := u.Hostname()
	if host == "" {
		return want
	}
	if u.Scheme == "http" && !httpx.LoopbackHTTPHost(u.Host) {
		return want
	}
	return ""
}
