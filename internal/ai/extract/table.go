package extract

import (
	_ "embed"
	"fmt"
	"path"
	"sort"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"
)

//go:embed adapters.yaml
var adaptersYAML []byte

// Control is what a request does, in the application library's control vocabulary.
type Control string

// Controls an adapter can report.
const (
	ControlPrompt Control = "prompt"
	ControlUpload Control = "upload"
	ControlOther  Control = "other"
)

// Status says how an adapter's wire format is known.
type Status string

// Statuses.
const (
	// StatusDocumented: the vendor's API reference or official SDK documents the format.
	StatusDocumented Status = "documented"
	// StatusReverseEngineered: a private web-client format read from public third-party clients;
	// it changes without notice and was not confirmed against live traffic here.
	StatusReverseEngineered Status = "reverse-engineered"
)

// Adapter is one row of the adapter table: which requests it recognises and where their fields
// are. Values reached through a Table are shared and must not be modified.
type Adapter struct {
	ID      string   `yaml:"id" json:"id"`
	App     int      `yaml:"app" json:"app,omitempty"` // application-library id; 0 = any (OpenAI-compatible servers)
	Version int      `yaml:"version" json:"version"`
	Status  Status   `yaml:"status" json:"status"`
	Sources []string `yaml:"sources" json:"sources,omitempty"`
	Note    string   `yaml:"note" json:"note,omitempty"`
	// Hosts: exact host names or subdomains of them; a name with "*" is a glob over the whole
	// host ("*-aiplatform.googleapis.com", "bedrock-runtime.*.amazonaws.com"). Empty: any host
	// (generic detection by path and body).
	Hosts  []string `yaml:"hosts" json:"hosts,omitempty"`
	Method string   `yaml:"method" json:"method"`
	// Paths are matched segment by segment: "*" any run inside a segment, "{name}" captures a
	// run (readable as url:name), a final "**" the rest of the path.
	Paths    []string     `yaml:"paths" json:"paths"`
	Control  Control      `yaml:"control" json:"control"`
	Request  RequestSpec  `yaml:"request" json:"request"`
	Response ResponseSpec `yaml:"response" json:"response"`

	paths []pathPattern
}

// RequestSpec says where a request's fields are.
type RequestSpec struct {
	// Body is json, form (x-www-form-urlencoded), multipart, raw (the body is the upload) or
	// none.
	Body         string           `yaml:"body" json:"body"`
	Model        []string         `yaml:"model" json:"model,omitempty"`
	Conversation []string         `yaml:"conversation" json:"conversation,omitempty"`
	Prompt       []string         `yaml:"prompt" json:"prompt,omitempty"` // content values that are the user's turn
	System       []string         `yaml:"system" json:"system,omitempty"` // content values of the system prompt
	Context      []string         `yaml:"context" json:"context,omitempty"`
	Messages     *MessagesSpec    `yaml:"messages" json:"messages,omitempty"`
	Content      ContentSpec      `yaml:"content" json:"content"`
	Attachments  []AttachmentSpec `yaml:"attachments" json:"attachments,omitempty"`
	// Require lists paths that must reach a value for the body to count as this adapter's
	// shape (beyond parsing); a miss is Unparsed.
	Require []string `yaml:"require" json:"require,omitempty"`
	// Only lists conditions of which one must hold for the body to be the adapter's control at
	// all (a WebSocket carries send frames and others): when none holds, the request is
	// reported as control "other" with nothing extracted, and is not unparsed.
	Only []string `yaml:"only" json:"only,omitempty"`

	model, conversation, prompt, system, context, require, only []Path
}

// MessagesSpec reads a chat history.
type MessagesSpec struct {
	Path        string           `yaml:"path" json:"path"`
	Role        []string         `yaml:"role" json:"role"`
	Content     []string         `yaml:"content" json:"content"`
	DefaultRole string           `yaml:"default_role" json:"default_role,omitempty"`
	User        []string         `yaml:"user" json:"user"`
	System      []string         `yaml:"system" json:"system,omitempty"`
	Context     []string         `yaml:"context" json:"context,omitempty"` // tool results: scanned, never the prompt
	Attachments []AttachmentSpec `yaml:"attachments" json:"attachments,omitempty"`

	path          Path
	role, content []Path
}

// ContentSpec reads a content value: a string, or a list of parts.
type ContentSpec struct {
	Text        []string         `yaml:"text" json:"text,omitempty"`       // paths in a part holding its text
	Skip        []string         `yaml:"skip" json:"skip,omitempty"`       // conditions: parts ignored (reasoning)
	Context     []string         `yaml:"context" json:"context,omitempty"` // conditions: parts that are tool data
	Nested      []string         `yaml:"nested" json:"nested,omitempty"`   // paths to content nested in a context part
	Attachments []AttachmentSpec `yaml:"attachments" json:"attachments,omitempty"`

	text, skip, context, nested []Path
}

