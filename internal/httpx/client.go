package httpx

import (
	"context"
	"net/http"
	"net/netip"
)

// Client is who and where the client of a request is, as far as Gatehouse can tell: its address
// (behind trusted proxies) and that address's country. It is resolved once per request by
// ClientResolver.Handler and read by every surface with ClientOf, so the policy, the audit log
// and the headers sent to origins all see the same client.
type Client struct {
	// IP is the client address; the zero Addr when it cannot be told (a Unix socket peer), which
	// policies treat as unknown.
	IP netip.Addr
	// Country is the ISO 3166-1 alpha-2 code of IP in upper case; "" when unknown.
	Country string
}

// ClientResolver resolves the Client of requests.
type ClientResolver struct {
	// TrustedProxies are the peers whose X-Forwarded-For is believed (see ClientIP).
	TrustedProxies []netip.Prefix
	// Country maps an address to its country code; nil knows no countries.
	Country func(netip.Addr) string
}

// Resolve returns the client of r, ignoring any Client already in its context.
func (cr *ClientResolver) Resolve(r *http.Request) Client {
	ip := ClientIP(r.RemoteAddr, r.Header.Values("X-Forwarded-For"), cr.TrustedProxies)
	c := Client{IP: ip}
	if cr.Country != nil && ip.IsValid() {
		c.Country = cr.Country(ip)
	}
	return c
}

// Handler resolves the client of every request once and carries it in the request's context
// for ClientOf.
func (cr *ClientResolver) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := cr.Resolve(r)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), clientKey{}, &c)))
	})
}

type clientKey struct{}

// WithClient returns ctx carrying c (for handlers served without ClientResolver.Handler, such
// as tests that call one directly).
func WithClient(ctx context.Context, c Client) context.Context {
	return context.WithValue(ctx, clientKey{}, &c)
}

// ClientFromContext returns the client carried by ctx, if a ClientResolver resolved one.
func ClientFromContext(ctx context.Context) (Client, bool) {
	c, ok := ctx.Value(clientKey{}).(*Client)
	if !ok {
		return Client{}, false
	}
	return *c, true
}

// ClientOf returns the client resolved for r. A request that did not pass through a
// ClientResolver gets its socket peer and no country: no forwarded address is believed without
// the configured trusted proxies.
func ClientOf(r *http.Request) Client {
	if c, ok := ClientFromContext(r.Context()); ok {
		return c
	}
	return Client{IP: ClientIP(r.RemoteAddr, nil, nil)}
}
