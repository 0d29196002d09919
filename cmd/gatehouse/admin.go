package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatehouse/gatehouse/internal/admin"
	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/store"
)

// adminFlags are the flags every admin command shares.
type adminFlags struct {
	config string
	json   bool
}

func (f *adminFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.config, "config", "gatehouse.yaml", "configuration file")
	cmd.Flags().BoolVar(&f.json, "json", false, "print JSON instead of a table")
}

// withAdmin opens the configured store and runs fn with the CLI's administration on it.
func (f *adminFlags) withAdmin(cmd *cobra.Command, fn func(a *app.Admin) error) error {
	cfg, err := loadConfig(cmd, f.config)
	if err != nil {
		return err
	}
	a, err := app.OpenAdmin(cmd.Context(), cfg, newLogger(io.Discard, cfg))
	if err != nil {
		return err
	}
	defer a.Close()
	return fn(a)
}

// withService opens the configured store and runs fn with an admin service on it (actor "cli").
func (f *adminFlags) withService(cmd *cobra.Command, fn func(svc *admin.Service) error) error {
	return f.withAdmin(cmd, func(a *app.Admin) error { return fn(a.Service) })
}

// emit prints v as JSON, or calls table with a tab writer.
func (f *adminFlags) emit(cmd *cobra.Command, v any, table func(w io.Writer)) error {
	if f.json {
		enc := json.NewEncoder(cmd.OutOrStdout())
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
	table(tw)
	return tw.Flush()
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func usersCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "users", Short: "List, inspect and revoke users (acts on the configured store)"}

	var lf adminFlags
	list := &cobra.Command{
		Use: "list", Short: "List users", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return lf.withService(cmd, func(svc *admin.Service) error {
				users, err := svc.ListUsers(cmd.Context())
				if err != nil {
					return err
				}
				return lf.emit(cmd, users, func(w io.Writer) {
					fmt.Fprintln(w, "ID\tEMAIL\tNAME\tSTATUS\tIDPS\tLAST LOGIN\tLAST IDP\tCREATED")
					for _, u := range users {
						fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", u.ID, u.Email, dash(u.Name), u.Status,
							dash(strings.Join(u.LinkedIdPs, ",")), fmtTime(u.LastSeen.At), dash(u.LastSeen.IdPID), fmtTime(u.CreatedAt))
					}
				})
			})
		},
	}
	lf.register(list)

	var sf adminFlags
	show := &cobra.Command{
		Use: "show <id|email>", Short: "Show a user with active sessions and recent logins", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return sf.withService(cmd, func(svc *admin.Service) error {
				u, err := svc.GetUser(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				return sf.emit(cmd, u, func(w io.Writer) {
					fmt.Fprintf(w, "ID:\t%s\nEmail:\t%s\nName:\t%s\nStatus:\t%s\nLinked IdPs:\t%s\n", u.ID, u.Email, dash(u.Name), u.Status, dash(strings.Join(u.LinkedIdPs, ", ")))
					fmt.Fprintf(w, "Last seen:\t%s via %s from %s %s\nCreated:\t%s\nUpdated:\t%s\n", fmtTime(u.LastSeen.At), dash(u.LastSeen.IdPID),
						dash(u.LastSeen.IP), u.LastSeen.Country, fmtTime(u.CreatedAt), fmtTime(u.UpdatedAt))
					fmt.Fprintf(w, "\nActive sessions (%d):\n", len(u.ActiveSessions))
					if len(u.ActiveSessions) > 0 {
						fmt.Fprintln(w, "SESSION\tIDP\tIP\tSTARTED\tEXPIRES")
						for _, s := range u.ActiveSessions {
							fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", s.ID, dash(s.IdPID), dash(s.IP), fmtTime(s.CreatedAt), fmtTime(s.ExpiresAt))
						}
					}
					fmt.Fprintf(w, "\nRecent logins (%d):\n", len(u.RecentLogins))
					if len(u.RecentLogins) > 0 {
						fmt.Fprintln(w, "TIME\tRESULT\tIDP\tAPP\tIP\tREASONS")
						for _, e := range u.RecentLogins {
							result := "allowed"
							if !e.Allowed {
								result = "denied"
							}
							fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", fmtTime(e.Time), result, dash(e.IdPID), dash(e.AppID), dash(e.IP), dash(strings.Join(e.Reasons, ",")))
						}
					}
				})
			})
		},
	}
	sf.register(show)

	var rf adminFlags
	var sessionID string
	revoke := &cobra.Command{
		Use:   "revoke <id|email> [--session ID]",
		Short: "Revoke all of a user's sessions, tokens and gateway devices, or one session with --session",
		Long: "Revoke all of a user's sessions, tokens and gateway devices, or one session with --session. A running Gatehouse " +
			"sharing the database notices it within half a second (it polls the database for changes made by other processes).",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return rf.withService(cmd, func(svc *admin.Service) error {
				result := map[string]any{"user": args[0], "revoked": true}
				if sessionID != "" {
					if err := svc.RevokeSession(cmd.Context(), admin.CLIActor, args[0], sessionID); err != nil {
						return err
					}
					result["session"] = sessionID
				} else {
					u, err := svc.RevokeUser(cmd.Context(), admin.CLIActor, args[0])
					if err != nil {
						return err
					}
					result["user"] = u.ID
				}
				return rf.emit(cmd, result, func(w io.Writer) {
					if sessionID != "" {
						fmt.Fprintf(w, "revoked session %s of %s\n", sessionID, args[0])
					} else {
						fmt.Fprintf(w, "revoked every session, token and gateway device of %s (%s)\n", args[0], result["user"])
					}
				})
			})
		},
	}
	rf.register(revoke)
	revoke.Flags().StringVar(&sessionID, "session", "", "revoke only this session (its identity_nonce)")

	cmd.AddCommand(list, show, revoke)
	return cmd
}

func appsCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "apps", Short: "Application session control (acts on the configured store)"}
	var f adminFlags
	revoke := &cobra.Command{
		Use: "revoke-tokens <app id>", Short: "Revoke every token issued for an application so far", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.withService(cmd, func(svc *admin.Service) error {
				if err := svc.RevokeAppTokens(cmd.Context(), admin.CLIActor, args[0]); err != nil {
					return err
				}
				return f.emit(cmd, map[string]any{"app": args[0], "revoked": true}, func(w io.Writer) {
					fmt.Fprintf(w, "revoked every token of application %s\n", args[0])
				})
			})
		},
	}
	f.register(revoke)
	cmd.AddCommand(revoke)
	return cmd
}

func auditCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "audit", Short: "Query the audit log"}
	var (
		f            adminFlags
		since, until string
		q            store.AuditQuery
	)
	query := &cobra.Command{
		Use: "query", Short: "List audit events, newest first", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var err error
			if q.Since, err = parseWhen(since); err != nil {
				return fmt.Errorf("--since: %w", err)
			}
			if q.Until, err = parseWhen(until); err != nil {
				return fmt.Errorf("--until: %w", err)
			}
			return f.withService(cmd, func(svc *admin.Service) error {
				evs, err := svc.QueryAudit(cmd.Context(), q)
				if err != nil {
					return err
				}
				return f.emit(cmd, evs, func(w io.Writer) {
					fmt.Fprintln(w, "TIME\tACTOR\tACTION\tTARGET\tRESULT\tIP\tREASONS")
					for _, e := range evs {
						fmt.Fprintf(w, "%s\t%s:%s\t%s\t%s:%s\t%s\t%s\t%s\n", fmtTime(e.Time), e.ActorType, dash(e.Actor), e.Action,
							dash(e.TargetType), dash(e.TargetID), e.Result, dash(e.IP), dash(strings.Join(e.Reasons, ",")))
					}
				})
			})
		},
	}
	f.register(query)
	fl := query.Flags()
	fl.StringVar(&since, "since", "", "only events at or after this time (RFC 3339, or a duration ago such as 24h)")
	fl.StringVar(&until, "until", "", "only events before this time (RFC 3339, or a duration ago)")
	fl.StringVar(&q.Actor, "actor", "", "only this actor (token name, \"cli\", ...)")
	fl.StringVar(&q.Action, "action", "", "only this action (e.g. user.revoke_sessions)")
	fl.StringVar(&q.TargetID, "target", "", "only this target ID")
	fl.IntVar(&q.Limit, "limit", 100, "at most this many events (1-1000)")
	cmd.AddCommand(query)
	return cmd
}

// parseWhen reads an RFC 3339 time or a duration before now.
func parseWhen(v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(v); err == nil {
		return time.Now().Add(-d), nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("want an RFC 3339 time or a duration, got %q", v)
	}
	return t, nil
}

func adminTokensCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "admin-tokens", Short: "Manage admin REST API tokens"}
	var cf adminFlags
	var scopes []string
	create := &cobra.Command{
		Use: "create <name> [--scope SCOPE]...", Short: "Create an admin API token and print it once", Args: cobra.ExactArgs(1),
		Long: "Create an admin API token and print it once. --scope limits what it may do (repeatable or comma-separated): " +
			strings.Join(admin.ValidScopes(), ", ") + ". Without --scope the token may do everything (all).",
		RunE: func(cmd *cobra.Command, args []string) error {
			return cf.withService(cmd, func(svc *admin.Service) error {
				tok, plain, err := svc.CreateAdminToken(cmd.Context(), admin.CLIActor, args[0], scopes...)
				if err != nil {
					return err
				}
				out := struct {
					*store.AdminToken
					Token string `json:"token"`
				}{tok, plain}
				return cf.emit(cmd, out, func(w io.Writer) {
					fmt.Fprintf(w, "created admin API token %s (%s, scopes %s)\n%s\nIt is shown only now; store it safely.\n", tok.ID, tok.Name, strings.Join(tok.Scopes, ","), plain)
				})
			})
		},
	}
	cf.register(create)
	create.Flags().StringArrayVar(&scopes, "scope", nil, "what the token may do: "+strings.Join(admin.ValidScopes(), ", ")+" (default all)")
	var lf adminFlags
	list := &cobra.Command{
		Use: "list", Short: "List admin API tokens (never their values)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return lf.withService(cmd, func(svc *admin.Service) error {
				toks, err := svc.ListAdminTokens(cmd.Context())
				if err != nil {
					return err
				}
				return lf.emit(cmd, toks, func(w io.Writer) {
					fmt.Fprintln(w, "ID\tNAME\tSCOPES\tCREATED\tLAST USED")
					for _, t := range toks {
						fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", t.ID, t.Name, strings.Join(t.Scopes, ","), fmtTime(t.CreatedAt), fmtTime(t.LastUsedAt))
					}
				})
			})
		},
	}
	lf.register(list)
	var rf adminFlags
	revoke := &cobra.Command{
		Use: "revoke <id>", Short: "Revoke an admin API token", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return rf.withService(cmd, func(svc *admin.Service) error {
				if err := svc.DeleteAdminToken(cmd.Context(), admin.CLIActor, args[0]); err != nil {
					return err
				}
				return rf.emit(cmd, map[string]any{"id": args[0], "revoked": true}, func(w io.Writer) {
					fmt.Fprintf(w, "revoked admin API token %s\n", args[0])
				})
			})
		},
	}
	rf.register(revoke)
	cmd.AddCommand(create, list, revoke)
	return cmd
}
