package admin

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/httpx"
	"github.com/gatehouse/gatehouse/internal/mailaddr"
	"github.com/gatehouse/gatehouse/internal/store"
)

// APIPrefix is where the admin REST API is served on the auth domain.
const APIPrefix = "/api/v1/"

// Error codes in the envelope (Cloudflare uses numeric codes; these are ours).
const (
	CodeAuth         = 10000 // missing or invalid API token
	CodeBadRequest   = 10001
	CodeForbidden    = 10003 // the token's scopes do not cover the request
	CodeNotFound     = 10004
	CodeConflict     = 10009
	CodePrecondition = 10012 // If-Match does not match: the object changed since it was read
	CodeRateLimited  = 10429
	CodeInternal     = 10500
)

// Envelope is the JSON shape of every answer.
type Envelope struct {
	Success    bool        `json:"success"`
	Errors     []Message   `json:"errors"`
	Messages   []Message   `json:"messages"`
	Result     any         `json:"result"`
	ResultInfo *ResultInfo `json:"result_info,omitempty"`
}

// Message is one error or message of an Envelope.
type Message struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// ResultInfo describes a page of a list result.
type ResultInfo struct {
	Page       int `json:"page"`
	PerPage    int `json:"per_page"`
	Count      int `json:"count"`
	TotalCount int `json:"total_count,omitempty"`
	// Cursor, on listings paged by cursor, is the ?cursor= of the next page ("" at the end).
	Cursor string `json:"cursor,omitempty"`
}

// APIOptions configure NewAPI.
type APIOptions struct {
	Log *slog.Logger
	// RequestsPerMinute bounds the requests of one token per minute; 0: DefaultRequestsPerMinute.
	RequestsPerMinute int
}

// API is the admin REST API handler. It has its own mux, separate from every browser page, and
// authenticates every request with an admin API token (Authorization: Bearer).
type API struct {
	svc *Service
	log *slog.Logger
	mux *http.ServeMux
	// routes are the registered endpoints, in registration order (the OpenAPI description is
	// generated from them).
	routes []Route
	// perMinute bounds the requests of one token per minute.
	perMinute int
	doc       openAPIDoc
}

// Route is one registered endpoint.
type Route struct {
	Method, Path string
	// Area is the scope area that guards it (scopeAny: every valid token).
	Area string
	// Read marks a POST that changes nothing (a check): read scopes allow it.
	Read bool
}

// NewAPI returns the admin REST API on svc.
func NewAPI(svc *Service, opts APIOptions) *API {
	a := &API{svc: svc, log: opts.Log, mux: http.NewServeMux(), perMinute: opts.RequestsPerMinute}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	if a.perMinute == 0 {
		a.perMinute = DefaultRequestsPerMinute
	}
	a.route("GET /api/v1/users", "user.list", a.listUsers)
	a.route("GET /api/v1/users/{id}", "user.get", a.getUser)
	a.route("GET /api/v1/users/{id}/active_sessions", "user.list_sessions", a.listSessions)
	a.route("POST /api/v1/users/{id}/revoke", "", a.revokeUser)
	a.route("DELETE /api/v1/users/{id}/active_sessions/{nonce}", "", a.revokeSession)
	a.route("POST /api/v1/apps/{id}/revoke_tokens", "", a.revokeAppTokens)
	a.route("GET /api/v1/devices", "gateway_device.list", a.listDevices)
	a.route("POST /api/v1/devices/revoke", "", a.revokeDevices)
	a.route("POST /api/v1/devices/{id}/revoke", "", a.revokeDevice)
	a.route("POST /api/v1/users/{id}/revoke_devices", "", a.revokeUserDevices)
	a.route("GET /api/v1/audit", "audit.query", a.queryAudit)
	a.route("GET /api/v1/logs/access_requests", "logs.access_requests", a.accessRequests)
	a.gatewayAppRoutes()
	a.reportRoutes()
	a.mcpRoutes()
	a.objectRoutes()
	a.policyRoutes()
	a.route("GET /api/v1/openapi.json", "", a.openAPI)
	a.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, Envelope{Errors: []Message{{CodeNotFound, "no such endpoint"}}})
	})
	return a
}

