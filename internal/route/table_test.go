package route

import (
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/httpx"
	"github.com/gatehouse/gatehouse/internal/store"
)

var update = flag.Bool("update", false, "rewrite testdata/routes.golden")

// app is a test application: ID and destination patterns.
type app struct {
	id       string
	patterns []string
}

func compileApps(t testing.TB, apps []app) *Table {
	t.Helper()
	tbl, err := Compile(storeApps(apps))
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	return tbl
}

func storeApps(apps []app) []store.Application {
	var out []store.Application
	for _, a := range apps {
		sa := store.Application{ID: a.id, Type: store.AppSelfHosted}
		for _, p := range a.patterns {
			sa.Destinations = append(sa.Destinations, store.Destination{Type: "public", URI: p})
		}
		out = append(out, sa)
	}
	return out
}

// scenarios drive TestMatchRules (want), the golden file and the FuzzMatch seed corpus.
// A request is "host/path"; want "" means no application.
var scenarios = []struct {
	name     string
	apps     []app
	requests []struct{ req, want string }
}{
	{
		name: "cloudflare subdomain and partial-label wildcards",
		apps: []app{
			{"apex", []string{"example.com"}},
			{"sub", []string{"*.example.com"}},
			{"partial", []string{"*test.example.com"}},
			{"subtest", []string{"*.test.example.com"}},
		},
		requests: []struct{ req, want string }{
			{"example.com/", "apex"},
			{"alpha.example.com/", "sub"},
			{"foo.bar.example.com/", ""},
			{"test.example.com/", "partial"},
			{"alphatest.example.com/x", "partial"},
			{"beta.test.example.com/", "subtest"},
			{"a.beta.test.example.com/", ""},
			{"testx.example.com/", "sub"},
			{"example.com./", "apex"},
			{"alpha.example.com./", "sub"},
			{".example.com/", ""},
			{"a..example.com/", ""},
			{"example.org/", ""},
		},
	},
	{
		name: "cloudflare path wildcards",
		apps: []app{
			{"alpha", []string{"example.com/alpha/*"}},
			{"foobar", []string{"example.com/foo*/bar"}},
			{"all", []string{"all.example.com/*"}},
			{"root", []string{"root.example.com/"}},
		},
		requests: []struct{ req, want string }{
			{"example.com/alpha/one", "alpha"},
			{"example.com/alpha/one/two", "alpha"},
			{"example.com/alpha", "alpha"},  // unlike Cloudflare: "/alpha" and "/alpha/" are one
			{"example.com/alpha/", "alpha"}, // a trailing * may match nothing
			{"example.com/alphabet", ""},
			{"example.com/", ""},
			{"example.com/foo/bar", "foobar"},
			{"example.com/food/bar", "foobar"},
			{"example.com/food/stuff/bar", "foobar"},
			{"example.com/foo/bar/baz", "foobar"}, // a path covers its sub-paths
			{"example.com/foo/bar/", "foobar"},
			{"example.com/foo/barn", ""},
			{"example.com/fo/bar", ""},
			{"all.example.com/", "all"},
			{"all.example.com/anything/at/all", "all"},
			{"root.example.com/", "root"},
			{"root.example.com/x/y", "root"},
		},
	},
	{
		name: "most specific wins, no inheritance",
		apps: []app{
			{"dash", []string{"dashboard.com"}},
			{"eng", []string{"dashboard.com/eng"}},
			{"exec", []string{"dashboard.com/eng/exec"}},
			{"engstar", []string{"dashboard.com/eng*"}},
			{"slash", []string{"dashboard.com/docs/"}},
		},
		requests: []struct{ req, want string }{
			{"dashboard.com/", "dash"},
			{"dashboard.com/eng", "eng"},
			{"dashboard.com/eng/", "eng"},
			{"dashboard.com/eng/x", "eng"},
			{"dashboard.com/eng/exec", "exec"},
			{"dashboard.com/eng/exec/", "exec"},
			{"dashboard.com/eng/exec/report", "exec"},
			{"dashboard.com/eng/executive", "eng"},
			{"dashboard.com/engineering", "engstar"},
			{"dashboard.com/en", "dash"},
			{"dashboard.com/ENG/EXEC", "exec"},
			{"dashboard.com/Eng", "eng"},
			{"dashboard.com/docs", "slash"}, // a trailing slash does not change what a path covers
			{"dashboard.com/docs/", "slash"},
			{"dashboard.com/docs/a", "slash"},
			{"dashboard.com/docsx", "dash"},
		},
	},
	{
		name: "every pattern shape covers its sub-paths and its trailing slash",
		apps: []app{
			{"host", []string{"app.example.com"}},
			{"edit", []string{"app.example.com/docs/*/edit"}},
			{"star", []string{"app.example.com/files/*"}},
			{"slash", []string{"app.example.com/admin/"}},
			{"open", []string{"app.example.com/api*"}},
			{"lit", []string{"app.example.com/reports/q1"}},
			{"deep", []string{"app.example.com/a/*/b/*/c"}},
		},
		requests: []struct{ req, want string }{
			{"app.example.com/docs/a/edit", "edit"},
			{"app.example.com/docs/a/edit/", "edit"},
			{"app.example.com/docs/a/edit/x", "edit"},
			{"app.example.com/docs/a/b/edit/x/y", "edit"},
			{"app.example.com/docs/a/edit/b/edit", "edit"},
			{"app.example.com/docs/a/editor", "host"},
			{"app.example.com/docs/a/editor/edit", "edit"},
			{"app.example.com/docs/edit", "host"},
			{"app.example.com/DOCS/A/EDIT/X", "edit"},
			{"app.example.com/docs/a/edit;x", "edit"},
			{"app.example.com/docs/a;x/edit/y", "edit"},
			{"app.example.com/files", "star"},
			{"app.example.com/files/", "star"},
			{"app.example.com/files/x/y", "star"},
			{"app.example.com/filesx", "host"},
			{"app.example.com/admin", "slash"},
			{"app.example.com/admin/", "slash"},
			{"app.example.com/admin/x", "slash"},
			{"app.example.com/administrator", "host"},
			{"app.example.com/api", "open"},
			{"app.example.com/api/", "open"},
			{"app.example.com/apix/y", "open"},
			{"app.example.com/reports/q1", "lit"},
			{"app.example.com/reports/q1/", "lit"},
			{"app.example.com/reports/q1/x", "lit"},
			{"app.example.com/reports/q1x", "host"},
			{"app.example.com/a/1/b/2/c", "deep"},
			{"app.example.com/a/1/b/2/c/", "deep"},
			{"app.example.com/a/1/b/2/c/d", "deep"},
			{"app.example.com/a/1/b/2/cd", "host"},
			{"app.example.com/a/b/c/b/2/c/x", "deep"},
		},
	},
	{
		name: "exact host before wildcard host, then host literals, then path",
		apps: []app{
			{"exact-admin", []string{"a.example.com/admin"}},
			{"star", []string{"*.example.com"}},
			{"a-star", []string{"a*.example.com"}},
			{"star-a", []string{"*a.example.com"}},
			{"star-admin", []string{"*.example.com/admin"}},
			{"star-star", []string{"*.*.example.com"}},
			{"x-star", []string{"x.*.example.com"}},
			{"api", []string{"api-*.example.com/v1/*"}},
			{"api-users", []string{"api-*.example.com/v1/users"}},
			{"tld", []string{"app.*"}},
		},
		requests: []struct{ req, want string }{
			{"a.example.com/admin", "exact-admin"},
			{"a.example.com/admin/x", "exact-admin"},
			{"a.example.com/", "star-a"}, // tie with a-star: "*a..." sorts first
			{"ab.example.com/", "a-star"},
			{"ba.example.com/", "star-a"},
			{"aa.example.com/", "star-a"},
			{"b.example.com/admin", "star-admin"},
			{"b.example.com/", "star"},
			{"x.y.example.com/", "x-star"},
			{"z.y.example.com/", "star-star"},
			{"api-eu.example.com/v1/users", "api-users"},
			{"api-eu.example.com/v1/users/7", "api-users"},
			{"api-eu.example.com/v1/orders", "api"},
			{"api-eu.example.com/v2", "a-star"},
			{"bpi-eu.example.com/v2", "star"},
			{"app.example/", "tld"},
			{"app.example.com/", "a-star"},
		},
	},
	{
		name: "path case and encodings",
		apps: []app{
			{"host", []string{"example.com"}},
			{"admin", []string{"example.com/admin"}},
			{"batch", []string{"example.com/v1:batch"}},
			{"user", []string{"example.com/@*/settings"}},
			{"tilde", []string{"example.com/~bob"}},
			{"hex", []string{"example.com/x*3a"}},
		},
		requests: []struct{ req, want string }{
			{"example.com/admin", "admin"},
			{"example.com/ADMIN", "admin"},
			{"example.com/%61dmin", "admin"},
			{"example.com/%41DMIN/x", "admin"},
			{"example.com/public/../admin", "admin"},
			{"example.com/admin%2fx", "rejected"},
			{"example.com/..;/admin", "rejected"},
			{"example.com//admin", "admin"},
			{"example.com/admin;x/secret", "admin"},
			{"example.com/admin;x", "admin"},
			{"example.com/;/admin", "admin"},
			{"example.com/;x/admin/y", "admin"},
			{"example.com/x;/../admin", "admin"},
			{"example.com/admin%3bx", "rejected"},
			{"example.com/admin%20", "rejected"},
			{"example.com/admin.", "rejected"},
			{"example.com/admin%2e", "rejected"},
			{"example.com/admin.json", "ambiguous"},
			{"example.com/admin.tar.gz/", "ambiguous"},
			{"example.com/admin/x.json", "admin"},
			{"example.com/static/app.min.js", "host"},
			{"example.com/.admin", "host"},
			{"example.com/public/%c0%ae%c0%ae/admin", "rejected"},
			{"example.com/public/%e2%80%a4%e2%80%a4/admin", "rejected"},
			{"example.com/v1:batch", "batch"},
			{"example.com/v1%3abatch", "batch"},
			{"example.com/V1%3ABATCH", "batch"},
			{"example.com/%40me/settings", "user"},
			{"example.com/@me/settings", "user"},
			{"example.com/%7ebob", "tilde"},
			{"example.com/x3a", "hex"},
			{"example.com/xy3a", "hex"},
			{"example.com/x%3a", "host"},
		},
	},
}