// AttachmentSpec finds attachments: Path selects nodes (a condition such as [?type=image] on a
// content part), the other paths read fields relative to each node. Data is decoded from a
// data: URL or base64; a value that is neither is kept as a reference.
type AttachmentSpec struct {
	Path string   `yaml:"path" json:"path"`
	Name []string `yaml:"name" json:"name,omitempty"`
	Type []string `yaml:"type" json:"type,omitempty"`
	Size []string `yaml:"size" json:"size,omitempty"`
	Data []string `yaml:"data" json:"data,omitempty"`
	Text []string `yaml:"text" json:"text,omitempty"` // inline document text
	Ref  []string `yaml:"ref" json:"ref,omitempty"`

	path                             Path
	name, typ, size, data, text, ref []Path
}

// ResponseSpec says how a response is framed and where its text is.
type ResponseSpec struct {
	// Framings the response may use; the Content-Type picks one, else the body is sniffed,
	// else the first is used.
	Framings []Framing  `yaml:"framings" json:"framings"`
	Text     []TextRule `yaml:"text" json:"text"`
	// Key groups snapshots (op set/longest) by message: the segment a snapshot replaces.
	Key          string   `yaml:"key" json:"key,omitempty"`
	Model        []string `yaml:"model" json:"model,omitempty"`
	Conversation []string `yaml:"conversation" json:"conversation,omitempty"`
	ResponseID   []string `yaml:"response_id" json:"response_id,omitempty"`
	// Complete lists conditions that mark a finished answer: "[DONE]", "event=NAME", or a path
	// that reaches a value.
	Complete []string `yaml:"complete" json:"complete,omitempty"`
	// Patch names a patch stream whose state the text rules read (chatgpt, deepseek,
	// perplexity); PatchEvents the SSE event names that carry patches (empty: every event).
	Patch       string   `yaml:"patch" json:"patch,omitempty"`
	PatchEvents []string `yaml:"patch_events" json:"patch_events,omitempty"`

	key                     *Path
	model, conversation, id []Path
	complete                []Path
	completeEvents          []string
	completeDone            bool
}

// TextRule reads answer text from an event: Path from the event (or, for a patch stream, from
// the patched state), Op append (a delta), set (a snapshot replacing its segment) or longest (a
// cumulative snapshot whose longest value wins); Event restricts the rule to one event name.
type TextRule struct {
	Event string `yaml:"event" json:"event,omitempty"`
	Path  string `yaml:"path" json:"path"`
	Op    string `yaml:"op" json:"op,omitempty"`

	path Path
}

// Table is a validated adapter table. It is immutable and safe for concurrent use.
type Table struct {
	adapters []*Adapter
	byID     map[string]*Adapter
}

var (
	defaultOnce  sync.Once
	defaultTable *Table
	defaultErr   error
)

// Default returns the embedded adapter table (adapters.yaml), parsed and validated once.
func Default() (*Table, error) {
	defaultOnce.Do(func() { defaultTable, defaultErr = ParseTable(adaptersYAML) })
	return defaultTable, defaultErr
}

// MustDefault is Default for callers that treat a broken embedded table as a build error.
func MustDefault() *Table {
	t, err := Default()
	if err != nil {
		panic(err)
	}
	return t
}

// ParseTable parses and validates an adapter table.
func ParseTable(b []byte) (*Table, error) {
	var doc struct {
		Adapters []*Adapter `yaml:"adapters"`
	}
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("adapter table: %w", err)
	}
	t := &Table{byID: map[string]*Adapter{}}
	for _, a := range doc.Adapters {
		if err := a.compile(); err != nil {
			return nil, fmt.Errorf("adapter table: %s: %w", a.ID, err)
		}
		if t.byID[a.ID] != nil {
			return nil, fmt.Errorf("adapter table: duplicate id %q", a.ID)
		}
		t.byID[a.ID] = a
		t.adapters = append(t.adapters, a)
	}
	return t, nil
}

// Adapters lists the table in file order.
func (t *Table) Adapters() []*Adapter { return t.adapters }

// Adapter returns the adapter with this id, or nil.
func (t *Table) Adapter(id string) *Adapter { return t.byID[id] }

// ForApp lists the adapters of an application-library id.
func (t *Table) ForApp(app int) []*Adapter {
	var out []*Adapter
	for _, a := range t.adapters {
		if a.App == app {
			out = append(out, a)
		}
	}
	return out
}

// Match is a recognised request: the adapter and the captures of its path pattern.
type Match struct {
	Adapter  *Adapter
	Captures map[string]string
}

