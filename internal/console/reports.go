package console

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// shadowReportView is the gateway's Shadow-AI report as the console reads it (the admin API's
// JSON of `gatehouse gateway report`).
type shadowReportView struct {
	Since  time.Time `json:"since"`
	Totals struct {
		Requests  int64 `json:"requests"`
		BytesUp   int64 `json:"bytes_up"`
		BytesDown int64 `json:"bytes_down"`
	} `json:"totals"`
	Statuses []struct {
		Status    string `json:"status"`
		Requests  int64  `json:"requests"`
		BytesUp   int64  `json:"bytes_up"`
		BytesDown int64  `json:"bytes_down"`
		AppCount  int    `json:"app_count"`
		Apps      []struct {
			ID         int              `json:"id"`
			Name       string           `json:"name"`
			Type       string           `json:"type"`
			AI         bool             `json:"ai"`
			Status     string           `json:"status"`
			Requests   int64            `json:"requests"`
			BytesUp    int64            `json:"bytes_up"`
			Users      int64            `json:"users"`
			Actions    map[string]int64 `json:"actions"`
			Categories map[string]int64 `json:"categories"`
			LastSeen   time.Time        `json:"last_seen"`
		} `json:"apps"`
	} `json:"statuses"`
	Days []store.GatewayUsageDay `json:"days"`
}

// periods are the periods the dashboards offer (?since=).
var periods = []string{"24h", "7d", "30d", "90d"}

// period returns the dashboard's period: ?since= when it is one of periods, else 30d.
func period(q *req) string {
	if p := q.r.URL.Query().Get("since"); slices.Contains(periods, p) {
		return p
	}
	return "30d"
}

// shadowReport reads the Shadow-AI report from the gateway's daily rollups.
func (c *Console) shadowReport(q *req, since string) (*shadowReportView, error) {
	rep, err := c.Admin.GatewayReport(q.r.Context(), since, 10)
	if err != nil {
		return nil, err
	}
	v, err := decodeAs[shadowReportView](rep)
	if err != nil {
		return nil, err
	}
	return &v, nil
}

// shadowIT is the Shadow IT dashboard: applications by review status, unique users over time,
// bytes uploaded per status, the top applications not approved. It reads the daily rollups
// only.
func (c *Console) shadowIT(q *req) error {
	since := period(q)
	rep, err := c.shadowReport(q, since)
	if unavailable(err) {
		return c.render(q, "report_shadow.html", "Shadow IT", map[string]any{"Since": since, "Periods": periods, "Disabled": true})
	}
	if err != nil {
		return adminError("The Shadow IT report", err)
	}
	var byStatus, upload []bar
	type topApp struct {
		ID                 int
		Name, Status, Type string
		AI                 bool
		Requests, BytesUp  int64
		Users              int64
		LastSeen           time.Time
		// Who are the users seen most recently (at most whoLimit), by e-mail.
		Who []string
	}
	var top []topApp
	for _, s := range rep.Statuses {
		byStatus = append(byStatus, bar{Label: s.Status, Value: int64(s.AppCount)})
		upload = append(upload, bar{Label: s.Status, Value: s.BytesUp, Text: fmtBytes(s.BytesUp)})
		if s.Status == "approved" {
			continue
		}
		for _, a := range s.Apps {
			top = append(top, topApp{ID: a.ID, Name: a.Name, Status: a.Status, Type: a.Type, AI: a.AI, Requests: a.Requests, BytesUp: a.BytesUp, Users: a.Users, LastSeen: a.LastSeen})
		}
	}
	slices.SortStableFunc(top, func(a, b topApp) int { return cmp.Compare(b.Requests, a.Requests) })
	if len(top) > 10 {
		top = top[:10]
	}
	for i := range top {
		if top[i].ID != 0 {
			top[i].Who = c.whoUses(q, top[i].ID, rep.Since)
		}
	}
	var days []bar
	for _, d := range rep.Days {
		days = append(days, bar{Label: d.Day.Format("Jan 2"), Value: d.Users})
	}
	return c.render(q, "report_shadow.html", "Shadow IT", map[string]any{"Since": since, "Periods": periods, "Report": rep,
		"ByStatus": newBars("by-status", "Applications used, by review status", byStatus),
		"Users":    newColumns("users", "Unique users per day", days),
		"Upload":   newBars("upload", "Bytes uploaded, by review status", upload),
		"Top":      top})
}

