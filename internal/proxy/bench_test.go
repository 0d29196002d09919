package proxy_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/identity"
	"github.com/gatehouse/gatehouse/internal/keys"
	"github.com/gatehouse/gatehouse/internal/proxy"
	"github.com/gatehouse/gatehouse/internal/session"
	"github.com/gatehouse/gatehouse/internal/snapshot"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse/gatehouse/internal/token"
	"github.com/gatehouse/gatehouse/internal/wire"
)

// bigConfig has n self-hosted apps (a third on wildcard hosts, a third with a path) and n
// reusable policies; each app links three of them (bypass by IP range, deny by country, allow by
// e-mail domain with an MFA requirement and an exclusion list).
func bigConfig(n int) *store.Config {
	cfg := &store.Config{
		Organization:      store.Organization{Name: "Bench", AuthDomain: "auth.example.com"},
		IdentityProviders: []store.IdentityProvider{{ID: "pin", Name: "PIN", Type: store.IdPOneTimePIN}},
		Lists:             []store.List{{ID: "blocked", Type: store.ListEmail, Items: []store.ListItem{{Value: "mallory@example.com"}}}},
	}
	for i := range n {
		p := store.Policy{ID: fmt.Sprintf("p%d", i)}
		switch i % 3 {
		case 0:
			p.Decision = store.DecisionBypass
			p.Include = []store.Rule{{IP: &store.IPRule{IP: fmt.Sprintf("10.%d.%d.0/24", i/256%256, i%256)}}}
		case 1:
			p.Decision = store.DecisionDeny
			p.Include = []store.Rule{{Geo: &store.GeoRule{CountryCode: "KP"}}}
		case 2:
			p.Decision = store.DecisionAllow
			p.Include = []store.Rule{{EmailDomain: &store.EmailDomainRule{Domain: "example.com"}}}
			p.Require = []store.Rule{{AuthMethod: &store.AuthMethodRule{AuthMethod: "otp"}}}
			p.Exclude = []store.Rule{{EmailList: &store.ListRef{ID: "blocked"}}}
		}
		cfg.Policies = append(cfg.Policies, p)
	}
	for j := range n {
		dest := fmt.Sprintf("app-%d.example.com", j)
		switch j % 3 {
		case 1:
			dest = fmt.Sprintf("*.team-%d.example.com", j)
		case 2:
			dest = fmt.Sprintf("app-%d.example.com/api/*", j)
		}
		a := store.Application{ID: fmt.Sprintf("app-%d", j), Type: store.AppSelfHosted, Name: "App",
			Destinations: []store.Destination{{Type: "public", URI: dest}}, Upstream: "http://127.0.0.1:1"}
		for t := range 3 {
			a.Policies = append(a.Policies, store.PolicyLink{Ref: fmt.Sprintf("p%d", (3*j+t)%n), Precedence: 30 - 10*t})
		}
		cfg.Applications = append(cfg.Applications, a)
	}
	return cfg
}

