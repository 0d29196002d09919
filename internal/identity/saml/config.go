package saml

import (
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/configfield"
)

// Config is the configuration of a SAML identity provider, with Cloudflare's field names.
//
//	config:
//	  sso_target_url: https://idp.example.com/sso
//	  issuer_url: https://idp.example.com/metadata      # the IdP entity ID
//	  idp_public_certs: ["-----BEGIN CERTIFICATE-----\n..."]
//	  sign_request: true
//	  binding: redirect                                 # or post
//	  email_attribute_name: email
//	  attributes: [department, groups]
//	  header_attributes: [{attribute_name: department, header_name: X-Department}]
//	  allowed_clock_skew: 90s
//	  allow_idp_initiated: false
//
// Instead of sso_target_url and idp_public_certs, metadata_xml (the IdP's metadata document)
// or metadata_url (fetched at start and refreshed hourly) may be given; issuer_url then selects
// and pins the entity.
type Config struct {
	// SSOURL is the IdP's single sign-on endpoint (sso_target_url, or from metadata).
	SSOURL string
	// IssuerURL is the IdP entity ID (issuer_url, or from metadata). Responses and assertions
	// must carry it as their Issuer.
	IssuerURL string
	// Certs are the trusted IdP signing certificates (idp_public_certs, or from metadata).
	// Several allow rotation; a signature verified by any of them is accepted.
	Certs []*x509.Certificate
	// MetadataURL, when set, is fetched for EntityID, SSO endpoint and certificates.
	MetadataURL string
	// MetadataXML is the IdP metadata given inline; its contents are already in SSOURL,
	// IssuerURL, Certs and Binding.
	MetadataXML string
	// SignRequest signs AuthnRequests with Gatehouse's key (published in the SP metadata).
	SignRequest bool
	// Binding is how the AuthnRequest is sent: BindingRedirect (default) or BindingPost.
	Binding string
	// EmailAttributeName names the attribute holding the e-mail address. Empty means: the NameID
	// when it is an e-mail address, else the attribute "email".
	EmailAttributeName string
	// Attributes are copied into the identity (JWT `custom` claim, `saml` rules).
	Attributes []string
	// HeaderAttributes send attributes to the origin as request headers.
	HeaderAttributes []HeaderAttribute
	// AllowedClockSkew is tolerated on every time check; default 90s.
	AllowedClockSkew time.Duration
	// EnableEncryption publishes Gatehouse's SAML encryption certificate in the SP metadata and
	// accepts encrypted assertions (RSA-OAEP key transport; AES-GCM, or AES-CBC inside a signed
	// Response). The assertion must still be signed. Plain assertions stay accepted.
	EnableEncryption bool
	// AllowIdPInitiated accepts responses that answer no AuthnRequest. Off by default: such
	// responses cannot be bound to a browser's login flow.
	AllowIdPInitiated bool

	bindingSet bool // binding was configured, so metadata must offer it
}

// HeaderAttribute sends the values of one SAML attribute to the origin as a header.
type HeaderAttribute struct {
	AttributeName string
	HeaderName    string
}

// AuthnRequest bindings.
const (
	BindingRedirect = "redirect"
	BindingPost     = "post"
)

// DefaultClockSkew is the default allowed_clock_skew.
const DefaultClockSkew = 90 * time.Second

// maxClockSkew bounds allowed_clock_skew: more would make expiry meaningless.
const maxClockSkew = 10 * time.Minute

// FieldError is one problem in a SAML configuration; Field is the path inside the provider's
// `config` object using the YAML names, e.g. "idp_public_certs[1]". It is the type every connector
// reports, so that package config places each problem at its line in the file.
type FieldError = configfield.FieldError

// Errors is every problem found in one configuration.
type Errors = configfield.Errors

var configFields = []string{
	"allow_idp_initiated", "allowed_clock_skew", "attributes", "binding", "email_attribute_name",
	"enable_encryption", "header_attributes", "idp_public_certs", "issuer_url", "metadata_url", "metadata_xml",
	"sign_request", "sso_target_url",
}

