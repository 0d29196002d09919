package proxy_test

import (
	"crypto/tls"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/identity"
	"github.com/gatehouse/gatehouse/internal/proxy"
	"github.com/gatehouse/gatehouse/internal/snapshot"
	"github.com/gatehouse/gatehouse/internal/wire"
)

// forgeHeaders adds client-supplied copies of identity headers of both profiles, in odd cases,
// with underscores, and listed in Connection.
func forgeHeaders(r *http.Request) {
	for _, name := range []string{
		"Gatehouse-Jwt-Assertion", "Cf-Access-Jwt-Assertion",
		"Gatehouse-Authenticated-User-Email", "Cf-Access-Authenticated-User-Email",
		"Gatehouse-Client-Id", "Gatehouse-Client-Secret", "CF-Access-Client-Id", "CF-Access-Client-Secret",
		"Cf-Access-Something-New", "Gatehouse-Anything",
	} {
		r.Header.Set(name, "forged")
	}
	for _, raw := range []string{
		"gatehouse_jwt_assertion", "CF_ACCESS_JWT_ASSERTION", "gAtEhOuSe-AuThEnTiCaTeD-uSeR-eMaIl",
		"cf_access_authenticated_user_email", "Gatehouse_Client_Secret", "x_department", "X-DEPARTMENT", "x-title",
	} {
		r.Header[raw] = []string{"forged"} // bypass canonicalisation, as a raw HTTP/1 client can
	}
	r.Header.Set("X-Department", "forged")
	r.Header.Add("Connection", "Gatehouse-Jwt-Assertion, cf_access_jwt_assertion, X-Department")
	r.Header.Set("X-Forwarded-For", "6.6.6.6, 7.7.7.7")
	r.Header.Set("X-Forwarded-Host", "evil.example.net")
	r.Header.Set("X-Forwarded-Proto", "https")
	r.Header.Set("Forwarded", "for=6.6.6.6;host=evil.example.net")
	for _, raw := range []string{
		"X-Forwarded-Email", "x_forwarded_user", "X-Forwarded-Groups", "Remote-User", "remote_email",
		"X-Auth-Request-Email", "X-AUTH-REQUEST-USER", "X-Real-IP", "x.real.ip", "True-Client-IP",
		"CF-Connecting-IP", "cf_connecting_ip", "Cf-Ipcountry", "CF_IPCOUNTRY", "X-Forwarded-Prefix",
		"x_forwarded_for", "X_Forwarded_Host", "X-Original-URL", "X-Goog-Authenticated-User-Email",
		"X-Ms-Client-Principal-Name", "X-Amzn-Oidc-Identity", "Tailscale-User-Login", "OIDC_CLAIM_email",
	} {
		r.Header[raw] = []string{"forged"}
	}
	r.Header.Set("X-Custom", "kept")
}

