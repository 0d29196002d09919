package console

import (
	"cmp"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/httpx"
	"github.com/gatehouse/gatehouse/internal/store"
	"unicode"
)

// The form editor of applications and policies: the common fields as form controls, producing
// the same objects through the admin service's generic operations (admin.Objects) as the JSON
// editor, with the same validation and ETags. Fields the form does not know (an application's
// CORS settings, a policy's SAML rules...) are kept as they are: the JSON editor changes them.

// choice is a checkbox of a form: a value with its label.
type choice struct {
	Value, Label string
	Checked      bool
}

// choices returns a checkbox per option, checked when in selected.
func choices(options [][2]string, selected []string) []choice {
	out := make([]choice, len(options))
	for i, o := range options {
		out[i] = choice{Value: o[0], Label: o[1], Checked: slices.Contains(selected, o[0])}
	}
	return out
}

// splitList splits a text area's value into its items: one per line or separated by commas,
// trimmed, without empty ones.
func splitList(s string) []string {
	var out []string
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' || r == ',' }) {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// formDuration parses a duration field ("" is none).
func formDuration(s string) (store.Duration, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, true
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, false
	}
	return store.Duration(d), true
}

func durationText(d store.Duration) string {
	if d == 0 {
		return ""
	}
	// time.Duration writes 8h as 8h0m0s and 90m as 1h30m0s: drop the zero tails.
	t := time.Duration(d).String()
	if strings.HasSuffix(t, "m0s") {
		t = strings.TrimSuffix(t, "0s")
	}
	if strings.HasSuffix(t, "h0m") {
		t = strings.TrimSuffix(t, "0m")
	}
	return t
}

// linkRow is a policy of the application form: its precedence ("" when not linked).
type linkRow struct {
	ID, Name, Precedence string
	// Role is the link's console role (admin_console applications; kept as it is).
	Role string
}

// appForm is the application form's values.
type appForm struct {
	ID, Name, Type, Destinations, Upstream, SessionDuration string
	IdPs                                                    []choice
	Links                                                   []linkRow
	// OtherDestinations counts the destinations that are not public hostnames (kept).
	OtherDestinations int
}

// ruleSet is one section (include, exclude or require) of the policy form: the common
// selectors, and how many other rules the section has (kept; the JSON editor shows them).
type ruleSet struct {
	Key, Title, Help                string
	Emails, Domains, IPs, Countries string
	Groups, IdPs                    []choice
	Everyone                        bool
	Others                          int
}

// policyForm is the policy form's values.
type policyForm struct {
	ID, Name, Decision, SessionDuration string
	Sections                            []ruleSet
}

// policyDecisions are the decisions a policy may have, in the form's order.
var policyDecisions = []string{store.DecisionAllow, store.DecisionDeny, store.DecisionBypass, store.DecisionNonIdentity}

// ruleSections are a policy's rule sections.
var ruleSections = []struct{ key, title, help string }{
	{"include", "Include", "A user any of these match is in scope of the policy."},
	{"exclude", "Exclude", "A user any of these match is not."},
	{"require", "Require", "A user must match every one of these too."},
}

// editKinds are the kinds the form editor edits.
var editKinds = map[string]string{"applications": "Application", "policies": "Policy"}

// formOptions are the identity providers, rule groups and policies the forms offer.
type formOptions struct {
	idps, groups, policies [][2]string
}

func (c *Console) formOptions(q *req) (formOptions, error) {
	cfg, err := c.Store.GetConfig(q.r.Context())
	if err != nil {
		return formOptions{}, adminError("The configuration", err)
	}
	var o formOptions
	label := func(name, id string) string {
		if name == "" || name == id {
			return id
		}
		return name + " (" + id + ")"
	}
	for _, p := range cfg.IdentityProviders {
		o.idps = append(o.idps, [2]string{p.ID, label(p.Name, p.ID)})
	}
	for _, g := range cfg.Groups {
		o.groups = append(o.groups, [2]string{g.ID, label(g.Name, g.ID)})
	}
	for _, p := range cfg.Policies {
		o.policies = append(o.policies, [2]string{p.ID, label(p.Name, p.ID)})
	}
	return o, nil
}

