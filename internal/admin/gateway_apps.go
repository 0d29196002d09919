package admin

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// gatewayAppRoutes registers the application library endpoints.
func (a *API) gatewayAppRoutes() {
	a.route("GET /api/v1/gateway/apps", "", a.listGatewayApps)
	a.route("GET /api/v1/gateway/apps/{id}", "", a.getGatewayApp)
	a.route("PUT /api/v1/gateway/apps/{id}/review_status", "", a.setGatewayAppReview)
	a.route("POST /api/v1/gateway/apps/review_status", "", a.setGatewayAppReviews)
	a.route("GET /api/v1/gateway/report", "gateway.report", a.gatewayReport)
	// Audited by the service with its filters (ActionReadPromptLogs).
	a.route("GET /api/v1/gateway/prompt-logs", "", a.gatewayPromptLogs)
}

func (a *API) listGatewayApps(r *http.Request, _ Actor) (any, *ResultInfo, error) {
	p := &params{r: r}
	page, perPage := p.page(100)
	q := GatewayAppQuery{Status: p.str("review_status"), Type: p.str("type"), Search: p.str("search")}
	switch p.str("ai") {
	case "", "false":
	case "true":
		q.AI = true
	default:
		p.err = &invalidParam{"ai", "true or false"}
	}
	if p.err != nil {
		return nil, nil, p.err
	}
	apps, err := a.svc.ListGatewayApps(q)
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
	_, changed, err := a.svc.SetGatewayAppReview(r.Context(), actor, []string{id}, req.ReviewStatus)
	if err != nil {
		return nil, nil, err
	}
	v, err := a.svc.GetGatewayApp(id)
	if err != nil {
		return nil, nil, err
	}
	return map[string]any{"app": v, "changed": len(changed) > 0}, nil, nil
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
	changes, _, err := a.svc.SetGatewayAppReview(r.Context(), actor, keys, req.ReviewStatus)
	if err != nil {
		return nil, nil, err
	}
	return map[string]any{"changes": changes}, nil, nil
}

// gatewayReport serves GET /api/v1/gateway/report: the Shadow-AI discovery report since
// ?since= (30d, 36h or 2026-11-01; default 30 days), with at most ?top= applications per review
// status (default 10).
func (a *API) gatewayReport(r *http.Request, _ Actor) (any, *ResultInfo, error) {
	p := &params{r: r}
	top := p.int("top", 0, 1, 1000)
	if p.err != nil {
		return nil, nil, p.err
	}
	rep, err := a.svc.GatewayReport(r.Context(), p.str("since"), top)
	return rep, nil, err
}

// gatewayPromptLogs serves GET /api/v1/gateway/prompt-logs: the AI prompt logs, newest first,
// filtered by ?conversation_id=, ?user=, ?app=, ?since= and ?until=, at most ?limit= (1 to 1000,
// default 100) from ?cursor=. The payloads stay sealed (payload_enc, base64); result_info's
// cursor continues the listing when there may be more.
func (a *API) gatewayPromptLogs(r *http.Request, actor Actor) (any, *ResultInfo, error) {
	p := &params{r: r}
	q := PromptLogQuery{ConversationID: p.str("conversation_id"), User: p.str("user"), App: p.str("app"),
		Since: p.str("since"), Until: p.str("until"), Limit: p.int("limit", 100, 1, 1000), Cursor: p.str("cursor")}
	if p.err != nil {
		return nil, nil, p.err
	}
	entries, cursor, err := a.svc.GatewayPromptLogs(r.Context(), actor, q)
	if err != nil {
		return nil, nil, err
	}
	return entries, &ResultInfo{PerPage: q.Limit, Count: len(entries), Cursor: cursor}, nil
}
