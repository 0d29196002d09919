// Package audit owns Gatehouse's record of security-relevant events: authentication events and
// generic audit events (admin, configuration, SCIM and session-control actions) are persisted in
// the store and logged; proxied requests get one structured access-log line each.
//
// # Export
//
// An Exporter copies both event logs to sinks (a JSON-lines file, a signed webhook) through a
// persistent outbox: the store numbers every audit and auth event in append order (two streams,
// store.ExportAudit and store.ExportAuth) and keeps one cursor per sink and stream. The exporter
// reads the events after a cursor, delivers them, and only then advances the cursor, so an event
// is never dropped: a failed delivery is retried with backoff, a bounded number of times per
// round, and again on every later round and after a restart, with an error logged on every
// failed round saying how far the sink is behind. Delivery is at least once (a crash between a
// delivery and the cursor update repeats that batch) and in order within each stream; the two
// streams are independent, so a line's "stream" and "seq" fields identify it.
package audit

import (
	"context"
	"errors"
	"fmt"
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

// Record persists a generic audit event (an administrative, configuration, SCIM or session-control
// action) and logs it. An empty ID gets a UUID and a zero Time now. It returns the store's error,
// which is also logged, so that callers of mutating actions can fail loudly when the record of
// what they did cannot be kept.
func (r *Recorder) Record(ctx context.Context, e *store.AuditEvent) error {
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
	if e.Result != store.AuditSuccess {
		level = slog.LevelWarn
	}
	log := r.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log.LogAttrs(ctx, level, "audit event",
		slog.String("id", e.ID), slog.String("action", e.Action), slog.String("result", e.Result),
		slog.String("actor_type", e.ActorType), slog.String("actor", e.Actor), slog.String("ip", e.IP),
		slog.String("target_type", e.TargetType), slog.String("target_id", e.TargetID), slog.Any("reasons", e.Reasons))
	al, ok := r.Store.(store.AuditLog)
	if !ok {
		err := errors.New("audit: the store cannot keep audit events")
		log.LogAttrs(ctx, slog.LevelError, "audit event not persisted", slog.String("id", e.ID), slog.Any("err", err))
		return err
	}
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := al.AppendAuditEvent(pctx, e); err != nil {
		log.LogAttrs(ctx, slog.LevelError, "audit event not persisted", slog.String("id", e.ID), slog.Any("err", err))
		return fmt.Errorf("audit: persist event: %w", err)
	}
	return nil
}