// Routes returns the registered endpoints.
func (a *API) Routes() []Route { return slices.Clone(a.routes) }

// DefaultRequestsPerMinute bounds the requests one admin token may make per minute (every
// replica counts together).
const DefaultRequestsPerMinute = 1200

// handlerFunc serves one endpoint: it returns the result (and page info) or an error that the
// adapter maps to a status and a safe message.
type handlerFunc func(r *http.Request, actor Actor) (any, *ResultInfo, error)

type (
	actorKey  struct{}
	scopesKey struct{}
)

// tagged is a result with an ETag and a status other than 200 (201 for a creation).
type tagged struct {
	result any
	etag   string
	status int
}

// areaOf is the scope area of an endpoint path.
func areaOf(path string) string {
	switch {
	case path == "/api/v1/openapi.json":
		return scopeAny
	case strings.HasPrefix(path, "/api/v1/access/ai-controls/mcp/"), strings.HasPrefix(path, "/api/v1/mcp/"):
		return ScopeMCP
	case strings.HasPrefix(path, "/api/v1/gateway/"), strings.HasPrefix(path, "/api/v1/devices"), path == "/api/v1/reports/ai_security",
		strings.HasPrefix(path, "/api/v1/dlp/"), strings.HasSuffix(path, "/revoke_devices"):
		return ScopeGateway
	case strings.HasPrefix(path, "/api/v1/audit"):
		return ScopeAudit
	default:
		return ScopeAccess
	}
}

// route registers an endpoint; readAction, when set, is the audit action recorded for a read
// (mutations are recorded by Service). The token's scopes must cover the endpoint's area.
func (a *API) route(pattern, readAction string, h handlerFunc) {
	a.routeAs(pattern, readAction, false, h)
}

// readRoute registers a POST that changes nothing (a check of its body): a read scope of its
// area allows it.
func (a *API) readRoute(pattern, readAction string, h handlerFunc) {
	a.routeAs(pattern, readAction, true, h)
}

func (a *API) routeAs(pattern, readAction string, read bool, h handlerFunc) {
	method, path, _ := strings.Cut(pattern, " ")
	area := areaOf(path)
	a.routes = append(a.routes, Route{Method: method, Path: path, Area: area, Read: read})
	write := method != http.MethodGet && !read
	a.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		actor, _ := r.Context().Value(actorKey{}).(Actor)
		scopes, _ := r.Context().Value(scopesKey{}).([]string)
		if !allows(scopes, area, write) {
			_ = a.svc.record(r.Context(), actor, "admin_api.authorize", "api", r.URL.Path,
				map[string]any{"method": r.Method, "scopes": scopes, "area": area}, authRefusal("insufficient-scope"))
			need := ScopeAll + ", " + area
			if !write && area != ScopeAudit {
				need += ", " + area + ":read, " + ScopeRead
			}
			writeJSON(w, http.StatusForbidden, Envelope{Errors: []Message{{CodeForbidden,
				"this token's scopes (" + strings.Join(scopes, ", ") + ") do not allow this request; it needs one of: " + need}}})
			return
		}
		result, info, err := h(r, actor)
		if readAction != "" {
			_ = a.svc.record(r.Context(), actor, readAction, "api", r.URL.Path, nil, err)
		}
		if err != nil {
			a.writeError(w, r, err)
			return
		}
		if d, ok := result.(rawDoc); ok {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("X-Content-Type-Options", "nosniff")
			_, _ = w.Write(d)
			return
		}
		status := http.StatusOK
		if t, ok := result.(tagged); ok {
			if t.etag != "" {
				w.Header().Set("ETag", t.etag)
			}
			if t.status != 0 {
				status = t.status
			}
			result = t.result
		}
		writeJSON(w, status, Envelope{Success: true, Result: result, ResultInfo: info})
	})
}

