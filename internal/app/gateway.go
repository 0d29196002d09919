package app

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"

	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/connguard"
	"github.com/gatehouse/gatehouse/internal/gateway"
	"github.com/gatehouse/gatehouse/internal/gateway/usage"
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
	var events gateway.EventSink
	if us, ok := g.Store.(store.GatewayUsage); ok {
		g.gatewayUsage = usage.New(usage.Options{Store: us, FlushInterval: gc.Usage.FlushInterval.Std(),
			Retention: gc.Usage.Retention.Std(), Registerer: g.registry, Log: g.log, Now: g.now})
		events = g.gatewayUsage
	} else {
		g.log.Warn("gateway: the store keeps no usage rollups; Shadow-AI discovery reports stay empty")
	}
	return gateway.New(g.Snapshots, gateway.Options{
		Egress: &gateway.Egress{Pins: gc.HostPins(), Allowed: gc.AllowedPrivateNetworks,
			ConnectTimeout: gc.Limits.ConnectTimeout.Std()},
		Locations:         locations,
		MaxTunnels:        gc.Limits.MaxTunnels,
		TunnelIdleTimeout: gc.Limits.TunnelIdleTimeout.Std(),
		RateLimit:         g.Store,
		Audit:             recorder,
		Events:            events,
		Metrics:           gateway.NewMetrics(g.registry),
		Log:               g.log,
		Now:               g.now,
	})
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
