package config

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"syscall"

	"github.com/gatehouse/gatehouse/internal/configfield"
	"github.com/gatehouse/gatehouse/internal/keys"
)

// CheckEnvironment checks what serving the file needs from the machine, without starting
// anything, and reports every problem as a *ValidationError at the field it concerns, naming the
// file, directory or variable:
//
//   - secrets.master_key_file is a readable file holding a valid master key;
//   - for SQLite, the database file's directory exists and files can be created in it, or it
//     can be created (serve creates it, mode 0700); an existing database file is a regular file;
//   - every gateway.upstream_ca_files entry is a readable PEM file of certificates;
//   - every secret resolves (CheckSecrets), and so does every {env: ...} or {file: ...} secret
//     inside an identity provider's config.
//
// `gatehouse config validate` runs it unless --offline is given, and serve runs it before
// opening anything. It creates nothing: where a directory is missing it checks that its nearest
// existing parent accepts new entries (by creating and removing an empty temporary directory).
func (f *File) CheckEnvironment() error {
	issues := f.secretIssues()
	issues = append(issues, f.masterKeyIssues()...)
	issues = append(issues, f.storageIssues()...)
	issues = append(issues, f.idpSecretIssues()...)
	issues = append(issues, f.gatewayFileIssues()...)
	issues = append(issues, f.dlpFileIssues()...)
	if ve := f.problems(issues); ve != nil {
		return ve
	}
	return nil
}

// masterKeyIssues checks secrets.master_key_file.
func (f *File) masterKeyIssues() []issue {
	const path = "secrets.master_key_file"
	name := f.Secrets.MasterKeyFile
	if name == "" {
		return nil // reported by Validate
	}
	fix := "; create it with: gatehouse keys init --config " + f.configName()
	if msg := regularFileProblem(name); msg != "" {
		return []issue{{path: path, msg: msg + fix}}
	}
	fh, err := os.Open(name)
	if err != nil {
		return []issue{{path: path, msg: fmt.Sprintf("cannot read %s: %v", name, errorCause(err))}}
	}
	defer fh.Close()
	b, err := io.ReadAll(io.LimitReader(fh, 4<<10))
	if err != nil {
		return []issue{{path: path, msg: fmt.Sprintf("cannot read %s: %v", name, errorCause(err))}}
	}
	if _, err := keys.ParseMasterKey(b); err != nil {
		return []issue{{path: path, msg: fmt.Sprintf("%s: %v", name, err)}}
	}
	return nil
}

// configName is the configuration file's name for a hint ("FILE" when unknown).
func (f *File) configName() string {
	if f.src != nil && f.src.filename != "" {
		return f.src.filename
	}
	return "FILE"
}

// storageIssues checks the SQLite database file and its directory.
func (f *File) storageIssues() []issue {
	const path = "storage.dsn"
	if f.Storage.Driver != DriverSQLite {
		return nil
	}
	dsn, err := f.StorageDSN()
	if err != nil {
		return nil // reported with the secrets
	}
	db, ok := SQLitePath(dsn)
	if !ok {
		return nil
	}
	if msg := SQLiteFileProblem(db); msg != "" {
		return []issue{{path: path, msg: msg}}
	}
	return nil
}

// SQLiteFileProblem says what keeps a SQLite database file from being opened or created at db,
// or "": an existing db must be a regular file, and its directory must exist and accept new
// files (the journal), or be creatable (its nearest existing parent accepts new entries).
func SQLiteFileProblem(db string) string {
	if fi, err := os.Stat(db); err == nil {
		if !fi.Mode().IsRegular() {
			return fmt.Sprintf("database %s is not a regular file", db)
		}
	} else if !missing(err) {
		return fmt.Sprintf("database %s: %v", db, errorCause(err))
	}
	dir := filepath.Dir(db)
	fi, err := os.Stat(dir)
	switch {
	case err == nil && !fi.IsDir():
		return fmt.Sprintf("%s (the database's directory) is not a directory", dir)
	case err == nil:
		if err := probeDir(dir); err != nil {
			return fmt.Sprintf("cannot create files in directory %s: %v", dir, err)
		}
		return ""
	case !missing(err):
		return fmt.Sprintf("directory %s: %v", dir, errorCause(err))
	}
	// Missing: serve creates it, if its nearest existing parent lets it.
	parent := dir
	for {
		next := filepath.Dir(parent)
		if next == parent {
			return fmt.Sprintf("directory %s does not exist", dir)
		}
		parent = next
		fi, err := os.Stat(parent)
		if missing(err) {
			continue
		}
		if err != nil {
			return fmt.Sprintf("directory %s does not exist and %s cannot be read: %v", dir, parent, errorCause(err))
		}
		if !fi.IsDir() {
			return fmt.Sprintf("directory %s cannot be created: %s is not a directory", dir, parent)
		}
		if err := probeDir(parent); err != nil {
			return fmt.Sprintf("directory %s does not exist and cannot be created in %s: %v", dir, parent, err)
		}
		return ""
	}
}

// missing reports a stat error saying the path does not exist (also when a file stands where
// one of its parent directories should be: the walk up then finds it).
func missing(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)
}

// probeDir checks that dir accepts new entries by creating and removing an empty directory.
func probeDir(dir string) error {
	tmp, err := os.MkdirTemp(dir, ".gatehouse-check-")
	if err != nil {
		return errorCause(err)
	}
	return os.Remove(tmp)
}

// idpSecretIssues resolves every secret reference ({env: X} or {file: X}, a mapping with that one
// key) inside identity provider configs.
func (f *File) idpSecretIssues() []issue {
	var issues []issue
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch v := v.(type) {
		case map[string]any:
			if len(v) == 1 {
				for _, k := range []string{"env", "file"} {
					if s, ok := v[k].(string); ok && s != "" {
						ref := configfield.SecretRef{}
						if k == "env" {
							ref.Env = s
						} else {
							ref.File = s
						}
						if _, err := ref.Resolve(); err != nil {
							issues = append(issues, issue{path: path, msg: err.Error()})
						}
						return
					}
				}
			}
			names := make([]string, 0, len(v))
			for k := range v {
				names = append(names, k)
			}
			sort.Strings(names)
			for _, k := range names {
				walk(path+"."+k, v[k])
			}
		case []any:
			for i, e := range v {
				walk(fmt.Sprintf("%s[%d]", path, i), e)
			}
		}
	}
	for i, p := range f.IdentityProviders {
		walk(fmt.Sprintf("identity_providers[%d].config", i), p.Config)
	}
	return issues
}
