package store

import (
	"context"
	"time"
)

// PromptReport is the prompts of a period, counted from the daily rollups.
type PromptReport struct {
	// Prompts counts the prompts.
	Prompts int64 `json:"prompts"`
	// ByTopic counts the classifier topics given (a prompt with two topics counts under both),
	// ByAction the prompts by the deciding rule's action ("" when no rule decided).
	ByTopic  map[string]int64 `json:"by_topic"`
	ByAction map[string]int64 `json:"by_action"`
	// RiskyUsers are the senders of the most risky prompts, most first, then by e-mail ("" for a
	// service token or an anonymous client). A prompt is risky when DLP matched any entry or the
	// classifier gave it a topic with medium or high confidence (RiskyPrompt).
	RiskyUsers []UserCount `json:"risky_users"`
}

// UserCount is a count of one user's prompts.
type UserCount struct {
	UserEmail string `json:"user_email"`
	Count     int64  `json:"count"`
}

// MCPCallCount is the MCP requests of a period through one portal to one server with one method
// and decision.
type MCPCallCount struct {
	PortalID string `json:"portal_id"`
	ServerID string `json:"server_id"`
	Method   string `json:"method"`
	Decision string `json:"decision"`
	Calls    int64  `json:"calls"`
}

// AuthReport is the auth events of a period, counted from the daily rollups.
type AuthReport struct {
	// Days are the allowed and refused events of each UTC day with any, oldest first.
	Days []AuthDay `json:"days"`
	// Allowed and Denied count the events.
	Allowed int64 `json:"allowed"`
	Denied  int64 `json:"denied"`
	// DeniedByReason counts the reasons refused events gave (an event with two reasons counts
	// under both; "" counts the refused events without any), DeniedByApp the refused events by
	// application id ("" for the auth domain itself), AllowedByIdP the allowed events by
	// identity provider id ("" for none).
	DeniedByReason map[string]int64 `json:"denied_by_reason"`
	DeniedByApp    map[string]int64 `json:"denied_by_app"`
	AllowedByIdP   map[string]int64 `json:"allowed_by_idp"`
	// ByAction counts the events by action and result ("login allowed", "login denied").
	ByAction map[string]int64 `json:"by_action"`
}

// AuthDay is one UTC day's auth events.
type AuthDay struct {
	Day     time.Time `json:"day"`
	Allowed int64     `json:"allowed"`
	Denied  int64     `json:"denied"`
}

// RiskyPrompt reports whether a prompt counts as risky in PromptReport.RiskyUsers: DLP matched
// any entry, or the classifier gave it any topic with medium or high confidence.
func RiskyPrompt(l *PromptLog) bool {
	if len(l.DLPEntries) > 0 {
		return true
	}
	for _, t := range l.Topics {
		if t.Confidence == "high" || t.Confidence == "medium" {
			return true
		}
	}
	return false
}

// Limits of PromptReport's RiskyUsers.
const (
	DefaultRiskyUsersLimit = 10
	MaxRiskyUsersLimit     = 1000
)

// ReportRollups reads the daily rollups of the prompt logs, MCP call logs and auth events that
// the stores keep current in the same transaction as each append (AppendPromptLogs,
// AppendMCPCallLogs, AppendAuthEvent), so that a report counts every entry of its period
// exactly whatever the number of entries. Deleting raw entries (their retention) leaves the
// rollups: a report still counts entries since deleted. The rollups have the retention of the
// gateway's usage rollups (the usage recorder calls DeleteReportRollupsBefore). Optional (found by type assertion); everything in
// the Store doc comment holds for it.
//
// A period is the UTC days from since's UTC day on (a zero since: every day kept).
type ReportRollups interface {
	// PromptReportSince counts the prompts of the period; RiskyUsers holds at most topUsers
	// (0: the default, above the maximum: the maximum). Empty topic ids are not counted.
	PromptReportSince(ctx context.Context, since time.Time, topUsers int) (*PromptReport, error)
	// MCPCallsSince counts the MCP requests of the period, ordered by portal, server, method
	// and decision.
	MCPCallsSince(ctx context.Context, since time.Time) ([]MCPCallCount, error)
	// AuthReportSince counts the auth events of the period.
	AuthReportSince(ctx context.Context, since time.Time) (*AuthReport, error)
	// DeleteReportRollupsBefore deletes the rollups of the UTC days before before's UTC day
	// and returns how many rows went.
	DeleteReportRollupsBefore(ctx context.Context, before time.Time) (int64, error)
}
