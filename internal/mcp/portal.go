// Package mcp owns the MCP server portal: registered MCP servers (their transports, upstream
// credentials, synced tools and review status), and portals, each one governed MCP endpoint
// at <prefix>mcp/<portal id> on the auth domain that aggregates servers with their tools
// namespaced {server_id}_{tool}.
//
// Every request to a portal is authenticated (service tokens; the portal never accepts a
// credential it would have to pass on), admitted by the portal's Access policies, and served
// from a view computed for that request alone: the approved, synced servers and the enabled
// tools whose policies admit the caller. tools/list shows only that view, and a tools/call is
// checked against it again, so a hidden tool cannot be called and nothing computed for one
// caller is served to another. Tool arguments and results are scanned with the portal's DLP
// profiles, results with the prompt-injection classifier (package ai/intent), and every call
// is logged (store.MCPCallLog). Upstreams are called with the administrator's credential for
// the server, through the SSRF-safe dialer.
//
// The portal speaks Streamable HTTP in every protocol revision the official Go SDK supports,
// statelessly: any replica answers any request, with no session affinity.
package mcp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
	fastjson "github.com/segmentio/encoding/json"

	"github.com/gatehouse/gatehouse/internal/ai/intent"
	"github.com/gatehouse/gatehouse/internal/dlp"
	"github.com/gatehouse/gatehouse/internal/httpx"
	"github.com/gatehouse/gatehouse/internal/identity"
	"github.com/gatehouse/gatehouse/internal/policy"
	"github.com/gatehouse/gatehouse/internal/session"
	"github.com/gatehouse/gatehouse/internal/snapshot"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Limits and timings of the portal.
const (
	// MaxRequestBytes bounds a request body (one JSON-RPC message).
	MaxRequestBytes = 4 << 20
	// MaxResultBytes bounds a tool result passed back to a client.
	MaxResultBytes = 8 << 20
	// StateTTL is how long a replica serves server states read from the store before it
	// reads them again: a sync or an approval reaches every replica within it.
	StateTTL = time.Second
)

// JSON-RPC error codes of the portal's refusals, in the implementation-defined server range
// and clear of the codes MCP and its SDKs use (-32000 connection closed and -32001 timeout in
// the TypeScript SDK, -32002 resource not found, -32005 rejected by transport, -32020 to -32022,
// -32042).
const (
	CodeBlocked      = -32060 // a DLP or prompt-injection rule blocked the call
	CodeUnavailable  = -32061 // the upstream server could not be reached or failed
	CodeNotPermitted = -32062 // the caller may not use the tool
)

// Decisions in call logs.
const (
	decisionAllow = "allow"
	decisionBlock = "block"
	decisionError = "error"
)

// Reasons in call logs.
const (
	ReasonAllowed         = "allowed"
	ReasonToolNotVisible  = "tool-not-visible"
	ReasonDLP             = "dlp"
	ReasonDLPIncomplete   = "dlp-incomplete"
	ReasonPromptInjection = "prompt-injection"
	ReasonUpstream        = "upstream-error"
	ReasonResultTooLarge  = "result-too-large"
	// ReasonAuthorizationRequired: the server is used with the caller's own grant (on_behalf)
	// or the administrator's, and there is none yet (or it was revoked).
	ReasonAuthorizationRequired = "authorization-required"
)

// TokenVerifier checks a bearer token presented to a portal; the composition root wires the
// portals' authorization server. It returns the identity the token was issued to and its OAuth
// client, an error wrapping ErrTokenInvalid for a token that is not valid for the portal
// (401), or another error when it cannot tell (503: fail closed).
type TokenVerifier func(ctx context.Context, portalID, token string) (ident *identity.Identity, clientID string, err error)

// ErrTokenInvalid is what a TokenVerifier wraps for a token it refuses.
var ErrTokenInvalid = errors.New("mcp: invalid token")

// Options configure a Portal.
type Options struct {
	Snapshots *snapshot.Holder
	Store     store.MCP
	Upstreams *Upstreams
	// DLP scans tool traffic with Profiles (by profile id, dlp.ProfileID).
	DLP      *dlp.Engine
	Profiles map[string]*dlp.Profile
	// Intent classifies tool results for prompt injection; nil builds one.
	Intent *intent.Classifier
	Logs   *CallLogWriter
	Log    *slog.Logger
	Now    func() time.Time
	// Tokens verifies OAuth access tokens; nil accepts service tokens only.
	Tokens TokenVerifier
}

