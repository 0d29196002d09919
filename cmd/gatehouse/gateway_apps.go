package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gatehouse/gatehouse/internal/admin"
	"github.com/gatehouse/gatehouse/internal/app"
)

// gatewayAppsCmd groups the application library commands.
func gatewayAppsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "apps",
		Short: "Browse the application library and set review statuses",
		Long: "The gateway's application library: every application with its hostnames, type, granular controls,\n" +
			"review status (approved, unapproved, in review, unreviewed) and confidence scores. Statuses set here\n" +
			"are kept in the store and take effect on running servers at once; gateway.app_reviews in the\n" +
			"configuration file wins over them (such applications cannot be changed here).",
	}
	cmd.AddCommand(gatewayAppsListCmd(), gatewayAppsShowCmd(), gatewayAppsReviewCmd())
	return cmd
}

func gatewayAppsListCmd() *cobra.Command {
	var (
		f                   adminFlags
		status, typ, search string
		ai                  bool
	)
	cmd := &cobra.Command{
		Use:   "list [--ai] [--status S] [--type T] [--search TEXT] [--config FILE] [--json]",
		Short: "List applications with their review status and confidence scores",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return f.withAdmin(cmd, func(a *app.Admin) error {
				apps, err := a.GatewayApps(status, typ, search, ai)
				if err != nil {
					return err
				}
				return f.emit(cmd, apps, func(w io.Writer) {
					fmt.Fprintln(w, "ID\tNAME\tTYPE\tSTATUS\tPOSTURE\tGEN AI\tHOSTNAMES")
					for _, a := range apps {
						fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%.2f\t%s\t%s\n", a.ID, a.Name, a.AppType, statusCell(a),
							a.Posture, genAICell(a.GenAI), hostCell(a.Hostnames))
					}
				})
			})
		},
	}
	f.register(cmd)
	cmd.Flags().BoolVar(&ai, "ai", false, "only Artificial Intelligence applications")
	cmd.Flags().StringVar(&status, "status", "", "only applications with this review status")
	cmd.Flags().StringVar(&typ, "type", "", "only applications of this type (name or id)")
	cmd.Flags().StringVar(&search, "search", "", "only applications whose name, vendor or hostname contains this")
	return cmd
}

func statusCell(a app.GatewayApp) string {
	if a.StatusSource == app.ReviewSourceConfig {
		return string(a.Status) + " (config)"
	}
	return string(a.Status)
}

func genAICell(v *float64) string {
	if v == nil {
		return "-"
	}
	return fmt.Sprintf("%.2f", *v)
}

func hostCell(hosts []string) string {
	if len(hosts) > 3 {
		return strings.Join(hosts[:3], ", ") + fmt.Sprintf(" (+%d)", len(hosts)-3)
	}
	return strings.Join(hosts, ", ")
}

func gatewayAppsShowCmd() *cobra.Command {
	var f adminFlags
	cmd := &cobra.Command{
		Use:   "show APP [--config FILE] [--json]",
		Short: "Show one application (id or name): hostnames, controls, status and confidence evidence",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.withAdmin(cmd, func(ad *app.Admin) error {
				a, err := ad.GatewayApp(args[0])
				if err != nil {
					return fmt.Errorf("%s: no such application in the library (gatehouse gateway apps list --search TEXT finds one)", args[0])
				}
				return f.emit(cmd, a, func(w io.Writer) { printApp(w, a) })
			})
		},
	}
	f.register(cmd)
	return cmd
}

func printApp(w io.Writer, a *app.GatewayApp) {
	fmt.Fprintf(w, "%s\t(id %d)\n", a.Name, a.ID)
	fmt.Fprintf(w, "type:\t%s (%d)\n", a.AppType, a.AppTypeID)
	if a.Vendor != "" {
		fmt.Fprintf(w, "vendor:\t%s\n", a.Vendor)
	}
	fmt.Fprintf(w, "review status:\t%s (%s", a.Status, a.StatusSource)
	if a.ReviewedBy != "" {
		fmt.Fprintf(w, ", set by %s at %s", a.ReviewedBy, fmtTime(a.ReviewedAt))
	}
	fmt.Fprintln(w, ")")
	fmt.Fprintf(w, "hostnames:\t%s\n", strings.Join(a.Hostnames, ", "))
	if len(a.SupportHostnames) > 0 {
		fmt.Fprintf(w, "support hostnames:\t%s\n", strings.Join(a.SupportHostnames, ", "))
	}
	for _, c := range a.Controls {
		fmt.Fprintf(w, "control:\t%s (id %d)\n", c.Name, c.ID)
	}
	if len(a.TenantControls) > 0 {
		fmt.Fprintf(w, "tenant controls:\t%s\n", strings.Join(a.TenantControls, ", "))
	}
	if a.Confidence == nil {
		return
	}
	for _, s := range [...]app.GatewayScore{a.Confidence.Posture, a.Confidence.AI} {
		if !s.Applicable {
			continue
		}
		fmt.Fprintf(w, "%s:\t%.2f / %.0f\n", s.Score, s.Total, s.Max)
		for _, c := range s.Contributions {
			fmt.Fprintf(w, "\t  %s\n", c)
		}
	}
}

func gatewayAppsReviewCmd() *cobra.Command {
	var (
		f      adminFlags
		status string
	)
	cmd := &cobra.Command{
		Use:   "review APP... --status approved|unapproved|in_review|unreviewed [--config FILE] [--json]",
		Short: "Set the review status of applications (ids or names), all or none",
		Long: "Set the review status of one or more applications, named by id or name. All change or none does:\n" +
			"an unknown name (with a suggestion) or an application whose status gateway.app_reviews sets stops\n" +
			"the whole command. Running servers apply the change at once. The change is audited (actor cli).",
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if status == "" {
				return fmt.Errorf("--status is required: approved, unapproved, in_review or unreviewed")
			}
			return f.withService(cmd, func(svc *admin.Service) error {
				res, _, err := svc.SetGatewayAppReview(cmd.Context(), admin.CLIActor, args, status)
				if err != nil {
					return err
				}
				changes, _ := res.([]app.GatewayAppChange)
				if changes == nil {
					changes = []app.GatewayAppChange{}
				}
				return f.emit(cmd, changes, func(w io.Writer) {
					if len(changes) == 0 {
						fmt.Fprintln(w, "nothing changed: every application already had that status")
						return
					}
					for _, c := range changes {
						fmt.Fprintf(w, "%s (%d):\t%s -> %s\n", c.AppName, c.AppID, c.From, c.To)
					}
				})
			})
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&status, "status", "", "approved, unapproved, in_review or unreviewed")
	return cmd
}
