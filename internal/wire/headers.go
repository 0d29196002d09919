package wire

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// clientHeaderNames are the request headers that identity-aware proxies, load balancers, CDNs and
// web servers set for the origins behind them, which trust them without question: who the user
// is, where the request came from, what the original request looked like. Gatehouse is the
// origin's only front door, so a client's copy of any of them is forged. The list is matched by
// FoldHeader; "X-*" covers a vendor's family of headers, "*-X" every name ending in -X.
//
// Gatehouse sets X-Forwarded-For, X-Forwarded-Host and X-Forwarded-Proto (and, in the cloudflare
// profile, Cf-Connecting-Ip and Cf-Ipcountry) after removing these, with its own values.
var clientHeaderNames = []string{
	// Client address and the original request: RFC 7239, the de-facto X-Forwarded-* family
	// (including X-Forwarded-User, -Email, -Groups, -Preferred-Username and -Access-Token from
	// oauth2-proxy and Traefik, -Prefix and -Port from Spring and Kubernetes ingresses, -Client-Cert
	// from Envoy), the names PHP and Java snippets read client addresses from, ingress-nginx and
	// IIS URL rewriting, and Envoy's internal headers, which it trusts from a trusted hop.
	"Forwarded", "Forwarded-For", "X-Forwarded", "X-Forwarded-*",
	"X-Real-Ip", "X-Client-Ip", "Client-Ip", "X-Cluster-Client-Ip", "True-Client-Ip", "X-Originating-Ip",
	"Proxy-Client-Ip", "Wl-Proxy-*", "X-Proxyuser-Ip", "X-Host", "X-Original-*", "X-Rewrite-Url",
	"X-Scheme", "X-Url-Scheme", "Front-End-Https", "X-Envoy-*",
	// CDNs and platforms: Cloudflare (Cf-Connecting-Ip, Cf-Ipcountry, Cf-Visitor, Cf-Access-*, ...),
	// Fastly, Amazon CloudFront, Azure Front Door, Akamai, Fly.io, Vercel, Netlify, Google App
	// Engine (X-Appengine-User-Email, -User-Ip, -Country, ...).
	"Cf-*", "Fastly-Client", "Fastly-Client-*", "Cloudfront-Viewer-*", "Cloudfront-Forwarded-Proto",
	"X-Azure-Clientip", "X-Azure-Socketip", "X-Akamai-Edgescape", "Fly-Client-Ip",
	"X-Vercel-Forwarded-For", "X-Vercel-Ip-*", "X-Nf-Client-Connection-Ip", "X-Appengine-*",
	"X-Country", "X-Country-Code",
	// Client certificates as TLS-terminating proxies pass them on: RFC 9440, nginx and Apache
	// conventions, Azure (ARR) and AWS ALB mutual TLS.
	"Client-Cert", "Client-Cert-Chain", "Ssl-Client-*", "X-Ssl-*", "X-Client-Cert", "X-Client-Cert-*",
	"X-Client-Verify", "X-Arr-Clientcert", "X-Amzn-Mtls-*",
	// Identity-aware proxies and platform authentication: oauth2-proxy and nginx auth_request,
	// Authelia and Caddy/Traefik forward auth (Remote-User, Remote-Email, Remote-Groups,
	// Remote-Name), Kubernetes' authenticating proxy (X-Remote-User, -Group, -Extra-*), Pomerium,
	// authentik, Vouch, Google IAP, Azure App Service authentication, AWS ALB, Teleport,
	// Tailscale, ngrok, Apache mod_auth_openidc (OIDC_CLAIM_*, OIDC_access_token),
	// mod_auth_mellon and Shibboleth, Kong, Keycloak Gatekeeper, Grafana's auth proxy, WSO2, and
	// the generic names origins are configured to trust.
	"X-Auth-Request-*", "Gap-Auth", "Gap-Signature", "Remote-*", "X-Remote-*", "X-Pomerium-*",
	"X-Authentik-*", "X-Vouch-*", "X-Goog-Authenticated-User-*", "X-Goog-Iap-*",
	"X-Ms-Client-Principal", "X-Ms-Client-Principal-*", "X-Ms-Token-*", "X-Amzn-Oidc-*",
	"Teleport-*", "X-Teleport-*", "Tailscale-*", "Ngrok-Auth-*", "Oidc-*", "Mellon-*", "Shib-*",
	"X-Consumer-*", "X-Credential-Identifier", "X-Anonymous-Consumer", "X-Authenticated-*",
	"X-Userinfo", "X-Id-Token", "X-Auth-User", "X-Auth-Userid", "X-Auth-Username", "X-Auth-Email",
	"X-Auth-Name", "X-Auth-Subject", "X-Auth-Roles", "X-Auth-Groups", "X-Webauth-*",
	"*-Jwt-Assertion", "X-User", "X-User-Id", "X-User-Email", "X-User-Name", "X-User-Groups",
	"X-Username", "X-Email",
}