// TestHeaderRewriting checks what the origin sees of an allowed request whose client forged
// identity headers: only Gatehouse's own, with the identity's header attributes (control
// characters removed), the resolved client IP, the original host and the query.
func TestHeaderRewriting(t *testing.T) {
	for _, profile := range []string{"gatehouse", "cloudflare"} {
		t.Run(profile, func(t *testing.T) {
			e := newEnv(t, setup{profile: profile, runtime: &snapshot.Runtime{IdentityHeaders: []string{"x-department", "X_Title"}}})
			wp := profileOf(t, profile)
			alice := e.newUser(t, "alice@example.com", identity.Identity{HeaderAttributes: map[string][]string{
				"X-Department": {"Engineering\r\nX-Injected: 1"},
				"X-Title":      {"Lead\x00", "Owner\x7f\t"},
			}})
			tok := e.appToken(t, alice, "web", nil)

			r := req(http.MethodPost, "http://app.example.com:8443/submit?b=2&a=1&b=%20", strings.NewReader("payload"))
			r.Header.Set("Content-Type", "text/plain")
			r.AddCookie(&http.Cookie{Name: wp.AppCookie(true), Value: tok})
			forgeHeaders(r)
			got := e.forwarded(t, r)

			want := map[string][]string{
				wp.JWTHeader:        {tok},
				wp.EmailHeader:      {"alice@example.com"},
				"X-Department":      {"EngineeringX-Injected: 1"},
				"X-Title":           {"Lead", "Owner"},
				"X-Forwarded-For":   {"198.51.100.7"},
				"X-Forwarded-Host":  {"app.example.com:8443"},
				"X-Forwarded-Proto": {"http"},
				"X-Custom":          {"kept"},
			}
			if profile == "cloudflare" {
				want["Cf-Connecting-Ip"] = []string{"198.51.100.7"}
				want["Cf-Ipcountry"] = []string{"DE"}
			} else {
				want["Cf-Connecting-Ip"], want["Cf-Ipcountry"] = nil, nil
			}
			for name, values := range want {
				if v := headerFolded(got.Header, name); !slices.Equal(v, values) {
					t.Errorf("origin %s = %q, want %q", name, v, values)
				}
			}
			for name, values := range got.Header {
				f := wire.FoldHeader(name)
				if wire.IsReserved(name) && f != wire.FoldHeader(wp.JWTHeader) && f != wire.FoldHeader(wp.EmailHeader) {
					t.Errorf("origin got reserved header %q = %q", name, values)
				}
				if f == "forwarded" || f == "x-injected" || slices.Contains(values, "forged") {
					t.Errorf("origin got %q = %q", name, values)
				}
			}
			if got.Host != "app.example.com:8443" {
				t.Errorf("Host = %q, want the client's", got.Host)
			}
			if got.Method != http.MethodPost || got.Body != "payload" || got.Path != "/web/submit" || got.RawQuery != "b=2&a=1&b=%20" {
				t.Errorf("origin saw %s %s?%s body %q", got.Method, got.Path, got.RawQuery, got.Body)
			}
			if !slices.Contains(headerFolded(got.Header, "Cookie"), wp.AppCookie(true)+"="+tok) {
				t.Errorf("Cookie = %q", headerFolded(got.Header, "Cookie"))
			}
		})
	}
}

// TestIdentityHeadersStrippedWithoutIdentity checks that client copies of the IdP's identity
// headers are removed on requests without an identity as well (bypass).
func TestIdentityHeadersStrippedWithoutIdentity(t *testing.T) {
	e := newEnv(t, setup{runtime: &snapshot.Runtime{IdentityHeaders: []string{"X-Department"}}})
	r := req(http.MethodGet, "http://open.example.com/", nil)
	r.Header.Set("X-Department", "forged")
	r.Header["x_department"] = []string{"forged"}
	r.Header.Set("X-Other", "kept")
	got := e.forwarded(t, r)
	if v := headerFolded(got.Header, "X-Department"); len(v) != 0 {
		t.Errorf("X-Department = %q", v)
	}
	if v := headerFolded(got.Header, "X-Other"); !slices.Equal(v, []string{"kept"}) {
		t.Errorf("X-Other = %q", v)
	}
}

// TestForwardedFor checks X-Forwarded-For and X-Forwarded-Proto: the resolved client, never
// the client's own list, https behind TLS, and no X-Forwarded-For when the client is unknown.
func TestForwardedFor(t *testing.T) {
	e := newEnv(t, setup{})
	tests := []struct {
		name      string
		build     func() *http.Request
		wantXFF   []string
		wantProto string
	}{
		{"resolved client", func() *http.Request {
			r := withClient(req(http.MethodGet, "http://open.example.com/", nil), "2001:db8::7", "")
			r.Header.Set("X-Forwarded-For", "10.0.0.1")
			return r
		}, []string{"2001:db8::7"}, "http"},
		{"tls", func() *http.Request {
			r := req(http.MethodGet, "http://open.example.com/", nil)
			r.TLS = &tls.ConnectionState{}
			return r
		}, []string{"198.51.100.7"}, "https"},
		{"socket peer when no client was resolved", func() *http.Request {
			r, _ := http.NewRequest(http.MethodGet, "http://open.example.com/", nil)
			r.RemoteAddr = "192.0.2.99:5555"
			r.Header.Set("X-Forwarded-For", "10.0.0.1")
			return r
		}, []string{"192.0.2.99"}, "http"},
		{"unknown client", func() *http.Request {
			r, _ := http.NewRequest(http.MethodGet, "http://open.example.com/", nil)
			r.RemoteAddr = "@unix"
			r.Header.Set("X-Forwarded-For", "10.0.0.1")
			return r
		}, nil, "http"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := e.forwarded(t, tt.build())
			if v := headerFolded(got.Header, "X-Forwarded-For"); !slices.Equal(v, tt.wantXFF) {
				t.Errorf("X-Forwarded-For = %q, want %q", v, tt.wantXFF)
			}
			if v := got.Header.Get("X-Forwarded-Proto"); v != tt.wantProto {
				t.Errorf("X-Forwarded-Proto = %q, want %q", v, tt.wantProto)
			}
			if v := got.Header.Get("X-Forwarded-Host"); v != "open.example.com" {
				t.Errorf("X-Forwarded-Host = %q", v)
			}
		})
	}
}

