// Package app is Gatehouse's composition root: it opens the store, applies the configuration file,
// loads signing keys, compiles and hot-swaps snapshots, keeps revocations current, and runs the
// public and internal listeners until shutdown.
package app

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/gatehouse/gatehouse/internal/admin"
	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/authn"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/geoip"
	"github.com/gatehouse/gatehouse/internal/httpx"
	"github.com/gatehouse/gatehouse/internal/identity"
	"github.com/gatehouse/gatehouse/internal/identity/connectors"
	"github.com/gatehouse/gatehouse/internal/identity/onetimepin"
	"github.com/gatehouse/gatehouse/internal/keys"
	"github.com/gatehouse/gatehouse/internal/launcher"
	"github.com/gatehouse/gatehouse/internal/netguard"
	"github.com/gatehouse/gatehouse/internal/proxy"
	"github.com/gatehouse/gatehouse/internal/saas"
	"github.com/gatehouse/gatehouse/internal/saas/oidcop"
	"github.com/gatehouse/gatehouse/internal/saas/samlidp"
	"github.com/gatehouse/gatehouse/internal/scim"
	"github.com/gatehouse/gatehouse/internal/session"
	"github.com/gatehouse/gatehouse/internal/snapshot"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse/gatehouse/internal/token"
)

// Options are the parts of a Gatehouse that are not in the configuration file.
type Options struct {
	Log *slog.Logger
	// Now replaces the clock (tests).
	Now func() time.Time
	// PINSender replaces every onetimepin sender (tests).
	PINSender onetimepin.Sender
	// ReloadInterval is the safety-net re-read of the store; default 30s.
	ReloadInterval time.Duration
}

// Gatehouse is one running instance.
type Gatehouse struct {
	cfg      *config.File
	log      *slog.Logger
	now      func() time.Time
	Store    store.Store
	Keys     *keys.Manager
	SAMLKeys *keys.Manager // SaaS SAML assertions; rotated by hand only
	// SAMLEncKeys decrypt assertions from SAML IdPs with enable_encryption; loaded (and the
	// first key created) only once such an IdP is configured. Rotated by hand only.
	SAMLEncKeys *keys.Manager
	// SAMLSPKeys sign AuthnRequests to SAML IdPs with sign_request; loaded once such an IdP is
	// configured. Rotated by hand only: IdPs pin the certificate.
	SAMLSPKeys  *keys.Manager
	Snapshots   *snapshot.Holder
	Revocations *session.Revocations
	Authn       *authn.Service
	Proxy       *proxy.Proxy
	// SCIM is the SCIM provisioning server on the auth domain; set SCIM.OnChange to send its
	// changes to an audit sink.
	SCIM *scim.Server
	// Admin is the admin REST API, served under admin.APIPrefix on the auth domain.
	Admin *admin.API
	// AuditExporter copies audit and auth events to the configured sinks (nil when none).
	AuditExporter *audit.Exporter
	registry      *prometheus.Registry
	geo           *geoip.DB
	snapOpts      snapshot.Options
	reloadEvery   time.Duration

	pinOverride onetimepin.Sender
	mu          sync.Mutex
	senders     map[string]onetimepin.Sender
	connectors  map[string]identity.Connector
	// identityHeaders are the header names IdPs send to origins, for the proxy.
	identityHeaders []string
	httpClient      *http.Client
	ready           bool
}

// OpenStore opens the configured store and applies migrations.
func OpenStore(ctx context.Context, cfg *config.File, now func() time.Time) (store.Store, error) {
	var opts []sqlstore.Option
	if now != nil {
		opts = append(opts, sqlstore.WithClock(now))
	}
	dsn, err := cfg.Storage.DSN.Resolve()
	if err != nil {
		return nil, fmt.Errorf("storage.dsn: %w", err)
	}
	st, err := sqlstore.Open(ctx, cfg.Storage.Driver, dsn, opts...)
	if err != nil {
		return nil, fmt.Errorf("open %s store: %w", cfg.Storage.Driver, err)
	}
	return st, nil
}

