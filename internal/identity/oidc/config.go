package oidc

import (
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"

	"github.com/gatehouse/gatehouse/internal/configfield"
)

// Config is the configuration of a generic OIDC identity provider, with Cloudflare's field names:
//
//	config:
//	  client_id: gatehouse
//	  client_secret: {env: OIDC_CLIENT_SECRET}
//	  issuer: https://idp.example.com           # discovery: <issuer>/.well-known/openid-configuration
//	  scopes: [openid, email, profile]          # the default
//	  claims: [department, groups]              # copied into the JWT `custom` claim, usable in oidc rules
//
// Instead of discovery, auth_url, token_url and certs_url (and optionally userinfo_url) may be
// given by hand; issuer is required either way, because the ID token's `iss` is checked against it
// exactly.
type Config struct {
	ClientID     string
	ClientSecret SecretRef
	// Issuer is the exact issuer identifier of the provider.
	Issuer string
	// AuthURL, TokenURL, CertsURL and UserinfoURL are set when the endpoints are configured by
	// hand; then no discovery happens. UserinfoURL is optional.
	AuthURL     string
	TokenURL    string
	CertsURL    string
	UserinfoURL string
	// Scopes always include "openid"; default openid, email, profile.
	Scopes []string
	// PKCE sends an S256 code challenge (default true).
	PKCE bool
	// EmailClaimName is the claim that holds the user's e-mail address (default "email").
	EmailClaimName string
	// Claims are the claims copied into Identity.OIDCClaims.
	Claims []string
	// Prompt is sent as the `prompt` parameter when set (login, none, consent, select_account).
	Prompt string
}

// Manual reports whether the endpoints are configured by hand rather than discovered.
func (c *Config) Manual() bool { return c.AuthURL != "" }

// SecretRef is a secret given inline, from a file or from an environment variable. It is the
// same type as the one-time PIN's SMTP password so that every connector reads secrets alike.
type SecretRef = configfield.SecretRef

// FieldError is one problem in an identity provider's configuration; Field is the path inside the
// provider's `config` object. It is the type package config already reports for one-time PIN.
type FieldError = configfield.FieldError

// Errors is every problem found in one configuration.
type Errors = configfield.Errors

// defaultScopes are requested unless scopes is configured.
var defaultScopes = []string{"openid", "email", "profile"}

const (
	// DefaultEmailClaimName is the claim read for the e-mail address unless configured.
	DefaultEmailClaimName = "email"
	maxClaims             = 64
)

var configFields = []string{"client_id", "client_secret", "issuer", "auth_url", "token_url", "certs_url",
	"userinfo_url", "scopes", "pkce_enabled", "email_claim_name", "claims", "prompt"}

// ParseConfig decodes and validates the raw `config` object of an oidc identity provider, as
// decoded from YAML or JSON. It reports every problem at once as Errors, sorted by field, and never
// includes secret values in them. It does no I/O: the client secret is resolved by New and the
// provider is discovered on first use.
func ParseConfig(raw map[string]any) (*Config, error) {
	p := &parser{}
	cfg := p.config(raw)
	if len(p.errs) > 0 {
		SortErrors(p.errs)
		return nil, p.errs
	}
	return cfg, nil
}

// SortErrors sorts es by field, keeping the order of problems with the same field.
func SortErrors(es Errors) {
	slices.SortStableFunc(es, func(a, b FieldError) int { return strings.Compare(a.Field, b.Field) })
}

type parser struct{ errs Errors }

func (p *parser) add(field, msg string) { p.errs = append(p.errs, FieldError{Field: field, Msg: msg}) }

func (p *parser) config(raw map[string]any) *Config {
	cfg := &Config{PKCE: true, EmailClaimName: DefaultEmailClaimName}
	scopesSet := false
	for _, k := range configfield.SortedKeys(raw) {
		v := raw[k]
		switch k {
		case "client_id":
			cfg.ClientID = p.str(k, v)
		case "client_secret":
			ref, err := configfield.ParseSecretRef(v)
			switch {
			case err != nil:
				p.add(k, err.Error())
			case ref.IsZero():
				p.add(k, "must not be empty")
			}
			cfg.ClientSecret = ref
		case "issuer":
			cfg.Issuer = p.str(k, v)
		case "auth_url":
			cfg.AuthURL = p.str(k, v)
		case "token_url":
			cfg.TokenURL = p.str(k, v)
		case "certs_url":
			cfg.CertsURL = p.str(k, v)
		case "userinfo_url":
			cfg.UserinfoURL = p.str(k, v)
		case "scopes":
			cfg.Scopes = p.strs(k, v, true)
			scopesSet = true
		case "pkce_enabled":
			b, ok := v.(bool)
			if !ok {
				p.add(k, "expected true or false")
			}
			cfg.PKCE = b
		case "email_claim_name":
			cfg.EmailClaimName = p.str(k, v)
			if cfg.EmailClaimName == "" {
				p.add(k, "must not be empty")
				cfg.EmailClaimName = DefaultEmailClaimName
			}
		case "claims":
			cfg.Claims = p.strs(k, v, false)
			if len(cfg.Claims) > maxClaims {
				p.add(k, fmt.Sprintf("at most %d claims", maxClaims))
			}
		case "prompt":
			cfg.Prompt = p.str(k, v)
		default:
			p.add(k, fmt.Sprintf("unknown field %q (oidc accepts: %s)", k, strings.Join(configFields, ", ")))
		}
	}

	switch v, given := raw["client_id"]; {
	case !given:
		p.add("client_id", "is required")
	case v == "":
		p.add("client_id", "must not be empty")
	}
	if _, given := raw["client_secret"]; !given {
		p.add("client_secret", "is required")
	}
	switch v, given := raw["issuer"]; {
	case !given:
		p.add("issuer", "is required (the exact issuer identifier of the provider)")
	case v == "":
		p.add("issuer", "must not be empty")
	default:
		if _, ok := v.(string); ok {
			p.checkIssuer(cfg.Issuer)
		}
	}
	p.checkEndpoints(cfg)
	if !scopesSet {
		cfg.Scopes = slices.Clone(defaultScopes)
	} else if cfg.Scopes != nil && !slices.Contains(cfg.Scopes, "openid") {
		p.add("scopes", `must include "openid"`)
	}
	for _, s := range cfg.Scopes {
		if !validToken(s) {
			p.add("scopes", fmt.Sprintf("scope %q has characters RFC 6749 does not allow", s))
		}
	}
	p.checkPrompt(cfg.Prompt)
	return cfg
}

