package config

import (
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/gatehouse/gatehouse/internal/netguard"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Gateway configures the secure web gateway: the forward proxy on listen.gateway (see
// docs/gateway.md). Every field is optional; without listen.gateway nothing here is used.
type Gateway struct {
	// Hosts pins host names to addresses, for labs and tests: "chatgpt.com: 127.0.0.1" sends
	// every request for chatgpt.com to 127.0.0.1 without asking DNS. Names are compared
	// case-insensitively, without a trailing dot. A pinned address is vetted like a resolved one,
	// so a private or loopback pin must also be inside allowed_private_networks.
	Hosts map[string]string `yaml:"hosts"`
	// AllowedPrivateNetworks are CIDRs the gateway may connect to although they are loopback,
	// private, link-local or otherwise not public (refused by default). The gateway's own
	// listeners stay refused even inside them. Canonical form (10.0.0.0/8, not 10.1.2.3/8).
	AllowedPrivateNetworks []netip.Prefix `yaml:"allowed_private_networks"`
	// Locations name source networks, so that requests from them can be told apart (and, later,
	// matched by identity-less rules). A client address in several locations belongs to the one
	// with the most specific network.
	Locations []GatewayLocation `yaml:"locations"`
	// Limits bound the gateway's connections.
	Limits GatewayLimits `yaml:"limits"`
	// ProxyAddress is the host:port users configure as their proxy, shown by device enrolment
	// and put in personal PAC files; default: the auth domain's host with listen.gateway's
	// port. See gateway_enroll.go.
	ProxyAddress string `yaml:"proxy_address"`
}

// GatewayLocation is a named set of source networks.
type GatewayLocation struct {
	// Name identifies the location in logs and rules: letters, digits, '-', '_' and '.',
	// unique among locations.
	Name string `yaml:"name"`
	// Networks are the CIDRs (or single addresses) of the location; at least one.
	Networks []netip.Prefix `yaml:"networks"`
}

// GatewayLimits bound the forward proxy.
type GatewayLimits struct {
	// MaxRequestHeaderBytes bounds a request line and its headers; default 64KiB, between
	// 4KiB and 16MiB.
	MaxRequestHeaderBytes ByteSize `yaml:"max_request_header_bytes"`
	// IdleTimeout is how long an idle keep-alive client connection stays open; default 2m.
	IdleTimeout store.Duration `yaml:"idle_timeout"`
	// ConnectTimeout bounds connecting to a destination; default 30s, between 1s and 5m.
	ConnectTimeout store.Duration `yaml:"connect_timeout"`
	// TunnelIdleTimeout closes a CONNECT tunnel through which no byte passed in either direction
	// for this long; default 1h, between 10s and 24h.
	TunnelIdleTimeout store.Duration `yaml:"tunnel_idle_timeout"`
	// MaxTunnels bounds the CONNECT tunnels open at once; further CONNECTs get 503. Default
	// 4096, between 1 and 1000000.
	MaxTunnels int `yaml:"max_tunnels"`
}

// Gateway defaults.
const (
	DefaultGatewayConnectTimeout    = 30 * time.Second
	DefaultGatewayTunnelIdleTimeout = time.Hour
	DefaultGatewayMaxTunnels        = 4096
)

func (g *Gateway) setDefaults() {
	l := &g.Limits
	if l.MaxRequestHeaderBytes == 0 {
		l.MaxRequestHeaderBytes = DefaultMaxRequestHeaderBytes
	}
	if l.IdleTimeout == 0 {
		l.IdleTimeout = store.Duration(DefaultIdleTimeout)
	}
	if l.ConnectTimeout == 0 {
		l.ConnectTimeout = store.Duration(DefaultGatewayConnectTimeout)
	}
	if l.TunnelIdleTimeout == 0 {
		l.TunnelIdleTimeout = store.Duration(DefaultGatewayTunnelIdleTimeout)
	}
	if l.MaxTunnels == 0 {
		l.MaxTunnels = DefaultGatewayMaxTunnels
	}
}

// HostPins returns gateway.hosts with canonical names and parsed addresses (call it on a
// validated File; entries that do not parse are left out).
func (g *Gateway) HostPins() map[string]netip.Addr {
	pins := make(map[string]netip.Addr, len(g.Hosts))
	for name, a := range g.Hosts {
		h, err := netguard.CanonicalHost(name)
		addr, aerr := netip.ParseAddr(a)
		if err == nil && aerr == nil {
			pins[h] = addr.Unmap()
		}
	}
	return pins
}

func (c *checker) gateway() {
	g := &c.f.Gateway
	allowed := func(a netip.Addr) bool {
		for _, p := range g.AllowedPrivateNetworks {
			if p.Contains(a) {
				return true
			}
		}
		return false
	}
	for i, p := range g.AllowedPrivateNetworks {
		if !p.IsValid() || p.Masked() != p {
			c.addf(fmt.Sprintf("gateway.allowed_private_networks[%d]", i), "must be a canonical CIDR such as 10.0.0.0/8")
		}
	}
	c.gatewayHosts(allowed)

	names := map[string]int{}
	owner := map[netip.Prefix]int{}
	for i, l := range g.Locations {
		path := fmt.Sprintf("gateway.locations[%d]", i)
		if msg := idProblem(l.Name); msg != "" {
			c.add(path+".name", msg)
		} else if j, dup := names[l.Name]; dup {
			c.addf(path+".name", "duplicate name %q (also used by gateway.locations[%d])", l.Name, j)
		} else {
			names[l.Name] = i
		}
		if len(l.Networks) == 0 {
			c.add(path+".networks", "a location needs at least one network")
		}
		for j, p := range l.Networks {
			np := fmt.Sprintf("%s.networks[%d]", path, j)
			if !p.IsValid() || p.Masked() != p {
				c.add(np, "must be a canonical CIDR such as 10.0.0.0/8")
				continue
			}
			if k, dup := owner[p]; dup && k != i {
				c.addf(np, "%s is also a network of gateway.locations[%d]; a client address must belong to one location", p, k)
				continue
			}
			owner[p] = i
		}
	}

	l := g.Limits
	if l.MaxRequestHeaderBytes < 4*KiB || l.MaxRequestHeaderBytes > 16*MiB {
		c.add("gateway.limits.max_request_header_bytes", "must be between 4KiB and 16MiB")
	}
	c.durationIn("gateway.limits.idle_timeout", l.IdleTimeout, time.Second, 24*time.Hour, "")
	c.durationIn("gateway.limits.connect_timeout", l.ConnectTimeout, time.Second, 5*time.Minute, "")
	c.durationIn("gateway.limits.tunnel_idle_timeout", l.TunnelIdleTimeout, 10*time.Second, 24*time.Hour, "")
	if l.MaxTunnels < 1 || l.MaxTunnels > 1_000_000 {
		c.add("gateway.limits.max_tunnels", "must be between 1 and 1000000")
	}
	c.gatewayProxyAddress()
}

// gatewayHosts checks gateway.hosts entry by entry, at the entry's own key.
func (c *checker) gatewayHosts(allowed func(netip.Addr) bool) {
	var hosts *yaml.Node
	if c.f.src != nil {
		if n, ok := lookup(c.f.src.root, "gateway.hosts"); ok && n.Kind == yaml.MappingNode {
			hosts = n
		}
	}
	at := func(name string) (*yaml.Node, *yaml.Node) {
		if hosts == nil {
			return nil, nil
		}
		for _, p := range pairs(hosts) {
			if p.key.Value == name {
				return p.key, deref(p.value)
			}
		}
		return nil, nil
	}
	// In document order (then by name), so that which of two spellings of one host is the
	// duplicate does not depend on map iteration order.
	var names []string
	if hosts != nil {
		for _, p := range pairs(hosts) {
			if _, ok := c.f.Gateway.Hosts[p.key.Value]; ok && !slices.Contains(names, p.key.Value) {
				names = append(names, p.key.Value)
			}
		}
	}
	for _, name := range slices.Sorted(maps.Keys(c.f.Gateway.Hosts)) {
		if !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	seen := map[string]string{}
	for _, name := range names {
		addr := c.f.Gateway.Hosts[name]
		path := "gateway.hosts." + name
		key, value := at(name)
		h, err := netguard.CanonicalHost(name)
		switch {
		case err != nil:
			c.issues = append(c.issues, issue{path: path, node: key, msg: "is not a valid host name"})
			continue
		case netguard.IsIPLiteral(h):
			c.issues = append(c.issues, issue{path: path, node: key, msg: "must be a host name, not an IP address"})
			continue
		}
		if other, dup := seen[h]; dup {
			c.issues = append(c.issues, issue{path: path, node: key, msg: fmt.Sprintf("is the same host as %q", other)})
			continue
		}
		seen[h] = name
		a, err := netip.ParseAddr(addr)
		if err != nil || a.Zone() != "" {
			c.issues = append(c.issues, issue{path: path, node: value, msg: fmt.Sprintf("%q is not an IP address", addr)})
			continue
		}
		if cl := netguard.Classify(a); cl != netguard.ClassPublic && !allowed(a.Unmap()) {
			c.issues = append(c.issues, issue{path: path, node: value,
				msg: fmt.Sprintf("%s is a %s address: add it to gateway.allowed_private_networks, or the gateway refuses it", a, cl)})
		}
	}
}