func TestMatchRules(t *testing.T) {
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			tbl := compileApps(t, sc.apps)
			for _, r := range sc.requests {
				if got := matchRequest(tbl, r.req); got != r.want {
					t.Errorf("%s -> %q, want %q", r.req, got, r.want)
				}
			}
		})
	}
}

// matchRequest normalises the path of "host/path" like the proxy does and resolves it. It
// returns the app ID, "" for no match, "rejected" when NormalizePath refuses the path, or
// "ambiguous" when Resolve does.
func matchRequest(tbl *Table, req string) string {
	host, path, _ := strings.Cut(req, "/")
	path, err := httpx.NormalizePath("/" + path)
	if err != nil {
		return "rejected"
	}
	id, ok, err := tbl.Resolve(host, path)
	switch {
	case errors.Is(err, ErrAmbiguousPath):
		return "ambiguous"
	case err != nil:
		return fmt.Sprintf("error %v", err)
	case ok != (id != ""):
		return fmt.Sprintf("inconsistent (%q, %v)", id, ok)
	}
	return id
}

func TestGolden(t *testing.T) {
	var b strings.Builder
	for _, sc := range scenarios {
		fmt.Fprintf(&b, "# %s\n", sc.name)
		for _, a := range sc.apps {
			fmt.Fprintf(&b, "app %-12s %s\n", a.id, strings.Join(a.patterns, " "))
		}
		tbl := compileApps(t, sc.apps)
		for _, r := range sc.requests {
			got := matchRequest(tbl, r.req)
			if got == "" {
				got = "(none)"
			}
			fmt.Fprintf(&b, "%-36s -> %s\n", r.req, got)
		}
		b.WriteString("\n")
	}
	golden := filepath.Join("testdata", "routes.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/route -update)", err)
	}
	if got := b.String(); got != string(want) {
		t.Errorf("routes differ from %s (run go test ./internal/route -update and review the diff):\n%s",
			golden, lineDiff(string(want), got))
	}
}

