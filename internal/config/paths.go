package config

import (
	"path/filepath"
	"strings"
)

// Relative paths in a configuration file name files next to it: Load resolves them against the
// directory of the file, not the working directory, so that `gatehouse serve --config
// /etc/gatehouse/gatehouse.yaml` means the same wherever it is started. The fields concerned are
// tls.cert_file and tls.key_file, secrets.master_key_file, geoip.mmdb_file, audit.file, the file
// of every secret given as {file: ...} (also inside identity provider configs), and the
// database file of a SQLite storage.dsn (the default "file:gatehouse.db" too).
//
// Dir returns the directory relative paths of the file were resolved against (absolute), or ""
// for a File that Parse made or that was built in Go (their relative paths are left as written,
// relative to the working directory).
func (f *File) Dir() string { return f.dir }

// resolvePaths makes every relative path of f absolute against dir (see above).
func (f *File) resolvePaths(dir string) {
	f.dir = dir
	abs := func(p *string) {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(dir, *p)
		}
	}
	abs(&f.TLS.CertFile)
	abs(&f.TLS.KeyFile)
	abs(&f.Secrets.MasterKeyFile)
	abs(&f.GeoIP.MMDBFile)
	abs(&f.Audit.File)
	abs(&f.Storage.DSN.File)
	abs(&f.DLP.ProfilesFile)
	if f.Storage.Driver == DriverSQLite && f.Storage.DSN.Value != "" {
		f.Storage.DSN.Value = ResolveSQLiteDSN(f.Storage.DSN.Value, dir)
	}
	for i := range f.ServiceTokens {
		abs(&f.ServiceTokens[i].ClientSecret.File)
	}
	if w := f.Audit.Webhook; w != nil {
		abs(&w.Secret.File)
	}
	for i := range f.IdentityProviders {
		resolveSecretFiles(f.IdentityProviders[i].Config, dir)
	}
}

// resolveSecretFiles makes the file of every secret reference ({file: path}, a mapping with that
// one key) inside a decoded identity provider config absolute against dir.
func resolveSecretFiles(v any, dir string) {
	switch v := v.(type) {
	case map[string]any:
		for _, e := range v {
			if m, ok := e.(map[string]any); ok && len(m) == 1 {
				if p, ok := m["file"].(string); ok && p != "" && !filepath.IsAbs(p) {
					m["file"] = filepath.Join(dir, p)
					continue
				}
			}
			resolveSecretFiles(e, dir)
		}
	case []any:
		for _, e := range v {
			resolveSecretFiles(e, dir)
		}
	}
}

// SQLitePath returns the database file a SQLite DSN names ("file:/var/lib/gatehouse/g.db",
// "file:g.db?_pragma=...", "file:///var/lib/g.db" or a bare path), and false for an in-memory
// database or a DSN that names no file.
func SQLitePath(dsn string) (string, bool) {
	base, query, _ := strings.Cut(dsn, "?")
	if strings.Contains(base, ":memory:") || strings.Contains(query, "mode=memory") {
		return "", false
	}
	p, uri := strings.CutPrefix(base, "file:")
	if uri && strings.HasPrefix(p, "//") {
		// file://host/path: only an empty host or localhost name a local file.
		host, rest, ok := strings.Cut(p[2:], "/")
		if !ok || (host != "" && host != "localhost") {
			return "", false
		}
		p = "/" + rest
	}
	if p == "" {
		return "", false
	}
	return p, true
}

// ResolveSQLiteDSN makes the database file of a SQLite DSN absolute against dir, keeping its
// parameters; other DSNs (in-memory, absolute) are returned unchanged.
func ResolveSQLiteDSN(dsn, dir string) string {
	p, ok := SQLitePath(dsn)
	if !ok || filepath.IsAbs(p) || dir == "" {
		return dsn
	}
	base, query, hasQuery := strings.Cut(dsn, "?")
	prefix := ""
	if strings.HasPrefix(base, "file:") {
		prefix = "file:"
	}
	out := prefix + filepath.Join(dir, p)
	if hasQuery {
		out += "?" + query
	}
	return out
}

// StorageDSN resolves storage.dsn (a secret) and, for SQLite, makes a relative database file
// absolute against the configuration file's directory (a DSN from a variable or a file is
// resolved when it is read, like an inline one at load).
func (f *File) StorageDSN() (string, error) {
	dsn, err := f.Storage.DSN.Resolve()
	if err != nil {
		return "", err
	}
	if f.Storage.Driver == DriverSQLite {
		dsn = ResolveSQLiteDSN(dsn, f.dir)
	}
	return dsn, nil
}
