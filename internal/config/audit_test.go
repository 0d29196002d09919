package config

import (
	"strings"
	"testing"
)

func TestAuditSection(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, audit string
		problems    []string
	}{
		{"none", "", nil},
		{"file and webhook", "audit: {file: " + dir + "/audit.jsonl, webhook: {url: https://siem.example.com/in, secret: {value: 0123456789abcdef0123456789abcdef}}}", nil},
		{"missing dir", "audit: {file: /nonexistent/dir/audit.jsonl}", []string{"audit.file: directory"}},
		{"bad url", "audit: {webhook: {url: ftp://x, secret: {value: s}}}", []string{"audit.webhook.url: must be an absolute http"}},
		{"credentials in url", "audit: {webhook: {url: https://u:p@x.example/, secret: {value: s}}}", []string{"audit.webhook.url: must not hold credentials"}},
		{"no secret", "audit: {webhook: {url: https://x.example/}}", []string{"audit.webhook.secret: is required"}},
		{"unknown field", "audit: {files: x}", []string{"files"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := "version: 1\norganization: {auth_domain: auth.example.com}\nsecrets: {master_key_file: " + dir + "/k}\n" + tc.audit + "\n"
			_, err := Parse([]byte(body), "gatehouse.yaml")
			if len(tc.problems) == 0 {
				if err != nil {
					t.Fatalf("unexpected problems: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("no problems, want %v", tc.problems)
			}
			for _, p := range tc.problems {
				if !strings.Contains(err.Error(), p) {
					t.Errorf("problems lack %q:\n%v", p, err)
				}
			}
			if strings.Contains(err.Error(), "0123456789abcdef") {
				t.Errorf("a problem shows the secret")
			}
		})
	}
	short := Audit{Webhook: &AuditWebhook{URL: "https://x.example/", Secret: Secret{Value: "short"}}}
	if _, err := short.WebhookSecret(); err == nil || strings.Contains(err.Error(), "short") {
		t.Errorf("short secret: %v", err)
	}
	long := Audit{Webhook: &AuditWebhook{URL: "https://x.example/", Secret: Secret{Value: strings.Repeat("k", 32)}}}
	if s, err := long.WebhookSecret(); err != nil || len(s) != 32 {
		t.Errorf("good secret: %v", err)
	}
}
