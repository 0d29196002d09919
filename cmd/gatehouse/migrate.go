package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
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
			dsn, err := cfg.Storage.DSN.Resolve()
			if err != nil {
				return fmt.Errorf("storage.dsn: %w", err)
			}
			ctx := cmd.Context()
			st, err := sqlstore.Open(ctx, cfg.Storage.Driver, dsn, sqlstore.WithoutMigrations(), sqlstore.WithPollInterval(0))
			if err != nil {
				return fmt.Errorf("open %s store: %w", cfg.Storage.Driver, err)
			}
			defer st.Close()
			latest, err := st.LatestSchemaVersion()
			if err != nil {
				return err
			}
			before, err := st.SchemaVersion(ctx)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "%s schema version before: %d (this binary's latest: %d)\n", cfg.Storage.Driver, before, latest)
			if err := st.Migrate(ctx); err != nil {
				return err
			}
			after, err := st.SchemaVersion(ctx)
			if err != nil {
				return err
			}
			if after == before {
				fmt.Fprintf(out, "%s schema version after: %d (up to date, nothing applied)\n", cfg.Storage.Driver, after)
			} else {
				fmt.Fprintf(out, "%s schema version after: %d (applied %d migration(s))\n", cfg.Storage.Driver, after, after-before)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&path, "config", "gatehouse.yaml", "configuration file")
	return cmd
}