// ServeHTTP authenticates the request and dispatches it.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	ip := httpx.ClientOf(r).IP.String()
	tok, reason := a.authenticate(r.Context(), r.Header.Get("Authorization"))
	if tok == nil && reason == reasonStoreUnavailable {
		writeJSON(w, http.StatusServiceUnavailable, Envelope{Errors: []Message{{CodeInternal, "the database is unavailable; try again shortly"}}})
		return
	}
	if tok == nil {
		// Failed attempts are audited, at most failedAuthPerMinute per client IP, so that
		// unauthenticated clients cannot fill the audit log; the excess is refused with 429.
		allowed, err := a.svc.Store.HitRateLimit(r.Context(), "admin-api-auth-fail:"+ip, time.Minute, failedAuthPerMinute)
		if err == nil && !allowed {
			a.log.WarnContext(r.Context(), "admin API: too many failed authentications", "ip", ip)
			w.Header().Set("Retry-After", "60")
			writeJSON(w, http.StatusTooManyRequests, Envelope{Errors: []Message{{CodeAuth, "too many failed authentications; try again later"}}})
			return
		}
		// The audit event has the precise reason; the client is told the same thing whatever it
		// is, so that it learns nothing about which tokens exist.
		_ = a.svc.record(r.Context(), Actor{Type: store.ActorAPIToken, IP: ip}, "admin_api.authenticate", "api", r.URL.Path,
			map[string]any{"reason": string(reason)}, reason)
		w.Header().Set("WWW-Authenticate", `Bearer realm="gatehouse-admin"`)
		writeJSON(w, http.StatusUnauthorized, Envelope{Errors: []Message{{CodeAuth, "authentication required: send a valid admin API token as Authorization: Bearer <token>"}}})
		return
	}
	actor := Actor{Type: store.ActorAPIToken, Name: tok.Name, IP: ip}
	allowed, err := a.svc.Store.HitRateLimit(r.Context(), "admin-api:"+tok.ID, time.Minute, a.perMinute)
	if err == nil && !allowed {
		a.log.WarnContext(r.Context(), "admin API: token over its rate limit", "token_id", tok.ID)
		w.Header().Set("Retry-After", "60")
		writeJSON(w, http.StatusTooManyRequests, Envelope{Errors: []Message{{CodeRateLimited, "too many requests with this token; try again in a minute"}}})
		return
	}
	ctx := context.WithValue(context.WithValue(r.Context(), actorKey{}, actor), scopesKey{}, tok.Scopes)
	a.mux.ServeHTTP(w, r.WithContext(ctx))
}

// authRefusal is why a request was not authenticated; as an error, record audits it as the
// event's reason.
type authRefusal string

func (r authRefusal) Error() string { return "unauthenticated: " + string(r) }

// Reasons of refused admin API authentications, as the audit log records them.
const (
	// reasonMissingToken: no Authorization header.
	reasonMissingToken authRefusal = "missing-token"
	// reasonMalformedAuthorization: an Authorization header that is not "Bearer <token>".
	reasonMalformedAuthorization authRefusal = "malformed-authorization"
	// reasonMalformedToken: a bearer token that is not of the form Gatehouse issues (gha_ and
	// 43 base64url characters): a token of another system, or one cut short when pasted.
	reasonMalformedToken authRefusal = "malformed-token"
	// reasonUnknownToken: a well-formed token that is not (or no longer: deleted) in the store.
	reasonUnknownToken authRefusal = "unknown-token"
	// reasonTokenLookupFailed: the store failed to look the token up (logged with the cause).
	reasonTokenLookupFailed authRefusal = "token-lookup-failed"
	// reasonNoTokenStore: the store cannot keep admin API tokens.
	reasonNoTokenStore authRefusal = "no-token-store"
	// reasonStoreUnavailable: the database is down; answered 503, not audited as a refusal.
	reasonStoreUnavailable authRefusal = "store-unavailable"
)

// adminTokenLen is the length of the tokens CreateAdminToken issues: the prefix and 32 random
// bytes in unpadded base64url.
var adminTokenLen = len(AdminTokenPrefix) + base64.RawURLEncoding.EncodedLen(32)