// New builds a Gatehouse from a validated configuration file: it opens the store, applies the
// file's objects, loads (or creates) signing keys and compiles the first snapshot.
func New(ctx context.Context, cfg *config.File, opts Options) (*Gatehouse, error) {
	log := opts.Log
	if log == nil {
		log = slog.Default()
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	g := &Gatehouse{cfg: cfg, log: log, now: now, Snapshots: &snapshot.Holder{}, Revocations: &session.Revocations{},
		registry: prometheus.NewRegistry(), senders: map[string]onetimepin.Sender{}, reloadEvery: opts.ReloadInterval}
	if g.reloadEvery == 0 {
		g.reloadEvery = 30 * time.Second
	}
	g.snapOpts = snapshotOptions(cfg)
	master, err := keys.LoadMasterKey(cfg.Secrets.MasterKeyFile)
	if err != nil {
		return nil, fmt.Errorf("master key: %w", err)
	}
	if cfg.GeoIP.MMDBFile != "" {
		if g.geo, err = geoip.Open(cfg.GeoIP.MMDBFile); err != nil {
			return nil, fmt.Errorf("geoip: %w", err)
		}
	}
	if g.Store, err = OpenStore(ctx, cfg, opts.Now); err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			g.Close()
		}
	}()
	applied, err := cfg.Apply(ctx, g.Store)
	if err != nil {
		return nil, fmt.Errorf("apply configuration: %w", err)
	}
	snap, err := snapshot.Compile(applied, g.snapOpts)
	if err != nil {
		return nil, fmt.Errorf("compile configuration: %w", err)
	}
	g.Snapshots.Store(snap)
	keyOpts := keys.Options{Issuer: snap.AuthHost, Now: now,
		RotationInterval: applied.Organization.KeyRotationInterval.Std(), Overlap: applied.Organization.KeyOverlap.Std()}
	for _, k := range []struct {
		m    **keys.Manager
		use  string
		what string
	}{
		{&g.Keys, "", "signing keys"}, {&g.SAMLKeys, store.SigningKeyUseSaaSSAML, "SaaS SAML signing keys"},
		{&g.SAMLEncKeys, store.SigningKeyUseSAMLEncryption, "SAML encryption keys"},
		{&g.SAMLSPKeys, store.SigningKeyUseSAMLSP, "SAML request signing keys"},
	} {
		opts, err := keyOpts.ForUse(k.use)
		if err == nil {
			*k.m, err = keys.NewManager(g.Store, master, opts)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", k.what, err)
		}
	}
	// The token and SaaS SAML keys are needed at once; the SAML IdP keys once an IdP asks for
	// them (buildConnectors).
	if err := g.Keys.Load(ctx); err != nil {
		return nil, fmt.Errorf("signing keys: %w", err)
	}
	if err := g.SAMLKeys.Load(ctx); err != nil {
		return nil, fmt.Errorf("SaaS SAML signing keys: %w", err)
	}
	if err := g.Revocations.Load(ctx, g.Store); err != nil {
		return nil, err
	}
	g.pinOverride = opts.PINSender
	if err := g.buildSenders(applied); err != nil {
		return nil, err
	}
	g.httpClient = netguard.NewClient(15 * time.Second)
	if err := g.buildConnectors(applied); err != nil {
		return nil, err
	}
	verifier := token.NewVerifier(g.Keys, snap.Issuer, now)
	g.Authn = &authn.Service{
		Store: g.Store, Snapshots: g.Snapshots, Keys: g.Keys, Verifier: verifier, Revocations: g.Revocations,
		PINSenders: g.pinSender, Connectors: g.connector, Audit: &audit.Recorder{Store: g.Store, Log: log, Now: now}, Geo: g.geo,
		TrustedProxies: cfg.TrustedProxies, Log: log, Now: now,
	}
	// The configuration file is applied at every start: an administrative change like any other.
	cfgDetails, _ := json.Marshal(map[string]any{"version": applied.Version, "applications": len(applied.Applications),
		"policies": len(applied.Policies), "identity_providers": len(applied.IdentityProviders)})
	if err := g.Authn.Audit.Record(ctx, &store.AuditEvent{ActorType: "system", Actor: "config-file", Action: "config.apply",
		TargetType: "config", TargetID: strconv.FormatInt(applied.Version, 10), Result: store.AuditSuccess, Details: cfgDetails}); err != nil {
		return nil, fmt.Errorf("audit the configuration change: %w", err)
	}
	saasEnv := saas.Env{Store: g.Store, Keys: g.Keys, SAMLKeys: g.SAMLKeys, Snapshots: g.Snapshots, Audit: g.Authn.Audit, Log: log, Now: now,
		Authorize: g.Authn.Authorize, Recheck: g.Authn.Recheck, Client: g.Authn.Client}
	samlIdP := samlidp.New(saasEnv)
	samlIdP.Client = g.Authn.Client
	g.Authn.SaaSSAML = samlIdP
	g.Authn.SaaSOIDC = oidcop.New(saasEnv)
	g.SCIM = &scim.Server{Store: g.Store, Log: log, Now: now,
		IdP: func(id string) *store.IdentityProvider { return g.Snapshots.Load().IdPByID[id] },
		BaseURL: func(id string) string {
			snap := g.Snapshots.Load()
			return snap.Issuer + snap.Profile.Path("scim/v2/"+id)
		},
		// Deprovisioning must be effective on this replica's very next request.
		Revoked:  func(ctx context.Context) { g.Reload(ctx, store.Change{Revocations: true}) },
		OnChange: g.recordSCIMChange,
	}
	g.Authn.SCIM = g.SCIM
	g.Authn.Home = &launcher.Launcher{Snapshots: g.Snapshots, Authorize: g.Authn.Authorize, Client: g.Authn.Client,
		Fallback: http.HandlerFunc(g.Authn.ServeStatus)}
	g.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	g.Proxy = proxy.New(g.Snapshots, g.Authn, g.Keys, verifier, g.Revocations, proxy.NewMetrics(g.registry), log, now,
		proxy.Options{MaxRequestBodyBytes: int64(cfg.Limits.MaxRequestBodyBytes), UpstreamTimeout: cfg.Limits.UpstreamTimeout.Std()})
	g.Proxy.SetIdentityHeaders(g.identityHeaders)
	adminSvc := &admin.Service{Store: g.Store, Audit: g.Authn.Audit, Now: now,
		// Revocations made through the API are enforced by this replica on the very next request.
		AfterRevoke: func(ctx context.Context) { g.Reload(ctx, store.Change{Revocations: true}) }}
	g.Admin = admin.NewAPI(adminSvc, admin.APIOptions{Log: log, ClientIP: func(r *http.Request) string {
		ip, _ := g.Authn.Client(r)
		return ip.String()
	}})
	if g.AuditExporter, err = newAuditExporter(cfg, g.Store, log); err != nil {
		return nil, err
	}
	g.ready = true
	ok = true
	return g, nil
}