// lineDiff lists the lines that differ, good enough for a golden file of short lines.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := range max(len(w), len(g)) {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			fmt.Fprintf(&b, "line %d:\n- %s\n+ %s\n", i+1, wl, gl)
		}
	}
	return b.String()
}

func TestCompileErrors(t *testing.T) {
	apps := []store.Application{
		{ID: "a", Destinations: []store.Destination{
			{Type: "public", URI: "app.example.com"},
			{Type: "public", URI: "app.example.com:8443"},
			{Type: "private", URI: "10.0.0.0/8"},
			{Type: "carrier-pigeon", URI: "x.example.com"},
			{URI: "app.example.com/Admin"},
			{URI: "app.example.com/*"},
		}},
		{ID: "b", Type: store.AppSelfHosted, Destinations: []store.Destination{
			{Type: "public", URI: "app.example.com/admin"},
			{Type: "public", URI: "https://b.example.com"},
			{Type: "public", URI: "b.example.com"},
		}},
		{ID: "saas", Type: store.AppSaaS, Destinations: []store.Destination{{Type: "public", URI: "app.example.com"}}},
		{ID: "bookmark", Type: store.AppBookmark, Destinations: []store.Destination{{Type: "public", URI: "::bad::"}}},
	}
	_, err := Compile(apps)
	var errs Errors
	if !errors.As(err, &errs) {
		t.Fatalf("Compile error = %v, want route.Errors", err)
	}
	want := Errors{
		{"a", "destinations[1]", `"app.example.com:8443": ports are not supported: Cloudflare ignores the port, remove it`},
		{"a", "destinations[3]", `unknown destination type "carrier-pigeon"`},
		{"a", "destinations[5]", `"app.example.com/*" duplicates destinations[0] (both normalise to "app.example.com")`},
		{"b", "destinations[0]", `"app.example.com/admin" is already claimed by application "a" (destinations[4])`},
		{"b", "destinations[1]", `"https://b.example.com": must not include a scheme: write host[/path], e.g. "app.example.com/admin"`},
	}
	if !slices.Equal(errs, want) {
		t.Fatalf("Compile errors:\n%s\nwant:\n%s", strings.ReplaceAll(errs.Error(), "; ", "\n"), strings.ReplaceAll(want.Error(), "; ", "\n"))
	}
	if got := errs[0].Error(); got != `application "a" destinations[1]: "app.example.com:8443": ports are not supported: Cloudflare ignores the port, remove it` {
		t.Errorf("Error() = %s", got)
	}

	// Without the errors, the same apps compile; SaaS and bookmark apps are not routed.
	tbl, err := Compile([]store.Application{apps[0], apps[2], apps[3]})
	if err == nil || tbl != nil {
		t.Fatalf("Compile = %v, %v; want errors from app a", tbl, err)
	}
	apps[0].Destinations = apps[0].Destinations[:1]
	tbl, err = Compile(apps[2:])
	if err != nil || tbl.Len() != 0 {
		t.Fatalf("Compile(saas, bookmark) = %d routes, %v; want 0 routes", tbl.Len(), err)
	}
	tbl, err = Compile(apps[:1])
	if err != nil || tbl.Len() != 1 {
		t.Fatalf("Compile = %d routes, %v", tbl.Len(), err)
	}
	if id, ok := tbl.Match("app.example.com", "/"); !ok || id != "a" {
		t.Errorf("Match = %q, %v", id, ok)
	}
}

