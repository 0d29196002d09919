package app

import (
	"context"
	"errors"
	"log/slog"
	"reflect"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/dlp"
	"github.com/gatehouse/gatehouse/internal/mcp"
	"github.com/gatehouse/gatehouse/internal/store"
)

// MCPSyncInterval is how often every registered MCP server is synced in the background
// (Cloudflare's portal syncs about every two hours); a server added or changed in the
// configuration is synced at once.
const MCPSyncInterval = 2 * time.Hour

// mcpSurface is the MCP server portal and what runs beside it.
type mcpSurface struct {
	portal    *mcp.Portal
	syncer    *mcp.Syncer
	upstreams *mcp.Upstreams
	logs      *mcp.CallLogWriter
}

// newMCP builds the MCP server portal when the store can keep its state (both SQL backends
// can); without that capability the portal is not mounted.
func (g *Gatehouse) newMCP(cfg *config.File, master []byte) error {
	st, ok := g.Store.(store.MCP)
	if !ok {
		return nil
	}
	custom, err := cfg.DLP.LoadProfiles()
	if err != nil {
		return err
	}
	profiles, err := mcpProfiles(custom)
	if err != nil {
		return err
	}
	key, err := cfg.DLP.PayloadKey()
	if err != nil {
		return err
	}
	m := &mcpSurface{upstreams: mcp.NewUpstreams(nil), logs: mcp.NewCallLogWriterRetaining(st, g.mcpCallMetrics(), cfg.MCP.CallLogs.Retention.Std(), g.now)}
	if ua, ok := g.Store.(store.MCPUpstreamAuth); ok {
		v, err := mcp.NewVault(mcp.VaultOptions{Store: ua, MasterKey: master, Now: g.now, ClientName: "Gatehouse (" + cfg.Organization.Name + ")"})
		if err != nil {
			return err
		}
		m.upstreams.UseVault(v)
	}
	m.syncer = &mcp.Syncer{Store: st, Upstreams: m.upstreams, Now: g.now}
	m.portal = mcp.New(mcp.Options{Snapshots: g.Snapshots, Store: st, Upstreams: m.upstreams,
		DLP: dlp.NewEngine(dlp.Options{PayloadKey: key}), Profiles: profiles, Logs: m.logs, Log: g.log, Now: g.now})
	g.mcp = m
	g.registry.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "gatehouse_mcp_call_logs_written_total",
			Help: "MCP call log entries stored."}, func() float64 { return float64(m.logs.Written()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "gatehouse_mcp_call_logs_dropped_total",
			Help: "MCP call log entries dropped: the queue was full or the store failed (the log line was still written)."},
			func() float64 { return float64(m.logs.Dropped()) }))
	return nil
}

// mcpAdmin returns the MCP portal's administration on this process's snapshot and syncer, or
// nil when the portal is not mounted.
func (g *Gatehouse) mcpAdmin() *mcpAdmin {
	if g.mcp == nil {
		return nil
	}
	st, _ := g.Store.(store.MCP)
	return &mcpAdmin{st: st, syncer: g.mcp.syncer, changed: g.mcp.portal.StatesChanged, log: g.log, now: g.now,
		vault: g.mcp.upstreams.Vault(), callback: func() (string, error) {
			snap := g.Snapshots.Load()
			if snap == nil {
				return "", errors.New("no configuration loaded")
			}
			return mcp.CallbackURL(snap), nil
		},
		config: func() ([]store.MCPServer, []store.MCPPortal, string) {
			snap := g.Snapshots.Load()
			if snap == nil {
				return nil, nil, ""
			}
			servers := make([]store.MCPServer, 0, len(snap.MCPServers))
			for _, s := range snap.MCPServers {
				servers = append(servers, *s)
			}
			portals := make([]store.MCPPortal, 0, len(snap.MCPPortals))
			for _, p := range snap.MCPPortals {
				portals = append(portals, *p)
			}
			return servers, portals, snap.Profile.Path("mcp/")
		}}
}

// mcpCallMetrics returns the logger of the MCP call log writer: g.log, with every "mcp call"
// line of a tool call also counted by decision in gatehouse_mcp_tool_calls_total (whatever
// the log level lets through).
func (g *Gatehouse) mcpCallMetrics() *slog.Logger {
	calls := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gatehouse_mcp_tool_calls_total",
		Help: "MCP tool calls through portals, by decision (allow, block, error)."}, []string{"decision"})
	g.registry.MustRegister(calls)
	for _, d := range mcpDecisions {
		calls.WithLabelValues(d)
	}
	return slog.New(&mcpCallCounter{Handler: g.log.Handler(), calls: calls})
}

