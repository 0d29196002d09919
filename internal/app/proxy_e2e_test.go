package app_test

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"

	"github.com/gatehouse/gatehouse/internal/proxy"
	"github.com/gatehouse/gatehouse/internal/testenv"
)

func sha(s string) string { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:]) }

const serviceTokenConfig = `
organization: {name: T, auth_domain: auth.localhost}
identity_providers: [{id: pin, name: PIN, type: onetimepin}]
applications:
  - id: api
    name: API
    destinations: [api.localhost]
    upstream: UPSTREAM
    policies: [{ref: ci-only, precedence: 1}, {ref: people, precedence: 2}]
  - id: people-only
    name: People only
    destinations: [people.localhost]
    upstream: UPSTREAM
    policies: [{ref: people, precedence: 1}]
policies:
  - {id: ci-only, decision: non_identity, include: [{service_token: {token_id: ci}}]}
  - {id: people, decision: allow, include: [{email_domain: {domain: example.com}}]}
service_tokens:
  - {id: ci, name: CI, client_id: ci.access, client_secret_sha256: "%s"}
  - {id: old, name: Old, client_id: old.access, client_secret_sha256: "%s", expires_at: "2020-01-01T00:00:00Z"}
`

func TestServiceTokens(t *testing.T) {
	e := testenv.Start(t, fmt.Sprintf(serviceTokenConfig, sha("s3cret"), sha("old-secret")))
	c := e.NewBrowser()
	call := func(host, id, secret string) (*http.Response, string) {
		req, _ := http.NewRequest(http.MethodGet, e.URL(host, "/v1/things"), nil)
		if id != "" {
			req.Header.Set("Gatehouse-Client-Id", id)
			req.Header.Set("Gatehouse-Client-Secret", secret)
		}
		return c.Do(t, req)
	}
	resp, body := call("api.localhost", "ci.access", "s3cret")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("valid service token: %d %s", resp.StatusCode, body)
	}
	v := decodeUpstream(t, body)
	if len(v.header("Gatehouse-Client-Secret")) != 0 || len(v.header("Gatehouse-Client-Id")) != 0 {
		t.Errorf("service-token credentials leaked to the origin")
	}
	jwt := v.header("Gatehouse-Jwt-Assertion")
	if len(jwt) != 1 {
		t.Fatalf("no JWT for the service token")
	}
	claims, err := e.G.Tokens.Verify(jwt[0])
	if err != nil || claims.CommonName != "ci.access" || claims.Subject != "" || !claims.HasAudience(e.G.Snapshots.Load().Apps["api"].AUD) {
		t.Errorf("service JWT claims %+v, err %v", claims, err)
	}
	// A second call reuses the minted JWT: signing never happens per request.
	_, body2 := call("api.localhost", "ci.access", "s3cret")
	if decodeUpstream(t, body2).header("Gatehouse-Jwt-Assertion")[0] != jwt[0] {
		t.Errorf("service JWT re-minted for every request")
	}
	for name, tc := range map[string][3]string{
		"wrong secret":   {"api.localhost", "ci.access", "nope"},
		"unknown id":     {"api.localhost", "who.access", "s3cret"},
		"expired token":  {"api.localhost", "old.access", "old-secret"},
		"no credentials": {"api.localhost", "", ""},
		"allow policy":   {"people.localhost", "ci.access", "s3cret"}, // service tokens never satisfy allow
	} {
		if resp, _ := call(tc[0], tc[1], tc[2]); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s: %d, want 401", name, resp.StatusCode)
		}
	}
}

