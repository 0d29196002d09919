package applib

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"gopkg.in/yaml.v3"
)

//go:embed data/*.yaml
var dataFS embed.FS

// TypeAI and TypeDoNotInspect are Cloudflare's application-type ids for "Artificial
// Intelligence" and "Do Not Inspect"; the other type ids are Gatehouse's (see AppType.Cloudflare).
const (
	TypeAI           = 25
	TypeDoNotInspect = 16
)

// Gatehouse-assigned id ranges (documented in the package comment and docs/app-library.md).
const (
	minOwnAppID  = 90001
	maxOwnAppID  = 99999
	minOwnTypeID = 9001
	maxOwnTypeID = 9099
)

// AppType is an application type such as "Artificial Intelligence" (Cloudflare's value list).
type AppType struct {
	ID   int    `yaml:"id" json:"id,omitempty"`
	Name string `yaml:"name" json:"name,omitempty"`
	// Cloudflare is true when ID is Cloudflare's own id for this type (only 25 and 16 are known).
	Cloudflare bool `yaml:"cloudflare" json:"cloudflare,omitempty"`
}

// AI categories: a finer grouping of Artificial Intelligence applications.
var aiCategories = []string{"chat", "code", "image", "video", "audio", "search", "agents", "api", "dev", "mcp", "productivity"}

// Control names and their ordinals. A control's id, unless the data gives Cloudflare's, is
// app id × 100 + ordinal, so it is stable whatever order the data lists controls in.
var controlOrdinals = map[string]int{
	"prompt":    1, // a message to a model (chat turn, API completion)
	"upload":    2, // a file sent to the application
	"download":  3, // a file fetched from the application
	"login":     4, // signing in
	"anonymous": 5, // use without an account (e.g. ChatGPT's logged-out endpoints)
	"share":     6, // publishing or sharing a conversation or document
	"mcp":       7, // Model Context Protocol traffic (tool calls)
}

// ControlOrdinal returns the ordinal of a control name, 0 for an unknown name.
func ControlOrdinal(name string) int { return controlOrdinals[name] }

// ControlNames lists the control vocabulary in ordinal order.
func ControlNames() []string {
	names := make([]string, 0, len(controlOrdinals))
	for n := range controlOrdinals {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool { return controlOrdinals[names[i]] < controlOrdinals[names[j]] })
	return names
}

// App is one application of the catalogue. Values reached through a Catalog are shared and must
// not be modified.
type App struct {
	ID int `yaml:"id" json:"id,omitempty"`
	// CloudflareID marks an id that is Cloudflare's own (the reference gives ChatGPT's, 1199).
	CloudflareID bool   `yaml:"cloudflare_id" json:"cloudflare_id,omitempty"`
	Name         string `yaml:"name" json:"name,omitempty"`
	TypeID       int    `yaml:"app_type" json:"app_type,omitempty"`
	Vendor       string `yaml:"vendor" json:"vendor,omitempty"`
	// AICategory groups AI applications: chat, code, image, video, audio, search, agents, api,
	// dev, mcp, productivity. Empty for other types.
	AICategory string `yaml:"ai_category" json:"ai_category,omitempty"`
	// Hostnames are the core hostnames: they and their subdomains are the application.
	Hostnames []string `yaml:"hostnames" json:"hostnames,omitempty"`
	// SupportHostnames are shared dependencies (sign-in, CDNs, upload buckets): they identify the
	// application for logging and allow rules, but a policy must never block them for it.
	SupportHostnames []string `yaml:"support_hostnames" json:"support_hostnames,omitempty"`
	// SharedHostnames are core hostnames this application knowingly shares with another
	// application (both must list them); lookups return every application sharing them.
	SharedHostnames []string  `yaml:"shared_hostnames" json:"shared_hostnames,omitempty"`
	Controls        []Control `yaml:"controls" json:"controls,omitempty"`
	// ControlsNote explains why an AI application has no granular controls.
	ControlsNote string `yaml:"controls_note" json:"controls_note,omitempty"`
	// TenantControls names the tenant-control presets that apply to this application.
	TenantControls []string   `yaml:"tenant_controls" json:"tenant_controls,omitempty"`
	Evidence       []Evidence `yaml:"evidence" json:"evidence,omitempty"`

	Type *AppType `yaml:"-" json:"-"`
}

// IsAI reports whether the application's type is Artificial Intelligence.
func (a *App) IsAI() bool { return a.TypeID == TypeAI }

