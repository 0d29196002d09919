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
		usersCmd(), devicesCmd(), appsCmd(), auditCmd(), adminTokensCmd(), idpsCmd(), dlpCmd(), gatewayCmd(), aiCmd(), mcpCmd(), reportsCmd())
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

// logLines is the writer newLogger's handler writes to when it is slog's JSONHandler (the
// gateway then encodes its per-request lines itself, app.Options.LogLines), else nil.
func logLines(w io.Writer, cfg *config.File) io.Writer {
	if cfg != nil && cfg.Log.Format == "text" { // newLogger's one other handler
		return nil
	}
	return w
}

func loadConfig(cmd *cobra.Command, path string) (*config.File, error) {
	cfg, err := config.Load(path)
	if err != nil {
		return nil, problems(cmd, err)
	}
	return cfg, nil
}

// problems prints a *config.ValidationError (every problem with its position) and turns it into
// exit status 2; other errors pass through.
func problems(cmd *cobra.Command, err error) error {
	var ve *config.ValidationError
	if errors.As(err, &ve) {
		fmt.Fprintln(cmd.ErrOrStderr(), ve.Error())
		return exitError(2)
	}
	return err
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
			g, err := app.New(ctx, cfg, app.Options{Log: newLogger(logs, cfg), LogLines: logLines(logs, cfg)})
			if err != nil {
				return problems(cmd, err)
			}
			defer g.Close()
			// SIGHUP re-reads the file and applies its objects; a bad file is logged and changes
			// nothing.
			hup := make(chan os.Signal, 1)
			signal.Notify(hup, syscall.SIGHUP)
			defer signal.Stop(hup)
			go func() {
				for {
					select {
					case <-ctx.Done():
						return
					case <-hup:
						next, err := config.Load(path)
						if err == nil {
							err = next.CheckSecrets()
						}
						if err != nil {
							fmt.Fprintf(cmd.ErrOrStderr(), "configuration file %s not reloaded; keeping the current configuration:\n%v\n", path, err)
							continue
						}
						_ = g.ApplyFile(ctx, next) // logged by ApplyFile
					}
				}
			}()
			return g.Run(ctx, nil)
		},
	}
	cmd.Flags().StringVar(&path, "config", "gatehouse.yaml", "configuration file")
	return cmd
}

func demoCmd() *cobra.Command {
	var dataDir, listen, gatewayListen string
	var allow []string
	cmd := &cobra.Command{
		Use:   "demo [--allow EMAIL|DOMAIN]... [--listen ADDR] [--gateway-listen ADDR|off]",
		Short: "Run Gatehouse on its embedded default: SQLite, a demo app, e-mail PIN login (PINs in the log)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signalContext()
			defer stop()
			return app.RunDemo(ctx, app.DemoOptions{DataDir: dataDir, Listen: listen, Allow: allow, Gateway: gatewayListen, Out: cmd.OutOrStdout(),
				LoadConfig: func(path string) (*config.File, error) { return loadConfig(cmd, path) },
				Logger:     func(cfg *config.File) *slog.Logger { return newLogger(cmd.ErrOrStderr(), cfg) }})
		},
	}
	cmd.Flags().StringVar(&dataDir, "data", ".gatehouse-demo", "data directory (SQLite database, master key, generated config)")
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:8080", "public listen address")
	cmd.Flags().StringArrayVar(&allow, "allow", nil, "also admit this e-mail address or domain (besides example.com); repeatable")
	cmd.Flags().StringVar(&gatewayListen, "gateway-listen", "", "the secure web gateway's listen address (default: --listen's port + 1; off: no gateway)")
	return cmd
}

func configCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "config", Short: "Work with configuration files"}
	var path string
	var offline bool
	validate := &cobra.Command{
		Use:   "validate [--offline] [--config FILE | FILE]",
		Short: "Check a configuration file without starting anything; every problem is reported with its location",
		Long: "Check a configuration file without starting anything; every problem is reported with its location.\n" +
			"Besides the file itself it checks what serving it needs from this machine: the master key file,\n" +
			"the SQLite database's directory (present or creatable), the TLS and GeoIP files, the audit file's\n" +
			"directory, and every secret given as {env: ...} or {file: ...}. --offline checks the file alone\n" +
			"(for a file written for another machine).",
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			file, err := app.ConfigPath(path, cmd.Flags().Changed("config"), args)
			if err != nil {
				return err
			}
			load := config.Load
			if offline {
				load = config.LoadOffline
			}
			cfg, err := load(file)
			if err != nil {
				return problems(cmd, err)
			}
			if !offline {
				if err := cfg.CheckEnvironment(); err != nil {
					return problems(cmd, err)
				}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: valid\n", file)
			return nil
		},
	}
	validate.Flags().StringVar(&path, "config", "gatehouse.yaml", "configuration file (or give it as the argument)")
	validate.Flags().BoolVar(&offline, "offline", false, "check the file only: no files, directories or environment variables are looked at")
	cmd.AddCommand(validate)
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
	cmd.AddCommand(rotate, keysInitCmd())
	return cmd
}

func keysInitCmd() *cobra.Command {
	var path, file string
	cmd := &cobra.Command{
		Use:   "init [--config FILE | --file KEYFILE]",
		Short: "Create the master key file (32 random bytes, mode 0600) that the configuration names",
		Long: "Create the master key file: 32 random bytes, base64, mode 0600, in a directory created with\n" +
			"mode 0700 if missing. The file is secrets.master_key_file of the configuration (--config), or\n" +
			"KEYFILE (--file). An existing file is never overwritten.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if file == "" {
				cfg, err := config.LoadOffline(path)
				if err != nil {
					return problems(cmd, err)
				}
				file = cfg.Secrets.MasterKeyFile
			}
			if err := app.InitMasterKey(file); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "created master key file %s (mode 0600); keep it secret and back it up\n", file)
			return nil
		},
	}
	cmd.Flags().StringVar(&path, "config", "gatehouse.yaml", "configuration file whose secrets.master_key_file to create")
	cmd.Flags().StringVar(&file, "file", "", "create this file instead")
	cmd.MarkFlagsMutuallyExclusive("config", "file")
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