// Match finds the adapter for a request. host is lower case without port; urlPath has no query.
// Adapters naming the host win over generic ones (empty Hosts); among those, the first in table
// order. It reports false when none matches.
func (t *Table) Match(method, host, urlPath string) (Match, bool) {
	var generic *Match
	for _, a := range t.adapters {
		if a.Method != "" && a.Method != method {
			continue
		}
		caps, ok := a.MatchPath(urlPath)
		if !ok {
			continue
		}
		if len(a.Hosts) == 0 {
			if generic == nil {
				generic = &Match{Adapter: a, Captures: caps}
			}
			continue
		}
		if a.MatchHost(host) {
			return Match{Adapter: a, Captures: caps}, true
		}
	}
	if generic != nil {
		return *generic, true
	}
	return Match{}, false
}

// KnownHost reports whether a host belongs to an adapter with host names: a request to such a
// host that no adapter's path matches is not an extraction target, but a body that does not
// parse under a matched adapter is Unparsed.
func (t *Table) KnownHost(host string) bool {
	for _, a := range t.adapters {
		if len(a.Hosts) > 0 && a.MatchHost(host) {
			return true
		}
	}
	return false
}

// MatchHost reports whether host is one of the adapter's hosts or a subdomain of one.
func (a *Adapter) MatchHost(host string) bool {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	for _, h := range a.Hosts {
		if strings.Contains(h, "*") {
			if ok, _ := path.Match(h, host); ok {
				return true
			}
			continue
		}
		if host == h || strings.HasSuffix(host, "."+h) {
			return true
		}
	}
	return false
}

// MatchPath matches a URL path against the adapter's patterns and returns the captures.
func (a *Adapter) MatchPath(urlPath string) (map[string]string, bool) {
	for _, p := range a.paths {
		if caps, ok := p.match(urlPath); ok {
			return caps, true
		}
	}
	return nil, false
}

func (a *Adapter) compile() error {
	if a.ID == "" {
		return fmt.Errorf("no id")
	}
	if a.Version < 1 {
		return fmt.Errorf("version must be 1 or more")
	}
	switch a.Status {
	case StatusDocumented, StatusReverseEngineered:
	default:
		return fmt.Errorf("status %q: want documented or reverse-engineered", a.Status)
	}
	switch a.Control {
	case ControlPrompt, ControlUpload, ControlOther:
	default:
		return fmt.Errorf("control %q: want prompt, upload or other", a.Control)
	}
	if len(a.Paths) == 0 {
		return fmt.Errorf("no paths")
	}
	for _, h := range a.Hosts {
		if h != strings.ToLower(h) || h == "" {
			return fmt.Errorf("host %q: want a lower-case host name", h)
		}
	}
	for _, p := range a.Paths {
		pp, err := compilePathPattern(p)
		if err != nil {
			return err
		}
		a.paths = append(a.paths, pp)
	}
	if err := a.Request.compile(); err != nil {
		return fmt.Errorf("request: %w", err)
	}
	if err := a.Response.compile(); err != nil {
		return fmt.Errorf("response: %w", err)
	}
	return nil
}

