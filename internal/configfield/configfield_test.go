package configfield

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func TestSecretYAMLForms(t *testing.T) {
	tests := []struct {
		in      string
		want    SecretRef
		wantErr string
	}{
		{in: `s3cret`, want: SecretRef{Value: "s3cret"}},
		{in: `12345`, want: SecretRef{Value: "12345"}},
		{in: `{value: s3cret}`, want: SecretRef{Value: "s3cret"}},
		{in: `{file: /run/secrets/x}`, want: SecretRef{File: "/run/secrets/x"}},
		{in: `{env: X}`, want: SecretRef{Env: "X"}},
		{in: `""`, wantErr: "secret must not be empty"},
		{in: `{value: a, env: X}`, wantErr: "give exactly one of value, file or env"},
		{in: `{}`, wantErr: "give exactly one of value, file or env"},
		{in: `{env: ""}`, wantErr: "env must be a non-empty string"},
		{in: `{env: ~}`, wantErr: "env must be a non-empty string"},
		{in: `{value: [a]}`, wantErr: "value must be a non-empty string"},
		{in: `{key: a}`, wantErr: "unknown field (want one of value, file or env)"},
		{in: `[a]`, wantErr: "expected a string or a mapping with one of value, file or env"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			var s SecretRef
			err := yaml.Unmarshal([]byte(tt.in), &s)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "s3cret") {
					t.Error("error contains the secret")
				}
				return
			}
			if err != nil || s != tt.want {
				t.Fatalf("got %+v, %v; want %+v", s, err, tt.want)
			}
		})
	}
}

func TestSecretResolve(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	t.Setenv("CONFIGFIELD_TEST_SECRET", "from-env")
	t.Setenv("CONFIGFIELD_TEST_EMPTY", "")
	tests := []struct {
		name    string
		s       SecretRef
		want    string
		wantErr string
	}{
		{"value", SecretRef{Value: "inline"}, "inline", ""},
		{"env", SecretRef{Env: "CONFIGFIELD_TEST_SECRET"}, "from-env", ""},
		{"env unset", SecretRef{Env: "CONFIGFIELD_TEST_UNSET"}, "", "environment variable CONFIGFIELD_TEST_UNSET is not set"},
		{"env empty", SecretRef{Env: "CONFIGFIELD_TEST_EMPTY"}, "", "environment variable CONFIGFIELD_TEST_EMPTY is empty"},
		{"file", SecretRef{File: write("plain", "abc")}, "abc", ""},
		{"file one newline", SecretRef{File: write("nl", "abc\n")}, "abc", ""},
		{"file only one newline trimmed", SecretRef{File: write("nlnl", "abc\n\n")}, "abc\n", ""},
		{"file crlf", SecretRef{File: write("crlf", "abc\r\n")}, "abc", ""},
		{"file keeps spaces", SecretRef{File: write("sp", " abc \n")}, " abc ", ""},
		{"file empty", SecretRef{File: write("empty", "\n")}, "", "is empty"},
		{"file too large", SecretRef{File: write("big", strings.Repeat("x", 64<<10+1))}, "", "is larger than 65536 bytes"},
		{"file missing", SecretRef{File: filepath.Join(dir, "missing")}, "", "cannot read secret file"},
		{"unset", SecretRef{}, "", "secret is not set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.s.Resolve()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Resolve = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
	_, err := SecretRef{File: filepath.Join(dir, "missing")}.Resolve()
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("file errors must wrap the cause: %v", err)
	}
}

// TestSecretRefNeverPrinted: no form of output shows an inline value.
func TestSecretRefNeverPrinted(t *testing.T) {
	r := SecretRef{Value: "hunter2-very-secret"}
	b, err := json.Marshal(struct{ P SecretRef }{r})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{fmt.Sprint(r), fmt.Sprintf("%+v", struct{ P SecretRef }{r}), fmt.Sprintf("%#v", r), string(b), r.LogValue().String()} {
		if strings.Contains(s, "hunter2") {
			t.Errorf("secret value printed: %s", s)
		}
	}
}
