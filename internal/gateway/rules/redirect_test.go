package rules

import (
	"net/url"
	"testing"
)

func TestTargetURL(t *testing.T) {
	orig, _ := url.Parse("https://gemini.example/app/chat%2F1?hl=en&q=a+b")
	pc := &PolicyContext{UserEmail: "a@example.com", SiteURI: orig.String(), SourceIP: "10.0.0.1", ApplicationName: "Gemini", CategoryIDs: []int{25, 3}}
	tests := []struct {
		name string
		rule Rule
		want string
		ok   bool
	}{
		{"plain", Rule{Action: "redirect", RuleSettings: RuleSettings{Redirect: &RedirectSettings{TargetURI: "https://chatgpt.com/"}}},
			"https://chatgpt.com/", true},
		{"preserve", Rule{Action: "redirect", RuleSettings: RuleSettings{Redirect: &RedirectSettings{TargetURI: "https://ai.example.com/go/?src=gw", PreservePathAndQuery: true}}},
			"https://ai.example.com/go/app/chat%2F1?src=gw&hl=en&q=a+b", true},
		{"context", Rule{ID: "r9", Action: "redirect", RuleSettings: RuleSettings{Redirect: &RedirectSettings{TargetURI: "https://ai.example.com/", IncludeContext: true}}},
			"https://ai.example.com/?cf_application_name=Gemini&cf_filter=http&cf_request_categories=25%2C3&cf_rule_id=r9&cf_site_uri=https%3A%2F%2Fgemini.example%2Fapp%2Fchat%252F1%3Fhl%3Den%26q%3Da%2Bb&cf_source_ip=10.0.0.1&cf_user_email=a%40example.com", true},
		{"block page", Rule{ID: "b1", Action: "block", RuleSettings: RuleSettings{BlockPage: &BlockPageSettings{TargetURI: "https://intranet.example/blocked", IncludeContext: true}}},
			"https://intranet.example/blocked?cf_application_name=Gemini&cf_filter=http&cf_request_categories=25%2C3&cf_rule_id=b1&cf_site_uri=https%3A%2F%2Fgemini.example%2Fapp%2Fchat%252F1%3Fhl%3Den%26q%3Da%2Bb&cf_source_ip=10.0.0.1&cf_user_email=a%40example.com", true},
		{"own block page", Rule{Action: "block", RuleSettings: RuleSettings{BlockPageEnabled: true}}, "", false},
		{"allow", Rule{Action: "allow"}, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.rule.ID == "" {
				tt.rule.ID = "id"
			}
			tt.rule.Enabled = true
			p, err := Compile([]Rule{tt.rule}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			got, ok := p.Rules()[0].TargetURL(orig, pc)
			if got != tt.want || ok != tt.ok {
				t.Errorf("TargetURL = %q, %v\nwant          %q, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}
