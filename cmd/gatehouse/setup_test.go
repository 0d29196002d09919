package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// setupConfig is a small configuration with relative paths (resolved against its directory).
const setupConfig = `version: 1
organization: {auth_domain: auth.localhost}
listen: {public: "127.0.0.1:0", internal: "127.0.0.1:0"}
storage: {dsn: "file:data/gatehouse.db"}
secrets: {master_key_file: keys/master.key}
identity_providers:
  - id: pin
    type: onetimepin
    config: {smtp: {host: smtp.example.com, from: a@example.com, username: u, password: {env: GATEHOUSE_TEST_SETUP_SMTP}}}
applications:
  - {id: demo, destinations: [demo.localhost], upstream: "http://127.0.0.1:9", policies: [{ref: all, precedence: 1}]}
policies:
  - {id: all, decision: allow, include: [{everyone: {}}]}
`

// TestConfigValidateEnvironment: validate checks the machine (master key, environment secrets)
// unless --offline; it takes the file as --config FILE or as its argument; serve refuses the
// same problems, naming the file and the variable; keys init makes the key.
func TestConfigValidateEnvironment(t *testing.T) {
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "gatehouse.yaml")
	if err := os.WriteFile(cfgFile, []byte(setupConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(dir, "keys", "master.key")

	for _, args := range [][]string{{cfgFile}, {"--config", cfgFile}} {
		_, stderr, err := run(t, append([]string{"config", "validate"}, args...)...)
		if exitStatus(err) != 2 {
			t.Fatalf("validate %v: err %v, want exit status 2", args, err)
		}
		for _, want := range []string{
			"secrets.master_key_file: cannot read " + keyFile + ": no such file or directory; create it with: gatehouse keys init --config " + cfgFile,
			"identity_providers[0].config.smtp.password: environment variable GATEHOUSE_TEST_SETUP_SMTP is not set",
		} {
			if !strings.Contains(stderr, want) {
				t.Errorf("validate %v: output lacks %q:\n%s", args, want, stderr)
			}
		}
	}
	for _, args := range [][]string{{"--offline", cfgFile}, {"--offline", "--config", cfgFile}} {
		if out, _, err := run(t, append([]string{"config", "validate"}, args...)...); err != nil || !strings.Contains(out, "valid") {
			t.Errorf("validate %v: %v %q", args, err, out)
		}
	}
	if _, _, err := run(t, "config", "validate", "--config", cfgFile, filepath.Join(dir, "other.yaml")); err == nil || !strings.Contains(err.Error(), "two configuration files") {
		t.Errorf("two files: %v", err)
	}

	// serve names the file and the variable, and has not created the database.
	_, stderr, err := run(t, "serve", "--config", cfgFile)
	if exitStatus(err) != 2 || !strings.Contains(stderr, keyFile) || !strings.Contains(stderr, "GATEHOUSE_TEST_SETUP_SMTP") {
		t.Errorf("serve: err %v, output:\n%s", err, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "data")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("serve created the data directory before refusing to start (%v)", err)
	}

	out, _, err := run(t, "keys", "init", "--config", cfgFile)
	if err != nil || !strings.Contains(out, keyFile) {
		t.Fatalf("keys init: %v %q", err, out)
	}
	fi, err := os.Stat(keyFile)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("master key file: %v, mode %v", err, fi.Mode())
	}
	if _, _, err := run(t, "keys", "init", "--config", cfgFile); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("second keys init: %v", err)
	}
	t.Setenv("GATEHOUSE_TEST_SETUP_SMTP", "pw")
	if out, stderr, err := run(t, "config", "validate", cfgFile); err != nil || !strings.Contains(out, "valid") {
		t.Errorf("validate after keys init: %v %q %s", err, out, stderr)
	}

	// A database directory that cannot be created: validate and serve name it.
	if err := os.WriteFile(filepath.Join(dir, "data"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, cmd := range [][]string{{"config", "validate", cfgFile}, {"serve", "--config", cfgFile}} {
		_, stderr, err := run(t, cmd...)
		if want := "storage.dsn: directory " + filepath.Join(dir, "data") + " cannot be created"; exitStatus(err) != 2 || !strings.Contains(stderr, "storage.dsn:") || !strings.Contains(stderr, filepath.Join(dir, "data")) {
			t.Errorf("%v with a file where the data directory goes: err %v, output %q, want %q", cmd, err, stderr, want)
		}
	}

	// keys init --file makes the directory too.
	other := filepath.Join(dir, "elsewhere", "deep", "master.key")
	if _, _, err := run(t, "keys", "init", "--file", other); err != nil {
		t.Fatalf("keys init --file: %v", err)
	}
	if fi, err := os.Stat(filepath.Dir(other)); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("key directory: %v %v", err, fi.Mode())
	}
}