// TestCompileEquivalentPatterns checks patterns that differ only by a trailing "/" or "/*":
// one application may list them all (the first counts), two applications may not.
func TestCompileEquivalentPatterns(t *testing.T) {
	same := []app{{"a", []string{"app.example.com/docs", "app.example.com/docs/", "app.example.com/docs/*", "app.example.com/docs/*/"}}}
	tbl := compileApps(t, same)
	if tbl.Len() != 1 {
		t.Errorf("Len = %d, want 1", tbl.Len())
	}
	for _, p := range []string{"/docs", "/docs/", "/docs/x"} {
		if id, _ := tbl.Match("app.example.com", p); id != "a" {
			t.Errorf("Match(%q) = %q", p, id)
		}
	}
	_, err := Compile(storeApps([]app{
		{"a", []string{"app.example.com/docs"}},
		{"b", []string{"app.example.com/docs/*"}},
		{"c", []string{"app.example.com/api*"}},
		{"d", []string{"app.example.com/api*/"}},
	}))
	want := `application "b" destinations[0]: "app.example.com/docs/*" covers the same paths as "app.example.com/docs" of application "a" (destinations[0]): a trailing "/" or "/*" does not change what a path covers; ` +
		`application "d" destinations[0]: "app.example.com/api*/" covers the same paths as "app.example.com/api*" of application "c" (destinations[0]): a trailing "/" or "/*" does not change what a path covers`
	if err == nil || err.Error() != want {
		t.Errorf("Compile error:\n%v\nwant:\n%s", err, want)
	}
}

