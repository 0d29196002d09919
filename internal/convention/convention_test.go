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
		"./internal/proxy":     {"modernc.org/sqlite", "github.com/jackc/pgx", "github.com/gatehouse/gatehouse/internal/admin", "github.com/gatehouse/gatehouse/internal/app", "github.com/gatehouse/gatehouse/internal/config", "github.com/gatehouse/gatehouse/internal/authn"},
		"./internal/policy":    {"modernc.org/sqlite", "github.com/jackc/pgx", "github.com/gatehouse/gatehouse/internal/store/sqlstore"},
		"./internal/route":     {"modernc.org/sqlite", "github.com/jackc/pgx", "net/http"},
		"./internal/token":     {"modernc.org/sqlite", "github.com/jackc/pgx"},
		"./internal/authn":     {"github.com/gatehouse/gatehouse/internal/app", "github.com/gatehouse/gatehouse/internal/config"},
		"./internal/saas/...":  {"github.com/gatehouse/gatehouse/internal/app", "github.com/gatehouse/gatehouse/internal/config"},
		"./internal/scim/...":  {"github.com/gatehouse/gatehouse/internal/app", "github.com/gatehouse/gatehouse/internal/config"},
		"./internal/store/...": {"github.com/gatehouse/gatehouse/internal/app", "github.com/gatehouse/gatehouse/internal/config", "net/http"},
		// The forward proxy is a hot path like the reverse proxy: no database driver, no admin
		// API, and it reaches nothing above it.
		"./internal/gateway/...": {"modernc.org/sqlite", "github.com/jackc/pgx", "github.com/gatehouse/gatehouse/internal/store/sqlstore",
			"github.com/gatehouse/gatehouse/internal/admin", "github.com/gatehouse/gatehouse/internal/app", "github.com/gatehouse/gatehouse/internal/config"},
	}
	for pkg, banned := range bans {
		for _, d := range goList(t, "-deps", pkg) {
			for _, b := range banned {
				if d == b || strings.HasPrefix(d, b+"/") {
					t.Errorf("%s depends on %s", pkg, d)
				}
			}
		}
	}
}

// goList runs go list with args in the module root and returns its output's fields.
func goList(t *testing.T, args ...string) []string {
	t.Helper()
	cmd := exec.Command("go", append([]string{"list"}, args...)...)
	cmd.Dir = moduleRoot(t)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list %s: %v", strings.Join(args, " "), err)
	}
	return strings.Fields(string(out))
}

const module = "github.com/gatehouse/gatehouse/"

// surfaces are the packages that serve a part of Gatehouse to users (with their subpackages).
// The composition root (internal/app) wires them; they never import each other, and nothing
// below them imports any of them: each gets what it needs of another through a small interface
// the composition root fills in.
var surfaces = []string{"internal/proxy", "internal/authn", "internal/saas", "internal/scim", "internal/launcher", "internal/admin", "internal/mcp",
	"internal/gateway", "internal/console"}

// surfaceUses are the exceptions: the admin console is the admin service's browser face, as
// the admin API is its JSON face and the CLI its command line, so it calls package admin's
// Service (which is what audits every change) rather than a copy of it.
var surfaceUses = map[string]string{"internal/console": "internal/admin"}

// surfaceOf returns the surface a package belongs to, or "".
func surfaceOf(pkg string) string {
	rel := strings.TrimPrefix(pkg, module)
	for _, s := range surfaces {
		if rel == s || strings.HasPrefix(rel, s+"/") {
			return s
		}
	}
	return ""
}

// TestLayers: surfaces never import each other; the packages below them (sessions, policy,
// identity, tokens, keys, DLP, audit, store and the HTTP helpers) import no surface, and nothing
// below the composition root imports it or the configuration file's package.
func TestLayers(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("go tool not found")
	}
	above := map[string]bool{module + "internal/app": true, module + "internal/config": true, module + "cmd/gatehouse": true,
		module + "internal/testenv": true}
	for _, line := range goList(t, "-f", "{{.ImportPath}}:{{join .Deps \",\"}}", "./...") {
		pkg, deps, _ := strings.Cut(line, ":")
		if above[pkg] || strings.HasPrefix(pkg, module+"bench/") {
			continue
		}
		own := surfaceOf(pkg)
		for _, d := range strings.Split(deps, ",") {
			if !strings.HasPrefix(d, module) {
				continue
			}
			if above[d] {
				t.Errorf("%s depends on %s, which is above it", pkg, d)
			}
			if s := surfaceOf(d); s != "" && s != own && !(d == module+surfaceUses[own]) {
				if own == "" {
					t.Errorf("%s (below the surfaces) depends on the %s surface (%s)", pkg, s, d)
				} else {
					t.Errorf("surface %s depends on surface %s (%s): wire it through an interface in internal/app", own, s, d)
				}
			}
		}
	}
}

// TestCommandOnlyParsesFlags: cmd/gatehouse reaches the store, keys and snapshots through the
// composition root; it imports only the root, the configuration loader, the admin service it
// prints, the stand-alone DLP and AI tools (classification, extraction) and the store's data
// types.
func TestCommandOnlyParsesFlags(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("go tool not found")
	}
	allowed := map[string]bool{"internal/app": true, "internal/config": true, "internal/admin": true, "internal/dlp": true, "internal/store": true,
		"internal/ai": true, "internal/ai/extract": true}
	for _, imp := range goList(t, "-f", "{{join .Imports \" \"}}", "./cmd/gatehouse") {
		if rel, ok := strings.CutPrefix(imp, module); ok && !allowed[rel] {
			t.Errorf("cmd/gatehouse imports %s; obtain it through internal/app", imp)
		}
	}
}

// TestRaceTargetNamesExistingTests: every test the Makefile's RACE_E2E pattern names exists in
// the packages test-race runs it on, so that renaming a test does not silently take it out of
// the race detector's run.
func TestRaceTargetNamesExistingTests(t *testing.T) {
	root := moduleRoot(t)
	mk, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, line := range strings.Split(string(mk), "\n") {
		if rest, ok := strings.CutPrefix(line, "RACE_E2E"); ok {
			_, pattern, _ := strings.Cut(rest, ":=")
			pattern = strings.TrimSpace(pattern)
			inner, ok := strings.CutPrefix(pattern, "^(")
			inner, ok2 := strings.CutSuffix(inner, ")$$")
			if !ok || !ok2 {
				t.Fatalf("RACE_E2E is not of the form ^(TestA|TestB)$$: %s", pattern)
			}
			names = strings.Split(inner, "|")
		}
	}
	if len(names) < 5 {
		t.Fatalf("RACE_E2E names %d tests: %v", len(names), names)
	}
	var src strings.Builder
	for _, dir := range []string{"internal/app", "internal/dlp"} {
		files, err := filepath.Glob(filepath.Join(root, dir, "*_test.go"))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			src.Write(b)
		}
	}
	for _, name := range names {
		if !strings.Contains(src.String(), "\nfunc "+name+"(t *testing.T)") {
			t.Errorf("RACE_E2E in the Makefile names %s, which is not a test of internal/app or internal/dlp", name)
		}
	}
}
