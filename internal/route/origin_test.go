package route

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/gatehouse/gatehouse/internal/httpx"
)

// This file checks the routing decision the proxy makes (httpx.NormalizePath, then
// Table.Resolve) against what origins serve: a request path must be refused, or decided by the
// application that governs the path an origin serves for it, never by another (less
// restrictive) one. TestPathMutations generates route tables and mutates paths the way origins
// read them alike; FuzzResolveOrigins compares the decision on arbitrary raw paths with
// independent models of common origins.

// decide runs the proxy's routing step on a raw escaped path: "rejected" (400 from
// NormalizePath), "ambiguous" (400 from Resolve), or the application ID ("" for none).
func decide(tbl *Table, host, raw string) string {
	path, err := httpx.NormalizePath(raw)
	if err != nil {
		return "rejected"
	}
	id, _, err := tbl.Resolve(host, path)
	switch {
	case errors.Is(err, ErrAmbiguousPath):
		return "ambiguous"
	case err != nil:
		return "error: " + err.Error()
	}
	return id
}

var words = []string{"admin", "public", "docs", "edit", "api", "v1", "files", "reports", "static", "app", "settings", "users", "skip"}

// genTable returns a random table on host (exact or "*.example.com"): usually a host-wide
// application, and path applications of every pattern shape.
func genTable(rng *rand.Rand, t *testing.T) ([]app, *Table) {
	word := func() string { return words[rng.IntN(len(words))] }
	for {
		host := "app.example.com"
		if rng.IntN(3) == 0 {
			host = "*.example.com"
		}
		var apps []app
		if rng.IntN(5) != 0 {
			apps = append(apps, app{"host", []string{host}})
		}
		for i := range 2 + rng.IntN(7) {
			var pats []string
			for range 1 + rng.IntN(2) {
				var p string
				switch rng.IntN(9) {
				case 0:
					p = "/" + word()
				case 1:
					p = "/" + word() + "/" + word()
				case 2:
					p = "/" + word() + "/"
				case 3:
					p = "/" + word() + "/*"
				case 4:
					p = "/" + word() + "/*/" + word()
				case 5:
					p = "/" + word() + "*"
				case 6:
					p = "/" + word() + "*/" + word()
				case 7:
					p = "/*/" + word()
				case 8:
					p = "/" + word() + ".*"
				}
				pats = append(pats, host+p)
			}
			id := fmt.Sprintf("app%d", i)
			if i == 0 {
				id = "bypass" // stands for a bypass path: the least restrictive application
			}
			apps = append(apps, app{id, pats})
		}
		tbl, err := Compile(storeApps(apps))
		if err == nil {
			return apps, tbl
		}
	}
}

// instantiate turns a pattern's path into a request path it covers, filling each "*".
func instantiate(rng *rand.Rand, pattern string) string {
	_, path, _ := strings.Cut(pattern, "/")
	fills := []string{"a", "xy", "b/c", "q1"}
	var b strings.Builder
	b.WriteByte('/')
	for _, c := range path {
		if c == '*' {
			b.WriteString(fills[rng.IntN(len(fills))])
		} else {
			b.WriteRune(c)
		}
	}
	return b.String()
}

// mutation rewrites a canonical request path the way some origin reads it alike. exact
// mutations must be decided exactly as the canonical path; the others may also be refused.
type mutation struct {
	name  string
	exact bool
	apply func(rng *rand.Rand, p string) string
}

// segments splits "/a/b/" into ["a", "b", ""].
func segments(p string) []string { return strings.Split(p[1:], "/") }

func join(segs []string) string { return "/" + strings.Join(segs, "/") }

// editSegment applies f to one random non-empty segment.
func editSegment(rng *rand.Rand, p string, f func(string) string) string {
	segs := segments(p)
	var idx []int
	for i, s := range segs {
		if s != "" {
			idx = append(idx, i)
		}
	}
	if len(idx) == 0 {
		return p
	}
	i := idx[rng.IntN(len(idx))]
	segs[i] = f(segs[i])
	return join(segs)
}

// replaceByte replaces one random occurrence of any of the bytes in set by repl(byte).
func replaceByte(rng *rand.Rand, p, set string, repl func(byte) string) string {
	var at []int
	for i := 1; i < len(p); i++ {
		if strings.IndexByte(set, p[i]) >= 0 {
			at = append(at, i)
		}
	}
	if len(at) == 0 {
		return p
	}
	i := at[rng.IntN(len(at))]
	return p[:i] + repl(p[i]) + p[i+1:]
}