// appFormOf fills the application form from an application.
func appFormOf(a *store.Application, o formOptions) appForm {
	f := appForm{ID: a.ID, Name: a.Name, Type: a.Type, Upstream: a.Upstream, SessionDuration: durationText(a.SessionDuration),
		IdPs: choices(o.idps, a.AllowedIdPs)}
	var lines []string
	for _, d := range a.Destinations {
		if d.Type == "" || d.Type == "public" {
			lines = append(lines, d.URI)
		} else {
			f.OtherDestinations++
		}
	}
	f.Destinations = strings.Join(lines, "\n")
	for _, p := range o.policies {
		row := linkRow{ID: p[0], Name: p[1]}
		for _, l := range a.Policies {
			if l.Ref == p[0] {
				row.Precedence, row.Role = strconv.Itoa(l.Precedence), l.Role
			}
		}
		f.Links = append(f.Links, row)
	}
	return f
}

// common reports the form field key of a rule the policy form edits ("" for other rules).
func common(r *store.Rule) string {
	switch {
	case r.Email != nil:
		return "emails"
	case r.EmailDomain != nil:
		return "domains"
	case r.Group != nil:
		return "groups"
	case r.LoginMethod != nil:
		return "idps"
	case r.IP != nil:
		return "ips"
	case r.Geo != nil:
		return "countries"
	case r.Everyone != nil:
		return "everyone"
	}
	return ""
}

func policySection(p *store.Policy, key string) *[]store.Rule {
	switch key {
	case "include":
		return &p.Include
	case "exclude":
		return &p.Exclude
	}
	return &p.Require
}

// policyFormOf fills the policy form from a policy.
func policyFormOf(p *store.Policy, o formOptions) policyForm {
	f := policyForm{ID: p.ID, Name: p.Name, Decision: p.Decision, SessionDuration: durationText(p.SessionDuration)}
	for _, sec := range ruleSections {
		rs := ruleSet{Key: sec.key, Title: sec.title, Help: sec.help}
		var emails, domains, ips, countries, groups, idps []string
		for _, r := range *policySection(p, sec.key) {
			switch common(&r) {
			case "emails":
				emails = append(emails, r.Email.Email)
			case "domains":
				domains = append(domains, r.EmailDomain.Domain)
			case "groups":
				groups = append(groups, r.Group.ID)
			case "idps":
				idps = append(idps, r.LoginMethod.ID)
			case "ips":
				ips = append(ips, r.IP.IP)
			case "countries":
				countries = append(countries, r.Geo.CountryCode)
			case "everyone":
				rs.Everyone = true
			default:
				rs.Others++
			}
		}
		rs.Emails, rs.Domains, rs.IPs, rs.Countries = strings.Join(emails, "\n"), strings.Join(domains, "\n"), strings.Join(ips, "\n"), strings.Join(countries, "\n")
		rs.Groups, rs.IdPs = choicesKeeping(o.groups, groups), choicesKeeping(o.idps, idps)
		f.Sections = append(f.Sections, rs)
	}
	return f
}

// choicesKeeping is choices, with a checked box also for a selected value that is not an
// option (an identity provider deleted since: the validation names it).
func choicesKeeping(options [][2]string, selected []string) []choice {
	out := choices(options, selected)
	for _, s := range selected {
		if s != "" && !slices.ContainsFunc(options, func(o [2]string) bool { return o[0] == s }) {
			out = append(out, choice{Value: s, Label: s, Checked: true})
		}
	}
	return out
}

