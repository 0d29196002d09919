package configfield

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSecretRefResolve(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	t.Setenv("OTP_TEST_SET", "from-env")
	t.Setenv("OTP_TEST_EMPTY", "")
	tests := []struct {
		ref     SecretRef
		want    string
		wantErr string
	}{
		{ref: SecretRef{Value: "inline"}, want: "inline"},
		{ref: SecretRef{Env: "OTP_TEST_SET"}, want: "from-env"},
		{ref: SecretRef{Env: "OTP_TEST_UNSET_VARIABLE"}, wantErr: "environment variable OTP_TEST_UNSET_VARIABLE is not set"},
		{ref: SecretRef{Env: "OTP_TEST_EMPTY"}, wantErr: "environment variable OTP_TEST_EMPTY is empty"},
		{ref: SecretRef{File: write("nl", "s3cret\n\n")}, want: "s3cret\n"},
		{ref: SecretRef{File: write("crlf", "s3cret\r\n")}, want: "s3cret"},
		{ref: SecretRef{File: write("empty", "\n")}, wantErr: "is empty"},
		{ref: SecretRef{File: filepath.Join(dir, "missing")}, wantErr: "no such file"},
		{ref: SecretRef{}, wantErr: "secret is not set"},
	}
	for i, tt := range tests {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			got, err := tt.ref.Resolve()
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
}

func TestSecretRefRedacted(t *testing.T) {
	r := SecretRef{Value: "hunter2-very-secret"}
	b, err := json.Marshal(struct{ P SecretRef }{r})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{fmt.Sprint(r), fmt.Sprintf("%+v", struct{ P SecretRef }{r}), fmt.Sprintf("%#v", r), string(b)} {
		if strings.Contains(s, "hunter2") {
			t.Errorf("secret value leaked: %s", s)
		}
	}
	if got := (SecretRef{Env: "X"}).String(); got != "secret(env:X)" {
		t.Errorf("String = %q", got)
	}
}
