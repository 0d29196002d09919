// Package onetimepin implements the one-time PIN login method: the user enters an e-mail address,
// receives a short-lived code by e-mail and types it in. This file holds its typed configuration
// (the `config` object of an identity provider with `type: onetimepin`).
package onetimepin

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/mail"
	"os"
	"slices"
	"strconv"
	"strings"
)

// Config is the configuration of a one-time PIN identity provider.
//
//	config:
//	  smtp:
//	    host: smtp.example.com
//	    port: 587
//	    from: "Gatehouse <access@example.com>"
//	    tls: starttls
//	    username: access@example.com
//	    password: {env: SMTP_PASSWORD}
//
// Without smtp the codes are written to the log instead of being sent, which is only suitable for
// demos and tests; Gatehouse warns about it at start.
type Config struct {
	// SMTP is the mail relay PINs are sent through; nil means "write PINs to the log".
	SMTP *SMTPConfig
}

// SMTPConfig says how PIN e-mails are sent.
type SMTPConfig struct {
	// Host is the relay's host name or IP address, without a port.
	Host string
	// Port defaults to 587 for starttls, 465 for tls and 25 for none.
	Port int
	// From is the sender's bare address, used for MAIL FROM. The `from` field may also be written
	// "Name <address>" (RFC 5322); From then holds just the address.
	From string
	// FromAddress is the `from` field parsed, display name included (for the From header).
	FromAddress *mail.Address
	// TLS is TLSStartTLS ("starttls", the default), TLSImplicit ("tls") or TLSNone ("none"). With
	// "none", username and password are only accepted for a loopback relay, as in net/smtp.
	TLS string
	// Username and Password authenticate to the relay (both or neither).
	Username string
	Password SecretRef
}

// FieldError is one problem in a one-time PIN configuration. Field is the path inside the
// provider's `config` object using the YAML names, e.g. "smtp.port".
type FieldError struct {
	Field string
	Msg   string
}

// Error implements error.
func (e FieldError) Error() string {
	if e.Field == "" {
		return e.Msg
	}
	return e.Field + ": " + e.Msg
}

// Errors is every problem found in one configuration.
type Errors []FieldError

// Error implements error: one problem per line.
func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// ParseConfig decodes and validates the raw `config` object of a onetimepin identity provider, as
// decoded from YAML or JSON (nil and an empty map are valid and mean "no SMTP"). It reports every
// problem at once as Errors, sorted by field, and never includes secret values in them. It does not resolve the
// SMTP password (see SecretRef.Resolve), so it has no side effects.
func ParseConfig(raw map[string]any) (*Config, error) {
	p := &parser{}
	cfg := &Config{}
	for _, k := range sortedKeys(raw) {
		switch k {
		case "smtp":
			if raw[k] == nil {
				continue
			}
			m, ok := asMap(raw[k])
			if !ok {
				p.add("smtp", "expected a mapping")
				continue
			}
			cfg.SMTP = p.smtp(m)
		default:
			p.add(k, fmt.Sprintf("unknown field %q (onetimepin accepts: smtp)", k))
		}
	}
	if len(p.errs) > 0 {
		slices.SortStableFunc(p.errs, func(a, b FieldError) int { return strings.Compare(a.Field, b.Field) })
		return nil, p.errs
	}
	return cfg, nil
}

type parser struct{ errs Errors }

func (p *parser) add(field, msg string) { p.errs = append(p.errs, FieldError{field, msg}) }

var smtpFields = []string{"host", "port", "from", "tls", "username", "password"}

func (p *parser) smtp(m map[string]any) *SMTPConfig {
	s := &SMTPConfig{}
	badPassword := false
	for _, k := range sortedKeys(m) {
		v := m[k]
		f := "smtp." + k
		switch k {
		case "host":
			s.Host = p.str(f, v)
		case "port":
			s.Port = p.port(f, v)
		case "from":
			s.From = p.str(f, v)
		case "tls":
			s.TLS = p.str(f, v)
		case "username":
			s.Username = p.str(f, v)
			if v == "" {
				p.add(f, "must not be empty")
			}
		case "password":
			ref, err := ParseSecretRef(v)
			if err != nil {
				p.add(f, err.Error())
				badPassword = true
			}
			s.Password = ref
		default:
			p.add(f, fmt.Sprintf("unknown field %q (smtp accepts: %s)", k, strings.Join(smtpFields, ", ")))
		}
	}

	if _, ok := m["host"]; !ok {
		p.add("smtp.host", "is required")
	} else if s.Host != "" && !validHost(s.Host) {
		p.add("smtp.host", "must be a host name or IP address without scheme or port")
	}
	if _, ok := m["from"]; !ok {
		p.add("smtp.from", "is required")
	} else if s.From != "" {
		a, err := mail.ParseAddress(s.From)
		if err != nil {
			p.add("smtp.from", "is not a valid e-mail address")
		} else {
			s.From, s.FromAddress = a.Address, a
		}
	}
	switch s.TLS {
	case "":
		s.TLS = TLSStartTLS
	case TLSStartTLS, TLSImplicit, TLSNone:
	default:
		p.add("smtp.tls", fmt.Sprintf("must be starttls, tls or none, not %q", s.TLS))
	}
	if s.Port == 0 {
		switch s.TLS {
		case TLSImplicit:
			s.Port = 465
		case TLSNone:
			s.Port = 25
		default:
			s.Port = 587
		}
	}
	_, userGiven := m["username"]
	hasUser, hasPass := s.Username != "" || userGiven, !s.Password.IsZero() || badPassword
	switch {
	case hasUser && !hasPass:
		p.add("smtp.password", "is required when username is set")
	case hasPass && !hasUser:
		p.add("smtp.username", "is required when password is set")
	case hasUser && s.TLS == TLSNone && !isLoopback(s.Host):
		p.add("smtp.tls", "must be starttls or tls to send credentials to a relay that is not on loopback")
	}
	return s
}