// editPage shows the form of an application or a policy (?kind=&id=; no id: a new one). An
// object of the configuration file is shown read-only, naming the file.
func (c *Console) editPage(q *req) error {
	v := q.r.URL.Query()
	kind := v.Get("kind")
	if _, ok := editKinds[kind]; !ok {
		// A login comes back without the query string.
		http.Redirect(q.w, q.r, q.snap.Profile.Path(Path)+"objects", http.StatusSeeOther)
		return nil
	}
	return c.renderEdit(q, kind, v.Get("id"), nil, "", formProblems{}, http.StatusOK)
}

// renderEdit renders the form of kind; posted (when set) is the form posted and refused, with
// its ETag and problems, else the stored object's (or a new one's).
func (c *Console) renderEdit(q *req, kind, id string, posted any, etag string, problems formProblems, status int) error {
	o, err := c.formOptions(q)
	if err != nil {
		return err
	}
	managedBy := store.ManagedByAPI
	form := posted
	if id != "" && posted == nil {
		var mb string
		switch kind {
		case "applications":
			a, tag, gerr := c.Admin.Applications().Get(q.r.Context(), id)
			if err = gerr; err == nil {
				form, etag, mb = appFormOf(a, o), tag, a.ManagedBy
			}
		case "policies":
			p, tag, gerr := c.Admin.Policies().Get(q.r.Context(), id)
			if err = gerr; err == nil {
				form, etag, mb = policyFormOf(p, o), tag, p.ManagedBy
			}
		}
		if err != nil {
			return adminError("The object", err)
		}
		if mb != store.ManagedByAPI {
			managedBy = store.ManagedByFile
		}
	}
	if form == nil {
		switch kind {
		case "applications":
			form = appFormOf(&store.Application{Type: store.AppSelfHosted}, o)
		default:
			form = policyFormOf(&store.Policy{Decision: store.DecisionAllow}, o)
		}
	}
	q.path = "objects/edit"
	title := "New " + strings.ToLower(editKinds[kind])
	if id != "" {
		title = editKinds[kind] + ": " + id
	}
	file := c.Admin.ConfigFile
	if file == "" {
		file = "the configuration file"
	}
	return c.renderStatus(q, status, "edit.html", title, map[string]any{"Kind": kind, "KindTitle": editKinds[kind], "ID": id, "New": id == "",
		"ETag": etag, "ReadOnly": managedBy != store.ManagedByAPI, "File": file, "Form": form, "Problems": problems,
		"Decisions": policyDecisions, "BackQuery": url.Values{"kind": {kind}, "id": {id}}.Encode()})
}