func TestNilTable(t *testing.T) {
	var tbl *Table
	if id, ok := tbl.Match("example.com", "/"); ok || id != "" {
		t.Errorf("nil Table matched %q", id)
	}
	if id, ok, err := tbl.Resolve("example.com", "/a.json"); ok || id != "" || err != nil {
		t.Errorf("nil Table resolved %q, %v", id, err)
	}
	empty, err := Compile(nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := empty.Match("example.com", "/"); ok {
		t.Error("empty Table matched")
	}
	if _, ok := empty.Match("", ""); ok {
		t.Error("empty Table matched empty host")
	}
}

func TestMatchAllocs(t *testing.T) {
	tbl, reqs := benchTable(t, 2000)
	allocs := testing.AllocsPerRun(100, func() {
		for _, r := range reqs {
			tbl.Match(r.host, r.path)
		}
	})
	if allocs != 0 {
		t.Errorf("Match allocates %.1f times per %d requests", allocs, len(reqs))
	}
}

// refPattern is the slow reference matcher: one regexp for the host and one for the decoded,
// lower-cased path, built as access-spec §1.3 [R] describes.
type refPattern struct {
	appID, key       string
	host, path       *regexp.Regexp // path nil: every path
	exact            bool
	hostLit          int
	pathPre, pathLit int
}

func newRefPattern(appID, uri string) refPattern {
	host, path, _ := strings.Cut(uri, "/")
	written := "/" + strings.ToLower(path)
	// A trailing "/" or "/*" does not change what a path covers; "" covers every path.
	cover := written
	for strings.HasSuffix(cover, "/*") || strings.HasSuffix(cover, "/") {
		cover = strings.TrimSuffix(strings.TrimSuffix(cover, "*"), "/")
	}
	if cover == "" {
		written = ""
	}
	r := refPattern{appID: appID, key: host + written, exact: !strings.Contains(host, "*")}
	r.hostLit = len(host) - strings.Count(host, "*")
	r.pathLit = len(cover) - strings.Count(cover, "*")
	r.pathPre = len(cover)
	if i := strings.IndexByte(cover, '*'); i >= 0 {
		r.pathPre = i
	}
	hre := strings.ReplaceAll(regexp.QuoteMeta(host), `\*`, `[^.]*`)
	r.host = regexp.MustCompile(`^` + hre + `$`)
	pre := strings.ReplaceAll(regexp.QuoteMeta(cover), `\*`, `.*`)
	switch {
	case cover == "":
	case strings.HasSuffix(cover, "*"):
		// Open: the last star takes the rest of the path.
		r.path = regexp.MustCompile(`(?s)^` + pre + `$`)
	default:
		// Closed: the pattern and every sub-path.
		r.path = regexp.MustCompile(`(?s)^` + pre + `(?:/.*)?$`)
	}
	return r
}

// refMatch returns the app the reference matcher picks for host and the normalised path.
func refMatch(pats []refPattern, host, path string) string {
	host = strings.TrimSuffix(host, ".")
	for l := range strings.SplitSeq(host, ".") {
		if l == "" {
			return "" // hosts with empty labels never match
		}
	}
	dec, err := urlPathUnescape(path)
	if err != nil {
		panic(err)
	}
	dec = asciiLower(dec)
	var best *refPattern
	for i := range pats {
		p := &pats[i]
		if !p.host.MatchString(host) || p.path != nil && !p.path.MatchString(dec) {
			continue
		}
		if best == nil || refBetter(p, best) {
			best = p
		}
	}
	if best == nil {
		return ""
	}
	return best.appID
}

func refBetter(a, b *refPattern) bool {
	ka := []int{boolInt(a.exact), a.hostLit, a.pathPre, a.pathLit}
	kb := []int{boolInt(b.exact), b.hostLit, b.pathPre, b.pathLit}
	if c := slices.Compare(ka, kb); c != 0 {
		return c > 0
	}
	return a.key < b.key
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		b[i] = lowerByte(c)
	}
	return string(b)
}

