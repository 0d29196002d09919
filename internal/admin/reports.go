package admin

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// The AI security and Access reports. One method each computes them, for the console, the API
// (GET /api/v1/reports/ai_security and /access) and the CLI (gatehouse reports), from the
// store's daily rollups (store.ReportRollups) and the gateway's Shadow-AI report: whatever the
// number of log entries, a report counts every one of its period.

// ActionReadAISecurityReport records each reading of the AI security report, which names the
// users with the most risky prompts (from the console, the API or the CLI).
const ActionReadAISecurityReport = "reports.ai_security.read"

// ReportQuery chooses a report's period.
type ReportQuery struct {
	// Since is the first UTC day counted: a number of days ("7d": today and the 6 days before),
	// a duration ago ("36h", from its UTC day) or a date ("2026-11-01"); "" means 30d. It is
	// bounded by the rollups' retention (Service.ReportRetention): an earlier day starts the
	// period at the oldest day kept.
	Since string
	// TopUsers is how many users with risky prompts the AI security report names (0: 10, at
	// most store.MaxRiskyUsersLimit).
	TopUsers int
	// MCP includes the MCP calls in the AI security report (the reader may read the MCP call
	// logs).
	MCP bool
}

// AISecurityReport is the AI security report of a period.
type AISecurityReport struct {
	// Since is the first UTC day counted (the period runs to now).
	Since time.Time `json:"since"`
	// Apps are the AI applications used in the period, most requests first.
	Apps []AIAppUsage `json:"apps"`
	// Prompts counts the captured prompts; PromptsByTopic by classifier topic (a prompt with
	// two topics counts under both), PromptsByAction by the deciding rule's action (block,
	// redirect, allow...; "" when no rule decided). Blocked and Redirected are the counts of
	// block and redirect.
	Prompts         int64            `json:"prompts"`
	PromptsByTopic  map[string]int64 `json:"prompts_by_topic"`
	PromptsByAction map[string]int64 `json:"prompts_by_action"`
	Blocked         int64            `json:"blocked_prompts"`
	Redirected      int64            `json:"redirected_prompts"`
	// RiskyUsers are the senders of the most risky prompts, most first ("" for a service token
	// or an anonymous client): DLP matched or the classifier gave a topic with medium or high
	// confidence.
	RiskyUsers []store.UserCount `json:"risky_users"`
	// MCP is the MCP requests of the period; absent when the reader may not read them or the
	// store keeps no MCP call logs.
	MCP *MCPReport `json:"mcp,omitempty"`
}

// AIAppUsage is one AI application's use in a period.
type AIAppUsage struct {
	ID       int    `json:"id"`
	Name     string `json:"name"`
	Status   string `json:"review_status"`
	Requests int64  `json:"requests"`
	Prompts  int64  `json:"prompts"`
	BytesUp  int64  `json:"bytes_up"`
	Users    int64  `json:"users"`
}

// MCPReport is the MCP requests of a period.
type MCPReport struct {
	// Requests counts every MCP request; ToolCalls the tools/call requests by server and
	// decision, most first.
	Requests  int64           `json:"requests"`
	ToolCalls []MCPToolCounts `json:"tool_calls"`
}

// MCPToolCounts counts the tool calls to one server with one decision.
type MCPToolCounts struct {
	ServerID string `json:"server_id"`
	Decision string `json:"decision"`
	Calls    int64  `json:"calls"`
}

// AccessReport is the Access report of a period: sign-ins and application accesses, allowed
// and refused.
type AccessReport struct {
	// Since is the first UTC day counted (the period runs to now).
	Since time.Time `json:"since"`
	// Allowed and Denied count the events.
	Allowed int64 `json:"allowed"`
	Denied  int64 `json:"denied"`
	// Days are every UTC day of the period, oldest first (days without events count 0).
	Days []store.AuthDay `json:"days"`
	// DeniedByReason counts the reasons refused events gave (an event with two reasons counts
	// under both; "" the refused events without any), DeniedByApp the refused events by
	// application id ("" for the auth domain), AllowedByIdP the allowed events by identity
	// provider id ("" for none), ByAction the events by action and result ("login allowed").
	DeniedByReason map[string]int64 `json:"denied_by_reason"`
	DeniedByApp    map[string]int64 `json:"denied_by_app"`
	AllowedByIdP   map[string]int64 `json:"allowed_by_idp"`
	ByAction       map[string]int64 `json:"by_action"`
}

