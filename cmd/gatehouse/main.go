// Command gatehouse is the Gatehouse binary: a self-hosted zero-trust access proxy. It only parses
// flags; everything else lives in internal/app.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/config"
)

// version is set with -ldflags "-X main.version=...".
var version = ""

func main() {
	if err := newRoot().Execute(); err != nil {
		var ee exitError
		if errors.As(err, &ee) {
			os.Exit(int(ee))
		}
		fmt.Fprintln(os.Stderr, "gatehouse:", err)
		os.Exit(1)
	}
}

// exitError exits with a status after the command printed what it had to say.
type exitError int

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:           "gatehouse",
		Short:         "Gatehouse: a self-hosted zero-trust access proxy",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(serveCmd(), demoCmd(), configCmd(), keysCmd(), versionCmd(),
		usersCmd(), appsCmd(), auditCmd(), adminTokensCmd(), idpsCmd(), dlpCmd())
	root.AddCommand(migrateCmd())
	return root
}

func newLogger(w io.Writer, cfg *config.File) *slog.Logger {
	level := slog.LevelInfo
	format := "json"
	if cfg != nil {
		_ = level.UnmarshalText([]byte(cfg.Log.Level))
		if cfg.Log.Format != "" {
			format = cfg.Log.Format
		}
	}
	opts := &slog.HandlerOptions{Level: level}
	if format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

func loadConfig(cmd *cobra.Command, path string) (*config.File, error) {
	cfg, err := config.Load(path)
	if err != nil {
		var ve *config.ValidationError
		if errors.As(err, &ve) {
			fmt.Fprintln(cmd.ErrOrStderr(), ve.Error())
			return nil, exitError(2)
		}
		return nil, err
	}
	return cfg, nil
}

func signalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

func serveCmd() *cobra.Command {
	var path string
	cmd := &cobra.Command{
		Use:   "serve --config FILE",
		Short: "Run Gatehouse with a configuration file",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd, path)
			if err != nil {
				return err
			}
			ctx, stop := signalContext()
			defer stop()
			logs := newBufferedLog(cmd.ErrOrStderr())
			defer logs.Close()
			g, err := app.New(ctx, cfg, app.Options{Log: newLogger(logs, cfg)})
			if err != nil {
				return err
			}
			defer g.Close()
			return g.Run(ctx, nil)
		},
	}
	cmd.Flags().StringVar(&path, "config", "gatehouse.yaml", "configuration file")
	return cmd
}

func demoCmd() *cobra.Command {
	var dataDir, listen string
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run Gatehouse on its embedded default: SQLite, a demo app, e-mail PIN login (PINs in the log)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signalContext()
			defer stop()
			return app.RunDemo(ctx, app.DemoOptions{DataDir: dataDir, Listen: listen, Out: cmd.OutOrStdout(),
				LoadConfig: func(path string) (*config.File, error) { return loadConfig(cmd, path) },
				Logger:     func(cfg *config.File) *slog.Logger { return newLogger(cmd.ErrOrStderr(), cfg) }})
		},
	}
	cmd.Flags().StringVar(&dataDir, "data", ".gatehouse-demo", "data directory (SQLite database, master key, generated config)")
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:8080", "public listen address")
	return cmd
}

func configCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "config", Short: "Work with configuration files"}
	cmd.AddCommand(&cobra.Command{
		Use:   "validate FILE",
		Short: "Check a configuration file without starting anything; every problem is reported with its location",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := loadConfig(cmd, args[0]); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: valid\n", args[0])
			return nil
		},
	})
	return cmd
}

func keysCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "keys", Short: "Manage signing keys"}
	var path, use string
	rotate := &cobra.Command{
		Use:   "rotate --config FILE [--use tokens|saas-saml|saml-encryption|saml-sp]",
		Short: "Rotate a signing key now; the previous key stays published for the overlap window",
		Long: "Rotate a signing key now; the previous key stays published for the overlap window.\n" +
			"--use tokens (default) rotates the key of Gatehouse's JWTs and SaaS OIDC tokens, which also\n" +
			"rotates on schedule (organization.key_rotation_interval). --use saas-saml rotates the key that\n" +
			"signs SAML assertions for SaaS apps, which never rotates on its own: service providers usually\n" +
			"pin its certificate, so give them the new certificate (in each app's IdP metadata) at once.\n" +
			"--use saml-encryption rotates the key SAML IdPs with enable_encryption encrypt assertions to;\n" +
			"the previous key keeps decrypting for the overlap window, so update the IdPs within it.\n" +
			"--use saml-sp rotates the key that signs AuthnRequests to IdPs with sign_request (they pin\n" +
			"its certificate, published in the SP metadata).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd, path)
			if err != nil {
				return err
			}
			before, after, err := app.RotateKey(cmd.Context(), cfg, use)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "rotated %s signing key: %s -> %s (previous key published until its overlap ends)\n", use, before, after)
			return nil
		},
	}
	rotate.Flags().StringVar(&path, "config", "gatehouse.yaml", "configuration file")
	rotate.Flags().StringVar(&use, "use", "tokens", "which keys: tokens, saas-saml, saml-encryption or saml-sp")
	cmd.AddCommand(rotate)
	return cmd
}

func versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			v := version
			if v == "" {
				if bi, ok := debug.ReadBuildInfo(); ok {
					v = bi.Main.Version
				}
			}
			if v == "" {
				v = "(devel)"
			}
			fmt.Fprintf(cmd.OutOrStdout(), "gatehouse %s\n", v)
		},
	}
}
