package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"

	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/connguard"
	"github.com/gatehouse/gatehouse/internal/gateway"
	"github.com/gatehouse/gatehouse/internal/gateway/ca"
	"github.com/gatehouse/gatehouse/internal/gateway/devices"
	"github.com/gatehouse/gatehouse/internal/store"
)

// newGateway builds the forward proxy of listen.gateway from the gateway section (nil when
// listen.gateway is empty).
func (g *Gatehouse) newGateway(cfg *config.File, recorder *audit.Recorder) *gateway.Gateway {
	if cfg.Listen.Gateway == "" {
		return nil
	}
	gc := cfg.Gateway
	locations := make([]gateway.Location, len(gc.Locations))
	for i, l := range gc.Locations {
		locations[i] = gateway.Location{Name: l.Name, Networks: l.Networks}
	}
	var devs gateway.DeviceVerifier
	if g.Devices != nil {
		devs = g.Devices
	}
	return gateway.New(g.Snapshots, gateway.Options{
		Egress: &gateway.Egress{Pins: gc.HostPins(), Allowed: gc.AllowedPrivateNetworks,
			ConnectTimeout: gc.Limits.ConnectTimeout.Std()},
		Locations:         locations,
		MaxTunnels:        gc.Limits.MaxTunnels,
		TunnelIdleTimeout: gc.Limits.TunnelIdleTimeout.Std(),
		RateLimit:         g.Store,
		Devices:           devs,
		Audit:             recorder,
		Metrics:           gateway.NewMetrics(g.registry),
		Log:               g.log,
		Now:               g.now,
	})
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
