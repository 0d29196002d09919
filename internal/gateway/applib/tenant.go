package applib

import (
	"fmt"
	"net/textproto"
	"regexp"
	"sort"
	"strings"
)

// TenantPreset is a tenant-control header preset: headers an allow rule adds (overwriting any the
// client sent) on decrypted requests to the listed hosts, so only the organisation's own
// workspace, organisation, domain or tenant can be used (reference ai-apps.md §5).
type TenantPreset struct {
	Key  string `yaml:"key" json:"key,omitempty"`
	Name string `yaml:"name" json:"name,omitempty"`
	// App names the catalogue application the preset is for ("" for identity providers that
	// serve several applications).
	App string `yaml:"app" json:"app,omitempty"`
	// Hosts are where the headers must be injected (each host and its subdomains).
	Hosts   []string       `yaml:"hosts" json:"hosts,omitempty"`
	Params  []PresetParam  `yaml:"params" json:"params,omitempty"`
	Headers []PresetHeader `yaml:"headers" json:"headers,omitempty"`
	Source  string         `yaml:"source" json:"source,omitempty"`
	Note    string         `yaml:"note" json:"note,omitempty"`
}

// PresetParam is a value the operator supplies, such as a workspace id.
type PresetParam struct {
	Name string `yaml:"name" json:"name,omitempty"`
	// Kind is the value's syntax: id, openai_org, uuid, domain, tenant (domain or uuid),
	// tenant_policy (uuid:uuid), number.
	Kind string `yaml:"kind" json:"kind,omitempty"`
	// Multi allows several values, joined with commas (no spaces).
	Multi       bool   `yaml:"multi" json:"multi,omitempty"`
	Description string `yaml:"description" json:"description,omitempty"`
}

// PresetHeader is one header of a preset; Value is literal text in which {param} is replaced by
// the parameter's value(s).
type PresetHeader struct {
	Name  string `yaml:"name" json:"name,omitempty"`
	Value string `yaml:"value" json:"value,omitempty"`
}

var paramKinds = map[string]*regexp.Regexp{
	"id":            regexp.MustCompile(`^[A-Za-z0-9_-]{1,128}$`),
	"openai_org":    regexp.MustCompile(`^org-[A-Za-z0-9]{1,64}$`),
	"uuid":          regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`),
	"domain":        regexp.MustCompile(`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,62}$`),
	"tenant":        regexp.MustCompile(`^(([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,62}|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$`),
	"tenant_policy": regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`),
	"number":        regexp.MustCompile(`^[0-9]{1,20}$`),
}

var placeholder = regexp.MustCompile(`\{([a-z_]+)\}`)

func (p *TenantPreset) validate() error {
	if p.Key == "" || p.Name == "" {
		return fmt.Errorf("tenant control %q: key and name are required", p.Key)
	}
	if len(p.Hosts) == 0 || len(p.Headers) == 0 {
		return fmt.Errorf("tenant control %q: hosts and headers are required", p.Key)
	}
	for _, h := range p.Hosts {
		if err := ValidateHostname(h); err != nil {
			return fmt.Errorf("tenant control %q: host %q: %w", p.Key, h, err)
		}
	}
	params := map[string]bool{}
	for _, pa := range p.Params {
		if paramKinds[pa.Kind] == nil {
			return fmt.Errorf("tenant control %q: param %q has unknown kind %q", p.Key, pa.Name, pa.Kind)
		}
		params[pa.Name] = true
	}
	used := map[string]bool{}
	for _, h := range p.Headers {
		if h.Name == "" || textproto.CanonicalMIMEHeaderKey(h.Name) == "" || strings.ContainsAny(h.Name, " :\r\n") {
			return fmt.Errorf("tenant control %q: bad header name %q", p.Key, h.Name)
		}
		for _, m := range placeholder.FindAllStringSubmatch(h.Value, -1) {
			if !params[m[1]] {
				return fmt.Errorf("tenant control %q: header %s uses unknown param {%s}", p.Key, h.Name, m[1])
			}
			used[m[1]] = true
		}
	}
	for n := range params {
		if !used[n] {
			return fmt.Errorf("tenant control %q: param %q is not used by any header", p.Key, n)
		}
	}
	return nil
}

// TenantPresets returns the presets, ordered by key.
func (c *Catalog) TenantPresets() []*TenantPreset {
	out := append([]*TenantPreset(nil), c.presets...)
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// TenantPreset returns the preset with this key, or nil.
func (c *Catalog) TenantPreset(key string) *TenantPreset { return c.presetKey[key] }

// Build renders the preset's headers from parameter values (param name → values), in the shape
// of a rule's add_headers (header → values). Every parameter is required; values are checked
// against the parameter's kind; several values of a multi parameter are joined with commas.
func (p *TenantPreset) Build(values map[string][]string) (map[string][]string, error) {
	rendered := map[string]string{}
	for _, pa := range p.Params {
		vs := values[pa.Name]
		if len(vs) == 0 {
			return nil, fmt.Errorf("tenant control %s: %s is required (%s)", p.Key, pa.Name, pa.Description)
		}
		if len(vs) > 1 && !pa.Multi {
			return nil, fmt.Errorf("tenant control %s: %s takes one value", p.Key, pa.Name)
		}
		re := paramKinds[pa.Kind]
		for _, v := range vs {
			if !re.MatchString(v) {
				return nil, fmt.Errorf("tenant control %s: %s: %q is not a valid %s", p.Key, pa.Name, v, pa.Kind)
			}
		}
		rendered[pa.Name] = strings.Join(vs, ",")
	}
	for k := range values {
		if _, ok := rendered[k]; !ok {
			return nil, fmt.Errorf("tenant control %s: unknown parameter %q", p.Key, k)
		}
	}
	out := make(map[string][]string, len(p.Headers))
	for _, h := range p.Headers {
		v := placeholder.ReplaceAllStringFunc(h.Value, func(m string) string { return rendered[m[1:len(m)-1]] })
		out[h.Name] = []string{v}
	}
	return out, nil
}