func urlPathUnescape(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b.WriteByte(s[i])
			continue
		}
		if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
			return "", fmt.Errorf("bad escape in %q", s)
		}
		b.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
		i += 2
	}
	return b.String(), nil
}

func TestReferenceAgrees(t *testing.T) {
	for _, sc := range scenarios {
		tbl := compileApps(t, sc.apps)
		var pats []refPattern
		for _, a := range sc.apps {
			for _, p := range a.patterns {
				pats = append(pats, newRefPattern(a.id, p))
			}
		}
		for _, r := range sc.requests {
			host, path, _ := strings.Cut(r.req, "/")
			path, err := httpx.NormalizePath("/" + path)
			if err != nil {
				continue
			}
			got, _ := tbl.Match(host, path)
			if want := refMatch(pats, host, path); got != want {
				t.Errorf("%s: Match = %q, reference = %q", r.req, got, want)
			}
		}
	}
}

// FuzzMatch compiles up to eight newline-separated patterns (app i owns pattern i) and checks
// Match against the reference matcher for one request. When derive is odd, the request is not
// host and rawPath but pattern derive/2 with every "*" replaced by fill, so that most runs
// exercise near-matches rather than random misses.
func FuzzMatch(f *testing.F) {
	for _, sc := range scenarios {
		var pats []string
		for _, a := range sc.apps {
			pats = append(pats, a.patterns...)
		}
		for i, r := range sc.requests {
			host, path, _ := strings.Cut(r.req, "/")
			f.Add(strings.Join(pats, "\n"), host, "/"+path, uint8(2*i+1), path)
		}
	}
	for _, tt := range patternTests {
		f.Add(tt.uri, "example.com", "/", uint8(1), "x")
	}
	f.Fuzz(func(t *testing.T, patterns, host, rawPath string, derive uint8, fill string) {
		var apps []app
		seen := map[string]bool{}
		for i, p := range strings.Split(patterns, "\n") {
			if i == 8 {
				break
			}
			pp, reason := parsePattern(p)
			if reason != "" || seen[pp.cover] {
				continue
			}
			seen[pp.cover] = true
			apps = append(apps, app{fmt.Sprintf("app%d", i), []string{p}})
		}
		tbl := compileApps(t, apps)
		if derive%2 == 1 && len(apps) > 0 {
			req := strings.ReplaceAll(apps[int(derive/2)%len(apps)].patterns[0], "*", fill)
			host, rawPath, _ = strings.Cut(req, "/")
			rawPath = "/" + rawPath
		}
		host = asciiLower(host)
		path, err := httpx.NormalizePath(rawPath)
		if err != nil {
			path = "/"
		}
		id, ok := tbl.Match(host, path)
		if ok != (id != "") {
			t.Fatalf("Match = %q, %v", id, ok)
		}
		var pats []refPattern
		for _, a := range apps {
			pats = append(pats, newRefPattern(a.id, a.patterns[0]))
		}
		if want := refMatch(pats, host, path); id != want {
			t.Fatalf("Match(%q, %q) = %q, reference = %q (patterns %q)", host, path, id, want, patterns)
		}
		checkSlashInvariant(t, tbl, host, path)
	})
}

// checkSlashInvariant checks that a trailing slash never changes the application of a path.
func checkSlashInvariant(t *testing.T, tbl *Table, host, path string) {
	t.Helper()
	if path == "/" {
		return
	}
	bare := strings.TrimSuffix(path, "/")
	a, _ := tbl.Match(host, bare)
	b, _ := tbl.Match(host, bare+"/")
	if a != b {
		t.Fatalf("Match(%q, %q) = %q but Match(%q, %q) = %q", host, bare, a, host, bare+"/", b)
	}
}

type benchReq struct{ host, path string }

