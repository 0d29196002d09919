package store

import (
	"context"
	"encoding/json"
	"time"
)

// The administration capabilities below are optional parts of the contract, found by type
// assertion (a backend that lacks one cannot serve the admin API, the audit log or its export).
// Everything in the Store doc comment holds for them too: atomic, concurrency safe, times in UTC
// truncated to the microsecond, "now" is the backend's clock.

// UserRegistry adds what the user registry shows beyond ListUsers.
type UserRegistry interface {
	// LinkedIdPs returns, for each of the given users that has one, the IDs of the identity
	// providers they logged in with successfully (allowed "login" auth events), sorted. Users
	// without such a login are absent from the map. No userIDs means every user.
	LinkedIdPs(ctx context.Context, userIDs ...string) (map[string][]string, error)
}

// AdminTokens stores the bearer tokens of the admin REST API. Only the SHA-256 of a token is
// stored; the token itself is shown once, when it is created.
type AdminTokens interface {
	// CreateAdminToken stores a token; a zero CreatedAt means now. ErrAlreadyExists when the ID or
	// the hash is taken.
	CreateAdminToken(ctx context.Context, t *AdminToken) error
	// AdminTokenByHash returns the token with this hash. ErrNotFound when there is none.
	AdminTokenByHash(ctx context.Context, tokenHash string) (*AdminToken, error)
	// ListAdminTokens returns every token ordered by creation time, then ID.
	ListAdminTokens(ctx context.Context) ([]AdminToken, error)
	// TouchAdminToken sets the token's LastUsedAt to now. ErrNotFound when there is none.
	TouchAdminToken(ctx context.Context, id string) error
	// DeleteAdminToken removes a token; it stops working at once. ErrNotFound when there is none.
	DeleteAdminToken(ctx context.Context, id string) error
}

// AuditLog stores generic audit events (admin, configuration, SCIM and session-control actions)
// and lets exporters read both the audit and the auth event logs in append order.
//
// Export streams: every appended audit event and auth event gets a sequence number, increasing
// in commit order within its stream (ExportAudit, ExportAuth). An exporter reads a stream after
// its cursor and advances the cursor once the events are delivered, so events are delivered at
// least once and in order per stream, across restarts.
type AuditLog interface {
	// AppendAuditEvent stores e; an empty ID gets a random UUID and a zero Time means now (e itself
	// is not modified). ErrAlreadyExists if the ID is taken.
	AppendAuditEvent(ctx context.Context, e *AuditEvent) error
	// ListAuditEvents returns events matching q, newest first (time, then append order).
	ListAuditEvents(ctx context.Context, q AuditQuery) ([]AuditEvent, error)

	// ExportEvents returns up to limit events of stream with a sequence number greater than
	// after, in sequence order. limit is capped at 1000 (default 100).
	ExportEvents(ctx context.Context, stream string, after int64, limit int) ([]ExportedEvent, error)
	// ExportCursor returns the last sequence number of stream delivered to sink (0 when none).
	ExportCursor(ctx context.Context, sink, stream string) (int64, error)
	// AdvanceExportCursor moves sink's cursor on stream from expected to next. ErrConflict when the
	// cursor is no longer expected (another exporter moved it).
	AdvanceExportCursor(ctx context.Context, sink, stream string, expected, next int64) error
}

// Export streams of AuditLog.
const (
	ExportAudit = "audit"
	ExportAuth  = "auth"
)

// ExportedEvent is one event of an export stream: exactly one of Audit and Auth is set.
type ExportedEvent struct {
	Stream string      `json:"stream"`
	Seq    int64       `json:"seq"`
	Audit  *AuditEvent `json:"audit,omitempty"`
	Auth   *AuthEvent  `json:"auth,omitempty"`
}

// AdminToken is a bearer token of the admin REST API.
type AdminToken struct {
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	TokenHash  string    `json:"-"` // hex SHA-256 of the token
	CreatedAt  time.Time `json:"created_at"`
	LastUsedAt time.Time `json:"last_used_at,omitzero"`
	// Scopes are what the token may do (package admin names them; "all" is everything). Stored
	// as given, in order; a scope is never empty and has no white space. Tokens stored before
	// scopes existed read back with the single scope "all".
	Scopes []string `json:"scopes"`
}

// Audit actor types.
const (
	ActorCLI      = "cli"
	ActorAPIToken = "api_token"
	ActorSystem   = "system"
	ActorSCIM     = "scim"
	ActorUser     = "user"
)

// Audit results.
const (
	AuditSuccess = "success"
	AuditFailure = "failure"
)

// AuditEvent is one security-relevant change: who (actor) did what (action) to which object
// (target), when, from where, with which result and why.
type AuditEvent struct {
	ID         string    `json:"id"`
	Time       time.Time `json:"time"`
	ActorType  string    `json:"actor_type"` // cli | api_token | system | scim | user
	Actor      string    `json:"actor"`      // token name, IdP ID, e-mail, "cli"
	IP         string    `json:"ip,omitempty"`
	Action     string    `json:"action"` // e.g. user.revoke_sessions, app.revoke_tokens
	TargetType string    `json:"target_type,omitempty"`
	TargetID   string    `json:"target_id,omitempty"`
	Result     string    `json:"result"` // success | failure
	Reasons    []string  `json:"reasons,omitempty"`
	// Details is a JSON object with action-specific data; never secrets.
	Details json.RawMessage `json:"details,omitempty"`
}

// AuditQuery filters ListAuditEvents. Zero fields do not filter; string fields match exactly.
type AuditQuery struct {
	Since, Until time.Time // Since inclusive, Until exclusive
	Actor        string
	ActorType    string
	Action       string
	TargetType   string
	TargetID     string
	Result       string
	Limit        int // default 100, at most 1000
	Offset       int // events to skip (pagination)
}
