package config

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"

	"github.com/gatehouse/gatehouse/internal/store"
)

// Provenance. The store holds the objects the file declares (managed_by "file") and those
// created through the admin API (managed_by "api") side by side. Apply replaces only the file's;
// CheckObjects validates any mix of both with the very checks Validate runs on the file.

// SetObjectDefaults fills in the defaults of the access objects in cfg that SetDefaults fills in
// for the file's (identity provider and application names, application type, service token name
// and duration). It is idempotent.
func SetObjectDefaults(cfg *store.Config) {
	for i := range cfg.IdentityProviders {
		defaultIdP(&cfg.IdentityProviders[i])
	}
	for i := range cfg.Applications {
		defaultApp(&cfg.Applications[i])
	}
	for i := range cfg.ServiceTokens {
		t := &cfg.ServiceTokens[i]
		defaultToken(&t.Name, &t.Duration, t.ID)
	}
}

func defaultIdP(p *store.IdentityProvider) {
	if p.Name == "" {
		p.Name = p.ID
	}
}

func defaultApp(a *store.Application) {
	if a.Type == "" {
		a.Type = store.AppSelfHosted
	}
	if a.Name == "" {
		a.Name = a.ID
	}
}

func defaultToken(name *string, d *store.Duration, id string) {
	if *name == "" {
		*name = id
	}
	if *d == 0 {
		*d = store.Duration(DefaultServiceTokenDuration)
	}
}

// withObjects returns a copy of f whose access objects are cfg's (the organization stays f's),
// with no YAML source and no look at the machine: the checks of f's other settings have run
// when f was loaded.
func (f *File) withObjects(cfg *store.Config) *File {
	g := *f
	g.src, g.offline = nil, true
	g.IdentityProviders = cfg.IdentityProviders
	g.Applications = cfg.Applications
	g.Policies = cfg.Policies
	g.Groups = cfg.Groups
	g.Lists = cfg.Lists
	g.MCPServers = cfg.MCPServers
	g.MCPPortals = cfg.MCPPortals
	g.ServiceTokens = make([]ServiceToken, len(cfg.ServiceTokens))
	for i, t := range cfg.ServiceTokens {
		g.ServiceTokens[i] = ServiceToken{ID: t.ID, Name: t.Name, ClientID: t.ClientID, ClientSecretSHA256: t.ClientSecretSHA256,
			Duration: t.Duration, ExpiresAt: t.ExpiresAt, Disabled: t.Disabled}
	}
	return &g
}

// CheckObjects validates the access objects of cfg (identity providers, applications, policies,
// rule groups, lists, service tokens, MCP servers and portals, whatever their provenance) as part
// of f, with the checks Validate runs on the file: ids, references between objects, destinations
// and route conflicts, policies, durations against the organization's key overlap, and so on.
// f's other settings, and its organization, are f's; cfg.Organization is not looked at. It first
// fills in the objects' defaults (SetObjectDefaults), in cfg itself. Each problem's path names
// an object by its id, as section[id=ID] ("applications[id=wiki].destinations[0]"), and has no
// position; nothing on the machine is looked at. The admin API validates every change with it.
func (f *File) CheckObjects(cfg *store.Config) []Problem {
	SetObjectDefaults(cfg)
	issues := f.withObjects(cfg).validate()
	ps := make([]Problem, 0, len(issues))
	for _, is := range issues {
		ps = append(ps, Problem{Path: objectPath(cfg, is.path), Msg: is.msg})
	}
	return sortProblems(ps)
}

// indexedPath matches the start of a path into an object list: "applications[3]".
var indexedPath = regexp.MustCompile(`^([a-z_]+)\[(\d+)\]`)

// objectPath rewrites the list index that starts path into the object's id
// ("applications[3].x" → "applications[id=wiki].x") when the id names exactly one object of
// the section.
func objectPath(cfg *store.Config, path string) string {
	m := indexedPath.FindStringSubmatch(path)
	if m == nil {
		return path
	}
	i, err := strconv.Atoi(m[2])
	if err != nil {
		return path
	}
	var ids []string
	for _, o := range cfg.Objects() {
		if o.Section == m[1] {
			ids = append(ids, o.ID)
		}
	}
	if i >= len(ids) || ids[i] == "" || slices.Index(ids, ids[i]) != i || slices.Index(ids[i+1:], ids[i]) >= 0 {
		return path
	}
	return fmt.Sprintf("%s[id=%s]%s", m[1], ids[i], path[len(m[0]):])
}

