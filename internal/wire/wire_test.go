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
		"Gatehouse-Access-Token", "Cf-Access-Anything-New",
	} {
		if !IsReserved(h) {
			t.Errorf("%q is not reserved", h)
		}
	}
	for _, h := range []string{"Authorization", "X-Forwarded-For", "Cookie", "Cf-Ray", "Gatehousex"} {
		if IsReserved(h) {
			t.Errorf("%q is reserved", h)
		}
	}
}

func TestStripReserved(t *testing.T) {
	h := http.Header{}
	h.Set("Gatehouse-Jwt-Assertion", "x")
	h["gatehouse_authenticated_user_email"] = []string{"x"}
	h.Set("Connection", "keep-alive, Cf-Access-Jwt-Assertion")
	h.Set("Accept", "text/html")
	StripReserved(h)
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
