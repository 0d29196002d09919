// Package storetest is the conformance suite for store.Store. It tests exactly the contract
// written in the Store doc comment, and every backend runs it from a few lines of its own tests:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T, clock *storetest.Clock) store.Store {
//			s, err := mybackend.Open(..., mybackend.WithClock(clock.Now))
//			if err != nil {
//				t.Fatal(err)
//			}
//			return s
//		})
//	}
//
// The backend reads time only from the Clock it is given, so expiry tests advance the clock
// instead of sleeping.
package storetest

import (
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// Clock is a fake clock for backends under test. It is safe for concurrent use.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock that reads start until advanced.
func NewClock(start time.Time) *Clock { return &Clock{now: start} }

// Now returns the clock's current time. Pass it to the backend as its func() time.Time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// start is where every subtest's clock begins: not UTC and not on a microsecond, so that the
// suite notices a backend that forgets to normalize times.
var start = time.Date(2031, time.May, 6, 7, 8, 9, 123456789, time.FixedZone("UTC+2", 2*60*60))

// suiteTest is one conformance test; it gets a fresh store and clock.
type suiteTest struct {
	name string
	fn   func(t *testing.T, s store.Store, clock *Clock)
}

// Run runs the conformance suite. newStore must return a new, empty store that takes its time
// from clock; each subtest gets its own. Run closes the store when the subtest ends, so newStore
// need only clean up what it created besides the store (t.TempDir does that by itself).
// Subtests run one after another, since several hammer the store from many goroutines.
func Run(t *testing.T, newStore func(t *testing.T, clock *Clock) store.Store) {
	groups := []struct {
		name  string
		tests []suiteTest
	}{
		{"Config", configTests},
		{"Users", userTests},
		{"Sessions", sessionTests},
		{"Revocations", revocationTests},
		{"LoginFlows", loginFlowTests},
		{"HandoffCodes", handoffTests},
		{"PINChallenges", pinTests},
		{"PendingSAMLRequests", pendingSAMLTests},
		{"RateLimits", rateLimitTests},
		{"RememberOnce", rememberTests},
		{"SigningKeys", signingKeyTests},
		{"AuthEvents", authEventTests},
		{"OIDC", oidcTests},
		{"SCIM", scimTests},
		{"Admin", adminTests},
		{"GatewayCAs", gatewayCATests},
		{"GatewayUsage", gatewayUsageTests},
		{"GatewayAppReviews", gatewayAppReviewTests},
		{"GatewayDevices", gatewayDeviceTests},
		{"PromptLogs", promptLogTests},
		{"ReportRollups", reportRollupTests},
		{"MCP", mcpTests},
		{"MCPClients", mcpClientTests},
		{"MCPUpstreamAuth", mcpUpstreamTests},
		{"Watch", watchTests},
		{"Concurrency", concurrencyTests},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			for _, tt := range g.tests {
				t.Run(tt.name, func(t *testing.T) {
					clock := NewClock(start)
					s := newStore(t, clock)
					t.Cleanup(func() {
						if err := s.Close(); err != nil {
							t.Errorf("Close: %v", err)
						}
					})
					tt.fn(t, s, clock)
				})
			}
		})
	}
}
