// Package ai is Gatehouse's AI prompt protection: it classifies the prompts
// employees send to AI apps (and the tool output or documents that come
// with them) into the stable topics of gateway-ai-spec §4.3. Content topics
// (personal data, credentials and secrets, source code, customer data,
// financial information) come from the DLP engine's predefined entries and
// from the customer and financial context lists of this package; intent
// topics (requests for personal data, malicious code, jailbreaks and
// prompt injection) come from the rule-based classifier in ai/intent.
// Custom topics are phrase lists. Extraction of prompts from app traffic
// (ai/extract) and prompt logs (ai/promptlog) live in sub-packages.
package ai

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/ai/intent"
	"github.com/gatehouse/gatehouse/internal/dlp"
)

// Stable topic IDs.
const (
	ContentPII          = "content_pii"
	ContentCredentials  = "content_credentials_secrets"
	ContentSourceCode   = "content_source_code"
	ContentCustomerData = "content_customer_data"
	ContentFinancial    = "content_financial"
	IntentPII           = intent.TopicPII
	IntentCodeAbuse     = intent.TopicCodeAbuse
	IntentJailbreak     = intent.TopicJailbreak
)

// TopicIDs lists the built-in topic IDs.
var TopicIDs = []string{ContentPII, ContentCredentials, ContentSourceCode, ContentCustomerData, ContentFinancial,
	IntentPII, IntentCodeAbuse, IntentJailbreak}

// Input is one prompt with the text that came with it: tool output,
// retrieved pages or attached documents (Context).
type Input struct {
	Prompt  string `json:"prompt"`
	Context string `json:"context,omitempty"`
}

// Span is a byte range of Input.Prompt or Input.Context (Field says which).
type Span = intent.Span

// Topic is one topic found in an input.
type Topic struct {
	ID         string `json:"id"`
	Confidence string `json:"confidence"` // low, medium or high
	// Family is the rule family that decided: a DLP entry ID for content
	// topics ("us_ssn", "github_token", "customer_names"), an intent rule
	// family ("ignore_previous", "encoded", "indirect_injection") or
	// "phrase_list" for a custom topic.
	Family  string   `json:"family"`
	Reasons []string `json:"reasons"`
	Spans   []Span   `json:"spans,omitempty"`
}

// CustomTopic is a topic defined by phrases (matched as whole words,
// case-insensitive).
type CustomTopic struct {
	ID      string
	Phrases []string
	// MinMatches is how many distinct phrases must occur (1 when zero).
	MinMatches int
}

// Options configure a Classifier.
type Options struct {
	// CustomerNames are the organisation's customers, projects or code
	// names: any of them in a prompt is content_customer_data.
	CustomerNames []string
	// CustomTopics are added to the built-in topics.
	CustomTopics []CustomTopic
	// Profiles are extra DLP profiles by topic ID: a match of a profile
	// reports its topic (an EDM dataset of customer records, for example,
	// under content_customer_data).
	Profiles map[string]*dlp.Profile
	// ScanTimeout bounds the DLP scan of one field (default 1 s); a scan
	// that runs out is reported as a low-confidence content topic reason
	// only, never as clean.
	ScanTimeout time.Duration
}

// Classifier classifies inputs. It is built once and is safe for
// concurrent use.
type Classifier struct {
	engine  *dlp.Engine
	profile *dlp.Profile
	extra   map[string]*dlp.Profile
	entries map[string]string // DLP entry ID -> topic
	custom  map[string]CustomTopic
	// phraseGroups maps a phrase key to the lists holding it.
	phraseGroups map[string][]string
	intent       *intent.Classifier
	hasNames     bool
}

// Entry IDs of this package's own DLP entries.
const (
	entryCustomerNames   = "customer_names"
	entryCustomerContext = "customer_context"
	entryFinancialCtx    = "financial_context"
	entryMoney           = "money_amount"
	customPrefix         = "custom:"
	entryPhrases         = "ai_phrases"
)

// phraseKey is how a phrase list term and a matched phrase are compared:
// ASCII lower case, blanks collapsed.
func phraseKey(s string) string {
	b := make([]byte, 0, len(s))
	space := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			space = len(b) > 0
			continue
		case c >= 'A' && c <= 'Z':
			c |= 0x20
		}
		if space {
			b = append(b, ' ')
			space = false
		}
		b = append(b, c)
	}
	return string(b)
}

