package main

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatehouse/gatehouse/internal/admin"
	"github.com/gatehouse/gatehouse/internal/store"
)

// reportsCmd prints the AI security and Access reports: the same computation as the console's
// dashboards and the admin API's /api/v1/reports endpoints (admin.Service).
func reportsCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "reports", Short: "The AI security and Access reports (acts on the configured store)"}
	const sinceHelp = "first day counted: 30d (today and the 29 days before), 36h or 2026-11-01; bounded by gateway.usage.retention"

	var af adminFlags
	var aiSince string
	var top int
	ai := &cobra.Command{
		Use:   "ai-security [--config FILE] [--since 30d|36h|2026-11-01] [--top-users N] [--json]",
		Short: "AI apps in use, prompts by topic and action, users with the most risky prompts, MCP tool calls",
		Long: "Print the AI security report from the store's daily rollups: the AI applications used, the captured\n" +
			"prompts by classifier topic and by the deciding rule's action (blocked, redirected), the users with the\n" +
			"most risky prompts (DLP matched, or a topic with medium or high confidence) and the MCP requests with\n" +
			"the tool calls by server and decision. The report names users: each reading is recorded in the audit\n" +
			"log (reports.ai_security.read), and refused when it cannot be.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if top < 1 || top > store.MaxRiskyUsersLimit {
				return fmt.Errorf("--top-users must be between 1 and %d", store.MaxRiskyUsersLimit)
			}
			return af.withService(cmd, func(svc *admin.Service) error {
				rep, err := svc.AISecurityReport(cmd.Context(), admin.CLIActor, admin.ReportQuery{Since: aiSince, TopUsers: top, MCP: true})
				if err != nil {
					return err
				}
				return af.emit(cmd, rep, func(w io.Writer) { writeAIReport(w, rep) })
			})
		},
	}
	af.register(ai)
	ai.Flags().StringVar(&aiSince, "since", "30d", sinceHelp)
	ai.Flags().IntVar(&top, "top-users", store.DefaultRiskyUsersLimit, "users with risky prompts listed")

	var cf adminFlags
	var accSince string
	acc := &cobra.Command{
		Use:   "access [--config FILE] [--since 30d|36h|2026-11-01] [--json]",
		Short: "Sign-ins and application accesses: allowed and refused per day, refusals by reason, app and IdP",
		Long: "Print the Access report from the store's daily rollups: allowed and refused sign-ins and application\n" +
			"accesses per UTC day, the refusals by reason and by application, the allowed logins by identity provider.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return cf.withService(cmd, func(svc *admin.Service) error {
				rep, err := svc.AccessReport(cmd.Context(), admin.ReportQuery{Since: accSince})
				if err != nil {
					return err
				}
				return cf.emit(cmd, rep, func(w io.Writer) { writeAccessReport(w, rep) })
			})
		},
	}
	cf.register(acc)
	acc.Flags().StringVar(&accSince, "since", "30d", sinceHelp)
	cmd.AddCommand(ai, acc)
	return cmd
}

// cell is a table cell of s: control characters and tabs escaped, "-" for nothing.
func cell(s, empty string) string {
	if s == "" {
		return empty
	}
	return strings.ReplaceAll(safeText(s, false), "\t", `\t`)
}

// countRow is one line of a "by" table.
type countRow struct {
	key string
	n   int64
}

// byCount returns m's entries, most first, then by key.
func byCount(m map[string]int64) []countRow {
	out := make([]countRow, 0, len(m))
	for k, n := range m {
		out = append(out, countRow{k, n})
	}
	slices.SortFunc(out, func(a, b countRow) int { return cmp.Or(cmp.Compare(b.n, a.n), strings.Compare(a.key, b.key)) })
	return out
}

// writeCounts writes a titled table of m (nothing when m is empty but the title and "(none)").
func writeCounts(w io.Writer, title, column string, m map[string]int64, empty string) {
	fmt.Fprintf(w, "\n%s\n%s\tCOUNT\n", title, column)
	for _, r := range byCount(m) {
		fmt.Fprintf(w, "%s\t%d\n", cell(r.key, empty), r.n)
	}
	if len(m) == 0 {
		fmt.Fprintln(w, "(none)")
	}
}

func writeAIReport(w io.Writer, rep *admin.AISecurityReport) {
	fmt.Fprintf(w, "AI security report since %s: %d prompts, %d blocked, %d redirected\n", rep.Since.Format(time.DateOnly),
		rep.Prompts, rep.Blocked, rep.Redirected)
	fmt.Fprintln(w, "\nAI applications in use\nID\tAPPLICATION\tSTATUS\tUSERS\tREQUESTS\tPROMPTS\tUPLOADED")
	for _, a := range rep.Apps {
		fmt.Fprintf(w, "%d\t%s\t%s\t%d\t%d\t%d\t%d B\n", a.ID, cell(a.Name, "-"), cell(a.Status, "-"), a.Users, a.Requests, a.Prompts, a.BytesUp)
	}
	if len(rep.Apps) == 0 {
		fmt.Fprintln(w, "(none)")
	}
	writeCounts(w, "Prompts by topic", "TOPIC", rep.PromptsByTopic, "-")
	writeCounts(w, "Prompts by action", "ACTION", rep.PromptsByAction, "(no rule)")
	fmt.Fprintln(w, "\nUsers with the most risky prompts\nUSER\tRISKY PROMPTS")
	for _, u := range rep.RiskyUsers {
		fmt.Fprintf(w, "%s\t%d\n", cell(u.UserEmail, "(service token or anonymous)"), u.Count)
	}
	if len(rep.RiskyUsers) == 0 {
		fmt.Fprintln(w, "(none)")
	}
	if rep.MCP == nil {
		fmt.Fprintln(w, "\nMCP: the store keeps no MCP call logs")
		return
	}
	fmt.Fprintf(w, "\nMCP tool calls (%d MCP requests)\nSERVER\tDECISION\tCALLS\n", rep.MCP.Requests)
	for _, c := range rep.MCP.ToolCalls {
		fmt.Fprintf(w, "%s\t%s\t%d\n", cell(c.ServerID, "-"), cell(c.Decision, "-"), c.Calls)
	}
	if len(rep.MCP.ToolCalls) == 0 {
		fmt.Fprintln(w, "(none)")
	}
}

func writeAccessReport(w io.Writer, rep *admin.AccessReport) {
	fmt.Fprintf(w, "Access report since %s: %d allowed, %d refused\n", rep.Since.Format(time.DateOnly), rep.Allowed, rep.Denied)
	fmt.Fprintln(w, "\nDAY\tALLOWED\tREFUSED")
	for _, d := range rep.Days {
		fmt.Fprintf(w, "%s\t%d\t%d\n", d.Day.Format(time.DateOnly), d.Allowed, d.Denied)
	}
	writeCounts(w, "Refusals by reason", "REASON", rep.DeniedByReason, "(no reason recorded)")
	writeCounts(w, "Refusals by application", "APPLICATION", rep.DeniedByApp, "(auth domain)")
	writeCounts(w, "Allowed logins by identity provider", "IDP", rep.AllowedByIdP, "(none)")
}