// whoLimit is how many users the Shadow IT page names for each application.
const whoLimit = 5

// whoUses names the users of an application since a day, most recent first: their e-mail
// addresses (a user since deleted by their ID, a service token as such); nil when the store
// does not say.
func (c *Console) whoUses(q *req, appID int, since time.Time) []string {
	st, ok := c.Store.(store.GatewayUsageUsers)
	if !ok {
		return nil
	}
	users, err := st.GatewayAppUsers(q.r.Context(), appID, since, whoLimit)
	if err != nil {
		c.log().WarnContext(q.r.Context(), "console: users of an application", "app", appID, "err", err)
		return nil
	}
	out := make([]string, 0, len(users))
	for _, u := range users {
		if tok, ok := strings.CutPrefix(u.User, "service_token:"); ok {
			out = append(out, "service token "+tok)
			continue
		}
		if usr, err := c.Store.GetUser(q.r.Context(), u.User); err == nil {
			out = append(out, usr.Email)
		} else {
			out = append(out, "user "+u.User)
		}
	}
	return out
}

// ActionReadAIReport records each reading of the AI security report, which names the users
// with the most risky prompts.
const ActionReadAIReport = "console.ai_report.read"

// recordRead records that the signed-in user read something sensitive, in the audit log.
func (c *Console) recordRead(q *req, action string, details map[string]any) error {
	if c.Admin.Audit == nil {
		return nil
	}
	b, err := json.Marshal(details)
	if err != nil {
		return fmt.Errorf("audit details: %w", err)
	}
	a := q.actor()
	return c.Admin.Audit.Record(q.r.Context(), &store.AuditEvent{ActorType: a.Type, Actor: a.Name, IP: a.IP, Action: action,
		Result: store.AuditSuccess, Details: b})
}

// counted returns the counts of m as bars, largest first (then by label), at most n.
func counted(m map[string]int64, n int) []bar {
	out := make([]bar, 0, len(m))
	for k, v := range m {
		out = append(out, bar{Label: k, Value: v})
	}
	slices.SortFunc(out, func(a, b bar) int {
		if c := cmp.Compare(b.Value, a.Value); c != 0 {
			return c
		}
		return strings.Compare(a.Label, b.Label)
	})
	if len(out) > n {
		out = out[:n]
	}
	return out
}

// relabel returns m with the key "" renamed to empty (a count of its own when m has both).
func relabel(m map[string]int64, empty string) map[string]int64 {
	if n, ok := m[""]; ok {
		delete(m, "")
		m[empty] += n
	}
	return m
}