func (p *parser) checkIssuer(iss string) {
	u, msg := parseEndpoint(iss)
	switch {
	case msg != "":
		p.add("issuer", msg)
	case u.RawQuery != "" || u.Fragment != "" || strings.Contains(iss, "?") || strings.Contains(iss, "#"):
		p.add("issuer", "must not have a query or fragment")
	}
}

func (p *parser) checkEndpoints(cfg *Config) {
	manual := map[string]string{"auth_url": cfg.AuthURL, "token_url": cfg.TokenURL, "certs_url": cfg.CertsURL}
	some := cfg.AuthURL != "" || cfg.TokenURL != "" || cfg.CertsURL != ""
	for _, f := range []string{"auth_url", "token_url", "certs_url"} {
		switch v := manual[f]; {
		case v == "" && some:
			p.add(f, "is required when endpoints are configured by hand (auth_url, token_url and certs_url go together)")
		case v != "":
			if _, msg := parseEndpoint(v); msg != "" {
				p.add(f, msg)
			}
		}
	}
	if cfg.UserinfoURL != "" {
		if !some {
			p.add("userinfo_url", "is only used with auth_url, token_url and certs_url; discovery provides it otherwise")
		} else if _, msg := parseEndpoint(cfg.UserinfoURL); msg != "" {
			p.add("userinfo_url", msg)
		}
	}
}

var prompts = []string{"none", "login", "consent", "select_account"}

func (p *parser) checkPrompt(s string) {
	if s == "" {
		return
	}
	vs := strings.Fields(s)
	for _, v := range vs {
		if !slices.Contains(prompts, v) {
			p.add("prompt", fmt.Sprintf("unknown value %q (want none, login, consent or select_account)", v))
			return
		}
	}
	if slices.Contains(vs, "none") && len(vs) > 1 {
		p.add("prompt", `"none" cannot be combined with other values`)
	}
}

func (p *parser) str(field string, v any) string {
	s, ok := v.(string)
	if !ok {
		p.add(field, "expected a string")
	}
	return s
}

// strs decodes a list of non-empty, distinct strings; with splitString a single string is split
// on white space (scopes: "openid email").
func (p *parser) strs(field string, v any, splitString bool) []string {
	var items []any
	switch v := v.(type) {
	case string:
		if !splitString {
			p.add(field, "expected a list of strings")
			return nil
		}
		for _, s := range strings.Fields(v) {
			items = append(items, s)
		}
	case []any:
		items = v
	case []string:
		for _, s := range v {
			items = append(items, s)
		}
	default:
		p.add(field, "expected a list of strings")
		return nil
	}
	out := make([]string, 0, len(items))
	for i, it := range items {
		s, ok := it.(string)
		switch {
		case !ok:
			p.add(fmt.Sprintf("%s[%d]", field, i), "expected a string")
		case s == "":
			p.add(fmt.Sprintf("%s[%d]", field, i), "must not be empty")
		case slices.Contains(out, s):
			p.add(fmt.Sprintf("%s[%d]", field, i), fmt.Sprintf("duplicate value %q", s))
		default:
			out = append(out, s)
		}
	}
	return out
}

// parseEndpoint checks a provider URL: absolute https, or http to a loopback host (tests, a
// provider on the same machine). It returns a message naming the problem, or "".
func parseEndpoint(s string) (*url.URL, string) {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return nil, "must be an absolute URL"
	}
	if u.User != nil {
		return nil, "must not contain user information"
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !loopbackHost(u.Hostname()) {
			return nil, "must use https (http is only accepted for a loopback host)"
		}
	default:
		return nil, "must use https"
	}
	if strings.ContainsAny(s, " \t\r\n\\") {
		return nil, "must not contain white space or backslashes"
	}
	return u, ""
}

func loopbackHost(h string) bool {
	if strings.EqualFold(h, "localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// validToken reports whether s is a valid scope token (RFC 6749 §3.3: %x21 / %x23-5B / %x5D-7E).
func validToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return s != ""
}
