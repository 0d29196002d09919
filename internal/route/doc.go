// Package route maps a request's host and path to the self-hosted application that governs it,
// following Cloudflare Access's destination rules (access-spec §1.3).
//
// Patterns are host[/path] (see ValidatePattern). In a host, "*" matches zero or more characters
// within one label: "*.example.com" covers "alpha.example.com" but neither "example.com" nor
// "a.b.example.com"; "*test.example.com" covers "test.example.com" and "alphatest.example.com".
// An empty path, "/" or "/*" covers every path of the host. A path without "*" covers itself and
// everything below it: "/eng" covers "/eng" and "/eng/x", not "/engineering". A trailing "*"
// may match nothing: "/alpha/*" covers "/alpha/one" and "/alpha/" (the index page of an admin
// console must not fall to a less specific application), but not "/alpha". A "*" inside a path
// crosses segments ("/foo*/bar" covers "/food/stuff/bar").
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
// path handed to Match must be the normalised path from httpx.NormalizePath, the same path that
// is forwarded. Percent escapes in it are matched by the byte they encode (":" in a pattern
// matches ":" and "%3A"), so a pattern cannot be sidestepped by encoding a character it names.
//
// Path parameters are not interpreted: "/admin;x/secret" is not below "/admin". Servers that
// strip them (Tomcat, Jetty) read it as "/admin/secret", so such origins should not rely on a
// path application being more restrictive than its host's application alone.
//
// A Table is immutable and safe for concurrent use. Match does not allocate and finds wildcard
// hosts through the literal text right of and around their rightmost "*", so its cost does not
// grow with the number of applications; only patterns that differ solely left of their rightmost
// wildcard label ("a1.*.example.com", "a2.*.example.com", ...) are tried one by one.
package route
