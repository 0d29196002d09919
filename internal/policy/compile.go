package policy

import (
	"cmp"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/gatehouse/gatehouse/internal/policy/criteria"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Compile validates cfg and compiles the policies of every application. It reports every
// problem it finds at once, as Errors whose Field paths use the YAML/JSON field names, so that
// package config can point at the offending lines.
func Compile(cfg *store.Config) (*Engine, error) {
	if cfg == nil {
		return nil, errors.New("policy: nil config")
	}
	c := &compiler{
		idps:     make(map[string]bool, len(cfg.IdentityProviders)),
		tokens:   make(map[string]bool, len(cfg.ServiceTokens)),
		lists:    make(map[string]*list, len(cfg.Lists)),
		groups:   make(map[string]*group, len(cfg.Groups)),
		policies: make(map[string]*compiledPolicy, len(cfg.Policies)),
	}
	for _, idp := range cfg.IdentityProviders {
		c.idps[idp.ID] = true
	}
	for _, t := range cfg.ServiceTokens {
		c.tokens[t.ID] = true
	}
	c.compileLists(cfg.Lists)
	c.compileGroups(cfg.Groups)
	c.compilePolicies(cfg.Policies)
	apps := c.compileApps(cfg.Applications)
	c.compileMCPPortals(apps, cfg.MCPPortals)
	if len(c.errs) > 0 {
		return nil, c.errs
	}
	return &Engine{apps: apps}, nil
}

type compiler struct {
	errs     Errors
	idps     map[string]bool
	tokens   map[string]bool
	lists    map[string]*list
	groups   map[string]*group
	policies map[string]*compiledPolicy
	// visiting is the chain of groups being compiled, to report reference cycles.
	visiting []string
}

type owner struct{ object, id string }

func (c *compiler) errorf(o owner, field, format string, args ...any) {
	c.errs = append(c.errs, Error{Object: o.object, ID: o.id, Field: field, Msg: fmt.Sprintf(format, args...)})
}

// checkID reports a missing or duplicate object id and says whether the object is the first
// with its id.
func (c *compiler) checkID(o owner, seen func(string) bool) bool {
	if o.id == "" {
		c.errorf(o, "id", "id is required")
		return false
	}
	if seen(o.id) {
		c.errorf(o, "id", "duplicate %s id %q", o.object, o.id)
		return false
	}
	return true
}

type list struct {
	typ    string
	emails criteria.EmailSet
	ips    *criteria.IPSet
}

func (c *compiler) compileLists(lists []store.List) {
	for i := range lists {
		l := &lists[i]
		o := owner{ObjectList, l.ID}
		first := c.checkID(o, func(id string) bool { return c.lists[id] != nil })
		cl := &list{typ: l.Type}
		switch l.Type {
		case store.ListEmail:
			cl.emails = make(criteria.EmailSet, len(l.Items))
			for j, it := range l.Items {
				if err := cl.emails.Add(it.Value); err != nil {
					c.errorf(o, fmt.Sprintf("items[%d].value", j), "%v", err)
				}
			}
		case store.ListIP:
			prefixes := make([]netip.Prefix, 0, len(l.Items))
			for j, it := range l.Items {
				p, err := criteria.ParsePrefix(it.Value)
				if err != nil {
					c.errorf(o, fmt.Sprintf("items[%d].value", j), "%v", err)
					continue
				}
				prefixes = append(prefixes, p)
			}
			cl.ips = criteria.NewIPSet(prefixes)
		default:
			c.errorf(o, "type", "unknown list type %q (want %s or %s)", l.Type, store.ListEmail, store.ListIP)
		}
		if first {
			c.lists[l.ID] = cl
		}
	}
}

type groupState uint8

const (
	groupNew groupState = iota
	groupVisiting
	groupDone
)

type group struct {
	cfg   *store.RuleGroup
	rs    criteria.RuleSet
	state groupState
	// identity and token are the first identity and service-token selectors found in the
	// group, nested groups included, for the checks of the policies that use it.
	identity, token usage
}

// usage locates a selector: its kind and its path inside the object that holds it.
type usage struct {
	kind criteria.Kind
	path string
}

func (u usage) found() bool { return u.kind != criteria.KindInvalid }

func (c *compiler) compileGroups(groups []store.RuleGroup) {
	// Register every group first so that references resolve whatever the order; the first
	// group with an id wins.
	for i := range groups {
		if id := groups[i].ID; id != "" && c.groups[id] == nil {
			c.groups[id] = &group{cfg: &groups[i]}
		}
	}
	// Compile in configuration order; a reference compiles its target first (depth first).
	for i := range groups {
		cfg := &groups[i]
		g := c.groups[cfg.ID]
		if g == nil || g.cfg != cfg {
			c.checkID(owner{ObjectGroup, cfg.ID}, func(string) bool { return true })
			c.compileGroup(&group{cfg: cfg}) // still report what is wrong inside
			continue
		}
		if g.state == groupNew {
			c.compileGroup(g)
		}
	}
}

func (c *compiler) compileGroup(g *group) {
	g.state = groupVisiting
	c.visiting = append(c.visiting, g.cfg.ID)
	o := owner{ObjectGroup, g.cfg.ID}
	if len(g.cfg.Include) == 0 {
		c.errorf(o, "include", "a rule group needs at least one include rule")
	}
	stages := []struct {
		name  string
		rules []store.Rule
		dst   *[]criteria.Criterion
	}{
		{"include", g.cfg.Include, &g.rs.Include},
		{"require", g.cfg.Require, &g.rs.Require},
		{"exclude", g.cfg.Exclude, &g.rs.Exclude},
	}
	for _, st := range stages {
		crits, infos := c.ruleList(o, st.name, st.rules)
		*st.dst = crits
		for _, in := range infos {
			if !g.identity.found() && in.identity.found() {
				g.identity = in.identity
			}
			if !g.token.found() && in.token.found() {
				g.token = in.token
			}
		}
	}
	c.visiting = c.visiting[:len(c.visiting)-1]
	g.state = groupDone
}

// ruleInfo says what a compiled rule uses, for the decision-specific checks.
type ruleInfo struct {
	// field is the path of the rule's selector, e.g. "include[0].email" or "include[1].group.id".
	field           string
	identity, token usage
}

func (c *compiler) ruleList(o owner, stage string, rules []store.Rule) ([]criteria.Criterion, []ruleInfo) {
	crits := make([]criteria.Criterion, len(rules))
	infos := make([]ruleInfo, len(rules))
	for i := range rules {
		crits[i], infos[i] = c.rule(o, fmt.Sprintf("%s[%d]", stage, i), &rules[i])
	}
	return crits, infos
}

func selectorNames(r *store.Rule) []string {
	var names []string
	for _, s := range []struct {
		set  bool
		name string
	}{
		{r.Email != nil, "email"},
		{r.EmailDomain != nil, "email_domain"},
		{r.EmailList != nil, "email_list"},
		{r.Everyone != nil, "everyone"},
		{r.IP != nil, "ip"},
		{r.IPList != nil, "ip_list"},
		{r.Geo != nil, "geo"},
		{r.Group != nil, "group"},
		{r.LoginMethod != nil, "login_method"},
		{r.AuthMethod != nil, "auth_method"},
		{r.ServiceToken != nil, "service_token"},
		{r.AnyValidServiceToken != nil, "any_valid_service_token"},
		{r.SAML != nil, "saml"},
		{r.OIDC != nil, "oidc"},
		{r.GitHubOrganization != nil, "github-organization"},
		{r.GitHubOrgAlias != nil, "github_organization"},
		{r.Okta != nil, "okta"},
		{r.AzureAD != nil, "azureAD"},
		{r.AzureADAlias != nil, "azure_ad"},
		{r.GSuite != nil, "gsuite"},
	} {
		if s.set {
			names = append(names, s.name)
		}
	}
	return names
}

// rule compiles one rule at path (e.g. "include[2]"). An invalid rule compiles to the zero
// Criterion, which never matches; the error is recorded and Compile fails.
func (c *compiler) rule(o owner, path string, r *store.Rule) (criteria.Criterion, ruleInfo) {
	names := selectorNames(r)
	switch len(names) {
	case 0:
		c.errorf(o, path, "rule has no selector")
		return criteria.Criterion{}, ruleInfo{}
	case 1:
	default:
		c.errorf(o, path, "rule has %d selectors (%s); a rule holds exactly one, use one list element per selector",
			len(names), strings.Join(names, ", "))
		return criteria.Criterion{}, ruleInfo{}
	}
	sel := path + "." + names[0]
	info := ruleInfo{field: sel}
	var (
		cr  criteria.Criterion
		err error
		// field is the path of the value err is about.
		field string
	)
	switch {
	case r.Email != nil:
		field = sel + ".email"
		cr, err = criteria.Email(r.Email.Email)
	case r.EmailDomain != nil:
		field = sel + ".domain"
		cr, err = criteria.EmailDomain(r.EmailDomain.Domain)
	case r.EmailList != nil:
		field = sel + ".id"
		if l := c.list(o, field, r.EmailList.ID, store.ListEmail); l != nil {
			cr = criteria.EmailList(l.emails)
		}
	case r.Everyone != nil:
		cr = criteria.Everyone()
	case r.IP != nil:
		field = sel + ".ip"
		cr, err = criteria.IP(r.IP.IP)
	case r.IPList != nil:
		field = sel + ".id"
		if l := c.list(o, field, r.IPList.ID, store.ListIP); l != nil {
			cr = criteria.IPList(l.ips)
		}
	case r.Geo != nil:
		field = sel + ".country_code"
		cr, err = criteria.Geo(r.Geo.CountryCode)
	case r.Group != nil:
		info.field = sel + ".id"
		cr, info.identity, info.token = c.groupRef(o, sel+".id", r.Group.ID)
		return cr, info
	case r.LoginMethod != nil:
		field = sel + ".id"
		if c.idp(o, field, r.LoginMethod.ID, true) {
			cr, err = criteria.LoginMethod(r.LoginMethod.ID)
		}
	case r.AuthMethod != nil:
		field = sel + ".auth_method"
		cr, err = criteria.AuthMethod(r.AuthMethod.AuthMethod)
	case r.ServiceToken != nil:
		field = sel + ".token_id"
		switch id := r.ServiceToken.TokenID; {
		case id == "":
			c.errorf(o, field, "token_id is required")
		case !c.tokens[id]:
			c.errorf(o, field, "unknown service token %q", id)
		default:
			cr, err = criteria.ServiceToken(id)
		}
	case r.AnyValidServiceToken != nil:
		cr = criteria.AnyValidServiceToken()
	case r.SAML != nil:
		s := r.SAML
		if c.attribute(o, sel, "attribute", s.AttributeName, s.AttributeValue, s.IdentityProviderID) {
			cr, err = criteria.SAML(s.AttributeName, s.AttributeValue, s.IdentityProviderID)
		}
	case r.OIDC != nil:
		s := r.OIDC
		if c.attribute(o, sel, "claim", s.ClaimName, s.ClaimValue, s.IdentityProviderID) {
			cr, err = criteria.OIDC(s.ClaimName, s.ClaimValue, s.IdentityProviderID)
		}
	case r.GitHubOrganization != nil || r.GitHubOrgAlias != nil:
		// github-organization (API) and github_organization (Terraform) are one selector.
		s := r.GitHubOrganization
		if s == nil {
			s = r.GitHubOrgAlias
		}
		cr, err = criteria.GitHubOrganization(s.Name, s.Team, s.IdentityProviderID)
		field = sel + ".name"
		if errors.Is(err, criteria.ErrGitHubTeam) {
			field = sel + ".team"
		}
		if !c.idp(o, sel+".identity_provider_id", s.IdentityProviderID, false) {
			cr = criteria.Criterion{}
		}
	case r.Okta != nil || r.AzureAD != nil || r.AzureADAlias != nil || r.GSuite != nil:
		var by, value, idp, valueField string
		switch {
		case r.Okta != nil:
			by, value, idp, valueField = criteria.GroupByName, r.Okta.Name, r.Okta.IdentityProviderID, "name"
		case r.GSuite != nil:
			by, value, idp, valueField = criteria.GroupByEmail, r.GSuite.Email, r.GSuite.IdentityProviderID, "email"
		default:
			a := r.AzureAD
			if a == nil {
				a = r.AzureADAlias
			}
			by, value, idp, valueField = criteria.GroupByID, a.ID, a.IdentityProviderID, "id"
		}
		cr, err = criteria.IdPGroup(by, value, idp)
		field = sel + "." + valueField
		if !c.idp(o, sel+".identity_provider_id", idp, false) {
			cr = criteria.Criterion{}
		}
	default:
		// selectorNames knows a selector that this switch does not compile. Without this
		// case the rule would compile to the zero Criterion, which never matches, and the
		// configuration would load with a silently dead rule; see completeness_test.go.
		c.errorf(o, sel, "selector %s is not supported", names[0])
		return criteria.Criterion{}, ruleInfo{}
	}
	if err != nil {
		c.errorf(o, field, "%v", err)
		return criteria.Criterion{}, ruleInfo{}
	}
	k := cr.Kind()
	if k.Identity() {
		info.identity = usage{k, sel}
	}
	if k.ServiceToken() {
		info.token = usage{k, sel}
	}
	return cr, info
}

func (c *compiler) list(o owner, field, id, typ string) *list {
	if id == "" {
		c.errorf(o, field, "list id is required")
		return nil
	}
	l := c.lists[id]
	switch {
	case l == nil:
		c.errorf(o, field, "unknown list %q", id)
		return nil
	case l.typ != typ:
		c.errorf(o, field, "list %q has type %q; this selector needs a list of type %s", id, l.typ, typ)
		return nil
	}
	return l
}

func (c *compiler) idp(o owner, field, id string, required bool) bool {
	switch {
	case id == "" && required:
		c.errorf(o, field, "identity provider id is required")
		return false
	case id != "" && !c.idps[id]:
		c.errorf(o, field, "unknown identity provider %q", id)
		return false
	}
	return true
}

// attribute validates the fields of a saml (what "attribute") or oidc (what "claim") rule.
func (c *compiler) attribute(o owner, sel, what, name, value, idp string) bool {
	ok := true
	if name == "" {
		c.errorf(o, sel+"."+what+"_name", "%s_name is required", what)
		ok = false
	}
	if value == "" {
		c.errorf(o, sel+"."+what+"_value", "%s_value is required", what)
		ok = false
	}
	return c.idp(o, sel+".identity_provider_id", idp, false) && ok
}

// groupRef compiles a reference to a rule group, compiling the group first if needed.
func (c *compiler) groupRef(o owner, field, id string) (criteria.Criterion, usage, usage) {
	if id == "" {
		c.errorf(o, field, "group id is required")
		return criteria.Criterion{}, usage{}, usage{}
	}
	g := c.groups[id]
	if g == nil {
		c.errorf(o, field, "unknown group %q", id)
		return criteria.Criterion{}, usage{}, usage{}
	}
	switch g.state {
	case groupNew:
		c.compileGroup(g)
	case groupVisiting:
		at := slices.Index(c.visiting, id)
		chain := append(slices.Clone(c.visiting[at:]), id)
		c.errorf(o, field, "group reference cycle: %s", strings.Join(chain, " -> "))
		return criteria.Criterion{}, usage{}, usage{}
	}
	nest := func(u usage) usage {
		if !u.found() {
			return u
		}
		return usage{u.kind, fmt.Sprintf("%s -> group %q %s", field, id, u.path)}
	}
	return criteria.Group(&g.rs), nest(g.identity), nest(g.token)
}

var decisions = map[string]Action{
	store.DecisionAllow:       ActionAllow,
	store.DecisionDeny:        ActionDeny,
	store.DecisionBypass:      ActionBypass,
	store.DecisionNonIdentity: ActionServiceAuth,
}

func (c *compiler) compilePolicies(policies []store.Policy) {
	for i := range policies {
		p := &policies[i]
		o := owner{ObjectPolicy, p.ID}
		first := c.checkID(o, func(id string) bool { return c.policies[id] != nil })
		action, okDecision := decisions[p.Decision]
		if !okDecision {
			c.errorf(o, "decision", "unknown decision %q (want allow, deny, bypass or non_identity)", p.Decision)
		}
		if len(p.Include) == 0 {
			c.errorf(o, "include", "a policy needs at least one include rule")
		}
		cp := &compiledPolicy{id: p.ID, action: action, session: p.SessionDuration.Std()}
		machine := action == ActionBypass || action == ActionServiceAuth
		for _, st := range []struct {
			name  string
			rules []store.Rule
			dst   *[]criteria.Criterion
		}{
			{"include", p.Include, &cp.rules.Include},
			{"require", p.Require, &cp.rules.Require},
			{"exclude", p.Exclude, &cp.rules.Exclude},
		} {
			crits, infos := c.ruleList(o, st.name, st.rules)
			*st.dst = crits
			if !okDecision {
				continue
			}
			for _, in := range infos {
				switch {
				case machine && in.identity.found():
					c.errorf(o, in.field, "%s is not allowed in a %s policy: bypass and service auth policies are evaluated without a login",
						describe("identity selector", in.field, in.identity), p.Decision)
				case !machine && in.token.found():
					c.errorf(o, in.field, "%s only satisfies service auth (non_identity) policies, not %s",
						describe("selector", in.field, in.token), p.Decision)
				}
			}
		}
		var seen [criteria.NumKinds]bool
		for _, cr := range cp.rules.Include {
			if k := cr.Kind(); !seen[k] {
				seen[k] = true
				cp.includeFailed = append(cp.includeFailed, reasonIncludeFailed[k])
			}
		}
		if first {
			c.policies[p.ID] = cp
		}
	}
}

// describe names the selector a usage points at, for a message about the rule at field: the
// selector itself, or the way to it through groups.
func describe(what, field string, u usage) string {
	if u.path == field {
		return what + " " + u.kind.String()
	}
	return fmt.Sprintf("%s %s (via %s)", what, u.kind, strings.TrimPrefix(u.path, field+" -> "))
}

func (c *compiler) compileApps(apps []store.Application) map[string]*App {
	out := make(map[string]*App, len(apps))
	for i := range apps {
		a := &apps[i]
		o := owner{ObjectApplication, a.ID}
		first := c.checkID(o, func(id string) bool { return out[id] != nil })
		app := c.linkPolicies(o, "policies", a.ID, a.Policies)
		if pp := a.PromptProtection; pp != nil && pp.LogPrompts != nil {
			app.capture = c.capture(o, "prompt_protection.log_prompts", pp.LogPrompts)
		}
		if first {
			out[a.ID] = app
		}
	}
	return out
}

// linkPolicies compiles an ordered policy list (an application's policies, or an MCP
// portal's, portal server's or tool's) into an App with id, reporting problems at field.
func (c *compiler) linkPolicies(o owner, field, id string, policies []store.PolicyLink) *App {
	type link struct {
		precedence int
		p          *compiledPolicy
	}
	links := make([]link, 0, len(policies))
	byRef := make(map[string]int, len(policies))
	byPrecedence := make(map[int]int, len(policies))
	for j, l := range policies {
		f := fmt.Sprintf("%s[%d]", field, j)
		if k, dup := byPrecedence[l.Precedence]; dup {
			c.errorf(o, f+".precedence", "precedence %d is already used by %s[%d]", l.Precedence, field, k)
		} else {
			byPrecedence[l.Precedence] = j
		}
		if l.Ref == "" {
			c.errorf(o, f+".ref", "policy reference is required")
			continue
		}
		if k, dup := byRef[l.Ref]; dup {
			c.errorf(o, f+".ref", "policy %q is already linked at %s[%d]", l.Ref, field, k)
			continue
		}
		byRef[l.Ref] = j
		p := c.policies[l.Ref]
		if p == nil {
			c.errorf(o, f+".ref", "unknown policy %q", l.Ref)
			continue
		}
		links = append(links, link{l.Precedence, p})
	}
	slices.SortStableFunc(links, func(x, y link) int { return cmp.Compare(x.precedence, y.precedence) })
	app := &App{id: id}
	for _, l := range links {
		switch l.p.action {
		case ActionBypass, ActionServiceAuth:
			app.machine = append(app.machine, *l.p)
			app.serviceAuth = app.serviceAuth || l.p.action == ActionServiceAuth
		default:
			app.human = append(app.human, *l.p)
		}
	}
	return app
}

// capture compiles the rules that select whose prompts are captured (prompt_protection.
// log_prompts at field). They are evaluated after Access allowed the request, with its
// identity, so any selector may be used; at least one include rule is required.
func (c *compiler) capture(o owner, field string, pc *store.PromptCapture) *criteria.RuleSet {
	if len(pc.Include) == 0 {
		c.errorf(o, field+".include", "needs at least one include rule; use {everyone: {}} to capture everyone's prompts")
	}
	rs := &criteria.RuleSet{}
	rs.Include, _ = c.ruleList(o, field+".include", pc.Include)
	rs.Require, _ = c.ruleList(o, field+".require", pc.Require)
	rs.Exclude, _ = c.ruleList(o, field+".exclude", pc.Exclude)
	return rs
}
