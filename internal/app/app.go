// Package app is Gatehouse's composition root: it opens the store, applies the configuration file,
// loads signing keys, builds every surface (login flow, reverse proxy, App Launcher, SaaS IdP and
// OP, SCIM, admin API) and mounts them side by side on the auth-domain router, publishes each
// configuration version with its identity connectors and PIN senders as one snapshot, keeps
// revocations and keys current, and runs the public and internal listeners until shutdown. The
// command line reaches the store, keys and snapshot through it too (cli.go).
package app

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/gatehouse/gatehouse/internal/admin"
	"github.com/gatehouse/gatehouse/internal/ai/promptlog"
	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/authn"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/connguard"
	"github.com/gatehouse/gatehouse/internal/console"
	"github.com/gatehouse/gatehouse/internal/gateway"
	"github.com/gatehouse/gatehouse/internal/gateway/appreview"
	"github.com/gatehouse/gatehouse/internal/gateway/ca"
	"github.com/gatehouse/gatehouse/internal/gateway/devices"
	"github.com/gatehouse/gatehouse/internal/gateway/usage"
	"github.com/gatehouse/gatehouse/internal/geoip"
	"github.com/gatehouse/gatehouse/internal/httpx"
	"github.com/gatehouse/gatehouse/internal/identity/onetimepin"
	"github.com/gatehouse/gatehouse/internal/keys"
	"github.com/gatehouse/gatehouse/internal/netguard"
	"github.com/gatehouse/gatehouse/internal/proxy"
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
	// LogLines, when set, is the writer of Log's handler, which is then slog's JSONHandler
	// without ReplaceAttr or AddSource: the gateway writes its per-request lines there itself
	// (gateway.Options.RequestLines).
	LogLines io.Writer
	// Now replaces the clock (tests).
	Now func() time.Time
	// PINSender replaces every onetimepin sender (tests).
	PINSender onetimepin.Sender
	// ReloadInterval is the safety-net re-read of the store; default 30s.
	ReloadInterval time.Duration
	// DemoHint is authn.Service.DemoHint: set by `gatehouse demo` only.
	DemoHint string
}