// BenchmarkAuthorize measures the authorization step of a request with a valid session on a
// configuration of 10,000 apps and 10,000 policies: route lookup, app-cookie check through the
// verified-token cache, revocation check and policy evaluation.
func BenchmarkAuthorize(b *testing.B) {
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, "sqlite", "file:"+filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	cfg, err := st.UpdateConfig(ctx, func(c *store.Config) error { *c = *bigConfig(10_000); return nil })
	if err != nil {
		b.Fatal(err)
	}
	snap, err := snapshot.Compile(cfg, snapshot.Options{Scheme: "https", Port: 443})
	if err != nil {
		b.Fatal(err)
	}
	holder := &snapshot.Holder{}
	holder.Store(snap)
	km, err := keys.NewManager(st, make([]byte, 32), keys.Options{Issuer: snap.Issuer})
	if err != nil {
		b.Fatal(err)
	}
	if err := km.Load(ctx); err != nil {
		b.Fatal(err)
	}
	rev := &session.Revocations{}
	if err := rev.Load(ctx, st); err != nil {
		b.Fatal(err)
	}
	user, err := st.UpsertUserByEmail(ctx, "alice@example.com", store.LastSeen{})
	if err != nil {
		b.Fatal(err)
	}
	ident := &identity.Identity{UserID: user.ID, Email: "alice@example.com", IdP: identity.IdP{ID: "pin", Type: "onetimepin"}, AMR: []string{"otp"}}
	raw, _ := json.Marshal(ident)
	now := time.Now()
	sess := &store.Session{ID: "bench-session", UserID: user.ID, Email: ident.Email, IdPID: "pin", CreatedAt: now, ExpiresAt: now.Add(time.Hour), Identity: raw}
	if err := st.CreateSession(ctx, sess); err != nil {
		b.Fatal(err)
	}
	const target = 9998 // app-9998: a path app (api/*)
	app := snap.Apps[fmt.Sprintf("app-%d", target)]
	tok, err := token.Mint(km, &token.Claims{Type: "app", Audience: []string{app.AUD}, Issuer: snap.Issuer, Subject: user.ID,
		Email: ident.Email, IdentityNonce: sess.ID, IssuedAt: now.Unix(), NotBefore: now.Unix(), ExpiresAt: now.Add(time.Hour).Unix()})
	if err != nil {
		b.Fatal(err)
	}
	verifier := token.NewVerifier(km, snap.Issuer, time.Now)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	sessions := session.NewVerifier(session.VerifierOptions{Store: st, Tokens: verifier, Keys: km, Revocations: rev})
	p := proxy.New(holder, nil, sessions, km, nil, log, time.Now, proxy.Options{})
	host, path := fmt.Sprintf("app-%d.example.com", target), "/api/v1/items"
	clientIP := netip.MustParseAddr("192.0.2.10")

	authorize := func() proxy.Result {
		id, ok := snap.Routes.Match(host, path)
		if !ok {
			b.Fatal("no route")
		}
		req := proxy.Request{App: snap.Apps[id], ClientIP: clientIP, Country: "DE", Credential: tok}
		return p.Authorize(ctx, snap, &req)
	}
	if res := authorize(); res.Outcome != proxy.OutcomeForward || res.Decision.PolicyID == "" {
		b.Fatalf("setup: outcome %v decision %+v err %v", res.Outcome, res.Decision, res.Err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if res := authorize(); res.Outcome != proxy.OutcomeForward {
			b.Fatal("denied")
		}
	}
}

// BenchmarkServeHTTP measures whole requests through ServeHTTP on the test configuration: a
// bypass application forwarded to the loopback echo upstream, an allowed request with an app
// cookie, and an API request without a session (401, no upstream).
func BenchmarkServeHTTP(b *testing.B) {
	e := newEnv(b, setup{runtime: &snapshot.Runtime{IdentityHeaders: []string{"X-Department"}}})
	alice := e.newUser(b, "alice@example.com", identity.Identity{})
	tok := e.appToken(b, alice, "web", nil)
	browser := func(target string) *http.Request {
		r := req(http.MethodGet, target, nil)
		r.Header.Set("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
		r.Header.Set("Accept-Encoding", "gzip, deflate, br")
		r.Header.Set("Accept-Language", "en-GB,en;q=0.9")
		r.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36")
		r.Header.Set("Sec-Fetch-Mode", "navigate")
		r.Header.Set("Sec-Fetch-Site", "same-origin")
		r.Header.Set("Referer", "https://app.example.com/")
		return r
	}
	for _, bc := range []struct {
		name   string
		build  func() *http.Request
		status int
	}{
		{"bypass", func() *http.Request { return browser("http://open.example.com/static/js/app.min.js") }, http.StatusOK},
		{"session", func() *http.Request {
			r := browser("http://app.example.com/reports/2030/q1")
			r.AddCookie(&http.Cookie{Name: wire.Gatehouse.AppCookie(true), Value: tok})
			return r
		}, http.StatusOK},
		{"unauthorized", func() *http.Request {
			r := req(http.MethodGet, "http://app.example.com/api/v1/items", nil)
			r.Header.Set("Accept", "application/json")
			return r
		}, http.StatusUnauthorized},
	} {
		b.Run(bc.name, func(b *testing.B) {
			r := bc.build()
			b.ReportAllocs()
			for b.Loop() {
				w := httptest.NewRecorder()
				e.proxy.ServeHTTP(w, r)
				if w.Code != bc.status {
					b.Fatalf("status %d, want %d", w.Code, bc.status)
				}
			}
		})
	}
}
