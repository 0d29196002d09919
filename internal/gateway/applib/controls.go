package applib

import "strings"

// ControlsFor returns the names of the application's controls that match a request, in the
// order the catalogue lists them (nil when none). host is normalised like Lookup's input; path
// is the URL path without query. Method comparison is exact (HTTP methods are upper case).
func (c *Catalog) ControlsFor(app *App, method, host, path string) []string {
	if app == nil {
		return nil
	}
	var names []string
	for i := range app.Controls {
		if app.Controls[i].Matches(app, method, host, path) {
			names = append(names, app.Controls[i].Name)
		}
	}
	return names
}

// AppendControlIDs appends the ids of the application's controls matching a request to dst, for
// the rule engine's app_control.controls field; it allocates only if dst is too small.
func (a *App) AppendControlIDs(dst []int, method, host, path string) []int {
	for i := range a.Controls {
		if a.Controls[i].Matches(a, method, host, path) {
			dst = append(dst, a.Controls[i].ID)
		}
	}
	return dst
}

// Matches reports whether one of the control's matchers recognises the request.
func (ct *Control) Matches(app *App, method, host, path string) bool {
	for _, m := range ct.Matchers {
		if m.Method != "" && m.Method != method {
			continue
		}
		if m.Host != "" {
			if !hostUnder(host, m.Host) {
				continue
			}
		} else if !hostCovered(host, app.Hostnames) {
			continue
		}
		for _, p := range m.Paths {
			if matchPath(p, path) {
				return true
			}
		}
	}
	return false
}

// matchPath matches a path pattern (see Matcher) against a request path without allocating.
func matchPath(pattern, path string) bool {
	if path == "" || path[0] != '/' {
		return false
	}
	for {
		if pattern == "/**" {
			return true // zero or more remaining segments, including a bare trailing slash
		}
		if pattern == "" || path == "" {
			return pattern == path
		}
		if pattern[0] != '/' || path[0] != '/' {
			return false
		}
		pattern, path = pattern[1:], path[1:]
		ps, pr := cutSegment(pattern)
		ss, sr := cutSegment(path)
		if !matchSegment(ps, ss) {
			return false
		}
		pattern, path = pr, sr
	}
}

func cutSegment(s string) (seg, rest string) {
	if i := strings.IndexByte(s, '/'); i >= 0 {
		return s[:i], s[i:]
	}
	return s, ""
}

// matchSegment matches one segment against a glob where '*' matches any run of characters.
func matchSegment(pat, s string) bool {
	// Classic two-pointer wildcard match with backtracking to the last star.
	px, sx := 0, 0
	star, mark := -1, 0
	for sx < len(s) {
		switch {
		case px < len(pat) && pat[px] == '*':
			star, mark = px, sx
			px++
		case px < len(pat) && pat[px] == s[sx]:
			px++
			sx++
		case star >= 0:
			px = star + 1
			mark++
			sx = mark
		default:
			return false
		}
	}
	for px < len(pat) && pat[px] == '*' {
		px++
	}
	return px == len(pat)
}
