// Package route maps a request's host and path to the self-hosted application that governs it,
// following Cloudflare Access's destination rules (access-spec §1.3), made strict where origins
// would otherwise serve a path that a less restrictive application decided.
//
// Patterns are host[/path] (see ValidatePattern). In a host, "*" matches zero or more characters
// within one label: "*.example.com" covers "alpha.example.com" but neither "example.com" nor
// "a.b.example.com"; "*test.example.com" covers "test.example.com" and "alphatest.example.com".
// An empty path, "/" or "/*" covers every path of the host.
//
// Every path pattern covers its sub-paths, and a trailing slash never changes what it covers:
// "/eng" covers "/eng", "/eng/" and "/eng/x", not "/engineering"; "/docs/*/edit" covers
// "/docs/a/edit", "/docs/a/edit/" and "/docs/a/b/edit/x"; "/eng/" is the same as "/eng"; and
// "/alpha/*" covers "/alpha/one", "/alpha/" and, unlike in Cloudflare, "/alpha" itself, because
// most origins serve "/alpha" and "/alpha/" alike. A "*" inside a path crosses segments
// ("/foo*/bar" covers "/food/stuff/bar"); a trailing "*" that is not a whole segment takes the
// rest of the path ("/eng*" covers "/engineering/x"). Patterns of two applications that cover
// the same paths ("/alpha" and "/alpha/*") are a configuration error.
//
// The most specific pattern wins and there is no inheritance: only the winning application's
// policies apply. Specificity is, in order: an exact host before any wildcard host; more literal
// host characters; more literal path characters before the first "*"; more literal path
// characters in all; and finally the smaller normalised pattern string, so that every table has
// one deterministic answer.
//
// Path matching is ASCII case-insensitive. Origins on case-insensitive file systems (IIS, macOS,
// some Java frameworks) serve "/ADMIN" and "/admin" alike, so an application protecting "/admin"
// must also govern "/ADMIN"; otherwise a less specific, more permissive application would. The
// path must be the normalised path from httpx.NormalizePath, the same path that is forwarded
// (which refuses the forms origins read as another path: trailing dots and spaces, encoded ";",
// overlong UTF-8, Unicode look-alikes, ...). Percent escapes in it are matched by the byte they
// encode (":" in a pattern matches ":" and "%3A"), so a pattern cannot be sidestepped by
// encoding a character it names.
//
// Resolve is the routing decision of every surface: Match on the path without its path
// parameters ("/admin;x/secret" is "/admin/secret", as Tomcat and Spring serve it), refusing a
// path with a format suffix ("/admin.json") when the path without it belongs to another
// application.
//
// A Table is immutable and safe for concurrent use. Match does not allocate and finds wildcard
// hosts through the literal text right of and around their rightmost "*", so its cost does not
// grow with the number of applications; only patterns that differ solely left of their rightmost
// wildcard label ("a1.*.example.com", "a2.*.example.com", ...) are tried one by one.
package route
