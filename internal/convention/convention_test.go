package convention

import (
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, _ := os.Getwd()
	return filepath.Join(dir, "..", "..")
}

// TestPackagesAreDocumented: every package says what it owns.
func TestPackagesAreDocumented(t *testing.T) {
	root := moduleRoot(t)
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") || d.Name() == "node_modules" || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if !d.IsDir() {
			return nil
		}
		pkgs, err := parser.ParseDir(token.NewFileSet(), path, func(fi os.FileInfo) bool {
			return !strings.HasSuffix(fi.Name(), "_test.go")
		}, parser.ParseComments|parser.PackageClauseOnly)
		if err != nil {
			return err
		}
		for name, p := range pkgs {
			documented := false
			for _, f := range p.Files {
				if f.Doc != nil && strings.TrimSpace(f.Doc.Text()) != "" {
					documented = true
				}
			}
			if !documented {
				rel, _ := filepath.Rel(root, path)
				t.Errorf("package %s (%s) has no doc comment", name, rel)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestNoReplaceDirectives keeps `go install github.com/gatehouse/gatehouse/cmd/gatehouse@v…`
// working.
func TestNoReplaceDirectives(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(moduleRoot(t), "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "replace") {
			t.Errorf("go.mod has a replace directive: %s", line)
		}
	}
}

// TestDependencyBans: the hot-path packages never import SQL drivers, the admin API or the
// composition root; nothing below app imports app or config.
func TestDependencyBans(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("go tool not found")
	}
	bans := map[string][]string{
		"./internal/proxy":     {"modernc.org/sqlite", "github.com/jackc/pgx", "github.com/gatehouse/gatehouse/internal/admin", "github.com/gatehouse/gatehouse/internal/app", "github.com/gatehouse/gatehouse/internal/config"},
		"./internal/policy":    {"modernc.org/sqlite", "github.com/jackc/pgx", "github.com/gatehouse/gatehouse/internal/store/sqlstore"},
		"./internal/route":     {"modernc.org/sqlite", "github.com/jackc/pgx", "net/http"},
		"./internal/token":     {"modernc.org/sqlite", "github.com/jackc/pgx"},
		"./internal/authn":     {"github.com/gatehouse/gatehouse/internal/app", "github.com/gatehouse/gatehouse/internal/config"},
		"./internal/saas/...":  {"github.com/gatehouse/gatehouse/internal/app", "github.com/gatehouse/gatehouse/internal/config"},
		"./internal/scim/...":  {"github.com/gatehouse/gatehouse/internal/app", "github.com/gatehouse/gatehouse/internal/config"},
		"./internal/store/...": {"github.com/gatehouse/gatehouse/internal/app", "github.com/gatehouse/gatehouse/internal/config", "net/http"},
	}
	for pkg, banned := range bans {
		cmd := exec.Command("go", "list", "-deps", pkg)
		cmd.Dir = moduleRoot(t)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("go list -deps %s: %v", pkg, err)
		}
		deps := strings.Fields(string(out))
		for _, d := range deps {
			for _, b := range banned {
				if d == b || strings.HasPrefix(d, b+"/") {
					t.Errorf("%s depends on %s", pkg, d)
				}
			}
		}
	}
}
