// Package audit owns Gatehouse's record of security-relevant events: authentication events are
// persisted in the store and logged; proxied requests get one structured access-log line each.
package audit

import (
	"context"
	"log/slog"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse/gatehouse/internal/store"
)

// Recorder persists and logs events.
type Recorder struct {
	Store store.Store
	Log   *slog.Logger
	Now   func() time.Time
}

// Auth records an authentication event. A store failure is logged, never silently dropped; the
// event itself is always logged.
func (r *Recorder) Auth(ctx context.Context, e *store.AuthEvent) {
	if e.ID == "" {
		e.ID = uuid.NewString()
	}
	if e.Time.IsZero() {
		now := time.Now
		if r.Now != nil {
			now = r.Now
		}
		e.Time = now().UTC()
	}
	level := slog.LevelInfo
	if !e.Allowed {
		level = slog.LevelWarn
	}
	r.Log.LogAttrs(ctx, level, "auth event",
		slog.String("action", e.Action), slog.Bool("allowed", e.Allowed),
		slog.String("email", e.Email), slog.String("user_id", e.UserID),
		slog.String("app", e.AppID), slog.String("idp", e.IdPID), slog.String("idp_type", e.IdPType),
		slog.String("ip", e.IP), slog.String("country", e.Country), slog.String("policy", e.PolicyID),
		slog.Any("reasons", e.Reasons), slog.String("ref", e.RequestID))
	if r.Store == nil {
		return
	}
	// Persist even if the request was cancelled.
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := r.Store.AppendAuthEvent(pctx, e); err != nil {
		r.Log.LogAttrs(ctx, slog.LevelError, "auth event not persisted", slog.String("id", e.ID), slog.Any("err", err))
	}
}