// mcpCallCounter counts the call log writer's "mcp call" lines of tool calls by decision and
// passes every record on to the handler beneath.
type mcpCallCounter struct {
	slog.Handler
	calls *prometheus.CounterVec
}

// Enabled is always true: a call is counted even when its line is not logged.
func (h *mcpCallCounter) Enabled(context.Context, slog.Level) bool { return true }

func (h *mcpCallCounter) Handle(ctx context.Context, r slog.Record) error {
	if r.Message == "mcp call" {
		var method, decision string
		r.Attrs(func(a slog.Attr) bool {
			switch a.Key {
			case "method":
				method = a.Value.String()
			case "decision":
				decision = a.Value.String()
			}
			return true
		})
		if method == "tools/call" {
			if !slices.Contains(mcpDecisions, decision) {
				decision = "other"
			}
			h.calls.WithLabelValues(decision).Inc()
		}
	}
	if !h.Handler.Enabled(ctx, r.Level) {
		return nil
	}
	return h.Handler.Handle(ctx, r)
}

func (h *mcpCallCounter) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &mcpCallCounter{Handler: h.Handler.WithAttrs(attrs), calls: h.calls}
}

func (h *mcpCallCounter) WithGroup(name string) slog.Handler {
	return &mcpCallCounter{Handler: h.Handler.WithGroup(name), calls: h.calls}
}

// mcpProfiles indexes the predefined and custom DLP profiles by id, as the gateway does.
func mcpProfiles(custom []*dlp.Profile) (map[string]*dlp.Profile, error) {
	out := map[string]*dlp.Profile{}
	for _, name := range dlp.PredefinedProfileNames() {
		p, err := dlp.PredefinedProfile(name)
		if err != nil {
			return nil, err
		}
		out[dlp.ProfileID(name)] = p
	}
	for _, p := range custom {
		id := dlp.ProfileID(p.Name)
		if _, dup := out[id]; dup || id == "" {
			return nil, errors.New("dlp: custom profile " + p.Name + " has no id of its own")
		}
		out[id] = p
	}
	return out, nil
}

// syncMCP keeps the registered servers synced: at start, whenever the configuration changes
// a server (new, or its URL, transport, credential or review status changed), and every
// MCPSyncInterval. Only one replica's sync is needed, but every replica's is harmless: the
// store serialises the updates.
func (g *Gatehouse) syncMCP(ctx context.Context) {
	if g.mcp == nil {
		return
	}
	synced := map[string]store.MCPServer{}
	last := time.Time{}
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	for {
		snap := g.Snapshots.Load()
		all := !last.IsZero() && g.now().Sub(last) >= MCPSyncInterval
		if last.IsZero() {
			all = true
		}
		if snap != nil {
			for id, srv := range snap.MCPServers {
				prev, seen := synced[id]
				if !all && seen && prev.URL == srv.URL && prev.Transport == srv.Transport && prev.AuthType == srv.AuthType &&
					prev.ReviewStatus == srv.ReviewStatus && equalCredential(prev.AuthCredentials, srv.AuthCredentials) {
					continue
				}
				sctx, cancel := context.WithTimeout(ctx, 2*mcp.DefaultCallTimeout)
				res, err := g.mcp.syncer.Sync(sctx, srv)
				cancel()
				if ctx.Err() != nil {
					return
				}
				synced[id] = *srv
				logMCPSync(g.log, srv, res, err)
			}
		}
		if all {
			last = g.now()
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func equalCredential(a, b any) bool { return reflect.DeepEqual(a, b) }

// mcpAdminAuthorized syncs a server at once after its administrator's authorization finished
// on this replica.
func (g *Gatehouse) mcpAdminAuthorized(serverID string) {
	snap := g.Snapshots.Load()
	if g.mcp == nil || snap == nil || snap.MCPServers[serverID] == nil {
		return
	}
	srv := snap.MCPServers[serverID]
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*mcp.DefaultCallTimeout)
		defer cancel()
		res, err := g.mcp.syncer.Sync(ctx, srv)
		if res != nil {
			logMCPSync(g.log, srv, res, err)
			g.mcp.portal.StatesChanged()
		}
	}()
}

// closeMCP writes the queued call logs and closes upstream sessions.
func (g *Gatehouse) closeMCP(ctx context.Context) {
	if g.mcp == nil {
		return
	}
	if err := g.mcp.logs.Close(ctx); err != nil {
		g.log.LogAttrs(ctx, slog.LevelWarn, "mcp call logs not all written at shutdown", slog.Any("err", err))
	}
	g.mcp.upstreams.Close()
}