// TestPeerCloudflareProfileOriginValidation validates Gatehouse's JWT exactly as Cloudflare's Go
// example tells origins to: go-oidc's remote key set on <auth domain>/cdn-cgi/access/certs, and a
// verifier for the issuer and the application's AUD.
func TestPeerCloudflareProfileOriginValidation(t *testing.T) {
	e := testenv.Start(t, strings.Replace(testenv.DefaultConfig, "auth_domain: auth.localhost", "auth_domain: auth.localhost\n  wire: cloudflare", 1))
	b := e.NewBrowser()
	resp, body := b.Login(t, e.URL("app.localhost", "/"), "alice@example.com")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("login: %d %s", resp.StatusCode, body)
	}
	v := decodeUpstream(t, body)
	jwt := v.header("Cf-Access-Jwt-Assertion")
	if len(jwt) != 1 || len(v.header("Cf-Access-Authenticated-User-Email")) != 1 {
		t.Fatalf("cloudflare headers missing: %v", v.Headers)
	}
	appURL, _ := url.Parse(e.URL("app.localhost", "/"))
	var sawCookie bool
	for _, c := range b.Jar.Cookies(appURL) {
		sawCookie = sawCookie || c.Name == "CF_Authorization"
	}
	if !sawCookie {
		t.Errorf("no CF_Authorization cookie on the app host")
	}

	teamDomain := "http://auth.localhost:" + e.Port
	certsURL := teamDomain + "/cdn-cgi/access/certs"
	ctx := oidc.ClientContext(context.Background(), b.Client) // resolves *.localhost to Gatehouse
	keySet := oidc.NewRemoteKeySet(ctx, certsURL)
	aud := e.G.Snapshots.Load().Apps["app"].AUD
	verifier := oidc.NewVerifier(teamDomain, keySet, &oidc.Config{ClientID: aud})
	if _, err := verifier.Verify(ctx, jwt[0]); err != nil {
		t.Fatalf("origin validation as Cloudflare documents it failed: %v", err)
	}
	other := oidc.NewVerifier(teamDomain, keySet, &oidc.Config{ClientID: e.G.Snapshots.Load().Apps["other"].AUD})
	if _, err := other.Verify(ctx, jwt[0]); err == nil {
		t.Errorf("another application's origin accepted the token")
	}
}

func TestKeyRotationPublishesBothKeys(t *testing.T) {
	e := testenv.Start(t, "")
	b := loggedIn(t, e)
	old := appCookie(t, e, b, "app.localhost")
	if err := e.G.Keys.Rotate(context.Background()); err != nil {
		t.Fatal(err)
	}
	_, certs := b.Get(t, e.URL("auth.localhost", "/.gatehouse/certs"))
	if n := strings.Count(certs, `"kid"`); n < 4 { // 2 in keys, 1 in public_cert, 2 in public_certs
		t.Errorf("certs after rotation has %d kids: %s", n, certs)
	}
	req, _ := http.NewRequest(http.MethodGet, e.URL("app.localhost", "/"), nil)
	req.AddCookie(&http.Cookie{Name: "Gatehouse_Authorization", Value: old})
	if resp, _ := e.NewBrowser().Do(t, req); resp.StatusCode != http.StatusOK {
		t.Errorf("token signed by the previous key during the overlap: %d", resp.StatusCode)
	}
	// After the overlap window the previous key no longer verifies.
	e.Clock.Advance(8 * 24 * time.Hour)
	if err := e.G.Keys.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, ok := e.G.Keys.PublicKey(kidOf(t, old)); ok {
		t.Errorf("rotated-out key still published after its overlap")
	}
}

