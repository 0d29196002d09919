// Package snapshot owns the compiled, immutable view of the configuration that the request hot
// path reads: the route table, the policy engine, applications by ID and audience tag, service
// tokens by client ID, identity providers and the wire profile. A new snapshot is compiled for
// every configuration version, given the identity connectors and PIN senders built for that version
// (Runtime), and swapped in atomically as one value; one that fails to compile or build is rejected
// and the last good snapshot stays in service.
package snapshot

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse/internal/policy"
	"github.com/gatehouse/gatehouse/internal/route"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/wire"
)

// Default durations (Cloudflare's).
const (
	DefaultSessionDuration = 24 * time.Hour
)

// Options are deployment facts the configuration objects do not carry.
type Options struct {
	// Scheme is "https" when the public listener serves TLS, else "http".
	Scheme string
	// Port is the public port browsers use; omitted from URLs when it is the scheme's default.
	Port int
}

// Snapshot is one compiled configuration version. It is never mutated after Compile.
type Snapshot struct {
	Version  int64
	Org      store.Organization
	Profile  *wire.Profile
	AuthHost string // lower-case auth domain
	// Issuer is the JWT issuer and the auth domain's base URL, e.g. https://auth.example.com.
	Issuer string

	Routes   *route.Table
	Policies *policy.Engine

	Apps          map[string]*App
	AppsByAUD     map[string]*App
	ServiceTokens map[string]*store.ServiceToken // by client ID
	IdPs          []*store.IdentityProvider      // in configuration order
	ordered       []*App                         // applications in configuration order
	IdPByID       map[string]*store.IdentityProvider

	// MCPServers are the registered MCP servers by id; MCPPortals the MCP portals by id, in
	// MCPPortalOrder's order. Each portal is also an application of type store.AppMCPPortal in
	// Apps (not in Ordered: it has no route and no launcher tile), for logins and policies.
	MCPServers     map[string]*store.MCPServer
	MCPPortals     map[string]*store.MCPPortal
	MCPPortalOrder []string

	opts    Options
	runtime runtime // connectors, PIN senders, identity headers (WithRuntime)
}

// App is a compiled application.
type App struct {
	store.Application
	UpstreamURL     *url.URL
	Policies        *policy.App
	LoginIdPs       []*store.IdentityProvider // the IdPs its login page offers, in order
	SessionDuration time.Duration
	SameSite        http.SameSite
	HTTPOnly        bool
}

// Compile builds a snapshot. The configuration was validated when it was stored, but Compile
// re-checks everything it relies on and fails rather than serve a half-understood config.
func Compile(cfg *store.Config, opts Options) (*Snapshot, error) {
	profile, ok := wire.ByName(cfg.Organization.Wire)
	if !ok {
		return nil, fmt.Errorf("unknown wire profile %q", cfg.Organization.Wire)
	}
	authHost := strings.ToLower(strings.TrimSuffix(cfg.Organization.AuthDomain, "."))
	if authHost == "" {
		return nil, errors.New("organization.auth_domain is empty")
	}
	if opts.Scheme == "" {
		opts.Scheme = "https"
	}
	routes, err := route.Compile(cfg.Applications)
	if err != nil {
		return nil, fmt.Errorf("compile routes: %w", err)
	}
	engine, err := policy.Compile(cfg)
	if err != nil {
		return nil, fmt.Errorf("compile policies: %w", err)
	}
	s := &Snapshot{
		Version:       cfg.Version,
		Org:           cfg.Organization,
		Profile:       profile,
		AuthHost:      authHost,
		Routes:        routes,
		Policies:      engine,
		Apps:          make(map[string]*App, len(cfg.Applications)),
		AppsByAUD:     make(map[string]*App, len(cfg.Applications)),
		ServiceTokens: make(map[string]*store.ServiceToken, len(cfg.ServiceTokens)),
		IdPByID:       make(map[string]*store.IdentityProvider, len(cfg.IdentityProviders)),
		opts:          opts,
	}
	s.Issuer = s.URL(authHost)
	for i := range cfg.IdentityProviders {
		idp := &cfg.IdentityProviders[i]
		s.IdPs = append(s.IdPs, idp)
		s.IdPByID[idp.ID] = idp
	}
	for i := range cfg.ServiceTokens {
		st := &cfg.ServiceTokens[i]
		s.ServiceTokens[st.ClientID] = st
	}
	for i := range cfg.Applications {
		a, err := s.compileApp(&cfg.Applications[i])
		if err != nil {
			return nil, fmt.Errorf("application %q: %w", cfg.Applications[i].ID, err)
		}
		s.Apps[a.ID] = a
		s.ordered = append(s.ordered, a)
		if a.AUD != "" {
			s.AppsByAUD[a.AUD] = a
		}
	}
	if err := s.compileMCP(cfg); err != nil {
		return nil, err
	}
	return s, nil
}