// Name returns the name of the file f was loaded from ("" for a File built in Go).
func (f *File) Name() string {
	if f.src == nil {
		return ""
	}
	return f.src.filename
}

// ObjectPath is the path prefix CheckObjects gives the object of section with id.
func ObjectPath(section, id string) string { return fmt.Sprintf("%s[id=%s]", section, id) }

// sectionOf returns the ObjectRefs of one section of cfg.
func sectionOf(cfg *store.Config, section string) []store.ObjectRef {
	var out []store.ObjectRef
	for _, o := range cfg.Objects() {
		if o.Section == section {
			out = append(out, o)
		}
	}
	return out
}

// singular names one object, with its article, of a section in messages.
var singular = map[string]string{
	"identity_providers": "an identity provider", "applications": "an application", "policies": "a policy",
	"groups": "a rule group", "lists": "a list", "service_tokens": "a service token", "mcp_servers": "an MCP server",
	"mcp_portals": "an MCP portal",
}

// merge returns the configuration the store holds once the file's objects (file, all marked
// managed_by file) replace the file-owned objects of cur: the file's objects in file order, then
// cur's API objects in their order, so that an index below the file's count names the file's
// object. The organization is the file's. It reports every file object whose id is taken by an
// API object of the same section, at the file object's id.
func merge(file, cur *store.Config) (*store.Config, []issue) {
	next := &store.Config{Version: cur.Version, Organization: file.Organization}
	var issues []issue
	api := map[string]bool{}
	for _, o := range cur.Objects() {
		if *o.ManagedBy == store.ManagedByAPI {
			api[o.Section+"\x00"+o.ID] = true
		}
	}
	for _, section := range []string{"identity_providers", "applications", "policies", "groups", "lists", "service_tokens", "mcp_servers", "mcp_portals"} {
		for i, o := range sectionOf(file, section) {
			if api[section+"\x00"+o.ID] {
				issues = append(issues, issue{path: fmt.Sprintf("%s[%d].id", section, i),
					msg: fmt.Sprintf("%q is the id of %s created through the admin API (managed_by api); the file cannot declare it: rename one of them, or delete the API's first",
						o.ID, singular[section])})
			}
		}
	}
	keep := func(m string) bool { return m == store.ManagedByAPI }
	next.IdentityProviders = appendAPI(file.IdentityProviders, cur.IdentityProviders, func(v store.IdentityProvider) bool { return keep(v.ManagedBy) })
	next.Applications = appendAPI(file.Applications, cur.Applications, func(v store.Application) bool { return keep(v.ManagedBy) })
	next.Policies = appendAPI(file.Policies, cur.Policies, func(v store.Policy) bool { return keep(v.ManagedBy) })
	next.Groups = appendAPI(file.Groups, cur.Groups, func(v store.RuleGroup) bool { return keep(v.ManagedBy) })
	next.Lists = appendAPI(file.Lists, cur.Lists, func(v store.List) bool { return keep(v.ManagedBy) })
	next.ServiceTokens = appendAPI(file.ServiceTokens, cur.ServiceTokens, func(v store.ServiceToken) bool { return keep(v.ManagedBy) })
	next.MCPServers = appendAPI(file.MCPServers, cur.MCPServers, func(v store.MCPServer) bool { return keep(v.ManagedBy) })
	next.MCPPortals = appendAPI(file.MCPPortals, cur.MCPPortals, func(v store.MCPPortal) bool { return keep(v.ManagedBy) })
	return next, issues
}

func appendAPI[T any](file, cur []T, isAPI func(T) bool) []T {
	out := slices.Clone(file)
	for _, v := range cur {
		if isAPI(v) {
			out = append(out, v)
		}
	}
	return out
}
