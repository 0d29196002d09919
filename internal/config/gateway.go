package config

import (
	"crypto/x509"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/gatehouse/gatehouse/internal/gateway/applib"
	"github.com/gatehouse/gatehouse/internal/gateway/rules"
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
	// Usage configures Shadow-AI discovery's usage rollups (gateway_usage.go).
	Usage GatewayUsage `yaml:"usage"`
	// PromptLogs configures the encrypted AI prompt logs (gateway_prompt_logs.go).
	PromptLogs GatewayPromptLogs `yaml:"prompt_logs"`
	// PromptProtection configures AI prompt protection (gateway_prompt_protection.go).
	PromptProtection GatewayPromptProtection `yaml:"prompt_protection"`
	// ProxyAddress is the host:port users configure as their proxy, shown by device enrolment
	// and put in personal PAC files; default: the auth domain's host with listen.gateway's
	// port. See gateway_enroll.go.
	ProxyAddress string `yaml:"proxy_address"`
	// Rules are the HTTP policies in Cloudflare's API shape (id, name, precedence, enabled,
	// action, traffic, identity, device_posture, rule_settings; see docs/gateway-rules.md).
	// They are compiled when the configuration is loaded: unknown fields, type errors and bad
	// settings are configuration errors at the rule's field.
	Rules []rules.Rule `yaml:"rules"`
	// Lists are the named lists rules reference as $name: name → values (strings, integers,
	// addresses or CIDRs, depending on the field the list is compared with).
	Lists map[string][]string `yaml:"lists"`
	// DefaultAction is what happens to a request no rule matches: allow (default) or block.
	DefaultAction string `yaml:"default_action"`
	// AppReviews sets the review status of applications of the library: application id or
	// name → approved, unapproved, in review (or in_review) or unreviewed. Applications not
	// listed are unreviewed. A status never blocks by itself: rules match app.statuses.
	AppReviews applib.Reviews `yaml:"app_reviews"`
	// AppEvidence adds or corrects the evidence behind applications' confidence scores:
	// application id or name → entries {criterion, value, source, date, note}; an entry
	// replaces the shipped evidence for its criterion, value unknown withdraws it.
	AppEvidence applib.EvidenceOverlay `yaml:"app_evidence"`
	// UpstreamCAFiles are PEM files of CA certificates trusted for destinations' certificates
	// in addition to the system roots (for inspected TLS).
	UpstreamCAFiles []string `yaml:"upstream_ca_files"`
	// TLSDecrypt turns TLS inspection on or off (Cloudflare's tls_decrypt setting).
	TLSDecrypt GatewayTLSDecrypt `yaml:"tls_decrypt"`
}

// GatewayTLSDecrypt is Cloudflare's tls_decrypt setting.
type GatewayTLSDecrypt struct {
	// Enabled inspects CONNECT tunnels whenever a gateway CA is in use (`gatehouse gateway ca
	// generate --activate`); default true. With false, or without a CA in use, every tunnel is
	// spliced and only rules that need nothing decrypted apply to it.
	Enabled *bool `yaml:"enabled"`
}

// DecryptEnabled reports tls_decrypt.enabled (default true).
func (g *Gateway) DecryptEnabled() bool { return g.TLSDecrypt.Enabled == nil || *g.TLSDecrypt.Enabled }

// CompilePolicy compiles gateway.rules against gateway.lists and resolves gateway.app_reviews
// against the catalogue (call it on a validated File; the errors are those Validate reports).
func (g *Gateway) CompilePolicy(cat *applib.Catalog) (*rules.Policy, applib.ReviewSet, error) {
	p, err := rules.Compile(g.Rules, rules.Options{Lists: rules.Lists(g.Lists), DefaultAction: g.DefaultAction})
	if err != nil {
		return nil, nil, fmt.Errorf("gateway.rules: %w", err)
	}
	reviews, err := applib.ParseReviews(cat, g.AppReviews)
	if err != nil {
		return nil, nil, fmt.Errorf("gateway.app_reviews: %w", err)
	}
	return p, reviews, nil
}

// UpstreamRoots returns the system roots plus the certificates of gateway.upstream_ca_files.
func (g *Gateway) UpstreamRoots() (*x509.CertPool, error) {
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	for i, name := range g.UpstreamCAFiles {
		b, err := os.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("gateway.upstream_ca_files[%d]: cannot read %s: %w", i, name, errorCause(err))
		}
		if !pool.AppendCertsFromPEM(b) {
			return nil, fmt.Errorf("gateway.upstream_ca_files[%d]: %s holds no PEM certificate", i, name)
		}
	}
	return pool, nil
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
	g.Usage.setDefaults()
	g.PromptLogs.setDefaults()
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

	c.gatewayUsage()
	c.gatewayPromptLogs()
	c.gatewayPromptProtection()
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
	c.gatewayPolicy()
	c.gatewayProxyAddress()
}

