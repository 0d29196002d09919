package ai

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/internal/ai/extract"
	"github.com/gatehouse/gatehouse/internal/dlp"
)

// PromptProfile is one of the predefined "AI Prompt" DLP profiles: its detection entries are
// topics, so HTTP policies select topics with the DLP profile selector (dlp.profiles), as
// Cloudflare's AI prompt protection does (gateway-ai-spec §4.3, §4.5).
type PromptProfile struct {
	// ID is what rules name in dlp.profiles ("ai_prompt_pii").
	ID string `json:"id"`
	// Name is Cloudflare's profile name ("AI Prompt: PII").
	Name string `json:"name"`
	// Topics are the topic IDs that are its detection entries.
	Topics []string `json:"topics"`
}

// PromptProfiles are the predefined AI prompt profiles, with the ids rules use (the name
// made an id: "AI Prompt: PII" → "ai_prompt_pii"), built from Topics.
var PromptProfiles = func() []PromptProfile {
	var out []PromptProfile
	for _, name := range []string{ProfileAISecurity, ProfilePII, ProfileTechnical, ProfileCustomer, ProfileFinancial} {
		p := PromptProfile{ID: dlp.ProfileID(name), Name: name}
		for _, t := range Topics {
			if t.Profile == name {
				p.Topics = append(p.Topics, t.ID)
			}
		}
		out = append(out, p)
	}
	return out
}()

// TopicEntryNames are the topics' detection entry names, as Cloudflare's profiles show them
// (from Topics).
var TopicEntryNames = func() map[string]string {
	m := make(map[string]string, len(Topics))
	for _, t := range Topics {
		m[t.ID] = t.Entry
	}
	return m
}()

// PromptProfileIDs lists the AI prompt profiles' ids.
func PromptProfileIDs() []string {
	out := make([]string, len(PromptProfiles))
	for i, p := range PromptProfiles {
		out[i] = p.ID
	}
	return out
}

// profilesOf returns the ids of the profiles of table the topics match and the names of their
// entries, in the profiles' order, without repeats.
func profilesOf(table []PromptProfile, topics []Topic) (profiles, entries []string) {
	for _, p := range table {
		hit := false
		for _, t := range topics {
			if slices.Contains(p.Topics, t.ID) {
				hit = true
				name := TopicEntryNames[t.ID]
				if name == "" {
					name = "Custom: " + t.ID
				}
				if !slices.Contains(entries, name) {
					entries = append(entries, name)
				}
			}
		}
		if hit {
			profiles = append(profiles, p.ID)
		}
	}
	return profiles, entries
}

// PromptInspector finds the prompts in AI applications' requests (package extract's adapters)
// and classifies them into topics. It is safe for concurrent use.
type PromptInspector struct {
	table       *extract.Table
	classifier  *Classifier
	defaultFail extract.FailMode
	failModes   extract.FailModes
	limits      extract.Limits
	// profiles are the predefined AI prompt profiles with the custom topics added.
	profiles []PromptProfile
}

// PromptInspectorOptions configure a PromptInspector.
type PromptInspectorOptions struct {
	Classifier *Classifier
	// DefaultFailMode says what a request an adapter cannot read is taken for: open (one
	// that matched no topic) or closed (one that could not be inspected: rules that could have
	// matched fail closed). Default closed.
	DefaultFailMode extract.FailMode
	// FailModes override it per application-library id.
	FailModes extract.FailModes
	// CustomProfiles put the classifier's custom topics in profiles rules can name: profile id
	// → topic ids. An id of a predefined AI prompt profile adds the topics to it; another id is
	// a profile of its own.
	CustomProfiles map[string][]string
}

// NewPromptInspector returns an inspector with the embedded adapters and c; failModes say, per
// application id, whether a request an adapter cannot read is treated as one that matched
// nothing (open) or one that could not be inspected (closed, the default).
func NewPromptInspector(c *Classifier, failModes extract.FailModes) (*PromptInspector, error) {
	return NewPromptInspectorWith(PromptInspectorOptions{Classifier: c, FailModes: failModes})
}

// NewPromptInspectorWith returns an inspector with the embedded adapters.
func NewPromptInspectorWith(o PromptInspectorOptions) (*PromptInspector, error) {
	if o.Classifier == nil {
		return nil, errors.New("ai: a prompt inspector needs a classifier")
	}
	t, err := extract.Default()
	if err != nil {
		return nil, err
	}
	def := o.DefaultFailMode
	if def == "" {
		def = extract.FailClosed
	}
	profiles := make([]PromptProfile, len(PromptProfiles))
	for i, p := range PromptProfiles {
		profiles[i] = PromptProfile{ID: p.ID, Name: p.Name, Topics: slices.Clone(p.Topics)}
	}
	ids := make([]string, 0, len(o.CustomProfiles))
	for id := range o.CustomProfiles {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		topics := o.CustomProfiles[id]
		if k := slices.IndexFunc(profiles, func(p PromptProfile) bool { return p.ID == id }); k >= 0 {
			profiles[k].Topics = append(profiles[k].Topics, topics...)
			continue
		}
		profiles = append(profiles, PromptProfile{ID: id, Name: "AI Prompt: " + id, Topics: topics})
	}
	return &PromptInspector{table: t, classifier: o.Classifier, defaultFail: def, failModes: o.FailModes, profiles: profiles}, nil
}

