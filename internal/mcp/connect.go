package mcp

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"

	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/httpx"
	"github.com/gatehouse/gatehouse/internal/policy"
	"github.com/gatehouse/gatehouse/internal/session"
	"github.com/gatehouse/gatehouse/internal/snapshot"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/web"
)

// CodeAuthorizationRequired is the JSON-RPC error of a call to a server the caller has not
// authorised yet (on_behalf), or that the administrator has not; its data carries the
// connect_url where the user connects.
const CodeAuthorizationRequired = -32063

// Paths under <prefix>mcp/ that are not portals (config reserves them as portal ids).
const (
	callbackPath = "servers-callback"
	connectPath  = "connect/"
)

// CallbackURL is the redirect URI of every upstream authorization: <prefix>mcp/servers-callback
// on the auth domain.
func CallbackURL(snap *snapshot.Snapshot) string {
	return snap.Issuer + snap.Profile.Path("mcp/"+callbackPath)
}

// ConnectURL is the page where a portal's users connect their accounts at its on_behalf
// servers: <prefix>mcp/connect/<portal id> on the auth domain.
func ConnectURL(snap *snapshot.Snapshot, portalID string) string {
	return snap.Issuer + snap.Profile.Path("mcp/"+connectPath+portalID)
}

// onBehalfUser is the user of a request for whom no grant can exist: a caller without a user
// (never shown on_behalf servers) gets no one's grant, least of all the administrator's.
const onBehalfUser = "\x00no-user"

// upstreamUser is whose credential a request uses at a server: the caller's own grant when the
// portal uses the server on_behalf of its users, else the administrator's ("").
func upstreamUser(rc *requestCtx, serverID string) string {
	for i := range rc.portal.Servers {
		if e := &rc.portal.Servers[i]; e.ServerID == serverID && e.OnBehalf {
			if rc.caller.userID == "" || rc.caller.machine {
				return onBehalfUser
			}
			return rc.caller.userID
		}
	}
	return ""
}

// authorizationRequired is the error of a call that needs an authorization first: the user's
// (with the connect page's URL) or the administrator's.
func (p *Portal) authorizationRequired(rc *requestCtx, srv *store.MCPServer) error {
	snap := p.o.Snapshots.Load()
	if upstreamUser(rc, srv.ID) == "" || snap == nil {
		return &jsonrpc.Error{Code: CodeAuthorizationRequired, Message: "The MCP server " + srv.ID +
			" is not authorised yet: an administrator must authorise Gatehouse there (gatehouse mcp servers authorize " + srv.ID + "). Reference " + rc.requestID + "."}
	}
	u := ConnectURL(snap, rc.portal.ID)
	data, _ := jsonMarshal(map[string]string{"connect_url": u, "server_id": srv.ID})
	return &jsonrpc.Error{Code: CodeAuthorizationRequired, Data: data,
		Message: "Connect your " + srv.Name + " account first: open " + u + " in your browser, connect " + srv.ID + ", then try again."}
}

// Connect serves the pages of upstream authorization on the auth domain: each portal's connect
// page (<prefix>mcp/connect/<portal id>), behind the user's session and the portal's policies,
// where users connect and disconnect their accounts at the portal's on_behalf servers, and the
// callback every authorization returns to (<prefix>mcp/servers-callback).
type Connect struct {
	Snapshots *snapshot.Holder
	Upstreams *Upstreams
	// Authorize logs the user in for an application and checks its policies, answering the
	// request itself (a login redirect, a block page) when it returns handled.
	Authorize func(w http.ResponseWriter, r *http.Request, app *snapshot.App, returnPath string) (*session.Grant, bool)
	// FormToken and CheckFormToken make and check the forms' CSRF tokens.
	FormToken      func(r *http.Request, purpose string) string
	CheckFormToken func(r *http.Request, purpose, posted string) bool
	// AdminAuthorized runs when the administrator's authorization of a server finished.
	AdminAuthorized func(serverID string)
	// Audit records every finished or failed authorization and every disconnect (nil: none).
	Audit *audit.Recorder
	Log   *slog.Logger
}

// Audit actions of upstream authorization.
const (
	// ActionUpstreamConnect: an authorization at an oauth server finished (or failed at its
	// callback): a user's (on_behalf) or the administrator's grant.
	ActionUpstreamConnect = "mcp_upstream.connect"
	// ActionUpstreamDisconnect: a user deleted their grant at a server.
	ActionUpstreamDisconnect = "mcp_upstream.disconnect"
)

