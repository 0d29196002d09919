package main

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatehouse/gatehouse/internal/admin"
	"github.com/gatehouse/gatehouse/internal/app"
)

// aiLogLine is one entry as `ai logs --json` prints it: the entry, and with --key its
// decrypted payload or why it could not be decrypted.
type aiLogLine struct {
	app.PromptLogEntry
	Payload      *app.PromptLogPayload `json:"payload,omitempty"`
	PayloadError string                `json:"payload_error,omitempty"`
}

func aiLogsCmd() *cobra.Command {
	var (
		f       adminFlags
		keyFile string
		q       admin.PromptLogQuery
	)
	cmd := &cobra.Command{
		Use:   "logs [--config FILE] [--key FILE] [--conversation ID] [--user EMAIL] [--app ID|NAME] [--since D] [--until D] [--limit N] [--cursor C] [--json]",
		Short: "List the AI prompt logs, and decrypt their prompts and responses with the private key",
		Long: "List the AI prompt logs of the configured store, newest first. Metadata (time, user, application,\n" +
			"model, conversation, rule, DLP profiles, topics) is stored in the clear; the prompt, the response and\n" +
			"the attachments' metadata are encrypted to dlp.payload_log.public_key. With --key (a file holding the\n" +
			"private key, as `gatehouse dlp keygen` prints it) they are decrypted here; the key never leaves this\n" +
			"machine. Each listing is recorded in the audit log. --since and --until are days ago (7d), a duration\n" +
			"ago (36h), a date (2026-12-01, UTC) or an RFC 3339 time. --json prints one JSON object per line.\n" +
			"Exit status 1 when a payload could not be decrypted (a wrong key or a damaged entry).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if q.Limit < 1 || q.Limit > 1000 {
				return fmt.Errorf("--limit must be between 1 and 1000")
			}
			var priv []byte
			if keyFile != "" {
				k, err := readKey(keyFile, "private_key")
				if err != nil {
					return fmt.Errorf("--key %s: %w", keyFile, err)
				}
				priv = k
			}
			return f.withAdmin(cmd, func(a *app.Admin) error {
				entries, cursor, err := a.PromptLogs(cmd.Context(), q)
				if err != nil {
					return err
				}
				failed, err := printAILogs(cmd.OutOrStdout(), entries, priv, f.json)
				if err != nil {
					return err
				}
				if cursor != "" {
					fmt.Fprintf(cmd.ErrOrStderr(), "more entries: add --cursor %s\n", cursor)
				}
				if failed > 0 {
					return fmt.Errorf("%d of %d payloads could not be decrypted with %s", failed, len(entries), keyFile)
				}
				return nil
			})
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&keyFile, "key", "", "file with the base64 X25519 private key (or `dlp keygen` output) to decrypt payloads")
	cmd.Flags().StringVar(&q.ConversationID, "conversation", "", "only this conversation ID")
	cmd.Flags().StringVar(&q.User, "user", "", "only this user's e-mail address")
	cmd.Flags().StringVar(&q.App, "app", "", "only this application (id or name)")
	cmd.Flags().StringVar(&q.Since, "since", "", "only entries from: 7d, 36h, 2026-12-01 or an RFC 3339 time")
	cmd.Flags().StringVar(&q.Until, "until", "", "only entries before: 7d, 36h, 2026-12-01 or an RFC 3339 time")
	cmd.Flags().IntVar(&q.Limit, "limit", 100, "most entries listed (1 to 1000)")
	cmd.Flags().StringVar(&q.Cursor, "cursor", "", "continue a listing where the previous one ended")
	return cmd
}

// printAILogs writes the entries, decrypting each payload with priv when given, and returns
// how many payloads did not decrypt.
func printAILogs(w io.Writer, entries []app.PromptLogEntry, priv []byte, asJSON bool) (failed int, err error) {
	enc := json.NewEncoder(w)
	if !asJSON && len(entries) > 0 && priv == nil {
		fmt.Fprintln(w, "Prompts and responses are encrypted; pass --key FILE (the private key of dlp.payload_log.public_key) to read them.")
	}
	for i := range entries {
		e := &entries[i]
		line := aiLogLine{PromptLogEntry: *e}
		if priv != nil {
			p, err := app.OpenPromptLogPayload(priv, e)
			if err != nil {
				failed++
				line.PayloadError = strings.TrimPrefix(err.Error(), "promptlog: ")
			} else {
				line.Payload = p
			}
		}
		if asJSON {
			if err := enc.Encode(&line); err != nil {
				return failed, err
			}
			continue
		}
		if err := writeAILogText(w, &line, priv != nil); err != nil {
			return failed, err
		}
	}
	if !asJSON && len(entries) == 0 {
		fmt.Fprintln(w, "No prompt log entries.")
	}
	return failed, nil
}