// Control is a named intent (prompt, upload, …) recognised by request matchers.
type Control struct {
	// ID is Cloudflare's control id where known (ChatGPT upload = 1653), else app id × 100 +
	// ordinal; filled in by the loader when the data leaves it out.
	ID       int       `yaml:"id" json:"id,omitempty"`
	Name     string    `yaml:"name" json:"name,omitempty"`
	Matchers []Matcher `yaml:"match" json:"match,omitempty"`
	Note     string    `yaml:"note" json:"note,omitempty"`
}

// Matcher recognises requests: Method (empty = any), Host (empty = any host of the application;
// otherwise that host and its subdomains, which must belong to the application's core or support
// hostnames) and one of Paths. A path pattern is matched segment by segment against the request
// path (without query, case-sensitive): `*` matches any run of characters inside one segment and
// a final `**` segment matches the rest of the path (zero or more segments).
type Matcher struct {
	Method string   `yaml:"method" json:"method,omitempty"`
	Host   string   `yaml:"host" json:"host,omitempty"`
	Paths  []string `yaml:"paths" json:"paths,omitempty"`
}

// Catalog is a validated, indexed catalogue. It is immutable and safe for concurrent use.
type Catalog struct {
	apps      []*App
	byID      map[int]*App
	byName    map[string]*App // lower-case name
	types     []*AppType
	typeByID  map[int]*AppType
	index     map[string][]Match
	controls  map[int]controlRef
	maxLabels int // labels of the longest catalogue hostname
	criteria  []Criterion
	critByKey map[string]*Criterion
	presets   []*TenantPreset
	presetKey map[string]*TenantPreset
}

// source is one data file; every section is optional and files are merged.
type source struct {
	Types          []AppType      `yaml:"app_types" json:"app_types,omitempty"`
	Apps           []App          `yaml:"apps" json:"apps,omitempty"`
	Criteria       []Criterion    `yaml:"score_criteria" json:"score_criteria,omitempty"`
	TenantControls []TenantPreset `yaml:"tenant_controls" json:"tenant_controls,omitempty"`
}

var defaultCatalog = sync.OnceValues(func() (*Catalog, error) {
	return loadFS(dataFS, "data")
})

// Default returns the embedded catalogue, loaded and validated once. An error means the shipped
// data is broken (the tests in this package make that impossible to release).
func Default() (*Catalog, error) { return defaultCatalog() }

// MustDefault is Default for callers that start up on the catalogue; it panics on broken data.
func MustDefault() *Catalog {
	c, err := Default()
	if err != nil {
		panic(err)
	}
	return c
}

func loadFS(fsys fs.FS, dir string) (*Catalog, error) {
	names, err := fs.Glob(fsys, dir+"/*.yaml")
	if err != nil {
		return nil, fmt.Errorf("applib: listing data: %w", err)
	}
	sort.Strings(names)
	files := make(map[string][]byte, len(names))
	for _, n := range names {
		b, err := fs.ReadFile(fsys, n)
		if err != nil {
			return nil, fmt.Errorf("applib: reading %s: %w", n, err)
		}
		files[n] = b
	}
	return Parse(files)
}

// Parse builds a catalogue from data files (name → YAML content), merged in name order, and
// validates it. Unknown fields are errors.
func Parse(files map[string][]byte) (*Catalog, error) {
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	var all source
	for _, n := range names {
		var s source
		dec := yaml.NewDecoder(bytes.NewReader(files[n]))
		dec.KnownFields(true)
		if err := dec.Decode(&s); err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("applib: %s: %w", n, err)
		}
		all.Types = append(all.Types, s.Types...)
		all.Apps = append(all.Apps, s.Apps...)
		all.Criteria = append(all.Criteria, s.Criteria...)
		all.TenantControls = append(all.TenantControls, s.TenantControls...)
	}
	return build(&all)
}

