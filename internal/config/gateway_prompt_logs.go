package config

import (
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// GatewayPromptLogs configures the AI prompt logs (docs/ai-prompt-logs.md): prompts and
// responses captured by rules with payload logging, sealed to dlp.payload_log.public_key and
// kept in the store for `gatehouse ai logs` and the admin API.
type GatewayPromptLogs struct {
	// Retention is how long entries are kept; older entries are deleted (at start, then
	// hourly). Default 720h (30 days), between 1h and 87600h (10 years).
	Retention store.Duration `yaml:"retention"`
}

// DefaultGatewayPromptLogRetention is gateway.prompt_logs.retention's default.
const DefaultGatewayPromptLogRetention = 30 * 24 * time.Hour

func (p *GatewayPromptLogs) setDefaults() {
	if p.Retention == 0 {
		p.Retention = store.Duration(DefaultGatewayPromptLogRetention)
	}
}

func (c *checker) gatewayPromptLogs() {
	c.durationIn("gateway.prompt_logs.retention", c.f.Gateway.PromptLogs.Retention, time.Hour, 10*365*24*time.Hour, "")
}
