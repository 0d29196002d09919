// Package onetimepin implements the one-time PIN login method: the user enters an e-mail address,
// receives a short-lived code by e-mail and types it in. This file holds its typed configuration
// (the `config` object of an identity provider with `type: onetimepin`).
package onetimepin

import (
	"encoding/json"
	"fmt"
	"math"
	"net"
	"net/mail"
	"slices"
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse/internal/configfield"
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
	Password configfield.SecretRef
}

// ParseConfig decodes and validates the raw `config` object of a onetimepin identity provider, as
// decoded from YAML or JSON (nil and an empty map are valid and mean "no SMTP"). It reports every
// problem at once as configfield.Errors, sorted by field, and never includes secret values in them. It does not resolve the
// SMTP password (see configfield.SecretRef.Resolve), so it has no side effects.
func ParseConfig(raw map[string]any) (*Config, error) {
	p := &parser{}
	cfg := &Config{}
	for _, k := range configfield.SortedKeys(raw) {
		switch k {
		case "smtp":
			if raw[k] == nil {
				continue
			}
			m, ok := configfield.AsMap(raw[k])
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
		slices.SortStableFunc(p.errs, func(a, b configfield.FieldError) int { return strings.Compare(a.Field, b.Field) })
		return nil, p.errs
	}
	return cfg, nil
}

type parser struct{ errs configfield.Errors }

func (p *parser) add(field, msg string) {
	p.errs = append(p.errs, configfield.FieldError{Field: field, Msg: msg})
}

var smtpFields = []string{"host", "port", "from", "tls", "username", "password"}

func (p *parser) smtp(m map[string]any) *SMTPConfig {
	s := &SMTPConfig{}
	badPassword := false
	for _, k := range configfield.SortedKeys(m) {
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
			ref, err := configfield.ParseSecretRef(v)
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
