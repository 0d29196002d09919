package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/keys"
)

// writeConfig writes body to dir/name and returns its path.
func writeConfig(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func problemsOf(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("error %v is not a *ValidationError", err)
	}
	var out []string
	for _, p := range ve.Problems {
		out = append(out, p.String())
	}
	return out
}

// TestCheckEnvironment: a missing master key file, a missing database directory that cannot
// be created, and an unset environment secret are each reported at their field with the file,
// directory or variable named; once they are fixed the file passes.
func TestCheckEnvironment(t *testing.T) {
	dir := t.TempDir()
	blocker := filepath.Join(dir, "not-a-dir")
	if err := os.WriteFile(blocker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	body := `version: 1
organization: {auth_domain: auth.example.com}
storage: {dsn: "file:` + blocker + `/db/gatehouse.db"}
secrets: {master_key_file: keys/master.key}
identity_providers:
  - id: pin
    type: onetimepin
    config: {smtp: {host: smtp.example.com, from: a@example.com, username: u, password: {env: GATEHOUSE_TEST_ENV_SMTP}}}
  - id: gh
    type: github
    config: {client_id: x, client_secret: {env: GATEHOUSE_TEST_ENV_GH}}
`
	cfgFile := writeConfig(t, dir, "gatehouse.yaml", body)
	f, err := Load(cfgFile)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(problemsOf(t, f.CheckEnvironment()), "\n")
	for _, want := range []string{
		":3:16: storage.dsn: directory " + blocker + "/db cannot be created: " + blocker + " is not a directory",
		":4:28: secrets.master_key_file: cannot read " + filepath.Join(dir, "keys/master.key") + ": no such file or directory; create it with: gatehouse keys init --config " + cfgFile,
		":8:89: identity_providers[0].config.smtp.password: environment variable GATEHOUSE_TEST_ENV_SMTP is not set",
		"identity_providers[1].config.client_secret: environment variable GATEHOUSE_TEST_ENV_GH is not set",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("problems lack %q:\n%s", want, got)
		}
	}

	// Fixed: the key exists, the database directory is missing but creatable, the variables are set.
	if err := os.MkdirAll(filepath.Join(dir, "keys"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := keys.GenerateMasterKeyFile(filepath.Join(dir, "keys/master.key")); err != nil {
		t.Fatal(err)
	}
	fixed := writeConfig(t, dir, "gatehouse.yaml", strings.Replace(body, blocker+"/db", "data/nested", 1))
	t.Setenv("GATEHOUSE_TEST_ENV_SMTP", "pw")
	t.Setenv("GATEHOUSE_TEST_ENV_GH", "secret")
	if f, err = Load(fixed); err != nil {
		t.Fatal(err)
	}
	if err := f.CheckEnvironment(); err != nil {
		t.Fatalf("fixed environment: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "data")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("CheckEnvironment created the database directory (stat: %v)", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 3 { // gatehouse.yaml, keys, not-a-dir
		t.Errorf("CheckEnvironment left entries behind: %v", entries)
	}

	// A master key file that is not a key.
	if err := os.WriteFile(filepath.Join(dir, "keys/master.key"), []byte("short\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got = strings.Join(problemsOf(t, f.CheckEnvironment()), "\n")
	if !strings.Contains(got, "secrets.master_key_file: "+filepath.Join(dir, "keys/master.key")+": ") {
		t.Errorf("invalid master key: %s", got)
	}
}

// TestLoadOffline: the checks that look at the machine (TLS files, GeoIP database, audit
// directory) are left out; everything about the file itself is still checked.
func TestLoadOffline(t *testing.T) {
	dir := t.TempDir()
	body := head + `tls: {cert_file: /nonexistent/tls.crt, key_file: /nonexistent/tls.key}
geoip: {mmdb_file: /nonexistent/country.mmdb}
audit: {file: /nonexistent/dir/audit.jsonl}
`
	cfgFile := writeConfig(t, dir, "g.yaml", body)
	online := strings.Join(problemsOf(t, func() error { _, err := Load(cfgFile); return err }()), "\n")
	for _, want := range []string{"tls.cert_file: cannot read /nonexistent/tls.crt", "geoip.mmdb_file: cannot read", "audit.file: directory cannot read /nonexistent/dir"} {
		if !strings.Contains(online, want) {
			t.Errorf("Load problems lack %q:\n%s", want, online)
		}
	}
	if _, err := LoadOffline(cfgFile); err != nil {
		t.Errorf("LoadOffline: %v", err)
	}
	bad := writeConfig(t, dir, "bad.yaml", body+"log: {level: loud}\n")
	if _, err := LoadOffline(bad); err == nil || !strings.Contains(err.Error(), "log.level") {
		t.Errorf("LoadOffline of an invalid file: %v", err)
	}
}

// TestRelativePaths: Load resolves relative paths against the configuration file's directory,
// whatever the working directory; Parse leaves them as written.
func TestRelativePaths(t *testing.T) {
	dir := t.TempDir()
	body := `version: 1
organization: {auth_domain: auth.example.com}
storage: {dsn: "file:data/gatehouse.db?_pragma=busy_timeout(100)"}
secrets: {master_key_file: master.key}
audit: {file: audit.jsonl}
identity_providers:
  - id: pin
    type: onetimepin
    config: {smtp: {host: smtp.example.com, from: a@example.com, username: u, password: {file: secrets/smtp}}}
service_tokens:
  - {id: ci, client_id: ci, client_secret: {file: secrets/ci}}
`
	cfgFile := writeConfig(t, dir, "conf/gatehouse.yaml", body)
	t.Chdir(t.TempDir()) // somewhere else
	f, err := Load(cfgFile)
	if err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "conf")
	if f.Dir() != conf {
		t.Errorf("Dir() = %q, want %q", f.Dir(), conf)
	}
	for _, c := range []struct{ name, got, want string }{
		{"master_key_file", f.Secrets.MasterKeyFile, filepath.Join(conf, "master.key")},
		{"audit.file", f.Audit.File, filepath.Join(conf, "audit.jsonl")},
		{"storage.dsn", f.Storage.DSN.Value, "file:" + filepath.Join(conf, "data/gatehouse.db") + "?_pragma=busy_timeout(100)"},
		{"client_secret", f.ServiceTokens[0].ClientSecret.File, filepath.Join(conf, "secrets/ci")},
		{"smtp.password", f.IdentityProviders[0].Config["smtp"].(map[string]any)["password"].(map[string]any)["file"].(string), filepath.Join(conf, "secrets/smtp")},
	} {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
	// The secrets are read from next to the file.
	writeConfig(t, conf, "secrets/ci", strings.Repeat("c", 40))
	writeConfig(t, conf, "secrets/smtp", "pw")
	if err := f.CheckSecrets(); err != nil {
		t.Errorf("CheckSecrets: %v", err)
	}

	// The default SQLite database is next to the file too; a DSN from a variable is resolved
	// when it is read.
	f, err = Load(writeConfig(t, dir, "conf/min.yaml", head))
	if err != nil {
		t.Fatal(err)
	}
	if dsn, _ := f.StorageDSN(); dsn != "file:"+filepath.Join(conf, "gatehouse.db") {
		t.Errorf("default dsn = %q", dsn)
	}
	t.Setenv("GATEHOUSE_TEST_REL_DSN", "file:env.db")
	f, err = Load(writeConfig(t, dir, "conf/env.yaml", head+"storage: {dsn: {env: GATEHOUSE_TEST_REL_DSN}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if dsn, _ := f.StorageDSN(); dsn != "file:"+filepath.Join(conf, "env.db") {
		t.Errorf("dsn from a variable = %q", dsn)
	}

	p, err := Parse([]byte(head), "x.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if p.Secrets.MasterKeyFile != "m.key" || p.Dir() != "" {
		t.Errorf("Parse changed a relative path: %q (dir %q)", p.Secrets.MasterKeyFile, p.Dir())
	}
}

func TestSQLitePath(t *testing.T) {
	for _, c := range []struct {
		dsn, path string
		ok        bool
	}{
		{"file:/var/lib/g.db", "/var/lib/g.db", true},
		{"file:g.db?_pragma=x", "g.db", true},
		{"g.db", "g.db", true},
		{"file:///var/lib/g.db", "/var/lib/g.db", true},
		{"file://localhost/var/lib/g.db", "/var/lib/g.db", true},
		{"file://other/var/lib/g.db", "", false},
		{":memory:", "", false},
		{"file::memory:?cache=shared", "", false},
		{"file:g.db?mode=memory", "", false},
		{"file:", "", false},
	} {
		p, ok := SQLitePath(c.dsn)
		if p != c.path || ok != c.ok {
			t.Errorf("SQLitePath(%q) = %q, %v; want %q, %v", c.dsn, p, ok, c.path, c.ok)
		}
	}
	if got := ResolveSQLiteDSN("file:g.db?_pragma=x", "/etc/gatehouse"); got != "file:/etc/gatehouse/g.db?_pragma=x" {
		t.Errorf("ResolveSQLiteDSN = %q", got)
	}
	if got := ResolveSQLiteDSN("file::memory:", "/etc"); got != "file::memory:" {
		t.Errorf("ResolveSQLiteDSN(memory) = %q", got)
	}
}

// FuzzSQLitePath: the path is a part of the DSN, resolving is idempotent and keeps the
// parameters.
func FuzzSQLitePath(f *testing.F) {
	for _, s := range []string{"file:/var/lib/g.db", "file:g.db?_pragma=x", "file:///x", "file://localhost/x", ":memory:", "file:a?b?c", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, dsn string) {
		p, ok := SQLitePath(dsn)
		if ok && (p == "" || !strings.Contains(dsn, strings.TrimPrefix(p, "/"))) {
			t.Fatalf("SQLitePath(%q) = %q", dsn, p)
		}
		once := ResolveSQLiteDSN(dsn, "/base")
		if twice := ResolveSQLiteDSN(once, "/base"); twice != once {
			t.Fatalf("not idempotent: %q -> %q -> %q", dsn, once, twice)
		}
		if _, q, has := strings.Cut(dsn, "?"); has && !strings.HasSuffix(once, "?"+q) {
			t.Fatalf("parameters lost: %q -> %q", dsn, once)
		}
	})
}
