// Package admin is Gatehouse's administration layer: the user registry (users, their linked
// identity providers, active sessions and recent logins), session control (revoke one session,
// all of a user's sessions, or every token of an application), admin API tokens, audit queries,
// and the admin REST API that serves them as JSON in a Cloudflare-like envelope.
//
// Service holds the operations; both the CLI (acting on the store directly, actor "cli") and the
// REST API (actor = the API token's name) call it, and every mutating operation is recorded as an
// audit event with its actor, IP, target and result.
package admin

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/mailaddr"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Errors of Service; the API maps them to 404 and 400.
var (
	ErrNotFound = errors.New("not found")
	ErrInvalid  = errors.New("invalid request")
)

// Actor is who performs an operation.
type Actor struct {
	Type string // store.ActorCLI, store.ActorAPIToken, ...
	Name string
	IP   string
}

// CLIActor is the actor of the command-line admin commands.
var CLIActor = Actor{Type: store.ActorCLI, Name: "cli"}

// Service implements the admin operations on a store.
type Service struct {
	Store store.Store
	Audit *audit.Recorder
	// AfterRevoke, if set, runs after every successful revocation so that this process enforces
	// it on the very next request (e.g. reload the revocation set).
	AfterRevoke func(ctx context.Context)
	Now         func() time.Time
	// Gateway, when set, serves the secure web gateway's administration (application library,
	// review statuses, Shadow-AI report).
	Gateway Gateway
	// ReportRetention is how long the daily rollups of the reports are kept
	// (gateway.usage.retention): a report's period starts no earlier than the oldest day kept.
	// Zero: ten years.
	ReportRetention time.Duration
	// GatewayPolicy, when set, shows the gateway's rules and DLP profiles of the configuration
	// file, checks expressions and tries profiles on text.
	GatewayPolicy GatewayPolicy
	// GatewayCAs, when set, lists the gateway's TLS inspection CAs (public parts only).
	GatewayCAs GatewayCAs
	// MCP, when set, serves the MCP server portal's administration (servers, sync, tool
	// approval, portals, call logs).
	MCP MCP
	// CheckConfig validates every change of a configuration object (see objects.go) with the
	// configuration file's checks; without it configuration objects are read-only.
	CheckConfig ConfigChecker
	// ConfigFile names the configuration file in the refusal to change an object it manages.
	ConfigFile string
	// AfterConfigChange, if set, runs after every committed change of a configuration object,
	// so that this process serves it on the very next request.
	AfterConfigChange func(ctx context.Context)
	// ETagKey keys configuration objects' ETags; replicas must share it. Empty: a random key
	// per process.
	ETagKey []byte
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

// UserSummary is one row of the user registry.
type UserSummary struct {
	ID         string         `json:"id"`
	Email      string         `json:"email"`
	Name       string         `json:"name,omitempty"`
	Status     string         `json:"status"`
	LinkedIdPs []string       `json:"linked_idps"`
	LastSeen   store.LastSeen `json:"last_seen_identity"`
	// LastSuccessfulLogin is LastSeen.At (Cloudflare's field name).
	LastSuccessfulLogin time.Time `json:"last_successful_login,omitzero"`
	CreatedAt           time.Time `json:"created_at"`
	UpdatedAt           time.Time `json:"updated_at"`
}

// UserDetail is one user with their active sessions and recent logins.
type UserDetail struct {
	UserSummary
	TokensNotBefore time.Time `json:"tokens_not_before,omitzero"`
	ActiveSessions  []Session `json:"active_sessions"`
	// RecentLogins are the last login attempts, successes and failures, newest first.
	RecentLogins []store.AuthEvent `json:"recent_logins"`
}

// Session is an active session as the registry shows it (without the stored identity).
type Session struct {
	ID        string    `json:"nonce"`
	UserID    string    `json:"user_id"`
	Email     string    `json:"email"`
	IdPID     string    `json:"idp_id"`
	CreatedAt time.Time `json:"iat"`
	ExpiresAt time.Time `json:"expiration"`
	IP        string    `json:"ip,omitempty"`
	Country   string    `json:"country,omitempty"`
}

// RecentLoginCount is how many login attempts UserDetail shows.
const RecentLoginCount = 10

func summarize(u *store.User, linked []string) UserSummary {
	if linked == nil {
		linked = []string{}
	}
	ls := u.LastSeen
	return UserSummary{ID: u.ID, Email: u.Email, Name: u.Name, Status: u.Status, LinkedIdPs: linked, LastSeen: ls,
		LastSuccessfulLogin: ls.At, CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt}
}

func (s *Service) linked(ctx context.Context, ids ...string) (map[string][]string, error) {
	reg, ok := s.Store.(store.UserRegistry)
	if !ok {
		return map[string][]string{}, nil
	}
	m, err := reg.LinkedIdPs(ctx, ids...)
	if err != nil {
		return nil, fmt.Errorf("linked identity providers: %w", err)
	}
	return m, nil
}

// ListUsers returns every user ordered by e-mail.
func (s *Service) ListUsers(ctx context.Context) ([]UserSummary, error) {
	users, err := s.Store.ListUsers(ctx)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	linked, err := s.linked(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]UserSummary, 0, len(users))
	for i := range users {
		out = append(out, summarize(&users[i], linked[users[i].ID]))
	}
	return out, nil
}

