package console

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/admin"
	"github.com/gatehouse/gatehouse/internal/httpx"
	"github.com/gatehouse/gatehouse/internal/store"
)

// parseWhen reads a time filter: "" (none), days ago (7d), a duration ago (36h), a date
// (2026-11-01, UTC midnight) or an RFC 3339 time, from the year 2000 on.
func parseWhen(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	if d, ok := strings.CutSuffix(s, "d"); ok {
		if n, err := strconv.Atoi(d); err == nil && n >= 0 && n <= 3650 {
			return now.AddDate(0, 0, -n), nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	if t, err := time.Parse("2006-01-02", s); err == nil && t.Year() >= 2000 {
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil && t.Year() >= 2000 {
		return t.UTC(), nil
	}
	return time.Time{}, fmt.Errorf("%q is not a time: use 7d, 36h, 2026-11-01 or an RFC 3339 time", s)
}

// badFilter is the error of a filter the console cannot read.
func badFilter(name string, err error) error {
	return httpx.Errorf(http.StatusBadRequest, "bad-filter", "Filter "+name+": "+err.Error()+".", err)
}

// nextQuery returns the query string of the next page: the request's filters with key=value.
func nextQuery(r *http.Request, key, value string) string {
	v := r.URL.Query()
	v.Del("done")
	v.Set(key, value)
	return "?" + v.Encode()
}

// accessLog lists the auth events (logins, app access, refusals with their reasons), newest
// first, filtered by ?email=, ?app=, ?result= (allowed, denied) and ?since=; ?before= pages
// by time (the store's only cursor for auth events: events of the very microsecond a page ends
// on that did not fit on it are not shown on the next).
func (c *Console) accessLog(q *req) error {
	v := q.r.URL.Query()
	now := c.now()
	since, err := parseWhen(v.Get("since"), now)
	if err != nil {
		return badFilter("since", err)
	}
	var until time.Time
	if b := v.Get("before"); b != "" {
		if until, err = time.Parse(time.RFC3339Nano, b); err != nil {
			return badFilter("before", err)
		}
	}
	result := v.Get("result")
	// A result filter is applied to the store's answer, so read more than a page.
	limit := pageSize + 1
	if result != "" {
		limit = 1000
	}
	events, err := c.Store.ListAuthEvents(q.r.Context(), store.AuthEventQuery{Since: since, Until: until, Email: strings.TrimSpace(v.Get("email")),
		AppID: strings.TrimSpace(v.Get("app")), Limit: limit})
	if err != nil {
		return adminError("The access log", err)
	}
	kept := events[:0]
	for _, e := range events {
		if result == "allowed" && !e.Allowed || result == "denied" && e.Allowed {
			continue
		}
		kept = append(kept, e)
	}
	var next string
	if len(kept) > pageSize {
		kept = kept[:pageSize]
		next = nextQuery(q.r, "before", kept[len(kept)-1].Time.Format(time.RFC3339Nano))
	} else if result != "" && len(events) == limit && len(kept) > 0 {
		next = nextQuery(q.r, "before", kept[len(kept)-1].Time.Format(time.RFC3339Nano))
	}
	return c.render(q, "log_access.html", "Access log", map[string]any{"Events": kept, "Next": next, "F": v})
}

// auditLog lists the audit events (changes, with their actor), newest first, filtered by
// ?actor=, ?action=, ?result= and ?since=; ?page= pages.
func (c *Console) auditLog(q *req) error {
	v := q.r.URL.Query()
	since, err := parseWhen(v.Get("since"), c.now())
	if err != nil {
		return badFilter("since", err)
	}
	n, _ := strconv.Atoi(v.Get("page"))
	n = max(n, 1)
	if n > 1000 {
		return badFilter("page", fmt.Errorf("at most 1000"))
	}
	events, err := c.Admin.QueryAudit(q.r.Context(), store.AuditQuery{Since: since, Actor: strings.TrimSpace(v.Get("actor")),
		Action: strings.TrimSpace(v.Get("action")), Result: v.Get("result"), Limit: pageSize + 1, Offset: (n - 1) * pageSize})
	if err != nil {
		return adminError("The audit log", err)
	}
	pg := pager{Page: n}
	if len(events) > pageSize {
		events = events[:pageSize]
		pg.Next = nextQuery(q.r, "page", strconv.Itoa(n+1))
	}
	if n > 1 {
		pg.Prev = nextQuery(q.r, "page", strconv.Itoa(n-1))
	}
	type row struct {
		store.AuditEvent
		DetailsText string
	}
	rows := make([]row, len(events))
	for i, e := range events {
		rows[i] = row{AuditEvent: e, DetailsText: string(e.Details)}
	}
	return c.render(q, "log_audit.html", "Audit log", map[string]any{"Events": rows, "Pager": pg, "F": v})
}

// mcpLog lists the MCP portal's call logs, newest first, filtered by ?portal=, ?server=,
// ?user=, ?decision= and ?since=; ?cursor= pages. Each listing is audited by the admin
// service.
func (c *Console) mcpLog(q *req) error {
	v := q.r.URL.Query()
	entries, cursor, err := c.Admin.MCPCallLogs(q.r.Context(), q.actor(), admin.MCPCallLogQuery{Portal: strings.TrimSpace(v.Get("portal")),
		Server: strings.TrimSpace(v.Get("server")), User: strings.TrimSpace(v.Get("user")), Decision: v.Get("decision"),
		Since: v.Get("since"), Limit: pageSize, Cursor: v.Get("cursor")})
	disabled := false
	switch {
	case unavailable(err):
		disabled, entries = true, nil
	case err != nil:
		return adminError("The MCP log", err)
	}
	next := ""
	if cursor != "" {
		next = nextQuery(q.r, "cursor", cursor)
	}
	return c.render(q, "log_mcp.html", "MCP log", map[string]any{"Entries": entries, "Next": next, "F": v, "Disabled": disabled})
}

// promptPageSize is how many prompts a page of the viewer holds: each carries its sealed
// payload (up to three texts of promptlog.MaxTextBytes), so fewer than other lists.
const promptPageSize = 20

// promptEntry is an AI prompt log entry as the console shows it (the admin API's JSON): the
// metadata, and the sealed payload that only the browser opens.
type promptEntry struct {
	ID        int64     `json:"id"`
	Time      time.Time `json:"ts"`
	RequestID string    `json:"request_id"`
	User      struct {
		Email string `json:"email"`
	} `json:"user"`
	App struct {
		ID     string `json:"id"`
		Name   string `json:"name"`
		Status string `json:"status"`
	} `json:"app"`
	ConversationID string `json:"conversation_id"`
	Model          string `json:"model"`
	Policy         struct {
		Name   string `json:"name"`
		Action string `json:"action"`
	} `json:"policy"`
	DLP struct {
		Profiles []string `json:"profiles"`
		Entries  []string `json:"entries"`
	} `json:"dlp"`
	Topics []struct {
		ID         string `json:"id"`
		Confidence string `json:"confidence"`
	} `json:"topics"`
	BytesUp    int64  `json:"bytes_up"`
	PayloadEnc []byte `json:"payload_enc"`
}

// Payload is the sealed payload in base64, for the page's data attribute.
func (e promptEntry) Payload() string { return base64.StdEncoding.EncodeToString(e.PayloadEnc) }

// promptLog is the prompt log viewer: the entries (metadata and sealed payloads), newest
// first, filtered by ?user=, ?app=, ?conversation= and ?since=; ?cursor= pages. The page's
// script decrypts the payloads in the browser with the private key the administrator gives
// it; the key and the plaintext never reach the server. Each listing is audited.
func (c *Console) promptLog(q *req) error {
	v := q.r.URL.Query()
	items, cursor, err := c.Admin.GatewayPromptLogs(q.r.Context(), q.actor(), admin.PromptLogQuery{User: strings.TrimSpace(v.Get("user")),
		App: strings.TrimSpace(v.Get("app")), ConversationID: strings.TrimSpace(v.Get("conversation")), Since: v.Get("since"),
		Limit: promptPageSize, Cursor: v.Get("cursor")})
	disabled := false
	switch {
	case unavailable(err) || err != nil && strings.Contains(err.Error(), "keeps no prompt logs"):
		disabled, items = true, nil
	case err != nil:
		return adminError("The AI prompt log", err)
	}
	entries, err := decodeAs[[]promptEntry](items)
	if err != nil {
		return adminError("The AI prompt log", err)
	}
	next := ""
	if cursor != "" {
		next = "?" + url.Values{"cursor": {cursor}, "user": {v.Get("user")}, "app": {v.Get("app")},
			"conversation": {v.Get("conversation")}, "since": {v.Get("since")}}.Encode()
	}
	return c.render(q, "log_prompts.html", "AI prompt log", map[string]any{"Entries": entries, "Next": next, "F": v, "Disabled": disabled})
}
