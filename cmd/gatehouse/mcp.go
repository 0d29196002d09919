package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatehouse/gatehouse/internal/admin"
	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/store"
)

func mcpCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "mcp", Short: "The MCP server portal: registered servers, their sync and tool approval, call logs (acts on the configured store)"}
	servers := &cobra.Command{Use: "servers", Short: "List, inspect, sync and approve the registered MCP servers (mcp_servers)"}
	servers.AddCommand(mcpServersListCmd(), mcpServersShowCmd(), mcpServersSyncCmd(), mcpServersApproveCmd(), mcpServersAuthorizeCmd())
	cmd.AddCommand(servers, mcpLogsCmd())
	return cmd
}

func mcpServersListCmd() *cobra.Command {
	var f adminFlags
	cmd := &cobra.Command{
		Use:   "list [--config FILE] [--json]",
		Short: "List the registered MCP servers with their review status, last sync and tools",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return f.withService(cmd, func(svc *admin.Service) error {
				servers, err := svc.ListMCPServers(cmd.Context())
				if err != nil {
					return err
				}
				return f.emit(cmd, servers, func(w io.Writer) {
					fmt.Fprintln(w, "ID\tNAME\tREVIEW\tSYNC\tTOOLS\tLAST SYNCED\tFLAGS")
					for _, s := range servers {
						fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%d\t%s\t%s\n", orDash(s.ID), orDash(s.Name), orDash(s.ReviewStatus),
							orDash(s.Status), s.ToolCount, fmtTime(s.LastSynced), mcpFlags(&s))
					}
					if len(servers) == 0 {
						fmt.Fprintln(w, "No MCP servers are registered (mcp_servers).")
					}
				})
			})
		},
	}
	f.register(cmd)
	return cmd
}

// mcpFlags says what an administrator should notice about a server: changed tool definitions
// (held from portals or not), a failed sync, tools not exposed through portals.
func mcpFlags(s *admin.MCPServerInfo) string {
	var flags []string
	if s.ToolsChanged {
		if s.Held {
			flags = append(flags, "tools changed (held; approve-tools)")
		} else {
			flags = append(flags, "tools changed (approve-tools)")
		}
	}
	switch {
	case s.Error != nil && s.Error.Type == store.MCPSyncErrorAuthorizationRequired:
		flags = append(flags, "needs authorization (mcp servers authorize "+s.ID+")")
	case s.Error != nil:
		flags = append(flags, "sync failed: "+s.Error.Type)
	}
	if !s.Exposed {
		flags = append(flags, "not exposed")
	}
	if len(flags) == 0 {
		return "-"
	}
	return strings.Join(flags, ", ")
}

func mcpServersShowCmd() *cobra.Command {
	var f adminFlags
	cmd := &cobra.Command{
		Use:   "show ID [--config FILE] [--json]",
		Short: "Show one MCP server: its sync state and its tool, prompt and resource definitions",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.withService(cmd, func(svc *admin.Service) error {
				s, err := svc.GetMCPServer(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				if f.json {
					return f.emit(cmd, s, nil)
				}
				return writeMCPServer(cmd.OutOrStdout(), s)
			})
		},
	}
	f.register(cmd)
	return cmd
}

