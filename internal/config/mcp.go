package config

import (
	"fmt"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/configfield"
	"github.com/gatehouse/gatehouse/internal/gateway/upload"
	"github.com/gatehouse/gatehouse/internal/store"
)

// mcpServerIDProblem checks an MCP server id, which prefixes its tools ({id}_{tool}):
// Cloudflare's rule (no underscores, so the first underscore splits a tool name), in lower
// case, at most 32 characters.
// MaxMCPAlias and MaxMCPDescription bound an alias and a description override of a tool or
// prompt in a portal (Cloudflare allows aliases of 1-40 characters).
const (
	MaxMCPAlias       = 40
	MaxMCPDescription = 4096
)

// mcpAliasRE is Cloudflare's pattern of aliases: letters and digits in runs joined by single
// '_' or '-'.
var mcpAliasRE = regexp.MustCompile(`^[a-zA-Z0-9]+([_-][a-zA-Z0-9]+)*$`)

// MCPAliasProblem describes what is wrong with a tool or prompt alias ("" when nothing is).
func MCPAliasProblem(alias string) string {
	switch {
	case len(alias) > MaxMCPAlias:
		return fmt.Sprintf("is longer than %d characters", MaxMCPAlias)
	case !mcpAliasRE.MatchString(alias):
		return "must be letters and digits, optionally joined by single '_' or '-' (^[a-zA-Z0-9]+([_-][a-zA-Z0-9]+)*$)"
	}
	return ""
}

func mcpServerIDProblem(id string) string {
	if msg := idProblem(id); msg != "" {
		return msg
	}
	if len(id) > 32 {
		return "must be at most 32 characters (it prefixes every tool name)"
	}
	for i := 0; i < len(id); i++ {
		if b := id[i]; !(b >= 'a' && b <= 'z' || b >= '0' && b <= '9' || b == '-') {
			return "may only contain lower-case letters, digits and '-' (it prefixes tool names as {id}_{tool})"
		}
	}
	return ""
}

// Paths under <prefix>mcp/ that are not portals: the callback of upstream authorizations and the
// page where users connect their upstream accounts (package mcp serves them).
const (
	MCPCallbackPath = "servers-callback"
	MCPConnectPath  = "connect"
)

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// MCP configures what the MCP portals keep.
type MCP struct {
	// CallLogs are the portals' call logs (gatehouse mcp logs, the admin API).
	CallLogs MCPCallLogs `yaml:"call_logs"`
}

// MCPCallLogs configures the call logs.
type MCPCallLogs struct {
	// Retention is how long entries are kept; older entries are deleted (at start, then
	// hourly). Default 720h (30 days), between 1h and 87600h (10 years).
	Retention store.Duration `yaml:"retention"`
}

// DefaultMCPCallLogRetention is mcp.call_logs.retention's default.
const DefaultMCPCallLogRetention = 30 * 24 * time.Hour

func (m *MCP) setDefaults() {
	if m.CallLogs.Retention == 0 {
		m.CallLogs.Retention = store.Duration(DefaultMCPCallLogRetention)
	}
}

