package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/gatehouse/gatehouse/internal/app"
)

func idpsCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "idps", Short: "Work with identity providers"}
	var path string
	secret := &cobra.Command{
		Use:   "scim-secret IDP_ID --config FILE",
		Short: "Create or rotate the SCIM bearer secret of an identity provider and print it once",
		Long: "Create or rotate the SCIM bearer secret of an identity provider. The secret is printed once and\n" +
			"stored only as a SHA-256 hash; the previous secret stops working at once.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := loadConfig(cmd, path)
			if err != nil {
				return err
			}
			idpID := args[0]
			var enabled, found bool
			for _, p := range cfg.IdentityProviders {
				if p.ID == idpID {
					found, enabled = true, p.SCIMConfig != nil && p.SCIMConfig.Enabled
				}
			}
			if !found {
				return fmt.Errorf("no identity provider %q in %s", idpID, path)
			}
			s, err := app.RotateSCIMSecret(cmd.Context(), cfg, idpID)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			base := app.SCIMBaseURL(cfg, idpID)
			fmt.Fprintf(out, "SCIM secret for identity provider %s (shown once; store it in the IdP's SCIM settings):\n%s\n", idpID, s)
			if base != "" {
				fmt.Fprintf(out, "SCIM base URL: %s\n", base)
			}
			if !enabled {
				fmt.Fprintf(out, "warning: scim_config.enabled is not true for %s: the endpoint answers 404 until it is\n", idpID)
			}
			return nil
		},
	}
	secret.Flags().StringVar(&path, "config", "gatehouse.yaml", "configuration file")
	cmd.AddCommand(secret)
	return cmd
}