// customerContext are phrases that place a prompt in a customer's
// confidential context; one alone is not enough (see contentTopics).
var customerContext = []string{"customer list", "client list", "list of customers", "list of our customers", "customer database",
	"customer records", "customer data", "client data", "CRM export", "Salesforce export", "HubSpot export", "account list",
	"customer account", "customer accounts", "client account", "account number", "contract value", "annual contract value", "ACV",
	"renewal date", "churn risk", "customer contract", "client contract", "master services agreement", "MSA", "statement of work", "SOW",
	"purchase order", "our customer", "our client", "our customers", "our clients", "key account", "enterprise customer",
	"customer's", "client's", "under NDA", "NDA", "confidential", "pricing agreement", "discount for", "support ticket", "case number"}

// financialContext are phrases of confidential business figures; with an
// amount of money they make content_financial.
var financialContext = []string{"revenue", "revenue forecast", "EBITDA", "earnings", "quarterly results", "unreleased", "before the announcement",
	"profit margin", "gross margin", "operating income", "net income", "balance sheet", "cash flow", "burn rate", "runway", "valuation",
	"acquisition", "merger", "M&A", "board deck", "budget", "forecast", "guidance", "payroll", "salary bands", "bonus pool", "cap table",
	"term sheet", "investor update", "P&L", "profit and loss"}

var topicOfProfile = map[string]string{
	dlp.ProfileNationalIDs: ContentPII,
	dlp.ProfilePII:         ContentPII,
	dlp.ProfileCredentials: ContentCredentials,
	dlp.ProfileSourceCode:  ContentSourceCode,
	dlp.ProfileFinancial:   ContentFinancial, // last: a payment card is financial
}

// New builds a classifier.
func New(opts Options) (*Classifier, error) {
	c := &Classifier{entries: map[string]string{}, custom: map[string]CustomTopic{}, extra: opts.Profiles, intent: intent.New()}
	var entries []*dlp.Entry
	seen := map[string]bool{}
	for _, name := range []string{dlp.ProfileNationalIDs, dlp.ProfilePII, dlp.ProfileCredentials, dlp.ProfileSourceCode, dlp.ProfileFinancial} {
		p, err := dlp.PredefinedProfile(name)
		if err != nil {
			return nil, fmt.Errorf("ai: %w", err)
		}
		for _, e := range p.Entries {
			c.entries[e.ID] = topicOfProfile[name]
			if !seen[e.ID] {
				seen[e.ID] = true
				entries = append(entries, e)
			}
		}
	}
	// Every phrase list goes into one word-list entry, so the text is
	// searched once; a match is credited to its lists by the phrase.
	c.phraseGroups = map[string][]string{}
	var terms []string
	add := func(id string, list []string, topic string) error {
		c.entries[id] = topic
		for _, t := range list {
			k := phraseKey(t)
			if len(c.phraseGroups[k]) == 0 {
				terms = append(terms, t)
			}
			if !slices.Contains(c.phraseGroups[k], id) {
				c.phraseGroups[k] = append(c.phraseGroups[k], id)
			}
		}
		return nil
	}
	if err := add(entryCustomerContext, customerContext, ContentCustomerData); err != nil {
		return nil, err
	}
	if err := add(entryFinancialCtx, financialContext, ContentFinancial); err != nil {
		return nil, err
	}
	if names := nonEmpty(opts.CustomerNames); len(names) > 0 {
		if err := add(entryCustomerNames, names, ContentCustomerData); err != nil {
			return nil, err
		}
		c.hasNames = true
	}
	for _, t := range opts.CustomTopics {
		if t.ID == "" || slices.Contains(TopicIDs, t.ID) {
			return nil, fmt.Errorf("ai: custom topic %q: needs an ID of its own", t.ID)
		}
		if _, dup := c.custom[t.ID]; dup {
			return nil, fmt.Errorf("ai: custom topic %q defined twice", t.ID)
		}
		if len(nonEmpty(t.Phrases)) == 0 {
			return nil, fmt.Errorf("ai: custom topic %q: no phrases", t.ID)
		}
		if t.MinMatches <= 0 {
			t.MinMatches = 1
		}
		c.custom[t.ID] = t
		if err := add(customPrefix+t.ID, nonEmpty(t.Phrases), t.ID); err != nil {
			return nil, err
		}
	}
	phrases, err := dlp.NewWordListEntry(entryPhrases, terms, false)
	if err != nil {
		return nil, fmt.Errorf("ai: %w", err)
	}
	entries = append(entries, phrases)
	for id, p := range opts.Profiles {
		if p == nil {
			return nil, errors.New("ai: nil profile for topic " + id)
		}
	}
	c.profile = dlp.NewProfile("AI prompt topics", dlp.Low, 0, entries...)
	timeout := opts.ScanTimeout
	if timeout <= 0 {
		timeout = time.Second
	}
	// Prompts are small: a small window keeps a 2 KiB scan cheap.
	c.engine = dlp.NewEngine(dlp.Options{ChunkSize: 4 << 10, MaxFindings: 200, MaxDuration: timeout, MaxDecodedBytes: 16 << 20})
	return c, nil
}

