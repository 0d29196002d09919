package config

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
)

// Audit configures the export of audit and auth events (package audit). Every event is
// delivered at least once, in order per stream, retried with backoff until the sink accepts it,
// also across restarts.
type Audit struct {
	// File, if set, is a file to which events are appended as JSON lines (created with mode 0600;
	// its directory must exist).
	File string `yaml:"file"`
	// Webhook, if set, receives events as signed application/x-ndjson POSTs.
	Webhook *AuditWebhook `yaml:"webhook"`
}

// AuditWebhook is an HTTP endpoint that receives exported events.
type AuditWebhook struct {
	// URL is an absolute http or https URL.
	URL string `yaml:"url"`
	// Secret is the HMAC-SHA256 key of the Gatehouse-Signature header, required: at least 32
	// characters.
	Secret Secret `yaml:"secret"`
}

func (c *checker) audit() {
	a := c.f.Audit
	if a.File != "" && !c.f.offline {
		if msg := dirProblem(filepath.Dir(a.File)); msg != "" {
			c.add("audit.file", "directory "+msg)
		}
	}
	if w := a.Webhook; w != nil {
		u, err := url.Parse(w.URL)
		switch {
		case w.URL == "":
			c.add("audit.webhook.url", "is required")
		case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
			c.add("audit.webhook.url", "must be an absolute http or https URL")
		case u.User != nil:
			c.add("audit.webhook.url", "must not hold credentials; the request is signed with secret")
		}
		if w.Secret.IsZero() {
			c.add("audit.webhook.secret", "is required: a shared key of at least 32 characters for the signature header")
		}
	}
}

// WebhookSecret resolves the audit webhook's secret (nil without a webhook); it fails when the
// secret is unset, unreadable or shorter than 32 characters. The error never contains the secret.
func (a *Audit) WebhookSecret() ([]byte, error) {
	if a.Webhook == nil {
		return nil, nil
	}
	s, err := a.Webhook.Secret.Resolve()
	if err != nil {
		return nil, fmt.Errorf("audit.webhook.secret: %w", err)
	}
	if len(s) < 32 {
		return nil, errors.New("audit.webhook.secret: must be at least 32 characters")
	}
	return []byte(s), nil
}

// dirProblem checks that a directory exists.
func dirProblem(name string) string {
	fi, err := os.Stat(name)
	switch {
	case err != nil:
		return fmt.Sprintf("cannot read %s: %v", name, errorCause(err))
	case !fi.IsDir():
		return fmt.Sprintf("%s is not a directory", name)
	}
	return ""
}