// writeMCPServer prints a server and its tools; the upstream's text is made safe for a terminal.
func writeMCPServer(w io.Writer, s *admin.MCPServerInfo) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%s)\n", orDash(s.Name), orDash(s.ID))
	fmt.Fprintf(&b, "  url            %s\n", orDash(s.URL))
	fmt.Fprintf(&b, "  auth_type      %s\n", orDash(s.AuthType))
	fmt.Fprintf(&b, "  review_status  %s\n", orDash(s.ReviewStatus))
	fmt.Fprintf(&b, "  status         %s\n", orDash(s.Status))
	if s.Error != nil {
		fmt.Fprintf(&b, "  error          %s: %s\n", orDash(s.Error.Type), orDash(s.Error.Message))
	}
	fmt.Fprintf(&b, "  transport      %s\n", orDash(s.Transport))
	fmt.Fprintf(&b, "  protocol       %s\n", orDash(s.ProtocolVersion))
	fmt.Fprintf(&b, "  last synced    %s\n", fmtTime(s.LastSynced))
	fmt.Fprintf(&b, "  flags          %s\n", mcpFlags(s))
	var tools []struct {
		Name        string `json:"name"`
		Description string `json:"description"`
	}
	if len(s.Tools) > 0 {
		if err := json.Unmarshal(s.Tools, &tools); err != nil {
			return fmt.Errorf("the stored tool definitions of %s are not a list: %w", s.ID, err)
		}
	}
	fmt.Fprintf(&b, "  tools (%d):\n", len(tools))
	for _, t := range tools {
		desc, _, _ := strings.Cut(t.Description, "\n")
		fmt.Fprintf(&b, "    %s_%s  %s\n", orDash(s.ID), orDash(t.Name), orDash(desc))
	}
	if s.PromptCount > 0 {
		fmt.Fprintf(&b, "  prompts (%d, not passed through yet): %s\n", s.PromptCount, orDash(strings.Join(s.PromptNames, ", ")))
	}
	if s.ResourceCount > 0 {
		fmt.Fprintf(&b, "  resources (%d, not passed through yet): %s\n", s.ResourceCount, orDash(strings.Join(s.ResourceNames, ", ")))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func mcpServersSyncCmd() *cobra.Command {
	var f adminFlags
	cmd := &cobra.Command{
		Use:   "sync [ID...] [--config FILE] [--json]",
		Short: "Sync MCP servers now from this machine (every registered server when no ID is given)",
		Long: "Connect to the registered MCP servers from this machine, with the credentials the configuration\n" +
			"names, list their tools, prompts and resources, and record what was found in the store, where every\n" +
			"replica reads it (a server whose approved tool definitions changed is flagged). Each sync is recorded\n" +
			"in the audit log. Exit status 1 when a sync failed.",
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.withService(cmd, func(svc *admin.Service) error {
				ids := args
				if len(ids) == 0 {
					all, err := svc.ListMCPServers(cmd.Context())
					if err != nil {
						return err
					}
					for _, s := range all {
						ids = append(ids, s.ID)
					}
				}
				if len(ids) == 0 {
					return fmt.Errorf("no MCP servers are registered (mcp_servers)")
				}
				results := make([]*admin.MCPServerInfo, 0, len(ids))
				failed := 0
				for _, id := range ids {
					s, err := svc.SyncMCPServer(cmd.Context(), admin.CLIActor, id)
					if err != nil {
						return fmt.Errorf("mcp server %s: %w", id, err)
					}
					if s.Status == store.MCPSyncFailed {
						failed++
					}
					results = append(results, s)
				}
				err := f.emit(cmd, results, func(w io.Writer) {
					fmt.Fprintln(w, "ID\tSYNC\tTOOLS\tTRANSPORT\tDETAILS")
					for _, s := range results {
						details := mcpFlags(s)
						if s.Error != nil {
							details = s.Error.Message
						}
						fmt.Fprintf(w, "%s\t%s\t%d\t%s\t%s\n", orDash(s.ID), orDash(s.Status), s.ToolCount, orDash(s.Transport), orDash(details))
					}
				})
				if err != nil {
					return err
				}
				if failed > 0 {
					return fmt.Errorf("%d of %d syncs failed", failed, len(results))
				}
				return nil
			})
		},
	}
	f.register(cmd)
	return cmd
}

func mcpServersApproveCmd() *cobra.Command {
	var f adminFlags
	cmd := &cobra.Command{
		Use:   "approve-tools ID [--config FILE] [--json]",
		Short: "Approve an MCP server's current tool definitions (after a change was flagged)",
		Long: "Record the tool definitions the last sync found as approved: a flagged change is cleared, and a\n" +
			"server with hold_changed_tools shows its tools through portals again. Review the definitions\n" +
			"first (`gatehouse mcp servers show ID`). Recorded in the audit log.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.withService(cmd, func(svc *admin.Service) error {
				s, err := svc.ApproveMCPTools(cmd.Context(), admin.CLIActor, args[0])
				if err != nil {
					return err
				}
				if f.json {
					return f.emit(cmd, s, nil)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "approved the %d tool definitions of %s: %s\n", s.ToolCount, orDash(s.ID),
					orDash(strings.Join(s.ToolNames, ", ")))
				return nil
			})
		},
	}
	f.register(cmd)
	return cmd
}

func mcpServersAuthorizeCmd() *cobra.Command {
	var f adminFlags
	cmd := &cobra.Command{
		Use:   "authorize ID [--config FILE] [--json]",
		Short: "Authorise Gatehouse at an oauth MCP server with your account (its administrator credential)",
		Long: "Start the administrator's authorization at an MCP server with auth_type oauth: Gatehouse discovers the\n" +
			"server's authorization server, registers itself there when needed, and prints a URL. Open it in a\n" +
			"browser within 10 minutes, sign in and approve; the authorization server sends you back to Gatehouse's\n" +
			"callback (<auth domain><prefix>mcp/servers-callback, served by any replica), which stores the grant,\n" +
			"sealed under the master key, as the server's administrator credential, and syncs the server.\n" +
			"Recorded in the audit log.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.withService(cmd, func(svc *admin.Service) error {
				a, err := svc.AuthorizeMCPServer(cmd.Context(), admin.CLIActor, args[0])
				if err != nil {
					return err
				}
				if f.json {
					return f.emit(cmd, a, nil)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "Open this URL in a browser before %s to authorise Gatehouse at %s:\n\n  %s\n",
					a.ExpiresAt.UTC().Format(time.DateTime+" UTC"), a.ServerID, a.AuthorizationURL)
				return nil
			})
		},
	}
	f.register(cmd)
	return cmd
}

