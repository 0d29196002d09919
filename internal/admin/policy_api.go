package admin

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"slices"

	"github.com/gatehouse/gatehouse/internal/store"
)

// Read-only endpoints over what the configuration file and the CLI own: the gateway's HTTP
// rules (gateway.rules) with a check of one expression, the DLP profiles with a scan of
// pasted text, the signing keys and the gateway's TLS inspection CAs (public parts only).
// Paths follow Cloudflare's (/gateway/rules, /dlp/profiles, /gateway/certificates) without
// /accounts/{account_id}.
func (a *API) policyRoutes() {
	a.route("GET /api/v1/gateway/rules", "", a.listGatewayRules)
	a.route("GET /api/v1/gateway/rules/{id}", "", a.getGatewayRule)
	a.readRoute("POST /api/v1/gateway/rules/check", "", a.checkGatewayExpression)
	a.route("GET /api/v1/dlp/profiles", "", a.listDLPProfiles)
	a.route("GET /api/v1/dlp/profiles/{id}", "", a.getDLPProfile)
	a.route("POST /api/v1/dlp/profiles/{id}/test", "", a.testDLPProfile)
	a.route("GET /api/v1/gateway/certificates", "", a.listGatewayCertificates)
	a.route("GET /api/v1/gateway/certificates/{id}", "", a.getGatewayCertificate)
	a.route("GET /api/v1/keys", "", a.listSigningKeys)
}

// GatewayRuleView is a gateway rule as the API shows it: the file's fields, Cloudflare's
// filters (every rule is an http rule), and managed_by file (the API cannot change it).
type GatewayRuleView struct {
	GatewayRule
	Filters   []string `json:"filters"`
	ManagedBy string   `json:"managed_by"`
}

func ruleViews(rs []GatewayRule) []GatewayRuleView {
	out := make([]GatewayRuleView, len(rs))
	for i, r := range rs {
		if r.Settings == nil {
			r.Settings = []string{}
		}
		out[i] = GatewayRuleView{GatewayRule: r, Filters: []string{"http"}, ManagedBy: store.ManagedByFile}
	}
	return out
}

func (a *API) listGatewayRules(r *http.Request, _ Actor) (any, *ResultInfo, error) {
	p := &params{r: r}
	page, perPage := p.page(100)
	if p.err != nil {
		return nil, nil, p.err
	}
	rs, _, err := a.svc.GatewayRules()
	if err != nil {
		return nil, nil, err
	}
	out, info := paginate(ruleViews(rs), page, perPage)
	return out, info, nil
}

func (a *API) getGatewayRule(r *http.Request, _ Actor) (any, *ResultInfo, error) {
	rs, _, err := a.svc.GatewayRules()
	if err != nil {
		return nil, nil, err
	}
	i := slices.IndexFunc(rs, func(g GatewayRule) bool { return g.ID == r.PathValue("id") })
	if i < 0 {
		return nil, nil, ErrNotFound
	}
	return ruleViews(rs[i : i+1])[0], nil, nil
}

// ExpressionCheck is the body of POST /gateway/rules/check.
type ExpressionCheck struct {
	Expression string `json:"expression"`
	// Kind is the rule field the expression is for: traffic (default), identity or
	// device_posture. The gateway compiles the three with the same fields and lists.
	Kind string `json:"kind,omitempty"`
}

// ExpressionCheckResult is the answer of POST /gateway/rules/check: Valid, or the Problem
// with its line and column.
type ExpressionCheckResult struct {
	Kind    string             `json:"kind"`
	Valid   bool               `json:"valid"`
	Problem *ExpressionProblem `json:"problem"`
}

// readBody decodes a JSON body of at most limit bytes into v (unknown fields refused).
func readBody(r *http.Request, limit int64, v any) error {
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return fmt.Errorf("%w: body: cannot be read", ErrInvalid)
	}
	if int64(len(body)) > limit {
		return fmt.Errorf("%w: body: longer than %d bytes", ErrInvalid, limit)
	}
	return DecodeStrict(bytes.NewReader(body), v)
}

