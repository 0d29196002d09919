package wire

import (
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// strippedHeaders are client headers the review found reaching origins, and the families they
// stand for; every one of them, in any case or punctuation variant, is removed.
var strippedHeaders = []string{
	"X-Forwarded-Email", "X-Forwarded-User", "X-Forwarded-Groups", "X-Forwarded-Preferred-Username",
	"X-Forwarded-Access-Token", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto",
	"X-Forwarded-Port", "X-Forwarded-Prefix", "X-Forwarded-Server", "X-Forwarded-Client-Cert",
	"Forwarded", "X-Forwarded", "Remote-User", "Remote-Email", "Remote-Groups", "Remote-Name",
	"X-Auth-Request-User", "X-Auth-Request-Email", "X-Auth-Request-Access-Token",
	"X-Real-IP", "True-Client-IP", "CF-Connecting-IP", "Cf-Ipcountry", "Cf-Connecting-Ipv6", "Cf-Visitor",
	"X-Original-URL", "X-Rewrite-URL", "X-Original-Forwarded-For", "X-Client-IP", "X-Cluster-Client-IP",
	"Fastly-Client-IP", "X-Authenticated-User", "X-Remote-User", "X-Remote-Group", "X-Remote-Extra-Scopes",
	"X-User", "X-Email", "X-Goog-Authenticated-User-Email", "X-Goog-Iap-Jwt-Assertion",
	"X-MS-CLIENT-PRINCIPAL", "X-MS-CLIENT-PRINCIPAL-NAME", "X-MS-TOKEN-AAD-ID-TOKEN",
	"X-Amzn-Oidc-Data", "X-Amzn-Oidc-Identity", "Tailscale-User-Login", "X-Pomerium-Jwt-Assertion",
	"X-Pomerium-Claim-Email", "X-authentik-email", "Teleport-Jwt-Assertion", "OIDC_CLAIM_email",
	"OIDC_access_token", "MELLON_NAME_ID", "X-WEBAUTH-USER", "X-Jwt-Assertion", "Client-Cert",
	"X-SSL-Client-Cert", "X-Appengine-User-Email", "Cloudfront-Viewer-Address", "Gatehouse-Jwt-Assertion",
	"Cf-Access-Jwt-Assertion", "Gatehouse-Anything",
}

// keptHeaders are ordinary request headers that must reach origins.
var keptHeaders = []string{
	"Accept", "Accept-Language", "Authorization", "Cookie", "User-Agent", "Referer", "Origin",
	"Content-Type", "Sec-Fetch-Mode", "X-Requested-With", "X-Csrf-Token", "X-Request-Id", "Traceparent",
	"X-Auth-Token", "X-Api-Key", "X-Goog-Api-Key", "If-None-Match", "Range", "X-Userx", "Cfx-Id",
	"Remote", "X-Forwardedx", "X-Real", "Jwt-Assertion", "X-Emails",
}

func TestClientHeaders(t *testing.T) {
	for _, name := range strippedHeaders {
		for _, v := range []string{name, strings.ToLower(name), strings.ToUpper(name),
			strings.ReplaceAll(name, "-", "_"), strings.ReplaceAll(name, "-", "."), http.CanonicalHeaderKey(name)} {
			if !ClientHeaders.Has(v) {
				t.Errorf("%q is not stripped", v)
			}
		}
	}
	for _, name := range keptHeaders {
		if ClientHeaders.Has(name) {
			t.Errorf("%q is stripped", name)
		}
	}
	for _, name := range []string{"Gatehouse-Jwt-Assertion", "cf_access_token", "Cf-Access-New"} {
		if !IsReserved(name) || !ClientHeaders.Has(name) {
			t.Errorf("reserved header %q is not in ClientHeaders", name)
		}
	}
}

func TestHeaderSetStrip(t *testing.T) {
	h := http.Header{}
	for _, name := range strippedHeaders {
		h[name] = []string{"forged"}
	}
	for _, name := range keptHeaders {
		h[name] = []string{"kept"}
	}
	h["x_department"] = []string{"forged"}
	h[strings.Repeat("X-Long-", 40)+"Name"] = []string{"kept"}
	h[strings.Repeat("X-Long-", 40)+"Jwt-Assertion"] = []string{"forged"}
	set, err := ClientHeaders.With("X-Employee-Id", "X-Tenant-*")
	if err != nil {
		t.Fatal(err)
	}
	h["X_EMPLOYEE_ID"] = []string{"forged"}
	h["x-tenant-name"] = []string{"forged"}
	set.Strip(h, map[string]bool{"x-department": true})
	for name, v := range h {
		if v[0] != "kept" {
			t.Errorf("%q survived", name)
		}
	}
	if want := len(keptHeaders) + 1; len(h) != want {
		t.Errorf("%d headers kept, want %d: %v", len(h), want, h)
	}
	if ClientHeaders.Has("X-Employee-Id") {
		t.Error("With changed the receiver")
	}
}

func TestValidateHeaderPattern(t *testing.T) {
	for entry, problem := range map[string]string{
		"X-Employee-Id":     "",
		"x_tenant_*":        "",
		"X-Tenant-*":        "",
		"*-Signature":       "",
		"*_signature":       "",
		"":                  "empty",
		"*":                 `"*" is only allowed`,
		"-*":                "letter or digit",
		"X-*-Y":             `"*" is only allowed`,
		"X*":                `"*" is only allowed`,
		"*X":                `"*" is only allowed`,
		"X Y":               "byte 0x20",
		"X:Y":               `':'`,
		"Caf\u00e9":         "byte 0xC3",
		"Host":              "frames the request",
		"content_length":    "frames the request",
		"Transfer-*":        "Transfer-Encoding, which frames",
		"*-Encoding":        "Transfer-Encoding, which frames",
		"*-Length":          "Content-Length, which frames",
		"Proxy-*":           "Proxy-Connection",
		"Content-Language":  "",
		"Content-Type":      "",
		"X-Forwarded-For-*": "",
	} {
		err := ValidateHeaderPattern(entry)
		switch {
		case problem == "" && err != nil:
			t.Errorf("ValidateHeaderPattern(%q) = %v", entry, err)
		case problem != "" && (err == nil || !strings.Contains(err.Error(), problem)):
			t.Errorf("ValidateHeaderPattern(%q) = %v, want %q", entry, err, problem)
		case err != nil && !errors.Is(err, ErrHeaderPattern):
			t.Errorf("ValidateHeaderPattern(%q) = %v does not wrap ErrHeaderPattern", entry, err)
		}
	}
	if _, err := NewHeaderSet("X-Ok", "Host", "X*"); err == nil || !strings.Contains(err.Error(), "Host") || !strings.Contains(err.Error(), `"X*"`) {
		t.Errorf("NewHeaderSet error = %v, want both problems", err)
	}
}

func TestHeaderSetAllocs(t *testing.T) {
	h := browserHeaders()
	idp := map[string]bool{"x-department": true}
	if n := testing.AllocsPerRun(100, func() { ClientHeaders.Strip(h, idp) }); n != 0 {
		t.Errorf("Strip allocates %.0f times", n)
	}
}

// refHas is the reference model of HeaderSet.Has: fold with the standard library and compare
// with every entry.
func refHas(entries []string, name string) bool {
	fold := func(s string) string {
		return strings.Map(func(r rune) rune {
			switch {
			case r >= 'A' && r <= 'Z':
				return r + 32
			case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
				return r
			}
			return '-'
		}, s)
	}
	// Non-ASCII bytes fold to '-' one byte at a time in HeaderSet; strings.Map works on runes,
	// so compare on bytes.
	b := []byte(name)
	for i, c := range b {
		if c >= 0x80 {
			b[i] = '-'
		}
	}
	f := fold(string(b))
	for _, e := range entries {
		switch {
		case strings.HasSuffix(e, "*"):
			if p := fold(strings.TrimSuffix(e, "*")); strings.HasPrefix(f, p) && len(f) > 0 {
				return true
			}
		case strings.HasPrefix(e, "*"):
			if s := fold(strings.TrimPrefix(e, "*")); strings.HasSuffix(f, s) && len(f) > len(s) {
				return true
			}
		case fold(e) == f:
			return true
		}
	}
	return false
}

// FuzzHeaderSet checks HeaderSet.Has against refHas on arbitrary names, seeded with the built-in
// entries, the test names and their variants.
func FuzzHeaderSet(f *testing.F) {
	for _, e := range ClientHeaders.Entries() {
		f.Add(strings.ReplaceAll(e, "*", "Anything"))
		f.Add(strings.ReplaceAll(strings.ToLower(e), "-", "_"))
	}
	for _, n := range append(append([]string{}, strippedHeaders...), keptHeaders...) {
		f.Add(n)
	}
	entries := ClientHeaders.Entries()
	f.Fuzz(func(t *testing.T, name string) {
		if got, want := ClientHeaders.Has(name), refHas(entries, name); got != want {
			t.Fatalf("Has(%q) = %v, reference %v", name, got, want)
		}
	})
}

// TestClientHeadersDocumented checks that docs/origins.md names every built-in entry, so the
// list operators read is the list the proxy applies.
func TestClientHeadersDocumented(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "origins.md"))
	if err != nil {
		t.Fatal(err)
	}
	foldPattern := func(s string) string {
		return strings.Map(func(r rune) rune {
			if r == '*' {
				return r
			}
			return rune(foldByte(byte(r)))
		}, s)
	}
	documented := map[string]bool{}
	for _, m := range regexp.MustCompile("`([^`]+)`").FindAllStringSubmatch(string(doc), -1) {
		documented[foldPattern(m[1])] = true
	}
	for _, e := range clientHeaderNames {
		if !documented[foldPattern(e)] {
			t.Errorf("docs/origins.md does not name %q", e)
		}
	}
}