// FindUser returns the user with this ID or (case-insensitive) e-mail.
func (s *Service) FindUser(ctx context.Context, idOrEmail string) (*store.User, error) {
	if idOrEmail == "" {
		return nil, fmt.Errorf("%w: user id or e-mail is required", ErrInvalid)
	}
	if !strings.Contains(idOrEmail, "@") {
		u, err := s.Store.GetUser(ctx, idOrEmail)
		if errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("user %q: %w", idOrEmail, ErrNotFound)
		}
		if err != nil {
			return nil, fmt.Errorf("get user: %w", err)
		}
		return u, nil
	}
	// Users are keyed by the normal form of their address: look that up exactly, never with
	// Unicode case folding, which would find a look-alike first.
	if email, err := mailaddr.Normalize(idOrEmail); err == nil {
		u, err := s.Store.GetUserByEmail(ctx, email)
		if errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("user %q: %w", idOrEmail, ErrNotFound)
		}
		if err != nil {
			return nil, fmt.Errorf("get user: %w", err)
		}
		return u, nil
	}
	// An address without a normal form can still name a user recorded before addresses had
	// one: it is matched byte for byte.
	users, err := s.Store.ListUsers(ctx)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	for i := range users {
		if users[i].Email == idOrEmail {
			return &users[i], nil
		}
	}
	return nil, fmt.Errorf("user %q: %w", idOrEmail, ErrNotFound)
}

