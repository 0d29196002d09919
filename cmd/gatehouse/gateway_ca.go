package main

import (
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/store"
)

// gatewayCmd groups the secure web gateway's commands.
func gatewayCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "gateway", Short: "Manage the secure web gateway"}
	cmd.AddCommand(gatewayCACmd(), gatewayReportCmd())
	cmd.AddCommand(gatewayCACmd(), gatewayAppsCmd())
	return cmd
}

// withGatewayCA opens the configured store and master key and runs fn with the CA manager.
func (f *adminFlags) withGatewayCA(cmd *cobra.Command, fn func(g *app.GatewayCA) error) error {
	cfg, err := loadConfig(cmd, f.config)
	if err != nil {
		return err
	}
	g, err := app.OpenGatewayCA(cmd.Context(), cfg, newLogger(io.Discard, cfg))
	if err != nil {
		return err
	}
	defer g.Close()
	return fn(g)
}

func gatewayCACmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "ca",
		Short: "Manage the TLS inspection CA (generate, list, activate, export)",
		Long: "Manage the root CAs the gateway signs inspected sites' certificates with. A CA is inactive when\n" +
			"generated, available once clients may install it, and in use when it signs (one at a time; at most\n" +
			"10 available or in use). Its private key is sealed under the master key and never leaves the store.",
	}
	cmd.AddCommand(gatewayCAGenerateCmd(), gatewayCAListCmd(), gatewayCAExportCmd(),
		gatewayCAStateCmd("activate", store.GatewayCAInUse,
			"Put a CA in use for TLS inspection; the CA in use before becomes available"),
		gatewayCAStateCmd("make-available", store.GatewayCAAvailable,
			"Publish a CA for clients to install without using it yet (stage a rotation)"),
		gatewayCAStateCmd("deactivate", store.GatewayCAInactive,
			"Make an available CA inactive (the CA in use cannot be deactivated)"))
	return cmd
}

func printCA(cmd *cobra.Command, f *adminFlags, verb string, info *app.GatewayCAInfo) error {
	if f.json {
		return f.emit(cmd, info, nil)
	}
	fmt.Fprintf(cmd.OutOrStdout(), "%s gateway CA %s\n  state:       %s\n  subject:     %s\n  sha256:      %s\n  not after:   %s\n",
		verb, info.ID, info.State, info.Subject, info.Fingerprint, fmtTime(info.NotAfter))
	return nil
}

func gatewayCAGenerateCmd() *cobra.Command {
	var (
		f        adminFlags
		validity string
		activate bool
	)
	cmd := &cobra.Command{
		Use:   "generate [--config FILE] [--validity 5y|43800h] [--activate]",
		Short: "Generate a new root CA (inactive unless --activate puts it in use)",
		Long: "Generate a new root CA: ECDSA P-256, named after organization.name, valid for --validity (a Go\n" +
			"duration such as 43800h, or whole years, weeks or days: 5y, 260w, 1825d; default 5y as Cloudflare\n" +
			"recommends; 30 days to 20 years). It starts inactive; --activate puts it in use at once (the CA in\n" +
			"use before, if any, becomes available). Install its certificate (gateway ca export) on clients\n" +
			"before putting it in use.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return f.withGatewayCA(cmd, func(g *app.GatewayCA) error {
				info, err := g.Generate(cmd.Context(), validity, activate)
				if err != nil {
					return err
				}
				return printCA(cmd, &f, "generated", info)
			})
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&validity, "validity", "5y", "how long the CA is valid: 5y, 1825d, 43800h")
	cmd.Flags().BoolVar(&activate, "activate", false, "put the new CA in use at once")
	return cmd
}

func gatewayCAListCmd() *cobra.Command {
	var f adminFlags
	cmd := &cobra.Command{
		Use:   "list [--config FILE] [--json]",
		Short: "List the gateway CAs, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return f.withGatewayCA(cmd, func(g *app.GatewayCA) error {
				list, err := g.List(cmd.Context())
				if err != nil {
					return err
				}
				if list == nil {
					list = []app.GatewayCAInfo{}
				}
				return f.emit(cmd, list, func(w io.Writer) {
					fmt.Fprintln(w, "ID\tSTATE\tSHA256 FINGERPRINT\tNOT AFTER")
					for _, c := range list {
						fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", c.ID, c.State, c.Fingerprint, fmtTime(c.NotAfter))
					}
				})
			})
		},
	}
	f.register(cmd)
	return cmd
}

func gatewayCAStateCmd(name, state, short string) *cobra.Command {
	var f adminFlags
	cmd := &cobra.Command{
		Use:   name + " ID [--config FILE]",
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.withGatewayCA(cmd, func(g *app.GatewayCA) error {
				info, err := g.SetState(cmd.Context(), args[0], state)
				if err != nil {
					return err
				}
				return printCA(cmd, &f, "updated", info)
			})
		},
	}
	f.register(cmd)
	return cmd
}

func gatewayCAExportCmd() *cobra.Command {
	var (
		path string
		out  string
	)
	cmd := &cobra.Command{
		Use:   "export ID [--config FILE] [--out FILE]",
		Short: "Print a CA's certificate in PEM (or write it to --out) for installing on clients",
		Long: "Print a CA's certificate in PEM, or write it to --out (mode 0644; the certificate is public).\n" +
			"The private key cannot be exported.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := loadConfig(cmd, path)
			if err != nil {
				return err
			}
			g, err := app.OpenGatewayCA(cmd.Context(), cfg, newLogger(io.Discard, cfg))
			if err != nil {
				return err
			}
			defer g.Close()
			pemBytes, err := g.Export(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if out == "" {
				_, err := cmd.OutOrStdout().Write(pemBytes)
				return err
			}
			if err := os.WriteFile(out, pemBytes, 0o644); err != nil {
				return fmt.Errorf("--out: %w", err)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "wrote gateway CA certificate %s to %s\n", args[0], out)
			return nil
		},
	}
	cmd.Flags().StringVar(&path, "config", "gatehouse.yaml", "configuration file")
	cmd.Flags().StringVarP(&out, "out", "o", "", "write the PEM to this file instead of standard output")
	return cmd
}