func (c *checker) mcp() {
	c.durationIn("mcp.call_logs.retention", c.f.MCP.CallLogs.Retention, time.Hour, 10*365*24*time.Hour, "")
	servers := c.f.MCPServers
	byID := map[string]*store.MCPServer{}
	for i := range servers {
		s := &servers[i]
		path := fmt.Sprintf("mcp_servers[%d]", i)
		if msg := mcpServerIDProblem(s.ID); msg != "" {
			c.add(path+".id", msg)
		} else if byID[s.ID] != nil {
			c.addf(path+".id", "duplicate id %q", s.ID)
		} else {
			byID[s.ID] = s
		}
		if strings.TrimSpace(s.Name) == "" {
			c.add(path+".name", "is required")
		}
		if s.URL == "" {
			c.add(path+".url", "is required")
		} else if msg := absoluteURLProblem(s.URL); msg != "" {
			c.add(path+".url", msg)
		}
		switch s.Transport {
		case "", store.MCPTransportStreamable, store.MCPTransportSSE:
		default:
			c.addf(path+".transport", "must be %s or %s (or left out to detect it)", store.MCPTransportStreamable, store.MCPTransportSSE)
		}
		switch s.AuthType {
		case "", store.MCPAuthUnauthenticated:
			if s.AuthCredentials != nil {
				c.add(path+".auth_credentials", "is only used with auth_type bearer")
			}
		case store.MCPAuthBearer:
			if s.AuthCredentials == nil {
				c.add(path+".auth_credentials", "is required with auth_type bearer")
			} else if _, err := configfield.ParseSecretRef(s.AuthCredentials); err != nil {
				c.add(path+".auth_credentials", err.Error())
			}
		case store.MCPAuthOAuth:
			if s.AuthCredentials != nil {
				c.add(path+".auth_credentials", "is only used with auth_type bearer (oauth servers get their tokens by authorization: gatehouse mcp servers authorize)")
			}
			if o := s.OAuth; o != nil {
				if o.ClientSecret != nil {
					if o.ClientID == "" {
						c.add(path+".oauth.client_secret", "needs oauth.client_id")
					} else if _, err := configfield.ParseSecretRef(o.ClientSecret); err != nil {
						c.add(path+".oauth.client_secret", err.Error())
					}
				}
				for j, sc := range o.Scopes {
					if sc == "" || strings.ContainsAny(sc, " \t\r\n\"\\") {
						c.addf(fmt.Sprintf("%s.oauth.scopes[%d]", path, j), "must be one OAuth scope token (no spaces, quotes or backslashes)")
					}
				}
			}
		default:
			c.addf(path+".auth_type", "must be %s, %s or %s", store.MCPAuthUnauthenticated, store.MCPAuthBearer, store.MCPAuthOAuth)
		}
		if s.OAuth != nil && s.AuthType != store.MCPAuthOAuth {
			c.add(path+".oauth", "is only used with auth_type oauth")
		}
		switch s.ReviewStatus {
		case "", store.MCPReviewApproved, store.MCPReviewUnapproved, store.MCPReviewInReview, store.MCPReviewUnreviewed:
		default:
			c.addf(path+".review_status", "must be one of %s, %s, %s, %s", store.MCPReviewApproved, store.MCPReviewUnapproved, store.MCPReviewInReview, store.MCPReviewUnreviewed)
		}
	}
	apps := map[string]bool{}
	for _, a := range c.f.Applications {
		apps[a.ID] = true
	}
	idps := map[string]bool{}
	for _, p := range c.f.IdentityProviders {
		idps[p.ID] = true
	}
	portals := c.f.MCPPortals
	c.ids("mcp_portals", len(portals), func(i int) string { return portals[i].ID })
	for i := range portals {
		p := &portals[i]
		path := fmt.Sprintf("mcp_portals[%d]", i)
		if p.ID == MCPCallbackPath || p.ID == MCPConnectPath {
			c.addf(path+".id", "%q is reserved (<prefix>mcp/%s serves upstream OAuth)", p.ID, p.ID)
		}
		if apps[p.ID] {
			c.addf(path+".id", "%q is the id of an application; a portal is an application itself and needs its own id", p.ID)
		}
		if strings.TrimSpace(p.Name) == "" {
			c.add(path+".name", "is required")
		}
		for j, l := range p.Policies {
			if l.Role != "" {
				c.addf(fmt.Sprintf("%s.policies[%d].role", path, j), "only the policies of an admin_console application have a role")
			}
		}
		if len(p.Servers) == 0 {
			c.add(path+".servers", "needs at least one server")
		}
		seen := map[string]int{}
		for j, e := range p.Servers {
			ep := fmt.Sprintf("%s.servers[%d]", path, j)
			srv := byID[e.ServerID]
			switch {
			case e.ServerID == "":
				c.add(ep+".server_id", "is required")
			case srv == nil:
				c.addf(ep+".server_id", "unknown MCP server %q (mcp_servers)", e.ServerID)
			}
			if k, dup := seen[e.ServerID]; dup && e.ServerID != "" {
				c.addf(ep+".server_id", "server %q is already in the portal at servers[%d]", e.ServerID, k)
			}
			seen[e.ServerID] = j
			if e.OnBehalf && srv != nil && srv.AuthType != store.MCPAuthOAuth {
				c.addf(ep+".on_behalf", "needs a server with auth_type oauth (each user authorises it); %q is %s", e.ServerID, orDefault(srv.AuthType, store.MCPAuthUnauthenticated))
			}
			for _, list := range []struct {
				field string
				items []store.MCPToolSetting
			}{{"updated_tools", e.UpdatedTools}, {"updated_prompts", e.UpdatedPrompts}} {
				seen := map[string]int{}
				for k, t := range list.items {
					tp := fmt.Sprintf("%s.%s[%d].name", ep, list.field, k)
					if t.Name == "" {
						c.add(tp, "is required")
					} else if m, dup := seen[t.Name]; dup {
						c.addf(tp, "%q is already set at %s[%d]", t.Name, list.field, m)
					}
					seen[t.Name] = k
				}
				// The names the portal shows (an alias, else the server's name) are unique
				// within the server's entry, as Cloudflare requires: with the {server_id}_
				// prefix, unique in the portal.
				shown := map[string]int{}
				for k, t := range list.items {
					ip := fmt.Sprintf("%s.%s[%d]", ep, list.field, k)
					if t.Alias != "" {
						if msg := MCPAliasProblem(t.Alias); msg != "" {
							c.add(ip+".alias", msg)
							continue
						}
					}
					if len(t.Description) > MaxMCPDescription {
						c.addf(ip+".description", "is longer than %d bytes", MaxMCPDescription)
					}
					name, field := t.Name, "name"
					if t.Alias != "" {
						name, field = t.Alias, "alias"
					}
					if name == "" {
						continue
					}
					if m, dup := shown[name]; dup {
						c.addf(ip+"."+field, "%q is already the name of %s[%d] in the portal (%s_%s): names shown must be unique", name, list.field, m, e.ServerID, name)
						continue
					}
					shown[name] = k
				}
			}
			for k, t := range e.UpdatedPrompts {
				if len(t.Policies) > 0 {
					c.add(fmt.Sprintf("%s.updated_prompts[%d].policies", ep, k), "prompts take no policies of their own (the server's apply)")
				}
			}
		}
		for j, id := range p.AllowedIdPs {
			if !idps[id] {
				c.addf(fmt.Sprintf("%s.allowed_idps[%d]", path, j), "unknown identity provider %q", id)
			}
		}
		c.durationIn(path+".session_duration", p.SessionDuration, 0, MaxSessionDuration, "")
		if d := p.DLP; d != nil {
			if len(d.Profiles) == 0 {
				c.add(path+".dlp.profiles", "needs at least one DLP profile id")
			}
			switch d.Action {
			case "", store.MCPActionBlock, store.MCPActionLog:
			default:
				c.addf(path+".dlp.action", "must be %s or %s", store.MCPActionBlock, store.MCPActionLog)
			}
		}
		if o := p.OAuth; o != nil {
			if d := o.DynamicClientRegistration; d != nil {
				for j, u := range d.AllowedURIs {
					if msg := allowedRedirectProblem(u); msg != "" {
						c.add(fmt.Sprintf("%s.oauth.dynamic_client_registration.allowed_uris[%d]", path, j), msg)
					}
				}
			}
			if d := o.ClientIDMetadataDocuments; d != nil {
				for j, cidr := range d.AllowedNetworks {
					if p, err := netip.ParsePrefix(cidr); err != nil || p.Masked() != p {
						c.addf(fmt.Sprintf("%s.oauth.client_id_metadata_documents.allowed_networks[%d]", path, j), "must be a CIDR in canonical form, such as 10.20.0.0/16")
					}
				}
			}
			if g := o.Grant; g != nil {
				c.durationIn(path+".oauth.grant.access_token_lifetime", g.AccessTokenLifetime, time.Minute, 24*time.Hour, " (default 15m)")
				c.durationIn(path+".oauth.grant.session_duration", g.SessionDuration, 5*time.Minute, 90*24*time.Hour, " (default 168h)")
			}
		}
		switch p.PromptInjection {
		case "", store.MCPActionBlock, store.MCPActionLog, store.MCPActionOff:
		default:
			c.addf(path+".prompt_injection", "must be %s, %s or %s", store.MCPActionBlock, store.MCPActionLog, store.MCPActionOff)
		}
	}
}