// compileMCP indexes the MCP servers and portals and makes each portal an application.
func (s *Snapshot) compileMCP(cfg *store.Config) error {
	s.MCPServers = make(map[string]*store.MCPServer, len(cfg.MCPServers))
	s.MCPPortals = make(map[string]*store.MCPPortal, len(cfg.MCPPortals))
	for i := range cfg.MCPServers {
		srv := &cfg.MCPServers[i]
		if s.MCPServers[srv.ID] != nil {
			return fmt.Errorf("mcp server %q: duplicate id", srv.ID)
		}
		s.MCPServers[srv.ID] = srv
	}
	for i := range cfg.MCPPortals {
		p := &cfg.MCPPortals[i]
		if s.Apps[p.ID] != nil {
			return fmt.Errorf("mcp portal %q: the id is taken", p.ID)
		}
		for _, e := range p.Servers {
			if s.MCPServers[e.ServerID] == nil {
				return fmt.Errorf("mcp portal %q: unknown server %q", p.ID, e.ServerID)
			}
		}
		a, err := s.compileApp(&store.Application{ID: p.ID, Type: store.AppMCPPortal, Name: p.Name,
			Policies: p.Policies, AllowedIdPs: p.AllowedIdPs, SessionDuration: p.SessionDuration})
		if err != nil {
			return fmt.Errorf("mcp portal %q: %w", p.ID, err)
		}
		s.Apps[p.ID] = a
		s.MCPPortals[p.ID] = p
		s.MCPPortalOrder = append(s.MCPPortalOrder, p.ID)
	}
	return nil
}

// BuiltinDemoHost is the upstream host an application with upstream store.UpstreamBuiltinDemo
// is forwarded to. The name never resolves (.invalid); the composition root's upstream
// transport connects it to the built-in demo origin in-process.
const BuiltinDemoHost = "demo.builtin.gatehouse.invalid"

func (s *Snapshot) compileApp(src *store.Application) (*App, error) {
	a := &App{Application: *src, Policies: s.Policies.App(src.ID), HTTPOnly: src.HTTPOnly()}
	if a.Policies == nil {
		return nil, errors.New("no compiled policies")
	}
	if a.Type == "" || a.Type == store.AppSelfHosted {
		raw := src.Upstream
		if raw == store.UpstreamBuiltinDemo {
			raw = "http://" + BuiltinDemoHost
		}
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("invalid upstream %q", src.Upstream)
		}
		a.UpstreamURL = u
	}
	a.SessionDuration = src.SessionDuration.Or(DefaultSessionDuration)
	switch strings.ToLower(src.SameSiteCookieAttribute) {
	case "none":
		a.SameSite = http.SameSiteNoneMode
	case "strict":
		a.SameSite = http.SameSiteStrictMode
	default:
		a.SameSite = http.SameSiteLaxMode
	}
	if len(src.AllowedIdPs) == 0 {
		a.LoginIdPs = s.IdPs
	} else {
		for _, id := range src.AllowedIdPs {
			idp, ok := s.IdPByID[id]
			if !ok {
				return nil, fmt.Errorf("allowed_idps: unknown identity provider %q", id)
			}
			a.LoginIdPs = append(a.LoginIdPs, idp)
		}
	}
	return a, nil
}

