package app

import (
	"context"
	"errors"
	"fmt"
	"github.com/gatehouse/gatehouse/internal/ai"
	"log/slog"
	"net"
	"net/http"
	"slices"

	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/connguard"
	"github.com/gatehouse/gatehouse/internal/dlp"
	"github.com/gatehouse/gatehouse/internal/gateway"
	"github.com/gatehouse/gatehouse/internal/gateway/applib"
	"github.com/gatehouse/gatehouse/internal/gateway/ca"
	"github.com/gatehouse/gatehouse/internal/gateway/devices"
	"github.com/gatehouse/gatehouse/internal/gateway/inspect"
	"github.com/gatehouse/gatehouse/internal/gateway/upload"
	"github.com/gatehouse/gatehouse/internal/gateway/usage"
	"github.com/gatehouse/gatehouse/internal/store"
)

// newGateway builds the forward proxy of listen.gateway from the gateway section (nil when
// listen.gateway is empty), with its policy compiled once from the file.
func (g *Gatehouse) newGateway(ctx context.Context, cfg *config.File, master []byte, recorder *audit.Recorder) (*gateway.Gateway, error) {
	if cfg.Listen.Gateway == "" {
		return nil, nil
	}
	gc := cfg.Gateway
	cat, err := applib.Default()
	if err != nil {
		return nil, fmt.Errorf("gateway application library: %w", err)
	}
	// The review statuses in force are the Book's (gateway.app_reviews over the stored ones);
	// reloadGatewayReviews keeps the policy on them.
	rulesPolicy, _, err := gc.CompilePolicy(cat)
	if err != nil {
		return nil, err
	}
	locations := make([]gateway.Location, len(gc.Locations))
	for i, l := range gc.Locations {
		locations[i] = gateway.Location{Name: l.Name, Networks: l.Networks}
	}
	var events gateway.EventSink
	if us, ok := g.Store.(store.GatewayUsage); ok {
		g.gatewayUsage = usage.New(usage.Options{Store: us, FlushInterval: gc.Usage.FlushInterval.Std(),
			Retention: gc.Usage.Retention.Std(), Registerer: g.registry, Log: g.log, Now: g.now})
		events = g.gatewayUsage
	} else {
		g.log.Warn("gateway: the store keeps no usage rollups; Shadow-AI discovery reports stay empty")
	}
	insp, err := g.newInspector(ctx, cfg, master)
	if err != nil {
		return nil, err
	}
	uploads, err := newUploadScanner(cfg)
	if err != nil {
		return nil, err
	}
	prompts, err := newPromptInspector(gc.PromptProtection, cat)
	if err != nil {
		return nil, err
	}
	// The AI prompt profiles are the prompt inspector's; the others the upload scanner's.
	var scanned []string
	promptProfiles := gc.PromptProtection.PromptProfileIDs()
	for _, id := range rulesPolicy.FieldStrings("dlp.profiles") {
		if !slices.Contains(promptProfiles, id) {
			scanned = append(scanned, id)
		}
	}
	var promptLog gateway.PromptLogger
	if g.PromptLog != nil {
		promptLog = g.PromptLog
	}
	var devs gateway.DeviceVerifier
	if g.Devices != nil {
		devs = g.Devices
	}
	return gateway.New(g.Snapshots, gateway.Options{
		Uploads:   uploads,
		Prompts:   prompts,
		PromptLog: promptLog,
		Policy: &gateway.Policy{Rules: rulesPolicy, Catalog: cat, Reviews: g.AppReviews.Reviews(),
			DLPProfiles: scanned, Scores: gateway.ScoresOf(cat, g.AppReviews.Evidence())},
		Decide:      insp.Decide,
		Interceptor: insp,
		Egress: &gateway.Egress{Pins: gc.HostPins(), Allowed: gc.AllowedPrivateNetworks,
			ConnectTimeout: gc.Limits.ConnectTimeout.Std()},
		Locations:         locations,
		MaxTunnels:        gc.Limits.MaxTunnels,
		TunnelIdleTimeout: gc.Limits.TunnelIdleTimeout.Std(),
		RateLimit:         g.Store,
		Devices:           devs,
		Audit:             recorder,
		Events:            events,
		Metrics:           gateway.NewMetrics(g.registry),
		Log:               g.log,
		RequestLines:      g.logLines,
		Now:               g.now,
	}), nil
}

