package config

import "github.com/gatehouse/gatehouse/internal/store"

// warpApp checks an application of type warp, Cloudflare's "device enrollment permissions"
// application: its policies decide who may enrol a device for the secure web gateway on
// <prefix>gateway/enroll. It is reached on the auth domain only, so it has no upstream,
// destinations or domain, and there is at most one. Without one nobody may enrol (fail closed).
func (c *checker) warpApp(path string, i int, a *store.Application, seen *int) {
	if *seen >= 0 {
		c.addf(path+".type", "there can be only one warp application (applications[%d] is one)", *seen)
	}
	*seen = i
	if a.Upstream != "" {
		c.add(path+".upstream", "a warp application has no upstream: it decides who may enrol a gateway device")
	}
	if len(a.Destinations) > 0 {
		c.add(path+".destinations", "a warp application has no destinations: it is served on the auth domain (gateway/enroll)")
	}
	if a.Domain != "" {
		c.add(path+".domain", "a warp application has no domain: it is served on the auth domain (gateway/enroll)")
	}
	if len(a.Policies) == 0 {
		c.add(path+".policies", "a warp application needs at least one policy: nobody could enrol a device")
	}
}
