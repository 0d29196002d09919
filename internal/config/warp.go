package config

import "github.com/gatehouse/gatehouse/internal/store"

// warpApp checks an application of type warp, Cloudflare's "device enrollment permissions"
// application: its policies decide who may enrol a device for the secure web gateway on
// <prefix>gateway/enroll. Without one nobody may enrol (fail closed).
func (c *checker) warpApp(path string, i int, a *store.Application, seen *int) {
	c.authDomainApp(path, i, a, seen, "a warp", "gateway/enroll", "nobody could enrol a device")
}

// authDomainApp checks what every application that is reached on the auth domain only (at
// servedAt) must be: it has no upstream, destinations or domain, at least one policy, and
// there is at most one of its type (seen holds the index of the first).
func (c *checker) authDomainApp(path string, i int, a *store.Application, seen *int, aType, servedAt, withoutPolicies string) {
	if *seen >= 0 {
		c.addf(path+".type", "there can be only one %s application (applications[%d] is one)", a.Type, *seen)
	}
	*seen = i
	for _, f := range []struct {
		name string
		set  bool
	}{{"upstream", a.Upstream != ""}, {"destinations", len(a.Destinations) > 0}, {"domain", a.Domain != ""}} {
		if f.set {
			c.addf(path+"."+f.name, "%s application has no %s: it is served on the auth domain (%s)", aType, f.name, servedAt)
		}
	}
	if len(a.Policies) == 0 {
		c.addf(path+".policies", "%s application needs at least one policy: %s", aType, withoutPolicies)
	}
}
