package config

import (
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// GatewayUsage configures Shadow-AI discovery: the daily usage rollups the gateway keeps in the
// store for `gatehouse gateway report` and the admin API (docs/gateway.md).
type GatewayUsage struct {
	// Retention is how long daily rollups are kept; older days are deleted. Default 2160h
	// (90 days), between 24h and 87600h (10 years). A day is kept while any of it is within
	// the retention.
	Retention store.Duration `yaml:"retention"`
	// FlushInterval is how often the gateway writes what it has counted to the store; default
	// 1m, between 1s and 1h. Counts not yet written are written at shutdown.
	FlushInterval store.Duration `yaml:"flush_interval"`
}

// Gateway usage defaults.
const (
	DefaultGatewayUsageRetention     = 90 * 24 * time.Hour
	DefaultGatewayUsageFlushInterval = time.Minute
)

func (u *GatewayUsage) setDefaults() {
	if u.Retention == 0 {
		u.Retention = store.Duration(DefaultGatewayUsageRetention)
	}
	if u.FlushInterval == 0 {
		u.FlushInterval = store.Duration(DefaultGatewayUsageFlushInterval)
	}
}

func (c *checker) gatewayUsage() {
	u := c.f.Gateway.Usage
	c.durationIn("gateway.usage.retention", u.Retention, 24*time.Hour, 10*365*24*time.Hour, "")
	c.durationIn("gateway.usage.flush_interval", u.FlushInterval, time.Second, time.Hour, "")
}
