package policy_test

import (
	"fmt"
	"net/netip"

	"github.com/gatehouse/gatehouse/internal/identity"
	"github.com/gatehouse/gatehouse/internal/policy"
	"github.com/gatehouse/gatehouse/internal/store"
)

func Example() {
	cfg := &store.Config{
		Policies: []store.Policy{{
			ID:       "employees",
			Decision: store.DecisionAllow,
			Include:  []store.Rule{{EmailDomain: &store.EmailDomainRule{Domain: "example.com"}}},
			Exclude:  []store.Rule{{Geo: &store.GeoRule{CountryCode: "KP"}}},
		}},
		Applications: []store.Application{{
			ID:       "wiki",
			Policies: []store.PolicyLink{{Ref: "employees", Precedence: 1}},
		}},
	}
	engine, err := policy.Compile(cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	wiki := engine.App("wiki")
	ip := netip.MustParseAddr("192.0.2.1")

	// Before login: is there any point in asking the user to log in?
	d := wiki.Preflight(&policy.Input{ClientIP: ip, Country: "KP"})
	fmt.Println(d.Action, d.Reasons)
	d = wiki.Preflight(&policy.Input{ClientIP: ip, Country: "PT"})
	fmt.Println(d.Action, d.Reasons)

	// After login.
	alice := &identity.Identity{Email: "alice@example.com"}
	d = wiki.Evaluate(&policy.Input{Identity: alice, ClientIP: ip, Country: "PT"})
	fmt.Println(d.Action, d.PolicyID, d.Reasons)
	// Output:
	// deny [no-policy-matched excluded-by-geo]
	// login [identity-required]
	// allow employees [policy-matched email_domain-ok]
}