// ParseConfig decodes and validates the raw `config` object of a saml identity provider, as
// decoded from YAML or JSON. It reports every problem at once as Errors, sorted by field. It has
// no side effects: metadata_xml is parsed here, metadata_url is only fetched by New.
//
// A configuration must end up with at least one trusted certificate (idp_public_certs, or the
// signing keys of the metadata): without one SAML is disabled, never "unverified".
func ParseConfig(raw map[string]any) (*Config, error) {
	p := &parser{}
	cfg := &Config{AllowedClockSkew: DefaultClockSkew}
	for _, k := range configfield.SortedKeys(raw) {
		v := raw[k]
		switch k {
		case "sso_target_url":
			cfg.SSOURL = p.str(k, v)
		case "issuer_url":
			cfg.IssuerURL = p.str(k, v)
		case "idp_public_certs":
			cfg.Certs = p.certs(k, v)
		case "metadata_url":
			cfg.MetadataURL = p.str(k, v)
		case "metadata_xml":
			cfg.MetadataXML = p.str(k, v)
		case "sign_request":
			cfg.SignRequest = p.boolean(k, v)
		case "binding":
			cfg.Binding = p.str(k, v)
		case "email_attribute_name":
			cfg.EmailAttributeName = p.str(k, v)
		case "attributes":
			cfg.Attributes = p.strs(k, v)
		case "header_attributes":
			cfg.HeaderAttributes = p.headerAttributes(k, v)
		case "allowed_clock_skew":
			cfg.AllowedClockSkew = p.duration(k, v)
		case "allow_idp_initiated":
			cfg.AllowIdPInitiated = p.boolean(k, v)
		case "enable_encryption":
			cfg.EnableEncryption = p.boolean(k, v)
		default:
			p.add(k, fmt.Sprintf("unknown field %q (saml accepts: %s)", k, strings.Join(configFields, ", ")))
		}
	}

	cfg.bindingSet = cfg.Binding != ""
	switch cfg.Binding {
	case "", BindingRedirect, BindingPost:
	default:
		p.add("binding", fmt.Sprintf("must be redirect or post, not %q", cfg.Binding))
	}
	if cfg.AllowedClockSkew < 0 || cfg.AllowedClockSkew > maxClockSkew {
		p.add("allowed_clock_skew", fmt.Sprintf("must be between 0s and %s", maxClockSkew))
	}

	switch {
	case cfg.MetadataURL != "" && cfg.MetadataXML != "":
		p.add("metadata_url", "give metadata_url or metadata_xml, not both")
	case cfg.MetadataURL != "" || cfg.MetadataXML != "":
		from := "metadata_url"
		if cfg.MetadataXML != "" {
			from = "metadata_xml"
		}
		if _, ok := raw["sso_target_url"]; ok {
			p.add("sso_target_url", "comes from "+from+"; remove one of them")
		}
		if _, ok := raw["idp_public_certs"]; ok {
			p.add("idp_public_certs", "come from "+from+"; remove one of them")
		}
		if cfg.MetadataURL != "" {
			if err := checkEndpointURL(cfg.MetadataURL); err != nil {
				p.add("metadata_url", err.Error())
			}
		} else {
			md, err := parseIdPMetadata([]byte(cfg.MetadataXML), cfg.IssuerURL)
			if err != nil {
				p.add("metadata_xml", err.Error())
			} else if err := cfg.applyMetadata(md); err != nil {
				p.add("metadata_xml", err.Error())
			}
		}
	default:
		if cfg.SSOURL == "" {
			p.add("sso_target_url", "is required (or give metadata_url or metadata_xml)")
		} else if err := checkEndpointURL(cfg.SSOURL); err != nil {
			p.add("sso_target_url", err.Error())
		}
		if cfg.IssuerURL == "" {
			p.add("issuer_url", "is required (or give metadata_url or metadata_xml)")
		}
		if _, ok := raw["idp_public_certs"]; !ok {
			p.add("idp_public_certs", "at least one IdP signing certificate is required: without one SAML stays disabled")
		}
	}
	if cfg.Binding == "" {
		cfg.Binding = BindingRedirect
	}

	if len(p.errs) > 0 {
		slices.SortStableFunc(p.errs, func(a, b FieldError) int { return strings.Compare(a.Field, b.Field) })
		return nil, p.errs
	}
	return cfg, nil
}

// applyMetadata takes the entity ID, SSO endpoint and certificates from IdP metadata. The
// configured binding must be offered; without one, redirect is preferred over post.
func (c *Config) applyMetadata(md *idpMetadata) error {
	ep, binding, err := md.endpoint(c.Binding)
	if err != nil {
		return err
	}
	c.IssuerURL, c.SSOURL, c.Binding, c.Certs = md.EntityID, ep, binding, md.Certs
	return nil
}

// checkEndpointURL accepts an absolute https URL, or http on a loopback address (tests and local
// IdPs). Plain http elsewhere would let a network attacker swap certificates or read requests.
func checkEndpointURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.User != nil || u.Fragment != "" {
		return fmt.Errorf("must be an absolute https URL without user info or fragment")
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if isLoopback(u.Hostname()) {
			return nil
		}
	}
	return fmt.Errorf("must be an https URL (http only for loopback addresses), not %q", u.Scheme+"://…")
}

