package route

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/gatehouse/gatehouse/internal/store"
)

// Error is one problem in the destinations of an application.
type Error struct {
	AppID string
	Field string // e.g. "destinations[1]"
	Msg   string
}

func (e Error) Error() string {
	return fmt.Sprintf("application %q %s: %s", e.AppID, e.Field, e.Msg)
}

// Errors lists every problem Compile found, in configuration order.
type Errors []Error

func (e Errors) Error() string {
	var b strings.Builder
	for i, err := range e {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(err.Error())
	}
	return b.String()
}

// Table is a compiled route table. The zero value and nil match nothing.
//
// The layout keeps Match to a few map lookups and little pointer chasing on a table that does
// not fit in the CPU caches: routes are stored by value, a host's all-paths application sits in
// the map entry itself, and wildcard hosts are found through the literal part of the host right
// of their rightmost "*" (see wildIndex), never by a scan of all patterns.
type Table struct {
	exact map[string]exactHost
	// wild is indexed by the number of labels of the host: a host "*" never spans a dot, so a
	// pattern only matches hosts with as many labels as it has.
	wild   []*wildIndex
	routes int
}

// exactHost holds the routes of one exact host. It stays small enough (<= 128 bytes) for the map
// to store it inline.
type exactHost struct {
	all    string  // application covering every path of the host, when hasAll
	hasAll bool    // all paths are covered; such a route ranks below every path route
	paths  []route // routes with a path, best first
}

// wildIndex holds the wildcard hosts with one label count, by the literal labels right of their
// rightmost wildcard label (the tail: "example.com" for "*.example.com" and "a*b.example.com",
// "" for "app.*"). tails lists the distinct numbers of tail labels, so that a lookup only tries
// tails that exist.
type wildIndex struct {
	tails   []int
	buckets map[string]tailBucket
}

// tailBucket holds the wildcard hosts sharing a label count and tail, best first. A large
// bucket is also indexed by the literal prefix and suffix of the rightmost wildcard label
// ("pre*suf"; with the tail, pre and suf are the literal text around the last "*"): shapes
// lists the distinct (len(pre), len(suf)) pairs so that a lookup tries only lengths that exist.
type tailBucket struct {
	hosts  []wildHost           // small buckets only
	shapes []shape              // indexed buckets only
	groups map[affix][]wildHost // indexed buckets only
}

// bucketIndexMin is the size from which a tailBucket is indexed by affix rather than scanned.
const bucketIndexMin = 8

type shape struct{ pre, suf int }
type affix struct{ pre, suf string }

// wildHost is a wildcard host pattern and its routes.
type wildHost struct {
	label  hostLabel   // the rightmost wildcard label
	head   []hostLabel // labels left of it
	lit    int         // literal characters in the host
	host   string
	hasAll bool
	all    route   // the all-paths route, when hasAll
	paths  []route // routes with a path, best first
}

type route struct {
	appID   string
	key     string // normalised pattern, the last tie-breaker
	exact   bool   // exact host
	hostLit int    // literal characters in the host
	path    pathPattern
}

// better reports whether r is more specific than o.
func (r *route) better(o *route) bool {
	return compareRoutes(r, o) < 0
}

func compareRoutes(a, b *route) int {
	if a.exact != b.exact {
		if a.exact {
			return -1
		}
		return 1
	}
	if c := cmp.Compare(b.hostLit, a.hostLit); c != 0 {
		return c
	}
	if c := cmp.Compare(b.path.prefix, a.path.prefix); c != 0 {
		return c
	}
	if c := cmp.Compare(b.path.lit, a.path.lit); c != 0 {
		return c
	}
	return strings.Compare(a.key, b.key)
}

// Len returns the number of routes (destinations) in the table.
func (t *Table) Len() int {
	if t == nil {
		return 0
	}
	return t.routes
}