// saveEdit creates or changes an application or a policy from its form (form fields kind, id,
// new, etag and the object's fields). A change starts from the stored object, so that what the
// form does not show is kept.
func (c *Console) saveEdit(q *req) error {
	pf := q.r.PostForm
	kind, id, isNew := pf.Get("kind"), strings.TrimSpace(pf.Get("id")), pf.Get("new") == "1"
	if _, ok := editKinds[kind]; !ok {
		return httpx.Errorf(http.StatusNotFound, "not-found", "There is no such kind of configuration object.", nil)
	}
	if !isNew && id == "" {
		return httpx.Errorf(http.StatusBadRequest, "bad-form", "No object was given.", nil)
	}
	o, err := c.formOptions(q)
	if err != nil {
		return err
	}
	etag := pf.Get("etag")
	ctx, actor := q.r.Context(), q.actor()
	var posted any
	var problems formProblems
	var savedID string
	switch kind {
	case "applications":
		var a store.Application
		if !isNew {
			cur, _, gerr := c.Admin.Applications().Get(ctx, id)
			if gerr != nil {
				return adminError("The object", gerr)
			}
			a = *cur
		} else {
			a = store.Application{ID: id, Type: store.AppSelfHosted}
		}
		f, fieldOf, local := readAppForm(pf, &a, o)
		posted, problems = f, local
		if !local.Any() {
			var got *store.Application
			if isNew {
				got, _, err = c.Admin.Applications().Create(ctx, actor, a)
			} else {
				got, _, err = c.Admin.Applications().Replace(ctx, actor, id, a, etag)
			}
			if err == nil {
				savedID = got.ID
			}
			problems, _ = problemsBy(err, fieldOf)
		}
	case "policies":
		var p store.Policy
		if !isNew {
			cur, _, gerr := c.Admin.Policies().Get(ctx, id)
			if gerr != nil {
				return adminError("The object", gerr)
			}
			p = *cur
		} else {
			p = store.Policy{ID: id}
		}
		f, fieldOf, local := readPolicyForm(pf, &p, o)
		posted, problems = f, local
		if !local.Any() {
			var got *store.Policy
			if isNew {
				got, _, err = c.Admin.Policies().Create(ctx, actor, p)
			} else {
				got, _, err = c.Admin.Policies().Replace(ctx, actor, id, p, etag)
			}
			if err == nil {
				savedID = got.ID
			}
			problems, _ = problemsBy(err, fieldOf)
		}
	}
	if problems.Any() {
		shownID := id
		if isNew {
			shownID = ""
		}
		return c.renderEdit(q, kind, shownID, posted, etag, problems, http.StatusBadRequest)
	}
	if err != nil {
		return adminError("Saving the object", err)
	}
	notice := "object-saved"
	if isNew {
		notice = "object-created"
	}
	q.r.PostForm.Set("back_query", url.Values{"kind": {kind}, "id": {savedID}}.Encode())
	q.r.URL.RawQuery = "back=" + url.QueryEscape(q.snap.Profile.Path(Path)+"objects/edit")
	return c.done(q, notice)
}

// readAppForm reads the posted application form into a (whose other fields are kept). It
// returns the form as posted, the field of a validation problem's path, and the problems found
// before any validation (a duration or a precedence that is not one).
func readAppForm(pf url.Values, a *store.Application, o formOptions) (appForm, func(string) string, formProblems) {
	var local formProblems
	f := appForm{ID: strings.TrimSpace(pf.Get("id")), Name: strings.TrimSpace(pf.Get("name")), Type: a.Type,
		Destinations: pf.Get("destinations"), Upstream: strings.TrimSpace(pf.Get("upstream")), SessionDuration: strings.TrimSpace(pf.Get("session_duration")),
		IdPs: choicesKeeping(o.idps, pf["allowed_idps"])}
	a.Name, a.Upstream = f.Name, f.Upstream
	var dests []store.Destination
	for _, line := range splitList(f.Destinations) {
		dests = append(dests, store.Destination{Type: "public", URI: line})
	}
	for _, d := range a.Destinations {
		if d.Type != "" && d.Type != "public" {
			dests = append(dests, d)
			f.OtherDestinations++
		}
	}
	a.Destinations = dests
	if d, ok := formDuration(f.SessionDuration); ok {
		a.SessionDuration = d
	} else {
		local.add("session_duration", "session_duration: must be a duration such as 24h or 30m (empty: the organization's)")
	}
	a.AllowedIdPs = nil
	for _, c := range f.IdPs {
		if c.Checked {
			a.AllowedIdPs = append(a.AllowedIdPs, c.Value)
		}
	}
	roles := map[string]string{}
	for _, l := range a.Policies {
		roles[l.Ref] = l.Role
	}
	a.Policies = nil
	for _, p := range o.policies {
		row := linkRow{ID: p[0], Name: p[1], Precedence: strings.TrimSpace(pf.Get("precedence." + p[0])), Role: roles[p[0]]}
		f.Links = append(f.Links, row)
		if row.Precedence == "" {
			continue
		}
		n, err := strconv.Atoi(row.Precedence)
		if err != nil || n < 1 {
			local.add("policies", fmt.Sprintf("policies: the precedence of %s must be a whole number from 1 (empty: not linked)", p[0]))
			continue
		}
		a.Policies = append(a.Policies, store.PolicyLink{Ref: p[0], Precedence: n, Role: row.Role})
	}
	slices.SortStableFunc(a.Policies, func(x, y store.PolicyLink) int { return cmp.Compare(x.Precedence, y.Precedence) })
	fields := []string{"id", "name", "destinations", "upstream", "session_duration", "allowed_idps", "policies"}
	return f, func(path string) string {
		if f := problemField(path); slices.Contains(fields, f) {
			return f
		}
		return ""
	}, local
}