// failMode is the fail mode of an application.
func (p *PromptInspector) failMode(app int) extract.FailMode {
	if m, ok := p.failModes[app]; ok && m != "" {
		return m
	}
	return p.defaultFail
}

// Known reports whether some adapter reads requests of this method, host (lower case, no
// port) and path: only those need their body read.
func (p *PromptInspector) Known(method, host, path string) bool {
	_, ok := p.table.Match(method, host, path)
	return ok
}

// PromptVerdict is what the inspection of one request found.
type PromptVerdict struct {
	// Request is what the adapter extracted (Unparsed set when the body did not have the
	// adapter's shape).
	Request *extract.Request
	// Topics are the topics of the prompt and its context (user turns and attachments' text).
	Topics []Topic
	// Profiles are the AI prompt profiles the topics match (for dlp.profiles); Entries their
	// detection entries' names.
	Profiles []string
	Entries  []string
	// Incomplete: the body could not be read and the application's fail mode is closed; the
	// caller fails closed on the rules that could have matched.
	Incomplete bool
}

// Inspect extracts and classifies r; ok is false when no adapter reads it.
func (p *PromptInspector) Inspect(r extract.HTTPRequest) (v *PromptVerdict, ok bool) {
	req, ok := p.table.ExtractRequest(r, p.limits)
	if !ok {
		return nil, false
	}
	v = &PromptVerdict{Request: req}
	if req.Unparsed != nil {
		v.Incomplete = p.failMode(req.App).Closed()
		return v, true
	}
	if req.Control != extract.ControlPrompt && req.UserText == "" && req.Context == "" {
		return v, true
	}
	text := req.UserText
	if text == "" {
		text = req.Prompt
	}
	ctx := req.Context
	for _, a := range req.Attachments {
		// Document text the adapter read, and attachments that are text themselves; binary
		// files are the DLP upload scan's (it reads their containers and encodings).
		if a.Text != "" {
			ctx += "\n" + a.Text
		} else if len(a.Data) > 0 && utf8.Valid(a.Data) && bytes.IndexByte(a.Data, 0) < 0 {
			ctx += "\n" + string(a.Data)
		}
	}
	res := p.classifier.ClassifyResult(Input{Prompt: text, Context: ctx})
	v.Topics = res.Topics
	v.Profiles, v.Entries = profilesOf(p.profiles, v.Topics)
	if res.Incomplete {
		// The content scan could not read everything (a truncated or undecodable layer):
		// rules on the content topics must not take the prompt for a clean one.
		v.Incomplete = true
	}
	return v, true
}

// ResponseStream returns a stream that reassembles the answer to the request v was made of,
// from a response body with this Content-Type (decompressed), or nil when v's adapter reads no
// responses.
func (p *PromptInspector) ResponseStream(v *PromptVerdict, contentType string) *extract.Stream {
	if v == nil || v.Request == nil {
		return nil
	}
	a := p.table.Adapter(v.Request.Adapter)
	if a == nil {
		return nil
	}
	return a.NewStream(contentType, p.limits)
}

// DecodeBody undoes the Content-Encoding of a request body read whole for an adapter (identity
// and gzip, at most limit bytes decompressed); ok is false for another coding, a broken gzip
// stream or a body that decompresses past limit: the caller treats the prompt as unreadable.
func DecodeBody(body []byte, coding string, limit int64) ([]byte, bool) {
	switch strings.ToLower(strings.TrimSpace(coding)) {
	case "", "identity":
		return body, true
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			return nil, false
		}
		b, err := io.ReadAll(io.LimitReader(zr, limit+1))
		if err != nil || int64(len(b)) > limit {
			return nil, false
		}
		return b, true
	}
	return nil, false
}

// TopConfidence is the highest confidence among topics ("" without topics).
func TopConfidence(ts []Topic) string {
	rank := func(c string) int {
		switch c {
		case "high":
			return 3
		case "medium":
			return 2
		case "low":
			return 1
		}
		return 0
	}
	best := ""
	for _, t := range ts {
		if rank(t.Confidence) > rank(best) {
			best = t.Confidence
		}
	}
	return best
}