// Portal serves every MCP portal. Safe for concurrent use.
type Portal struct {
	o       Options
	sdkLog  *slog.Logger
	handler *sdk.StreamableHTTPHandler

	mu      sync.Mutex
	states  *stateSet
	servers map[serverCacheKey]*builtServer

	// slowOnly turns the fast path off (tests compare the two paths); fastCalls counts the
	// calls it answered.
	slowOnly  atomic.Bool
	fastCalls atomic.Int64
}

// builtServer is the MCP server of a view, with the tools it took (addTool skips definitions
// the SDK refuses) and its implementation as the new revision's results name it.
type builtServer struct {
	srv   *sdk.Server
	tools map[string]bool
	impl  []byte
}

// New returns a Portal.
func New(o Options) *Portal {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Intent == nil {
		o.Intent = intent.New()
	}
	if o.DLP == nil {
		o.DLP = dlp.NewEngine(dlp.Options{})
	}
	p := &Portal{o: o, sdkLog: sdkLogger(o.Log), servers: map[serverCacheKey]*builtServer{}}
	p.handler = sdk.NewStreamableHTTPHandler(func(r *http.Request) *sdk.Server {
		if s, _ := r.Context().Value(serverKey{}).(*builtServer); s != nil {
			return s.srv
		}
		return nil
	}, &sdk.StreamableHTTPOptions{
		Stateless:    true,
		JSONResponse: true,
		// The auth-domain router admits only the auth domain's host name.
		DisableLocalhostProtection: true,
		MaxRequestBodyBytes:        MaxRequestBytes,
		Logger:                     sdkLogger(o.Log),
	})
	return p
}

// UseTokens sets the verifier of OAuth access tokens. The composition root calls it once,
// before the portal serves (the authorization server is built with the auth-domain router).
func (p *Portal) UseTokens(v TokenVerifier) { p.o.Tokens = v }

type serverKey struct{}

// sdkLogger passes the SDK's warnings and errors on; its per-request connection lines (every
// portal request is a session of its own) are left out.
func sdkLogger(l *slog.Logger) *slog.Logger {
	return slog.New(minLevel{l.Handler(), slog.LevelWarn})
}

type minLevel struct {
	slog.Handler
	min slog.Level
}

func (h minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}

func (h minLevel) WithAttrs(a []slog.Attr) slog.Handler {
	return minLevel{h.Handler.WithAttrs(a), h.min}
}

func (h minLevel) WithGroup(n string) slog.Handler { return minLevel{h.Handler.WithGroup(n), h.min} }

// caller is who a request comes from, as authenticated.
type caller struct {
	in       policy.Input
	userID   string
	email    string
	clientID string
	// machine is set for service tokens: they see only servers used with the
	// administrator's credential.
	machine bool
}

