package app

import (
	"context"
	"errors"
	"log/slog"
	"reflect"
	"time"

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
func (g *Gatehouse) newMCP(cfg *config.File) error {
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
	m := &mcpSurface{upstreams: mcp.NewUpstreams(nil), logs: mcp.NewCallLogWriter(st, g.log)}
	m.syncer = &mcp.Syncer{Store: st, Upstreams: m.upstreams, Now: g.now}
	m.portal = mcp.New(mcp.Options{Snapshots: g.Snapshots, Store: st, Upstreams: m.upstreams,
		DLP: dlp.NewEngine(dlp.Options{PayloadKey: key}), Profiles: profiles, Logs: m.logs, Log: g.log, Now: g.now})
	g.mcp = m
	return nil
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
				switch {
				case err != nil:
					g.log.Warn("mcp server sync failed", "server", id, "err", err)
				case res.Changed:
					g.log.Warn("mcp server tools changed since approval", "server", id, "held", srv.HoldChangedTools)
				default:
					g.log.Info("mcp server synced", "server", id, "status", res.State.Status)
				}
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