func build(s *source) (*Catalog, error) {
	c := &Catalog{
		byID:      map[int]*App{},
		byName:    map[string]*App{},
		typeByID:  map[int]*AppType{},
		critByKey: map[string]*Criterion{},
		presetKey: map[string]*TenantPreset{},
	}
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	typeNames := map[string]bool{}
	for i := range s.Types {
		t := &s.Types[i]
		switch {
		case t.Name == "":
			bad("app type %d: no name", t.ID)
		case c.typeByID[t.ID] != nil:
			bad("app type %d (%s): duplicate id", t.ID, t.Name)
		case typeNames[strings.ToLower(t.Name)]:
			bad("app type %q: duplicate name", t.Name)
		case t.Cloudflare && t.ID != TypeAI && t.ID != TypeDoNotInspect:
			bad("app type %d (%s): marked as Cloudflare's but only ids %d and %d are known to be", t.ID, t.Name, TypeAI, TypeDoNotInspect)
		case !t.Cloudflare && (t.ID < minOwnTypeID || t.ID > maxOwnTypeID):
			bad("app type %d (%s): Gatehouse-assigned type ids are %d–%d", t.ID, t.Name, minOwnTypeID, maxOwnTypeID)
		}
		typeNames[strings.ToLower(t.Name)] = true
		c.typeByID[t.ID] = t
		c.types = append(c.types, t)
	}
	if c.typeByID[TypeAI] == nil {
		bad("app type %d (Artificial Intelligence) is missing", TypeAI)
	}

	for i := range s.Criteria {
		cr := &s.Criteria[i]
		if err := cr.validate(); err != nil {
			errs = append(errs, err)
			continue
		}
		if c.critByKey[cr.Key] != nil {
			bad("score criterion %q: duplicate", cr.Key)
			continue
		}
		c.critByKey[cr.Key] = cr
		c.criteria = append(c.criteria, *cr)
	}
	for _, sc := range []Score{PostureScore, AIScore} {
		var sum float64
		for _, cr := range c.criteria {
			if cr.Score == sc {
				sum += cr.Points
			}
		}
		if len(c.criteria) > 0 && (sum < 4.999 || sum > 5.001) {
			bad("score %q: criteria points add up to %.2f, not 5", sc, sum)
		}
	}

	for i := range s.TenantControls {
		p := &s.TenantControls[i]
		if err := p.validate(); err != nil {
			errs = append(errs, err)
			continue
		}
		if c.presetKey[p.Key] != nil {
			bad("tenant control %q: duplicate", p.Key)
			continue
		}
		c.presetKey[p.Key] = p
		c.presets = append(c.presets, p)
	}

	controlIDs := map[int]string{}
	coreOwners := map[string][]*App{}
	for i := range s.Apps {
		a := &s.Apps[i]
		where := fmt.Sprintf("app %d (%s)", a.ID, a.Name)
		if a.Name == "" || strings.TrimSpace(a.Name) != a.Name {
			bad("%s: name is empty or has surrounding spaces", where)
		}
		switch {
		case a.ID <= 0:
			bad("%s: id must be positive", where)
		case c.byID[a.ID] != nil:
			bad("%s: id already used by %s", where, c.byID[a.ID].Name)
		case !a.CloudflareID && (a.ID < minOwnAppID || a.ID > maxOwnAppID):
			bad("%s: Gatehouse-assigned app ids are %d–%d (mark Cloudflare's ids with cloudflare_id)", where, minOwnAppID, maxOwnAppID)
		case a.CloudflareID && a.ID >= minOwnAppID:
			bad("%s: a Cloudflare id must lie outside Gatehouse's range", where)
		}
		if other := c.byName[strings.ToLower(a.Name)]; other != nil {
			bad("%s: name already used by app %d", where, other.ID)
		}
		if _, err := parseIDKey(a.Name); err == nil {
			bad("%s: a name must not be a number", where)
		}
		c.byID[a.ID] = a
		c.byName[strings.ToLower(a.Name)] = a
		a.Type = c.typeByID[a.TypeID]
		if a.Type == nil {
			bad("%s: unknown app_type %d", where, a.TypeID)
		}
		if a.Vendor == "" {
			bad("%s: no vendor", where)
		}
		if a.IsAI() {
			if !slices.Contains(aiCategories, a.AICategory) {
				bad("%s: ai_category %q is not one of %s", where, a.AICategory, strings.Join(aiCategories, ", "))
			}
			if len(a.Controls) == 0 && strings.TrimSpace(a.ControlsNote) == "" {
				bad("%s: an AI application needs controls or a controls_note explaining their absence", where)
			}
		} else if a.AICategory != "" {
			bad("%s: ai_category is only for Artificial Intelligence apps", where)
		}
		if len(a.Hostnames) == 0 {
			bad("%s: no hostnames", where)
		}
		seen := map[string]bool{}
		for _, h := range a.Hostnames {
			if err := ValidateHostname(h); err != nil {
				bad("%s: hostname %q: %v", where, h, err)
			}
			if seen[h] {
				bad("%s: hostname %q listed twice", where, h)
			}
			seen[h] = true
			coreOwners[h] = append(coreOwners[h], a)
		}
		for _, h := range a.SupportHostnames {
			if err := ValidateHostname(h); err != nil {
				bad("%s: support hostname %q: %v", where, h, err)
			}
			if seen[h] {
				bad("%s: hostname %q listed twice", where, h)
			}
			seen[h] = true
		}
		for _, h := range a.SharedHostnames {
			if !slices.Contains(a.Hostnames, h) {
				bad("%s: shared hostname %q is not one of its hostnames", where, h)
			}
		}
		names := map[string]bool{}
		for j := range a.Controls {
			ct := &a.Controls[j]
			ord := controlOrdinals[ct.Name]
			if ord == 0 {
				bad("%s: control %q is not one of %s", where, ct.Name, strings.Join(ControlNames(), ", "))
			}
			if names[ct.Name] {
				bad("%s: control %q listed twice", where, ct.Name)
			}
			names[ct.Name] = true
			if ct.ID == 0 {
				ct.ID = a.ID*100 + ord
			} else if !a.CloudflareID {
				bad("%s: control %q: explicit control ids are only for Cloudflare's applications", where, ct.Name)
			}
			if prev, ok := controlIDs[ct.ID]; ok {
				bad("%s: control %q: id %d already used by %s", where, ct.Name, ct.ID, prev)
			}
			controlIDs[ct.ID] = a.Name + "/" + ct.Name
			if len(ct.Matchers) == 0 {
				bad("%s: control %q has no matchers", where, ct.Name)
			}
			for _, m := range ct.Matchers {
				if err := m.validate(a); err != nil {
					bad("%s: control %q: %v", where, ct.Name, err)
				}
			}
		}
		for _, k := range a.TenantControls {
			if c.presetKey[k] == nil {
				bad("%s: unknown tenant control %q", where, k)
			}
		}
		crits := map[string]bool{}
		for _, e := range a.Evidence {
			if err := e.validate(c.critByKey); err != nil {
				bad("%s: evidence: %v", where, err)
				continue
			}
			if crits[e.Criterion] {
				bad("%s: evidence for %q given twice", where, e.Criterion)
			}
			crits[e.Criterion] = true
		}
		c.apps = append(c.apps, a)
	}
	for h, owners := range coreOwners {
		if len(owners) < 2 {
			for _, a := range owners {
				if slices.Contains(a.SharedHostnames, h) {
					bad("app %d (%s): hostname %q is marked shared but no other app has it", a.ID, a.Name, h)
				}
			}
			continue
		}
		for _, a := range owners {
			if !slices.Contains(a.SharedHostnames, h) {
				bad("app %d (%s): hostname %q is also a core hostname of %s; list it in shared_hostnames of every app that has it", a.ID, a.Name, h, otherNames(owners, a))
			}
		}
	}
	for _, p := range c.presets {
		if p.App != "" && c.byName[strings.ToLower(p.App)] == nil {
			bad("tenant control %q: unknown app %q", p.Key, p.App)
		}
	}
	if len(errs) > 0 {
		sortErrors(errs)
		return nil, fmt.Errorf("applib: invalid catalogue: %w", errors.Join(errs...))
	}
	sort.Slice(c.apps, func(i, j int) bool { return c.apps[i].ID < c.apps[j].ID })
	sort.Slice(c.types, func(i, j int) bool { return c.types[i].ID < c.types[j].ID })
	c.buildIndex()
	c.controls = map[int]controlRef{}
	for _, a := range c.apps {
		for i := range a.Controls {
			c.controls[a.Controls[i].ID] = controlRef{a, &a.Controls[i]}
		}
	}
	return c, nil
}