// ServeHTTP serves a request whose path is <prefix>mcp/<portal id>.
func (p *Portal) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	snap := p.o.Snapshots.Load()
	if snap == nil {
		http.Error(w, "Gatehouse is starting.", http.StatusServiceUnavailable)
		return
	}
	rest, _ := strings.CutPrefix(r.URL.Path, snap.Profile.Path("mcp/"))
	portal := snap.MCPPortals[rest]
	if portal == nil {
		http.Error(w, "There is no such MCP portal.", http.StatusNotFound)
		return
	}
	c, status, reason := p.authenticate(snap, portal, r)
	if status != 0 {
		if status == http.StatusUnauthorized {
			challenge := `Bearer resource_metadata="` + ResourceMetadataURL(snap, portal.ID) + `"`
			if reason != "credentials-missing" {
				challenge += `, error="invalid_token"`
			}
			w.Header().Set("WWW-Authenticate", challenge)
		}
		p.o.Log.LogAttrs(r.Context(), slog.LevelWarn, "mcp portal refused", slog.String("portal", portal.ID), slog.String("reason", reason))
		http.Error(w, http.StatusText(status), status)
		return
	}
	app := snap.Apps[portal.ID]
	if app == nil || !admits(app.Policies, &c.in, c.machine) {
		p.o.Log.LogAttrs(r.Context(), slog.LevelWarn, "mcp portal refused", slog.String("portal", portal.ID),
			slog.String("reason", "policy-denied"), slog.String("client", c.clientID), slog.String("email", c.email))
		http.Error(w, "Forbidden", http.StatusForbidden)
		return
	}
	var body []byte
	var msg rpcRequest
	var parsed bool
	if r.Method == http.MethodPost {
		b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxRequestBytes))
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				http.Error(w, fmt.Sprintf("The request is larger than %d bytes.", MaxRequestBytes), http.StatusRequestEntityTooLarge)
				return
			}
			http.Error(w, "The request body could not be read.", http.StatusBadRequest)
			return
		}
		body = b
		r.Body = io.NopCloser(bytes.NewReader(b))
		msg, parsed = parseRPCRequest(b)
		if mismatch := headerMismatch(r.Header, &msg, parsed); mismatch != "" {
			writeRPCError(w, http.StatusBadRequest, msg.ID, sdk.CodeHeaderMismatch, mismatch)
			return
		}
	}
	v, err := p.view(r.Context(), snap, portal, c)
	if err != nil {
		p.o.Log.LogAttrs(r.Context(), slog.LevelError, "mcp portal view", slog.String("portal", portal.ID), slog.Any("err", err))
		http.Error(w, "The portal's servers cannot be read now.", http.StatusServiceUnavailable)
		return
	}
	rc := &requestCtx{portal: portal, caller: c, requestID: httpx.NewRequestID()}
	if method, name, ok := msg.capability(parsed); ok && !v.has(method, name) {
		// A request for a tool, prompt or resource the caller cannot see (hidden, disabled,
		// unapproved or unknown) is answered by the SDK as unknown; it is logged as refused.
		p.logCall(rc, method, name, "", "", decisionBlock, ReasonToolNotVisible, time.Time{}, int64(len(body)), 0, nil, nil)
	}
	srv := p.server(snap, portal, v)
	ctx := context.WithValue(context.WithValue(r.Context(), serverKey{}, srv), requestKey{}, rc)
	if !p.slowOnly.Load() && parsed && msg.Method == "tools/call" && srv.tools[msg.Params.Name] && fastTransport(r) {
		if c, newRevision, ok := parseFastCall(r.Header, body); ok && c.Params.Name == msg.Params.Name && !v.tools[c.Params.Name].paramHeaders {
			p.fastCalls.Add(1)
			p.serveToolCall(ctx, w, c, newRevision, v.tools[c.Params.Name], srv.impl)
			return
		}
	}
	p.handler.ServeHTTP(w, r.WithContext(ctx))
}

// authenticate finds the caller of a request: an OAuth access token issued for the portal,
// or a valid service token. It returns a status (401, or 503 when a token cannot be checked
// now) and a reason when there is none.
func (p *Portal) authenticate(snap *snapshot.Snapshot, portal *store.MCPPortal, r *http.Request) (*caller, int, string) {
	cl := httpx.ClientOf(r)
	c := &caller{in: policy.Input{ClientIP: cl.IP, Country: cl.Country}}
	id, secret := r.Header.Get(snap.Profile.ClientIDHeader), r.Header.Get(snap.Profile.ClientSecretHeader)
	if authz := r.Header.Values("Authorization"); len(authz) > 0 && id == "" && secret == "" {
		scheme, tok, _ := strings.Cut(authz[0], " ")
		if len(authz) > 1 || !strings.EqualFold(scheme, "Bearer") || tok == "" || p.o.Tokens == nil {
			return nil, http.StatusUnauthorized, "token-invalid"
		}
		ident, client, err := p.o.Tokens(r.Context(), portal.ID, strings.TrimSpace(tok))
		switch {
		case errors.Is(err, ErrTokenInvalid):
			return nil, http.StatusUnauthorized, "token-invalid"
		case err != nil || ident == nil:
			p.o.Log.LogAttrs(r.Context(), slog.LevelError, "mcp portal token check failed", slog.String("portal", portal.ID), slog.Any("err", err))
			return nil, http.StatusServiceUnavailable, "token-check-failed"
		}
		c.in.Identity, c.userID, c.email, c.clientID = ident, ident.UserID, ident.Email, client
		return c, 0, ""
	}
	if id == "" && secret == "" {
		return nil, http.StatusUnauthorized, "credentials-missing"
	}
	st := session.CheckServiceToken(snap.ServiceTokens, id, secret, p.o.Now())
	if !st.Valid {
		reason := st.Reason
		if reason == "" {
			reason = session.ReasonServiceTokenInvalid
		}
		return nil, http.StatusUnauthorized, reason
	}
	c.in.ServiceToken = &st.ServiceTokenInput
	c.clientID, c.machine = id, true
	return c, 0, ""
}

