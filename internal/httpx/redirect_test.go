package httpx

import (
	"net/url"
	"strings"
	"testing"
)

const testHost = "app.example.com"

// redirectTests is modelled on oauth2-proxy's redirect validator table and its open-redirect
// corpus, for a single allowed host. It is also the seed corpus of FuzzSafeRedirect. host ""
// means testHost; want "" means rejected.
var redirectTests = []struct {
	name, target, host, want string
}{
	{"empty", "", "", ""},
	{"root", "/", "", "/"},
	{"single slash", "/redirect", "", "/redirect"},
	{"query and fragment", "/a/b?x=1&y=%2F#frag", "", "/a/b?x=1&y=%2F#frag"},
	{"query with URL", "/?next=https://evil.com/", "", "/?next=https://evil.com/"},
	{"fragment with slashes", "/#//evil.com", "", "/#//evil.com"},
	{"escapes canonicalised", "/%7euser/caf%c3%a9", "", "/~user/caf%C3%A9"},
	{"encoded space", "/a%20b?q=a%20b", "", "/a%20b?q=a%20b"},
	{"trailing slash", "/docs/", "", "/docs/"},
	{"path looks like URL", "/http:/evil.com", "", "/http:/evil.com"},
	{"at sign in path", "/@evil.com", "", "/@evil.com"},

	{"double slash", "//redirect", "", ""},
	{"double slash host", "//evil.com", "", ""},
	{"triple slash", "///evil.com", "", ""},
	{"double slash later", "/a//evil.com", "", ""},
	{"URL in path", "/https://evil.com", "", ""},
	{"escape double slash", "/\\evil.com", "", ""},
	{"backslash later", "/a\\b", "", ""},
	{"backslash slash", "\\/evil.com", "", ""},
	{"backslashes", "\\\\evil.com", "", ""},
	{"space single slash", "/ /evil.com", "", ""},
	{"space backslash", "/ \\evil.com", "", ""},
	{"tab single slash", "/\t/evil.com", "", ""},
	{"tab backslash", "/\t\\evil.com", "", ""},
	{"vertical tab", "/\v/evil.com", "", ""},
	{"newline", "/\n/evil.com", "", ""},
	{"carriage return", "/\r/evil.com", "", ""},
	{"double tab", "/\t/\t\\evil.com", "", ""},
	{"NUL", "/\x00/evil.com", "", ""},
	{"leading space", " /a", "", ""},
	{"trailing space", "/a ", "", ""},
	{"encoded tab", "/%09/evil.com", "", ""},
	{"encoded tab userinfo", "/%09/app.example.com@evil.com", "", ""},
	{"encoded newline", "/%0a/evil.com", "", ""},
	{"encoded CR", "/%0D/evil.com", "", ""},
	{"encoded NUL", "/%00", "", ""},
	{"encoded control in query", "/a?x=%0d%0aSet-Cookie:x", "", ""},
	{"encoded control in fragment", "/a#%00", "", ""},
	{"invalid escape in query", "/a?x=%zz", "", ""},
	{"encoded slashes", "/%2f%2fevil.com", "", ""},
	{"encoded backslash", "/%5cevil.com", "", ""},
	{"encoded slash backslash", "/%2f%5c%2f%67%6f%6f%67%6c%65%2e%63%6f%6d/", "", ""},
	{"dot then backslash", "/./\\evil.com", "", ""},
	{"dot segments backslash", "/./../../\\evil.com", "", ""},
	{"dot segment", "/./evil.com", "", ""},
	{"dot dot segment", "/a/../b", "", ""},
	{"encoded dot segment", "/%2e/evil.com", "", ""},
	{"encoded dot dot", "/a/%2E%2e/b", "", ""},
	{"dot double slash", "/.//evil.com", "", ""},
	{"tomcat", "/..;/evil", "", ""},
	{"double encoded", "/%252f%252fevil.com", "", ""},
	{"non-ASCII", "/caf\xc3\xa9", "", ""},
	{"ideographic full stop", "//evil\u3002com", "", ""},
	{"relative without slash", "redirect", "", ""},
	{"missing protocol", "app.example.com/redirect", "", ""},
	{"dot relative", "./evil.com", "", ""},
	{"at evil", "@evil.com", "", ""},
	{"angle brackets", "<>//evil.com", "", ""},

	{"valid https", "https://app.example.com/redirect", "", "https://app.example.com/redirect"},
	{"valid http", "http://app.example.com/redirect", "", "http://app.example.com/redirect"},
	{"no path", "https://app.example.com", "", "https://app.example.com/"},
	{"no path query", "https://app.example.com?x=1", "", "https://app.example.com/?x=1"},
	{"upper case", "HTTPS://App.Example.COM/Path", "", "https://app.example.com/Path"},
	{"absolute dot segment", "https://app.example.com/a/../b", "", ""},
	{"absolute double slash", "https://app.example.com//evil.com", "", ""},
	{"absolute backslash", "https://app.example.com\\@evil.com", "", ""},
	{"absolute encoded backslash", "https://app.example.com/%5c", "", ""},
	{"subdomain", "https://evil.app.example.com/", "", ""},
	{"parent domain", "https://example.com/", "", ""},
	{"similar domain", "https://app.example.com.evil.com/", "", ""},
	{"trailing dot", "https://app.example.com./", "", ""},
	{"rd parameter", "https://evil.com/redirect?rd=app.example.com", "", ""},
	{"userinfo", "https://evil.com@app.example.com/", "", ""},
	{"userinfo reversed", "https://app.example.com@evil.com/", "", ""},
	{"empty userinfo", "https://@app.example.com/", "", ""},
	{"userinfo with port", "https://app.example.com:443@evil.com/", "", ""},
	{"encoded at", "https://app.example.com%40evil.com/", "", ""},
	{"encoded dot in host", "https://app.example.com%2eevil.com/", "", ""},
	{"encoded hash in host", "https://evil.com%23.app.example.com/", "", ""},
	{"hash before at", "https://evil.com#@app.example.com/", "", ""},
	{"query before at", "https://evil.com?@app.example.com/", "", ""},
	{"port with hash", "http://evil.com:80#@app.example.com/", "", ""},
	{"encoded tab in authority", "https://app.example.com%09.evil.com/", "", ""},
	{"encoded NUL in authority", "https://evil%00.com/", "", ""},
	{"tab in scheme", "ht\ttps://evil.com", "", ""},
	{"empty host", "https:///app.example.com", "", ""},
	{"empty host path", "https:///evil.com/%2e%2e", "", ""},
	{"one slash", "https:/app.example.com", "", ""},
	{"no slashes", "https:app.example.com", "", ""},
	{"unexpected port", "https://app.example.com:8443/", "", ""},
	{"default port spelled", "https://app.example.com:443/", "", ""},
	{"empty port", "https://app.example.com:/", "", ""},
	{"scheme-relative allowed host", "//app.example.com/", "", ""},
	{"ftp", "ftp://app.example.com/", "", ""},
	{"javascript", "javascript:alert(1)", "", ""},
	{"javascript mixed case", "JaVaScRiPt:alert(1)", "", ""},
	{"javascript after slash", "/%09/javascript:alert(1)", "", ""},
	{"javascript path", "/javascript:alert(1)", "", "/javascript:alert(1)"},
	{"data", "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==", "", ""},
	{"vbscript", "vbscript:msgbox(1)", "", ""},
	{"IP literal", "http://3627734734/", "", ""},
	{"IPv6 literal", "http://[::ffff:216.58.214.206]/", "", ""},

	{"port matches", "https://app.example.com:8443/x", "app.example.com:8443", "https://app.example.com:8443/x"},
	{"port missing", "https://app.example.com/x", "app.example.com:8443", ""},
	{"port differs", "https://app.example.com:8444/x", "app.example.com:8443", ""},
	{"relative with port host", "/x", "app.example.com:8443", "/x"},
	{"upper-case allowed host", "https://app.example.com/", "APP.Example.com", "https://app.example.com/"},
	{"IPv6 allowed host", "http://[::1]:8080/x", "[::1]:8080", "http://[::1]:8080/x"},
	{"bad allowed host", "https://a@b/", "a@b", ""},
	{"empty allowed host", "/x", "-", ""},
}

