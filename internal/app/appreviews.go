package app

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/gateway/applib"
	"github.com/gatehouse/gatehouse/internal/gateway/appreview"
	"github.com/gatehouse/gatehouse/internal/store"
)

// openAppReviews builds the review statuses in force for the gateway's application library:
// gateway.app_reviews over the statuses stored through the CLI and the admin API. It is built
// whether or not the gateway listens, so that the CLI and the API manage statuses either way.
func openAppReviews(ctx context.Context, cfg *config.File, st store.Store, log *slog.Logger) (*appreview.Book, error) {
	cat, err := applib.Default()
	if err != nil {
		return nil, fmt.Errorf("application library: %w", err)
	}
	configured, err := applib.ParseReviews(cat, cfg.Gateway.AppReviews)
	if err != nil {
		return nil, fmt.Errorf("gateway.app_reviews: %w", err)
	}
	b := appreview.New(cat, st, appreview.Options{Configured: configured, Log: log})
	if err := b.Reload(ctx); err != nil {
		return nil, err
	}
	return b, nil
}
