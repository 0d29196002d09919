// Package wire owns the names Gatehouse puts on the wire (headers, cookies, endpoint paths) for
// its two profiles: "gatehouse" (default) and "cloudflare" (drop-in for origins and tools written
// for Cloudflare Access). Nothing else in the code base spells these names.
package wire

import (
	"strings"
)

// Profile is one set of wire names.
type Profile struct {
	Name string
	// Prefix is the endpoint prefix on app and auth hosts, with leading and trailing slash.
	Prefix string
	// JWTHeader carries the app JWT to the origin.
	JWTHeader string
	// EmailHeader carries the user's e-mail to the origin.
	EmailHeader string
	// Cookie is the session cookie name on the auth domain and on app hosts.
	Cookie string
	// ClientIDHeader and ClientSecretHeader carry service-token credentials.
	ClientIDHeader     string
	ClientSecretHeader string
	// TokenHeader lets non-browser clients present an app token (cloudflared's cf-access-token).
	TokenHeader string
	// ClientIPHeader and CountryHeader, when set, carry the resolved client address and its
	// ISO 3166-1 alpha-2 country ("XX" when unknown) to the origin, as Cloudflare's edge does
	// with CF-Connecting-IP and CF-IPCountry. The gatehouse profile sends X-Forwarded-For only.
	ClientIPHeader string
	CountryHeader  string
}

// The two profiles.
var (
	Gatehouse = &Profile{
		Name:               "gatehouse",
		Prefix:             "/.gatehouse/",
		JWTHeader:          "Gatehouse-Jwt-Assertion",
		EmailHeader:        "Gatehouse-Authenticated-User-Email",
		Cookie:             "Gatehouse_Authorization",
		ClientIDHeader:     "Gatehouse-Client-Id",
		ClientSecretHeader: "Gatehouse-Client-Secret",
		TokenHeader:        "Gatehouse-Access-Token",
	}
	Cloudflare = &Profile{
		Name:               "cloudflare",
		Prefix:             "/cdn-cgi/access/",
		JWTHeader:          "Cf-Access-Jwt-Assertion",
		EmailHeader:        "Cf-Access-Authenticated-User-Email",
		Cookie:             "CF_Authorization",
		ClientIDHeader:     "CF-Access-Client-Id",
		ClientSecretHeader: "CF-Access-Client-Secret",
		TokenHeader:        "Cf-Access-Token",
		ClientIPHeader:     "Cf-Connecting-Ip",
		CountryHeader:      "Cf-Ipcountry",
	}
)

// ByName returns the profile with the given name; "" means gatehouse. ok is false for unknown names.
func ByName(name string) (p *Profile, ok bool) {
	switch name {
	case "", Gatehouse.Name:
		return Gatehouse, true
	case Cloudflare.Name:
		return Cloudflare, true
	}
	return nil, false
}

// Endpoint names under Prefix.
const (
	EndpointCerts       = "certs"
	EndpointGetIdentity = "get-identity"
	EndpointLogout      = "logout"
	EndpointLogin       = "login"
	EndpointCallback    = "callback"
	EndpointAuthorized  = "authorized"
	EndpointPIN         = "pin"
	// EndpointBind (app hosts) confirms that the browser about to log in holds the app host's
	// login nonce before the auth domain continues (Gatehouse's own; not part of Cloudflare's API).
	EndpointBind = "bind"
)

// Path returns Prefix + endpoint.
func (p *Profile) Path(endpoint string) string { return p.Prefix + endpoint }

// HostPrefix is the cookie name prefix that makes a browser refuse the cookie unless it is
// Secure, host-only (no Domain) and for Path=/ (RFC 6265bis): a sibling subdomain can neither
// set nor overwrite it, so such a cookie cannot be tossed into another host's jar.
const HostPrefix = "__Host-"

// OrgCookie is the name of the org (global) session cookie on the auth domain. No origin ever
// sees it, so both profiles take the __Host- prefix when the listener is HTTPS (secure).
func (p *Profile) OrgCookie(secure bool) string { return hostPrefixed(p.Cookie, secure) }

// AppCookie is the name of the session cookie on an application's host. The gatehouse profile
// takes the __Host- prefix when secure; the cloudflare profile keeps CF_Authorization, the name
// origins and Cloudflare's tools read, and with it Cloudflare's exposure to cookie tossing from
// sibling subdomains (docs/origins.md).
func (p *Profile) AppCookie(secure bool) string {
	if p == Cloudflare {
		return p.Cookie
	}
	return hostPrefixed(p.Cookie, secure)
}

// FlowCookie is the name prefix of the cookies binding a login flow to the browser that started
// it, on the auth domain (Gatehouse's own: __Host- when secure, in both profiles).
func (p *Profile) FlowCookie(secure bool) string {
	if p == Cloudflare {
		return hostPrefixed("CF_Session", secure)
	}
	return hostPrefixed("Gatehouse_Session", secure)
}

// AppFlowCookie binds the hand-off on the app host to the browser that was redirected away
// (Gatehouse's own: __Host- when secure, in both profiles).
func (p *Profile) AppFlowCookie(secure bool) string {
	if p == Cloudflare {
		return hostPrefixed("CF_AppSession", secure)
	}
	return hostPrefixed("Gatehouse_AppSession", secure)
}

func hostPrefixed(name string, secure bool) string {
	if secure {
		return HostPrefix + name
	}
	return name
}

// reservedHeaders are the folded names of the identity headers of both profiles.
var reservedHeaders = func() map[string]bool {
	m := map[string]bool{}
	for _, p := range []*Profile{Gatehouse, Cloudflare} {
		for _, h := range []string{p.JWTHeader, p.EmailHeader, p.ClientIDHeader, p.ClientSecretHeader, p.TokenHeader} {
			m[FoldHeader(h)] = true
		}
	}
	return m
}()

// IsReserved reports whether a header name is (a case or punctuation variant of) an identity
// header of either profile, or starts with a reserved prefix ("Cf-Access-", "Gatehouse-"). Every
// reserved header is in ClientHeaders.
func IsReserved(name string) bool {
	f := FoldHeader(name)
	if reservedHeaders[f] {
		return true
	}
	return strings.HasPrefix(f, "cf-access-") || strings.HasPrefix(f, "gatehouse-")
}

// FoldHeader returns the form in which two header names that differ only in case or punctuation
// are equal: ASCII letters lower-cased, digits kept, every other character turned into '-'.
// "X_Real_IP", "x.real-ip" and "X-Real-Ip" all fold to "x-real-ip": CGI gateways (PHP, Apache)
// and many frameworks read them as one header.
func FoldHeader(name string) string {
	b := make([]byte, len(name))
	for i := 0; i < len(name); i++ {
		b[i] = foldByte(name[i])
	}
	return string(b)
}