type controlRef struct {
	app     *App
	control *Control
}

// Control returns the control with this id and its application, or nils; rules name controls
// by id (app_control.controls).
func (c *Catalog) Control(id int) (*App, *Control) {
	r := c.controls[id]
	return r.app, r.control
}

func sortErrors(errs []error) {
	sort.SliceStable(errs, func(i, j int) bool { return errs[i].Error() < errs[j].Error() })
}

func otherNames(apps []*App, not *App) string {
	var n []string
	for _, a := range apps {
		if a != not {
			n = append(n, a.Name)
		}
	}
	return strings.Join(n, ", ")
}

var httpMethods = []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}

func (m Matcher) validate(a *App) error {
	if m.Method != "" && !slices.Contains(httpMethods, m.Method) {
		return fmt.Errorf("method %q is not one of %s", m.Method, strings.Join(httpMethods, ", "))
	}
	if m.Host != "" {
		if err := ValidateHostname(m.Host); err != nil {
			return fmt.Errorf("host %q: %w", m.Host, err)
		}
		if !hostCovered(m.Host, a.Hostnames) && !hostCovered(m.Host, a.SupportHostnames) {
			return fmt.Errorf("host %q is not one of the application's hostnames or support hostnames", m.Host)
		}
	}
	if len(m.Paths) == 0 {
		return errors.New("matcher has no paths")
	}
	for _, p := range m.Paths {
		if err := validatePathPattern(p); err != nil {
			return fmt.Errorf("path %q: %w", p, err)
		}
	}
	return nil
}

