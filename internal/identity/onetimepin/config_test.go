package onetimepin

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/configfield"
)

func TestParseConfigValid(t *testing.T) {
	tests := []struct {
		name string
		raw  map[string]any
		want *Config
	}{
		{"nil", nil, &Config{}},
		{"empty", map[string]any{}, &Config{}},
		{"null smtp", map[string]any{"smtp": nil}, &Config{}},
		{
			name: "full",
			raw: map[string]any{"smtp": map[string]any{
				"host": "smtp.example.com", "port": 2525, "from": "Access <access@example.com>",
				"tls": "tls", "username": "u", "password": map[string]any{"env": "SMTP_PASSWORD"},
			}},
			want: &Config{SMTP: &SMTPConfig{
				Host: "smtp.example.com", Port: 2525, From: "access@example.com",
				TLS: TLSImplicit, Username: "u", Password: configfield.SecretRef{Env: "SMTP_PASSWORD"},
			}},
		},
		{
			name: "defaults starttls",
			raw:  map[string]any{"smtp": map[string]any{"host": "smtp.example.com", "from": "a@example.com"}},
			want: &Config{SMTP: &SMTPConfig{Host: "smtp.example.com", Port: 587, From: "a@example.com", TLS: TLSStartTLS}},
		},
		{
			name: "default port tls",
			raw:  map[string]any{"smtp": map[string]any{"host": "10.0.0.1", "from": "a@example.com", "tls": "tls"}},
			want: &Config{SMTP: &SMTPConfig{Host: "10.0.0.1", Port: 465, From: "a@example.com", TLS: TLSImplicit}},
		},
		{
			name: "plaintext with credentials to loopback",
			raw: map[string]any{"smtp": map[string]any{"host": "localhost", "from": "a@example.com", "tls": "none",
				"username": "u", "password": "p"}},
			want: &Config{SMTP: &SMTPConfig{Host: "localhost", Port: 25, From: "a@example.com", TLS: TLSNone,
				Username: "u", Password: configfield.SecretRef{Value: "p"}}},
		},
		{
			name: "JSON numbers and YAML any-keyed maps",
			raw:  map[string]any{"smtp": map[any]any{"host": "mx.example.com", "from": "a@example.com", "port": float64(25)}},
			want: &Config{SMTP: &SMTPConfig{Host: "mx.example.com", Port: 25, From: "a@example.com", TLS: TLSStartTLS}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseConfig(tt.raw)
			if err != nil {
				t.Fatalf("ParseConfig: %v", err)
			}
			if got.SMTP != nil {
				if a := got.SMTP.FromAddress; a == nil || a.Address != got.SMTP.From {
					t.Fatalf("FromAddress = %v", a)
				}
				if tt.name == "full" && got.SMTP.FromAddress.Name != "Access" {
					t.Errorf("display name lost: %v", got.SMTP.FromAddress)
				}
				got.SMTP.FromAddress = nil
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %#v\nwant %#v", got.SMTP, tt.want.SMTP)
			}
		})
	}
}

func TestParseConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		raw  map[string]any
		want []string
	}{
		{"unknown field", map[string]any{"smtpp": 1}, []string{`smtpp: unknown field "smtpp" (onetimepin accepts: smtp)`}},
		{"smtp not a map", map[string]any{"smtp": "x"}, []string{"smtp: expected a mapping"}},
		{"required", map[string]any{"smtp": map[string]any{}}, []string{"smtp.from: is required", "smtp.host: is required"}},
		{
			name: "every field wrong",
			raw: map[string]any{"smtp": map[string]any{
				"host": "smtp.example.com:25", "port": 0, "from": "nobody", "tls": "ssl", "username": 7, "password": []any{"x"}, "extra": true,
			}},
			want: []string{
				`smtp.extra: unknown field "extra" (smtp accepts: host, port, from, tls, username, password)`,
				"smtp.from: is not a valid e-mail address",
				"smtp.host: must be a host name or IP address without scheme or port",
				"smtp.password: expected a string or a mapping with one of value, file or env",
				"smtp.port: must be a port number between 1 and 65535",
				"smtp.tls: must be starttls, tls or none, not \"ssl\"",
				"smtp.username: expected a string",
			},
		},
		{"fractional port", map[string]any{"smtp": map[string]any{"host": "h", "from": "a@b.c", "port": 25.5}},
			[]string{"smtp.port: must be a port number between 1 and 65535"}},
		{"password without username", map[string]any{"smtp": map[string]any{"host": "h", "from": "a@b.c", "password": "p"}},
			[]string{"smtp.username: is required when password is set"}},
		{"username without password", map[string]any{"smtp": map[string]any{"host": "h", "from": "a@b.c", "username": "u"}},
			[]string{"smtp.password: is required when username is set"}},
		{"credentials in the clear", map[string]any{"smtp": map[string]any{"host": "mx.example.com", "from": "a@b.c", "tls": "none", "username": "u", "password": "p"}},
			[]string{"smtp.tls: must be starttls or tls to send credentials to a relay that is not on loopback"}},
		{"secret with two sources", map[string]any{"smtp": map[string]any{"host": "h", "from": "a@b.c", "username": "u",
			"password": map[string]any{"env": "A", "file": "/b"}}},
			[]string{"smtp.password: give exactly one of value, file or env"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseConfig(tt.raw)
			var es configfield.Errors
			if !errors.As(err, &es) {
				t.Fatalf("error %v is not configfield.Errors", err)
			}
			var got []string
			for _, e := range es {
				got = append(got, e.Error())
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}
