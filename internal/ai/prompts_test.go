package ai

import (
	"slices"
	"testing"
)

// The AI prompt profiles are Cloudflare's five, with the ids rules name and the topics of
// gateway-ai-spec §4.3; every built-in topic is in exactly one.
func TestPromptProfiles(t *testing.T) {
	want := map[string][]string{
		"ai_prompt_ai_security":           {IntentCodeAbuse, IntentJailbreak},
		"ai_prompt_pii":                   {ContentPII, IntentPII},
		"ai_prompt_technical":             {ContentCredentials, ContentSourceCode},
		"ai_prompt_customer":              {ContentCustomerData},
		"ai_prompt_financial_information": {ContentFinancial},
	}
	seen := map[string]int{}
	for _, p := range PromptProfiles {
		got := slices.Clone(p.Topics)
		slices.Sort(got)
		w := slices.Clone(want[p.ID])
		slices.Sort(w)
		if !slices.Equal(got, w) {
			t.Errorf("%s (%s): topics %v, want %v", p.ID, p.Name, got, w)
		}
		for _, id := range p.Topics {
			seen[id]++
		}
	}
	if len(PromptProfiles) != len(want) {
		t.Errorf("%d profiles, want %d", len(PromptProfiles), len(want))
	}
	for _, id := range TopicIDs {
		if seen[id] != 1 || TopicEntryNames[id] == "" {
			t.Errorf("topic %s: in %d profiles, entry name %q", id, seen[id], TopicEntryNames[id])
		}
	}
}
