// Package configfield owns what every configuration parser shares: FieldError and Errors, which
// report each problem with its field path, and SecretRef, a secret given inline, in a file or in
// an environment variable, which never prints its value.
package configfield

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// FieldError is one problem in a configuration object. Field is the path inside it using the
// YAML names, e.g. "smtp.port".
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

// SecretRef is a secret given inline (value), read from a file (file) or from an environment
// variable (env); exactly one is set. In YAML it is a plain string (= value) or a mapping such as
// {env: SMTP_PASSWORD}. Its String form never shows an inline value.
type SecretRef struct {
	Value string `yaml:"value"`
	File  string `yaml:"file"`
	Env   string `yaml:"env"`
}

// UnmarshalYAML decodes a plain string (the value) or a mapping with exactly one of value, file
// and env, for configuration structs decoded by yaml.v3.
func (r *SecretRef) UnmarshalYAML(n *yaml.Node) error {
	*r = SecretRef{}
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Value == "" {
			return errors.New("secret must not be empty")
		}
		r.Value = n.Value
		return nil
	case yaml.MappingNode:
		set := 0
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			var dst *string
			switch k.Value {
			case "value":
				dst = &r.Value
			case "file":
				dst = &r.File
			case "env":
				dst = &r.Env
			default:
				return errors.New("unknown field (want one of value, file or env)")
			}
			if v.Kind != yaml.ScalarNode || v.Value == "" || v.ShortTag() == "!!null" {
				return fmt.Errorf("%s must be a non-empty string", k.Value)
			}
			*dst = v.Value
			set++
		}
		if set != 1 {
			*r = SecretRef{}
			return errors.New("give exactly one of value, file or env")
		}
		return nil
	}
	return errors.New("expected a string or a mapping with one of value, file or env")
}

// LogValue implements slog.LogValuer: the source, never an inline value.
func (r SecretRef) LogValue() slog.Value { return slog.StringValue(r.String()) }

// ParseSecretRef decodes a secret from its raw YAML or JSON form: a string, or a mapping with
// exactly one of value, file or env.
func ParseSecretRef(v any) (SecretRef, error) {
	switch v := v.(type) {
	case nil:
		return SecretRef{}, nil
	case string:
		return SecretRef{Value: v}, nil
	}
	m, ok := AsMap(v)
	if !ok {
		return SecretRef{}, errors.New("expected a string or a mapping with one of value, file or env")
	}
	var r SecretRef
	n := 0
	for _, k := range SortedKeys(m) {
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
			return "", fmt.Errorf("cannot read secret file: %w", err)
		}
		defer f.Close()
		b, err := io.ReadAll(io.LimitReader(f, maxSecretFile+1))
		if err != nil {
			return "", fmt.Errorf("cannot read secret file %s: %w", r.File, err)
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

// AsMap returns v as a string-keyed mapping: a JSON object, or a YAML mapping whose keys are all
// strings.
func AsMap(v any) (map[string]any, bool) {
	switch m := v.(type) {
	case map[string]any:
		return m, true
	case map[any]any:
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

// SortedKeys returns the keys of m in order, so that problems are reported in a stable order.
func SortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
