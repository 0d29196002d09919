package config

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse/internal/ai/extract"
	"github.com/gatehouse/gatehouse/internal/gateway/applib"
)

// GatewayPromptProtection configures AI prompt protection on the gateway
// (docs/ai-prompt-protection.md): what the topic classifier knows of the organisation, and what
// a request to an AI application that its adapter cannot read is taken for. A Gatehouse
// extension: Cloudflare has no such settings.
type GatewayPromptProtection struct {
	// CustomerNames are the organisation's customers, projects or code names: a prompt naming
	// one is content_customer_data (the AI Prompt: Customer profile).
	CustomerNames []string `yaml:"customer_names"`
	// FailMode is what a request to an AI application that its adapter cannot read (its web
	// client changed, an encoding the gateway cannot undo) is taken for: "closed" (default)
	// means it could not be inspected, so rules that select AI prompt profiles and could have
	// matched block it (unless their scan_failure says otherwise); "open" means it matched no
	// topic.
	FailMode string `yaml:"fail_mode"`
	// AppFailModes override FailMode per application (its name or id in the application
	// library): {ChatGPT: open}.
	AppFailModes map[string]string `yaml:"app_fail_modes"`
}

// PromptFailModes returns the default fail mode and the per-application ones by library id.
// The values were validated.
func (p GatewayPromptProtection) PromptFailModes(cat *applib.Catalog) (extract.FailMode, extract.FailModes) {
	def, _ := extract.ParseFailMode(p.FailMode)
	var per extract.FailModes
	for name, mode := range p.AppFailModes {
		a := appOf(cat, name)
		if a == nil {
			continue
		}
		m, err := extract.ParseFailMode(mode)
		if err != nil {
			continue
		}
		if per == nil {
			per = extract.FailModes{}
		}
		per[a.ID] = m
	}
	return def, per
}

func appOf(cat *applib.Catalog, name string) *applib.App {
	if id, err := strconv.Atoi(strings.TrimSpace(name)); err == nil {
		return cat.App(id)
	}
	return cat.AppByName(name)
}

func (c *checker) gatewayPromptProtection() {
	p := c.f.Gateway.PromptProtection
	if _, err := extract.ParseFailMode(p.FailMode); err != nil {
		c.add("gateway.prompt_protection.fail_mode", `must be "open" or "closed"`)
	}
	for i, n := range p.CustomerNames {
		if strings.TrimSpace(n) == "" {
			c.addf(fmt.Sprintf("gateway.prompt_protection.customer_names[%d]", i), "must not be empty")
		}
	}
	if len(p.AppFailModes) == 0 {
		return
	}
	cat, err := applib.Default()
	if err != nil {
		return // the library's own tests rule this out
	}
	for name, mode := range p.AppFailModes {
		path := "gateway.prompt_protection.app_fail_modes." + name
		if appOf(cat, name) == nil {
			c.add(path, "no application of the library has this name or id (gatehouse gateway apps list --ai)")
		}
		if _, err := extract.ParseFailMode(mode); err != nil || strings.TrimSpace(mode) == "" {
			c.add(path, `must be "open" or "closed"`)
		}
	}
}