func snapshotOptions(cfg *config.File) snapshot.Options {
	o := snapshot.Options{Scheme: "http"}
	if cfg.TLS.CertFile != "" {
		o.Scheme = "https"
	}
	if _, port, err := net.SplitHostPort(cfg.Listen.Public); err == nil {
		o.Port, _ = strconv.Atoi(port)
	}
	return o
}

// buildSenders prepares the PIN sender of each onetimepin identity provider.
func (g *Gatehouse) buildSenders(cfg *store.Config) error {
	override := g.pinOverride
	senders := map[string]onetimepin.Sender{}
	for _, idp := range cfg.IdentityProviders {
		if idp.Type != store.IdPOneTimePIN {
			continue
		}
		if override != nil {
			senders[idp.ID] = override
			continue
		}
		pc, err := onetimepin.ParseConfig(idp.Config)
		if err != nil {
			return fmt.Errorf("identity provider %q: %w", idp.ID, err)
		}
		if pc.SMTP == nil {
			g.log.Warn("identity provider has no SMTP settings: one-time PINs are written to this log (fine for a demo, not for production)", "idp", idp.ID)
			senders[idp.ID] = onetimepin.LogSender{Log: g.log}
			continue
		}
		password, err := pc.SMTP.Password.Resolve()
		if err != nil {
			return fmt.Errorf("identity provider %q: smtp password: %w", idp.ID, err)
		}
		senders[idp.ID] = &onetimepin.SMTPSender{Host: pc.SMTP.Host, Port: pc.SMTP.Port, From: pc.SMTP.From,
			TLSMode: pc.SMTP.TLS, Username: pc.SMTP.Username, Password: password, OrgName: cfg.Organization.Name}
	}
	g.mu.Lock()
	g.senders = senders
	g.mu.Unlock()
	return nil
}