// Gatehouse is one running instance.
type Gatehouse struct {
	// cfg is the configuration file Gatehouse started with (its process settings stay in force);
	// applied is the one whose objects were last applied (ApplyFile), under fileMu.
	cfg      *config.File
	fileMu   sync.Mutex
	applied  *config.File
	log      *slog.Logger
	logLines io.Writer // Options.LogLines
	now      func() time.Time
	Store    store.Store
	Keys     *keys.Manager
	SAMLKeys *keys.Manager // SaaS SAML assertions; rotated by hand only
	// SAMLEncKeys decrypt assertions from SAML IdPs with enable_encryption; loaded (and the
	// first key created) only once such an IdP is configured. Rotated by hand only.
	SAMLEncKeys *keys.Manager
	// SAMLSPKeys sign AuthnRequests to SAML IdPs with sign_request; loaded once such an IdP is
	// configured. Rotated by hand only: IdPs pin the certificate.
	SAMLSPKeys *keys.Manager
	// Snapshots publishes the current configuration version with its runtime (connectors, PIN
	// senders, identity headers) as one value.
	Snapshots   *snapshot.Holder
	Revocations *session.Revocations
	// Tokens verifies Gatehouse's JWTs; Sessions verifies the session behind them for every
	// surface.
	Tokens   *token.Verifier
	Sessions *session.Verifier
	Authn    *authn.Service
	Proxy    *proxy.Proxy
	// SCIM is the SCIM provisioning server on the auth domain; set SCIM.OnChange to send its
	// changes to an audit sink.
	SCIM *scim.Server
	// Admin is the admin REST API, served under admin.APIPrefix on the auth domain.
	Admin *admin.API
	// Console is the admin console, served under <prefix>admin/ on the auth domain.
	Console *console.Console
	// AppReviews are the review statuses in force for the gateway's application library.
	AppReviews *appreview.Book
	// Gateway is the forward proxy on listen.gateway (nil when it is off); GatewayAddr is its
	// bound address once Run listens.
	Gateway *gateway.Gateway
	// gatewayCA and gatewayMinter keep TLS inspection on the CA in use (nil without a gateway).
	gatewayCA     *ca.Manager
	gatewayMinter *ca.Minter
	gatewayAddr   atomic.Pointer[net.Addr]
	// gatewayUsage sums the gateway's requests into the store's usage rollups (nil when the
	// gateway is off or the store keeps none).
	gatewayUsage *usage.Recorder
	// PromptLog seals and stores AI prompt logs (nil when the store keeps none or
	// dlp.payload_log.public_key is not set). The gateway and the reverse proxy log captured
	// prompts through it.
	PromptLog *promptlog.Writer
	// mcp is the MCP server portal (nil when the store cannot keep its state).
	mcp *mcpSurface
	// Devices checks enrolled gateway devices' proxy credentials (nil when the store cannot
	// hold devices); Enroll serves device enrolment on the auth domain.
	Devices *devices.Verifier
	Enroll  *devices.Enroll
	// AuditExporter copies audit and auth events to the configured sinks (nil when none).
	AuditExporter *audit.Exporter
	registry      *prometheus.Registry
	// storeUp is the gatehouse_store_ready gauge; storeWasReady the last readiness result, to
	// log only its changes.
	storeUp       prometheus.Gauge
	storeWasReady atomic.Bool
	transport     transportMetrics
	geo           *geoip.DB
	clients       *httpx.ClientResolver
	authDomain    http.Handler
	snapOpts      snapshot.Options
	reloadEvery   time.Duration
	httpClient    *http.Client
	pinOverride   onetimepin.Sender
	// builtin is the built-in demo origin (upstream builtin:demo).
	builtin *builtinOrigin

	// publishMu serialises publishing: compiling a version, building its runtime and swapping it
	// in. The fields below belong to it.
	publishMu sync.Mutex
	// connectors are the identity connectors of the published version, by IdP ID, with the
	// fingerprint of what they were built from: a connector is rebuilt only when that changes,
	// so its caches (SAML metadata, OIDC discovery and JWKS) survive every other reload.
	connectors map[string]builtConnector
	// published is the configuration the current snapshot was compiled from.
	published *store.Config
	// samlKeys is the fingerprint of the SAML request-signing and encryption keys the SAML
	// connectors were built with.
	samlKeys string
}

// OpenStore opens the configured store and applies migrations.
func OpenStore(ctx context.Context, cfg *config.File, now func() time.Time) (store.Store, error) {
	var opts []sqlstore.Option
	if d := cfg.Storage.QueryTimeout.Std(); d > 0 {
		opts = append(opts, sqlstore.WithOperationTimeout(d))
	}
	if now != nil {
		opts = append(opts, sqlstore.WithClock(now))
	}
	dsn, where, err := storageDSN(cfg)
	if err != nil {
		return nil, err
	}
	st, err := sqlstore.Open(ctx, cfg.Storage.Driver, dsn, opts...)
	if err != nil {
		return nil, fmt.Errorf("storage.dsn: open %s database%s: %w", cfg.Storage.Driver, where, err)
	}
	return st, nil
}

