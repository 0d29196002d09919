package app

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/pprof"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/gatehouse/gatehouse/internal/admin"
	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/console"
	"github.com/gatehouse/gatehouse/internal/httpx"
	"github.com/gatehouse/gatehouse/internal/identity"
	"github.com/gatehouse/gatehouse/internal/launcher"
	"github.com/gatehouse/gatehouse/internal/mcp"
	"github.com/gatehouse/gatehouse/internal/saas"
	"github.com/gatehouse/gatehouse/internal/saas/oidcop"
	"github.com/gatehouse/gatehouse/internal/saas/samlidp"
	"github.com/gatehouse/gatehouse/internal/store"
)

// saasProtocols are the Access for SaaS protocols this binary serves, by saas_app auth_type: how
// a saas_app is validated and how its protocol handler is built. Configuration validation learns
// them at start (init), so package config never imports a protocol handler.
var saasProtocols = map[string]struct {
	validate func(*store.SaaSApp) error
	new      func(saas.Env) saas.Handler
}{
	store.SaaSAuthSAML: {samlidp.ValidateApp, func(env saas.Env) saas.Handler { return samlidp.New(env) }},
	store.SaaSAuthOIDC: {oidcop.ValidateApp, func(env saas.Env) saas.Handler { return oidcop.New(env) }},
}

func init() {
	for name, p := range saasProtocols {
		config.RegisterSaaSAuthType(name, p.validate)
	}
}

// mount is one surface on the auth domain.
type mount struct {
	// path is matched against the request path: under the wire prefix when prefixed (the
	// prefix depends on the published snapshot's wire profile), else as it is.
	path     string
	prefixed bool
	// subtree matches path and everything below it; otherwise only path itself.
	subtree bool
	handler http.Handler
}

// authDomain routes the auth domain's requests to the surfaces mounted side by side on it; what
// no mount claims goes to the login flow.
type authDomain struct {
	g      *Gatehouse
	mounts []mount
	login  http.Handler
}

func (a *authDomain) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	prefix := a.g.Snapshots.Load().Profile.Prefix
	path := r.URL.Path
	for i := range a.mounts {
		m := &a.mounts[i]
		p := m.path
		if m.prefixed {
			p = prefix + p
		}
		if path == p || m.subtree && strings.HasPrefix(path, p) {
			m.handler.ServeHTTP(w, r)
			return
		}
	}
	a.login.ServeHTTP(w, r)
}

