package route

import (
	"errors"
	"strings"
	"testing"
)

// patternTests is also part of the seed corpus of FuzzMatch. reason "" means valid.
var patternTests = []struct {
	uri, norm, reason string
}{
	{"example.com", "example.com", ""},
	{"example.com/", "example.com", ""},
	{"example.com/*", "example.com", ""},
	{"*.example.com", "*.example.com", ""},
	{"*test.example.com", "*test.example.com", ""},
	{"a*b.example.com", "a*b.example.com", ""},
	{"*.*.example.com", "*.*.example.com", ""},
	{"app.*", "app.*", ""},
	{"localhost", "localhost", ""},
	{"10.0.0.1", "10.0.0.1", ""},
	{"xn--bcher-kva.example", "xn--bcher-kva.example", ""},
	{"example.com/alpha/*", "example.com/alpha/*", ""},
	{"example.com/foo*/bar", "example.com/foo*/bar", ""},
	{"example.com/Admin", "example.com/admin", ""},
	{"example.com/eng/", "example.com/eng/", ""},
	{"example.com/*/x/*", "example.com/*/x/*", ""},
	{"example.com/v1:batch", "example.com/v1:batch", ""},
	{"example.com/@me/~x_y-z.html", "example.com/@me/~x_y-z.html", ""},
	{"example.com/a=c,d+e!$&'()", "example.com/a=c,d+e!$&'()", ""},
	{"example.com/a;b=c", "", `";" is not allowed`},
	{"example.com/*/", "example.com", ""},
	{"example.com/docs/*/edit/", "example.com/docs/*/edit/", ""},

	{"", "", "empty"},
	{"https://example.com", "", "scheme"},
	{"example.com:8080", "", "ports are not supported"},
	{"example.com:8080/x", "", "ports are not supported"},
	{"user@example.com", "", "userinfo"},
	{"example.com/x@y", "example.com/x@y", ""},
	{"example.com/?q=1", "", "query"},
	{"example.com/#frag", "", "fragment"},
	{"example.com/a b", "", "whitespace"},
	{" example.com", "", "whitespace"},
	{"example.com/a\tb", "", "whitespace"},
	{"example.com/a\x00", "", "control"},
	{"example.com\\admin", "", "backslash"},
	{"example.com/%2e%2e", "", "percent-encoding"},
	{"example.com/caf\u00e9", "", "non-ASCII"},
	{"Example.com", "", "lower-case"},
	{"ex_ample.com", "", `'_'`},
	{"[::1]", "", "IPv6"},
	{"/admin", "", "host is missing"},
	{"example.com.", "", "end with a dot"},
	{".example.com", "", "empty label"},
	{"a..example.com", "", "empty label"},
	{"**.example.com", "", "more than one *"},
	{"a*b*.example.com", "", "more than one *"},
	{"*", "", "at least one literal"},
	{"*.*", "", "at least one literal"},
	{strings.Repeat("a", 64) + ".com", "", "longer than 63"},
	{strings.Repeat("a.", 127) + "com", "", "longer than 253"},
	{"example.com/a//b", "", "empty segment"},
	{"example.com//", "", "empty segment"},
	{"example.com/a/../b", "", "dot segment"},
	{"example.com/./b", "", "dot segment"},
	{"example.com/a**", "", "more than one *"},
	{"example.com/*a*/b", "", "more than one *"},
	{"example.com/a\"b", "", `'"'`},
	{"example.com/a<b>", "", `'<'`},
	{"example.com/{x}", "", `'{'`},
}

func TestValidatePattern(t *testing.T) {
	for _, tt := range patternTests {
		err := ValidatePattern(tt.uri)
		p, _ := parsePattern(tt.uri)
		switch {
		case tt.reason == "" && err != nil:
			t.Errorf("ValidatePattern(%q) = %v, want nil", tt.uri, err)
		case tt.reason == "" && p.key != tt.norm:
			t.Errorf("pattern %q normalises to %q, want %q", tt.uri, p.key, tt.norm)
		case tt.reason != "" && err == nil:
			t.Errorf("ValidatePattern(%q) = nil, want error containing %q", tt.uri, tt.reason)
		case tt.reason != "" && !strings.Contains(err.Error(), tt.reason):
			t.Errorf("ValidatePattern(%q) = %v, want error containing %q", tt.uri, err, tt.reason)
		case err != nil && !errors.Is(err, ErrInvalidPattern):
			t.Errorf("ValidatePattern(%q) = %v, does not wrap ErrInvalidPattern", tt.uri, err)
		}
	}
}