// newPromptInspector builds AI prompt protection: the extraction adapters and the topic
// classifier, with gateway.prompt_protection's customer names and fail modes.
func newPromptInspector(pp config.GatewayPromptProtection, cat *applib.Catalog) (*ai.PromptInspector, error) {
	c, err := newPromptClassifier(pp)
	if err != nil {
		return nil, err
	}
	def, per := pp.PromptFailModes(cat)
	p, err := ai.NewPromptInspectorWith(ai.PromptInspectorOptions{Classifier: c, DefaultFailMode: def, FailModes: per,
		CustomProfiles: pp.CustomPromptProfiles()})
	if err != nil {
		return nil, fmt.Errorf("ai prompt protection: %w", err)
	}
	return p, nil
}

// newInspector builds TLS inspection: a leaf minter on the CA in use (reloaded with the keys,
// see reloadGatewayCA), the upstream roots (system plus gateway.upstream_ca_files) and
// tls_decrypt. Without a CA in use, or when the store cannot hold CAs, tunnels are spliced.
func (g *Gatehouse) newInspector(ctx context.Context, cfg *config.File, master []byte) (*inspect.Inspector, error) {
	gc := cfg.Gateway
	roots, err := gc.UpstreamRoots()
	if err != nil {
		return nil, err
	}
	minter, err := ca.NewMinter(nil, ca.MinterOptions{Now: g.now})
	if err != nil {
		return nil, fmt.Errorf("gateway CA: %w", err)
	}
	org := cfg.Organization.Name
	if org == "" {
		org = cfg.Organization.AuthDomain
	}
	mgr, err := ca.NewManager(g.Store, master, ca.Options{Organization: org, Now: g.now})
	switch {
	case errors.Is(err, ca.ErrUnsupported):
		g.log.Warn("this store cannot hold a gateway CA; TLS is not inspected")
	case err != nil:
		return nil, fmt.Errorf("gateway CA: %w", err)
	default:
		g.gatewayCA, g.gatewayMinter = mgr, minter
		g.reloadGatewayCA(ctx)
	}
	if !gc.DecryptEnabled() {
		g.log.Info("gateway.tls_decrypt.enabled is false: CONNECT tunnels are not inspected")
	}
	return inspect.New(inspect.Options{
		Minter:                minter,
		Roots:                 roots,
		Disabled:              !gc.DecryptEnabled(),
		IdleTimeout:           gc.Limits.IdleTimeout.Std(),
		MaxHeaderBytes:        int(gc.Limits.MaxRequestHeaderBytes),
		ResponseHeaderTimeout: cfg.Limits.UpstreamTimeout.Std(),
		Metrics:               inspect.NewMetrics(g.registry, minter),
		Log:                   g.log,
	}), nil
}

// reloadGatewayCA hands the gateway's minter the CA in use now (after a key change: the CLI's
// `gatehouse gateway ca activate` in another process is seen through the store's changes).
func (g *Gatehouse) reloadGatewayCA(ctx context.Context) {
	if g.gatewayCA == nil {
		return
	}
	before := g.gatewayMinter.Authority()
	if err := g.gatewayCA.Reload(ctx, g.gatewayMinter); err != nil {
		g.log.Error("gateway CA not reloaded; keeping the current one", "err", err)
		return
	}
	if after := g.gatewayMinter.Authority(); after != before {
		if after == nil {
			g.log.Warn("no gateway CA in use; TLS is not inspected")
		} else {
			g.log.Info("gateway CA in use: TLS is inspected", "id", after.ID(), "sha256", after.Fingerprint())
		}
	}
}

// newDevices builds gateway device enrolment (the auth domain's <prefix>gateway/ pages) and the
// verifier of device credentials, when the store can hold devices.
func (g *Gatehouse) newDevices(cfg *config.File, master []byte, recorder *audit.Recorder) error {
	v, err := devices.NewVerifier(g.Store, devices.VerifierOptions{Log: g.log, Now: g.now})
	if errors.Is(err, devices.ErrUnsupported) {
		return nil
	}
	if err != nil {
		return err
	}
	cas, err := ca.NewManager(g.Store, master, ca.Options{Organization: cfg.Organization.Name, Now: g.now})
	if err != nil {
		return fmt.Errorf("gateway CA: %w", err)
	}
	g.Devices = v
	g.Enroll = &devices.Enroll{Snapshots: g.Snapshots, Store: g.Store, Authorize: g.Authn.Authorize,
		FormToken: g.Authn.FormToken, CheckFormToken: g.Authn.CheckFormToken, TrustBundle: cas.TrustBundle,
		ProxyAddress: func() string { return g.proxyAddress(cfg) }, Audit: recorder, Log: g.log, Now: g.now,
		AfterRevoke: func(ctx context.Context) { g.Reload(ctx, store.Change{Revocations: true}) }}
	return nil
}