// benchTable compiles n applications: 60% exact hosts (a third of them with path apps as well),
// 25% "*.teamN.example.com", 10% partial-label "svcN-*.example.net", 5% "*-prN.preview.example.io"
// with paths, plus a request mix that hits every kind and misses.
func benchTable(t testing.TB, n int) (*Table, []benchReq) {
	apps, reqs := benchApps(n)
	tbl, err := Compile(apps)
	if err != nil {
		t.Fatal(err)
	}
	return tbl, reqs
}

func benchApps(n int) ([]store.Application, []benchReq) {
	var apps []store.Application
	add := func(id string, uris ...string) {
		a := store.Application{ID: id, Type: store.AppSelfHosted}
		for _, u := range uris {
			a.Destinations = append(a.Destinations, store.Destination{Type: "public", URI: u})
		}
		apps = append(apps, a)
	}
	var reqs []benchReq
	for i := range n {
		switch {
		case i%20 < 12:
			h := fmt.Sprintf("app%d.corp.example.com", i)
			if i%3 == 0 {
				add(fmt.Sprintf("a%d", i), h)
				add(fmt.Sprintf("a%d-admin", i), h+"/admin")
				add(fmt.Sprintf("a%d-api", i), h+"/api/*/internal")
				reqs = append(reqs, benchReq{h, "/admin/users/42"}, benchReq{h, "/api/v1/internal"})
			} else {
				add(fmt.Sprintf("a%d", i), h)
				reqs = append(reqs, benchReq{h, "/index.html"})
			}
		case i%20 < 17:
			add(fmt.Sprintf("w%d", i), fmt.Sprintf("*.team%d.example.com", i))
			reqs = append(reqs, benchReq{fmt.Sprintf("wiki.team%d.example.com", i), "/pages/home"})
		case i%20 < 19:
			add(fmt.Sprintf("s%d", i), fmt.Sprintf("svc%d-*.example.net", i))
			reqs = append(reqs, benchReq{fmt.Sprintf("svc%d-eu.example.net", i), "/"})
		default:
			add(fmt.Sprintf("p%d", i), fmt.Sprintf("*-pr%d.preview.example.io", i), fmt.Sprintf("*-pr%d.preview.example.io/admin/*", i))
			reqs = append(reqs, benchReq{fmt.Sprintf("web-pr%d.preview.example.io", i), "/admin/x"})
		}
	}
	reqs = append(reqs,
		benchReq{"unknown.example.org", "/"},
		benchReq{"a.b.c.d.example.com", "/x"},
		benchReq{"app1.corp.example.com", "/"},
	)
	// Pack the request strings into one buffer: in the proxy the host and path were just
	// parsed and are in cache, so the benchmark should not pay for scattered test strings.
	var buf strings.Builder
	for _, r := range reqs {
		buf.WriteString(r.host)
		buf.WriteString(r.path)
	}
	packed, off := buf.String(), 0
	for i, r := range reqs {
		reqs[i].host = packed[off : off+len(r.host)]
		off += len(r.host)
		reqs[i].path = packed[off : off+len(r.path)]
		off += len(r.path)
	}
	return apps, reqs
}

func BenchmarkMatch(b *testing.B) {
	tbl, reqs := benchTable(b, 10000)
	b.Logf("%d routes, %d requests", tbl.Len(), len(reqs))
	pick := func(pred func(benchReq) bool) []benchReq {
		var out []benchReq
		for _, r := range reqs {
			if pred(r) {
				out = append(out, r)
			}
		}
		return out
	}
	for _, bc := range []struct {
		name string
		reqs []benchReq
	}{
		{"mix", reqs},
		{"exact", pick(func(r benchReq) bool { return strings.HasSuffix(r.host, ".corp.example.com") })},
		{"exact-path", pick(func(r benchReq) bool { return strings.HasPrefix(r.path, "/api/") })},
		{"wildcard-label", pick(func(r benchReq) bool { return strings.Contains(r.host, ".team") })},
		{"wildcard-partial", pick(func(r benchReq) bool { return strings.HasSuffix(r.host, ".example.net") })},
		{"wildcard-path", pick(func(r benchReq) bool { return strings.HasSuffix(r.host, ".example.io") })},
		{"miss", []benchReq{{"unknown.example.org", "/"}, {"a.b.c.d.example.com", "/x"}}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				r := bc.reqs[i%len(bc.reqs)]
				tbl.Match(r.host, r.path)
				i++
			}
		})
	}
}