func TestTrustedProxiesAndGeo(t *testing.T) {
	dir := t.TempDir()
	mmdb := filepath.Join(dir, "country.mmdb")
	writeCountryDB(t, mmdb, map[string]string{"203.0.113.0/24": "KP", "198.51.100.0/24": "DE"})
	e := testenv.Start(t, fmt.Sprintf(`
organization: {name: T, auth_domain: auth.localhost}
geoip: {mmdb_file: %q}
trusted_proxies: ["127.0.0.1/32"]
identity_providers: [{id: pin, name: PIN, type: onetimepin}]
applications:
  - {id: app, name: App, destinations: [app.localhost], upstream: UPSTREAM, policies: [{ref: block-kp, precedence: 1}, {ref: de-bypass, precedence: 2}, {ref: people, precedence: 3}]}
policies:
  - {id: block-kp, decision: deny, include: [{geo: {country_code: KP}}]}
  - {id: de-bypass, decision: bypass, include: [{geo: {country_code: DE}}]}
  - {id: people, decision: allow, include: [{email_domain: {domain: example.com}}], exclude: [{geo: {country_code: KP}}]}
`, mmdb))
	c := e.NewBrowser()
	get := func(xff string) int {
		req, _ := http.NewRequest(http.MethodGet, e.URL("app.localhost", "/"), nil)
		req.Header.Set("Accept", "text/html")
		c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		req.Header.Set("X-Forwarded-For", xff)
		resp, _ := c.Do(t, req)
		return resp.StatusCode
	}
	if got := get("198.51.100.7"); got != http.StatusOK {
		t.Errorf("client in DE via trusted proxy: %d, want 200 (bypass)", got)
	}
	if got := get("203.0.113.9"); got != http.StatusForbidden {
		t.Errorf("client in KP: %d, want 403 before any login", got)
	}
	if got := get("192.0.2.1"); got != http.StatusFound {
		t.Errorf("client elsewhere: %d, want a login redirect", got)
	}
}