// storageDSN resolves the configured DSN. For SQLite it creates the database's directory (mode
// 0700) when it is missing, and where names the database file for error messages (" /path"; ""
// for PostgreSQL, whose DSN may hold a password).
func storageDSN(cfg *config.File) (dsn, where string, err error) {
	dsn, err = cfg.StorageDSN()
	if err != nil {
		return "", "", fmt.Errorf("storage.dsn: %w", err)
	}
	if cfg.Storage.Driver != config.DriverSQLite {
		return dsn, "", nil
	}
	db, ok := config.SQLitePath(dsn)
	if !ok {
		return dsn, "", nil
	}
	if err := os.MkdirAll(filepath.Dir(db), 0o700); err != nil {
		return "", "", fmt.Errorf("storage.dsn: cannot create the database's directory: %w", err)
	}
	return dsn, " " + db, nil
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
	g := &Gatehouse{cfg: cfg, log: log, logLines: opts.LogLines, now: now, Snapshots: &snapshot.Holder{}, Revocations: &session.Revocations{},
		registry: prometheus.NewRegistry(), reloadEvery: opts.ReloadInterval, pinOverride: opts.PINSender,
		connectors: map[string]builtConnector{}}
	if g.reloadEvery == 0 {
		g.reloadEvery = 30 * time.Second
	}
	g.snapOpts = snapshotOptions(cfg)
	// Every problem with files, directories and secrets at once, each at its field, before
	// anything is opened.
	if err := cfg.CheckEnvironment(); err != nil {
		return nil, err
	}
	master, err := keys.LoadMasterKey(cfg.Secrets.MasterKeyFile)
	if err != nil {
		return nil, fmt.Errorf("secrets.master_key_file: %w", err)
	}
	if cfg.GeoIP.MMDBFile != "" {
		if g.geo, err = geoip.Open(cfg.GeoIP.MMDBFile); err != nil {
			return nil, fmt.Errorf("geoip.mmdb_file %s: %w", cfg.GeoIP.MMDBFile, err)
		}
	}
	g.clients = &httpx.ClientResolver{TrustedProxies: cfg.TrustedProxies, Country: g.geo.Country}
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
	// The issuer of the first version is needed for the key managers; publish checks it again.
	first, err := snapshot.Compile(applied, g.snapOpts)
	if err != nil {
		return nil, fmt.Errorf("compile configuration: %w", err)
	}
	if err := g.loadKeys(ctx, master, first, applied); err != nil {
		return nil, err
	}
	if err := g.Revocations.Load(ctx, g.Store); err != nil {
		return nil, err
	}
	g.httpClient = netguard.NewClient(15 * time.Second)
	if err := g.publish(applied); err != nil {
		return nil, err
	}
	g.Tokens = token.NewVerifier(g.Keys, first.Issuer, now)
	g.Sessions = session.NewVerifier(session.VerifierOptions{Store: g.Store, Tokens: g.Tokens, Keys: g.Keys,
		Revocations: g.Revocations, Now: now})
	recorder := &audit.Recorder{Store: g.Store, Log: log, Now: now}
	g.Authn = &authn.Service{Store: g.Store, Snapshots: g.Snapshots, Keys: g.Keys, Sessions: g.Sessions, Audit: recorder, Log: log, Now: now,
		DemoHint: opts.DemoHint}
	// The configuration file is applied at every start: an administrative change like any other.
	cfgDetails, _ := json.Marshal(map[string]any{"version": applied.Version, "applications": len(applied.Applications),
		"policies": len(applied.Policies), "identity_providers": len(applied.IdentityProviders)})
	if err := recorder.Record(ctx, &store.AuditEvent{ActorType: "system", Actor: "config-file", Action: "config.apply",
		TargetType: "config", TargetID: strconv.FormatInt(applied.Version, 10), Result: store.AuditSuccess, Details: cfgDetails}); err != nil {
		return nil, fmt.Errorf("audit the configuration change: %w", err)
	}
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
	g.storeUp = prometheus.NewGauge(prometheus.GaugeOpts{Name: "gatehouse_store_ready",
		Help: "1 when the last readiness check reached the store within its deadline, else 0."})
	g.storeWasReady.Store(true)
	g.transport = newTransportMetrics()
	g.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), g.storeUp,
		g.transport.framingRejected, g.transport.connectionsClosed, g.transport.http2Errors)
	g.builtin = g.newDemoOrigin()
	// The prompt log writer is shared by the gateway and the reverse proxy (applications'
	// prompt_protection.log_prompts).
	if err := g.newPromptLog(ctx, cfg); err != nil {
		return nil, err
	}
	if err := g.newMCP(cfg, master); err != nil {
		return nil, fmt.Errorf("mcp portal: %w", err)
	}
	proxyPrompts, err := newProxyPromptInspector(cfg.Gateway.PromptProtection)
	if err != nil {
		return nil, err
	}
	proxyOpts := proxy.Options{MaxRequestBodyBytes: int64(cfg.Limits.MaxRequestBodyBytes), UpstreamTimeout: cfg.Limits.UpstreamTimeout.Std(),
		StripRequestHeaders: cfg.Proxy.StripRequestHeaders, Transport: g.upstreamTransport(cfg.Limits.UpstreamTimeout.Std()),
		Prompts: proxyPrompts}
	if g.PromptLog != nil {
		proxyOpts.PromptLog = g.PromptLog
	}
	g.Proxy = proxy.New(g.Snapshots, g.Authn, g.Sessions, g.Keys, proxy.NewMetrics(g.registry), log, now, proxyOpts)
	if g.AppReviews, err = openAppReviews(ctx, cfg, g.Store); err != nil {
		return nil, err
	}
	adminSvc := &admin.Service{Store: g.Store, Audit: recorder, Now: now, ReportRetention: cfg.Gateway.Usage.Retention.Std(),
		// Revocations made through the API are enforced by this replica on the very next request.
		AfterRevoke: func(ctx context.Context) { g.Reload(ctx, store.Change{Revocations: true}) },
		// And so are configuration changes.
		AfterConfigChange: func(ctx context.Context) { g.Reload(ctx, store.Change{Config: true}) },
		CheckConfig:       g.checkObjects, ConfigFile: fileLabel(cfg), ETagKey: adminETagKey(master),
		GatewayPolicy: newGatewayPolicyAdmin(cfg)}
	switch cas, err := NewGatewayCAAdmin(g.Store, master); {
	case errors.Is(err, ca.ErrUnsupported): // no gateway CAs to list: the endpoint answers 404
	case err != nil:
		return nil, fmt.Errorf("gateway CA: %w", err)
	default:
		adminSvc.GatewayCAs = cas
	}
	g.Admin = admin.NewAPI(adminSvc, admin.APIOptions{Log: log})
	g.Console = &console.Console{Snapshots: g.Snapshots, Store: g.Store, Admin: adminSvc, Authorize: g.Authn.AuthorizeFresh,
		FormToken: g.Authn.FormToken, CheckFormToken: g.Authn.CheckFormToken, Log: log, Now: now}
	if err := g.newDevices(cfg, master, recorder); err != nil {
		return nil, err
	}
	g.authDomain = g.authDomainRouter(recorder)
	if g.Gateway, err = g.newGateway(ctx, cfg, master, recorder); err != nil {
		return nil, err
	}
	adminSvc.Gateway = &gatewayAdmin{book: g.AppReviews, st: g.Store, recorder: g.gatewayUsage, log: log, now: g.now}
	if m := g.mcpAdmin(); m != nil {
		adminSvc.MCP = m
	}
	if g.AuditExporter, err = newAuditExporter(cfg, g.Store, log); err != nil {
		return nil, err
	}
	ok = true
	return g, nil
}