func mcpLogsCmd() *cobra.Command {
	var (
		f adminFlags
		q admin.MCPCallLogQuery
	)
	cmd := &cobra.Command{
		Use:   "logs [--config FILE] [--portal ID] [--server ID] [--user EMAIL] [--decision allow|block|error] [--since D] [--until D] [--limit N] [--cursor C] [--json]",
		Short: "List the MCP call logs: every tool call through a portal and its decision",
		Long: "List the MCP portal's call logs of the configured store, newest first: time, portal, server, tool,\n" +
			"user or service token, decision (allow, block, error) and reason, duration, bytes, DLP entries and\n" +
			"classifier topics. Arguments and results are never stored. Each listing is recorded in the audit log.\n" +
			"--since and --until are days ago (7d), a duration ago (36h), a date (2026-12-01, UTC) or an RFC 3339\n" +
			"time. --json prints one JSON object per line.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if q.Limit < 1 || q.Limit > 1000 {
				return fmt.Errorf("--limit must be between 1 and 1000")
			}
			return f.withAdmin(cmd, func(a *app.Admin) error {
				entries, cursor, err := a.MCPCallLogs(cmd.Context(), admin.CLIActor, q)
				if err != nil {
					return err
				}
				if err := printMCPLogs(cmd.OutOrStdout(), entries, f.json); err != nil {
					return err
				}
				if cursor != "" {
					fmt.Fprintf(cmd.ErrOrStderr(), "more entries: add --cursor %s\n", cursor)
				}
				return nil
			})
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&q.Portal, "portal", "", "only this portal (id)")
	cmd.Flags().StringVar(&q.Server, "server", "", "only this server (id)")
	cmd.Flags().StringVar(&q.User, "user", "", "only this user's e-mail address")
	cmd.Flags().StringVar(&q.Decision, "decision", "", "only this decision: allow, block or error")
	cmd.Flags().StringVar(&q.Since, "since", "", "only entries from: 7d, 36h, 2026-12-01 or an RFC 3339 time")
	cmd.Flags().StringVar(&q.Until, "until", "", "only entries before: 7d, 36h, 2026-12-01 or an RFC 3339 time")
	cmd.Flags().IntVar(&q.Limit, "limit", 100, "most entries listed (1 to 1000)")
	cmd.Flags().StringVar(&q.Cursor, "cursor", "", "continue a listing where the previous one ended")
	return cmd
}

// printMCPLogs writes the entries as JSON lines or one text line each.
func printMCPLogs(w io.Writer, entries []store.MCPCallLog, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		for i := range entries {
			if err := enc.Encode(&entries[i]); err != nil {
				return err
			}
		}
		return nil
	}
	if len(entries) == 0 {
		_, err := fmt.Fprintln(w, "No MCP call log entries.")
		return err
	}
	var b strings.Builder
	for _, e := range entries {
		who := e.UserEmail
		if who == "" && e.ClientID != "" {
			who = "service token " + e.ClientID
		}
		capability := orDash(e.Capability)
		if e.UpstreamCapability != "" {
			capability += " (upstream " + orDash(e.UpstreamCapability) + ")"
		}
		fmt.Fprintf(&b, "%s  %s  %s/%s  %s  %s  %s (%s)  %sms  in %d B  out %d B",
			e.Time.UTC().Format(time.RFC3339), orDash(e.Method), orDash(e.PortalID), orDash(e.ServerID), capability,
			orDash(who), orDash(e.Decision), orDash(e.Reason), strconv.FormatFloat(e.DurationMS, 'f', -1, 64), e.BytesIn, e.BytesOut)
		if len(e.DLPEntries) > 0 {
			fmt.Fprintf(&b, "  dlp %s", orDash(strings.Join(e.DLPEntries, ", ")))
		}
		if len(e.Topics) > 0 {
			fmt.Fprintf(&b, "  topics %s", orDash(strings.Join(e.Topics, ", ")))
		}
		fmt.Fprintf(&b, "  request %s\n", orDash(e.RequestID))
	}
	_, err := io.WriteString(w, b.String())
	return err
}
