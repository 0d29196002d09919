package applib

import (
	"reflect"
	"strings"
	"testing"
)

func TestTenantPresets(t *testing.T) {
	c := mustDefault(t)
	for _, key := range []string{"chatgpt-workspace", "anthropic-organization", "google-workspace-domains", "microsoft-tenants", "microsoft-tenants-v2", "microsoft-consumer-block", "openai-organization", "github-enterprise"} {
		if c.TenantPreset(key) == nil {
			t.Errorf("preset %q missing", key)
		}
	}
	tests := []struct {
		key    string
		values map[string][]string
		want   map[string][]string
		err    string
	}{
		{"chatgpt-workspace", map[string][]string{"workspace_ids": {"ws-1a2b", "ws_3c"}},
			map[string][]string{"ChatGPT-Allowed-Workspace-Id": {"ws-1a2b,ws_3c"}}, ""},
		{"anthropic-organization", map[string][]string{"org_ids": {"3f2b6a52-9c1e-4b7a-8d2e-0f1a2b3c4d5e"}},
			map[string][]string{"anthropic-allowed-org-ids": {"3f2b6a52-9c1e-4b7a-8d2e-0f1a2b3c4d5e"}}, ""},
		{"anthropic-organization", map[string][]string{"org_ids": {"not-a-uuid"}}, nil, `"not-a-uuid" is not a valid uuid`},
		{"google-workspace-domains", map[string][]string{"domains": {"example.com", "example.org"}},
			map[string][]string{"X-GoogApps-Allowed-Domains": {"example.com,example.org"}}, ""},
		{"google-workspace-domains", map[string][]string{"domains": {"@example.com"}}, nil, "not a valid domain"},
		{"microsoft-tenants", map[string][]string{"tenants": {"contoso.com", "fabrikam.onmicrosoft.com"}, "directory_id": {"72f988bf-86f1-41af-91ab-2d7cd011db47"}},
			map[string][]string{"Restrict-Access-To-Tenants": {"contoso.com,fabrikam.onmicrosoft.com"}, "Restrict-Access-Context": {"72f988bf-86f1-41af-91ab-2d7cd011db47"}}, ""},
		{"microsoft-tenants", map[string][]string{"tenants": {"contoso.com"}}, nil, "directory_id is required"},
		{"microsoft-tenants-v2", map[string][]string{"policy": {"72f988bf-86f1-41af-91ab-2d7cd011db47:0e1c4a3b-5d6f-4a8b-9c0d-1e2f3a4b5c6d"}},
			map[string][]string{"sec-Restrict-Tenant-Access-Policy": {"72f988bf-86f1-41af-91ab-2d7cd011db47:0e1c4a3b-5d6f-4a8b-9c0d-1e2f3a4b5c6d"}}, ""},
		{"microsoft-tenants-v2", map[string][]string{"policy": {"a:b", "c:d"}}, nil, "takes one value"},
		{"microsoft-consumer-block", nil, map[string][]string{"sec-Restrict-Tenant-Access-Policy": {"restrict-msa"}}, ""},
		{"openai-organization", map[string][]string{"org_ids": {"org-AbC123"}}, map[string][]string{"OpenAI-Allowed-Organization-Ids": {"org-AbC123"}}, ""},
		{"openai-organization", map[string][]string{"org_ids": {"org-1, org-2"}}, nil, "not a valid openai_org"},
		{"chatgpt-workspace", map[string][]string{"workspace_ids": {"ws\r\nX-Evil: 1"}}, nil, "not a valid id"},
		{"chatgpt-workspace", map[string][]string{"workspace_ids": {"a"}, "extra": {"b"}}, nil, `unknown parameter "extra"`},
	}
	for _, tt := range tests {
		got, err := c.TenantPreset(tt.key).Build(tt.values)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%s.Build(%v) error = %v, want %q", tt.key, tt.values, err, tt.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s.Build(%v) = %v, %v; want %v", tt.key, tt.values, got, err, tt.want)
		}
	}
}