// FuzzStripReserved sends a header named after a variant of a stripped name (case flipped by
// caseMask, '-' turned into sep where sepMask says so) through a bypass application, which adds
// no identity headers of its own, or with a session to an allow application, in either wire
// profile, and checks that no client value of a reserved, identity or client-address header
// (wire.ClientHeaders, or the operator's extra names) reaches the origin.
func FuzzStripReserved(f *testing.F) {
	var seeds []string
	for _, p := range []*wire.Profile{wire.Gatehouse, wire.Cloudflare} {
		seeds = append(seeds, p.JWTHeader, p.EmailHeader, p.ClientIDHeader, p.ClientSecretHeader, p.TokenHeader)
	}
	for _, e := range wire.ClientHeaders.Entries() {
		seeds = append(seeds, strings.ReplaceAll(e, "*", "Anything"))
	}
	seeds = append(seeds, "Cf-Access-Future-Header", "Gatehouse-X", "X-Not-Reserved", "X-Employee-Id", "X-Tenant-Name")
	for i, s := range seeds {
		f.Add(s, uint64(0), uint64(0), byte('_'), false, false, false)
		f.Add(s, ^uint64(0), ^uint64(0), byte('_'), true, true, true)
		f.Add(s, uint64(0x5555_5555_5555_5555)<<(i%2), uint64(1)<<(i%8), byte(".~_"[i%3]), i%3 == 0, i%2 == 0, i%5 == 0)
	}
	opts := proxy.Options{StripRequestHeaders: []string{"X-Employee-Id", "X-Tenant-*"}}
	type world struct {
		e   *env
		tok string
	}
	var worlds [2]world
	for i, profile := range []string{"gatehouse", "cloudflare"} {
		e := newEnv(f, setup{profile: profile, opts: opts})
		worlds[i] = world{e, e.appToken(f, e.newUser(f, "alice@example.com", identity.Identity{}), "web", nil)}
	}
	stripped, err := wire.ClientHeaders.With(opts.StripRequestHeaders...)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, base string, caseMask, sepMask uint64, sep byte, inConnection, session, cloudflare bool) {
		name := variant(base, caseMask, sepMask, sep)
		if !isToken(name) || len(name) > 200 || httpSpecial[wire.FoldHeader(name)] {
			t.Skip()
		}
		w := worlds[0]
		if cloudflare {
			w = worlds[1]
		}
		wp := w.e.snap.Profile
		r := req(http.MethodGet, "http://open.example.com/", nil)
		if session {
			r = req(http.MethodGet, "http://app.example.com/", nil)
			r.AddCookie(&http.Cookie{Name: wp.AppCookie(true), Value: w.tok})
		}
		if f := wire.FoldHeader(name); f == "cookie" || f == wire.FoldHeader(wp.ClientIDHeader) || f == wire.FoldHeader(wp.ClientSecretHeader) || f == wire.FoldHeader(wp.TokenHeader) {
			t.Skip() // credentials: a forged one changes the decision, not the forwarded headers
		}
		r.Header[name] = []string{"forged"}
		if inConnection {
			r.Header.Add("Connection", name)
		}
		got := w.e.forwarded(t, r)
		for h, values := range got.Header {
			if slices.Contains(values, "forged") && (stripped.Has(h) || stripped.Has(name)) {
				t.Errorf("client header %q reached the origin as %q", name, h)
			}
		}
	})
}

// httpSpecial are folded names whose forged values change how the request is framed or
// answered rather than what it says; the fuzzer leaves them alone.
var httpSpecial = map[string]bool{"host": true, "content-length": true, "transfer-encoding": true, "expect": true,
	"connection": true, "upgrade": true, "te": true, "trailer": true, "keep-alive": true, "proxy-connection": true}

// variant flips the case of letter i when bit i%64 of caseMask is set, and turns '-' number j
// into sep when bit j%64 of sepMask is set.
func variant(s string, caseMask, sepMask uint64, sep byte) string {
	b := []byte(s)
	dash := 0
	for i, c := range b {
		switch {
		case c == '-':
			if sepMask&(1<<(dash%64)) != 0 {
				b[i] = sep
			}
			dash++
		case 'a' <= c && c <= 'z' && caseMask&(1<<(i%64)) != 0:
			b[i] = c - 'a' + 'A'
		case 'A' <= c && c <= 'Z' && caseMask&(1<<(i%64)) != 0:
			b[i] = c - 'A' + 'a'
		}
	}
	return string(b)
}