// recordSCIMChange puts one SCIM write in the audit log (and so in its exports).
func (g *Gatehouse) recordSCIMChange(ctx context.Context, ch scim.Change) {
	result, reasons := store.AuditSuccess, ch.Effects
	if ch.Status >= 400 {
		result = store.AuditFailure
		if ch.Error != "" {
			reasons = append([]string{ch.Error}, reasons...)
		}
	}
	details, _ := json.Marshal(map[string]any{"method": ch.Method, "status": ch.Status, "external_id": ch.ExternalID,
		"user_email": ch.UserEmail, "group_name": ch.GroupName})
	err := g.Authn.Audit.Record(ctx, &store.AuditEvent{Time: ch.Time, ActorType: "scim", Actor: ch.IdPID,
		Action:     "scim." + strings.ToLower(ch.ResourceType) + "." + strings.ToLower(ch.Method),
		TargetType: strings.ToLower(ch.ResourceType), TargetID: ch.ResourceID, Result: result, Reasons: reasons, Details: details})
	if err != nil {
		g.log.Error("SCIM change not recorded in the audit log", "idp", ch.IdPID, "err", err)
	}
}

// samlIdPsWant reports whether some SAML identity provider has the boolean option set
// (sign_request, enable_encryption).
func samlIdPsWant(cfg *store.Config, option string) bool {
	for _, idp := range cfg.IdentityProviders {
		if on, _ := idp.Config[option].(bool); on && idp.Type == "saml" {
			return true
		}
	}
	return false
}

// loadOnce loads a key set the first time it is needed (creating its first key).
func loadOnce(m *keys.Manager) error {
	if signer, _ := m.Signer(); signer != nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return m.Load(ctx)
}

// buildConnectors builds the connector of every redirect-based identity provider.
func (g *Gatehouse) buildConnectors(cfg *store.Config) error {
	env := identity.Env{HTTPClient: g.httpClient, Now: g.now, Log: g.log, Replay: replayCache{g.Store}}
	if samlIdPsWant(cfg, "sign_request") {
		if err := loadOnce(g.SAMLSPKeys); err != nil {
			return fmt.Errorf("SAML request signing keys: %w", err)
		}
		env.Signer, _ = g.SAMLSPKeys.Signer()
		env.Certificate = g.SAMLSPKeys.Certificate()
	}
	if samlIdPsWant(cfg, "enable_encryption") {
		if err := loadOnce(g.SAMLEncKeys); err != nil {
			return fmt.Errorf("SAML encryption keys: %w", err)
		}
		env.Decrypters, env.EncryptionCertificates = g.SAMLEncKeys.Decrypters(), g.SAMLEncKeys.Certificates()
	}
	built := map[string]identity.Connector{}
	for _, idp := range cfg.IdentityProviders {
		c, err := connectors.New(idp, env)
		if err != nil {
			return fmt.Errorf("identity provider %q: %w", idp.ID, err)
		}
		if c != nil {
			built[idp.ID] = c
		}
	}
	var headers []string
	for _, c := range built {
		if hc, ok := c.(identity.HeaderAttributesConnector); ok {
			for _, h := range hc.HeaderAttributes() {
				headers = append(headers, h)
			}
		}
	}
	g.mu.Lock()
	g.connectors = built
	g.mu.Unlock()
	if g.Proxy != nil {
		g.Proxy.SetIdentityHeaders(headers)
	}
	g.identityHeaders = headers
	return nil
}