func TestSafeRedirect(t *testing.T) {
	for _, tt := range redirectTests {
		t.Run(tt.name, func(t *testing.T) {
			host := tt.host
			switch host {
			case "":
				host = testHost
			case "-":
				host = ""
			}
			got, ok := SafeRedirect(tt.target, host)
			if want := tt.want != ""; ok != want || got != tt.want {
				t.Fatalf("SafeRedirect(%q, %q) = %q, %v; want %q, %v", tt.target, host, got, ok, tt.want, want)
			}
			if ok {
				checkSameOrigin(t, tt.target, got, host)
			}
		})
	}
}

// checkSameOrigin asserts that an accepted redirect, resolved the way a browser would resolve a
// Location header on a page of allowedHost, stays on allowedHost.
func checkSameOrigin(t *testing.T, target, got, allowedHost string) {
	t.Helper()
	base, err := url.Parse("https://" + allowedHost + "/some/page")
	if err != nil {
		return // not a host url.Parse accepts; nothing to compare with
	}
	ref, err := url.Parse(got)
	if err != nil {
		t.Fatalf("SafeRedirect(%q) = %q, which url.Parse rejects: %v", target, got, err)
	}
	res := base.ResolveReference(ref)
	if !strings.EqualFold(res.Host, allowedHost) {
		t.Fatalf("SafeRedirect(%q) = %q resolves to host %q, want %q", target, got, res.Host, allowedHost)
	}
	if res.User != nil || res.Opaque != "" {
		t.Fatalf("SafeRedirect(%q) = %q resolves to %#v", target, got, res)
	}
	if res.Scheme != "https" && res.Scheme != "http" {
		t.Fatalf("SafeRedirect(%q) = %q resolves to scheme %q", target, got, res.Scheme)
	}
	// Browsers drop tabs and newlines and read "\" as "/" in http(s) URLs; none may remain.
	if strings.ContainsAny(got, "\\\t\r\n ") {
		t.Fatalf("SafeRedirect(%q) = %q contains a backslash or whitespace", target, got)
	}
	if strings.HasPrefix(got, "//") {
		t.Fatalf("SafeRedirect(%q) = %q is scheme-relative", target, got)
	}
	// Idempotent: the cleaned target is itself acceptable and stable.
	if again, ok := SafeRedirect(got, allowedHost); !ok || again != got {
		t.Fatalf("SafeRedirect(%q) = %q, but again gives %q, %v", target, got, again, ok)
	}
}

func FuzzSafeRedirect(f *testing.F) {
	for _, tt := range redirectTests {
		f.Add(tt.target, tt.host)
	}
	f.Fuzz(func(t *testing.T, target, host string) {
		if host == "" || host == "-" {
			host = testHost
		}
		got, ok := SafeRedirect(target, host)
		if !ok {
			if got != "" {
				t.Fatalf("SafeRedirect(%q, %q) rejected but returned %q", target, host, got)
			}
			return
		}
		checkSameOrigin(t, target, got, host)
	})
}