// ParseReportSince parses a report's since relative to now: a number of days (30d: today and
// the 29 days before), a duration (36h: from the UTC day 36 hours ago) or a date (2026-11-01),
// the forms of the Shadow-AI report. Empty means 30d. It returns the first UTC day counted; a
// bad value is ErrInvalid with a message to show.
func ParseReportSince(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		s = "30d"
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || strconv.Itoa(days) != n || days < 1 || days > 3650 {
			return time.Time{}, fmt.Errorf("%w: since %q: want a number of days between 1 and 3650 (30d), a duration (36h) or a date (2026-11-01)", ErrInvalid, s)
		}
		return store.UsageDay(now.AddDate(0, 0, -(days - 1))), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return time.Time{}, fmt.Errorf("%w: since %q: want a number of days (30d), a duration (36h) or a date (2026-11-01)", ErrInvalid, s)
	}
	return store.UsageDay(now.Add(-d)), nil
}

// reportSince parses since and bounds it by the rollups' retention.
func (s *Service) reportSince(since string) (time.Time, error) {
	now := s.now()
	from, err := ParseReportSince(since, now)
	if err != nil {
		return time.Time{}, err
	}
	// The rollups keep every day any part of which is within the retention (without one,
	// the longest a since may say).
	keep := s.ReportRetention
	if keep <= 0 {
		keep = 3650 * 24 * time.Hour
	}
	if oldest := store.UsageDay(now.Add(-keep)); from.Before(oldest) {
		from = oldest
	}
	return from, nil
}

// rollups returns the store's report rollups.
func (s *Service) rollups() (store.ReportRollups, error) {
	r, ok := s.Store.(store.ReportRollups)
	if !ok {
		return nil, fmt.Errorf("%w: the reports are not available in this process: the store keeps no report rollups", ErrNotFound)
	}
	return r, nil
}

// shadowApp is what the AI security report reads of the Shadow-AI report's applications.
type shadowApp struct {
	ID         int              `json:"id"`
	Name       string           `json:"name"`
	AI         bool             `json:"ai"`
	Status     string           `json:"status"`
	Requests   int64            `json:"requests"`
	BytesUp    int64            `json:"bytes_up"`
	Users      int64            `json:"users"`
	Categories map[string]int64 `json:"categories"`
}