// jsonBound is the body bound for a JSON string field of at most n bytes, however a client
// escapes it (\u00XX is six bytes per byte), plus room for the rest of the object.
func jsonBound(n int) int64 { return int64(6*n + 1<<10) }

func (a *API) checkGatewayExpression(r *http.Request, _ Actor) (any, *ResultInfo, error) {
	var req ExpressionCheck
	if err := readBody(r, jsonBound(MaxExpressionBytes), &req); err != nil {
		return nil, nil, err
	}
	switch req.Kind {
	case "":
		req.Kind = "traffic"
	case "traffic", "identity", "device_posture":
	default:
		return nil, nil, fmt.Errorf("%w: kind: must be traffic, identity or device_posture", ErrInvalid)
	}
	p, err := a.svc.CheckGatewayExpression(req.Expression)
	if err != nil {
		return nil, nil, err
	}
	return ExpressionCheckResult{Kind: req.Kind, Valid: p == nil, Problem: p}, nil, nil
}

func (a *API) listDLPProfiles(r *http.Request, _ Actor) (any, *ResultInfo, error) {
	p := &params{r: r}
	page, perPage := p.page(100)
	if p.err != nil {
		return nil, nil, p.err
	}
	ps, err := a.svc.DLPProfiles()
	if err != nil {
		return nil, nil, err
	}
	out, info := paginate(ps, page, perPage)
	return out, info, nil
}

func (a *API) getDLPProfile(r *http.Request, _ Actor) (any, *ResultInfo, error) {
	ps, err := a.svc.DLPProfiles()
	if err != nil {
		return nil, nil, err
	}
	i := slices.IndexFunc(ps, func(p DLPProfile) bool { return p.ID == r.PathValue("id") })
	if i < 0 {
		return nil, nil, ErrNotFound
	}
	return ps[i], nil, nil
}

// DLPTest is the body of POST /dlp/profiles/{id}/test: text of at most MaxDLPTestBytes.
type DLPTest struct {
	Text string `json:"text"`
}

func (a *API) testDLPProfile(r *http.Request, actor Actor) (any, *ResultInfo, error) {
	var req DLPTest
	if err := readBody(r, jsonBound(MaxDLPTestBytes), &req); err != nil {
		return nil, nil, err
	}
	scan, err := a.svc.TestDLPProfile(r.Context(), actor, r.PathValue("id"), req.Text)
	if err != nil {
		return nil, nil, err
	}
	return scan, nil, nil
}

func (a *API) listGatewayCertificates(r *http.Request, _ Actor) (any, *ResultInfo, error) {
	p := &params{r: r}
	page, perPage := p.page(100)
	if p.err != nil {
		return nil, nil, p.err
	}
	cs, err := a.svc.GatewayCertificates(r.Context())
	if err != nil {
		return nil, nil, err
	}
	out, info := paginate(cs, page, perPage)
	return out, info, nil
}

func (a *API) getGatewayCertificate(r *http.Request, _ Actor) (any, *ResultInfo, error) {
	cs, err := a.svc.GatewayCertificates(r.Context())
	if err != nil {
		return nil, nil, err
	}
	i := slices.IndexFunc(cs, func(c GatewayCertificate) bool { return c.ID == r.PathValue("id") })
	if i < 0 {
		return nil, nil, ErrNotFound
	}
	return cs[i], nil, nil
}

func (a *API) listSigningKeys(r *http.Request, _ Actor) (any, *ResultInfo, error) {
	p := &params{r: r}
	page, perPage := p.page(100)
	if p.err != nil {
		return nil, nil, p.err
	}
	ks, err := a.svc.SigningKeys(r.Context())
	if err != nil {
		return nil, nil, err
	}
	out, info := paginate(ks, page, perPage)
	return out, info, nil
}
