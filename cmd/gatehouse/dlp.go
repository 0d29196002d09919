package main

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gatehouse/gatehouse/internal/dlp"
)

func dlpCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "dlp", Short: "Scan content for sensitive data and manage payload keys"}
	var profile, keyFile string
	var hints dlp.Hints
	var profilesFile string
	scan := &cobra.Command{
		Use:   "scan [--profile P] FILE|-",
		Short: "Scan a file (or stdin) and print the verdict as JSON",
		Long: "Scan a file or stdin with a predefined profile and print the verdict as JSON.\n" +
			"Exit status: 0 clean, 1 the profile matched, 3 the scan was incomplete (fail closed).\n" +
			"Profiles: " + strings.Join(dlp.PredefinedProfileNames(), ", "),
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := pickProfile(profile, profilesFile)
			if err != nil {
				return err
			}
			in, closeIn, err := openInput(cmd, args[0])
			if err != nil {
				return fmt.Errorf("dlp scan: %w", err)
			}
			defer closeIn()
			var opts dlp.Options
			if keyFile != "" {
				pub, err := readKey(keyFile, "public_key")
				if err != nil {
					return err
				}
				opts.PayloadKey = pub
			}
			v, err := dlp.NewEngine(opts).ScanHints(cmd.Context(), in, p, hints)
			if err != nil {
				return err
			}
			enc := json.NewEncoder(cmd.OutOrStdout())
			enc.SetIndent("", "  ")
			if err := enc.Encode(v); err != nil {
				return fmt.Errorf("dlp scan: %w", err)
			}
			cmd.SilenceErrors, cmd.SilenceUsage = true, true
			switch {
			case v.Incomplete:
				return exitError(3)
			case v.Match:
				return exitError(1)
			}
			return nil
		},
	}
	scan.Flags().StringVar(&profile, "profile", "all", "profile name: a predefined one or one of --profiles")
	scan.Flags().StringVar(&profilesFile, "profiles", "", "YAML file of custom profiles (see docs/dlp.md)")
	scan.Flags().StringVar(&keyFile, "payload-key", "", "file with a base64 X25519 public key; findings then carry encrypted payloads")
	scan.Flags().StringVar(&hints.ContentType, "content-type", "", "the input's media type, as an HTTP Content-Type (multipart boundaries, charset=utf-16/utf-32)")
	scan.Flags().StringVar(&hints.ContentEncoding, "content-encoding", "", "the input's HTTP Content-Encoding, a list in the order applied (\"gzip, br\"; br, deflate, gzip, zstd); each coding is verified and a mismatch exits 3")
	keygen := &cobra.Command{
		Use:   "keygen",
		Short: "Print a new X25519 key pair (base64) for payload encryption",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			pub, priv, err := dlp.GenerateKeyPair()
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "public_key: %s\nprivate_key: %s\n",
				base64.StdEncoding.EncodeToString(pub), base64.StdEncoding.EncodeToString(priv))
			return err
		},
	}
	var privFile string
	decrypt := &cobra.Command{
		Use:   "decrypt --key FILE",
		Short: "Decrypt a payload (raw or base64) from stdin to stdout",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			priv, err := readKey(privFile, "private_key")
			if err != nil {
				return err
			}
			in, err := io.ReadAll(io.LimitReader(cmd.InOrStdin(), 16<<20))
			if err != nil {
				return fmt.Errorf("dlp decrypt: %w", err)
			}
			if b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(in))); err == nil {
				in = b
			}
			pt, err := dlp.DecryptPayload(priv, in)
			if err != nil {
				return err
			}
			_, err = cmd.OutOrStdout().Write(pt)
			return err
		},
	}
	decrypt.Flags().StringVar(&privFile, "key", "", "file with the base64 private key (or keygen output)")
	_ = decrypt.MarkFlagRequired("key")
	var saltFile string
	dataset := &cobra.Command{
		Use:   "dataset CSV|- [--salt-file FILE]",
		Short: "Hash an exact-data-match dataset (CSV with a header row) and print it as JSON",
		Long: "Hash an exact-data-match dataset: a CSV whose first row names the columns. Every cell of at\n" +
			"least 6 letters or digits is normalised (case, width, punctuation) and kept only as a salted\n" +
			"HMAC-SHA256 digest; the plaintext is not written anywhere. Use the output as a profile entry's\n" +
			"dataset file. The salt is written into the output unless --salt-file is given: then it is read\n" +
			"from that file, or created there (mode 0600) when the file does not exist, and the dataset can\n" +
			"only be used together with it.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			in, closeIn, err := openInput(cmd, args[0])
			if err != nil {
				return fmt.Errorf("dlp dataset: %w", err)
			}
			defer closeIn()
			salt, err := datasetSalt(saltFile)
			if err != nil {
				return err
			}
			d, err := dlp.NewDataset(in, salt)
			if err != nil {
				return err
			}
			return d.WriteFile(cmd.OutOrStdout(), saltFile != "")
		},
	}
	dataset.Flags().StringVar(&saltFile, "salt-file", "", "keep the salt in this file instead of the output")
	cmd.AddCommand(scan, keygen, decrypt, dataset)
	return cmd
}

// readKey reads a base64 key from a file holding either the bare key or
// keygen's "name: value" lines (the line named field wins).
func readKey(path, field string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("dlp: key: %w", err)
	}
	val := strings.TrimSpace(string(b))
	for _, line := range strings.Split(val, "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok {
			if strings.TrimSpace(k) == field {
				val = strings.TrimSpace(v)
				break
			}
			val = strings.TrimSpace(v)
		}
	}
	key, err := base64.StdEncoding.DecodeString(val)
	if err != nil || len(key) != 32 {
		return nil, errors.New("dlp: key: want 32 bytes of base64")
	}
	return key, nil
}

// pickProfile finds a profile by name among the custom profiles of
// profilesFile (when given) and the predefined ones.
func pickProfile(name, profilesFile string) (*dlp.Profile, error) {
	if profilesFile != "" {
		f, err := os.Open(profilesFile)
		if err != nil {
			return nil, fmt.Errorf("dlp scan: %w", err)
		}
		defer f.Close()
		ps, err := dlp.LoadProfiles(f, filepath.Dir(profilesFile))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", profilesFile, err)
		}
		for _, p := range ps {
			if strings.EqualFold(p.Name, name) {
				return p, nil
			}
		}
		if name == "all" && len(ps) == 1 {
			return ps[0], nil // the default --profile with a single custom profile
		}
	}
	return dlp.PredefinedProfile(name)
}

// datasetSalt returns a new random salt, or the one in path, creating
// path with a new salt when it does not exist.
func datasetSalt(path string) ([]byte, error) {
	if path != "" {
		if _, err := os.Stat(path); err == nil {
			return dlp.ReadSaltFile(path)
		}
	}
	salt := make([]byte, 32)
	if _, err := rand.Read(salt); err != nil {
		return nil, err
	}
	if path != "" {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, fmt.Errorf("dlp dataset: salt file: %w", err)
		}
		_, err = fmt.Fprintln(f, base64.StdEncoding.EncodeToString(salt))
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, fmt.Errorf("dlp dataset: salt file: %w", err)
		}
	}
	return salt, nil
}

// openInput opens the file named by arg, or stdin for "-".
func openInput(cmd *cobra.Command, arg string) (io.Reader, func(), error) {
	if arg == "-" {
		return cmd.InOrStdin(), func() {}, nil
	}
	f, err := os.Open(arg)
	if err != nil {
		return nil, nil, err
	}
	return f, func() { f.Close() }, nil
}
