package wire

import (
	"net/http"
	"strings"
	"testing"
)

func TestIsReserved(t *testing.T) {
	for _, h := range []string{
		"Gatehouse-Jwt-Assertion", "gatehouse_jwt_assertion", "GATEHOUSE-AUTHENTICATED-USER-EMAIL",
		"Cf-Access-Jwt-Assertion", "cf_access_jwt_assertion", "CF-Access-Client-Secret", "Cf-Access-Token",
		"Gatehouse-Access-Token", "Cf-Access-Anything-New", "cf.access.token", "GATEHOUSE~X",
	} {
		if !IsReserved(h) {
			t.Errorf("%q is not reserved", h)
		}
	}
	for _, h := range []string{"Authorization", "X-Forwarded-For", "Cookie", "Cf-Ray", "Gatehousex", "Cf-Accessx"} {
		if IsReserved(h) {
			t.Errorf("%q is reserved", h)
		}
	}
}

func TestStripReserved(t *testing.T) {
	h := http.Header{}
	h.Set("Gatehouse-Jwt-Assertion", "x")
	h["gatehouse_authenticated_user_email"] = []string{"x"}
	h["Cf.Access.Jwt.Assertion"] = []string{"x"}
	h.Set("Accept", "text/html")
	ClientHeaders.Strip(h, nil)
	if len(h) != 1 || h.Get("Accept") != "text/html" {
		t.Errorf("after strip: %v", h)
	}
}

func TestProfiles(t *testing.T) {
	if p, ok := ByName(""); !ok || p != Gatehouse {
		t.Error("default profile")
	}
	if p, ok := ByName("cloudflare"); !ok || p.Path(EndpointCerts) != "/cdn-cgi/access/certs" || p.Cookie != "CF_Authorization" {
		t.Error("cloudflare profile")
	}
	if _, ok := ByName("nginx"); ok {
		t.Error("unknown profile accepted")
	}
}

// TestCookieNames: on HTTPS every cookie Gatehouse names itself is a __Host- cookie; only the
// cloudflare profile's app cookie keeps Cloudflare's name. On plain HTTP (the prefix needs
// Secure) the names are the historical ones.
func TestCookieNames(t *testing.T) {
	for _, p := range []*Profile{Gatehouse, Cloudflare} {
		for _, name := range []string{p.OrgCookie(true), p.FlowCookie(true), p.AppFlowCookie(true)} {
			if !strings.HasPrefix(name, HostPrefix) {
				t.Errorf("%s: %s is not a __Host- cookie", p.Name, name)
			}
		}
		for _, name := range []string{p.OrgCookie(false), p.AppCookie(false), p.FlowCookie(false), p.AppFlowCookie(false)} {
			if strings.HasPrefix(name, HostPrefix) {
				t.Errorf("%s: %s has the __Host- prefix without Secure", p.Name, name)
			}
		}
	}
	if got := Gatehouse.AppCookie(true); got != "__Host-Gatehouse_Authorization" {
		t.Errorf("gatehouse app cookie = %q", got)
	}
	if got := Cloudflare.AppCookie(true); got != "CF_Authorization" {
		t.Errorf("cloudflare app cookie = %q (origins and Cloudflare's tools read CF_Authorization)", got)
	}
	if Gatehouse.OrgCookie(false) != "Gatehouse_Authorization" || Cloudflare.OrgCookie(false) != "CF_Authorization" {
		t.Error("plain-HTTP names changed")
	}
}

// browserHeaders are the request headers of a typical browser navigation with a session cookie,
// as the proxy's rewrite step sees them.
func browserHeaders() http.Header {
	return http.Header{
		"Accept":                    {"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"},
		"Accept-Encoding":           {"gzip, deflate, br, zstd"},
		"Accept-Language":           {"en-GB,en;q=0.9"},
		"Cache-Control":             {"max-age=0"},
		"Cookie":                    {"Gatehouse_Authorization=eyJhbGciOi...; theme=dark"},
		"Priority":                  {"u=0, i"},
		"Referer":                   {"https://app.example.com/dashboard"},
		"Sec-Ch-Ua":                 {`"Chromium";v="131", "Not_A Brand";v="24"`},
		"Sec-Ch-Ua-Mobile":          {"?0"},
		"Sec-Ch-Ua-Platform":        {`"Linux"`},
		"Sec-Fetch-Dest":            {"document"},
		"Sec-Fetch-Mode":            {"navigate"},
		"Sec-Fetch-Site":            {"same-origin"},
		"Sec-Fetch-User":            {"?1"},
		"Upgrade-Insecure-Requests": {"1"},
		"User-Agent":                {"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"},
	}
}

// BenchmarkStripHeaders measures removing client copies of the headers Gatehouse and identity
// providers send to origins from a typical browser request (nothing to remove).
func BenchmarkStripHeaders(b *testing.B) {
	h := browserHeaders()
	idp := map[string]bool{"x-department": true}
	b.ReportAllocs()
	for b.Loop() {
		ClientHeaders.Strip(h, idp)
	}
	if len(h) != len(browserHeaders()) {
		b.Fatal("a header was removed")
	}
}