// pct percent-encodes the UTF-8 form of r.
func pct(r rune) string {
	var b strings.Builder
	var buf [utf8.UTFMax]byte
	for _, c := range buf[:utf8.EncodeRune(buf[:], r)] {
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}

// overlong returns the two-byte overlong UTF-8 form of an ASCII byte, percent-encoded.
func overlong(c byte) string { return fmt.Sprintf("%%%02X%%%02X", 0xC0|c>>6, 0x80|c&0x3F) }

var mutations = []mutation{
	{"ascii case", true, func(rng *rand.Rand, p string) string {
		b := []byte(p)
		for i, c := range b {
			if 'a' <= c && c <= 'z' && rng.IntN(2) == 0 {
				b[i] = c - 32
			}
		}
		return string(b)
	}},
	{"trailing slash", true, func(_ *rand.Rand, p string) string {
		if p == "/" {
			return "//"
		}
		if strings.HasSuffix(p, "/") {
			return strings.TrimSuffix(p, "/")
		}
		return p + "/"
	}},
	{"path parameters", true, func(rng *rand.Rand, p string) string {
		if rng.IntN(2) == 0 {
			return editSegment(rng, p, func(s string) string { return s + ";jsessionid=1" })
		}
		segs := segments(p)
		i := rng.IntN(len(segs))
		return join(append(segs[:i], append([]string{";x"}, segs[i:]...)...))
	}},
	{"percent-encoding", true, func(rng *rand.Rand, p string) string {
		return replaceByte(rng, p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~:@!$&'()*+,=",
			func(c byte) string { return fmt.Sprintf("%%%02x", c) })
	}},
	{"dot segments", true, func(rng *rand.Rand, p string) string {
		segs := segments(p)
		i := rng.IntN(len(segs))
		extra := []string{"."}
		if rng.IntN(2) == 0 {
			extra = []string{"zz", ".."}
		}
		if rng.IntN(2) == 0 {
			extra = []string{"zz", "%2e%2E"}
		}
		return join(append(segs[:i], append(extra, segs[i:]...)...))
	}},
	{"double slash", true, func(rng *rand.Rand, p string) string {
		return replaceByte(rng, p, "/", func(byte) string { return "//" })
	}},
	{"format suffix", false, func(rng *rand.Rand, p string) string {
		suffix := []string{".json", ".html", ".tar.gz", ".", ".x"}[rng.IntN(5)]
		if strings.HasSuffix(p, "/") && len(p) > 1 {
			return strings.TrimSuffix(p, "/") + suffix + "/"
		}
		return p + suffix
	}},
	{"trailing dot or space", false, func(rng *rand.Rand, p string) string {
		end := []string{".", "%2e", "%2E", "%20", ". ", ".%20", "..", "%20%20", "...", "%2e%2e"}[rng.IntN(10)]
		return editSegment(rng, p, func(s string) string { return s + end })
	}},
	{"leading space", false, func(rng *rand.Rand, p string) string {
		return editSegment(rng, p, func(s string) string { return "%20" + s })
	}},
	{"encoded semicolon", false, func(rng *rand.Rand, p string) string {
		return editSegment(rng, p, func(s string) string { return s + []string{"%3bx", "%3B", "%3b/"}[rng.IntN(3)] })
	}},
	{"overlong UTF-8", false, func(rng *rand.Rand, p string) string {
		if rng.IntN(2) == 0 {
			segs := segments(p)
			i := rng.IntN(len(segs))
			dots := overlong('.') + overlong('.')
			return join(append(segs[:i], append([]string{"zz", dots}, segs[i:]...)...))
		}
		return replaceByte(rng, p, "abcdefghijklmnopqrstuvwxyz./", overlong)
	}},
	{"Unicode look-alikes", false, func(rng *rand.Rand, p string) string {
		switch rng.IntN(3) {
		case 0: // fullwidth letters, digits and punctuation
			return replaceByte(rng, p, "abcdefghijklmnopqrstuvwxyz0123456789._-", func(c byte) string { return pct(rune(c) - 0x21 + 0xFF01) })
		case 1: // dot look-alikes as a ".." segment
			segs := segments(p)
			i := rng.IntN(len(segs))
			d := []rune{0xFF0E, 0x2024, 0xFE52, 0x3002}[rng.IntN(4)]
			return join(append(segs[:i], append([]string{"zz", pct(d) + pct(d)}, segs[i:]...)...))
		default: // slash look-alikes
			return replaceByte(rng, p, "/", func(byte) string {
				return pct([]rune{0x2215, 0xFF0F, 0x2044, 0x29F8, 0x2216, 0xFF3C, 0x00A5}[rng.IntN(7)])
			})
		}
	}},
	{"Unicode case folding", false, func(rng *rand.Rand, p string) string {
		return replaceByte(rng, p, "kKsSiI", func(c byte) string {
			switch c {
			case 'k', 'K':
				return pct(0x212A)
			case 's', 'S':
				return pct(0x017F)
			case 'i':
				return pct(0x0131)
			}
			return pct(0x0130)
		})
	}},
	{"encoded query or fragment", false, func(rng *rand.Rand, p string) string {
		// At the end, so that the path before it is the canonical one.
		return p + []string{"%3F.css", "%3f", "%23x", "%3Fa=b/c", "%23.json"}[rng.IntN(5)]
	}},
	{"NTFS stream", false, func(rng *rand.Rand, p string) string {
		return editSegment(rng, p, func(s string) string { return s + []string{"::$DATA", ":$DATA", "::$INDEX_ALLOCATION"}[rng.IntN(3)] })
	}},
	{"invisible characters", false, func(rng *rand.Rand, p string) string {
		return editSegment(rng, p, func(s string) string {
			r := []rune{0x200B, 0x00AD, 0xFEFF, 0x2060, 0xFE0F, 0x00A0, 0x3000}[rng.IntN(7)]
			i := rng.IntN(len(s) + 1)
			return s[:i] + pct(r) + s[i:]
		})
	}},
	{"Windows short name", false, func(rng *rand.Rand, p string) string {
		return editSegment(rng, p, func(s string) string {
			if len(s) <= 6 {
				return s // a short name only stands for a longer name
			}
			return strings.ToUpper(s[:6]) + "~1"
		})
	}},
}

// TestPathMutations checks, for random route tables with every pattern shape, every destination
// and every mutation family, that the mutated path is decided exactly like the canonical path
// (exact families) or refused (the others), never by another application; and that every
// destination covers its sub-paths.
func TestPathMutations(t *testing.T) {
	rng := rand.New(rand.NewPCG(12, 2))
	counts := map[string][3]int{} // family: same, refused, checked
	for iter := range 250 {
		apps, tbl := genTable(rng, t)
		var refs []refPattern
		for _, a := range apps {
			for _, p := range a.patterns {
				refs = append(refs, newRefPattern(a.id, p))
			}
		}
		const host = "app.example.com"
		for _, a := range apps {
			for _, pat := range a.patterns {
				base := instantiate(rng, pat)
				for _, canon := range []string{base, strings.TrimSuffix(base, "/") + "/sub", strings.TrimSuffix(base, "/") + "/x.y/z"} {
					want := decide(tbl, host, canon)
					if want == "rejected" || want == "ambiguous" {
						continue // the fill made an ambiguous canonical path; nothing to compare with
					}
					// Sub-paths: the destination covers the path and the paths below it.
					ref := newRefPattern(a.id, pat)
					for _, sub := range []string{canon, canon + "/deeper", strings.TrimSuffix(canon, "/") + "/"} {
						if ref.path != nil && !ref.path.MatchString(strings.ToLower(sub)) {
							t.Fatalf("iteration %d: %s does not cover %q", iter, pat, sub)
						}
						if got := decide(tbl, host, sub); got != "rejected" && got != "ambiguous" {
							winner := refWinner(refs, host, sub)
							if winner == nil || got != winner.appID || refBetter(&ref, winner) {
								t.Fatalf("iteration %d: %q -> %q, but destination %s of %q covers it and is more specific (tables %v)", iter, sub, got, pat, a.id, apps)
							}
						}
					}
					for _, m := range mutations {
						for range 3 {
							mutated := m.apply(rng, canon)
							got := decide(tbl, host, mutated)
							c := counts[m.name]
							c[2]++
							switch {
							case got == want:
								c[0]++
							case !m.exact && (got == "rejected" || got == "ambiguous"):
								c[1]++
							default:
								t.Fatalf("iteration %d, %s: %q -> %q, but %q -> %q\ntable: %v", iter, m.name, mutated, got, canon, want, apps)
							}
							counts[m.name] = c
						}
					}
				}
			}
		}
	}
	for _, m := range mutations {
		c := counts[m.name]
		t.Logf("%-24s %5d checked: %5d decided alike, %5d refused", m.name, c[2], c[0], c[1])
		if c[2] == 0 {
			t.Errorf("mutation family %q never ran", m.name)
		}
	}
}

// refWinner returns the reference matcher's best pattern for a raw path (decoded and without
// path parameters, as Resolve routes it).
func refWinner(pats []refPattern, host, raw string) *refPattern {
	path, err := httpx.NormalizePath(raw)
	if err != nil {
		return nil
	}
	dec, err := urlPathUnescape(withoutParams(path))
	if err != nil {
		return nil
	}
	return refBest(pats, host, asciiLower(dec))
}

// refBest is refMatch on a decoded, lower-cased path, returning the pattern.
func refBest(pats []refPattern, host, dec string) *refPattern {
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
	return best
}

// Origin models. Each turns a raw escaped request path into the decoded paths some origin
// serves for it (several when it serves more than one, like a suffix-matching framework), or
// none when it refuses it. They are written from the servers' documented behaviour, sharing no
// code with httpx or Resolve.

// decodeBytes percent-decodes raw; ok is false on a malformed escape.
func decodeBytes(raw string) ([]byte, bool) {
	var out []byte
	for i := 0; i < len(raw); i++ {
		if raw[i] != '%' {
			out = append(out, raw[i])
			continue
		}
		if i+2 >= len(raw) || !isHex(raw[i+1]) || !isHex(raw[i+2]) {
			return nil, false
		}
		out = append(out, unhex(raw[i+1])<<4|unhex(raw[i+2]))
		i += 2
	}
	return out, true
}

// lenientUTF8 decodes like old decoders that do not insist on the shortest form: any lead byte
// with the right number of continuation bytes is a code point, so C0 AE is ".".
func lenientUTF8(b []byte) string {
	var sb strings.Builder
	for i := 0; i < len(b); {
		c := b[i]
		n, r := 0, rune(0)
		switch {
		case c < 0x80:
			sb.WriteByte(c)
			i++
			continue
		case c&0xE0 == 0xC0:
			n, r = 1, rune(c&0x1F)
		case c&0xF0 == 0xE0:
			n, r = 2, rune(c&0x0F)
		case c&0xF8 == 0xF0:
			n, r = 3, rune(c&0x07)
		default:
			sb.WriteRune(utf8.RuneError)
			i++
			continue
		}
		ok := true
		for j := 1; j <= n; j++ {
			if i+j >= len(b) || b[i+j]&0xC0 != 0x80 {
				ok = false
				break
			}
			r = r<<6 | rune(b[i+j]&0x3F)
		}
		if !ok {
			sb.WriteRune(utf8.RuneError)
			i++
			continue
		}
		sb.WriteRune(r)
		i += n + 1
	}
	return sb.String()
}

// resolvePath collapses empty segments and resolves dot segments of a decoded path, keeping a
// trailing slash; ok is false when ".." climbs above the root.
func resolvePath(p string) (string, bool) {
	if !strings.HasPrefix(p, "/") {
		return "", false
	}
	var out []string
	segs := strings.Split(p[1:], "/")
	trailing := false
	for i, s := range segs {
		last := i == len(segs)-1
		switch s {
		case "", ".":
			trailing = last
		case "..":
			if len(out) == 0 {
				return "", false
			}
			out = out[:len(out)-1]
			trailing = last
		default:
			out = append(out, s)
			trailing = false
		}
	}
	r := "/" + strings.Join(out, "/")
	if trailing && r != "/" {
		r += "/"
	}
	return r, true
}

// mapSegments applies f to every segment of a decoded path.
func mapSegments(p string, f func(string) string) string {
	segs := strings.Split(p, "/")
	for i := 1; i < len(segs); i++ {
		segs[i] = f(segs[i])
	}
	return strings.Join(segs, "/")
}

func cutParams(s string) string { name, _, _ := strings.Cut(s, ";"); return name }

// routeView is a decoded path as the table defines routing on it: without path parameters,
// segments they leave empty dropped.
func routeView(p string) string {
	var out []string
	for _, s := range strings.Split(p[1:], "/") {
		if s = cutParams(s); s != "" {
			out = append(out, s)
		}
	}
	r := "/" + strings.Join(out, "/")
	if strings.HasSuffix(p, "/") && r != "/" {
		r += "/"
	}
	return r
}

// suffixReadings returns p and p with each "." cut of its last segment removed.
func suffixReadings(p string) []string {
	out := []string{p}
	trimmed := strings.TrimSuffix(p, "/")
	start := strings.LastIndexByte(trimmed, '/') + 1
	for i := len(trimmed) - 1; i > start; i-- {
		if trimmed[i] == '.' {
			out = append(out, trimmed[:i])
		}
	}
	return out
}

// originModel is one origin's reading of a request path. Each model is applied to the path
// Gatehouse forwards (the normalised one) and, unless forwardedOnly, to the raw path the client
// sent, so that normalisation itself is checked against the model too.
type originModel struct {
	name          string
	serve         func(raw string) []string
	forwardedOnly bool
}

var originModels = []originModel{
	{"rfc3986 (net/http, nginx)", func(raw string) []string {
		b, ok := decodeBytes(raw)
		if !ok {
			return nil
		}
		p, ok := resolvePath(string(b))
		return okList(p, ok)
	}, false},
	{"tomcat (parameters before decoding)", func(raw string) []string {
		b, ok := decodeBytes(mapSegments(raw, cutParams))
		if !ok {
			return nil
		}
		p, ok := resolvePath(string(b))
		return okList(p, ok)
	}, false},
	{"spring (decode, parameters, trim, suffix match)", func(raw string) []string {
		b, ok := decodeBytes(raw)
		if !ok {
			return nil
		}
		p := mapSegments(string(b), func(s string) string { return strings.TrimFunc(cutParams(s), unicode.IsSpace) })
		p, ok = resolvePath(p)
		if !ok {
			return nil
		}
		return suffixReadings(p)
	}, false},
	{"windows (lenient UTF-8, best fit, trailing dots and spaces, streams)", func(raw string) []string {
		b, ok := decodeBytes(raw)
		if !ok {
			return nil
		}
		s := strings.Map(func(r rune) rune {
			switch r {
			case 0x2215, 0xFF0F, 0x2044, 0x29F8, '\\', 0x2216, 0xFF3C, 0x00A5, 0x20A9:
				return '/'
			case 0xFF0E, 0x2024, 0xFE52, 0x3002, 0xFF61:
				return '.'
			case 0x212A:
				return 'k'
			case 0x017F:
				return 's'
			case 0x0131, 0x0130:
				return 'i'
			}
			if 0xFF01 <= r && r <= 0xFF5E {
				return r - 0xFF01 + 0x21
			}
			return r
		}, lenientUTF8(b))
		s = mapSegments(s, func(seg string) string {
			if i := strings.Index(seg, ":$"); i >= 0 {
				seg = seg[:i]
			}
			if seg == "." || seg == ".." {
				return seg
			}
			return strings.TrimRight(seg, ". ")
		})
		p, ok := resolvePath(s)
		return okList(p, ok)
	}, false},
	{"NFKC and Unicode case", func(raw string) []string {
		b, ok := decodeBytes(raw)
		if !ok {
			return nil
		}
		s := norm.NFKC.String(lenientUTF8(b))
		s = strings.Map(func(r rune) rune {
			if l := unicode.ToLower(r); l < utf8.RuneSelf {
				return l
			}
			if u := unicode.ToUpper(r); u < utf8.RuneSelf {
				return u
			}
			return r
		}, s)
		s = strings.Map(func(r rune) rune {
			if unicode.Is(unicode.Cf, r) {
				return -1 // invisible characters dropped
			}
			return r
		}, s)
		p, ok := resolvePath(s)
		return okList(p, ok)
	}, false},
	{"re-parsing proxy (decode, then ? and # end the path)", func(raw string) []string {
		b, ok := decodeBytes(raw)
		if !ok {
			return nil
		}
		s := string(b)
		if i := strings.IndexAny(s, "?#"); i >= 0 {
			s = s[:i]
		}
		p, ok := resolvePath(s)
		if !ok {
			return nil
		}
		return suffixReadings(p)
	}, true},
	{"double decoding", func(raw string) []string {
		b, ok := decodeBytes(raw)
		if !ok {
			return nil
		}
		b, ok = decodeBytes(string(b))
		if !ok {
			return nil
		}
		p, ok := resolvePath(string(b))
		return okList(p, ok)
	}, false},
}

func okList(p string, ok bool) []string {
	if !ok {
		return nil
	}
	return []string{p}
}

// originSeeds are route tables (one path pattern per line, app i owns line i, "" is the
// host-wide application) and raw paths from the review and its variants.
var originSeeds = []struct{ patterns, raw string }{
	{"\n/admin\n/public/*", "/admin%3bx"},
	{"\n/admin\n/public/*", "/admin%20"},
	{"\n/admin\n/public/*", "/admin."},
	{"\n/admin\n/public/*", "/admin%2e"},
	{"\n/admin\n/public/*", "/admin.json"},
	{"\n/admin\n/public/*", "/public/%c0%ae%c0%ae/admin"},
	{"\n/admin\n/public/*", "/public/%ef%bc%8e%ef%bc%8e/admin"},
	{"\n/admin\n/public/*", "/public/%e2%80%a4%e2%80%a4/admin"},
	{"\n/admin\n/public/*", "/public%e2%88%95..%e2%88%95admin"},
	{"\n/admin\n/public/*", "/ADMIN::$DATA"},
	{"\n/admin\n/public/*", "/%e2%84%aadmin"},
	{"\n/docs/*/edit\n/public", "/docs/a/edit/"},
	{"\n/docs/*/edit\n/public", "/docs/a/edit/x"},
	{"\n/docs/*/edit\n/public", "/docs/a/edit.json"},
	{"\n/docs/*/edit\n/public", "/public;x/../docs/a/edit"},
	{"\n/docs/*/edit\n/public", "/;/docs/a/edit"},
	{"\n/admin/\n/a*", "/admin"},
	{"\n/admin\n/public/*", "/admin%3F.css"},
	{"\n/admin\n/public/*", "/public%23/../admin"},
	{"/x\n/admin/*", "/admin"},
}

// FuzzResolveOrigins checks the proxy's routing decision on arbitrary raw paths against the
// origin models: when Gatehouse decides a path for application X, every origin model serves a
// path that the reference matcher (routing without path parameters) also gives to X.
func FuzzResolveOrigins(f *testing.F) {
	for _, s := range originSeeds {
		f.Add(s.patterns, s.raw)
	}
	for _, sc := range scenarios {
		var pats []string
		for _, a := range sc.apps {
			for _, p := range a.patterns {
				if h, path, _ := strings.Cut(p, "/"); h == "example.com" {
					pats = append(pats, "/"+path)
				}
			}
		}
		for _, r := range sc.requests {
			if h, path, _ := strings.Cut(r.req, "/"); h == "example.com" {
				f.Add(strings.Join(pats, "\n"), "/"+path)
			}
		}
	}
	const host = "h.example"
	f.Fuzz(func(t *testing.T, patterns, raw string) {
		var apps []app
		var refs []refPattern
		seen := map[string]bool{}
		for i, p := range strings.Split(patterns, "\n") {
			if i == 8 {
				break
			}
			uri := host + p
			pp, reason := parsePattern(uri)
			if reason != "" || seen[pp.cover] {
				continue
			}
			seen[pp.cover] = true
			id := fmt.Sprintf("app%d", i)
			apps = append(apps, app{id, []string{uri}})
			refs = append(refs, newRefPattern(id, uri))
		}
		tbl := compileApps(t, apps)
		got := decide(tbl, host, raw)
		if got == "rejected" || got == "ambiguous" {
			return
		}
		forwarded, err := httpx.NormalizePath(raw)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range originModels {
			inputs := []string{forwarded, raw}
			if m.forwardedOnly {
				inputs = inputs[:1]
			}
			var served []string
			for _, in := range inputs {
				served = append(served, m.serve(in)...)
			}
			for _, served := range served {
				want := ""
				if w := refBest(refs, host, asciiLower(routeView(served))); w != nil {
					want = w.appID
				}
				if want != got {
					t.Fatalf("%q is decided by %q, but %s serves %q, which %q governs (patterns %q)", raw, got, m.name, served, want, patterns)
				}
			}
		}
	})
}
