package config

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse/internal/ai"
	"github.com/gatehouse/gatehouse/internal/ai/extract"
	"github.com/gatehouse/gatehouse/internal/gateway/applib"
	"github.com/gatehouse/gatehouse/internal/gateway/upload"
)

// topicIDPattern is the form of custom topic and profile ids.
var topicIDPattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)

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
	// means its body could not be inspected, so the body-phase rules that could have matched
	// are evaluated as for an incomplete DLP scan: a block rule blocks unless its
	// scan_failure says allow; "open" means it matched no topic.
	FailMode string `yaml:"fail_mode"`
	// AppFailModes override FailMode per application (its name or id in the application
	// library): {ChatGPT: open}.
	AppFailModes map[string]string `yaml:"app_fail_modes"`
	// CustomTopics are the organisation's own topics, found by phrases (whole words, any case):
	// each joins the AI prompt profile it names (profile_id), which rules select in
	// dlp.profiles like the predefined ones. Cloudflare's custom prompt topics have the same
	// name, topic and profile_id; theirs are matched by a model, these by phrases.
	CustomTopics []GatewayCustomTopic `yaml:"custom_topics"`
}

// GatewayCustomTopic is one custom prompt topic.
type GatewayCustomTopic struct {
	// ID is the topic's id in logs and verdicts (lower case letters, digits, underscores).
	ID string `yaml:"id"`
	// Name describes it for people.
	Name string `yaml:"name"`
	// Phrases are matched as whole words, any case; MinMatches distinct ones must occur
	// (default 1).
	Phrases    []string `yaml:"phrases"`
	MinMatches int      `yaml:"min_matches"`
	// ProfileID is the AI prompt profile the topic joins: a predefined one (ai_prompt_customer)
	// or an id of its own (ai_prompt_falcon), which rules then name in dlp.profiles.
	ProfileID string `yaml:"profile_id"`
}

// CustomPromptProfiles returns the profile ids the custom topics define or join, with their
// topic ids.
func (p GatewayPromptProtection) CustomPromptProfiles() map[string][]string {
	if len(p.CustomTopics) == 0 {
		return nil
	}
	out := map[string][]string{}
	for _, t := range p.CustomTopics {
		out[t.ProfileID] = append(out[t.ProfileID], t.ID)
	}
	return out
}

// PromptProfileIDs returns every AI prompt profile id rules may name: the predefined ones and
// those the custom topics define.
func (p GatewayPromptProtection) PromptProfileIDs() []string {
	ids := ai.PromptProfileIDs()
	for _, t := range p.CustomTopics {
		if !slices.Contains(ids, t.ProfileID) {
			ids = append(ids, t.ProfileID)
		}
	}
	return ids
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
	seen := map[string]bool{}
	for i, t := range p.CustomTopics {
		path := fmt.Sprintf("gateway.prompt_protection.custom_topics[%d]", i)
		switch {
		case !topicIDPattern.MatchString(t.ID):
			c.add(path+".id", "must be lower case letters, digits and underscores, starting with a letter")
		case slices.Contains(ai.TopicIDs, t.ID):
			c.add(path+".id", "is a built-in topic's id")
		case seen[t.ID]:
			c.add(path+".id", "is defined twice")
		}
		seen[t.ID] = true
		if len(t.Phrases) == 0 {
			c.add(path+".phrases", "must list at least one phrase")
		}
		for j, ph := range t.Phrases {
			if strings.TrimSpace(ph) == "" {
				c.add(fmt.Sprintf("%s.phrases[%d]", path, j), "must not be empty")
			}
		}
		if t.MinMatches < 0 || t.MinMatches > len(t.Phrases) {
			c.add(path+".min_matches", "must be between 1 and the number of phrases (0: 1)")
		}
		if !topicIDPattern.MatchString(t.ProfileID) {
			c.add(path+".profile_id", "must name an AI prompt profile: lower case letters, digits and underscores")
		} else if u, err := upload.New(upload.Options{}); err == nil && u.HasProfile(t.ProfileID) {
			c.add(path+".profile_id", "is a DLP profile's id: custom topics join AI prompt profiles (ai_prompt_…) or profiles of their own")
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