func isLoopback(h string) bool {
	if strings.EqualFold(h, "localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

type parser struct{ errs Errors }

func (p *parser) add(field, msg string) { p.errs = append(p.errs, FieldError{Field: field, Msg: msg}) }

func (p *parser) str(field string, v any) string {
	s, ok := v.(string)
	if !ok {
		p.add(field, "expected a string")
	}
	return strings.TrimSpace(s)
}

func (p *parser) boolean(field string, v any) bool {
	b, ok := v.(bool)
	if !ok {
		p.add(field, "expected true or false")
	}
	return b
}

func (p *parser) list(field string, v any) []any {
	switch l := v.(type) {
	case []any:
		return l
	case []string:
		out := make([]any, len(l))
		for i, s := range l {
			out[i] = s
		}
		return out
	case nil:
		return nil
	}
	p.add(field, "expected a list")
	return nil
}

func (p *parser) strs(field string, v any) []string {
	var out []string
	for i, e := range p.list(field, v) {
		f := fmt.Sprintf("%s[%d]", field, i)
		s := p.str(f, e)
		switch {
		case s == "":
			p.add(f, "must not be empty")
		case slices.Contains(out, s):
			p.add(f, fmt.Sprintf("%q is listed twice", s))
		default:
			out = append(out, s)
		}
	}
	return out
}

func (p *parser) certs(field string, v any) []*x509.Certificate {
	var out []*x509.Certificate
	l := p.list(field, v)
	if l != nil && len(l) == 0 {
		p.add(field, "at least one IdP signing certificate is required: without one SAML stays disabled")
	}
	for i, e := range l {
		f := fmt.Sprintf("%s[%d]", field, i)
		s, ok := e.(string)
		if !ok {
			p.add(f, "expected a PEM certificate string")
			continue
		}
		c, err := parseCertificate(s)
		if err != nil {
			p.add(f, err.Error())
			continue
		}
		out = append(out, c)
	}
	return out
}

// parseCertificate reads one certificate: PEM, or bare base64 DER as IdP consoles often show it.
func parseCertificate(s string) (*x509.Certificate, error) {
	s = strings.TrimSpace(s)
	var der []byte
	if strings.HasPrefix(s, "-----BEGIN") {
		b, rest := pem.Decode([]byte(s))
		if b == nil || b.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("expected one PEM block of type CERTIFICATE")
		}
		if strings.TrimSpace(string(rest)) != "" {
			return nil, fmt.Errorf("expected exactly one certificate per entry")
		}
		der = b.Bytes
	} else {
		var err error
		der, err = decodeBase64Loose(s, 64<<10)
		if err != nil {
			return nil, fmt.Errorf("expected a PEM certificate")
		}
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("not a valid X.509 certificate: %w", err)
	}
	return c, nil
}

func (p *parser) headerAttributes(field string, v any) []HeaderAttribute {
	var out []HeaderAttribute
	for i, e := range p.list(field, v) {
		f := fmt.Sprintf("%s[%d]", field, i)
		m, ok := configfield.AsMap(e)
		if !ok {
			p.add(f, "expected a mapping with attribute_name and header_name")
			continue
		}
		var h HeaderAttribute
		for _, k := range configfield.SortedKeys(m) {
			switch k {
			case "attribute_name":
				h.AttributeName = p.str(f+"."+k, m[k])
			case "header_name":
				h.HeaderName = p.str(f+"."+k, m[k])
			default:
				p.add(f+"."+k, fmt.Sprintf("unknown field %q (want attribute_name and header_name)", k))
			}
		}
		if h.AttributeName == "" {
			p.add(f+".attribute_name", "is required")
		}
		switch {
		case h.HeaderName == "":
			p.add(f+".header_name", "is required")
		case !validHeaderName(h.HeaderName):
			p.add(f+".header_name", fmt.Sprintf("%q is not a valid HTTP header name", h.HeaderName))
		case slices.ContainsFunc(out, func(o HeaderAttribute) bool { return strings.EqualFold(o.HeaderName, h.HeaderName) }):
			p.add(f+".header_name", fmt.Sprintf("%q is used twice", h.HeaderName))
		}
		out = append(out, h)
	}
	return out
}

// validHeaderName accepts an RFC 9110 token.
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

// duration accepts a Go duration string ("90s", "2m") or a number of seconds.
func (p *parser) duration(field string, v any) time.Duration {
	switch d := v.(type) {
	case string:
		x, err := time.ParseDuration(strings.TrimSpace(d))
		if err != nil {
			p.add(field, "expected a duration such as 90s or a number of seconds")
		}
		return x
	case int:
		return time.Duration(d) * time.Second
	case int64:
		if d > math.MaxInt32 || d < math.MinInt32 {
			break
		}
		return time.Duration(d) * time.Second
	case uint64:
		if d > math.MaxInt32 {
			break
		}
		return time.Duration(d) * time.Second
	case float64:
		if d > math.MaxInt32 || d < math.MinInt32 || math.IsNaN(d) {
			break
		}
		return time.Duration(d * float64(time.Second))
	case json.Number:
		f, err := d.Float64()
		if err == nil {
			return p.duration(field, f)
		}
	}
	p.add(field, "expected a duration such as 90s or a number of seconds")
	return 0
}
