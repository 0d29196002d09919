package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/demo"
	"github.com/gatehouse/gatehouse/internal/keys"
)

func run(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	root := newRoot()
	root.SetArgs(args)
	root.SetOut(&out)
	root.SetErr(&errOut)
	err = root.Execute()
	return out.String(), errOut.String(), err
}

func TestConfigValidate(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	if err := os.WriteFile(good, []byte(demo.Config(dir, "127.0.0.1:8080", "http://127.0.0.1:9")), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := keys.GenerateMasterKeyFile(filepath.Join(dir, "master.key")); err != nil {
		t.Fatal(err)
	}
	out, _, err := run(t, "config", "validate", good)
	if err != nil || !strings.Contains(out, "valid") {
		t.Fatalf("demo config: %v %s", err, out)
	}

	bad := filepath.Join(dir, "bad.yaml")
	body := `version: 1
organization: {auth_domain: "https://auth.example.com"}
secrets: {master_key_file: /nonexistent}
applications:
  - id: app
    destinations: [app.example.com]
    upstream: ftp://x
    policies: [{ref: missing, precedence: 1}]
policies:
  - {id: p, decision: allow, include: [{ip: {ip: 10.0.0.0/33}}]}
`
	if err := os.WriteFile(bad, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	_, stderr, err := run(t, "config", "validate", bad)
	var ee exitError
	if !errors.As(err, &ee) || ee != 2 {
		t.Fatalf("invalid config: err %v, want exit status 2", err)
	}
	for _, want := range []string{"bad.yaml:2:", "bad.yaml:7:", "bad.yaml:8:", "bad.yaml:10:"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("output lacks a problem at %s:\n%s", want, stderr)
		}
	}
}

func TestVersion(t *testing.T) {
	out, _, err := run(t, "version")
	if err != nil || !strings.HasPrefix(out, "gatehouse ") {
		t.Fatalf("%v %q", err, out)
	}
}