// hostCovered reports whether host is one of hosts or a subdomain of one.
func hostCovered(host string, hosts []string) bool {
	for _, h := range hosts {
		if hostUnder(host, h) {
			return true
		}
	}
	return false
}

// hostUnder reports whether host equals base or is a subdomain of it.
func hostUnder(host, base string) bool {
	return host == base || (len(host) > len(base) && strings.HasSuffix(host, base) && host[len(host)-len(base)-1] == '.')
}

// ValidateHostname checks a catalogue hostname: a lower-case DNS name of at least two labels,
// letters, digits and hyphens only, no trailing dot, not an IP address.
func ValidateHostname(h string) error {
	if h == "" {
		return errors.New("empty")
	}
	if len(h) > 253 {
		return errors.New("longer than 253 characters")
	}
	labels := strings.Split(h, ".")
	if len(labels) < 2 {
		return errors.New("needs at least two labels")
	}
	for _, l := range labels {
		if l == "" {
			return errors.New("empty label (leading, trailing or double dot)")
		}
		if len(l) > 63 {
			return fmt.Errorf("label %q longer than 63 characters", l)
		}
		if l[0] == '-' || l[len(l)-1] == '-' {
			return fmt.Errorf("label %q starts or ends with a hyphen", l)
		}
		for i := 0; i < len(l); i++ {
			ch := l[i]
			if !(ch >= 'a' && ch <= 'z' || ch >= '0' && ch <= '9' || ch == '-') {
				return fmt.Errorf("character %q is not a lower-case letter, digit or hyphen", ch)
			}
		}
	}
	tld := labels[len(labels)-1]
	if strings.Trim(tld, "0123456789") == "" {
		return errors.New("looks like an IP address")
	}
	return nil
}

func validatePathPattern(p string) error {
	if !strings.HasPrefix(p, "/") {
		return errors.New("must start with /")
	}
	if strings.ContainsAny(p, "?#") {
		return errors.New("must not contain a query or fragment")
	}
	segs := strings.Split(p[1:], "/")
	for i, s := range segs {
		if strings.Contains(s, "**") && (s != "**" || i != len(segs)-1) {
			return errors.New("** must be the whole last segment")
		}
	}
	return nil
}

// Apps returns every application, ordered by id.
func (c *Catalog) Apps() []*App { return c.apps }

// Types returns the application types, ordered by id.
func (c *Catalog) Types() []*AppType { return c.types }

// App returns the application with this id, or nil.
func (c *Catalog) App(id int) *App { return c.byID[id] }

// AppByName returns the application with this name (case-insensitive), or nil.
func (c *Catalog) AppByName(name string) *App { return c.byName[strings.ToLower(name)] }

// Type returns the application type with this id, or nil.
func (c *Catalog) Type(id int) *AppType { return c.typeByID[id] }

// TypeByName returns the application type with this name (case-insensitive), or nil.
func (c *Catalog) TypeByName(name string) *AppType {
	for _, t := range c.types {
		if strings.EqualFold(t.Name, name) {
			return t
		}
	}
	return nil
}

// Evidence is one fact behind a confidence score criterion.
type Evidence struct {
	Criterion string `yaml:"criterion" json:"criterion,omitempty"`
	// Value is one of the criterion's levels (e.g. "full", "partial", "none").
	Value string `yaml:"value" json:"value,omitempty"`
	// Source is the public page the fact comes from (https URL).
	Source string `yaml:"source" json:"source,omitempty"`
	// Date is when the fact was recorded, YYYY-MM-DD.
	Date string `yaml:"date" json:"date,omitempty"`
	Note string `yaml:"note" json:"note,omitempty"`
}

func (e Evidence) validate(crits map[string]*Criterion) error {
	cr := crits[e.Criterion]
	if cr == nil {
		return fmt.Errorf("unknown criterion %q", e.Criterion)
	}
	if _, ok := cr.Levels[e.Value]; !ok {
		return fmt.Errorf("criterion %q: value %q is not one of %s", e.Criterion, e.Value, strings.Join(cr.levelNames(), ", "))
	}
	u, err := url.Parse(e.Source)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return fmt.Errorf("criterion %q: source %q is not an https URL", e.Criterion, e.Source)
	}
	if _, err := time.Parse(time.DateOnly, e.Date); err != nil {
		return fmt.Errorf("criterion %q: date %q is not YYYY-MM-DD", e.Criterion, e.Date)
	}
	return nil
}