// GetUser returns one user with active sessions and recent logins.
func (s *Service) GetUser(ctx context.Context, idOrEmail string) (*UserDetail, error) {
	u, err := s.FindUser(ctx, idOrEmail)
	if err != nil {
		return nil, err
	}
	linked, err := s.linked(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	sessions, err := s.activeSessions(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	events, err := s.Store.ListAuthEvents(ctx, store.AuthEventQuery{UserID: u.ID, Limit: 200})
	if err != nil {
		return nil, fmt.Errorf("recent logins: %w", err)
	}
	logins := []store.AuthEvent{}
	for _, e := range events {
		if e.Action == "login" && len(logins) < RecentLoginCount {
			logins = append(logins, e)
		}
	}
	return &UserDetail{UserSummary: summarize(u, linked[u.ID]), TokensNotBefore: u.TokensNotBefore,
		ActiveSessions: sessions, RecentLogins: logins}, nil
}

// ActiveSessions returns the user's unrevoked, unexpired sessions, newest first.
func (s *Service) ActiveSessions(ctx context.Context, idOrEmail string) ([]Session, error) {
	u, err := s.FindUser(ctx, idOrEmail)
	if err != nil {
		return nil, err
	}
	return s.activeSessions(ctx, u.ID)
}

func (s *Service) activeSessions(ctx context.Context, userID string) ([]Session, error) {
	all, err := s.Store.ListUserSessions(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	now := s.now()
	out := []Session{}
	for _, ss := range all {
		if !ss.RevokedAt.IsZero() || !now.Before(ss.ExpiresAt) {
			continue
		}
		out = append(out, Session{ID: ss.ID, UserID: ss.UserID, Email: ss.Email, IdPID: ss.IdPID,
			CreatedAt: ss.CreatedAt, ExpiresAt: ss.ExpiresAt, IP: ss.IP, Country: ss.Country})
	}
	return out, nil
}

// record writes the audit event of a mutating operation; err is the operation's outcome.
func (s *Service) record(ctx context.Context, a Actor, action, targetType, targetID string, details map[string]any, opErr error) error {
	e := &store.AuditEvent{ActorType: a.Type, Actor: a.Name, IP: a.IP, Action: action, TargetType: targetType,
		TargetID: targetID, Result: store.AuditSuccess}
	if opErr != nil {
		e.Result = store.AuditFailure
		var refusal authRefusal
		switch {
		case errors.As(opErr, &refusal):
			e.Reasons = []string{string(refusal)}
		case errors.Is(opErr, ErrNotFound):
			e.Reasons = []string{"not-found"}
		case errors.Is(opErr, ErrInvalid):
			e.Reasons = []string{"invalid-request"}
		case errors.Is(opErr, ErrConflict):
			e.Reasons = []string{"conflict"}
		default:
			e.Reasons = []string{"internal-error"}
		}
	}
	if len(details) > 0 {
		b, err := json.Marshal(details)
		if err != nil {
			return fmt.Errorf("audit details: %w", err)
		}
		e.Details = b
	}
	if s.Audit == nil {
		return nil
	}
	return s.Audit.Record(ctx, e)
}

// finish records the operation and reports the first failure: the operation's, else the audit's.
func (s *Service) finish(ctx context.Context, a Actor, action, targetType, targetID string, details map[string]any, opErr error) error {
	if opErr == nil && s.AfterRevoke != nil && strings.Contains(action, "revoke") {
		s.AfterRevoke(ctx)
	}
	if err := s.record(ctx, a, action, targetType, targetID, details, opErr); err != nil && opErr == nil {
		return err
	}
	return opErr
}

// Audit actions.
const (
	ActionRevokeUserSessions = "user.revoke_sessions"
	ActionRevokeSession      = "user.revoke_session"
	ActionRevokeAppTokens    = "app.revoke_tokens"
	ActionCreateAdminToken   = "admin_token.create"
	ActionDeleteAdminToken   = "admin_token.delete"
)

// RevokeUser revokes every session, token and gateway device of a user, everywhere; the audit
// event's details say how many devices it revoked.
func (s *Service) RevokeUser(ctx context.Context, a Actor, idOrEmail string) (*store.User, error) {
	u, err := s.FindUser(ctx, idOrEmail)
	var details map[string]any
	if err == nil {
		if err = s.Store.RevokeUserSessions(ctx, u.ID); err != nil {
			err = fmt.Errorf("revoke user sessions: %w", err)
		} else if devs, ok := s.Store.(store.GatewayDevices); ok {
			var n int
			if n, err = devs.RevokeUserGatewayDevices(ctx, u.ID); err != nil {
				err = fmt.Errorf("revoke user gateway devices: %w", err)
			}
			details = map[string]any{"devices_revoked": n}
		}
	}
	target := idOrEmail
	if u != nil {
		target = u.ID
	}
	return u, s.finish(ctx, a, ActionRevokeUserSessions, "user", target, details, err)
}

// RevokeSession revokes one session of a user; ErrNotFound when the session is not the user's.
func (s *Service) RevokeSession(ctx context.Context, a Actor, idOrEmail, sessionID string) error {
	u, err := s.FindUser(ctx, idOrEmail)
	if err == nil {
		var ss *store.Session
		ss, err = s.Store.GetSession(ctx, sessionID)
		switch {
		case errors.Is(err, store.ErrNotFound) || err == nil && ss.UserID != u.ID:
			err = fmt.Errorf("session of user %s: %w", u.ID, ErrNotFound)
		case err != nil:
			err = fmt.Errorf("get session: %w", err)
		default:
			if err = s.Store.RevokeSession(ctx, sessionID); err != nil {
				err = fmt.Errorf("revoke session: %w", err)
			}
		}
	}
	target := idOrEmail
	if u != nil {
		target = u.ID
	}
	return s.finish(ctx, a, ActionRevokeSession, "user", target, map[string]any{"session": sessionID}, err)
}

// RevokeAppTokens revokes every token issued for an application before now.
func (s *Service) RevokeAppTokens(ctx context.Context, a Actor, appID string) error {
	cfg, err := s.Store.GetConfig(ctx)
	if err != nil {
		err = fmt.Errorf("get config: %w", err)
	} else if !hasApp(cfg, appID) {
		err = fmt.Errorf("application %q: %w", appID, ErrNotFound)
	} else if err = s.Store.RevokeAppTokens(ctx, appID); err != nil {
		err = fmt.Errorf("revoke app tokens: %w", err)
	}
	return s.finish(ctx, a, ActionRevokeAppTokens, "app", appID, nil, err)
}

// AdminTokenPrefix starts every admin API token, so that secret scanners can recognise them.
const AdminTokenPrefix = "gha_"

// HashAdminToken returns the hex SHA-256 under which a token is stored.
func HashAdminToken(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

func (s *Service) tokens() (store.AdminTokens, error) {
	at, ok := s.Store.(store.AdminTokens)
	if !ok {
		return nil, errors.New("the store cannot keep admin API tokens")
	}
	return at, nil
}

// ListAdminTokens returns every admin API token (never their values), oldest first as the store
// keeps them; an empty list rather than nil.
func (s *Service) ListAdminTokens(ctx context.Context) ([]store.AdminToken, error) {
	at, err := s.tokens()
	if err != nil {
		return nil, err
	}
	toks, err := at.ListAdminTokens(ctx)
	if err != nil {
		return nil, fmt.Errorf("list admin tokens: %w", err)
	}
	if toks == nil {
		toks = []store.AdminToken{}
	}
	return toks, nil
}

// CreateAdminToken creates an admin API token with scopes (see ValidScopes; each may list
// several, comma-separated; none means "all") and returns it with its plain value, which is not
// stored and cannot be shown again.
func (s *Service) CreateAdminToken(ctx context.Context, a Actor, name string, scopes ...string) (*store.AdminToken, string, error) {
	name = strings.TrimSpace(name)
	var (
		tok   *store.AdminToken
		plain string
		err   error
	)
	at, err := s.tokens()
	norm, scopeErr := NormalizeScopes(scopes)
	switch {
	case err != nil:
	case scopeErr != nil:
		err = scopeErr
	case name == "" || len(name) > 100:
		err = fmt.Errorf("%w: a token needs a name of 1 to 100 characters", ErrInvalid)
	default:
		b := make([]byte, 32)
		if _, err = rand.Read(b); err != nil {
			break
		}
		plain = AdminTokenPrefix + base64.RawURLEncoding.EncodeToString(b)
		tok = &store.AdminToken{ID: uuid.NewString(), Name: name, TokenHash: HashAdminToken(plain), CreatedAt: s.now(), Scopes: norm}
		if err = at.CreateAdminToken(ctx, tok); err != nil {
			err = fmt.Errorf("create admin token: %w", err)
		}
	}
	target := ""
	if tok != nil {
		target = tok.ID
	}
	if err := s.finish(ctx, a, ActionCreateAdminToken, "admin_token", target, map[string]any{"name": name, "scopes": norm}, err); err != nil {
		return nil, "", err
	}
	return tok, plain, nil
}

// DeleteAdminToken revokes an admin API token.
func (s *Service) DeleteAdminToken(ctx context.Context, a Actor, id string) error {
	at, err := s.tokens()
	if err == nil {
		err = at.DeleteAdminToken(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			err = fmt.Errorf("admin token %q: %w", id, ErrNotFound)
		} else if err != nil {
			err = fmt.Errorf("delete admin token: %w", err)
		}
	}
	return s.finish(ctx, a, ActionDeleteAdminToken, "admin_token", id, nil, err)
}

// QueryAudit returns audit events matching q, newest first.
func (s *Service) QueryAudit(ctx context.Context, q store.AuditQuery) ([]store.AuditEvent, error) {
	al, ok := s.Store.(store.AuditLog)
	if !ok {
		return nil, errors.New("the store cannot keep audit events")
	}
	if !q.Since.IsZero() && !q.Until.IsZero() && !q.Since.Before(q.Until) {
		return nil, fmt.Errorf("%w: since must be before until", ErrInvalid)
	}
	if q.Limit < 0 || q.Limit > 1000 || q.Offset < 0 {
		return nil, fmt.Errorf("%w: limit must be 1..1000 and offset not negative", ErrInvalid)
	}
	evs, err := al.ListAuditEvents(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("query audit events: %w", err)
	}
	if evs == nil {
		evs = []store.AuditEvent{}
	}
	return evs, nil
}

func hasApp(cfg *store.Config, id string) bool {
	for i := range cfg.Applications {
		if cfg.Applications[i].ID == id {
			return id != ""
		}
	}
	return false
}
