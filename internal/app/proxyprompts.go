package app

import (
	"fmt"

	"github.com/gatehouse/gatehouse/internal/ai"
)

// newProxyPromptInspector builds AI prompt protection for the reverse proxy (applications'
// prompt_protection): the extraction adapters and the topic classifier. The proxy applies each
// application's own fail_mode, so the inspector's fail modes are left at their default.
func newProxyPromptInspector() (*ai.PromptInspector, error) {
	c, err := ai.New(ai.Options{})
	if err != nil {
		return nil, fmt.Errorf("ai prompt protection: %w", err)
	}
	p, err := ai.NewPromptInspector(c, nil)
	if err != nil {
		return nil, fmt.Errorf("ai prompt protection: %w", err)
	}
	return p, nil
}