func nonEmpty(l []string) []string {
	var out []string
	for _, s := range l {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// Result is the full outcome of a classification.
type Result struct {
	Topics []Topic `json:"topics"`
	// Incomplete means the DLP engine could not read all of the input (an
	// undecodable or truncated layer, a budget exceeded): the content
	// topics may be missing some. Callers enforcing policy must treat it as
	// a match (fail closed).
	Incomplete bool     `json:"incomplete,omitempty"`
	Reasons    []string `json:"incomplete_reasons,omitempty"`
}

// Classify returns the topics of an input, ordered by ID. Use
// ClassifyResult to learn whether the content scan was complete.
func (c *Classifier) Classify(in Input) []Topic { return c.ClassifyResult(in).Topics }

// ClassifyResult classifies an input and reports whether the content scan
// could read all of it.
func (c *Classifier) ClassifyResult(in Input) Result {
	var res Result
	acc := map[string]*contentAcc{}
	for _, f := range [2]struct{ name, text string }{{intent.FieldPrompt, in.Prompt}, {intent.FieldContext, in.Context}} {
		if f.text == "" {
			continue
		}
		c.scan(f.name, f.text, c.profile, "", acc, &res)
		if acc[entryFinancialCtx] != nil {
			if sp := moneySpans(f.name, f.text); len(sp) > 0 {
				get(acc, entryMoney).spans = append(get(acc, entryMoney).spans, sp...)
			}
		}
		for topic, p := range c.extra {
			c.scan(f.name, f.text, p, topic, acc, &res)
		}
	}
	out := c.contentTopics(acc, nil)
	for _, v := range c.intent.Classify(in.Prompt, in.Context) {
		out = append(out, Topic{ID: v.Topic, Confidence: v.Confidence, Family: v.Family, Reasons: v.Reasons, Spans: v.Spans})
	}
	slices.SortFunc(out, func(a, b Topic) int { return strings.Compare(a.ID, b.ID) })
	res.Topics = out
	return res
}

// contentAcc gathers DLP findings by entry.
type contentAcc struct {
	conf    dlp.Confidence
	spans   []Span
	phrases map[string]bool
	n       int
	reason  string
}

func (c *Classifier) scan(field, text string, p *dlp.Profile, topic string, acc map[string]*contentAcc, res *Result) {
	v, err := c.engine.Scan(context.Background(), strings.NewReader(text), p)
	if err != nil || v.Incomplete {
		res.Incomplete = true
		if len(v.Reasons) == 0 {
			res.Reasons = appendUnique(res.Reasons, field+": not fully inspected")
		}
		for _, r := range v.Reasons {
			res.Reasons = appendUnique(res.Reasons, field+": "+r)
		}
	}
	for _, f := range v.Findings {
		if f.Example {
			continue
		}
		if f.Entry == entryPhrases && topic == "" {
			if len(f.Path) != 0 || f.Start < 0 || f.End > int64(len(text)) || f.Start >= f.End {
				continue // a phrase in a decoded layer: its words are not at hand
			}
			m := text[f.Start:f.End]
			for _, g := range c.phraseGroups[phraseKey(m)] {
				a := get(acc, g)
				a.n++
				a.conf = max(a.conf, f.Confidence)
				if len(a.spans) < 8 {
					a.spans = append(a.spans, Span{Field: field, Start: int(f.Start), End: int(f.End)})
				}
				if a.phrases == nil {
					a.phrases = map[string]bool{}
				}
				a.phrases[strings.ToLower(m)] = true
			}
			continue
		}
		id := f.Entry
		if topic != "" {
			id = "profile:" + topic + ":" + f.Entry
		}
		a := get(acc, id)
		a.n++
		if f.Confidence > a.conf {
			a.conf = f.Confidence
		}
		if len(f.Path) == 0 && f.Start >= 0 && f.End <= int64(len(text)) && f.Start < f.End {
			if len(a.spans) < 8 {
				a.spans = append(a.spans, Span{Field: field, Start: int(f.Start), End: int(f.End)})
			}
			if a.phrases == nil {
				a.phrases = map[string]bool{}
			}
			a.phrases[strings.ToLower(text[f.Start:f.End])] = true
		} else if len(f.Path) > 0 {
			a.reason = "found after decoding (" + strings.Join(f.Path, " ") + ")"
		}
	}
}

func get(acc map[string]*contentAcc, id string) *contentAcc {
	a := acc[id]
	if a == nil {
		a = &contentAcc{}
		acc[id] = a
	}
	return a
}

// contentTopics turns DLP findings into topics. Context lists need
// company: customer phrases count with a customer name, a second distinct
// phrase or personal data; financial phrases count with an amount of money.
func (c *Classifier) contentTopics(acc map[string]*contentAcc, out []Topic) []Topic {
	byTopic := map[string]*Topic{}
	conf := map[string]dlp.Confidence{}
	add := func(topic, family, reason string, cf dlp.Confidence, spans []Span) {
		t := byTopic[topic]
		if t == nil {
			t = &Topic{ID: topic, Family: family}
			byTopic[topic] = t
		}
		if cf > conf[topic] {
			conf[topic] = cf
			t.Family = family
		}
		t.Reasons = appendUnique(t.Reasons, reason)
		for _, s := range spans {
			if len(t.Spans) < 8 {
				t.Spans = append(t.Spans, s)
			}
		}
	}
	var ids []string
	for id := range acc {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	piiSeen := false
	for _, id := range ids {
		if c.entries[id] == ContentPII {
			piiSeen = true
		}
	}
	for _, id := range ids {
		a := acc[id]
		why := func(s string) string {
			if a.reason != "" {
				return s + "; " + a.reason
			}
			return s
		}
		switch {
		case strings.HasPrefix(id, "profile:"):
			parts := strings.SplitN(id, ":", 3)
			add(parts[1], parts[2], why("DLP entry "+parts[2]+" matched"), a.conf, a.spans)
		case id == entryCustomerContext:
			switch {
			case acc[entryCustomerNames] != nil:
				// reported with the names below
			case len(a.phrases) >= 2:
				add(ContentCustomerData, id, "confidential customer context ("+strings.Join(keys(a.phrases), ", ")+")", dlp.Medium, a.spans)
			case piiSeen:
				add(ContentCustomerData, id, "customer context with personal data", dlp.Medium, a.spans)
			}
		case id == entryCustomerNames:
			cf := dlp.Medium
			why := "names a customer (" + strings.Join(keys(a.phrases), ", ") + ")"
			if acc[entryCustomerContext] != nil || piiSeen {
				cf = dlp.High
				why += " in a customer or personal-data context"
			}
			add(ContentCustomerData, id, why, cf, a.spans)
		case id == entryFinancialCtx:
			if m := acc[entryMoney]; m != nil {
				add(ContentFinancial, id, "confidential business figures ("+strings.Join(keys(a.phrases), ", ")+" with amounts)", dlp.Medium, append(a.spans, m.spans...))
			}
		case id == entryMoney:
		case strings.HasPrefix(id, customPrefix):
			t := c.custom[strings.TrimPrefix(id, customPrefix)]
			if len(a.phrases) >= t.MinMatches {
				add(t.ID, "phrase_list", "custom topic phrases ("+strings.Join(keys(a.phrases), ", ")+")", dlp.Medium, a.spans)
			}
		default:
			topic := c.entries[id]
			if topic == "" {
				continue
			}
			add(topic, id, why("DLP entry "+id+" matched"), a.conf, a.spans)
		}
	}
	for id, t := range byTopic {
		t.Confidence = conf[id].String()
		out = append(out, *t)
	}
	return out
}

// moneySpans finds amounts of money: a currency sign next to a number
// ("$4.2", "€ 900", "12 500 €") or a number followed by a currency or
// magnitude word ("4 million", "300 USD").
func moneySpans(field, text string) []Span {
	var out []Span
	isDigit := func(i int) bool { return i >= 0 && i < len(text) && text[i] >= '0' && text[i] <= '9' }
	for _, sign := range []string{"$", "€", "£", "¥"} {
		for off := 0; len(out) < 8; {
			i := strings.Index(text[off:], sign)
			if i < 0 {
				break
			}
			at := off + i
			end := at + len(sign)
			if end < len(text) && text[end] == ' ' {
				end++
			}
			if isDigit(end) || isDigit(at-1) || at >= 2 && text[at-1] == ' ' && isDigit(at-2) {
				out = append(out, Span{Field: field, Start: at, End: at + len(sign)})
			}
			off = at + len(sign)
		}
	}
	lb := []byte(text)
	for i, c := range lb {
		if c >= 'A' && c <= 'Z' {
			lb[i] = c | 0x20 // ASCII only: offsets stay those of text
		}
	}
	lower := string(lb)
	for _, w := range []string{" million", " billion", " usd", " eur", " gbp", " chf", " dollars", " euros", "k ", "m "} {
		for off := 0; len(out) < 8; {
			i := strings.Index(lower[off:], w)
			if i < 0 {
				break
			}
			at := off + i
			if isDigit(at - 1) {
				out = append(out, Span{Field: field, Start: at, End: at + len(w)})
			}
			off = at + len(w)
		}
	}
	return out
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func appendUnique(l []string, s string) []string {
	if slices.Contains(l, s) {
		return l
	}
	return append(l, s)
}