// wellFormedToken reports whether raw has the form of a token CreateAdminToken issues.
func wellFormedToken(raw string) bool {
	rest, ok := strings.CutPrefix(raw, AdminTokenPrefix)
	if !ok || len(raw) != adminTokenLen {
		return false
	}
	for _, c := range []byte(rest) {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// failedAuthPerMinute bounds the failed authentications per client IP and minute.
const failedAuthPerMinute = 30

// authenticate returns the token the header carries, or nil and why not.
func (a *API) authenticate(ctx context.Context, header string) (*store.AdminToken, authRefusal) {
	if strings.TrimSpace(header) == "" {
		return nil, reasonMissingToken
	}
	scheme, raw, found := strings.Cut(header, " ")
	raw = strings.TrimSpace(raw)
	if !found || !strings.EqualFold(scheme, "Bearer") || raw == "" {
		return nil, reasonMalformedAuthorization
	}
	if !wellFormedToken(raw) {
		return nil, reasonMalformedToken
	}
	at, err := a.svc.tokens()
	if err != nil {
		return nil, reasonNoTokenStore
	}
	hash := HashAdminToken(raw)
	tok, err := at.AdminTokenByHash(ctx, hash)
	if errors.Is(err, store.ErrUnavailable) {
		return nil, reasonStoreUnavailable
	}
	if errors.Is(err, store.ErrNotFound) {
		return nil, reasonUnknownToken
	}
	if err != nil {
		a.log.ErrorContext(ctx, "admin API: token lookup failed", "err", err)
		return nil, reasonTokenLookupFailed
	}
	// The lookup is by hash already; compare again in constant time so that no code path
	// depends on a byte-wise comparison of secret material.
	if subtle.ConstantTimeCompare([]byte(hash), []byte(tok.TokenHash)) != 1 {
		return nil, reasonUnknownToken
	}
	if err := at.TouchAdminToken(ctx, tok.ID); err != nil {
		a.log.WarnContext(ctx, "admin API: cannot record token use", "token_id", tok.ID, "err", err)
	}
	return tok, ""
}

func writeJSON(w http.ResponseWriter, status int, env Envelope) {
	if env.Errors == nil {
		env.Errors = []Message{}
	}
	if env.Messages == nil {
		env.Messages = []Message{}
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(env)
}

// writeError maps an error to a status and a message users may see; the cause is only logged.
func (a *API) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var inv *invalidParam
	var ve *ValidationError
	switch {
	case errors.As(err, &ve):
		code, status := CodeBadRequest, http.StatusBadRequest
		if errors.Is(err, ErrConflict) {
			code, status = CodeConflict, http.StatusConflict
		}
		msgs := make([]Message, len(ve.Problems))
		for i, p := range ve.Problems {
			msgs[i] = Message{code, p.String()}
		}
		writeJSON(w, status, Envelope{Errors: msgs})
	case errors.Is(err, ErrPrecondition):
		writeJSON(w, http.StatusPreconditionFailed, Envelope{Errors: []Message{{CodePrecondition,
			"the object changed since you read it (If-Match does not match its ETag); read it again and retry"}}})
	case errors.As(err, &inv):
		writeJSON(w, http.StatusBadRequest, Envelope{Errors: []Message{{CodeBadRequest, inv.Error()}}})
	case errors.Is(err, ErrInvalid):
		writeJSON(w, http.StatusBadRequest, Envelope{Errors: []Message{{CodeBadRequest, publicText(err)}}})
	case errors.Is(err, ErrConflict):
		writeJSON(w, http.StatusConflict, Envelope{Errors: []Message{{CodeConflict, publicConflictText(err)}}})
	case errors.Is(err, ErrNotFound):
		writeJSON(w, http.StatusNotFound, Envelope{Errors: []Message{{CodeNotFound, "not found"}}})
	case errors.Is(err, store.ErrUnavailable):
		a.log.WarnContext(r.Context(), "admin API: store unavailable", "path", r.URL.Path, "err", err)
		writeJSON(w, http.StatusServiceUnavailable, Envelope{Errors: []Message{{CodeInternal, "the database is unavailable; nothing was changed, try again shortly"}}})
	default:
		ref := requestRef()
		a.log.ErrorContext(r.Context(), "admin API request failed", "path", r.URL.Path, "ref", ref, "err", err)
		writeJSON(w, http.StatusInternalServerError, Envelope{Errors: []Message{{CodeInternal, "internal error (reference " + ref + ")"}}})
	}
}

// publicText is the part of an ErrInvalid error after "invalid request: ", which Service builds
// from fixed text.
func publicText(err error) string {
	msg := err.Error()
	if i := strings.Index(msg, ErrInvalid.Error()); i >= 0 {
		return msg[i:]
	}
	return ErrInvalid.Error()
}

// publicConflictText is the part of an ErrConflict error after "conflict: ", which Service
// builds from fixed text and the catalogue.
func publicConflictText(err error) string {
	msg := err.Error()
	if i := strings.Index(msg, ErrConflict.Error()+": "); i >= 0 {
		return msg[i+len(ErrConflict.Error())+2:]
	}
	return ErrConflict.Error()
}

func requestRef() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// invalidParam is a bad query parameter.
type invalidParam struct{ name, want string }

func (e *invalidParam) Error() string { return "invalid query parameter " + e.name + ": " + e.want }

// params reads query parameters, remembering the first bad one.
type params struct {
	r   *http.Request
	err error
}

func (p *params) str(name string) string { return p.r.URL.Query().Get(name) }

func (p *params) time(name string) time.Time {
	v := p.str(name)
	if v == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil && p.err == nil {
		p.err = &invalidParam{name, "an RFC 3339 time such as 2025-01-02T15:04:05Z"}
	}
	return t
}

func (p *params) int(name string, def, lo, hi int) int {
	v := p.str(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if (err != nil || n < lo || n > hi) && p.err == nil {
		p.err = &invalidParam{name, "an integer from " + strconv.Itoa(lo) + " to " + strconv.Itoa(hi)}
	}
	return n
}

// page reads page and per_page (default 1 and def, per_page at most 1000).
func (p *params) page(def int) (page, perPage int) {
	return p.int("page", 1, 1, 1_000_000), p.int("per_page", def, 1, 1000)
}

func paginate[T any](all []T, page, perPage int) ([]T, *ResultInfo) {
	start := min((page-1)*perPage, len(all))
	end := min(start+perPage, len(all))
	out := all[start:end]
	return out, &ResultInfo{Page: page, PerPage: perPage, Count: len(out), TotalCount: len(all)}
}

// normalOrRaw returns the normal form of an address given as a filter (package mailaddr), or the
// address as given when it has none: addresses recorded before the normal form existed, and
// refused logins, are matched byte for byte.
func normalOrRaw(email string) string {
	if n, err := mailaddr.Normalize(email); err == nil {
		return n
	}
	return email
}

func (a *API) listUsers(r *http.Request, _ Actor) (any, *ResultInfo, error) {
	p := &params{r: r}
	page, perPage := p.page(50)
	email := p.str("email")
	if p.err != nil {
		return nil, nil, p.err
	}
	users, err := a.svc.ListUsers(r.Context())
	if err != nil {
		return nil, nil, err
	}
	if email != "" {
		want := normalOrRaw(email)
		users = slices.DeleteFunc(users, func(u UserSummary) bool { return u.Email != want })
	}
	out, info := paginate(users, page, perPage)
	return out, info, nil
}

func (a *API) getUser(r *http.Request, _ Actor) (any, *ResultInfo, error) {
	u, err := a.svc.GetUser(r.Context(), r.PathValue("id"))
	return u, nil, err
}

func (a *API) listSessions(r *http.Request, _ Actor) (any, *ResultInfo, error) {
	ss, err := a.svc.ActiveSessions(r.Context(), r.PathValue("id"))
	if err != nil {
		return nil, nil, err
	}
	return ss, &ResultInfo{Page: 1, PerPage: len(ss), Count: len(ss), TotalCount: len(ss)}, nil
}

func (a *API) revokeUser(r *http.Request, actor Actor) (any, *ResultInfo, error) {
	u, err := a.svc.RevokeUser(r.Context(), actor, r.PathValue("id"))
	if err != nil {
		return nil, nil, err
	}
	return map[string]any{"id": u.ID, "email": u.Email, "revoked": true}, nil, nil
}

func (a *API) revokeSession(r *http.Request, actor Actor) (any, *ResultInfo, error) {
	nonce := r.PathValue("nonce")
	if err := a.svc.RevokeSession(r.Context(), actor, r.PathValue("id"), nonce); err != nil {
		return nil, nil, err
	}
	return map[string]any{"nonce": nonce, "revoked": true}, nil, nil
}

func (a *API) revokeAppTokens(r *http.Request, actor Actor) (any, *ResultInfo, error) {
	id := r.PathValue("id")
	if err := a.svc.RevokeAppTokens(r.Context(), actor, id); err != nil {
		return nil, nil, err
	}
	return map[string]any{"id": id, "revoked": true}, nil, nil
}

func (a *API) queryAudit(r *http.Request, _ Actor) (any, *ResultInfo, error) {
	p := &params{r: r}
	page, perPage := p.page(100)
	q := store.AuditQuery{Since: p.time("since"), Until: p.time("until"), Actor: p.str("actor"),
		ActorType: p.str("actor_type"), Action: p.str("action"), TargetType: p.str("target_type"),
		TargetID: p.str("target_id"), Result: p.str("result"), Limit: perPage, Offset: (page - 1) * perPage}
	if p.err != nil {
		return nil, nil, p.err
	}
	evs, err := a.svc.QueryAudit(r.Context(), q)
	if err != nil {
		return nil, nil, err
	}
	return evs, &ResultInfo{Page: page, PerPage: perPage, Count: len(evs)}, nil
}

// AccessRequest is an auth event with the field names of Cloudflare's access_requests log.
type AccessRequest struct {
	UserEmail string `json:"user_email"`
	UserID    string `json:"user_id,omitempty"`
	IPAddress string `json:"ip_address"`
	AppUID    string `json:"app_uid"`
	AppDomain string `json:"app_domain"`
	Action    string `json:"action"`
	// Connection is the identity provider type (saml, onetimepin, oidc, ...).
	Connection string    `json:"connection"`
	IdPID      string    `json:"idp_id,omitempty"`
	Allowed    bool      `json:"allowed"`
	Country    string    `json:"country,omitempty"`
	Reasons    []string  `json:"reasons,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
	RayID      string    `json:"ray_id"`
}

func (a *API) accessRequests(r *http.Request, _ Actor) (any, *ResultInfo, error) {
	p := &params{r: r}
	page, perPage := p.page(25)
	limit := p.int("limit", 0, 1, 1000)
	q := store.AuthEventQuery{Since: p.time("since"), Until: p.time("until"), Email: normalOrRaw(p.str("email")),
		UserID: p.str("user_id"), AppID: p.str("app_uid")}
	dir := p.str("direction")
	if dir != "" && dir != "asc" && dir != "desc" && p.err == nil {
		p.err = &invalidParam{"direction", "asc or desc"}
	}
	if p.err != nil {
		return nil, nil, p.err
	}
	if !q.Since.IsZero() && !q.Until.IsZero() && !q.Since.Before(q.Until) {
		return nil, nil, &invalidParam{"since", "a time before until"}
	}
	if limit > 0 { // Cloudflare's limit: one page of that size
		page, perPage = 1, limit
	}
	q.Limit = min(page*perPage, 1000)
	evs, err := a.svc.Store.ListAuthEvents(r.Context(), q)
	if err != nil {
		return nil, nil, err
	}
	if dir == "asc" {
		slices.Reverse(evs)
	}
	out := make([]AccessRequest, 0, len(evs))
	for _, e := range evs {
		out = append(out, AccessRequest{UserEmail: e.Email, UserID: e.UserID, IPAddress: e.IP, AppUID: e.AppID,
			AppDomain: e.AppDomain, Action: e.Action, Connection: e.IdPType, IdPID: e.IdPID, Allowed: e.Allowed,
			Country: e.Country, Reasons: e.Reasons, CreatedAt: e.Time, RayID: e.RequestID})
	}
	start := min((page-1)*perPage, len(out))
	out = out[start:min(start+perPage, len(out))]
	return out, &ResultInfo{Page: page, PerPage: perPage, Count: len(out)}, nil
}