// loadKeys creates the key managers of every key use and loads the token and SaaS SAML keys;
// the SAML IdP keys load once an IdP asks for them (buildRuntime).
func (g *Gatehouse) loadKeys(ctx context.Context, master []byte, snap *snapshot.Snapshot, applied *store.Config) error {
	keyOpts := keys.Options{Issuer: snap.AuthHost, Now: g.now,
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
			return fmt.Errorf("%s: %w", k.what, err)
		}
	}
	if err := g.Keys.Load(ctx); err != nil {
		return fmt.Errorf("signing keys: %w", err)
	}
	if err := g.SAMLKeys.Load(ctx); err != nil {
		return fmt.Errorf("SaaS SAML signing keys: %w", err)
	}
	return nil
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
	err := g.Authn.Audit.Record(ctx, &store.AuditEvent{Time: ch.Time, ActorType: "scim", Actor: ch.IdPID, IP: ch.IP,
		Action:     "scim." + strings.ToLower(ch.ResourceType) + "." + strings.ToLower(ch.Method),
		TargetType: strings.ToLower(ch.ResourceType), TargetID: ch.ResourceID, Result: result, Reasons: reasons, Details: details})
	if err != nil {
		g.log.Error("SCIM change not recorded in the audit log", "idp", ch.IdPID, "err", err)
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

// publicReadHeaderTimeout bounds reading a request head (and a TLS handshake) on the public
// listener.
const publicReadHeaderTimeout = 10 * time.Second

// http2WriteByteTimeout closes an HTTP/2 connection to which nothing could be written for this
// long while there was something to write.
const http2WriteByteTimeout = time.Minute

// Run serves until ctx ends, then shuts down gracefully. ready, if not nil, is called with the
// bound public and internal addresses once both listeners accept connections.
func (g *Gatehouse) Run(ctx context.Context, ready func(public, internal net.Addr)) error {
	pub, err := net.Listen("tcp", g.cfg.Listen.Public)
	if err != nil {
		return fmt.Errorf("listen.public %s: %w", g.cfg.Listen.Public, err)
	}
	internal, err := net.Listen("tcp", g.cfg.Listen.Internal)
	if err != nil {
		pub.Close()
		return fmt.Errorf("listen.internal %s: %w", g.cfg.Listen.Internal, err)
	}
	gwListener, gatewayServer, err := g.listenGateway(pub.Addr(), internal.Addr())
	if err != nil {
		pub.Close()
		internal.Close()
		return err
	}
	if g.gatewayUsage != nil {
		// Before any server: the admin API's report flushes through the running recorder.
		g.gatewayUsage.Start()
	}
	protocols := new(http.Protocols)
	protocols.SetHTTP1(true)
	protocols.SetHTTP2(true)
	limits := g.cfg.Limits
	guardOpts := connguard.Options{
		HandshakeTimeout: publicReadHeaderTimeout,
		MaxHeaderBytes:   int(limits.MaxRequestHeaderBytes),
		OnFramingError: func(c net.Conn, err *connguard.FramingError) {
			g.transport.framingRejected.WithLabelValues(err.Reason).Inc()
			g.log.Warn("request refused: ambiguous framing", "reason", err.Reason, "offset", err.Offset, "remote", c.RemoteAddr().String())
		},
		OnHandshakeError: func(c net.Conn, err error) {
			g.log.Debug("TLS handshake failed", "remote", c.RemoteAddr().String(), "err", err)
		},
	}
	var tlsConfig *tls.Config
	if g.cfg.TLS.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(g.cfg.TLS.CertFile, g.cfg.TLS.KeyFile)
		if err != nil {
			pub.Close()
			internal.Close()
			if gwListener != nil {
				gwListener.Close()
			}
			return fmt.Errorf("tls.cert_file %s, tls.key_file %s: %w", g.cfg.TLS.CertFile, g.cfg.TLS.KeyFile, err)
		}
		tlsConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12, NextProtos: []string{"h2", "http/1.1"}}
		guardOpts.TLS = tlsConfig
	} else {
		protocols.SetUnencryptedHTTP2(true)
		guardOpts.PriorKnowledgeHTTP2 = true
	}
	pubListener := connguard.NewListener(pub, guardOpts)
	guard := connguard.NewGuard(connguard.HTTP2Limits{
		StreamsPerSecond: float64(limits.HTTP2StreamsPerSecond), StreamBurst: limits.HTTP2StreamBurst,
		ResetsPerSecond: float64(limits.HTTP2ResetsPerSecond), ResetBurst: limits.HTTP2ResetBurst,
	}, g.now, func(c net.Conn, reason string) {
		g.transport.connectionsClosed.WithLabelValues(reason).Inc()
		g.log.Warn("client connection closed: over its HTTP/2 budget", "reason", reason, "remote", c.RemoteAddr().String())
	})
	publicServer := &http.Server{
		Handler:           guard.Handler(g.Handler()),
		ReadHeaderTimeout: publicReadHeaderTimeout,
		IdleTimeout:       limits.IdleTimeout.Std(),
		MaxHeaderBytes:    int(limits.MaxRequestHeaderBytes),
		ErrorLog:          slog.NewLogLogger(g.log.Handler(), slog.LevelDebug),
		Protocols:         protocols,
		TLSConfig:         tlsConfig,
		ConnState:         connguard.ConnState,
		ConnContext:       guard.ConnContext,
		HTTP2: &http.HTTP2Config{
			MaxConcurrentStreams: limits.HTTP2MaxConcurrentStreams,
			// A client that stops reading holds its streams (and their upstream requests) only
			// this long once Gatehouse has something to send it.
			WriteByteTimeout: http2WriteByteTimeout,
			CountError:       func(errType string) { g.transport.http2Errors.WithLabelValues(errType).Inc() },
		},
	}
	internalServer := &http.Server{Handler: g.InternalHandler(), ReadHeaderTimeout: 10 * time.Second}

	bg, stopBackground := context.WithCancel(ctx)
	defer stopBackground()
	go g.background(bg)
	go g.syncMCP(bg)
	if g.AuditExporter != nil {
		go g.AuditExporter.Run(bg)
	}

	errc := make(chan error, 3)
	go func() { errc <- publicServer.Serve(pubListener) }()
	go func() { errc <- internalServer.Serve(internal) }()
	logAttrs := []any{"public", pub.Addr().String(), "internal", internal.Addr().String(), "auth_domain", g.Snapshots.Load().Issuer}
	if gatewayServer != nil {
		addr := gwListener.Addr()
		g.gatewayAddr.Store(&addr)
		go func() { errc <- gatewayServer.Serve(gwListener) }()
		logAttrs = append(logAttrs, "gateway", addr.String())
	}
	g.log.Info("gatehouse listening", logAttrs...)
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
	if gatewayServer != nil {
		// Shutdown does not wait for hijacked connections: the gateway ends its tunnels itself.
		_ = gatewayServer.Shutdown(shutdownCtx)
		if err := g.Gateway.Shutdown(shutdownCtx); err != nil {
			g.log.Warn("gateway: tunnels still open at shutdown were cut", "err", err)
		}
		g.closeGatewayUsage(shutdownCtx)
	}
	g.closePromptLog(shutdownCtx)
	g.closeMCP(shutdownCtx)
	return runErr
}

