package httpx

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
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
	{"/a%20b", "/a%20b"},
	{"/%20x", ""},
	{"/%3B/x", ""},
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
	{"/a/..../b", ""},
	{"/a/.b/..c/c..", ""},
	{"/a/.b/..c/c", "/a/.b/..c/c"},
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
	{"/a/...;/b", ""},
	{"/a/;/b", "/a/;/b"},
	{"/a/b;..", ""},
	{"/a/b;x=1/c", "/a/b;x=1/c"},

	// Forms origins serve as another path: encoded ";", trailing dots and spaces, Windows names.
	{"/admin%3bx", ""},
	{"/admin%3B/x", ""},
	{"/admin%20", ""},
	{"/admin%20/x", ""},
	{"/%20admin", ""},
	{"/admin.", ""},
	{"/admin./x", ""},
	{"/admin%2e", ""},
	{"/admin%2E/x", ""},
	{"/admin...", ""},
	{"/admin.%20", ""},
	{"/admin%20.", ""},
	{"/admin.;x", ""},
	{"/admin;x.", ""},
	{"/admin;%20", ""},
	{"/x/admin./../y", ""},
	{"/admin.json", "/admin.json"},
	{"/v1.2/x", "/v1.2/x"},
	{"/a%20b/c", "/a%20b/c"},
	{"/admin::$DATA", ""},
	{"/admin::$data/x", ""},
	{"/admin:$I30:$INDEX_ALLOCATION/x", ""},
	{"/admin%3a%3a$DATA", ""},
	{"/v1/x:batchGet", "/v1/x:batchGet"},
	{"/a:b$c", "/a:b$c"},
	{"/ADMINI~1", ""},
	{"/admini~1/x", ""},
	{"/ADMINI~1.HTM", ""},
	{"/AB~12345", ""},
	{"/a~1.txt", ""},
	{"/~user/x", "/~user/x"},
	{"/a~b", "/a~b"},
	{"/abcdefg~1", "/abcdefg~1"},
	{"/ab~123456", "/ab~123456"},
	{"/a~1.html", "/a~1.html"},
	{"/a~1x", "/a~1x"},
	{"/v1~2/x", ""},

	// Invalid and overlong UTF-8, and characters that map to ASCII, look-alikes, invisibles.
	{"/public/%c0%ae%c0%ae/admin", ""},
	{"/%c0%af", ""},
	{"/%e0%80%ae", ""},
	{"/%f0%80%80%ae", ""},
	{"/%c0%80", ""},
	{"/%ed%a0%80", ""},
	{"/%f4%90%80%80", ""},
	{"/caf%e9", ""},
	{"/%ff", ""},
	{"/%c3", ""},
	{"/public/%e2%80%a4%e2%80%a4/admin", ""},
	{"/public/%ef%bc%8e%ef%bc%8e/admin", ""},
	{"/public/%ef%b9%92/admin", ""},
	{"/public%e2%88%95admin", ""},
	{"/public%ef%bc%8fadmin", ""},
	{"/public%e2%81%84admin", ""},
	{"/public%e2%88%96admin", ""},
	{"/public%ef%bc%bcadmin", ""},
	{"/public%c2%a5admin", ""},
	{"/a%e3%80%82b", ""},
	{"/%ef%bd%81dmin", ""},
	{"/%e2%84%aaey", ""},
	{"/adm%c4%b1n", ""},
	{"/%c4%b0ndex", ""},
	{"/%c5%bfecret", ""},
	{"/pro%ef%ac%81le", ""},
	{"/x%c2%b2", ""},
	{"/adm%e2%80%8bin", ""},
	{"/adm%c2%adin", ""},
	{"/admin%ef%bb%bf", ""},
	{"/admin%ef%b8%8f", ""},
	{"/admin%c2%a0", ""},
	{"/a%e3%80%80b", ""},
	{"/a%c2%85b", ""},
	{"/a%ef%bf%bf", ""},
	{"/caf%C3%A9/r%C3%A9sum%C3%A9", "/caf%C3%A9/r%C3%A9sum%C3%A9"},
	{"/%E6%97%A5%E6%9C%AC%E8%AA%9E", "/%E6%97%A5%E6%9C%AC%E8%AA%9E"},
	{"/%EF%BD%B6%EF%BE%80%EF%BD%B6%EF%BE%85", "/%EF%BD%B6%EF%BE%80%EF%BD%B6%EF%BE%85"},
	{"/%D0%BF%D1%80%D0%B8%D0%B2%D0%B5%D1%82", "/%D0%BF%D1%80%D0%B8%D0%B2%D0%B5%D1%82"},
	{"/cafe%CC%81", "/cafe%CC%81"},
	{"/%E2%84%AB", "/%E2%84%AB"},
	{"/%F0%9F%98%80", "/%F0%9F%98%80"},

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
		"/admin%3bx": "encoded semicolon",
		"/admin.":    "ends with a dot",
		"/admin%20":  "space",
		"/ADMINI~1":  "short (8.3)",
		"/a::$DATA":  "NTFS stream",
		"/%c0%ae":    "invalid UTF-8",
		"/%e2%80%a4": "U+2024",
		"/%e2%88%95": "slash look-alike",
		"/%e2%84%aa": "U+212A",
		"/%c4%b1":    "case mapping",
		"/%e2%80%8b": "invisible",
		"/%c2%a0":    "white space",
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
	if !utf8.ValidString(dec) {
		t.Errorf("NormalizePath(%q) = %q is not UTF-8 once decoded", in, out)
	}
	if strings.Contains(out, "%3B") || strings.Contains(dec, ":$") {
		t.Errorf("NormalizePath(%q) = %q holds %%3B or :$", in, out)
	}
	for seg := range strings.SplitSeq(dec[1:], "/") {
		name, _, _ := strings.Cut(seg, ";")
		for _, part := range []string{seg, name} {
			if part != "" && (strings.HasSuffix(part, ".") || strings.HasSuffix(part, " ") || strings.HasPrefix(part, " ")) {
				t.Errorf("NormalizePath(%q) = %q has segment %q", in, out, seg)
			}
		}
		for _, r := range seg {
			if r < utf8.RuneSelf {
				continue
			}
			// Independent of forbiddenRune: no character of the output becomes ASCII under
			// NFKC or case mapping, or is white space or invisible.
			if n := norm.NFKC.String(string(r)); strings.ContainsFunc(n, func(c rune) bool { return c < utf8.RuneSelf }) ||
				unicode.ToUpper(r) < utf8.RuneSelf || unicode.ToLower(r) < utf8.RuneSelf ||
				unicode.IsSpace(r) || unicode.Is(unicode.Cf, r) {
				t.Errorf("NormalizePath(%q) = %q has U+%04X", in, out, r)
			}
		}
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