// gatewayPolicy compiles gateway.rules and resolves gateway.app_reviews, reporting each problem
// at its field (and, inside an expression, at its line and column).
func (c *checker) gatewayPolicy() {
	g := &c.f.Gateway
	_, err := rules.Compile(g.Rules, rules.Options{Lists: rules.Lists(g.Lists), DefaultAction: g.DefaultAction})
	var errs rules.Errors
	if errors.As(err, &errs) {
		for _, e := range errs {
			path := "gateway." + e.Field
			msg := e.Msg
			if e.RuleID != "" {
				msg = fmt.Sprintf("rule %q: %s", e.RuleID, msg)
			}
			var node *yaml.Node
			if e.Expr != nil {
				node = c.exprNode(path, e.Expr)
				msg += fmt.Sprintf(" (at %d:%d of the expression)", e.Expr.Line, e.Expr.Col)
			}
			c.issues = append(c.issues, issue{path: path, node: node, msg: msg})
		}
	} else if err != nil {
		c.add("gateway.rules", err.Error())
	}
	if len(g.AppEvidence) > 0 {
		if cat, err := applib.Default(); err == nil {
			if _, err := applib.ParseEvidenceOverlay(cat, g.AppEvidence); err != nil {
				for _, e := range flattenJoined(err) {
					c.add("gateway.app_evidence", strings.TrimPrefix(e.Error(), "app_evidence"))
				}
			}
		}
	}
	if len(g.AppReviews) > 0 {
		cat, err := applib.Default()
		if err != nil {
			c.add("gateway.app_reviews", "the application library does not load: "+err.Error())
			return
		}
		if _, err := applib.ParseReviews(cat, g.AppReviews); err != nil {
			var problems []*applib.ReviewError
			collectReviewErrors(err, &problems)
			sort.Slice(problems, func(i, j int) bool { return problems[i].Key < problems[j].Key })
			for _, p := range problems {
				c.issues = append(c.issues, issue{path: "gateway.app_reviews." + p.Key, node: c.mapKey("gateway.app_reviews", p.Key), msg: p.Problem})
			}
			if len(problems) == 0 {
				c.add("gateway.app_reviews", err.Error())
			}
		}
	}
	for i, name := range g.UpstreamCAFiles {
		if strings.TrimSpace(name) == "" {
			c.addf(fmt.Sprintf("gateway.upstream_ca_files[%d]", i), "must name a PEM file")
		}
	}
}

func collectReviewErrors(err error, out *[]*applib.ReviewError) {
	var re *applib.ReviewError
	if errors.As(err, &re) {
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				collectReviewErrors(e, out)
			}
			return
		}
		*out = append(*out, re)
	}
}

// mapKey returns the key node of name in the mapping at path (nil when there is no source).
func (c *checker) mapKey(path, name string) *yaml.Node {
	if c.f.src == nil {
		return nil
	}
	n, ok := lookup(c.f.src.root, path)
	if !ok || n.Kind != yaml.MappingNode {
		return nil
	}
	for _, p := range pairs(n) {
		if p.key.Value == name {
			return p.key
		}
	}
	return nil
}

// exprNode locates a problem inside the expression at path: a position node on the offending
// character for one-line (plain or quoted) scalars, and on the offending line for block
// scalars. nil when there is no source (the path's node is used).
func (c *checker) exprNode(path string, e *rules.ExprError) *yaml.Node {
	if c.f.src == nil {
		return nil
	}
	n, ok := lookup(c.f.src.root, path)
	if !ok || n.Kind != yaml.ScalarNode {
		return nil
	}
	switch n.Style {
	case yaml.LiteralStyle, yaml.FoldedStyle:
		return &yaml.Node{Line: n.Line + e.Line, Column: n.Column}
	case yaml.DoubleQuotedStyle, yaml.SingleQuotedStyle:
		if e.Line == 1 {
			return &yaml.Node{Line: n.Line, Column: n.Column + e.Col}
		}
	case 0:
		if e.Line == 1 {
			return &yaml.Node{Line: n.Line, Column: n.Column + e.Col - 1}
		}
	}
	return &yaml.Node{Line: n.Line + e.Line - 1, Column: n.Column}
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

// gatewayFileIssues checks that gateway.upstream_ca_files are readable PEM certificate files.
func (f *File) gatewayFileIssues() []issue {
	var out []issue
	for i, name := range f.Gateway.UpstreamCAFiles {
		if strings.TrimSpace(name) == "" {
			continue // reported by Validate
		}
		one := Gateway{UpstreamCAFiles: []string{name}}
		if _, err := one.UpstreamRoots(); err != nil {
			_, msg, _ := strings.Cut(err.Error(), ": ")
			out = append(out, issue{path: fmt.Sprintf("gateway.upstream_ca_files[%d]", i), msg: msg})
		}
	}
	return out
}

// flattenJoined lists the errors of an errors.Join (or err itself).
func flattenJoined(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}