// allowedRedirectProblem checks a redirect URI a portal lets clients register: an absolute
// URL without fragment or user information; an https:// prefix may end in /* (any path below
// it); http is only for localhost and loopback addresses, which are allowed anyway.
func allowedRedirectProblem(raw string) string {
	u, err := url.Parse(strings.TrimSuffix(raw, "/*"))
	switch {
	case err != nil || !u.IsAbs() || u.Opaque != "":
		return "must be an absolute URL such as https://app.example.com/oauth/callback or cursor://host/callback"
	case u.Fragment != "" || u.User != nil:
		return "must not have a fragment or user information"
	case strings.HasSuffix(raw, "/*") && u.Scheme != "https":
		return "a prefix ending in /* must be https://"
	case u.Scheme == "http":
		return "http:// redirect URIs are only allowed on localhost and loopback addresses (allow_any_on_localhost, allow_any_on_loopback)"
	case u.Scheme == "javascript" || u.Scheme == "data" || u.Scheme == "file":
		return "must not be a " + u.Scheme + ": URL"
	}
	return ""
}

// mcpProfileIssues reports the DLP profile ids of mcp_portals[].dlp.profiles that s does not
// know.
func mcpProfileIssues(portals []store.MCPPortal, s *upload.Scanner) []issue {
	var out []issue
	for i, p := range portals {
		if p.DLP == nil {
			continue
		}
		for j, id := range p.DLP.Profiles {
			if !s.HasProfile(id) {
				out = append(out, issue{path: fmt.Sprintf("mcp_portals[%d].dlp.profiles[%d]", i, j),
					msg: fmt.Sprintf("unknown DLP profile %q (profiles: %s)", id, strings.Join(s.ProfileIDs(), ", "))})
			}
		}
	}
	return slices.Clip(out)
}
