package httpx

import (
	"errors"
	"net/url"
	"strings"
	"testing"
)

// normalizeTests is also the seed corpus of FuzzNormalizePath. want == "" means rejected.
var normalizeTests = []struct {
	in, want string
}{
	// Plain paths.
	{"/", "/"},
	{"/a", "/a"},
	{"/a/b/c", "/a/b/c"},
	{"/a/b/", "/a/b/"},
	{"/.well-known/openid-configuration", "/.well-known/openid-configuration"},
	{"/a/.b", "/a/.b"},
	{"/Admin/Users", "/Admin/Users"},
	{"/a:b@c!$&'()*+,;=", "/a:b@c!$&'()*+,;="},
	{"/jsessionid;x=1/a", "/jsessionid;x=1/a"},

	// Escapes: unreserved decoded, the rest upper-cased.
	{"/%61%62%63", "/abc"},
	{"/%41%5A%30%2D%2e%5F%7e", "/AZ0-._~"},
	{"/a%2fb", ""},
	{"/a%2Fb", ""},
	{"/a%3fb", "/a%3Fb"},
	{"/a%23b", "/a%23b"},
	{"/caf%c3%a9", "/caf%C3%A9"},
	{"/%20x", "/%20x"},
	{"/%3B/x", "/%3B/x"},
	{"/%40user", "/%40user"},

	// Bytes that must be escaped are escaped.
	{"/a b", "/a%20b"},
	{"/a\"<>", "/a%22%3C%3E"},
	{"/[x]", "/%5Bx%5D"},
	{"/caf\xc3\xa9", "/caf%C3%A9"},
	{"/{|}^`", "/%7B%7C%7D%5E%60"},

	// Slashes and dot segments.
	{"//", "/"},
	{"///a", "/a"},
	{"/a//b", "/a/b"},
	{"/a//", "/a/"},
	{"/.", "/"},
	{"/./", "/"},
	{"/a/.", "/a/"},
	{"/a/./b", "/a/b"},
	{"/a/..", "/"},
	{"/a/../", "/"},
	{"/a/b/../c", "/a/c"},
	{"/a/b/../../c", "/c"},
	{"/a//../b", "/b"},
	{"/a/%2e/b", "/a/b"},
	{"/a/%2e%2e/b", "/b"},
	{"/a/.%2E/b", "/b"},
	{"/a/%2E./b", "/b"},
	{"/a/..../b", "/a/..../b"},
	{"/a/.b/..c/c..", "/a/.b/..c/c.."},
	{"/admin/../public", "/public"},
	{"/public/../admin", "/admin"},

	// Climbing above the root.
	{"/..", ""},
	{"/../", ""},
	{"/../a", ""},
	{"/a/../..", ""},
	{"/a/../../b", ""},
	{"/%2e%2e/etc/passwd", ""},
	{"/./..", ""},
	{"//..", ""},

	// Tomcat path parameters on dot segments.
	{"/..;/admin", ""},
	{"/a/..;/admin", ""},
	{"/a/..;x=1/admin", ""},
	{"/a/.;x/admin", ""},
	{"/a/%2e%2e;/admin", ""},
	{"/a/..%3b/admin", ""},
	{"/a/..%3B/admin", ""},
	{"/a/.%3bx", ""},
	{"/a/...;/b", "/a/...;/b"},
	{"/a/;/b", "/a/;/b"},
	{"/a/b;..", "/a/b;.."},

	// Backslashes and controls.
	{"/a\\b", ""},
	{"/a%5cb", ""},
	{"/a%5Cb", ""},
	{"/..\\admin", ""},
	{"/a%00", ""},
	{"/a\x00", ""},
	{"/a%09b", ""},
	{"/a\tb", ""},
	{"/a%0a", ""},
	{"/a%0D", ""},
	{"/a\r\n", ""},
	{"/a%1f", ""},
	{"/a%7f", ""},
	{"/a\x7f", ""},

	// Double and invalid encoding.
	{"/a%252f", ""},
	{"/a%252F", ""},
	{"/a%2541", ""},
	{"/a%25%34%31", ""},
	{"/a%25%32%46", ""},
	{"/a%2525", ""},
	{"/a%25", "/a%25"},
	{"/a%25x", "/a%25x"},
	{"/a%25%41", "/a%25A"},
	{"/a%", ""},
	{"/a%2", ""},
	{"/a%zz", ""},
	{"/a%%41", ""},
	{"/a%u0041", ""},

	// Not a path, or carrying query/fragment.
	{"", ""},
	{"a", ""},
	{"*", ""},
	{"http://x/", ""},
	{"/a#b", ""},
	{"/a?b", ""},
}

