package applib

import (
	"strings"
	"testing"
)

// base is a small valid catalogue the validation tests break one way at a time.
const baseTypes = `
app_types:
  - {id: 25, name: Artificial Intelligence, cloudflare: true}
  - {id: 9004, name: Development}
score_criteria:
  - {key: c1, name: C1, score: posture, points: 5, levels: {full: 1, none: 0}}
  - {key: a1, name: A1, score: gen_ai, points: 5, levels: {yes: 1, no: 0}}
tenant_controls:
  - key: t1
    name: T1
    app: Chat One
    hosts: [chat.example]
    params: [{name: ids, kind: id, multi: true}]
    headers: [{name: X-Allowed, value: "{ids}"}]
`

const baseApps = `
apps:
  - id: 90001
    name: Chat One
    app_type: 25
    vendor: V
    ai_category: chat
    hostnames: [chat.example]
    support_hostnames: [login.example]
    tenant_controls: [t1]
    controls:
      - name: prompt
        match: [{method: POST, paths: [/api/chat]}]
    evidence:
      - {criterion: c1, value: full, source: "https://v.example/trust", date: 2026-01-02}
  - {id: 90501, name: Dev One, app_type: 9004, vendor: W, hostnames: [dev.example]}
`

func parseTest(types, apps string) error {
	_, err := Parse(map[string][]byte{"a.yaml": []byte(types), "b.yaml": []byte(apps)})
	return err
}

func TestValidationAcceptsBase(t *testing.T) {
	if err := parseTest(baseTypes, baseApps); err != nil {
		t.Fatal(err)
	}
}

