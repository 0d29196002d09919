package store

import (
	"context"
	"time"
)

// Review statuses of the gateway's application library, Cloudflare's API values. An application
// without a stored review is unreviewed.
const (
	AppReviewApproved   = "approved"
	AppReviewUnapproved = "unapproved"
	AppReviewInReview   = "in review"
	AppReviewUnreviewed = "unreviewed"
)

// GatewayAppReview is the review status an administrator gave an application of the gateway's
// application library (through the CLI or the admin API; the configuration's
// gateway.app_reviews is not stored, it wins over these at run time).
type GatewayAppReview struct {
	// AppID is the application library's numeric id.
	AppID int `json:"app_id"`
	// Status is AppReviewApproved, AppReviewUnapproved or AppReviewInReview.
	Status string `json:"status"`
	// UpdatedAt is when the status was set, UpdatedBy who set it (an audit actor name).
	UpdatedAt time.Time `json:"updated_at"`
	UpdatedBy string    `json:"updated_by,omitempty"`
}

// GatewayAppReviews stores the application library's review statuses. Optional (found by type
// assertion); everything in the Store doc comment holds for it. Every change notifies watchers
// as a Config change.
type GatewayAppReviews interface {
	// ListGatewayAppReviews returns every stored review, by application id ascending.
	ListGatewayAppReviews(ctx context.Context) ([]GatewayAppReview, error)
	// SetGatewayAppReviews stores reviews in one transaction: all or none. A review with status
	// AppReviewUnreviewed deletes the application's stored review (setting an unreviewed
	// application unreviewed changes nothing); a zero UpdatedAt means now. An application id
	// below 1, an unknown status or the same application twice is an error wrapping none of the
	// sentinels, and nothing is stored. The application ids are not checked against the
	// library (the store does not know it); callers check them.
	SetGatewayAppReviews(ctx context.Context, reviews []GatewayAppReview) error
}

// ValidAppReviewStatus reports whether s is one of the four review statuses.
func ValidAppReviewStatus(s string) bool {
	switch s {
	case AppReviewApproved, AppReviewUnapproved, AppReviewInReview, AppReviewUnreviewed:
		return true
	}
	return false
}