// Ordered returns the applications in configuration order.
func (s *Snapshot) Ordered() []*App { return s.ordered }

// URL returns the base URL of host as browsers reach it (scheme, host, non-default port).
func (s *Snapshot) URL(host string) string {
	if (s.opts.Scheme == "https" && s.opts.Port == 443) || (s.opts.Scheme == "http" && s.opts.Port == 80) || s.opts.Port == 0 {
		return s.opts.Scheme + "://" + host
	}
	return s.opts.Scheme + "://" + net.JoinHostPort(host, strconv.Itoa(s.opts.Port))
}

// Secure reports whether cookies get the Secure attribute (the public listener is HTTPS).
func (s *Snapshot) Secure() bool { return s.opts.Scheme == "https" }

// OrgCookie is the name of the org session cookie on the auth domain (wire.Profile.OrgCookie).
func (s *Snapshot) OrgCookie() string { return s.Profile.OrgCookie(s.Secure()) }

// AppCookie is the name of the session cookie on application hosts (wire.Profile.AppCookie).
func (s *Snapshot) AppCookie() string { return s.Profile.AppCookie(s.Secure()) }

// FlowCookie is the name prefix of login-flow binding cookies on the auth domain.
func (s *Snapshot) FlowCookie() string { return s.Profile.FlowCookie(s.Secure()) }

// AppFlowCookie is the name of the hand-off nonce cookie on application hosts.
func (s *Snapshot) AppFlowCookie() string { return s.Profile.AppFlowCookie(s.Secure()) }

// OrgSessionDuration is the global session lifetime.
func (s *Snapshot) OrgSessionDuration() time.Duration {
	return s.Org.SessionDuration.Or(DefaultSessionDuration)
}

// OrgAudience is the `aud` of org (global session) tokens.
func (s *Snapshot) OrgAudience() string { return s.AuthHost }

// Holder publishes the current snapshot.
type Holder struct{ p atomic.Pointer[Snapshot] }

// Load returns the current snapshot (nil before the first Store).
func (h *Holder) Load() *Snapshot { return h.p.Load() }

// Store publishes s.
func (h *Holder) Store(s *Snapshot) { h.p.Store(s) }

// AppURL is where a link to application a leads (its App Launcher tile, a signed-out page's
// "sign in again"): the self-hosted app's domain, the SaaS app's login URL, or the bookmark's
// URL; "" when a is nil or has none (its destinations are all wildcards). Only http(s) URLs are
// ever returned.
func (s *Snapshot) AppURL(a *App) string {
	if a == nil {
		return ""
	}
	switch a.Type {
	case "", store.AppSelfHosted:
		d := a.Domain
		if d == "" {
			for _, dest := range a.Destinations {
				if dest.Type == "public" && !strings.Contains(dest.URI, "*") {
					d = dest.URI
					break
				}
			}
		}
		if d == "" || strings.Contains(d, "*") {
			return ""
		}
		host, path, _ := strings.Cut(d, "/")
		return s.URL(host) + "/" + path
	case store.AppSaaS:
		if a.SaaSApp == nil {
			return ""
		}
		if a.SaaSApp.AuthType == store.SaaSAuthSAML && a.SaaSApp.DefaultRelayState != "" {
			return s.Issuer + s.Profile.Path("sso/saml/"+a.ID)
		}
		return linkURL(a.SaaSApp.AppLauncherURL)
	case store.AppBookmark:
		return linkURL(a.Domain)
	}
	return ""
}

// linkURL is raw when it is an absolute http(s) URL without user information, else "".
func linkURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
		return ""
	}
	return u.String()
}