func TestNormalizePath(t *testing.T) {
	for _, tt := range normalizeTests {
		got, err := NormalizePath(tt.in)
		if tt.want == "" {
			if err == nil {
				t.Errorf("NormalizePath(%q) = %q, want error", tt.in, got)
			} else if !errors.Is(err, ErrAmbiguousPath) {
				t.Errorf("NormalizePath(%q) error %v does not wrap ErrAmbiguousPath", tt.in, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("NormalizePath(%q) error: %v, want %q", tt.in, err, tt.want)
			continue
		}
		if got != tt.want {
			t.Errorf("NormalizePath(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if slow, err := normalizePath(tt.in); err != nil || slow != got {
			t.Errorf("normalizePath(%q) = %q, %v; fast path gave %q", tt.in, slow, err, got)
		}
		checkNormalized(t, tt.in, got)
	}
}

func TestNormalizePathReasons(t *testing.T) {
	for in, reason := range map[string]string{
		"/a%2fb":     "encoded slash",
		"/..":        "climbs above the root",
		"/..;/x":     `";" in a dot segment`,
		"/a%2541":    "double percent-encoding",
		"/a%zz":      "invalid percent escape",
		"/a%00":      "encoded control character (%00)",
		"relative":   `must start with "/"`,
		"/a\\b":      "backslash",
		"/a%5c":      "encoded backslash",
		"/a#frag":    `"#"`,
		"/a\x01":     "control character (0x01)",
		"/x/y/?q=1":  `"?"`,
		"/a/%2e%2e;": `";" in a dot segment`,
	} {
		_, err := NormalizePath(in)
		if err == nil || !strings.Contains(err.Error(), reason) {
			t.Errorf("NormalizePath(%q) error = %v, want reason %q", in, err, reason)
		}
	}
}

// checkNormalized asserts the properties every output of NormalizePath has.
func checkNormalized(t *testing.T, in, out string) {
	t.Helper()
	again, err := NormalizePath(out)
	if err != nil || again != out {
		t.Errorf("NormalizePath(%q) = %q, but normalising that again gives %q, %v", in, out, again, err)
	}
	if out == "" || out[0] != '/' {
		t.Errorf("NormalizePath(%q) = %q does not start with /", in, out)
	}
	for _, bad := range []string{"//", "/./", "/../", "\\"} {
		if strings.Contains(out, bad) {
			t.Errorf("NormalizePath(%q) = %q contains %q", in, out, bad)
		}
	}
	if strings.HasSuffix(out, "/.") || strings.HasSuffix(out, "/..") {
		t.Errorf("NormalizePath(%q) = %q ends in a dot segment", in, out)
	}
	for i := 0; i < len(out); i++ {
		if c := out[i]; c < 0x21 || c >= 0x7f {
			t.Errorf("NormalizePath(%q) = %q contains byte 0x%02x", in, out, c)
		}
	}
	dec, err := url.PathUnescape(out)
	if err != nil {
		t.Errorf("url.PathUnescape(%q): %v", out, err)
	}
	for i := 0; i < len(dec); i++ {
		if c := dec[i]; c < 0x20 || c == 0x7f || c == '\\' {
			t.Errorf("NormalizePath(%q) = %q decodes to byte 0x%02x", in, out, c)
		}
	}
	if strings.Count(dec, "/") != strings.Count(out, "/") {
		t.Errorf("NormalizePath(%q) = %q: decoding changes the segment structure", in, out)
	}
	// Net/url agrees on the path: the origin sees the segments we matched on.
	u, err := url.Parse("http://h" + out)
	if err != nil {
		t.Errorf("url.Parse(%q): %v", out, err)
	} else if u.Path != dec {
		t.Errorf("net/url reads %q as %q (escaped %q)", out, u.Path, u.EscapedPath())
	}
}

func FuzzNormalizePath(f *testing.F) {
	for _, tt := range normalizeTests {
		f.Add(tt.in)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, err := NormalizePath(in)
		if slow, slowErr := normalizePath(in); slow != out || (slowErr == nil) != (err == nil) {
			t.Fatalf("NormalizePath(%q) = %q, %v; the slow path gives %q, %v", in, out, err, slow, slowErr)
		}
		if err != nil {
			if !errors.Is(err, ErrAmbiguousPath) {
				t.Fatalf("NormalizePath(%q) error %v does not wrap ErrAmbiguousPath", in, err)
			}
			return
		}
		checkNormalized(t, in, out)
	})
}

func BenchmarkNormalizePath(b *testing.B) {
	for _, in := range []string{"/api/v1/users/42/profile", "/static/js/app.min.js", "/a/./b/../c//d/%7Euser/%c3%a9", "/docs/caf%C3%A9/r%C3%A9sum%C3%A9.pdf"} {
		b.Run(in, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := NormalizePath(in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
