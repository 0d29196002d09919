package admin

import (
	"fmt"
	"slices"
	"strings"
)

// Scopes of admin API tokens. A token holds one or more; a request is allowed when one of them
// covers the route's area and method (GET reads, every other method writes):
//
//	all            everything (the scope of tokens made before scopes existed)
//	read           every read, no write
//	<area>         reads and writes of one area
//	<area>:read    reads of one area
//
// The areas are access (applications, policies, rule groups, lists, identity providers, service
// tokens, users, sessions, access logs, the Access report), gateway (application library and
// review statuses, Shadow-AI report, AI security report (its MCP part also needs mcp), prompt
// logs, devices), mcp (MCP servers, portals and call logs) and audit
// (the audit log; read-only).
const (
	ScopeAll     = "all"
	ScopeRead    = "read"
	ScopeAccess  = "access"
	ScopeGateway = "gateway"
	ScopeMCP     = "mcp"
	ScopeAudit   = "audit"
	// scopeAny marks the routes any valid token may use (the OpenAPI description).
	scopeAny = ""
)

var scopeAreas = []string{ScopeAccess, ScopeGateway, ScopeMCP, ScopeAudit}

// ValidScopes lists every scope a token may hold.
func ValidScopes() []string {
	out := []string{ScopeAll, ScopeRead}
	for _, a := range scopeAreas {
		out = append(out, a)
		if a != ScopeAudit {
			out = append(out, a+":read")
		}
	}
	return out
}

// NormalizeScopes checks scopes (given as a list, each item possibly comma-separated) and
// returns them sorted without duplicates; none means ScopeAll.
func NormalizeScopes(scopes []string) ([]string, error) {
	var out []string
	valid := ValidScopes()
	for _, s := range scopes {
		for part := range strings.SplitSeq(s, ",") {
			part = strings.ToLower(strings.TrimSpace(part))
			if part == "" {
				continue
			}
			if part == ScopeAudit+":read" {
				part = ScopeAudit
			}
			if !slices.Contains(valid, part) {
				return nil, fmt.Errorf("%w: unknown scope %q; the scopes are %s", ErrInvalid, part, strings.Join(valid, ", "))
			}
			out = append(out, part)
		}
	}
	if len(out) == 0 {
		return []string{ScopeAll}, nil
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// allows reports whether a token with scopes may use a route of area with a reading or writing
// method.
func allows(scopes []string, area string, write bool) bool {
	if area == scopeAny {
		return true
	}
	for _, s := range scopes {
		switch {
		case s == ScopeAll, s == area:
			return true
		case write:
		case s == ScopeRead, s == area+":read":
			return true
		}
	}
	return false
}
