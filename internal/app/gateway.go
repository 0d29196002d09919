package app

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"

	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/connguard"
	"github.com/gatehouse/gatehouse/internal/gateway"
	"github.com/gatehouse/gatehouse/internal/gateway/applib"
)

// newGateway builds the forward proxy of listen.gateway from the gateway section (nil when
// listen.gateway is empty), with its policy compiled once from the file.
func (g *Gatehouse) newGateway(cfg *config.File, recorder *audit.Recorder) (*gateway.Gateway, error) {
	if cfg.Listen.Gateway == "" {
		return nil, nil
	}
	gc := cfg.Gateway
	cat, err := applib.Default()
	if err != nil {
		return nil, fmt.Errorf("gateway application library: %w", err)
	}
	rulesPolicy, reviews, err := gc.CompilePolicy(cat)
	if err != nil {
		return nil, err
	}
	locations := make([]gateway.Location, len(gc.Locations))
	for i, l := range gc.Locations {
		locations[i] = gateway.Location{Name: l.Name, Networks: l.Networks}
	}
	return gateway.New(g.Snapshots, gateway.Options{
		Policy: &gateway.Policy{Rules: rulesPolicy, Catalog: cat, Reviews: reviews},
		Egress: &gateway.Egress{Pins: gc.HostPins(), Allowed: gc.AllowedPrivateNetworks,
			ConnectTimeout: gc.Limits.ConnectTimeout.Std()},
		Locations:         locations,
		MaxTunnels:        gc.Limits.MaxTunnels,
		TunnelIdleTimeout: gc.Limits.TunnelIdleTimeout.Std(),
		RateLimit:         g.Store,
		Audit:             recorder,
		Metrics:           gateway.NewMetrics(g.registry),
		Log:               g.log,
		Now:               g.now,
	}), nil
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
