package admin

import (
	"context"
	"errors"
	"fmt"
)

// ErrConflict: the change contradicts the configuration (the API answers 409 with the reason).
var ErrConflict = errors.New("conflict")

// Audit actions of the gateway's administration.
const (
	ActionReviewGatewayApps = "gateway_app.review"
	// ActionReadPromptLogs records each listing of the AI prompt logs, with its filters.
	ActionReadPromptLogs = "gateway.prompt_logs.read"
)

// GatewayAppQuery filters the application library.
type GatewayAppQuery struct {
	// Status keeps applications with this review status (any spelling the library accepts).
	Status string
	// Type keeps applications of this type (name or id); AI keeps AI applications only.
	Type string
	AI   bool
	// Search keeps applications whose name, vendor or a hostname contains it.
	Search string
}

// Gateway is the secure web gateway's administration: its application library with review
// statuses, and the Shadow-AI report. Package admin does not know the gateway's packages (the
// surfaces stay apart); the composition root wires an implementation. Errors wrap ErrInvalid
// (with a message safe to show after "invalid request: "), ErrNotFound or ErrConflict (with a
// message safe to show after "conflict: "); anything else is an internal error. Results are
// JSON-encodable values.
type Gateway interface {
	// ListApps returns the applications q selects, by name.
	ListApps(q GatewayAppQuery) ([]any, error)
	// App returns one application (id or name) with its confidence evidence.
	App(key string) (any, error)
	// SetReviewStatus gives the applications keys names a review status, all or none, as actor.
	// It returns the changes made and the ids of the applications changed.
	SetReviewStatus(ctx context.Context, actor string, keys []string, status string) (changes any, ids []string, err error)
	// Report is the Shadow-AI discovery report since (30d, 36h or a date; "" for 30 days) with at
	// most top applications per review status (0: the default).
	Report(ctx context.Context, since string, top int) (any, error)
	// PromptLogs lists the AI prompt logs q selects, newest first: metadata and the sealed
	// payloads, never plaintext. cursor, when not "", continues the listing (PromptLogQuery's
	// Cursor).
	PromptLogs(ctx context.Context, q PromptLogQuery) (entries []any, cursor string, err error)
}

// PromptLogQuery filters the AI prompt logs; empty fields do not filter.
type PromptLogQuery struct {
	// ConversationID, User (an e-mail address) and App (an application id or name) match
	// exactly (the address without regard to case).
	ConversationID string
	User           string
	App            string
	// Since (inclusive) and Until (exclusive) are RFC 3339 times, dates (UTC midnight), days
	// ago (7d) or durations ago (36h).
	Since, Until string
	// Limit is the most entries returned (0: 100); Cursor the cursor a previous page returned.
	Limit  int
	Cursor string
}

func (s *Service) gateway() (Gateway, error) {
	if s.Gateway == nil {
		return nil, fmt.Errorf("%w: the gateway's administration is not available in this process", ErrNotFound)
	}
	return s.Gateway, nil
}

// ListGatewayApps returns the gateway's application library with review statuses and
// confidence scores, filtered.
func (s *Service) ListGatewayApps(q GatewayAppQuery) ([]any, error) {
	g, err := s.gateway()
	if err != nil {
		return nil, err
	}
	return g.ListApps(q)
}

// GetGatewayApp returns one application (by id or name) with its confidence evidence.
func (s *Service) GetGatewayApp(key string) (any, error) {
	g, err := s.gateway()
	if err != nil {
		return nil, err
	}
	return g.App(key)
}

// SetGatewayAppReview gives the applications named by keys (ids or names) a review status, all
// or none, and records it in the audit log. It returns the changes made and the ids of the
// applications changed (none when they all had the status).
func (s *Service) SetGatewayAppReview(ctx context.Context, a Actor, keys []string, status string) (any, []string, error) {
	g, err := s.gateway()
	var (
		changes any
		ids     []string
	)
	if err == nil {
		changes, ids, err = g.SetReviewStatus(ctx, a.Name, keys, status)
	}
	target := ""
	for i, id := range ids {
		if i > 0 {
			target += ","
		}
		target += id
	}
	return changes, ids, s.finish(ctx, a, ActionReviewGatewayApps, "gateway_app", target,
		map[string]any{"apps": keys, "status": status, "changes": changes}, err)
}

// GatewayReport returns the Shadow-AI report (see Gateway.Report).
func (s *Service) GatewayReport(ctx context.Context, since string, top int) (any, error) {
	g, err := s.gateway()
	if err != nil {
		return nil, err
	}
	return g.Report(ctx, since, top)
}

// GatewayPromptLogs lists the AI prompt logs (see Gateway.PromptLogs) and records the reading,
// with its filters, in the audit log: whoever lists prompt logs is accountable for it.
func (s *Service) GatewayPromptLogs(ctx context.Context, a Actor, q PromptLogQuery) ([]any, string, error) {
	g, err := s.gateway()
	var (
		entries []any
		cursor  string
	)
	if err == nil {
		entries, cursor, err = g.PromptLogs(ctx, q)
	}
	details := map[string]any{}
	for k, v := range map[string]string{"conversation_id": q.ConversationID, "user": q.User, "app": q.App,
		"since": q.Since, "until": q.Until, "cursor": q.Cursor} {
		if v != "" {
			details[k] = v
		}
	}
	// A reading that cannot be recorded is refused: the audit trail of prompt logs is complete.
	if err := s.finish(ctx, a, ActionReadPromptLogs, "prompt_logs", q.ConversationID, details, err); err != nil {
		return nil, "", err
	}
	return entries, cursor, nil
}