func (p *parser) str(field string, v any) string {
	s, ok := v.(string)
	if !ok {
		p.add(field, "expected a string")
	}
	return s
}

func (p *parser) port(field string, v any) int {
	n, ok := asInt(v)
	if !ok || n < 1 || n > 65535 {
		p.add(field, "must be a port number between 1 and 65535")
		return 0
	}
	return n
}

// SecretRef is a secret given inline (value), read from a file (file) or from an environment
// variable (env); exactly one is set. In YAML it is a plain string (= value) or a mapping such as
// {env: SMTP_PASSWORD}. Its String form never shows an inline value.
type SecretRef struct {
	Value string
	File  string
	Env   string
}

// ParseSecretRef decodes a secret from its raw YAML or JSON form: a string, or a mapping with
// exactly one of value, file or env.
func ParseSecretRef(v any) (SecretRef, error) {
	switch v := v.(type) {
	case nil:
		return SecretRef{}, nil
	case string:
		return SecretRef{Value: v}, nil
	}
	m, ok := asMap(v)
	if !ok {
		return SecretRef{}, errors.New("expected a string or a mapping with one of value, file or env")
	}
	var r SecretRef
	n := 0
	for _, k := range sortedKeys(m) {
		s, ok := m[k].(string)
		switch k {
		case "value", "file", "env":
			if !ok || s == "" {
				return SecretRef{}, fmt.Errorf("%s must be a non-empty string", k)
			}
			n++
		default:
			return SecretRef{}, fmt.Errorf("unknown field %q (want one of value, file or env)", k)
		}
		switch k {
		case "value":
			r.Value = s
		case "file":
			r.File = s
		case "env":
			r.Env = s
		}
	}
	if n != 1 {
		return SecretRef{}, errors.New("give exactly one of value, file or env")
	}
	return r, nil
}

// IsZero reports whether no source is set.
func (r SecretRef) IsZero() bool { return r == SecretRef{} }

// maxSecretFile bounds how much of a secret file is read.
const maxSecretFile = 64 << 10

// Resolve returns the secret. A file's contents lose one trailing newline ("\n" or "\r\n"). An
// unset source, an unset or empty environment variable, and an unreadable or empty file are
// errors; errors name the variable or file, never the value.
func (r SecretRef) Resolve() (string, error) {
	switch {
	case r.Value != "":
		return r.Value, nil
	case r.Env != "":
		v, ok := os.LookupEnv(r.Env)
		if !ok {
			return "", fmt.Errorf("environment variable %s is not set", r.Env)
		}
		if v == "" {
			return "", fmt.Errorf("environment variable %s is empty", r.Env)
		}
		return v, nil
	case r.File != "":
		f, err := os.Open(r.File)
		if err != nil {
			return "", fmt.Errorf("reading secret file: %w", err)
		}
		defer f.Close()
		b, err := io.ReadAll(io.LimitReader(f, maxSecretFile+1))
		if err != nil {
			return "", fmt.Errorf("reading secret file %s: %w", r.File, err)
		}
		if len(b) > maxSecretFile {
			return "", fmt.Errorf("secret file %s is larger than %d bytes", r.File, maxSecretFile)
		}
		s := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
		if s == "" {
			return "", fmt.Errorf("secret file %s is empty", r.File)
		}
		return s, nil
	}
	return "", errors.New("secret is not set")
}

// String describes the source without revealing an inline value.
func (r SecretRef) String() string {
	switch {
	case r.Value != "":
		return "secret(value:REDACTED)"
	case r.Env != "":
		return "secret(env:" + r.Env + ")"
	case r.File != "":
		return "secret(file:" + r.File + ")"
	}
	return "secret(unset)"
}

// GoString is String, so %#v does not reveal an inline value either.
func (r SecretRef) GoString() string { return r.String() }

// MarshalJSON writes the source with an inline value redacted.
func (r SecretRef) MarshalJSON() ([]byte, error) {
	switch {
	case r.Value != "":
		return json.Marshal(map[string]string{"value": "REDACTED"})
	case r.Env != "":
		return json.Marshal(map[string]string{"env": r.Env})
	case r.File != "":
		return json.Marshal(map[string]string{"file": r.File})
	}
	return []byte("null"), nil
}

func asMap(v any) (map[string]any, bool) {
	switch m := v.(type) {
	case map[string]any:
		return m, true
	case map[any]any: // YAML mappings with non-string keys somewhere
		out := make(map[string]any, len(m))
		for k, v := range m {
			ks, ok := k.(string)
			if !ok {
				return nil, false
			}
			out[ks] = v
		}
		return out, true
	}
	return nil, false
}

func asInt(v any) (int, bool) {
	switch n := v.(type) {
	case int:
		return n, true
	case int64:
		if n < math.MinInt32 || n > math.MaxInt32 {
			return 0, false
		}
		return int(n), true
	case uint64:
		if n > math.MaxInt32 {
			return 0, false
		}
		return int(n), true
	case float64: // JSON numbers
		if n != math.Trunc(n) || n < math.MinInt32 || n > math.MaxInt32 {
			return 0, false
		}
		return int(n), true
	case json.Number:
		i, err := strconv.Atoi(string(n))
		return i, err == nil
	}
	return 0, false
}

func sortedKeys(m map[string]any) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// validHost accepts an IP address or a DNS name made of letters, digits, '-' and '.'.
func validHost(h string) bool {
	if net.ParseIP(h) != nil {
		return true
	}
	if len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(strings.TrimSuffix(h, "."), ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

func isLoopback(h string) bool {
	if strings.EqualFold(h, "localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}