// isToken reports whether s is a valid HTTP field name (RFC 9110 token).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0 {
			continue
		}
		return false
	}
	return true
}

// TestClientAddressHeaders checks the client headers of the cloudflare profile: the resolved
// client and its country (XX when unknown) replace whatever the client sent, and the gatehouse
// profile sends neither.
func TestClientAddressHeaders(t *testing.T) {
	tests := []struct {
		profile             string
		build               func() *http.Request
		wantIP, wantCountry []string
	}{
		{"cloudflare", func() *http.Request { return req(http.MethodGet, "http://open.example.com/", nil) },
			[]string{"198.51.100.7"}, []string{"DE"}},
		{"cloudflare", func() *http.Request {
			return withClient(req(http.MethodGet, "http://open.example.com/", nil), "2001:db8::7", "")
		}, []string{"2001:db8::7"}, []string{"XX"}},
		{"cloudflare", func() *http.Request {
			r, _ := http.NewRequest(http.MethodGet, "http://open.example.com/", nil)
			r.RemoteAddr = "@unix"
			return r
		}, nil, []string{"XX"}},
		{"gatehouse", func() *http.Request { return req(http.MethodGet, "http://open.example.com/", nil) }, nil, nil},
	}
	for _, tt := range tests {
		e := newEnv(t, setup{profile: tt.profile})
		r := tt.build()
		r.Header["Cf-Connecting-Ip"] = []string{"6.6.6.6"}
		r.Header["cf_connecting_ip"] = []string{"6.6.6.6"}
		r.Header["Cf-Ipcountry"] = []string{"US"}
		r.Header["CF.IPCOUNTRY"] = []string{"US"}
		got := e.forwarded(t, r)
		if v := headerFolded(got.Header, "Cf-Connecting-Ip"); !slices.Equal(v, tt.wantIP) {
			t.Errorf("%s: Cf-Connecting-Ip = %q, want %q", tt.profile, v, tt.wantIP)
		}
		if v := headerFolded(got.Header, "Cf-Ipcountry"); !slices.Equal(v, tt.wantCountry) {
			t.Errorf("%s: Cf-Ipcountry = %q, want %q", tt.profile, v, tt.wantCountry)
		}
	}
}

// TestStripRequestHeadersOption checks that the operator's extra names are removed (in any
// spelling, prefixes included) on top of the built-in list, and that trailers are cleaned too.
func TestStripRequestHeadersOption(t *testing.T) {
	e := newEnv(t, setup{opts: proxy.Options{StripRequestHeaders: []string{"X-Employee-Id", "X-Tenant-*"}}})
	r := req(http.MethodPost, "http://open.example.com/upload", strings.NewReader("body"))
	r.ContentLength = -1 // chunked, so that trailers are sent
	r.Header["x_employee_id"] = []string{"forged"}
	r.Header["X-Tenant-Name"] = []string{"forged"}
	r.Header["X-Tenant"] = []string{"kept"}
	r.Header.Set("Trailer", "X-Forwarded-User, X-Checksum")
	r.Trailer = http.Header{"X-Forwarded-User": {"forged"}, "X_Employee_Id": {"forged"}, "X-Checksum": {"kept"}}
	got := e.forwarded(t, r)
	for name, v := range got.Header {
		if slices.Contains(v, "forged") {
			t.Errorf("origin got %s: %q", name, v)
		}
	}
	if v := headerFolded(got.Header, "X-Tenant"); !slices.Equal(v, []string{"kept"}) {
		t.Errorf("X-Tenant = %q", v)
	}
	for name, v := range got.Trailer {
		if slices.Contains(v, "forged") {
			t.Errorf("origin got trailer %s: %q", name, v)
		}
	}
	if v := got.Trailer.Get("X-Checksum"); v != "kept" {
		t.Errorf("trailers = %v, want X-Checksum kept", got.Trailer)
	}
	defer func() {
		if recover() == nil {
			t.Error("New accepted an invalid StripRequestHeaders entry")
		}
	}()
	newEnv(t, setup{opts: proxy.Options{StripRequestHeaders: []string{"Content-Length"}}})
}