func (g *Gatehouse) connector(idpID string) identity.Connector {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.connectors[idpID]
}

// replayCache adapts the store to identity.ReplayCache.
type replayCache struct{ st store.Store }

func (r replayCache) Remember(ctx context.Context, key string, expires time.Time) (bool, error) {
	return r.st.RememberOnce(ctx, key, expires)
}

func (g *Gatehouse) pinSender(idpID string) onetimepin.Sender {
	g.mu.Lock()
	defer g.mu.Unlock()
	if s, ok := g.senders[idpID]; ok {
		return s
	}
	return onetimepin.LogSender{Log: g.log}
}

// Handler is the public listener's handler: the auth domain goes to the login service, every
// other host to the proxy.
func (g *Gatehouse) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		snap := g.Snapshots.Load()
		if httpx.NormalizeHost(r.Host) == snap.AuthHost {
			// The admin API has its own mux and authentication, apart from every browser page.
			if strings.HasPrefix(r.URL.Path, admin.APIPrefix) {
				g.Admin.ServeHTTP(w, r)
				return
			}
			g.Authn.ServeHTTP(w, r)
			return
		}
		g.Proxy.ServeHTTP(w, r)
	})
}

// InternalHandler serves metrics, health, readiness and pprof. It must never be exposed publicly.
func (g *Gatehouse) InternalHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(g.registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := g.Store.Ping(ctx); err != nil {
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

// Reload re-reads what changed in the store: a new configuration version is compiled and swapped
// in (a version that fails to compile is logged and the last good snapshot stays), revocations
// and keys are reloaded.
func (g *Gatehouse) Reload(ctx context.Context, ch store.Change) {
	if ch.Config {
		cfg, err := g.Store.GetConfig(ctx)
		switch {
		case err != nil:
			g.log.Error("reload configuration", "err", err)
		case cfg.Version != g.Snapshots.Load().Version:
			snap, err := snapshot.Compile(cfg, g.snapOpts)
			if err != nil {
				g.log.Error("configuration version rejected; keeping the last good one", "version", cfg.Version, "err", err)
				break
			}
			if err := g.buildSenders(cfg); err != nil {
				g.log.Error("configuration version rejected; keeping the last good one", "version", cfg.Version, "err", err)
				break
			}
			if err := g.buildConnectors(cfg); err != nil {
				g.log.Error("configuration version rejected; keeping the last good one", "version", cfg.Version, "err", err)
				break
			}
			g.Snapshots.Store(snap)
			g.log.Info("configuration applied", "version", cfg.Version)
		}
	}
	if ch.Revocations {
		if err := g.Revocations.Load(ctx, g.Store); err != nil {
			g.log.Error("reload revocations", "err", err)
		}
	}
	if ch.Keys {
		if err := g.SAMLKeys.Reload(ctx); err != nil {
			g.log.Error("reload SaaS SAML signing keys", "err", err)
		}
		for name, m := range map[string]*keys.Manager{"SAML encryption": g.SAMLEncKeys, "SAML request signing": g.SAMLSPKeys} {
			if signer, _ := m.Signer(); signer != nil {
				if err := m.Reload(ctx); err != nil {
					g.log.Error("reload "+name+" keys", "err", err)
				}
			}
		}
		if err := g.Keys.Reload(ctx); err != nil {
			g.log.Error("reload signing keys", "err", err)
		} else if cfg, err := g.Store.GetConfig(ctx); err == nil {
			// SAML connectors publish, sign and decrypt with the current keys.
			if err := g.buildConnectors(cfg); err != nil {
				g.log.Error("rebuild identity providers after a key change", "err", err)
			}
		}
	}
}

// background keeps the snapshot, revocations and keys current and rotates keys on schedule.
func (g *Gatehouse) background(ctx context.Context) {
	changes := g.Store.Watch(ctx)
	reload := time.NewTicker(g.reloadEvery)
	defer reload.Stop()
	rotate := time.NewTicker(time.Minute)
	defer rotate.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case ch, ok := <-changes:
			if !ok {
				return
			}
			g.Reload(ctx, ch)
		case <-reload.C:
			g.Reload(ctx, store.Change{Config: true, Revocations: true, Keys: true})
		case <-rotate.C:
			if rotated, err := g.Keys.RotateIfDue(ctx); err != nil {
				g.log.Error("scheduled key rotation", "err", err)
			} else if rotated {
				g.log.Info("signing key rotated on schedule")
			}
		}
	}
}

