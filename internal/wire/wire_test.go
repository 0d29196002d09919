package wire

import (
	"net/http"
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