// authDomainRouter mounts every surface of the auth domain: the App Launcher at the root, the
// SaaS SAML IdP and OIDC provider under <prefix>sso/, SCIM under <prefix>scim/v2/, the admin API
// under admin.APIPrefix (its own mux and authentication, apart from every browser page), gateway
// device enrolment under <prefix>gateway/, the admin console under <prefix>admin/ (behind the
// admin_console application's policies), and the login flow for everything else. New surfaces (MCP portal, gateway enrolment, admin console) are
// mounted here, beside these, never inside another surface.
func (g *Gatehouse) authDomainRouter(recorder *audit.Recorder) http.Handler {
	saasEnv := saas.Env{Store: g.Store, Keys: g.Keys, SAMLKeys: g.SAMLKeys, Snapshots: g.Snapshots, Audit: recorder, Log: g.log, Now: g.now,
		Authorize: g.Authn.AuthorizeFresh, Recheck: g.Authn.Recheck, Revocations: g.Sessions.Revocations()}
	sso := &saas.Endpoints{Snapshots: g.Snapshots, Log: g.log, Handlers: map[string]saas.Handler{}}
	for name, p := range saasProtocols {
		sso.Handlers[name] = p.new(saasEnv)
	}
	home := &launcher.Launcher{Snapshots: g.Snapshots, Authorize: g.Authn.Authorize, Fallback: http.HandlerFunc(g.Authn.ServeStatus)}
	mounts := []mount{
		{path: "/", handler: home},
		{path: admin.APIPrefix, subtree: true, handler: g.Admin},
		{path: "sso/", prefixed: true, subtree: true, handler: sso},
		{path: "scim/v2/", prefixed: true, subtree: true, handler: g.SCIM},
		{path: console.Path, prefixed: true, subtree: true, handler: g.Console},
	}
	if g.Enroll != nil {
		mounts = append(mounts, mount{path: "gateway/", prefixed: true, subtree: true, handler: g.Enroll})
	}
	if g.mcp != nil {
		op, _ := sso.Handlers[store.SaaSAuthOIDC].(*oidcop.Provider)
		if op != nil {
			// Each portal's OAuth authorization server is the SaaS OIDC provider's machinery
			// (oidcop.ServeMCP); the portal checks the tokens it issues.
			sso.MCP = saas.HandlerFunc(op.ServeMCP)
			g.mcp.portal.UseTokens(func(ctx context.Context, portalID, raw string) (*identity.Identity, string, error) {
				t, err := op.VerifyPortalToken(ctx, portalID, raw)
				switch {
				case errors.Is(err, oidcop.ErrPortalTokenInvalid), errors.Is(err, oidcop.ErrPortalTokenRevoked):
					return nil, "", fmt.Errorf("%w: %w", mcp.ErrTokenInvalid, err)
				case err != nil:
					return nil, "", err
				}
				return t.Identity, t.ClientID, nil
			})
			asMetadata := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				snap := g.Snapshots.Load()
				wellKnown, path, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/.well-known/"), "/")
				id, ok := strings.CutPrefix("/"+path, snap.Profile.Path("sso/mcp/"))
				app := snap.Apps[id]
				if !ok || app == nil || app.Type != store.AppMCPPortal {
					http.NotFound(w, r)
					return
				}
				op.ServeMCP(w, r, app, ".well-known/"+wellKnown)
			})
			mounts = append(mounts,
				mount{path: "/.well-known/oauth-authorization-server/", subtree: true, handler: asMetadata},
				mount{path: "/.well-known/openid-configuration/", subtree: true, handler: asMetadata})
		}
		// Upstream OAuth: the callback of every authorization and the portals' connect pages,
		// before the portals themselves (config reserves these two ids).
		connect := &mcp.Connect{Snapshots: g.Snapshots, Upstreams: g.mcp.upstreams, Authorize: g.Authn.Authorize,
			FormToken: g.Authn.FormToken, CheckFormToken: g.Authn.CheckFormToken, AdminAuthorized: g.mcpAdminAuthorized, Audit: recorder, Log: g.log}
		mounts = append(mounts,
			mount{path: "mcp/" + config.MCPCallbackPath, prefixed: true, handler: connect},
			mount{path: "mcp/" + config.MCPConnectPath + "/", prefixed: true, subtree: true, handler: connect},
			mount{path: "mcp/", prefixed: true, subtree: true, handler: g.mcp.portal},
			mount{path: "/.well-known/oauth-protected-resource/", subtree: true, handler: http.HandlerFunc(g.mcp.portal.ServeResourceMetadata)})
	}
	return &authDomain{g: g, login: g.Authn, mounts: mounts}
}

// Handler is the public listener's handler: it resolves the client of every request once
// (trusted proxies, country) for every surface, then sends the auth domain to its router and
// every other host to the reverse proxy.
func (g *Gatehouse) Handler() http.Handler {
	return g.clients.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor == 1 && len(r.Header.Values("Upgrade")) > 0 {
			// A connection that offered a protocol switch is not reused unless the switch
			// happens (the proxy takes this back for a WebSocket handshake it forwards); the
			// public listener closes it anyway, this tells the client.
			w.Header().Set("Connection", "close")
		}
		if httpx.NormalizeHost(r.Host) == g.Snapshots.Load().AuthHost {
			g.authDomain.ServeHTTP(w, r)
			return
		}
		g.Proxy.ServeHTTP(w, r)
	}))
}

// InternalHandler serves metrics, health, readiness and pprof. It must never be exposed publicly.
func (g *Gatehouse) InternalHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(g.registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if !g.storeReady(r.Context()) {
			http.Error(w, "store unavailable", http.StatusServiceUnavailable)
			return
		}
		if g.Snapshots.Load() == nil {
			http.Error(w, "no configuration", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ready\n"))
	})
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}

// readinessPingTimeout bounds the store ping of /readyz: a database that hangs makes the replica
// not ready within this time, however long storage.query_timeout is.
const readinessPingTimeout = 2 * time.Second

// storeReady pings the store within readinessPingTimeout, records the result in the
// gatehouse_store_ready gauge and logs each change between ready and not ready.
func (g *Gatehouse) storeReady(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(ctx, readinessPingTimeout)
	defer cancel()
	err := g.Store.Ping(ctx)
	ready := err == nil
	if ready {
		g.storeUp.Set(1)
	} else {
		g.storeUp.Set(0)
	}
	if was := g.storeWasReady.Swap(ready); was != ready {
		if ready {
			g.log.Info("store ready again")
		} else {
			g.log.Error("store not ready: readiness fails until it answers", "err", err, "timeout", readinessPingTimeout)
		}
	}
	return ready
}