// readPolicyForm reads the posted policy form into p, keeping the rules the form does not edit.
// A validation problem of a rule goes beside the field the rule came from.
func readPolicyForm(pf url.Values, p *store.Policy, o formOptions) (policyForm, func(string) string, formProblems) {
	var local formProblems
	f := policyForm{ID: strings.TrimSpace(pf.Get("id")), Name: strings.TrimSpace(pf.Get("name")), Decision: pf.Get("decision"),
		SessionDuration: strings.TrimSpace(pf.Get("session_duration"))}
	p.Name, p.Decision = f.Name, f.Decision
	if d, ok := formDuration(f.SessionDuration); ok {
		p.SessionDuration = d
	} else {
		local.add("session_duration", "session_duration: must be a duration such as 24h or 30m (empty: the application's)")
	}
	// ruleField maps "include[3]" to the form field its rule came from.
	ruleField := map[string]string{}
	for _, sec := range ruleSections {
		k := sec.key
		rs := ruleSet{Key: k, Title: sec.title, Help: sec.help, Emails: pf.Get(k + ".emails"), Domains: pf.Get(k + ".domains"),
			IPs: pf.Get(k + ".ips"), Countries: pf.Get(k + ".countries"), Everyone: pf.Get(k+".everyone") == "1",
			Groups: choicesKeeping(o.groups, pf[k+".groups"]), IdPs: choicesKeeping(o.idps, pf[k+".idps"])}
		var rules []store.Rule
		add := func(field string, r store.Rule) {
			ruleField[fmt.Sprintf("%s[%d]", k, len(rules))] = k + "." + field
			rules = append(rules, r)
		}
		if rs.Everyone {
			add("everyone", store.Rule{Everyone: &store.Empty{}})
		}
		for _, v := range splitList(rs.Emails) {
			add("emails", store.Rule{Email: &store.EmailRule{Email: v}})
		}
		for _, v := range splitList(rs.Domains) {
			add("domains", store.Rule{EmailDomain: &store.EmailDomainRule{Domain: v}})
		}
		for _, c := range rs.Groups {
			if c.Checked {
				add("groups", store.Rule{Group: &store.GroupRef{ID: c.Value}})
			}
		}
		for _, c := range rs.IdPs {
			if c.Checked {
				add("idps", store.Rule{LoginMethod: &store.LoginMethodRule{ID: c.Value}})
			}
		}
		for _, v := range splitList(rs.IPs) {
			add("ips", store.Rule{IP: &store.IPRule{IP: v}})
		}
		for _, v := range strings.FieldsFunc(rs.Countries, func(r rune) bool { return r == ',' || unicode.IsSpace(r) }) {
			add("countries", store.Rule{Geo: &store.GeoRule{CountryCode: strings.ToUpper(v)}})
		}
		for _, r := range *policySection(p, k) {
			if common(&r) == "" {
				rules = append(rules, r)
				rs.Others++
			}
		}
		if k == "include" && rules == nil {
			rules = []store.Rule{}
		}
		*policySection(p, k) = rules
		f.Sections = append(f.Sections, rs)
	}
	return f, func(path string) string {
		if i := strings.IndexByte(path, ']'); i >= 0 {
			if field, ok := ruleField[path[:i+1]]; ok {
				return field
			}
		}
		switch f := problemField(path); f {
		case "id", "name", "decision", "session_duration":
			return f
		case "include", "exclude", "require":
			return f + ".section"
		}
		return ""
	}, local
}