func writeAILogText(w io.Writer, l *aiLogLine, decrypting bool) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s  %s  %s", l.Time.UTC().Format(time.RFC3339), orDash(l.User.Email), orDash(l.App.Name))
	if l.App.ID != "" {
		fmt.Fprintf(&b, " (%s)", orDash(l.App.ID))
	}
	if l.Model != "" {
		fmt.Fprintf(&b, "  model %s", orDash(l.Model))
	}
	if l.ConversationID != "" {
		fmt.Fprintf(&b, "  conversation %s", orDash(l.ConversationID))
	}
	b.WriteString("\n")
	fmt.Fprintf(&b, "  request %s  action %s", orDash(l.RequestID), orDash(l.Policy.Action))
	if l.Policy.ID != "" || l.Policy.Name != "" {
		fmt.Fprintf(&b, "  rule %s %q", orDash(l.Policy.ID), l.Policy.Name) // %q escapes controls
	}
	if len(l.Topics) > 0 {
		ts := make([]string, len(l.Topics))
		for i, t := range l.Topics {
			ts[i] = orDash(t.ID) + " (" + orDash(t.Confidence) + ")"
		}
		fmt.Fprintf(&b, "  topics %s", strings.Join(ts, ", "))
	}
	if len(l.DLP.Profiles) > 0 {
		fmt.Fprintf(&b, "  dlp %s", orDash(strings.Join(l.DLP.Profiles, ", ")))
		detail := slices.Clone(l.DLP.Entries)
		if l.DLP.Confidence != "" {
			detail = append(detail, l.DLP.Confidence)
		}
		if len(detail) > 0 {
			fmt.Fprintf(&b, " (%s)", orDash(strings.Join(detail, ", ")))
		}
	}
	b.WriteString("\n")
	switch {
	case l.PayloadError != "":
		fmt.Fprintf(&b, "  payload: cannot decrypt: %s\n", l.PayloadError)
	case l.Payload != nil:
		p := l.Payload
		if p.SystemPrompt != "" {
			fmt.Fprintf(&b, "  system prompt: %s\n", indentText(p.SystemPrompt))
		}
		fmt.Fprintf(&b, "  prompt: %s\n", indentText(p.Prompt))
		if p.Response != "" {
			fmt.Fprintf(&b, "  response: %s\n", indentText(p.Response))
		}
		if p.ResponsePartial {
			b.WriteString("  (response cut before its end)\n")
		}
		for _, a := range p.Attachments {
			fmt.Fprintf(&b, "  attachment: %s (%s, %d bytes)\n", orDash(a.Name), orDash(a.ContentType), a.Size)
		}
		if p.Truncated {
			b.WriteString("  (truncated when logged)\n")
		}
	case !decrypting:
		fmt.Fprintf(&b, "  payload: encrypted (%d bytes)\n", len(l.PayloadEnc))
	}
	b.WriteString("\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// orDash is s made safe for one line (safeText), or "-" when empty.
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return safeText(s, false)
}

// indentText indents the continuation lines of a multi-line text under its label, its control
// characters made visible.
func indentText(s string) string {
	return strings.ReplaceAll(strings.TrimRight(safeText(s, true), "\n"), "\n", "\n    ")
}

// safeText shows control characters (but newlines, when kept, and tabs) as Go escapes: prompts,
// responses and most metadata come from users and AI applications, and must not drive the
// reader's terminal (escape sequences, carriage returns that hide text).
func safeText(s string, keepNewlines bool) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\t', r == '\n' && keepNewlines:
			b.WriteRune(r)
		case r < 0x20, r >= 0x7f && r < 0xa0, r == '\u2028', r == '\u2029', r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