// Compile builds the route table of the self-hosted applications among apps (Type
// store.AppSelfHosted or empty). Only public destinations (Type "public" or empty) are routes;
// private and MCP-portal destinations are skipped. Any invalid pattern, unknown destination type,
// normalised pattern claimed twice, or two applications' patterns that cover exactly the same
// paths ("/docs", "/docs/" and "/docs/*"; see pathPattern) makes Compile fail with Errors listing
// every problem. One application may list such equivalent patterns; the first one counts.
func Compile(apps []store.Application) (*Table, error) {
	var errs Errors
	type claim struct {
		appID, field, uri string
	}
	size := 0
	for _, app := range apps {
		size += len(app.Destinations)
	}
	seen := make(map[string]claim, size)
	covered := make(map[string]claim, size)
	byHost := make(map[string][]route, size)
	pats := make(map[string]pattern, size)
	n := 0
	for _, app := range apps {
		if app.Type != "" && app.Type != store.AppSelfHosted {
			continue
		}
		for i, d := range app.Destinations {
			field := fmt.Sprintf("destinations[%d]", i)
			switch d.Type {
			case "", "public":
			case "private", "via_mcp_server_portal":
				continue
			default:
				errs = append(errs, Error{app.ID, field, fmt.Sprintf("unknown destination type %q", d.Type)})
				continue
			}
			p, reason := parsePattern(d.URI)
			if reason != "" {
				errs = append(errs, Error{app.ID, field, fmt.Sprintf("%q: %s", d.URI, reason)})
				continue
			}
			if prev, dup := seen[p.key]; dup {
				msg := fmt.Sprintf("%q is already claimed by application %q (%s)", d.URI, prev.appID, prev.field)
				if prev.appID == app.ID {
					msg = fmt.Sprintf("%q duplicates %s", d.URI, prev.field)
				}
				if p.key != d.URI {
					msg += fmt.Sprintf(" (both normalise to %q)", p.key)
				}
				errs = append(errs, Error{app.ID, field, msg})
				continue
			}
			seen[p.key] = claim{app.ID, field, d.URI}
			if prev, dup := covered[p.cover]; dup {
				if prev.appID != app.ID {
					errs = append(errs, Error{app.ID, field, fmt.Sprintf(
						"%q covers the same paths as %q of application %q (%s): a trailing \"/\" or \"/*\" does not change what a path covers",
						d.URI, prev.uri, prev.appID, prev.field)})
				}
				continue
			}
			covered[p.cover] = claim{app.ID, field, d.URI}
			byHost[p.host] = append(byHost[p.host], route{
				appID:   app.ID,
				key:     p.key,
				exact:   p.exact,
				hostLit: p.lit,
				path:    p.path,
			})
			pats[p.host] = p
			n++
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}

	t := &Table{exact: make(map[string]exactHost, len(byHost)), routes: n}
	for host, routes := range byHost {
		slices.SortFunc(routes, func(a, b route) int { return compareRoutes(&a, &b) })
		var all *route
		if last := &routes[len(routes)-1]; last.path.kind == pathAll {
			all, routes = last, routes[:len(routes)-1]
		}
		p := pats[host]
		if p.exact {
			e := exactHost{paths: routes}
			if all != nil {
				e.all, e.hasAll = all.appID, true
			}
			t.exact[host] = e
			continue
		}
		t.addWild(p, all, routes)
	}
	for _, wi := range t.wild {
		if wi == nil {
			continue
		}
		slices.Sort(wi.tails)
		for tail, b := range wi.buckets {
			slices.SortFunc(b.hosts, func(x, y wildHost) int {
				return cmp.Or(cmp.Compare(y.lit, x.lit), strings.Compare(x.host, y.host))
			})
			if len(b.hosts) >= bucketIndexMin {
				b.groups = make(map[affix][]wildHost)
				for _, h := range b.hosts {
					if s := (shape{len(h.label.pre), len(h.label.suf)}); !slices.Contains(b.shapes, s) {
						b.shapes = append(b.shapes, s)
					}
					a := affix{h.label.pre, h.label.suf}
					b.groups[a] = append(b.groups[a], h) // stays sorted
				}
				b.hosts = nil // only groups are consulted from now on
				wi.buckets[tail] = b
			}
		}
	}
	return t, nil
}

// addWild files a wildcard host pattern under its label count and tail.
func (t *Table) addWild(p pattern, all *route, paths []route) {
	wl := len(p.labels) - 1 // the rightmost wildcard label
	for !p.labels[wl].wild {
		wl--
	}
	var tail []string
	for _, l := range p.labels[wl+1:] {
		tail = append(tail, l.pre)
	}
	for len(t.wild) <= len(p.labels) {
		t.wild = append(t.wild, nil)
	}
	wi := t.wild[len(p.labels)]
	if wi == nil {
		wi = &wildIndex{buckets: make(map[string]tailBucket)}
		t.wild[len(p.labels)] = wi
	}
	if !slices.Contains(wi.tails, len(tail)) {
		wi.tails = append(wi.tails, len(tail))
	}
	h := wildHost{label: p.labels[wl], head: p.labels[:wl], lit: p.lit, host: p.host, paths: paths}
	if all != nil {
		h.all, h.hasAll = *all, true
	}
	tk := strings.Join(tail, ".")
	b := wi.buckets[tk]
	b.hosts = append(b.hosts, h)
	wi.buckets[tk] = b
}

// Match returns the ID of the application that governs host and path. host must be lower-case
// and without a port (one trailing dot is ignored); path must come from httpx.NormalizePath
// (an empty path is read as "/").
func (t *Table) Match(host, path string) (appID string, ok bool) {
	if t == nil {
		return "", false
	}
	if n := len(host); n > 0 && host[n-1] == '.' {
		host = host[:n-1]
	}
	if path == "" {
		path = "/"
	}
	if e, ok := t.exact[host]; ok {
		if r := matchPath(e.paths, path); r != nil {
			return r.appID, true
		}
		if e.hasAll {
			return e.all, true
		}
	}
	if r := t.matchWild(host, path); r != nil {
		return r.appID, true
	}
	return "", false
}

// matchHost is Match for a host whose exact-host entry e (when exact) was already looked up.
func (t *Table) matchHost(e *exactHost, exact bool, host, path string) string {
	if exact {
		if r := matchPath(e.paths, path); r != nil {
			return r.appID
		}
		if e.hasAll {
			return e.all
		}
	}
	if r := t.matchWild(host, path); r != nil {
		return r.appID
	}
	return ""
}

// matchPath returns the first (best) route whose path matches.
func matchPath(routes []route, path string) *route {
	for i := range routes {
		if routes[i].path.match(path) {
			return &routes[i]
		}
	}
	return nil
}

func (t *Table) matchWild(host, path string) *route {
	// Count labels, refusing empty ones: "*" may match an empty string, but not an empty label.
	if host == "" {
		return nil
	}
	labels := 1
	for i := 0; i < len(host); i++ {
		if host[i] == '.' {
			if i == 0 || host[i-1] == '.' || i == len(host)-1 {
				return nil
			}
			labels++
		}
	}
	if labels >= len(t.wild) || t.wild[labels] == nil {
		return nil
	}
	wi := t.wild[labels]

	var best *route
	// For each tail length that exists, right to left: the label left of the tail is the
	// rightmost wildcard label of the candidates, the labels left of it their head.
	end, cur := len(host), 0 // end of the wildcard label for cur tail labels
	for _, n := range wi.tails {
		for ; cur < n; cur++ {
			end = strings.LastIndexByte(host[:end], '.')
		}
		tail := ""
		if end < len(host) {
			tail = host[end+1:]
		}
		b, ok := wi.buckets[tail]
		if !ok {
			continue
		}
		start := strings.LastIndexByte(host[:end], '.') + 1
		label := host[start:end]
		if b.groups == nil {
			best = matchHosts(b.hosts, label, host, start, path, best)
			continue
		}
		for _, s := range b.shapes {
			if s.pre+s.suf <= len(label) {
				best = matchHosts(b.groups[affix{label[:s.pre], label[len(label)-s.suf:]}], label, host, start, path, best)
			}
		}
	}
	return best
}

// matchHosts returns the better of best and the best route among hosts (sorted best first)
// whose wildcard label matches label; host[:start] holds the labels left of label.
func matchHosts(hosts []wildHost, label, host string, start int, path string, best *route) *route {
	for i := range hosts {
		h := &hosts[i]
		if best != nil && h.lit < best.hostLit {
			break // sorted by host literal count: nothing better follows
		}
		if !h.label.match(label) || !matchHead(h.head, host, start) {
			continue
		}
		r := matchPath(h.paths, path)
		if r == nil && h.hasAll {
			r = &h.all
		}
		if r != nil && (best == nil || r.better(best)) {
			best = r
		}
	}
	return best
}

// matchHead matches the head labels against host[:start], which ends with a dot when non-empty.
func matchHead(head []hostLabel, host string, start int) bool {
	if len(head) == 0 {
		return true
	}
	rest := host[:start-1]
	for _, l := range head {
		label, r, _ := strings.Cut(rest, ".")
		if !l.match(label) {
			return false
		}
		rest = r
	}
	return true
}

// ErrAmbiguousPath is wrapped by the error Resolve returns for a path that origins may serve as
// another path that another application governs.
var ErrAmbiguousPath = errors.New("route: ambiguous path")

// Resolve returns the ID of the application that governs a request: host as for Match, path the
// normalised path from httpx.NormalizePath, exactly as it is forwarded. It is the one routing
// decision of every surface (the proxy, the login flow's redirect targets). Besides Match it:
//
//   - routes without path parameters: every ";..." is removed from each segment and segments
//     left empty are dropped, so "/admin;x/y" and "/;/admin/y" are routed as "/admin/y", the
//     path Tomcat, Jetty and Spring serve;
//   - refuses (ErrAmbiguousPath) a path whose last segment has a format suffix when the path
//     without it belongs to another application: Spring's suffix matching, Rails' formats and
//     Apache's MultiViews serve "/admin.json" (and "/admin.tar.gz/") as "/admin", which a less
//     restrictive application must not decide. Each cut at a "." of the last segment that
//     leaves a non-empty name is tried ("app.min.js" as "app.min" and "app"). Give such paths
//     to the same application (a destination "host/admin.*" next to "host/admin") to serve them;
//   - refuses a path with an encoded "?" or "#" (%3F, %23) when the path before it (or a
//     format-suffix reading of that) belongs to another application: a proxy that decodes the
//     path and parses it again hands "/admin%3F.css" to the origin as "/admin".
//
// A host whose only route covers all its paths needs none of this and is answered by one map
// lookup. Resolve does not allocate unless the path has parameters.
func (t *Table) Resolve(host, path string) (appID string, ok bool, err error) {
	if t == nil {
		return "", false, nil
	}
	if n := len(host); n > 0 && host[n-1] == '.' {
		host = host[:n-1]
	}
	e, exact := t.exact[host]
	if exact && e.hasAll && len(e.paths) == 0 {
		return e.all, true, nil
	}
	if path == "" {
		path = "/"
	}
	path = withoutParams(path)
	appID = t.matchHost(&e, exact, host, path)
	ok = appID != ""
	readings := [2]string{path}
	if i := encodedQueryOrFragment(path); i > 0 {
		// An origin behind a proxy that decodes the path and parses it again ends the path at
		// an encoded "?" or "#": "/admin%3F.css" is "/admin" there.
		readings[1] = path[:i]
	}
	for _, p := range readings {
		if p == "" {
			continue
		}
		if p != path {
			if other := t.matchHost(&e, exact, host, p); other != appID {
				return "", false, ambiguousPath(path, p, other, appID)
			}
		}
		if other, reading := t.suffixReading(&e, exact, host, p, appID); reading != "" {
			return "", false, ambiguousPath(path, reading, other, appID)
		}
	}
	return appID, ok, nil
}

func ambiguousPath(path, reading, other, appID string) error {
	return fmt.Errorf("%w: %q may be served as %q, which application %q governs, not %q",
		ErrAmbiguousPath, path, reading, other, appID)
}

// suffixReading returns the first reading of path without a format suffix of its last segment
// (cut at any ".", leaving a non-empty name) that another application than appID governs.
func (t *Table) suffixReading(e *exactHost, exact bool, host, path, appID string) (other, reading string) {
	seg := path
	if n := len(seg); n > 1 && seg[n-1] == '/' {
		seg = seg[:n-1] // "/admin.json/" is "/admin.json" to origins that ignore a trailing slash
	}
	start := strings.LastIndexByte(seg, '/') + 1
	for i := len(seg) - 1; i > start; i-- {
		if seg[i] != '.' {
			continue
		}
		if other := t.matchHost(e, exact, host, seg[:i]); other != appID {
			return other, seg[:i]
		}
	}
	return "", ""
}

// encodedQueryOrFragment returns the index of the first "%3F" or "%23" in path, or -1.
func encodedQueryOrFragment(path string) int {
	first := strings.IndexByte(path, '%')
	if first < 0 {
		return -1
	}
	for i := first; i+2 < len(path); i++ {
		if path[i] != '%' {
			continue
		}
		switch a, b := path[i+1], path[i+2]; {
		case a == '3' && (b == 'F' || b == 'f'), a == '2' && b == '3':
			return i
		}
	}
	return -1
}

// withoutParams removes ";..." from every segment of a normalised path and drops the segments
// that leaves empty, keeping a trailing slash: "/a;x/;y/b;z" becomes "/a/b". It allocates only
// when there is a ";".
func withoutParams(p string) string {
	if strings.IndexByte(p, ';') < 0 {
		return p
	}
	var b strings.Builder
	b.Grow(len(p))
	for seg := range strings.SplitSeq(p[1:], "/") {
		name, _, _ := strings.Cut(seg, ";")
		if name != "" {
			b.WriteByte('/')
			b.WriteString(name)
		}
	}
	if p[len(p)-1] == '/' || b.Len() == 0 {
		b.WriteByte('/')
	}
	return b.String()
}