// Run serves until ctx ends, then shuts down gracefully. ready, if not nil, is called with the
// bound public and internal addresses once both listeners accept connections.
func (g *Gatehouse) Run(ctx context.Context, ready func(public, internal net.Addr)) error {
	pub, err := net.Listen("tcp", g.cfg.Listen.Public)
	if err != nil {
		return fmt.Errorf("public listener: %w", err)
	}
	internal, err := net.Listen("tcp", g.cfg.Listen.Internal)
	if err != nil {
		pub.Close()
		return fmt.Errorf("internal listener: %w", err)
	}
	protocols := new(http.Protocols)
	protocols.SetHTTP1(true)
	protocols.SetHTTP2(true)
	publicServer := &http.Server{
		Handler:           g.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       g.cfg.Limits.IdleTimeout.Std(),
		MaxHeaderBytes:    int(g.cfg.Limits.MaxRequestHeaderBytes),
		ErrorLog:          slog.NewLogLogger(g.log.Handler(), slog.LevelDebug),
		Protocols:         protocols,
	}
	if g.cfg.TLS.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(g.cfg.TLS.CertFile, g.cfg.TLS.KeyFile)
		if err != nil {
			pub.Close()
			internal.Close()
			return fmt.Errorf("tls: %w", err)
		}
		publicServer.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		pub = tls.NewListener(pub, publicServer.TLSConfig)
		publicServer.TLSConfig.NextProtos = []string{"h2", "http/1.1"}
	} else {
		protocols.SetUnencryptedHTTP2(true)
	}
	internalServer := &http.Server{Handler: g.InternalHandler(), ReadHeaderTimeout: 10 * time.Second}

	bg, stopBackground := context.WithCancel(ctx)
	defer stopBackground()
	go g.background(bg)
	if g.AuditExporter != nil {
		go g.AuditExporter.Run(bg)
	}

	errc := make(chan error, 2)
	go func() { errc <- publicServer.Serve(pub) }()
	go func() { errc <- internalServer.Serve(internal) }()
	g.log.Info("gatehouse listening", "public", pub.Addr().String(), "internal", internal.Addr().String(),
		"auth_domain", g.Snapshots.Load().Issuer)
	if ready != nil {
		ready(pub.Addr(), internal.Addr())
	}
	var runErr error
	select {
	case <-ctx.Done():
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			runErr = err
		}
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	_ = publicServer.Shutdown(shutdownCtx)
	_ = internalServer.Shutdown(shutdownCtx)
	return runErr
}

// Close releases the store and GeoIP database.
func (g *Gatehouse) Close() {
	if g.Store != nil {
		_ = g.Store.Close()
	}
	if g.geo != nil {
		g.geo.Close()
	}
}

// newAuditExporter builds the exporter of the configured audit sinks, or nil when there are none.
func newAuditExporter(cfg *config.File, st store.Store, log *slog.Logger) (*audit.Exporter, error) {
	var sinks []audit.Sink
	if cfg.Audit.File != "" {
		sinks = append(sinks, &audit.FileSink{Path: cfg.Audit.File})
	}
	if w := cfg.Audit.Webhook; w != nil {
		secret, err := cfg.Audit.WebhookSecret()
		if err != nil {
			return nil, err
		}
		sinks = append(sinks, &audit.WebhookSink{URL: w.URL, Secret: secret, Client: &http.Client{Timeout: 30 * time.Second}})
	}
	if len(sinks) == 0 {
		return nil, nil
	}
	al, ok := st.(store.AuditLog)
	if !ok {
		return nil, errors.New("audit export: the store cannot keep audit events")
	}
	return &audit.Exporter{Store: al, Sinks: sinks, Log: log}, nil
}