// ClientHeaders is the set of request headers the proxy removes from every request before it
// reaches an origin, with or without a session: the identity headers of both wire profiles
// (any "Gatehouse-*" and "Cf-Access-*" name) and the identity and client-address headers other
// proxies, load balancers and CDNs send (see the package source for the list and its sources).
var ClientHeaders = mustHeaderSet(append(reservedNames(), clientHeaderNames...))

func reservedNames() []string {
	names := []string{"Gatehouse-*", "Cf-Access-*"}
	for _, p := range []*Profile{Gatehouse, Cloudflare} {
		names = append(names, p.JWTHeader, p.EmailHeader, p.ClientIDHeader, p.ClientSecretHeader, p.TokenHeader)
	}
	return names
}

// framingHeaders are the folded names a header pattern may not remove: they frame the request or
// the connection, and the proxy, not the origin, must see them.
var framingHeaders = []string{"host", "content-length", "transfer-encoding", "connection", "upgrade",
	"te", "trailer", "keep-alive", "proxy-connection", "expect"}

// HeaderSet is a set of header names matched as FoldHeader compares them: regardless of case,
// with any character other than a letter or digit standing for any other ("X_Real_IP" and
// "x.real-ip" are "X-Real-Ip"), the way CGI gateways and many frameworks read header names. An
// entry is a name ("X-Real-Ip"), a family prefix ending in "-*" ("X-Auth-Request-*": every name
// starting with "X-Auth-Request-"), or a suffix starting with "*-" ("*-Jwt-Assertion"). A
// HeaderSet is immutable and safe for concurrent use; Has and Strip do not allocate.
type HeaderSet struct {
	exact    map[string]struct{}
	prefixes map[string]struct{} // folded, ending in '-'
	suffixes [][]byte            // folded, starting with '-'
	entries  []string
}

// NewHeaderSet returns the set of the given entries (see HeaderSet). When some are invalid
// (ValidateHeaderPattern), the error lists every one of them and the set holds only the others.
func NewHeaderSet(entries ...string) (*HeaderSet, error) {
	s := &HeaderSet{exact: map[string]struct{}{}, prefixes: map[string]struct{}{}}
	return s, s.add(entries)
}

func mustHeaderSet(entries []string) *HeaderSet {
	s, err := NewHeaderSet(entries...)
	if err != nil {
		panic(err)
	}
	return s
}

// With returns a new set holding the entries of s and the given ones; s is unchanged.
func (s *HeaderSet) With(entries ...string) (*HeaderSet, error) {
	return NewHeaderSet(append(append([]string(nil), s.entries...), entries...)...)
}

// Entries returns the entries the set was built from, in order.
func (s *HeaderSet) Entries() []string { return append([]string(nil), s.entries...) }

func (s *HeaderSet) add(entries []string) error {
	var errs []error
	for _, e := range entries {
		if err := ValidateHeaderPattern(e); err != nil {
			errs = append(errs, err)
			continue
		}
		switch {
		case strings.HasSuffix(e, "*"):
			s.prefixes[FoldHeader(strings.TrimSuffix(e, "*"))] = struct{}{}
		case strings.HasPrefix(e, "*"):
			s.suffixes = append(s.suffixes, []byte(FoldHeader(strings.TrimPrefix(e, "*"))))
		default:
			s.exact[FoldHeader(e)] = struct{}{}
		}
		s.entries = append(s.entries, e)
	}
	return errors.Join(errs...)
}