func parsePaths(ss []string) ([]Path, error) {
	out := make([]Path, 0, len(ss))
	for _, s := range ss {
		p, err := ParsePath(s)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

func (r *RequestSpec) compile() error {
	switch r.Body {
	case "json", "form", "multipart", "raw", "none":
	default:
		return fmt.Errorf("body %q: want json, form, multipart, raw or none", r.Body)
	}
	var err error
	for _, f := range []struct {
		in  []string
		out *[]Path
	}{{r.Model, &r.model}, {r.Conversation, &r.conversation}, {r.Prompt, &r.prompt}, {r.System, &r.system}, {r.Context, &r.context}, {r.Require, &r.require}, {r.Only, &r.only}} {
		if *f.out, err = parsePaths(f.in); err != nil {
			return err
		}
	}
	if m := r.Messages; m != nil {
		if m.path, err = ParsePath(m.Path); err != nil {
			return err
		}
		if m.role, err = parsePaths(m.Role); err != nil {
			return err
		}
		if m.content, err = parsePaths(m.Content); err != nil {
			return err
		}
		if len(m.User) == 0 {
			return fmt.Errorf("messages: no user roles")
		}
		for i := range m.Attachments {
			if err := m.Attachments[i].compile(); err != nil {
				return err
			}
		}
	}
	if err := r.Content.compile(); err != nil {
		return err
	}
	for i := range r.Attachments {
		if err := r.Attachments[i].compile(); err != nil {
			return err
		}
	}
	return nil
}

func (c *ContentSpec) compile() error {
	var err error
	if c.text, err = parsePaths(c.Text); err != nil {
		return err
	}
	if c.skip, err = parsePaths(c.Skip); err != nil {
		return err
	}
	if c.context, err = parsePaths(c.Context); err != nil {
		return err
	}
	if c.nested, err = parsePaths(c.Nested); err != nil {
		return err
	}
	for i := range c.Attachments {
		if err := c.Attachments[i].compile(); err != nil {
			return err
		}
	}
	return nil
}

func (s *AttachmentSpec) compile() error {
	var err error
	if s.path, err = ParsePath(s.Path); err != nil {
		return err
	}
	for _, f := range []struct {
		in  []string
		out *[]Path
	}{{s.Name, &s.name}, {s.Type, &s.typ}, {s.Size, &s.size}, {s.Data, &s.data}, {s.Text, &s.text}, {s.Ref, &s.ref}} {
		if *f.out, err = parsePaths(f.in); err != nil {
			return err
		}
	}
	return nil
}

func (r *ResponseSpec) compile() error {
	if len(r.Framings) == 0 {
		return fmt.Errorf("no framings")
	}
	for _, f := range r.Framings {
		if _, ok := NewDecoder(f, Limits{}, nil); !ok {
			return fmt.Errorf("unknown framing %q", f)
		}
	}
	for i := range r.Text {
		t := &r.Text[i]
		switch t.Op {
		case "":
			t.Op = "append"
		case "append", "set", "longest":
		default:
			return fmt.Errorf("text op %q: want append, set or longest", t.Op)
		}
		var err error
		if t.path, err = ParsePath(t.Path); err != nil {
			return err
		}
	}
	var err error
	if r.Key != "" {
		k, err := ParsePath(r.Key)
		if err != nil {
			return err
		}
		r.key = &k
	}
	if r.model, err = parsePaths(r.Model); err != nil {
		return err
	}
	if r.conversation, err = parsePaths(r.Conversation); err != nil {
		return err
	}
	if r.id, err = parsePaths(r.ResponseID); err != nil {
		return err
	}
	for _, c := range r.Complete {
		switch {
		case c == "[DONE]":
			r.completeDone = true
		case strings.HasPrefix(c, "event="):
			r.completeEvents = append(r.completeEvents, strings.TrimPrefix(c, "event="))
		default:
			p, err := ParsePath(c)
			if err != nil {
				return err
			}
			r.complete = append(r.complete, p)
		}
	}
	switch r.Patch {
	case "", "chatgpt", "deepseek", "perplexity":
	default:
		return fmt.Errorf("patch %q: want chatgpt, deepseek or perplexity", r.Patch)
	}
	sort.Strings(r.PatchEvents)
	return nil
}

// pathPattern is a compiled URL path pattern.
type pathPattern struct {
	segs []string
	rest bool // ends in /**
}

func compilePathPattern(p string) (pathPattern, error) {
	if !strings.HasPrefix(p, "/") {
		return pathPattern{}, fmt.Errorf("path pattern %q: must start with /", p)
	}
	segs := strings.Split(p[1:], "/")
	pp := pathPattern{}
	if len(segs) > 0 && segs[len(segs)-1] == "**" {
		pp.rest = true
		segs = segs[:len(segs)-1]
	}
	for _, s := range segs {
		if strings.Count(s, "{") > 1 || strings.Count(s, "{") != strings.Count(s, "}") {
			return pathPattern{}, fmt.Errorf("path pattern %q: at most one {capture} per segment", p)
		}
		if s == "**" {
			return pathPattern{}, fmt.Errorf("path pattern %q: ** only as the last segment", p)
		}
	}
	pp.segs = segs
	return pp, nil
}

func (pp pathPattern) match(p string) (map[string]string, bool) {
	if !strings.HasPrefix(p, "/") {
		return nil, false
	}
	segs := strings.Split(p[1:], "/")
	if pp.rest {
		if len(segs) < len(pp.segs) {
			return nil, false
		}
	} else if len(segs) != len(pp.segs) {
		return nil, false
	}
	var caps map[string]string
	for i, pat := range pp.segs {
		s := segs[i]
		if open := strings.IndexByte(pat, '{'); open >= 0 {
			closeAt := strings.IndexByte(pat, '}')
			pre, name, suf := pat[:open], pat[open+1:closeAt], pat[closeAt+1:]
			if len(s) <= len(pre)+len(suf) || !strings.HasPrefix(s, pre) || !strings.HasSuffix(s, suf) {
				return nil, false
			}
			if caps == nil {
				caps = map[string]string{}
			}
			caps[name] = s[len(pre) : len(s)-len(suf)]
			continue
		}
		if ok, _ := path.Match(pat, s); !ok {
			return nil, false
		}
	}
	return caps, true
}