// record writes an audit event of upstream authorization; actor is the user's e-mail ("" for
// the administrator's callback, which comes with no session).
func (c *Connect) record(r *http.Request, action, actor, serverID string, details map[string]any, opErr error) {
	if c.Audit == nil {
		return
	}
	ev := &store.AuditEvent{ActorType: store.ActorUser, Actor: actor, IP: httpx.ClientOf(r).IP.String(), Action: action,
		TargetType: "mcp_server", TargetID: serverID, Result: store.AuditSuccess}
	if actor == "" {
		ev.ActorType, ev.Actor = store.ActorSystem, "mcp-upstream-callback"
	}
	if opErr != nil {
		ev.Result = store.AuditFailure
		details["error"] = opErr.Error()
	}
	ev.Details, _ = json.Marshal(details)
	if err := c.Audit.Record(r.Context(), ev); err != nil {
		c.Log.LogAttrs(r.Context(), slog.LevelWarn, "mcp upstream: audit event not recorded", slog.String("action", action), slog.Any("err", err))
	}
}

const connectFormPurpose = "mcp-connect"

func (c *Connect) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	snap := c.Snapshots.Load()
	if snap == nil {
		http.Error(w, "Gatehouse is starting.", http.StatusServiceUnavailable)
		return
	}
	rest, _ := strings.CutPrefix(r.URL.Path, snap.Profile.Path("mcp/"))
	switch {
	case rest == callbackPath:
		c.callback(w, r, snap)
	case strings.HasPrefix(rest, connectPath):
		c.page(w, r, snap, strings.TrimPrefix(rest, connectPath))
	default:
		http.NotFound(w, r)
	}
}

func (c *Connect) vault() *Vault {
	if c.Upstreams == nil {
		return nil
	}
	return c.Upstreams.Vault()
}

func (c *Connect) message(w http.ResponseWriter, snap *snapshot.Snapshot, status int, title, msg string, link, linkText string) {
	data := map[string]any{}
	if link != "" {
		data["Link"], data["LinkText"] = link, linkText
	}
	web.Render(w, status, "message.html", &web.Page{Title: title, Brand: web.BrandOf(&snap.Org), Message: msg, Data: data})
}

// callback finishes an authorization: a user's only in that user's session.
func (c *Connect) callback(w http.ResponseWriter, r *http.Request, snap *snapshot.Snapshot) {
	v := c.vault()
	if v == nil || r.Method != http.MethodGet {
		http.NotFound(w, r)
		return
	}
	q := r.URL.Query()
	portalID := StatePortal(q.Get("state"))
	var user, email, back string
	if portalID != "" {
		app := snap.Apps[portalID]
		if app == nil || snap.MCPPortals[portalID] == nil {
			c.message(w, snap, http.StatusBadRequest, "Authorization failed", ErrStateUnknown.Error(), "", "")
			return
		}
		g, handled := c.Authorize(w, r, app, r.URL.RequestURI())
		if handled {
			return
		}
		user, email, back = g.Identity.UserID, g.Identity.Email, ConnectURL(snap, portalID)
	}
	st, err := v.Finish(r.Context(), q, user)
	if err != nil {
		ref := httpx.NewRequestID()
		msg := "The authorization could not be finished (reference " + ref + ")."
		var ase *ASError
		switch {
		case errors.Is(err, ErrStateUnknown), errors.Is(err, ErrStateWrongUser), errors.As(err, &ase):
			msg = err.Error() + " (reference " + ref + ")."
		}
		attrs := []slog.Attr{slog.String("reference", ref), slog.String("portal", portalID), slog.Any("err", err)}
		if st != nil {
			attrs = append(attrs, slog.String("server", st.ServerID), slog.String("started_by", st.UserEmail))
			c.record(r, ActionUpstreamConnect, email, st.ServerID, map[string]any{"portal": portalID, "started_by": st.UserEmail, "reference": ref}, err)
		}
		c.Log.LogAttrs(r.Context(), slog.LevelWarn, "mcp upstream authorization failed", attrs...)
		c.message(w, snap, http.StatusBadRequest, "Authorization failed", msg, back, "Back to your connections")
		return
	}
	c.Log.LogAttrs(r.Context(), slog.LevelInfo, "mcp upstream authorized", slog.String("server", st.ServerID),
		slog.String("portal", st.PortalID), slog.String("user", st.UserEmail), slog.Bool("administrator", st.UserID == ""))
	c.record(r, ActionUpstreamConnect, email, st.ServerID, map[string]any{"portal": st.PortalID, "administrator": st.UserID == ""}, nil)
	if st.UserID == "" {
		if c.AdminAuthorized != nil {
			c.AdminAuthorized(st.ServerID)
		}
		c.message(w, snap, http.StatusOK, "Authorized", "Gatehouse is authorised at the MCP server "+st.ServerID+
			" with your account; it syncs the server now. You may close this page.", "", "")
		return
	}
	http.Redirect(w, r, ConnectURL(snap, st.PortalID), http.StatusSeeOther)
}

// connectRow is one on_behalf server on a connect page.
type connectRow struct {
	ID, Name  string
	Connected bool
	Since     string
}