// GatewayAddr returns the gateway listener's bound address once Run listens (nil when the
// gateway is off or not yet listening).
func (g *Gatehouse) GatewayAddr() net.Addr {
	if a := g.gatewayAddr.Load(); a != nil {
		return *a
	}
	return nil
}

// transportMetrics count what the public listener refuses below the handlers.
type transportMetrics struct {
	framingRejected   *prometheus.CounterVec
	connectionsClosed *prometheus.CounterVec
	http2Errors       *prometheus.CounterVec
}

func newTransportMetrics() transportMetrics {
	return transportMetrics{
		framingRejected: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gatehouse_http_framing_rejected_total",
			Help: "HTTP/1.x requests refused with 400 because two parsers could frame them differently, by reason."}, []string{"reason"}),
		connectionsClosed: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gatehouse_connections_closed_total",
			Help: "Client connections closed for exceeding their HTTP/2 stream or reset budget, by reason."}, []string{"reason"}),
		http2Errors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gatehouse_http2_errors_total",
			Help: "HTTP/2 protocol errors of client connections, by type (net/http's names)."}, []string{"type"}),
	}
}

// Close releases the store and GeoIP database.
func (g *Gatehouse) Close() {
	if g.Devices != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := g.Devices.Close(ctx); err != nil {
			g.log.Warn("gateway devices: last-seen times not recorded", "err", err)
		}
		cancel()
	}
	if g.builtin != nil {
		g.builtin.Close()
	}
	if g.gatewayUsage != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		g.closeGatewayUsage(ctx)
		cancel()
	}
	if g.PromptLog != nil {
		ctx, cancel := context.WithTimeout(context.Background(), promptLogCloseTimeout)
		g.closePromptLog(ctx)
		cancel()
	}
	if g.mcp != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		g.closeMCP(ctx)
		cancel()
	}
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
