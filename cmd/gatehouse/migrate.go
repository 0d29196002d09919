package main

import (
	"fmt"

	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/spf13/cobra"
)

// migrateCmd applies pending schema migrations to the configured database and reports the
// schema version before and after. `gatehouse serve` migrates at start as well; this command
// lets an operator upgrade the schema before rolling out new replicas. Migrations are
// forward-only and safe to run while old replicas keep serving (they only add tables, columns
// and indexes) and from several processes at once.
func migrateCmd() *cobra.Command {
	var path string
	cmd := &cobra.Command{
		Use:   "migrate --config FILE",
		Short: "Apply pending database schema migrations (sqlite or postgres) and print the schema version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd, path)
			if err != nil {
				return err
			}
			m, err := app.Migrate(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "%s schema version before: %d (this binary's latest: %d)\n", m.Driver, m.Before, m.Latest)
			if m.After == m.Before {
				fmt.Fprintf(out, "%s schema version after: %d (up to date, nothing applied)\n", m.Driver, m.After)
			} else {
				fmt.Fprintf(out, "%s schema version after: %d (applied %d migration(s))\n", m.Driver, m.After, m.After-m.Before)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&path, "config", "gatehouse.yaml", "configuration file")
	return cmd
}
