package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse/internal/gateway/applib"
	"github.com/gatehouse/gatehouse/internal/gateway/appreview"
)

// ErrConflict: the change contradicts the configuration (the API answers 409 with the reason).
var ErrConflict = errors.New("conflict")

// ActionReviewGatewayApps is the audit action of a review-status change.
const ActionReviewGatewayApps = "gateway_app.review"

func (s *Service) appBook() (*appreview.Book, error) {
	if s.Apps == nil {
		return nil, fmt.Errorf("%w: the application library is not available in this process", ErrNotFound)
	}
	return s.Apps, nil
}

// ListGatewayApps returns the gateway's application library with review statuses and
// confidence scores, filtered.
func (s *Service) ListGatewayApps(f appreview.Filter) ([]appreview.App, error) {
	b, err := s.appBook()
	if err != nil {
		return nil, err
	}
	apps, err := b.List(f)
	if errors.Is(err, appreview.ErrInvalid) {
		return nil, fmt.Errorf("%w: %s", ErrInvalid, publicReviewText(err))
	}
	return apps, err
}

// GetGatewayApp returns one application (by id or name) with its confidence evidence.
func (s *Service) GetGatewayApp(key string) (*appreview.App, error) {
	b, err := s.appBook()
	if err != nil {
		return nil, err
	}
	app, err := b.Catalog().ResolveApp(key)
	if err != nil {
		return nil, fmt.Errorf("application %q: %w", key, ErrNotFound)
	}
	v := b.View(app, true)
	return &v, nil
}

// SetGatewayAppReview gives the applications named by keys (ids or names) a review status, all
// or none, and records it in the audit log.
func (s *Service) SetGatewayAppReview(ctx context.Context, a Actor, keys []string, status string) ([]appreview.Change, error) {
	b, err := s.appBook()
	var changes []appreview.Change
	if err == nil {
		changes, err = b.Set(ctx, a.Name, keys, status)
		switch {
		case errors.Is(err, appreview.ErrConfigured):
			err = fmt.Errorf("%w: %s", ErrConflict, publicReviewText(err))
		case errors.Is(err, appreview.ErrUnknownApp), errors.Is(err, appreview.ErrInvalid):
			err = fmt.Errorf("%w: %s", ErrInvalid, publicReviewText(err))
		}
	}
	ids := make([]string, len(changes))
	for i, c := range changes {
		ids[i] = strconv.Itoa(c.AppID)
	}
	return changes, s.finish(ctx, a, ActionReviewGatewayApps, "gateway_app", strings.Join(ids, ","),
		map[string]any{"apps": keys, "status": status, "changes": changes}, err)
}

// publicReviewText is an appreview error's text, which package appreview builds from the
// request and the catalogue only (names, ids, statuses, suggestions).
func publicReviewText(err error) string { return err.Error() }

// gatewayAppRoutes registers the application library endpoints.
func (a *API) gatewayAppRoutes() {
	a.route("GET /api/v1/gateway/apps", "", a.listGatewayApps)
	a.route("GET /api/v1/gateway/apps/{id}", "", a.getGatewayApp)
	a.route("PUT /api/v1/gateway/apps/{id}/review_status", "", a.setGatewayAppReview)
	a.route("POST /api/v1/gateway/apps/review_status", "", a.setGatewayAppReviews)
}

func (a *API) listGatewayApps(r *http.Request, _ Actor) (any, *ResultInfo, error) {
	p := &params{r: r}
	page, perPage := p.page(100)
	f := appreview.Filter{Status: applib.Status(p.str("review_status")), Type: p.str("type"), Search: p.str("search")}
	switch p.str("ai") {
	case "", "false":
	case "true":
		f.AI = true
	default:
		p.err = &invalidParam{"ai", "true or false"}
	}
	if f.Status != "" {
		st, err := applib.ParseStatus(string(f.Status))
		if err != nil && p.err == nil {
			p.err = &invalidParam{"review_status", "approved, unapproved, in review or unreviewed"}
		}
		f.Status = st
	}
	if p.err != nil {
		return nil, nil, p.err
	}
	apps, err := a.svc.ListGatewayApps(f)
	if err != nil {
		return nil, nil, err
	}
	out, info := paginate(apps, page, perPage)
	return out, info, nil
}

func (a *API) getGatewayApp(r *http.Request, _ Actor) (any, *ResultInfo, error) {
	v, err := a.svc.GetGatewayApp(r.PathValue("id"))
	return v, nil, err
}

// reviewRequest is the body of the review-status endpoints.
type reviewRequest struct {
	ReviewStatus string `json:"review_status"`
	// Apps are ids (numbers or strings) or names; only for the batch endpoint.
	Apps []json.RawMessage `json:"apps,omitempty"`
}

func decodeReview(r *http.Request) (*reviewRequest, error) {
	var req reviewRequest
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return nil, fmt.Errorf(`%w: the body must be JSON such as {"review_status": "approved"}`, ErrInvalid)
	}
	if req.ReviewStatus == "" {
		return nil, fmt.Errorf("%w: review_status is required (approved, unapproved, in review or unreviewed)", ErrInvalid)
	}
	return &req, nil
}

func (a *API) setGatewayAppReview(r *http.Request, actor Actor) (any, *ResultInfo, error) {
	req, err := decodeReview(r)
	if err == nil && len(req.Apps) > 0 {
		err = fmt.Errorf("%w: apps is for POST /api/v1/gateway/apps/review_status; this endpoint names its application in the path", ErrInvalid)
	}
	if err != nil {
		return nil, nil, err
	}
	id := r.PathValue("id")
	if _, err := a.svc.GetGatewayApp(id); err != nil {
		return nil, nil, err
	}
	changes, err := a.svc.SetGatewayAppReview(r.Context(), actor, []string{id}, req.ReviewStatus)
	if err != nil {
		return nil, nil, err
	}
	v, err := a.svc.GetGatewayApp(id)
	if err != nil {
		return nil, nil, err
	}
	return map[string]any{"app": v, "changed": len(changes) > 0}, nil, nil
}

func (a *API) setGatewayAppReviews(r *http.Request, actor Actor) (any, *ResultInfo, error) {
	req, err := decodeReview(r)
	if err != nil {
		return nil, nil, err
	}
	if len(req.Apps) == 0 || len(req.Apps) > 1000 {
		return nil, nil, fmt.Errorf("%w: apps must list 1 to 1000 application ids or names", ErrInvalid)
	}
	keys := make([]string, len(req.Apps))
	for i, raw := range req.Apps {
		var n int
		var s string
		switch {
		case json.Unmarshal(raw, &n) == nil:
			keys[i] = strconv.Itoa(n)
		case json.Unmarshal(raw, &s) == nil && strings.TrimSpace(s) != "":
			keys[i] = s
		default:
			return nil, nil, fmt.Errorf("%w: apps[%d] must be an application id or name", ErrInvalid, i)
		}
	}
	changes, err := a.svc.SetGatewayAppReview(r.Context(), actor, keys, req.ReviewStatus)
	if err != nil {
		return nil, nil, err
	}
	if changes == nil {
		changes = []appreview.Change{}
	}
	return map[string]any{"changes": changes}, nil, nil
}
