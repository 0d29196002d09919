// Package google implements the Google login method (identity provider type "google"): OpenID
// Connect against https://accounts.google.com through the generic connector of package oidc, with
// an optional Google Workspace hosted-domain restriction (Cloudflare's google-apps `apps_domain`).
//
//	config:
//	  client_id: 1234-abc.apps.googleusercontent.com
//	  client_secret: {env: GOOGLE_CLIENT_SECRET}
//	  apps_domain: example.com      # only accounts of this Workspace domain (the `hd` claim)
//	  claims: [locale]              # optional, as for oidc
//	  email_claim_name: email       # optional, as for oidc
//	  prompt: select_account        # optional, as for oidc
//
// With apps_domain the authorization request carries `hd` (which only pre-selects the account at
// Google) and the ID token's `hd` claim must equal it, which is the actual check: a login whose
// token has no `hd` or another one fails with oidc-hosted-domain-mismatch.
package google

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/gatehouse/gatehouse/internal/identity"
	"github.com/gatehouse/gatehouse/internal/identity/oidc"
	"github.com/gatehouse/gatehouse/internal/mailaddr"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Issuer is Google's OpenID Connect issuer.
const Issuer = "https://accounts.google.com"

// issuerNoScheme is the other `iss` value Google documents for its ID tokens.
const issuerNoScheme = "accounts.google.com"

// reasonHostedDomain is the auth-log reason of a login from outside apps_domain.
const reasonHostedDomain = "oidc-hosted-domain-mismatch"

// Config is the configuration of a google identity provider.
type Config struct {
	// OIDC is the generic OIDC configuration with Google's issuer.
	OIDC *oidc.Config
	// AppsDomain, when set, is the only Google Workspace domain whose accounts may log in
	// (lower case).
	AppsDomain string
}

var fields = []string{"client_id", "client_secret", "apps_domain", "claims", "email_claim_name", "prompt"}

// ParseConfig decodes and validates the raw `config` object of a google identity provider. It
// reports every problem at once as oidc.Errors, sorted by field, and does no I/O.
func ParseConfig(raw map[string]any) (*Config, error) { return parseConfig(raw, Issuer) }

func parseConfig(raw map[string]any, issuer string) (*Config, error) {
	var errs oidc.Errors
	cfg := &Config{}
	generic := map[string]any{"issuer": issuer}
	for k, v := range raw {
		switch k {
		case "apps_domain":
			d, msg := parseDomain(v)
			if msg != "" {
				errs = append(errs, oidc.FieldError{Field: k, Msg: msg})
			}
			cfg.AppsDomain = d
		case "client_id", "client_secret", "claims", "email_claim_name", "prompt":
			generic[k] = v
		default:
			errs = append(errs, oidc.FieldError{Field: k, Msg: fmt.Sprintf("unknown field %q (google accepts: %s)", k, strings.Join(fields, ", "))})
		}
	}
	oc, err := oidc.ParseConfig(generic)
	if err != nil {
		var es oidc.Errors
		if !errors.As(err, &es) {
			return nil, err
		}
		errs = append(errs, es...)
	}
	if len(errs) > 0 {
		oidc.SortErrors(errs)
		return nil, errs
	}
	cfg.OIDC = oc
	return cfg, nil
}

// parseDomain checks an apps_domain value: a DNS name, without scheme, "@" or path.
func parseDomain(v any) (string, string) {
	s, ok := v.(string)
	if !ok {
		return "", "expected a string"
	}
	d := strings.ToLower(strings.TrimSuffix(s, "."))
	if d == "" || len(d) > 253 || net.ParseIP(d) != nil || !strings.Contains(d, ".") {
		return "", "must be a domain name such as example.com"
	}
	for _, label := range strings.Split(d, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return "", "must be a domain name such as example.com"
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return "", "must be a domain name such as example.com (IDNs in their xn-- form)"
			}
		}
	}
	return d, ""
}

// New returns the connector of a google identity provider. It does no network I/O; Google's
// discovery document is fetched on first use.
func New(idp store.IdentityProvider, env identity.Env) (*oidc.Connector, error) {
	return newConnector(idp, env, Issuer)
}

// newConnector is New with another issuer. Tests cannot reach Google: they point the preset at a
// local provider through this hook, which is not reachable from configuration.
func newConnector(idp store.IdentityProvider, env identity.Env, issuer string) (*oidc.Connector, error) {
	cfg, err := parseConfig(idp.Config, issuer)
	if err != nil {
		return nil, fmt.Errorf("identity provider %q: %w", idp.ID, err)
	}
	opts := oidc.Options{Type: store.IdPGoogle}
	if issuer == Issuer {
		opts.IDTokenIssuers = []string{issuerNoScheme}
	}
	if d := cfg.AppsDomain; d != "" {
		opts.AuthParams = url.Values{"hd": {d}}
		opts.CheckClaims = func(claims map[string]any) error {
			// The hosted domain compares as an e-mail domain does (package mailaddr): exactly,
			// after ASCII case folding, never through Unicode folding ("ſ" is not "s").
			hd, _ := claims["hd"].(string)
			if n, err := mailaddr.NormalizeDomain(hd); err != nil || n != d {
				return identity.Failf(reasonHostedDomain, "ID token hd %q is not apps_domain %q", hd, d)
			}
			return nil
		}
	}
	return oidc.NewFromConfig(idp, cfg.OIDC, env, opts)
}