// aiReport is the AI security report: AI applications in use (from the rollups), prompts by
// topic, blocked and redirected prompts and the users with the most risky prompts (from the
// prompt logs' metadata, never their sealed payloads), and MCP tool calls by server and
// decision.
func (c *Console) aiReport(q *req) error {
	ctx := q.r.Context()
	since := period(q)
	from, _ := parseWhen(since, c.now())
	// The report names users from the prompt logs' metadata: its reading is recorded, as a
	// listing of the prompt logs is, and refused when it cannot be.
	if err := c.recordRead(q, ActionReadAIReport, map[string]any{"since": since}); err != nil {
		return adminError("The AI security report", err)
	}
	// The three readings are independent: they run at once, each on its own connection.
	rollups, _ := c.Store.(store.ReportRollups)
	_, hasPrompts := c.Store.(store.PromptLogs)
	_, hasMCP := c.Store.(store.MCP)
	var (
		wg                           sync.WaitGroup
		rep                          *shadowReportView
		prompts                      = &store.PromptReport{}
		counts                       []store.MCPCallCount
		shadowErr, promptErr, mcpErr error
	)
	wg.Go(func() {
		rep, shadowErr = c.shadowReport(q, since)
		if unavailable(shadowErr) {
			rep, shadowErr = &shadowReportView{}, nil
		}
	})
	if rollups != nil && hasPrompts {
		wg.Go(func() { prompts, promptErr = rollups.PromptReportSince(ctx, from, 10) })
	}
	if rollups != nil && hasMCP && can(q.role, areaLogs, false) {
		wg.Go(func() { counts, mcpErr = rollups.MCPCallsSince(ctx, from) })
	}
	wg.Wait()
	if err := errors.Join(shadowErr, promptErr, mcpErr); err != nil {
		return adminError("The AI security report", err)
	}
	type aiApp struct {
		Name, Status      string
		Requests, BytesUp int64
		Users             int64
		Prompts           int64
	}
	var apps []aiApp
	for _, s := range rep.Statuses {
		for _, a := range s.Apps {
			if a.AI {
				apps = append(apps, aiApp{Name: a.Name, Status: a.Status, Requests: a.Requests, BytesUp: a.BytesUp, Users: a.Users, Prompts: a.Categories["prompt"]})
			}
		}
	}
	slices.SortStableFunc(apps, func(a, b aiApp) int { return cmp.Compare(b.Requests, a.Requests) })

	risky := map[string]int64{}
	for _, u := range prompts.RiskyUsers {
		who := u.UserEmail
		if who == "" {
			who = "(service token or anonymous)"
		}
		risky[who] += u.Count
	}
	calls := map[string]int64{}
	var mcpCalls int64
	for _, n := range counts {
		mcpCalls += n.Calls
		if n.Method == "tools/call" {
			calls[n.ServerID+" · "+n.Decision] += n.Calls
		}
	}
	return c.render(q, "report_ai.html", "AI security report", map[string]any{"Since": since, "Periods": periods, "Apps": apps,
		"Prompts": prompts.Prompts, "MCPCalls": mcpCalls, "Rollups": rollups != nil,
		"Topics":  newBars("topics", "Prompts by topic", counted(prompts.ByTopic, 12)),
		"Actions": newBars("actions", "Prompts by action (blocked, redirected, allowed…)", counted(relabel(maps.Clone(prompts.ByAction), "(no rule)"), 8)),
		"Risky":   newBars("risky", "Users with the most risky prompts", counted(risky, 10)),
		"Calls":   newBars("calls", "MCP tool calls by server and decision", counted(calls, 12))})
}

// accessReport is the Access dashboard: logins and refusals per day, refusals by reason, by
// application and by identity provider, from the daily rollups of every auth event of the
// period.
func (c *Console) accessReport(q *req) error {
	since := period(q)
	now := c.now()
	from, _ := parseWhen(since, now)
	rep := &store.AuthReport{}
	rollups, ok := c.Store.(store.ReportRollups)
	if ok {
		var err error
		if rep, err = rollups.AuthReportSince(q.r.Context(), from); err != nil {
			return adminError("The Access report", err)
		}
	}
	perDay := map[string]store.AuthDay{}
	for _, d := range rep.Days {
		perDay[d.Day.Format("2006-01-02")] = d
	}
	// Every day of the period, oldest first (days without events count 0).
	var logins, refusals []bar
	for d := from.UTC().Truncate(24 * time.Hour); !d.After(now); d = d.AddDate(0, 0, 1) {
		k := d.Format("2006-01-02")
		logins = append(logins, bar{Label: d.Format("Jan 2"), Value: perDay[k].Allowed})
		refusals = append(refusals, bar{Label: d.Format("Jan 2"), Value: perDay[k].Denied})
	}
	return c.render(q, "report_access.html", "Access report", map[string]any{"Since": since, "Periods": periods,
		"Allowed": rep.Allowed, "Denied": rep.Denied, "Rollups": ok,
		"Logins":   newColumns("logins", "Allowed sign-ins and app access per day", logins),
		"Refusals": newColumns("refusals", "Refusals per day", refusals),
		"Reasons":  newBars("reasons", "Refusals by reason", counted(relabel(maps.Clone(rep.DeniedByReason), "(no reason recorded)"), 12)),
		"ByApp":    newBars("by-app", "Refusals by application", counted(relabel(maps.Clone(rep.DeniedByApp), "(auth domain)"), 12)),
		"ByIdP":    newBars("by-idp", "Allowed logins by identity provider", counted(relabel(maps.Clone(rep.AllowedByIdP), "(none)"), 8))})
}