// ResourceMetadataURL is where a portal's protected resource metadata (RFC 9728) is served:
// the well-known path inserted before the portal's path.
func ResourceMetadataURL(snap *snapshot.Snapshot, portalID string) string {
	return snap.Issuer + "/.well-known/oauth-protected-resource" + snap.Profile.Path("mcp/"+portalID)
}

// ServeResourceMetadata serves /.well-known/oauth-protected-resource<prefix>mcp/<portal id>:
// the portal's resource and its authorization server.
func (p *Portal) ServeResourceMetadata(w http.ResponseWriter, r *http.Request) {
	snap := p.o.Snapshots.Load()
	if snap == nil {
		http.Error(w, "Gatehouse is starting.", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Access-Control-Allow-Origin", "*")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "Method not allowed.", http.StatusMethodNotAllowed)
		return
	}
	rest, _ := strings.CutPrefix(r.URL.Path, "/.well-known/oauth-protected-resource")
	id, ok := strings.CutPrefix(rest, snap.Profile.Path("mcp/"))
	if !ok || snap.MCPPortals[id] == nil {
		http.Error(w, "There is no such MCP portal.", http.StatusNotFound)
		return
	}
	b, _ := json.Marshal(map[string]any{
		"resource":                 snap.Issuer + snap.Profile.Path("mcp/"+id),
		"authorization_servers":    []string{snap.Issuer + snap.Profile.Path("sso/mcp/"+id)},
		"bearer_methods_supported": []string{"header"},
		"scopes_supported":         []string{"openid", "email", "profile", "groups", "offline_access"},
		"resource_name":            snap.MCPPortals[id].Name,
	})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write(b)
}

// admits reports whether a compiled policy list admits the caller: a user allowed, or a
// service token admitted by a service-auth policy. A nil list admits (no restriction).
func admits(a *policy.App, in *policy.Input, machine bool) bool {
	if a == nil {
		return true
	}
	d := a.Evaluate(in)
	if machine {
		return d.Action == policy.ActionServiceAuth
	}
	return d.Action == policy.ActionAllow
}

// requestCtx is what a request's tool handlers share.
type requestCtx struct {
	portal    *store.MCPPortal
	caller    *caller
	requestID string
}

// requestKey carries a request's *requestCtx to its tool handlers (the SDK runs a stateless
// request's handlers in a context derived from the request's).
type requestKey struct{}

// maxServers bounds the servers kept (one per distinct view of a configuration and sync).
const maxServers = 512

// server returns the MCP server of a view: the caller's tools and nothing else. Servers hold
// definitions only and are shared by callers with the same view of the same configuration
// and sync; who calls is read from each request's context, never from the server.
func (p *Portal) server(snap *snapshot.Snapshot, portal *store.MCPPortal, v *view) *builtServer {
	key := serverCacheKey{portal: portal.ID, version: snap.Version, snap: snap, states: v.states,
		tools: strings.Join(v.order, "\x00") + "\x01" + strings.Join(v.promptOrder, "\x00") + "\x01" + strings.Join(v.uris, "\x00")}
	p.mu.Lock()
	b := p.servers[key]
	p.mu.Unlock()
	if b != nil {
		return b
	}
	caps := &sdk.ServerCapabilities{Tools: &sdk.ToolCapabilities{}}
	if len(v.promptOrder) > 0 {
		caps.Prompts = &sdk.PromptCapabilities{}
	}
	if len(v.uris) > 0 {
		caps.Resources = &sdk.ResourceCapabilities{}
	}
	impl := &sdk.Implementation{Name: "gatehouse/" + portal.ID, Title: portal.Name, Version: "1"}
	implJSON, _ := json.Marshal(impl)
	srv := sdk.NewServer(impl, &sdk.ServerOptions{Logger: p.sdkLog, Capabilities: caps, SetCacheable: privateResults})
	b = &builtServer{srv: srv, tools: make(map[string]bool, len(v.order)), impl: implJSON}
	for _, name := range v.order {
		t := v.tools[name]
		if addTool(srv, t.exposed, p.toolHandler(t)) {
			b.tools[name] = true
		}
	}
	for _, name := range v.promptOrder {
		pr := v.prompts[name]
		addFeature(func() { srv.AddPrompt(pr.exposed, p.promptHandler(pr.server, pr.upstream, name)) })
	}
	for _, uri := range v.uris {
		r := v.resources[uri]
		addFeature(func() { srv.AddResource(r.resource, p.resourceHandler(r.server)) })
	}
	p.mu.Lock()
	if len(p.servers) >= maxServers {
		clear(p.servers)
	}
	p.servers[key] = b
	p.mu.Unlock()
	return b
}

// serverCacheKey identifies a view: a portal in one configuration (the snapshot) and one read
// of the servers' states, and the tools it shows.
type serverCacheKey struct {
	portal  string
	version int64
	snap    *snapshot.Snapshot
	states  *stateSet
	tools   string
}

// privateResults marks every cacheable result (lists, resources/read) private and stale: each
// is computed for one caller, so no intermediary or shared client cache may serve it to
// another (the SDK's default scope is public).
func privateResults(_ context.Context, _ sdk.Request, c *sdk.Cacheable) {
	c.CacheScope, c.TTLMs = "private", 0
}

// addFeature runs an Add of an upstream's definition, skipping one the SDK panics on.
func addFeature(add func()) {
	defer func() { _ = recover() }()
	add()
}

// addTool adds a tool, refusing (and skipping) a definition the SDK would panic on: the
// definitions come from upstream servers.
func addTool(srv *sdk.Server, t *sdk.Tool, h sdk.ToolHandler) (ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	srv.AddTool(t, h)
	return true
}

// exchange is one request relayed to an upstream server: what the log names it, its
// arguments, and the upstream call, which returns the result and the text in it the
// prompt-injection classifier reads.
type exchange struct {
	// capability is the tool, prompt or resource as the client named it, upstream the tool
	// or prompt as its server names it (for the call log).
	method, capability, upstream string
	server                       *store.MCPServer
	args                         []byte
	// call returns the result, its JSON encoding when it has it already (nil: relay encodes
	// it), and the text the classifier reads.
	call func(ctx context.Context, uc *upstreamConn) (result any, out []byte, text string, err error)
}

// relay runs an exchange for the request's caller: DLP on the arguments, the call with the
// server's credential, DLP and the prompt-injection classifier on the result, and the call
// log. The result and its JSON encoding are returned only when every check passed.
func (p *Portal) relay(ctx context.Context, x *exchange) (any, []byte, error) {
	rc, _ := ctx.Value(requestKey{}).(*requestCtx)
	if rc == nil {
		// Not reached through ServeHTTP: nobody was authenticated (fail closed).
		return nil, nil, &jsonrpc.Error{Code: CodeNotPermitted, Message: "The request was not authorised."}
	}
	start := p.o.Now()
	in := int64(len(x.args))
	log := func(decision, reason string, out int64, findings, topics []string) {
		p.logCall(rc, x.method, x.capability, x.upstream, x.server.ID, decision, reason, start, in, out, findings, topics)
	}
	argFindings, reason, blocked := p.scan(ctx, rc.portal, x.args)
	if blocked {
		log(decisionBlock, reason, 0, argFindings, nil)
		return nil, nil, &jsonrpc.Error{Code: CodeBlocked, Message: "The request was blocked by your organisation's data protection policy (reference " + rc.requestID + ")."}
	}
	uc, err := p.o.Upstreams.conn(ctx, x.server, upstreamUser(rc, x.server.ID))
	if errors.Is(err, ErrAuthorizationRequired) {
		log(decisionBlock, ReasonAuthorizationRequired, 0, nil, nil)
		return nil, nil, p.authorizationRequired(rc, x.server)
	}
	if err != nil {
		log(decisionError, ReasonUpstream, 0, nil, nil)
		p.o.Log.LogAttrs(ctx, slog.LevelWarn, "mcp upstream", slog.String("server", x.server.ID), slog.Any("err", err))
		return nil, nil, &jsonrpc.Error{Code: CodeUnavailable, Message: "The MCP server " + x.server.ID + " cannot be reached (reference " + rc.requestID + ")."}
	}
	cctx, cancel := context.WithTimeout(ctx, DefaultCallTimeout)
	res, out, text, err := x.call(cctx, uc)
	cancel()
	if err != nil {
		var werr *jsonrpc.Error
		if errors.As(err, &werr) && werr.Code != codeRejectedByTransport {
			// The upstream's own protocol error goes back as it came.
			log(decisionError, ReasonUpstream, 0, nil, nil)
			return nil, nil, werr
		}
		if errors.Is(err, errResultTooLarge) {
			log(decisionBlock, ReasonResultTooLarge, maxUpstreamAnswer, nil, nil)
			return nil, nil, &jsonrpc.Error{Code: CodeUnavailable, Message: fmt.Sprintf("The result is larger than %d bytes (reference %s).", MaxResultBytes, rc.requestID)}
		}
		p.o.Upstreams.Forget(x.server.ID, uc.session)
		log(decisionError, ReasonUpstream, 0, nil, nil)
		p.o.Log.LogAttrs(ctx, slog.LevelWarn, "mcp upstream", slog.String("server", x.server.ID), slog.Any("err", err))
		return nil, nil, &jsonrpc.Error{Code: CodeUnavailable, Message: "The MCP server " + x.server.ID + " failed (reference " + rc.requestID + ")."}
	}
	if out == nil {
		out, err = json.Marshal(res)
	}
	if err != nil || len(out) > MaxResultBytes {
		log(decisionBlock, ReasonResultTooLarge, int64(len(out)), nil, nil)
		return nil, nil, &jsonrpc.Error{Code: CodeUnavailable, Message: fmt.Sprintf("The result is larger than %d bytes (reference %s).", MaxResultBytes, rc.requestID)}
	}
	findings, reason, blocked := p.scan(ctx, rc.portal, out)
	for _, e := range argFindings {
		findings = appendUnique(findings, e)
	}
	if blocked {
		log(decisionBlock, reason, int64(len(out)), findings, nil)
		return nil, nil, &jsonrpc.Error{Code: CodeBlocked, Message: "The result was blocked by your organisation's data protection policy (reference " + rc.requestID + ")."}
	}
	var topics []string
	if rc.portal.PromptInjection != store.MCPActionOff {
		topics = p.injection(text)
	}
	if blocksInjection(topics) && rc.portal.PromptInjection != store.MCPActionLog {
		log(decisionBlock, ReasonPromptInjection, int64(len(out)), findings, topics)
		return nil, nil, &jsonrpc.Error{Code: CodeBlocked, Message: "The result was blocked: it carries instructions to the model (prompt injection) (reference " + rc.requestID + ")."}
	}
	log(decisionAllow, ReasonAllowed, int64(len(out)), findings, topics)
	return res, out, nil
}

// toolHandler relays a call of one of the caller's tools.
func (p *Portal) toolHandler(t *visibleTool) sdk.ToolHandler {
	return func(ctx context.Context, req *sdk.CallToolRequest) (*sdk.CallToolResult, error) {
		res, _, err := p.relayTool(ctx, t, req.Params.Arguments)
		return res, err
	}
}

// relayTool relays a call of one of the caller's tools with its arguments (a JSON object, or
// none), for the SDK's tool handler and the fast path alike: relayed without the SDK's
// client where the upstream's session allows it (upstreamConn.raw), else through it.
func (p *Portal) relayTool(ctx context.Context, t *visibleTool, args []byte) (*sdk.CallToolResult, []byte, error) {
	res, out, err := p.relay(ctx, &exchange{method: "tools/call", capability: t.exposed.Name, upstream: t.upstream.Name, server: t.server, args: args,
		call: func(ctx context.Context, uc *upstreamConn) (any, []byte, string, error) {
			if uc.raw {
				raw, err := uc.callToolRaw(ctx, t.upstream.Name, args)
				if err != nil {
					return nil, nil, "", err
				}
				res, out, text, err := readToolResult(raw)
				if err != nil {
					return nil, nil, "", err
				}
				return res, out, text, nil
			}
			res, err := uc.session.CallTool(ctx, &sdk.CallToolParams{Name: t.upstream.Name, Arguments: json.RawMessage(orEmptyObject(args))})
			if err != nil {
				return nil, nil, "", err
			}
			return res, nil, toolResultText(res), nil
		}})
	if err != nil {
		return nil, nil, err
	}
	return res.(*sdk.CallToolResult), out, nil
}

// promptHandler relays a prompts/get of one of the caller's prompts.
func (p *Portal) promptHandler(srv *store.MCPServer, upstream, exposed string) sdk.PromptHandler {
	return func(ctx context.Context, req *sdk.GetPromptRequest) (*sdk.GetPromptResult, error) {
		args, _ := json.Marshal(req.Params.Arguments)
		res, _, err := p.relay(ctx, &exchange{method: "prompts/get", capability: exposed, upstream: upstream, server: srv, args: args,
			call: func(ctx context.Context, uc *upstreamConn) (any, []byte, string, error) {
				res, err := uc.session.GetPrompt(ctx, &sdk.GetPromptParams{Name: upstream, Arguments: req.Params.Arguments})
				if err != nil {
					return nil, nil, "", err
				}
				var b strings.Builder
				for _, m := range res.Messages {
					if m != nil {
						b.WriteString(contentText(m.Content))
					}
				}
				return res, nil, b.String(), nil
			}})
		if err != nil {
			return nil, err
		}
		return res.(*sdk.GetPromptResult), nil
	}
}

// resourceHandler relays a resources/read of one of the caller's resources.
func (p *Portal) resourceHandler(srv *store.MCPServer) sdk.ResourceHandler {
	return func(ctx context.Context, req *sdk.ReadResourceRequest) (*sdk.ReadResourceResult, error) {
		uri := req.Params.URI
		res, _, err := p.relay(ctx, &exchange{method: "resources/read", capability: uri, server: srv,
			call: func(ctx context.Context, uc *upstreamConn) (any, []byte, string, error) {
				res, err := uc.session.ReadResource(ctx, &sdk.ReadResourceParams{URI: uri})
				if err != nil {
					return nil, nil, "", err
				}
				var b strings.Builder
				for _, c := range res.Contents {
					if c != nil {
						b.WriteString(c.Text)
						b.WriteByte('\n')
					}
				}
				return res, nil, b.String(), nil
			}})
		if err != nil {
			return nil, err
		}
		return res.(*sdk.ReadResourceResult), nil
	}
}

func orEmptyObject(b []byte) []byte {
	if len(bytes.TrimSpace(b)) == 0 {
		return []byte("{}")
	}
	return b
}

// scan runs the portal's DLP profiles over b. blocked is set when a profile matched and the
// portal blocks, or when a scan was incomplete (fail closed).
func (p *Portal) scan(ctx context.Context, portal *store.MCPPortal, b []byte) (entries []string, reason string, blocked bool) {
	if portal.DLP == nil || len(b) == 0 {
		return nil, "", false
	}
	block := portal.DLP.Action != store.MCPActionLog
	for _, id := range portal.DLP.Profiles {
		prof := p.o.Profiles[id]
		if prof == nil {
			// Validation refuses unknown profiles; a profile that vanished fails closed.
			return entries, ReasonDLPIncomplete, true
		}
		v, err := p.o.DLP.Scan(ctx, bytes.NewReader(b), prof)
		if err != nil || v.Incomplete {
			return entries, ReasonDLPIncomplete, true
		}
		if v.Match {
			for _, f := range v.Findings {
				if !f.Example {
					entries = appendUnique(entries, f.Entry)
				}
			}
			if block {
				return entries, ReasonDLP, true
			}
		}
	}
	return entries, "", false
}

func appendUnique(s []string, v string) []string {
	for _, x := range s {
		if x == v {
			return s
		}
	}
	return append(s, v)
}

// toolResultText is the text of a tool result the classifier reads: text content, embedded
// resources' text and the structured content.
func toolResultText(res *sdk.CallToolResult) string {
	var b strings.Builder
	for _, c := range res.Content {
		b.WriteString(contentText(c))
	}
	if res.StructuredContent != nil {
		if sc, err := json.Marshal(res.StructuredContent); err == nil {
			b.Write(sc)
		}
	}
	return b.String()
}

// contentText is the text of one content item.
func contentText(c sdk.Content) string {
	switch c := c.(type) {
	case *sdk.TextContent:
		return c.Text + "\n"
	case *sdk.EmbeddedResource:
		if c.Resource != nil {
			return c.Resource.Text + "\n"
		}
	}
	return ""
}

// injection classifies text as context (tool output) and returns the prompt-injection topics
// found.
func (p *Portal) injection(text string) []string {
	if strings.TrimSpace(text) == "" {
		return nil
	}
	var topics []string
	for _, v := range p.o.Intent.Classify("", text) {
		if v.Topic == intent.TopicJailbreak {
			topics = append(topics, v.Topic+":"+v.Confidence)
		}
	}
	return topics
}

// blocksInjection reports whether the classifier's topics block a result: a verdict of medium
// or high confidence. A low-confidence one (a lone obfuscation signal in ordinary tool output,
// "k1 is open") is logged, not blocked.
func blocksInjection(topics []string) bool {
	for _, t := range topics {
		if !strings.HasSuffix(t, ":low") {
			return true
		}
	}
	return false
}

// rpcRequest is what the portal reads of a JSON-RPC request body itself, once, before the
// SDK reads the whole of it.
type rpcRequest struct {
	ID     json.RawMessage `json:"id"`
	Method string          `json:"method"`
	Params struct {
		Name string `json:"name"`
		URI  string `json:"uri"`
	} `json:"params"`
}

// parseRPCRequest reads a body as one JSON-RPC request; ok is false for anything else
// (a batch, malformed JSON), which the SDK answers. It reads field names as the SDK does
// (exactly; "Method" is not "method"), with the SDK's decoder, so that the portal checks and
// authorises what the SDK will serve.
func parseRPCRequest(body []byte) (rpcRequest, bool) {
	var msg rpcRequest
	rest, err := fastjson.Parse(body, &msg, fastjson.DontMatchCaseInsensitiveStructFields)
	return msg, err == nil && len(bytes.TrimSpace(rest)) == 0
}

// target is the tool, prompt or resource the request names: params.uri for resources/read,
// else params.name.
func (m *rpcRequest) target() string {
	if m.Method == "resources/read" {
		return m.Params.URI
	}
	return m.Params.Name
}

// capability returns the method and the tool, prompt or resource of a tools/call,
// prompts/get or resources/read request.
func (m *rpcRequest) capability(parsed bool) (method, name string, ok bool) {
	switch {
	case !parsed:
		return "", "", false
	case m.Method == "tools/call", m.Method == "prompts/get", m.Method == "resources/read":
		return m.Method, m.target(), true
	}
	return "", "", false
}

// headerMismatch checks the Mcp-Method and Mcp-Name headers, when sent (every revision
// from 2026-07-28 sends them), against the body, before anything is authorised or routed:
// a proxy or policy reading one and a server reading the other must never disagree. A body
// that is not one JSON-RPC request (parsed false) is left to the SDK.
func headerMismatch(h http.Header, msg *rpcRequest, parsed bool) string {
	method, name := h.Values("Mcp-Method"), h.Values("Mcp-Name")
	if len(method) == 0 && len(name) == 0 {
		return ""
	}
	if len(method) > 1 || len(name) > 1 {
		return "Mcp-Method and Mcp-Name may be sent once each"
	}
	if !parsed {
		return ""
	}
	if len(method) == 1 && method[0] != msg.Method {
		return fmt.Sprintf("header mismatch: Mcp-Method %q does not match the body's method %q", method[0], msg.Method)
	}
	if len(name) == 1 && name[0] != msg.target() {
		return fmt.Sprintf("header mismatch: Mcp-Name %q does not match the body's name %q", name[0], msg.target())
	}
	return ""
}

// writeRPCError answers with a JSON-RPC error response carrying the request's id (null when
// it has none).
func writeRPCError(w http.ResponseWriter, status int, id json.RawMessage, code int64, message string) {
	if len(id) == 0 {
		id = json.RawMessage("null")
	}
	out, _ := json.Marshal(struct {
		JSONRPC string          `json:"jsonrpc"`
		ID      json.RawMessage `json:"id"`
		Error   jsonrpc.Error   `json:"error"`
	}{"2.0", id, jsonrpc.Error{Code: code, Message: message}})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(out)
}
