package ai

import (
	"bytes"
	"slices"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/internal/ai/extract"
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

// PromptProfiles are the predefined AI prompt profiles.
var PromptProfiles = []PromptProfile{
	{ID: "ai_prompt_ai_security", Name: "AI Prompt: AI Security", Topics: []string{IntentJailbreak, IntentCodeAbuse}},
	{ID: "ai_prompt_pii", Name: "AI Prompt: PII", Topics: []string{ContentPII, IntentPII}},
	{ID: "ai_prompt_technical", Name: "AI Prompt: Technical", Topics: []string{ContentSourceCode, ContentCredentials}},
	{ID: "ai_prompt_customer", Name: "AI Prompt: Customer", Topics: []string{ContentCustomerData}},
	{ID: "ai_prompt_financial_information", Name: "AI Prompt: Financial Information", Topics: []string{ContentFinancial}},
}

// TopicEntryNames are the topics' detection entry names, as Cloudflare's profiles show them.
var TopicEntryNames = map[string]string{
	ContentPII:          "Content: PII",
	ContentCredentials:  "Content: Credentials and Secrets",
	ContentSourceCode:   "Content: Source Code",
	ContentCustomerData: "Content: Customer Data",
	ContentFinancial:    "Content: Financial Information",
	IntentPII:           "Intent: PII",
	IntentCodeAbuse:     "Intent: Code Abuse and Malicious Code",
	IntentJailbreak:     "Intent: Jailbreak",
}

// IsPromptProfile reports whether id names a predefined AI prompt profile.
func IsPromptProfile(id string) bool {
	return slices.ContainsFunc(PromptProfiles, func(p PromptProfile) bool { return p.ID == id })
}

// PromptProfileIDs lists the AI prompt profiles' ids.
func PromptProfileIDs() []string {
	out := make([]string, len(PromptProfiles))
	for i, p := range PromptProfiles {
		out[i] = p.ID
	}
	return out
}

// profilesOf returns the ids of the profiles the topics match and the names of their entries,
// in the profiles' order, without repeats.
func profilesOf(topics []Topic) (profiles, entries []string) {
	for _, p := range PromptProfiles {
		hit := false
		for _, t := range topics {
			if slices.Contains(p.Topics, t.ID) {
				hit = true
				if name := TopicEntryNames[t.ID]; name != "" && !slices.Contains(entries, name) {
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
	table      *extract.Table
	classifier *Classifier
	failModes  extract.FailModes
	limits     extract.Limits
}

// NewPromptInspector returns an inspector with the embedded adapters and c; failModes say, per
// application id, whether a request an adapter cannot read is treated as one that matched
// nothing (open) or one that could not be inspected (closed, the default).
func NewPromptInspector(c *Classifier, failModes extract.FailModes) (*PromptInspector, error) {
	t, err := extract.Default()
	if err != nil {
		return nil, err
	}
	return &PromptInspector{table: t, classifier: c, failModes: failModes}, nil
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
		v.Incomplete = p.failModes.For(req.App).Closed()
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
	v.Topics = p.classifier.Classify(Input{Prompt: text, Context: ctx})
	v.Profiles, v.Entries = profilesOf(v.Topics)
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
