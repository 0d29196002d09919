package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"gopkg.in/yaml.v3"
)

// Secret is a secret value in the configuration file, given in one of three forms:
//
//	client_secret: s3cr3t                          # inline (same as {value: s3cr3t})
//	client_secret: {value: s3cr3t}                 # inline
//	client_secret: {file: /run/secrets/ci-token}   # the file's contents, minus one trailing newline
//	client_secret: {env: CI_TOKEN}                 # an environment variable
//
// Exactly one of Value, File and Env is set. Files and variables are read by Resolve, when the
// secret is needed, not when the file is parsed. String, GoString, MarshalJSON and LogValue never
// show an inline value, and no error message contains one.
type Secret struct {
	Value string `yaml:"value"`
	File  string `yaml:"file"`
	Env   string `yaml:"env"`
}

const secretForms = "a string or a mapping with one of value, file or env"

// UnmarshalYAML decodes a plain string (the value) or a mapping with exactly one of value, file
// and env.
func (s *Secret) UnmarshalYAML(n *yaml.Node) error {
	*s = Secret{}
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Value == "" {
			return errors.New("secret must not be empty")
		}
		s.Value = n.Value
		return nil
	case yaml.MappingNode:
		set := 0
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			var dst *string
			switch k.Value {
			case "value":
				dst = &s.Value
			case "file":
				dst = &s.File
			case "env":
				dst = &s.Env
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
			*s = Secret{}
			return errors.New("give exactly one of value, file or env")
		}
		return nil
	}
	return errors.New("expected " + secretForms)
}

// IsZero reports whether no form is set (the field was left out).
func (s Secret) IsZero() bool { return s == Secret{} }

// maxSecretFile bounds how much of a secret file is read.
const maxSecretFile = 64 << 10

// Resolve returns the secret: the inline value, the environment variable's value, or the file's
// contents with one trailing newline ("\n" or "\r\n") removed. An unset Secret, an unset or empty
// variable, and an unreadable, empty or oversized (> 64 KiB) file are errors; they name the
// variable or file, never the value.
func (s Secret) Resolve() (string, error) {
	switch {
	case s.Value != "":
		return s.Value, nil
	case s.Env != "":
		v, ok := os.LookupEnv(s.Env)
		if !ok {
			return "", fmt.Errorf("environment variable %s is not set", s.Env)
		}
		if v == "" {
			return "", fmt.Errorf("environment variable %s is empty", s.Env)
		}
		return v, nil
	case s.File != "":
		f, err := os.Open(s.File)
		if err != nil {
			return "", fmt.Errorf("cannot read secret file: %w", err)
		}
		defer f.Close()
		b, err := io.ReadAll(io.LimitReader(f, maxSecretFile+1))
		if err != nil {
			return "", fmt.Errorf("cannot read secret file %s: %w", s.File, err)
		}
		if len(b) > maxSecretFile {
			return "", fmt.Errorf("secret file %s is larger than %d bytes", s.File, maxSecretFile)
		}
		v := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
		if v == "" {
			return "", fmt.Errorf("secret file %s is empty", s.File)
		}
		return v, nil
	}
	return "", errors.New("secret is not set")
}

// String describes where the secret comes from without revealing an inline value.
func (s Secret) String() string {
	switch {
	case s.Value != "":
		return "secret(value:REDACTED)"
	case s.Env != "":
		return "secret(env:" + s.Env + ")"
	case s.File != "":
		return "secret(file:" + s.File + ")"
	}
	return "secret(unset)"
}

// GoString is String, so that %#v does not reveal an inline value either.
func (s Secret) GoString() string { return s.String() }

// LogValue implements slog.LogValuer.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalJSON writes the form with an inline value redacted.
func (s Secret) MarshalJSON() ([]byte, error) {
	switch {
	case s.Value != "":
		return json.Marshal(map[string]string{"value": "REDACTED"})
	case s.Env != "":
		return json.Marshal(map[string]string{"env": s.Env})
	case s.File != "":
		return json.Marshal(map[string]string{"file": s.File})
	}
	return []byte("null"), nil
}
