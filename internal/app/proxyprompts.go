package app

import (
	"fmt"

	"github.com/gatehouse/gatehouse/internal/ai"
	"github.com/gatehouse/gatehouse/internal/config"
)

// newProxyPromptInspector builds AI prompt protection for the reverse proxy (applications'
// prompt_protection): the extraction adapters and the topic classifier with the
// organisation's customer names and custom topics (gateway.prompt_protection). The proxy
// applies each application's own fail_mode, so the inspector's fail modes are left at their
// default.
func newProxyPromptInspector(pp config.GatewayPromptProtection) (*ai.PromptInspector, error) {
	c, err := newPromptClassifier(pp)
	if err != nil {
		return nil, err
	}
	p, err := ai.NewPromptInspectorWith(ai.PromptInspectorOptions{Classifier: c, CustomProfiles: pp.CustomPromptProfiles()})
	if err != nil {
		return nil, fmt.Errorf("ai prompt protection: %w", err)
	}
	return p, nil
}

// newPromptClassifier builds the topic classifier with gateway.prompt_protection's customer
// names and custom topics.
func newPromptClassifier(pp config.GatewayPromptProtection) (*ai.Classifier, error) {
	topics := make([]ai.CustomTopic, len(pp.CustomTopics))
	for i, t := range pp.CustomTopics {
		topics[i] = ai.CustomTopic{ID: t.ID, Phrases: t.Phrases, MinMatches: t.MinMatches}
	}
	c, err := ai.New(ai.Options{CustomerNames: pp.CustomerNames, CustomTopics: topics})
	if err != nil {
		return nil, fmt.Errorf("ai prompt protection: %w", err)
	}
	return c, nil
}