// proxyAddress is the host:port users configure as their proxy: gateway.proxy_address, else
// the auth domain with the port the gateway listens on (the bound one, when listen.gateway asks
// for any free port). "" when the gateway is off.
func (g *Gatehouse) proxyAddress(cfg *config.File) string {
	if cfg.Listen.Gateway == "" || cfg.Gateway.ProxyAddress != "" {
		return cfg.GatewayProxyAddress()
	}
	if a := g.GatewayAddr(); a != nil {
		if _, p, err := net.SplitHostPort(a.String()); err == nil {
			return net.JoinHostPort(cfg.Organization.AuthDomain, p)
		}
	}
	return cfg.GatewayProxyAddress()
}

// listenGateway opens the gateway listener and returns its server (nil, nil when the gateway
// is off). self are the process's other listening addresses: the gateway never connects to
// any of them, nor to itself.
func (g *Gatehouse) listenGateway(self ...net.Addr) (net.Listener, *http.Server, error) {
	if g.Gateway == nil {
		return nil, nil, nil
	}
	ln, err := net.Listen("tcp", g.cfg.Listen.Gateway)
	if err != nil {
		return nil, nil, fmt.Errorf("listen.gateway %s: %w", g.cfg.Listen.Gateway, err)
	}
	g.Gateway.Egress().SetSelf(append(self, ln.Addr()))
	limits := g.cfg.Gateway.Limits
	guarded := connguard.NewListener(ln, connguard.Options{
		MaxHeaderBytes: int(limits.MaxRequestHeaderBytes),
		OnFramingError: func(c net.Conn, err *connguard.FramingError) {
			g.transport.framingRejected.WithLabelValues(err.Reason).Inc()
			g.log.Warn("gateway request refused: ambiguous framing", "reason", err.Reason, "offset", err.Offset, "remote", c.RemoteAddr().String())
		},
	})
	srv := &http.Server{
		Handler:           g.Gateway,
		ReadHeaderTimeout: publicReadHeaderTimeout,
		IdleTimeout:       limits.IdleTimeout.Std(),
		MaxHeaderBytes:    int(limits.MaxRequestHeaderBytes),
		ErrorLog:          slog.NewLogLogger(g.log.Handler(), slog.LevelDebug),
		ConnState:         connguard.ConnState,
	}
	return guarded, srv, nil
}

// closeGatewayUsage writes the usage counted but not yet stored (at shutdown, before the store
// closes). It is safe to call more than once and when the gateway is off.
func (g *Gatehouse) closeGatewayUsage(ctx context.Context) {
	if g.gatewayUsage == nil {
		return
	}
	if err := g.gatewayUsage.Close(ctx); err != nil {
		g.log.Warn("gateway usage: the last counts could not be written", "err", err)
	}
}

// reloadGatewayReviews puts the review statuses in force now (after a change through the CLI,
// the admin API or another replica) into the gateway's policy.
func (g *Gatehouse) reloadGatewayReviews() {
	if g.Gateway == nil || g.AppReviews == nil {
		return
	}
	if p := g.Gateway.Policy(); p != nil {
		next := *p
		next.Reviews = g.AppReviews.Reviews()
		g.Gateway.SetPolicy(&next)
	}
}

// newUploadScanner builds the gateway's body scanner from the dlp section: the predefined and
// custom profiles, the scan limit, and the payload log key findings are encrypted to.
func newUploadScanner(cfg *config.File) (*upload.Scanner, error) {
	custom, err := cfg.DLP.LoadProfiles()
	if err != nil {
		return nil, err
	}
	key, err := cfg.DLP.PayloadKey()
	if err != nil {
		return nil, err
	}
	s, err := upload.New(upload.Options{Engine: dlp.NewEngine(dlp.Options{PayloadKey: key}), Custom: custom,
		MaxBodyBytes: int64(cfg.DLP.MaxScanBytes), MaxBufferedBytes: max(upload.DefaultMaxBufferedBytes, 4*int64(cfg.DLP.MaxScanBytes))})
	if err != nil {
		return nil, fmt.Errorf("dlp: %w", err)
	}
	return s, nil
}