// aiApps returns the AI applications of the Shadow-AI report since from (none without a
// gateway administration or gateway usage).
func (s *Service) aiApps(ctx context.Context, from time.Time) ([]AIAppUsage, error) {
	out := []AIAppUsage{}
	if s.Gateway == nil {
		return out, nil
	}
	rep, err := s.Gateway.Report(ctx, from.Format(time.DateOnly), 1000)
	if errors.Is(err, ErrInvalid) {
		// The store keeps no gateway usage: no application was seen.
		return out, nil
	}
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(rep)
	if err != nil {
		return nil, fmt.Errorf("gateway report: %w", err)
	}
	var v struct {
		Statuses []struct {
			Apps []shadowApp `json:"apps"`
		} `json:"statuses"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, fmt.Errorf("gateway report: %w", err)
	}
	for _, st := range v.Statuses {
		for _, a := range st.Apps {
			if a.AI {
				out = append(out, AIAppUsage{ID: a.ID, Name: a.Name, Status: a.Status, Requests: a.Requests,
					Prompts: a.Categories["prompt"], BytesUp: a.BytesUp, Users: a.Users})
			}
		}
	}
	slices.SortStableFunc(out, func(a, b AIAppUsage) int {
		return cmp.Or(cmp.Compare(b.Requests, a.Requests), strings.Compare(a.Name, b.Name))
	})
	return out, nil
}

// AISecurityReport returns the AI security report of q's period: the AI applications in use,
// prompts by topic and by action (blocked, redirected), the users with the most risky prompts
// (from the prompt logs' metadata, never their sealed payloads) and, with q.MCP, the MCP
// requests and tool calls by server and decision. The report names users: its reading is
// recorded in the audit log as a's, and refused when it cannot be.
func (s *Service) AISecurityReport(ctx context.Context, a Actor, q ReportQuery) (*AISecurityReport, error) {
	from, err := s.reportSince(q.Since)
	var rollups store.ReportRollups
	if err == nil {
		rollups, err = s.rollups()
	}
	if q.TopUsers <= 0 {
		q.TopUsers = store.DefaultRiskyUsersLimit
	}
	details := map[string]any{"since": q.Since, "mcp": q.MCP}
	// A reading that cannot be recorded is refused, before anything is read.
	if err := s.finish(ctx, a, ActionReadAISecurityReport, "report", "ai_security", details, err); err != nil {
		return nil, err
	}
	rep := &AISecurityReport{Since: from, PromptsByTopic: map[string]int64{}, PromptsByAction: map[string]int64{}, RiskyUsers: []store.UserCount{}}
	_, hasPrompts := s.Store.(store.PromptLogs)
	_, hasMCP := s.Store.(store.MCP)
	// The readings are independent: they run at once, each on its own connection.
	var (
		wg                         sync.WaitGroup
		prompts                    *store.PromptReport
		counts                     []store.MCPCallCount
		appsErr, promptErr, mcpErr error
	)
	wg.Go(func() { rep.Apps, appsErr = s.aiApps(ctx, from) })
	if hasPrompts {
		wg.Go(func() { prompts, promptErr = rollups.PromptReportSince(ctx, from, q.TopUsers) })
	}
	if hasMCP && q.MCP {
		wg.Go(func() { counts, mcpErr = rollups.MCPCallsSince(ctx, from) })
	}
	wg.Wait()
	if err := errors.Join(appsErr, promptErr, mcpErr); err != nil {
		return nil, fmt.Errorf("AI security report: %w", err)
	}
	if prompts != nil {
		rep.Prompts = prompts.Prompts
		for k, v := range prompts.ByTopic {
			rep.PromptsByTopic[k] = v
		}
		for k, v := range prompts.ByAction {
			rep.PromptsByAction[k] = v
		}
		rep.Blocked, rep.Redirected = prompts.ByAction["block"], prompts.ByAction["redirect"]
		if prompts.RiskyUsers != nil {
			rep.RiskyUsers = prompts.RiskyUsers
		}
	}
	if hasMCP && q.MCP {
		m := &MCPReport{ToolCalls: []MCPToolCounts{}}
		tools := map[[2]string]int64{}
		for _, n := range counts {
			m.Requests += n.Calls
			if n.Method == "tools/call" {
				tools[[2]string{n.ServerID, n.Decision}] += n.Calls
			}
		}
		for k, n := range tools {
			m.ToolCalls = append(m.ToolCalls, MCPToolCounts{ServerID: k[0], Decision: k[1], Calls: n})
		}
		slices.SortFunc(m.ToolCalls, func(a, b MCPToolCounts) int {
			return cmp.Or(cmp.Compare(b.Calls, a.Calls), strings.Compare(a.ServerID, b.ServerID), strings.Compare(a.Decision, b.Decision))
		})
		rep.MCP = m
	}
	return rep, nil
}

// AccessReport returns the Access report of q's period: allowed and refused sign-ins and
// application accesses per day, refusals by reason and by application, allowed logins by
// identity provider.
func (s *Service) AccessReport(ctx context.Context, q ReportQuery) (*AccessReport, error) {
	from, err := s.reportSince(q.Since)
	if err != nil {
		return nil, err
	}
	rollups, err := s.rollups()
	if err != nil {
		return nil, err
	}
	a, err := rollups.AuthReportSince(ctx, from)
	if err != nil {
		return nil, fmt.Errorf("access report: %w", err)
	}
	rep := &AccessReport{Since: from, Allowed: a.Allowed, Denied: a.Denied, Days: []store.AuthDay{},
		DeniedByReason: orEmpty(a.DeniedByReason), DeniedByApp: orEmpty(a.DeniedByApp),
		AllowedByIdP: orEmpty(a.AllowedByIdP), ByAction: orEmpty(a.ByAction)}
	perDay := map[time.Time]store.AuthDay{}
	for _, d := range a.Days {
		perDay[store.UsageDay(d.Day)] = d
	}
	for d := from; !d.After(s.now()); d = d.AddDate(0, 0, 1) {
		rep.Days = append(rep.Days, store.AuthDay{Day: d, Allowed: perDay[d].Allowed, Denied: perDay[d].Denied})
	}
	return rep, nil
}

func orEmpty(m map[string]int64) map[string]int64 {
	if m == nil {
		return map[string]int64{}
	}
	return m
}

// reportRoutes registers the report endpoints.
func (a *API) reportRoutes() {
	// Audited by the service, and refused when the reading cannot be recorded.
	a.route("GET /api/v1/reports/ai_security", "", a.aiSecurityReport)
	a.route("GET /api/v1/reports/access", "reports.access", a.accessReport)
}

// aiSecurityReport serves GET /api/v1/reports/ai_security: the AI security report since
// ?since= (7d, 36h or 2026-11-01; default 30d) naming at most ?top_users= users (1 to 1000,
// default 10). Its area is gateway; the MCP requests are included when the token may also read
// the mcp area.
func (a *API) aiSecurityReport(r *http.Request, actor Actor) (any, *ResultInfo, error) {
	p := &params{r: r}
	q := ReportQuery{Since: p.str("since"), TopUsers: p.int("top_users", store.DefaultRiskyUsersLimit, 1, store.MaxRiskyUsersLimit)}
	if p.err != nil {
		return nil, nil, p.err
	}
	scopes, _ := r.Context().Value(scopesKey{}).([]string)
	q.MCP = allows(scopes, ScopeMCP, false)
	rep, err := a.svc.AISecurityReport(r.Context(), actor, q)
	return rep, nil, err
}

// accessReport serves GET /api/v1/reports/access: the Access report since ?since=.
func (a *API) accessReport(r *http.Request, _ Actor) (any, *ResultInfo, error) {
	p := &params{r: r}
	rep, err := a.svc.AccessReport(r.Context(), ReportQuery{Since: p.str("since")})
	return rep, nil, err
}