func BenchmarkCompile(b *testing.B) {
	apps, _ := benchApps(10000)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Compile(apps); err != nil {
			b.Fatal(err)
		}
	}
}

// TestRandomTables compares Match with the reference matcher on generated tables large enough
// for the indexed wildcard buckets (FuzzMatch has at most eight patterns) and requests derived
// from the patterns, so that most of them nearly match.
func TestRandomTables(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	pick := func(xs ...string) string { return xs[rng.IntN(len(xs))] }
	label := func() string {
		return pick("a", "b", "ab", "ba", "abc", "*", "a*", "*b", "a*b", "ab*", "*ab", "x-*", "*-y", "a*a", "ab*ba")
	}
	literal := func() string { return pick("a", "b", "ab", "x", "y") }
	seg := func() string { return pick("p", "q", "pq", "p*", "*q", "*", "P", "p:q", "@*") }
	fill := func() string { return pick("", "a", "b", "ab", "ba", "x-", "-y", "zz", "a.b", "%3a", ":", "1-", "-p1") }
	matched, indexed := 0, 0
	defer func() { t.Logf("%d requests matched; %d indexed wildcard buckets", matched, indexed) }()
	for iter := range 300 {
		var apps []app
		var pats []refPattern
		seen := map[string]bool{}
		for i := range 10 + rng.IntN(150) {
			var labels []string
			for range 1 + rng.IntN(3) {
				labels = append(labels, label())
			}
			for range rng.IntN(2) {
				labels = append(labels, literal())
			}
			uri := strings.Join(labels, ".")
			for range rng.IntN(3) {
				uri += "/" + seg()
			}
			p, reason := parsePattern(uri)
			if reason != "" || seen[p.cover] {
				continue
			}
			seen[p.cover] = true
			id := fmt.Sprintf("app%d", i)
			apps = append(apps, app{id, []string{uri}})
			pats = append(pats, newRefPattern(id, uri))
		}
		if len(apps) == 0 {
			continue
		}
		tbl := compileApps(t, apps)
		for _, wi := range tbl.wild {
			if wi == nil {
				continue
			}
			for _, b := range wi.buckets {
				if b.groups != nil {
					indexed++
				}
			}
		}
		for range 200 {
			src := apps[rng.IntN(len(apps))].patterns[0]
			var b strings.Builder
			for _, c := range src {
				if c == '*' {
					b.WriteString(fill())
				} else {
					b.WriteRune(c)
				}
			}
			host, rawPath, _ := strings.Cut(b.String(), "/")
			if rng.IntN(4) == 0 {
				rawPath += "/" + pick("q", "x", "", "P%3Aq")
			}
			path, err := httpx.NormalizePath("/" + rawPath)
			if err != nil {
				continue
			}
			got, _ := tbl.Match(host, path)
			if got != "" {
				matched++
			}
			if want := refMatch(pats, host, path); got != want {
				t.Fatalf("iteration %d: Match(%q, %q) = %q, reference = %q\npatterns: %v", iter, host, path, got, want, apps)
			}
			checkSlashInvariant(t, tbl, host, path)
		}
	}
}

// BenchmarkRoute measures the routing step as the proxy runs it on a normalised path, on the
// request mix of BenchmarkMatch and on asset paths (a file suffix) of hosts with path apps.
func BenchmarkRoute(b *testing.B) {
	tbl, reqs := benchTable(b, 10000)
	var assets []benchReq
	for _, r := range reqs {
		if strings.HasPrefix(r.path, "/admin/users") {
			assets = append(assets, benchReq{r.host, "/static/js/app.min.js"}, benchReq{r.host, "/admin/users/avatar.png"})
		}
	}
	for _, bc := range []struct {
		name string
		reqs []benchReq
	}{{"mix", reqs}, {"assets", assets}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				r := bc.reqs[i%len(bc.reqs)]
				routeRequest(tbl, r.host, r.path)
				i++
			}
		})
	}
}

// routeRequest routes like the proxy.
func routeRequest(tbl *Table, host, path string) (string, bool) {
	id, ok, _ := tbl.Resolve(host, path)
	return id, ok
}
