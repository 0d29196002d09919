package app

import (
	"context"
	"fmt"
	"time"

	"github.com/gatehouse/gatehouse/internal/admin"
	"github.com/gatehouse/gatehouse/internal/ai/promptlog"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/store"
)

// The prompt logs' types the CLI shows, named here so that the commands get them through the
// composition root.
type (
	// PromptLogEntry is one AI prompt log entry: metadata, and the payload sealed.
	PromptLogEntry = promptlog.Entry
	// PromptLogPayload is an entry's decrypted prompt, response and attachment metadata.
	PromptLogPayload = promptlog.Payload
)

// OpenPromptLogPayload decrypts e's payload with the administrator's X25519 private key. Its
// errors' text is safe to show (a wrong key, a damaged payload).
func OpenPromptLogPayload(priv []byte, e *PromptLogEntry) (*PromptLogPayload, error) {
	return promptlog.Open(priv, e.PayloadEnc)
}

// PromptLogs lists the AI prompt logs for the CLI (actor "cli"), recorded in the audit log.
func (a *Admin) PromptLogs(ctx context.Context, q admin.PromptLogQuery) ([]PromptLogEntry, string, error) {
	items, cursor, err := a.Service.GatewayPromptLogs(ctx, admin.CLIActor, q)
	if err != nil {
		return nil, "", err
	}
	out := make([]PromptLogEntry, 0, len(items))
	for _, it := range items {
		e, ok := it.(PromptLogEntry)
		if !ok {
			return nil, "", fmt.Errorf("prompt logs: unexpected entry type %T", it)
		}
		out = append(out, e)
	}
	return out, cursor, nil
}

func (g *gatewayAdmin) PromptLogs(ctx context.Context, q admin.PromptLogQuery) ([]any, string, error) {
	entries, cursor, err := g.promptLogs(ctx, q)
	if err != nil {
		return nil, "", err
	}
	out := make([]any, len(entries))
	for i, e := range entries {
		out[i] = e
	}
	return out, cursor, nil
}

func (g *gatewayAdmin) promptLogs(ctx context.Context, q admin.PromptLogQuery) ([]promptlog.Entry, string, error) {
	pl, ok := g.st.(store.PromptLogs)
	if !ok {
		return nil, "", fmt.Errorf("%w: the store keeps no prompt logs", admin.ErrInvalid)
	}
	now := g.now()
	since, err := promptlog.ParseTime(q.Since, now)
	if err != nil {
		return nil, "", fmt.Errorf("%w: since %s", admin.ErrInvalid, err.Error())
	}
	until, err := promptlog.ParseTime(q.Until, now)
	if err != nil {
		return nil, "", fmt.Errorf("%w: until %s", admin.ErrInvalid, err.Error())
	}
	before, err := promptlog.ParseCursor(q.Cursor)
	if err != nil {
		return nil, "", fmt.Errorf("%w: cursor: %s", admin.ErrInvalid, err.Error())
	}
	limit := q.Limit
	switch {
	case limit == 0:
		limit = store.DefaultPromptLogLimit
	case limit < 0 || limit > store.MaxPromptLogLimit:
		return nil, "", fmt.Errorf("%w: limit must be between 1 and %d", admin.ErrInvalid, store.MaxPromptLogLimit)
	}
	recs, err := pl.ListPromptLogs(ctx, store.PromptLogQuery{ConversationID: q.ConversationID, UserEmail: promptlog.NormalizeEmail(q.User),
		App: q.App, Since: since, Until: until, Before: before, Limit: limit})
	if err != nil {
		return nil, "", err
	}
	entries := make([]promptlog.Entry, len(recs))
	for i := range recs {
		entries[i] = promptlog.FromRecord(&recs[i])
	}
	cursor := ""
	if len(recs) == limit {
		cursor = promptlog.FormatCursor(recs[len(recs)-1].ID)
	}
	return entries, cursor, nil
}

// newPromptLog starts the AI prompt log writer when the store keeps prompt logs and
// dlp.payload_log.public_key is set: the gateway's and the reverse proxy's prompt capture log
// through it, and it keeps
// gateway.prompt_logs.retention. Without a key nothing can be logged, but entries logged
// before are still deleted past the retention (once, now).
func (g *Gatehouse) newPromptLog(ctx context.Context, cfg *config.File) error {
	pl, ok := g.Store.(store.PromptLogs)
	if !ok {
		return nil
	}
	retention := cfg.Gateway.PromptLogs.Retention.Std()
	key, err := cfg.DLP.PayloadKey()
	if err != nil {
		return err
	}
	if key == nil {
		if _, err := promptlog.DeleteExpired(ctx, pl, retention, g.now(), g.log); err != nil {
			g.log.Warn("ai prompt logs: entries past the retention could not be deleted", "err", err)
		}
		return nil
	}
	w, err := promptlog.New(promptlog.Options{Store: pl, PublicKey: key, Retention: retention,
		Registerer: g.registry, Log: g.log, Now: g.now})
	if err != nil {
		return fmt.Errorf("ai prompt logs: %w", err)
	}
	g.PromptLog = w
	return nil
}

// closePromptLog stores the prompt log entries still queued (at shutdown, before the store
// closes). It is safe to call more than once and when there is no writer.
func (g *Gatehouse) closePromptLog(ctx context.Context) {
	if g.PromptLog == nil {
		return
	}
	if err := g.PromptLog.Close(ctx); err != nil {
		g.log.Warn("ai prompt logs: the last entries could not be stored", "err", err)
	}
}

// promptLogCloseTimeout bounds closePromptLog in Close.
const promptLogCloseTimeout = 10 * time.Second