func writeCountryDB(t *testing.T, path string, nets map[string]string) {
	t.Helper()
	w, err := mmdbwriter.New(mmdbwriter.Options{DatabaseType: "GeoLite2-Country", RecordSize: 24, IncludeReservedNetworks: true})
	if err != nil {
		t.Fatal(err)
	}
	for cidr, cc := range nets {
		_, n, _ := net.ParseCIDR(cidr)
		if err := w.Insert(n, mmdbtype.Map{"country": mmdbtype.Map{"iso_code": mmdbtype.String(cc)}}); err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := w.WriteTo(f); err != nil {
		t.Fatal(err)
	}
}

func TestStreamingWebSocketAndSSE(t *testing.T) {
	e := testenv.Start(t, `
organization: {name: T, auth_domain: auth.localhost}
identity_providers: [{id: pin, name: PIN, type: onetimepin}]
applications:
  - {id: app, name: App, destinations: [app.localhost], upstream: UPSTREAM, policies: [{ref: open, precedence: 1}]}
policies:
  - {id: open, decision: bypass, include: [{everyone: {}}]}
`)
	release := make(chan struct{})
	e.Upstream.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/sse":
			w.Header().Set("Content-Type", "text/event-stream")
			fmt.Fprint(w, "data: first\n\n")
			w.(http.Flusher).Flush()
			<-release
			fmt.Fprint(w, "data: second\n\n")
		case "/ws":
			if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
				http.Error(w, "no upgrade", 400)
				return
			}
			conn, rw, err := http.NewResponseController(w).Hijack()
			if err != nil {
				return
			}
			defer conn.Close()
			fmt.Fprint(rw, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
				"Sec-WebSocket-Accept: "+proxy.WebSocketAccept(r.Header.Get("Sec-WebSocket-Key"))+"\r\n\r\n")
			rw.Flush()
			line, _ := rw.ReadString('\n')
			fmt.Fprint(rw, "echo:"+line)
			rw.Flush()
		}
	})
	// SSE: the first event arrives before the upstream finishes.
	resp, err := e.NewBrowser().Client.Get(e.URL("app.localhost", "/sse"))
	if err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(resp.Body)
	got := make(chan string, 1)
	go func() { l, _ := r.ReadString('\n'); got <- l }()
	select {
	case l := <-got:
		if l != "data: first\n" {
			t.Errorf("first SSE line %q", l)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("SSE event was buffered by the proxy")
	}
	close(release)
	rest, _ := io.ReadAll(r)
	resp.Body.Close()
	if !strings.Contains(string(rest), "data: second") {
		t.Errorf("rest of SSE stream: %q", rest)
	}

	// WebSocket-style upgrade through the proxy.
	conn, err := net.Dial("tcp", e.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(conn, "GET /ws HTTP/1.1\r\nHost: app.localhost:%s\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n", e.Port)
	br := bufio.NewReader(conn)
	status, _ := br.ReadString('\n')
	if !strings.Contains(status, "101") {
		t.Fatalf("upgrade status %q", status)
	}
	for {
		l, _ := br.ReadString('\n')
		if l == "\r\n" || l == "" {
			break
		}
	}
	// A masked binary frame (zero masking key, so the payload reads as sent): only WebSocket
	// frames pass the tunnel.
	_, _ = conn.Write(append([]byte{0x82, 0x80 | 6, 0, 0, 0, 0}, "hello\n"...))
	if l, _ := br.ReadString('\n'); !strings.HasPrefix(l, "echo:") || !strings.HasSuffix(l, "hello\n") {
		t.Errorf("websocket echo %q", l)
	}
}

func TestUnreachableUpstreamAndUnmatchedHosts(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := "http://" + ln.Addr().String()
	ln.Close()
	e := testenv.Start(t, fmt.Sprintf(`
organization: {name: T, auth_domain: auth.localhost, deny_unmatched_requests: true}
identity_providers: [{id: pin, name: PIN, type: onetimepin}]
applications:
  - {id: app, name: App, destinations: [app.localhost], upstream: %q, policies: [{ref: open, precedence: 1}]}
policies:
  - {id: open, decision: bypass, include: [{everyone: {}}]}
`, dead))
	c := e.NewBrowser()
	resp, body := c.Get(t, e.URL("app.localhost", "/"))
	if resp.StatusCode != http.StatusBadGateway || !strings.Contains(body, "not reachable") || strings.Contains(body, "connection refused") {
		t.Errorf("dead upstream: %d %s", resp.StatusCode, body)
	}
	if resp, _ := c.Get(t, e.URL("nothing.localhost", "/")); resp.StatusCode != http.StatusForbidden {
		t.Errorf("unmatched host with deny_unmatched_requests: %d", resp.StatusCode)
	}
}

func TestCORSPreflight(t *testing.T) {
	e := testenv.Start(t, `
organization: {name: T, auth_domain: auth.localhost}
identity_providers: [{id: pin, name: PIN, type: onetimepin}]
applications:
  - id: app
    name: App
    destinations: [app.localhost]
    upstream: UPSTREAM
    policies: [{ref: people, precedence: 1}]
    cors_headers: {allowed_origins: ["https://ui.example.com"], allowed_methods: [GET, POST], allow_credentials: true, max_age: 600}
  - {id: bypassed, name: B, destinations: [b.localhost], upstream: UPSTREAM, options_preflight_bypass: true, policies: [{ref: people, precedence: 1}]}
policies:
  - {id: people, decision: allow, include: [{email_domain: {domain: example.com}}]}
`)
	c := e.NewBrowser()
	pre := func(host string) *http.Response {
		req, _ := http.NewRequest(http.MethodOptions, e.URL(host, "/api"), nil)
		req.Header.Set("Origin", "https://ui.example.com")
		req.Header.Set("Access-Control-Request-Method", "POST")
		resp, _ := c.Do(t, req)
		return resp
	}
	resp := pre("app.localhost")
	if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Access-Control-Allow-Origin") != "https://ui.example.com" ||
		resp.Header.Get("Access-Control-Allow-Credentials") != "true" || resp.Header.Get("Access-Control-Max-Age") != "600" {
		t.Errorf("answered preflight: %d %v", resp.StatusCode, resp.Header)
	}
	resp = pre("b.localhost")
	if resp.StatusCode != http.StatusOK || e.Upstream.Seen().Method != http.MethodOptions {
		t.Errorf("bypassed preflight did not reach the origin: %d", resp.StatusCode)
	}
}
