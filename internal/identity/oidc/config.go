package oidc

import (
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"

	"github.com/gatehouse/gatehouse/internal/identity/onetimepin"
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
type SecretRef = onetimepin.SecretRef

// FieldError is one problem in an identity provider's configuration; Field is the path inside the
// provider's `config` object. It is the type package config already reports for one-time PIN.
type FieldError = onetimepin.FieldError

// Errors is every problem found in one configuration.
type Errors = onetimepin.Errors

// Defaults.
var (
	DefaultScopes = []string{"openid", "email", "profile"}
)

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
	p := &Parser{}
	cfg := p.Config(raw, configFields)
	return p.Result(cfg)
}

// Parser decodes the shared fields of OIDC-family configurations; presets (google) use it to
// parse their own field set with the same rules and messages.
type Parser struct{ errs Errors }

// Result returns cfg, or the collected problems sorted by field.
func (p *Parser) Result(cfg *Config) (*Config, error) {
	if len(p.errs) > 0 {
		slices.SortStableFunc(p.errs, func(a, b FieldError) int { return strings.Compare(a.Field, b.Field) })
		return nil, p.errs
	}
	return cfg, nil
}

// Add records a problem with field.
func (p *Parser) Add(field, msg string) { p.errs = append(p.errs, FieldError{Field: field, Msg: msg}) }

// Config decodes raw, accepting only the named fields (a subset of the generic OIDC ones); a
// preset supplies the values it fixes (issuer) by adding them to raw first.
func (p *Parser) Config(raw map[string]any, accepted []string) *Config {
	cfg := &Config{PKCE: true, EmailClaimName: DefaultEmailClaimName}
	scopesSet := false
	for _, k := range SortedKeys(raw) {
		v := raw[k]
		if !slices.Contains(accepted, k) {
			p.Add(k, fmt.Sprintf("unknown field %q (accepted: %s)", k, strings.Join(accepted, ", ")))
			continue
		}
		switch k {
		case "client_id":
			cfg.ClientID = p.String(k, v)
		case "client_secret":
			ref, err := onetimepin.ParseSecretRef(v)
			if err != nil {
				p.Add(k, err.Error())
			}
			cfg.ClientSecret = ref
		case "issuer":
			cfg.Issuer = p.String(k, v)
		case "auth_url":
			cfg.AuthURL = p.String(k, v)
		case "token_url":
			cfg.TokenURL = p.String(k, v)
		case "certs_url":
			cfg.CertsURL = p.String(k, v)
		case "userinfo_url":
			cfg.UserinfoURL = p.String(k, v)
		case "scopes":
			cfg.Scopes = p.Strings(k, v, true)
			scopesSet = true
		case "pkce_enabled":
			b, ok := v.(bool)
			if !ok {
				p.Add(k, "expected true or false")
			}
			cfg.PKCE = b
		case "email_claim_name":
			cfg.EmailClaimName = p.String(k, v)
			if cfg.EmailClaimName == "" {
				p.Add(k, "must not be empty")
				cfg.EmailClaimName = DefaultEmailClaimName
			}
		case "claims":
			cfg.Claims = p.Strings(k, v, false)
			if len(cfg.Claims) > maxClaims {
				p.Add(k, fmt.Sprintf("at most %d claims", maxClaims))
			}
		case "prompt":
			cfg.Prompt = p.String(k, v)
		}
	}

	if cfg.ClientID == "" {
		p.Add("client_id", "is required")
	}
	if cfg.ClientSecret.IsZero() {
		if _, given := raw["client_secret"]; !given {
			p.Add("client_secret", "is required")
		}
	}
	p.checkIssuer(cfg.Issuer)
	p.checkEndpoints(cfg)
	if !scopesSet {
		cfg.Scopes = slices.Clone(DefaultScopes)
	} else if !slices.Contains(cfg.Scopes, "openid") {
		p.Add("scopes", `must include "openid"`)
	}
	for _, s := range cfg.Scopes {
		if !validToken(s) {
			p.Add("scopes", fmt.Sprintf("scope %q has characters RFC 6749 does not allow", s))
		}
	}
	p.checkPrompt(cfg.Prompt)
	return cfg
}

func (p *Parser) checkIssuer(iss string) {
	if iss == "" {
		p.Add("issuer", "is required (the exact issuer identifier of the provider)")
		return
	}
	u, msg := parseEndpoint(iss)
	switch {
	case msg != "":
		p.Add("issuer", msg)
	case u.RawQuery != "" || u.Fragment != "" || strings.Contains(iss, "?") || strings.Contains(iss, "#"):
		p.Add("issuer", "must not have a query or fragment")
	}
}

func (p *Parser) checkEndpoints(cfg *Config) {
	manual := map[string]string{"auth_url": cfg.AuthURL, "token_url": cfg.TokenURL, "certs_url": cfg.CertsURL}
	any := cfg.AuthURL != "" || cfg.TokenURL != "" || cfg.CertsURL != ""
	for _, f := range []string{"auth_url", "token_url", "certs_url"} {
		switch v := manual[f]; {
		case v == "" && any:
			p.Add(f, "is required when endpoints are configured by hand (auth_url, token_url and certs_url go together)")
		case v != "":
			if _, msg := parseEndpoint(v); msg != "" {
				p.Add(f, msg)
			}
		}
	}
	if cfg.UserinfoURL != "" {
		if !any {
			p.Add("userinfo_url", "is only used with auth_url, token_url and certs_url; discovery provides it otherwise")
		} else if _, msg := parseEndpoint(cfg.UserinfoURL); msg != "" {
			p.Add("userinfo_url", msg)
		}
	}
}

var prompts = []string{"none", "login", "consent", "select_account"}

func (p *Parser) checkPrompt(s string) {
	if s == "" {
		return
	}
	vs := strings.Fields(s)
	for _, v := range vs {
		if !slices.Contains(prompts, v) {
			p.Add("prompt", fmt.Sprintf("unknown value %q (want none, login, consent or select_account)", v))
			return
		}
	}
	if slices.Contains(vs, "none") && len(vs) > 1 {
		p.Add("prompt", `"none" cannot be combined with other values`)
	}
}

// String decodes a string field.
func (p *Parser) String(field string, v any) string {
	s, ok := v.(string)
	if !ok {
		p.Add(field, "expected a string")
	}
	return s
}

// Strings decodes a list of non-empty, distinct strings; with splitString a single string is
// split on white space (scopes: "openid email").
func (p *Parser) Strings(field string, v any, splitString bool) []string {
	var items []any
	switch v := v.(type) {
	case string:
		if !splitString {
			p.Add(field, "expected a list of strings")
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
		p.Add(field, "expected a list of strings")
		return nil
	}
	out := make([]string, 0, len(items))
	for i, it := range items {
		s, ok := it.(string)
		switch {
		case !ok:
			p.Add(fmt.Sprintf("%s[%d]", field, i), "expected a string")
		case s == "":
			p.Add(fmt.Sprintf("%s[%d]", field, i), "must not be empty")
		case slices.Contains(out, s):
			p.Add(fmt.Sprintf("%s[%d]", field, i), fmt.Sprintf("duplicate value %q", s))
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

// SortedKeys returns the keys of m in order, for deterministic error reports.
func SortedKeys(m map[string]any) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}
