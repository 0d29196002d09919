package console

import (
	"cmp"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/admin"
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
// with the most risky prompts (the console's, the API's and the CLI's readings alike).
const ActionReadAIReport = admin.ActionReadAISecurityReport

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

// aiReport is the AI security report (admin.Service.AISecurityReport, as the API and the CLI
// read it): AI applications in use, prompts by topic, blocked and redirected prompts, the users
// with the most risky prompts, and MCP tool calls by server and decision. Its reading is
// recorded in the audit log, and refused when it cannot be.
func (c *Console) aiReport(q *req) error {
	since := period(q)
	rep, err := c.Admin.AISecurityReport(q.r.Context(), q.actor(), admin.ReportQuery{Since: since, MCP: can(q.role, areaLogs, false)})
	rollups := !unavailable(err)
	if !rollups {
		rep, err = &admin.AISecurityReport{}, nil
	}
	if err != nil {
		return adminError("The AI security report", err)
	}
	risky := map[string]int64{}
	for _, u := range rep.RiskyUsers {
		who := u.UserEmail
		if who == "" {
			who = "(service token or anonymous)"
		}
		risky[who] += u.Count
	}
	calls := map[string]int64{}
	var mcpCalls int64
	if rep.MCP != nil {
		mcpCalls = rep.MCP.Requests
		for _, n := range rep.MCP.ToolCalls {
			calls[n.ServerID+" · "+n.Decision] += n.Calls
		}
	}
	return c.render(q, "report_ai.html", "AI security report", map[string]any{"Since": since, "Periods": periods, "Apps": rep.Apps,
		"Prompts": rep.Prompts, "MCPCalls": mcpCalls, "Rollups": rollups,
		"Topics":  newBars("topics", "Prompts by topic", counted(rep.PromptsByTopic, 12)),
		"Actions": newBars("actions", "Prompts by action (blocked, redirected, allowed…)", counted(relabel(maps.Clone(rep.PromptsByAction), "(no rule)"), 8)),
		"Risky":   newBars("risky", "Users with the most risky prompts", counted(risky, 10)),
		"Calls":   newBars("calls", "MCP tool calls by server and decision", counted(calls, 12))})
}

// accessReport is the Access dashboard (admin.Service.AccessReport, as the API and the CLI read
// it): logins and refusals per day, refusals by reason, by application and by identity
// provider, from the daily rollups of every auth event of the period.
func (c *Console) accessReport(q *req) error {
	since := period(q)
	rep, err := c.Admin.AccessReport(q.r.Context(), admin.ReportQuery{Since: since})
	rollups := !unavailable(err)
	if !rollups {
		rep, err = &admin.AccessReport{}, nil
	}
	if err != nil {
		return adminError("The Access report", err)
	}
	var logins, refusals []bar
	for _, d := range rep.Days {
		logins = append(logins, bar{Label: d.Day.Format("Jan 2"), Value: d.Allowed})
		refusals = append(refusals, bar{Label: d.Day.Format("Jan 2"), Value: d.Denied})
	}
	return c.render(q, "report_access.html", "Access report", map[string]any{"Since": since, "Periods": periods,
		"Allowed": rep.Allowed, "Denied": rep.Denied, "Rollups": rollups,
		"Logins":   newColumns("logins", "Allowed sign-ins and app access per day", logins),
		"Refusals": newColumns("refusals", "Refusals per day", refusals),
		"Reasons":  newBars("reasons", "Refusals by reason", counted(relabel(maps.Clone(rep.DeniedByReason), "(no reason recorded)"), 12)),
		"ByApp":    newBars("by-app", "Refusals by application", counted(relabel(maps.Clone(rep.DeniedByApp), "(auth domain)"), 12)),
		"ByIdP":    newBars("by-idp", "Allowed logins by identity provider", counted(relabel(maps.Clone(rep.AllowedByIdP), "(none)"), 8))})
}