// ErrHeaderPattern is wrapped by the errors ValidateHeaderPattern returns.
var ErrHeaderPattern = errors.New("wire: invalid header name")

// ValidateHeaderPattern checks one HeaderSet entry: an HTTP field name, optionally ending in "-*"
// or starting with "*-" (either spelled with '_' as well), with at least one letter or digit
// besides the "*", and not able to remove a header that frames the request (Host,
// Content-Length, Transfer-Encoding, Connection, Upgrade, TE, Trailer, Keep-Alive,
// Proxy-Connection, Expect).
func ValidateHeaderPattern(entry string) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w %q: %s", ErrHeaderPattern, entry, fmt.Sprintf(format, args...))
	}
	name := entry
	prefix, suffix := false, false
	switch {
	case len(entry) >= 2 && entry[len(entry)-1] == '*' && (entry[len(entry)-2] == '-' || entry[len(entry)-2] == '_'):
		prefix, name = true, entry[:len(entry)-1]
	case len(entry) >= 2 && entry[0] == '*' && (entry[1] == '-' || entry[1] == '_'):
		suffix, name = true, entry[1:]
	}
	if name == "" {
		return bad("empty")
	}
	alnum := false
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c == '*':
			return bad(`"*" is only allowed at the end after "-" ("X-Family-*") or at the start before "-" ("*-Suffix")`)
		case !isTokenChar(c) && (c < 0x21 || c > 0x7e):
			return bad("byte 0x%02X is not allowed in a header name", c)
		case !isTokenChar(c):
			return bad("character %q is not allowed in a header name", c)
		case foldByte(c) != '-':
			alnum = true
		}
	}
	if !alnum {
		return bad("needs at least one letter or digit")
	}
	pat := FoldHeader(name)
	for _, h := range framingHeaders {
		if prefix && strings.HasPrefix(h, pat) || suffix && strings.HasSuffix(h, pat) || h == pat {
			return bad("would remove %s, which frames the request", http.CanonicalHeaderKey(h))
		}
	}
	return nil
}

// isTokenChar reports whether c may appear in an HTTP field name (RFC 9110 tchar).
func isTokenChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// foldByte lower-cases ASCII letters, keeps digits and turns everything else into '-'.
func foldByte(c byte) byte {
	switch {
	case 'A' <= c && c <= 'Z':
		return c + ('a' - 'A')
	case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		return c
	}
	return '-'
}

// maxFoldOnStack is the longest name Has folds without allocating.
const maxFoldOnStack = 128

// Has reports whether the header name is in the set.
func (s *HeaderSet) Has(name string) bool {
	var buf [maxFoldOnStack]byte
	return s.hasFolded(foldInto(&buf, name))
}

// Strip removes from h every header whose name is in s, or whose folded name (FoldHeader) is in
// also (the headers identity providers send, which change with the configuration).
func (s *HeaderSet) Strip(h http.Header, also map[string]bool) {
	var buf [maxFoldOnStack]byte
	for name := range h {
		f := foldInto(&buf, name)
		if s.hasFolded(f) || also[string(f)] {
			delete(h, name)
		}
	}
}

// foldInto returns the folded form of name in buf (or in a new slice when name is too long).
func foldInto(buf *[maxFoldOnStack]byte, name string) []byte {
	var f []byte
	if len(name) <= len(buf) {
		f = buf[:len(name)]
	} else {
		f = make([]byte, len(name))
	}
	for i := 0; i < len(name); i++ {
		f[i] = foldByte(name[i])
	}
	return f
}

func (s *HeaderSet) hasFolded(f []byte) bool {
	if _, ok := s.exact[string(f)]; ok {
		return true
	}
	for i, c := range f {
		if c == '-' && i > 0 {
			if _, ok := s.prefixes[string(f[:i+1])]; ok {
				return true
			}
		}
	}
	for _, suf := range s.suffixes {
		if len(f) > len(suf) && bytes.HasSuffix(f, suf) {
			return true
		}
	}
	return false
}
