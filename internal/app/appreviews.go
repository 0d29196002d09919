package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/gatehouse/gatehouse/internal/admin"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/gateway/applib"
	"github.com/gatehouse/gatehouse/internal/gateway/appreview"
	"github.com/gatehouse/gatehouse/internal/gateway/usage"
	"github.com/gatehouse/gatehouse/internal/store"
)

// openAppReviews builds the review statuses in force for the gateway's application library:
// gateway.app_reviews over the statuses stored through the CLI and the admin API. It is built
// whether or not the gateway listens, so that the CLI and the API manage statuses either way.
func openAppReviews(ctx context.Context, cfg *config.File, st store.Store) (*appreview.Book, error) {
	cat, err := applib.Default()
	if err != nil {
		return nil, fmt.Errorf("application library: %w", err)
	}
	configured, err := applib.ParseReviews(cat, cfg.Gateway.AppReviews)
	if err != nil {
		return nil, fmt.Errorf("gateway.app_reviews: %w", err)
	}
	evidence, err := applib.ParseEvidenceOverlay(cat, cfg.Gateway.AppEvidence)
	if err != nil {
		return nil, fmt.Errorf("gateway.app_evidence: %w", err)
	}
	b := appreview.New(cat, st, appreview.Options{Configured: configured, Evidence: evidence})
	if err := b.Reload(ctx); err != nil {
		return nil, err
	}
	return b, nil
}

// The gateway's types the CLI shows, named here so that the commands get them through the
// composition root (they never import the gateway's packages themselves).
type (
	// GatewayApp is one application of the library as shown (status, its source, scores).
	GatewayApp = appreview.App
	// GatewayScore is one of an application's confidence scores with its evidence.
	GatewayScore = applib.ScoreResult
	// GatewayCatalog is the gateway's application library.
	GatewayCatalog = applib.Catalog
	// GatewayAppChange is one review-status change.
	GatewayAppChange = appreview.Change
	// GatewayReport is the Shadow-AI discovery report.
	GatewayReport = usage.Report
)

// ReviewSourceConfig marks a status set by gateway.app_reviews in the configuration file.
const ReviewSourceConfig = appreview.SourceConfig

// gatewayAdmin is admin.Gateway on the gateway's packages: the review book, the usage rollups
// of the store, and this process's usage recorder (flushed before a report, nil in the CLI).
type gatewayAdmin struct {
	book     *appreview.Book
	st       store.Store
	recorder *usage.Recorder
	log      *slog.Logger
	now      func() time.Time
}

var _ admin.Gateway = (*gatewayAdmin)(nil)

func (g *gatewayAdmin) ListApps(q admin.GatewayAppQuery) ([]any, error) {
	f := appreview.Filter{Type: q.Type, AI: q.AI, Search: q.Search}
	if q.Status != "" {
		st, err := applib.ParseStatus(q.Status)
		if err != nil {
			return nil, fmt.Errorf("%w: %s", admin.ErrInvalid, err.Error())
		}
		f.Status = st
	}
	apps, err := g.book.List(f)
	if err != nil {
		return nil, mapReviewError(err)
	}
	out := make([]any, len(apps))
	for i := range apps {
		out[i] = apps[i]
	}
	return out, nil
}

func (g *gatewayAdmin) App(key string) (any, error) {
	app, err := g.book.Catalog().ResolveApp(key)
	if err != nil {
		return nil, fmt.Errorf("application %q: %w", key, admin.ErrNotFound)
	}
	v := g.book.View(app, true)
	return &v, nil
}

func (g *gatewayAdmin) SetReviewStatus(ctx context.Context, actor string, keys []string, status string) (any, []string, error) {
	changes, err := g.book.Set(ctx, actor, keys, status)
	if err != nil {
		return nil, nil, mapReviewError(err)
	}
	ids := make([]string, len(changes))
	for i, c := range changes {
		ids[i] = strconv.Itoa(c.AppID)
	}
	if changes == nil {
		changes = []appreview.Change{}
	}
	return changes, ids, nil
}

// mapReviewError gives package appreview's errors the admin layer's meaning; their text is
// built from the request and the catalogue only, so it may be shown.
func mapReviewError(err error) error {
	switch {
	case errors.Is(err, appreview.ErrConfigured):
		return fmt.Errorf("%w: %s", admin.ErrConflict, err.Error())
	case errors.Is(err, appreview.ErrUnknownApp), errors.Is(err, appreview.ErrInvalid):
		return fmt.Errorf("%w: %s", admin.ErrInvalid, err.Error())
	}
	return err
}

func (g *gatewayAdmin) Report(ctx context.Context, since string, top int) (any, error) {
	return g.report(ctx, since, top)
}

func (g *gatewayAdmin) report(ctx context.Context, since string, top int) (*usage.Report, error) {
	from, err := usage.ParseSince(since, g.now())
	if err != nil {
		return nil, fmt.Errorf("%w: since must be a number of days (30d), a duration (36h) or a date (2026-11-01)", admin.ErrInvalid)
	}
	us, ok := g.st.(store.GatewayUsage)
	if !ok {
		return nil, fmt.Errorf("%w: the store keeps no gateway usage", admin.ErrInvalid)
	}
	if g.recorder != nil {
		// This process's latest counts first; a failure leaves the report a flush behind.
		if err := g.recorder.Flush(ctx); err != nil {
			g.log.WarnContext(ctx, "gateway usage not flushed before the report", "err", err)
		}
	}
	cat, _ := applib.Default()
	return usage.Query(ctx, us, from, top, cat)
}

// GatewayApps returns the application library as the CLI lists it.
func (a *Admin) GatewayApps(status, appType, search string, ai bool) ([]GatewayApp, error) {
	f := appreview.Filter{Type: appType, AI: ai, Search: search}
	if status != "" {
		st, err := applib.ParseStatus(status)
		if err != nil {
			return nil, err
		}
		f.Status = st
	}
	return a.gw.book.List(f)
}

// GatewayApp returns one application with its confidence evidence.
func (a *Admin) GatewayApp(key string) (*GatewayApp, error) {
	app, err := a.gw.book.Catalog().ResolveApp(key)
	if err != nil {
		return nil, err
	}
	v := a.gw.book.View(app, true)
	return &v, nil
}

// GatewayReport returns the Shadow-AI report from the store's rollups.
func (a *Admin) GatewayReport(ctx context.Context, since string, top int) (*GatewayReport, error) {
	return a.gw.report(ctx, since, top)
}

// NewGatewayAdmin returns the gateway's administration (application library, review statuses,
// Shadow-AI report) on st, with reviews as gateway.app_reviews, for an admin.Service.
func NewGatewayAdmin(ctx context.Context, st store.Store, reviews map[string]string, now func() time.Time, log *slog.Logger) (admin.Gateway, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if now == nil {
		now = time.Now
	}
	book, err := openAppReviews(ctx, &config.File{Gateway: config.Gateway{AppReviews: reviews}}, st)
	if err != nil {
		return nil, err
	}
	return &gatewayAdmin{book: book, st: st, log: log, now: now}, nil
}

// DefaultGatewayCatalog returns the embedded application library (for commands that name
// applications, such as ai extract).
func DefaultGatewayCatalog() (*GatewayCatalog, error) { return applib.Default() }