func TestValidationErrors(t *testing.T) {
	tests := []struct {
		name     string
		from, to string // replace in baseApps (or baseTypes when inTypes)
		inTypes  bool
		want     string
	}{
		{"duplicate id", "id: 90501", "id: 90001", false, "id already used by Chat One"},
		{"id outside own range", "id: 90501", "id: 501", false, "Gatehouse-assigned app ids are 90001–99999"},
		{"duplicate name", "name: Dev One", "name: chat one", false, "name already used"},
		{"numeric name", "name: Dev One", "name: \"123\"", false, "must not be a number"},
		{"unknown type", "app_type: 9004", "app_type: 9099", false, "unknown app_type 9099"},
		{"no vendor", "vendor: W", "vendor: \"\"", false, "no vendor"},
		{"upper-case host", "[dev.example]", "[Dev.example]", false, `hostname "Dev.example": character 'D'`},
		{"trailing dot", "[dev.example]", "[dev.example.]", false, "empty label"},
		{"single label", "[dev.example]", "[localhost]", false, "at least two labels"},
		{"ip address", "[dev.example]", "[192.0.2.1]", false, "looks like an IP address"},
		{"port", "[dev.example]", "[dev.example:443]", false, "character ':'"},
		{"wildcard", "[dev.example]", "[\"*.dev.example\"]", false, "character '*'"},
		{"hyphen label", "[dev.example]", "[-dev.example]", false, "starts or ends with a hyphen"},
		{"host twice", "[dev.example]", "[dev.example, dev.example]", false, `"dev.example" listed twice`},
		{"support equals core", "[login.example]", "[chat.example]", false, `"chat.example" listed twice`},
		{"shared without marking", "[dev.example]", "[chat.example]", false, "also a core hostname of Chat One; list it in shared_hostnames"},
		{"stale shared marking", "hostnames: [dev.example]}", "hostnames: [dev.example], shared_hostnames: [dev.example]}", false, "marked shared but no other app has it"},
		{"shared not a hostname", "hostnames: [dev.example]}", "hostnames: [dev.example], shared_hostnames: [x.example]}", false, "is not one of its hostnames"},
		{"AI without controls or note", "    controls:\n      - name: prompt\n        match: [{method: POST, paths: [/api/chat]}]\n", "", false, "needs controls or a controls_note"},
		{"AI without category", "ai_category: chat", "ai_category: chatbots", false, `ai_category "chatbots" is not one of`},
		{"category on SaaS", "app_type: 9004, vendor: W", "app_type: 9004, ai_category: chat, vendor: W", false, "only for Artificial Intelligence apps"},
		{"unknown control", "name: prompt", "name: think", false, `control "think" is not one of prompt, upload`},
		{"matcher without paths", "paths: [/api/chat]", "paths: []", false, "matcher has no paths"},
		{"bad method", "method: POST", "method: post", false, `method "post" is not one of`},
		{"relative path", "paths: [/api/chat]", "paths: [api/chat]", false, "must start with /"},
		{"inner **", "paths: [/api/chat]", "paths: [/api/**/chat]", false, "** must be the whole last segment"},
		{"query in path", "paths: [/api/chat]", "paths: [\"/api/chat?x=1\"]", false, "must not contain a query"},
		{"foreign matcher host", "{method: POST, paths", "{method: POST, host: evil.example, paths", false, `host "evil.example" is not one of the application's hostnames`},
		{"explicit control id", "- name: prompt", "- name: prompt\n        id: 7", false, "explicit control ids are only for Cloudflare's applications"},
		{"unknown tenant control", "tenant_controls: [t1]", "tenant_controls: [t9]", false, `unknown tenant control "t9"`},
		{"evidence unknown criterion", "criterion: c1", "criterion: c9", false, `unknown criterion "c9"`},
		{"evidence bad level", "value: full", "value: mostly", false, `value "mostly" is not one of full, none`},
		{"evidence http source", "https://v.example/trust", "http://v.example/trust", false, "not an https URL"},
		{"evidence bad date", "date: 2026-01-02", "date: 2026-13-02", false, "not YYYY-MM-DD"},
		{"unknown field", "vendor: V", "vendor: V\n    vendr: V", false, "field vendr not found"},
		{"cloudflare id in own range", "id: 90501,", "id: 90502, cloudflare_id: true,", false, "a Cloudflare id must lie outside"},
		{"type id range", "{id: 9004, name: Development}", "{id: 14, name: Development}", true, "Gatehouse-assigned type ids are 9001–9099"},
		{"type falsely cloudflare", "{id: 9004, name: Development}", "{id: 14, name: Development, cloudflare: true}", true, "only ids 25 and 16 are known"},
		{"criteria do not add up", "points: 5, levels: {full", "points: 4, levels: {full", true, `score "posture": criteria points add up to 4.00, not 5`},
		{"reserved level", "{yes: 1, no: 0}", "{yes: 1, unknown: 0}", true, `level "unknown" is reserved`},
		{"preset unused param", `value: "{ids}"`, `value: "fixed"`, true, `param "ids" is not used`},
		{"preset unknown placeholder", `value: "{ids}"`, `value: "{ids}{other}"`, true, "unknown param {other}"},
		{"preset unknown app", "app: Chat One", "app: Chat Two", true, `tenant control "t1": unknown app "Chat Two"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			types, apps := baseTypes, baseApps
			src := &apps
			if tt.inTypes {
				src = &types
			}
			if !strings.Contains(*src, tt.from) {
				t.Fatalf("test data does not contain %q", tt.from)
			}
			*src = strings.Replace(*src, tt.from, tt.to, 1)
			err := parseTest(types, apps)
			if err == nil {
				t.Fatalf("accepted; want an error containing %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}

// FuzzParse: arbitrary data never panics the loader, and whatever it accepts answers lookups.
func FuzzParse(f *testing.F) {
	f.Add(baseApps)
	f.Add("apps: [{id: 90001, name: x, app_type: 25}]")
	f.Add("apps: {}")
	f.Fuzz(func(t *testing.T, apps string) {
		c, err := Parse(map[string][]byte{"a.yaml": []byte(baseTypes), "b.yaml": []byte(apps)})
		if err != nil {
			return
		}
		for _, h := range c.Hostnames() {
			if len(c.Lookup(h)) == 0 {
				t.Fatalf("catalogue hostname %q does not look up", h)
			}
		}
	})
}