// page serves a portal's connect page: GET lists the portal's on_behalf servers the user may
// use with their connection state; POST connects (redirects to the server's authorization) or
// disconnects one.
func (c *Connect) page(w http.ResponseWriter, r *http.Request, snap *snapshot.Snapshot, portalID string) {
	portal, app := snap.MCPPortals[portalID], snap.Apps[portalID]
	v := c.vault()
	if portal == nil || app == nil || v == nil {
		http.Error(w, "There is no such MCP portal.", http.StatusNotFound)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, HEAD, POST")
		http.Error(w, "Method not allowed.", http.StatusMethodNotAllowed)
		return
	}
	g, handled := c.Authorize(w, r, app, r.URL.Path)
	if handled {
		return
	}
	cl := httpx.ClientOf(r)
	in := &policy.Input{Identity: g.Identity, ClientIP: cl.IP, Country: cl.Country}
	servers := map[string]*store.MCPServer{}
	var order []string
	for _, e := range portal.Servers {
		srv := snap.MCPServers[e.ServerID]
		if !e.OnBehalf || srv == nil || !admits(snap.Policies.App(policy.MCPServerPolicyID(portal.ID, e.ServerID)), in, false) {
			continue
		}
		servers[srv.ID] = srv
		order = append(order, srv.ID)
	}
	self := ConnectURL(snap, portal.ID)
	if r.Method == http.MethodPost {
		if err := r.ParseForm(); err != nil || !c.CheckFormToken(r, connectFormPurpose, r.PostForm.Get("csrf")) {
			c.message(w, snap, http.StatusForbidden, "Form expired", "This form has expired. Reload the page and try again.", self, "Reload")
			return
		}
		srv := servers[r.PostForm.Get("server")]
		if srv == nil {
			c.message(w, snap, http.StatusNotFound, "Unknown server", "This portal has no such server for you.", self, "Back")
			return
		}
		switch r.PostForm.Get("op") {
		case "connect":
			ctx, cancel := context.WithTimeout(r.Context(), DefaultCallTimeout)
			u, _, err := v.Begin(ctx, srv, Principal{UserID: g.Identity.UserID, Email: g.Identity.Email, PortalID: portal.ID}, CallbackURL(snap))
			cancel()
			if err != nil {
				ref := httpx.NewRequestID()
				c.Log.LogAttrs(r.Context(), slog.LevelWarn, "mcp upstream authorization not started", slog.String("reference", ref),
					slog.String("server", srv.ID), slog.Any("err", err))
				c.message(w, snap, http.StatusBadGateway, "Cannot connect", "The MCP server "+srv.Name+" cannot be authorised now (reference "+ref+").", self, "Back")
				return
			}
			http.Redirect(w, r, u, http.StatusSeeOther)
		case "disconnect":
			if err := v.Disconnect(r.Context(), srv.ID, g.Identity.UserID); err != nil {
				c.Log.LogAttrs(r.Context(), slog.LevelError, "mcp upstream disconnect", slog.String("server", srv.ID), slog.Any("err", err))
				c.message(w, snap, http.StatusServiceUnavailable, "Cannot disconnect", "Disconnecting failed; try again.", self, "Back")
				return
			}
			c.Upstreams.ForgetUser(srv.ID, g.Identity.UserID)
			c.record(r, ActionUpstreamDisconnect, g.Identity.Email, srv.ID, map[string]any{"portal": portal.ID}, nil)
			c.Log.LogAttrs(r.Context(), slog.LevelInfo, "mcp upstream disconnected", slog.String("server", srv.ID), slog.String("user", g.Identity.Email))
			http.Redirect(w, r, self, http.StatusSeeOther)
		default:
			c.message(w, snap, http.StatusBadRequest, "Unknown action", "Unknown action.", self, "Back")
		}
		return
	}
	connected, err := v.Connected(r.Context(), g.Identity.UserID)
	if err != nil {
		c.Log.LogAttrs(r.Context(), slog.LevelError, "mcp connect page", slog.Any("err", err))
		c.message(w, snap, http.StatusServiceUnavailable, "Unavailable", "Your connections cannot be read now; try again.", "", "")
		return
	}
	rows := make([]connectRow, 0, len(order))
	for _, id := range order {
		row := connectRow{ID: id, Name: servers[id].Name}
		if at, ok := connected[id]; ok {
			row.Connected, row.Since = true, at.UTC().Format(time.DateTime+" UTC")
		}
		rows = append(rows, row)
	}
	web.Render(w, http.StatusOK, "mcp_connect.html", &web.Page{Title: portal.Name + ": connected accounts", Brand: web.BrandOf(&snap.Org),
		Data: map[string]any{"Email": g.Identity.Email, "Servers": rows, "Action": snap.Profile.Path("mcp/" + connectPath + portal.ID),
			"CSRF": c.FormToken(r, connectFormPurpose)}})
}

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }
