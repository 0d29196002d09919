package rules

import (
	"cmp"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"golang.org/x/net/http/httpguts"
)

// Actions (Cloudflare's API values).
const (
	ActionAllow    = "allow"
	ActionBlock    = "block"
	ActionRedirect = "redirect"
	// ActionOff is Do Not Inspect: the connection is tunnelled without TLS decryption.
	ActionOff = "off"
)

// Scan-failure actions (rule_settings.scan_failure.action): what a body rule does when the body
// could not be scanned whole (too large, encrypted, undecodable, cancelled).
const (
	// ScanFailureBlock (the default): a block rule whose other conditions hold blocks the
	// request, as if its body conditions had matched (fail closed).
	ScanFailureBlock = "block"
	// ScanFailureAllow: the rule is evaluated on what was scanned, as if the scan were complete.
	ScanFailureAllow = "allow"
)

// Untrusted-certificate actions (rule_settings.untrusted_cert.action).
const (
	UntrustedError       = "error"
	UntrustedBlock       = "block"
	UntrustedPassThrough = "pass_through"
)

// Rule is one HTTP policy in Cloudflare's API shape, so that a rule exported from Cloudflare
// reads the same here.
type Rule struct {
	ID          string `json:"id" yaml:"id"`
	Name        string `json:"name" yaml:"name"`
	Description string `json:"description,omitempty" yaml:"description,omitempty"`
	// Precedence orders evaluation: lowest first; equal precedences keep configuration order.
	Precedence int    `json:"precedence" yaml:"precedence"`
	Enabled    bool   `json:"enabled" yaml:"enabled"`
	Action     string `json:"action" yaml:"action"`
	// Filters is ["http"] (or empty, meaning the same).
	Filters []string `json:"filters,omitempty" yaml:"filters,omitempty"`
	// Traffic, Identity and DevicePosture are expressions ANDed together; empty is true.
	Traffic       string       `json:"traffic,omitempty" yaml:"traffic,omitempty"`
	Identity      string       `json:"identity,omitempty" yaml:"identity,omitempty"`
	DevicePosture string       `json:"device_posture,omitempty" yaml:"device_posture,omitempty"`
	RuleSettings  RuleSettings `json:"rule_settings" yaml:"rule_settings"`
}

// RuleSettings are the per-action settings of a rule.
type RuleSettings struct {
	// BlockPageEnabled shows the block page (for block); otherwise the connection gets a bare
	// refusal.
	BlockPageEnabled bool   `json:"block_page_enabled,omitempty" yaml:"block_page_enabled,omitempty"`
	BlockReason      string `json:"block_reason,omitempty" yaml:"block_reason,omitempty"`
	// BlockPage overrides the block page with a redirect to TargetURI (block only).
	BlockPage *BlockPageSettings `json:"block_page,omitempty" yaml:"block_page,omitempty"`
	// AddHeaders are added to the request upstream (allow only), e.g. tenant-control headers.
	AddHeaders    map[string][]string    `json:"add_headers,omitempty" yaml:"add_headers,omitempty"`
	Redirect      *RedirectSettings      `json:"redirect,omitempty" yaml:"redirect,omitempty"`
	PayloadLog    *PayloadLogSettings    `json:"payload_log,omitempty" yaml:"payload_log,omitempty"`
	UntrustedCert *UntrustedCertSettings `json:"untrusted_cert,omitempty" yaml:"untrusted_cert,omitempty"`
	// ScanFailure says what a body rule does when the body could not be scanned whole
	// (a Gatehouse extension; default: block).
	ScanFailure *ScanFailureSettings `json:"scan_failure,omitempty" yaml:"scan_failure,omitempty"`
}

// ScanFailureSettings say what a block rule of the body phase does when the scan of the body is
// incomplete: block (default) or allow (evaluate the rule on what was scanned).
type ScanFailureSettings struct {
	Action string `json:"action" yaml:"action"`
}

// BlockPageSettings send blocked browsers to an external page.
type BlockPageSettings struct {
	TargetURI      string `json:"target_uri" yaml:"target_uri"`
	IncludeContext bool   `json:"include_context,omitempty" yaml:"include_context,omitempty"`
}

// RedirectSettings are the target of a redirect rule.
type RedirectSettings struct {
	TargetURI string `json:"target_uri" yaml:"target_uri"`
	// IncludeContext adds the policy context (rule id, user, site…) as query parameters.
	IncludeContext bool `json:"include_context,omitempty" yaml:"include_context,omitempty"`
	// PreservePathAndQuery appends the original path and query to the target.
	PreservePathAndQuery bool `json:"preserve_path_and_query,omitempty" yaml:"preserve_path_and_query,omitempty"`
}

// PayloadLogSettings turn on logging of DLP matches' payloads (encrypted to the admin key).
type PayloadLogSettings struct {
	Enabled bool `json:"enabled" yaml:"enabled"`
}

// UntrustedCertSettings say what an allow rule does when the origin's certificate is not
// trusted: error (default), block or pass_through.
type UntrustedCertSettings struct {
	Action string `json:"action" yaml:"action"`
}

// Options configure Compile.
type Options struct {
	// Lists are the named lists referenced as $name.
	Lists Lists
	// DefaultAction is the action when no rule matches: allow (the default when empty) or block.
	DefaultAction string
}

// CompiledRule is a rule with its expressions compiled.
type CompiledRule struct {
	Rule
	// Index is the rule's position in the configuration.
	Index int
	// Phase is the latest phase whose fields the rule uses; the rule is evaluated then.
	Phase                            Phase
	traffic, identity, devicePosture *Expression
	needs                            uint64
}

// Match reports whether all three expressions match in.
func (r *CompiledRule) Match(in *Input) bool {
	return r.traffic.root.eval(in) && r.identity.root.eval(in) && r.devicePosture.root.eval(in)
}

// mayMatch is Match with only the fields of phases up to known: false when the rule cannot
// match whatever the later fields hold.
func (r *CompiledRule) mayMatch(in *Input, known Phase) bool {
	return r.traffic.root.eval3(in, known) != triFalse &&
		r.identity.root.eval3(in, known) != triFalse &&
		r.devicePosture.root.eval3(in, known) != triFalse
}

// Policy is a compiled, immutable rule set; safe for concurrent use.
type Policy struct {
	rules         []*CompiledRule // enabled rules by precedence
	connect       []*CompiledRule // enabled off rules
	phases        [PhaseBody + 1][]*CompiledRule
	defaultAction string
	needs         NeedSet
	lists         Lists
}

// Compile validates rules and compiles their expressions. It reports every problem at once, as
// Errors whose Field paths use the YAML/JSON names ("rules[2].traffic"). Disabled rules are
// checked too but never evaluated.
func Compile(rs []Rule, opts Options) (*Policy, error) {
	var errs Errors
	add := func(i int, id, field, format string, args ...any) {
		errs = append(errs, &Error{Field: fmt.Sprintf("rules[%d]", i) + field, RuleID: id, Msg: fmt.Sprintf(format, args...)})
	}
	p := &Policy{defaultAction: cmp.Or(opts.DefaultAction, ActionAllow), lists: opts.Lists}
	if p.defaultAction != ActionAllow && p.defaultAction != ActionBlock {
		errs = append(errs, &Error{Field: "default_action", Msg: fmt.Sprintf("must be allow or block, not %q", opts.DefaultAction)})
	}
	ids := make(map[string]int, len(rs))
	var all []*CompiledRule
	for i := range rs {
		r := rs[i]
		cr := &CompiledRule{Rule: r, Index: i}
		switch prev, dup := ids[r.ID]; {
		case strings.TrimSpace(r.ID) == "":
			add(i, r.ID, ".id", "missing id")
		case dup:
			add(i, r.ID, ".id", "duplicate id %q (also rules[%d])", r.ID, prev)
		default:
			ids[r.ID] = i
		}
		switch r.Action {
		case ActionAllow, ActionBlock, ActionRedirect, ActionOff:
		case "isolate", "noisolate", "noscan", "quarantine":
			add(i, r.ID, ".action", "action %q is not supported by the Gatehouse gateway (use allow, block, redirect or off)", r.Action)
		default:
			add(i, r.ID, ".action", "unknown action %q (use allow, block, redirect or off)", r.Action)
		}
		for j, f := range r.Filters {
			if f != "http" {
				add(i, r.ID, fmt.Sprintf(".filters[%d]", j), "only http rules are supported, not %q", f)
			}
		}
		ok := true
		for _, ex := range []struct {
			name string
			src  string
			dst  **Expression
		}{{"traffic", r.Traffic, &cr.traffic}, {"identity", r.Identity, &cr.identity}, {"device_posture", r.DevicePosture, &cr.devicePosture}} {
			x, pe := compileExpr(ex.src, opts.Lists, r.Action == ActionAllow)
			if pe != nil {
				errs = append(errs, &Error{Field: fmt.Sprintf("rules[%d].%s", i, ex.name), RuleID: r.ID, Expr: exprError(ex.src, pe), Msg: pe.msg})
				ok = false
				continue
			}
			*ex.dst = x
			cr.Phase = max(cr.Phase, x.phase)
			cr.needs |= x.needs
		}
		if ok && r.Action == ActionOff && cr.Phase != PhaseConnect {
			for _, ex := range []struct {
				name string
				x    *Expression
			}{{"traffic", cr.traffic}, {"identity", cr.identity}, {"device_posture", cr.devicePosture}} {
				if ex.x.phase != PhaseConnect {
					add(i, r.ID, "."+ex.name, "a Do Not Inspect (off) rule is decided before decryption and cannot use %s", strings.Join(decryptedFields(ex.x.needs), ", "))
				}
			}
		}
		validateSettings(cr, func(field, format string, args ...any) { add(i, r.ID, ".rule_settings"+field, format, args...) })
		all = append(all, cr)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	slices.SortStableFunc(all, func(a, b *CompiledRule) int { return cmp.Compare(a.Precedence, b.Precedence) })
	for _, cr := range all {
		if !cr.Enabled {
			continue
		}
		p.rules = append(p.rules, cr)
		if cr.Action == ActionOff {
			p.connect = append(p.connect, cr)
			p.needs.fields |= cr.needs
			continue
		}
		ph := max(cr.Phase, PhaseRequest)
		p.phases[ph] = append(p.phases[ph], cr)
		p.needs.fields |= cr.needs
		p.needs.phases |= 1 << ph
	}
	if len(p.connect) > 0 {
		p.needs.phases |= 1 << PhaseConnect
	}
	return p, nil
}

// decryptedFields names the fields in needs that are known only after decryption.
func decryptedFields(needs uint64) []string {
	var out []string
	for i, f := range fieldList {
		if needs&(1<<i) != 0 && f.Phase != PhaseConnect {
			out = append(out, f.Name)
		}
	}
	return out
}

func validateSettings(cr *CompiledRule, add func(field, format string, args ...any)) {
	s := cr.RuleSettings
	action := cr.Action
	if len(s.AddHeaders) > 0 && action != ActionAllow {
		add(".add_headers", "add_headers applies only to allow rules")
	}
	names := make([]string, 0, len(s.AddHeaders))
	for name := range s.AddHeaders {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if !httpguts.ValidHeaderFieldName(name) {
			add(".add_headers", "invalid header name %q", name)
		}
		for j, v := range s.AddHeaders[name] {
			if !httpguts.ValidHeaderFieldValue(v) {
				add(fmt.Sprintf(".add_headers[%q][%d]", name, j), "invalid header value")
			}
		}
	}
	switch {
	case action == ActionRedirect && (s.Redirect == nil || s.Redirect.TargetURI == ""):
		add(".redirect.target_uri", "a redirect rule needs a target_uri")
	case action == ActionRedirect:
		if msg := checkTarget(s.Redirect.TargetURI); msg != "" {
			add(".redirect.target_uri", "%s", msg)
		}
	case s.Redirect != nil:
		add(".redirect", "redirect applies only to redirect rules")
	}
	if s.BlockPage != nil {
		if action != ActionBlock {
			add(".block_page", "block_page applies only to block rules")
		} else if msg := checkTarget(s.BlockPage.TargetURI); msg != "" {
			add(".block_page.target_uri", "%s", msg)
		}
	}
	if (s.BlockPageEnabled || s.BlockReason != "") && action != ActionBlock {
		add(".block_page_enabled", "block page settings apply only to block rules")
	}
	if s.UntrustedCert != nil {
		switch {
		case action != ActionAllow:
			add(".untrusted_cert", "untrusted_cert applies only to allow rules")
		case s.UntrustedCert.Action != UntrustedError && s.UntrustedCert.Action != UntrustedBlock && s.UntrustedCert.Action != UntrustedPassThrough:
			add(".untrusted_cert.action", "must be error, block or pass_through, not %q", s.UntrustedCert.Action)
		}
	}
	if s.ScanFailure != nil {
		switch {
		case cr.Phase != PhaseBody:
			add(".scan_failure", "scan_failure applies only to rules that use body fields (dlp.profiles, http.upload.file.*, http.body_phase)")
		case s.ScanFailure.Action != ScanFailureBlock && s.ScanFailure.Action != ScanFailureAllow:
			add(".scan_failure.action", "must be block or allow, not %q", s.ScanFailure.Action)
		}
	}
	if s.PayloadLog != nil && s.PayloadLog.Enabled && action != ActionAllow && action != ActionBlock {
		add(".payload_log", "payload_log applies only to allow and block rules")
	}
}

// checkTarget returns why u is not an absolute http(s) URL, or "".
func checkTarget(u string) string {
	pu, err := url.Parse(u)
	if err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" || pu.User != nil {
		return fmt.Sprintf("target_uri %q must be an absolute http or https URL", u)
	}
	return ""
}

// Decision is the outcome of evaluating a phase.
type Decision struct {
	// Action is the action of Rule, or the default action when Rule is nil.
	Action string
	// Rule made the decision; nil when no rule matched (the default).
	Rule *CompiledRule
	// Phase is the phase that was evaluated.
	Phase Phase
	// Incomplete is set when a block rule blocked because the body could not be scanned whole
	// (EvaluateBodyIncomplete), not because its body conditions matched.
	Incomplete bool
}

// Matched reports whether a rule made the decision.
func (d Decision) Matched() bool { return d.Rule != nil }

// RuleID is the id of the deciding rule, or "".
func (d Decision) RuleID() string {
	if d.Rule == nil {
		return ""
	}
	return d.Rule.ID
}

// RuleName is the name of the deciding rule, or "".
func (d Decision) RuleName() string {
	if d.Rule == nil {
		return ""
	}
	return d.Rule.Name
}

// Rules returns the enabled rules in evaluation order.
func (p *Policy) Rules() []*CompiledRule { return p.rules }

// DefaultAction is the action when no rule matches.
func (p *Policy) DefaultAction() string { return p.defaultAction }

// EvaluateConnect runs the Do Not Inspect (off) rules in precedence order before decryption; the
// first that matches says not to inspect. in needs only connect-phase fields. ok is false when no
// off rule matched (then decrypt and go on with EvaluateRequest).
func (p *Policy) EvaluateConnect(in *Input) (d Decision, ok bool) {
	for _, r := range p.connect {
		if r.Match(in) {
			return Decision{Action: ActionOff, Rule: r, Phase: PhaseConnect}, true
		}
	}
	return Decision{Phase: PhaseConnect}, false
}

// EvaluateRequest runs the allow, block and redirect rules that need nothing later than the
// request headers: first match by ascending precedence; no match is the default action.
// For plain HTTP there is no connect phase: call EvaluateRequest directly.
func (p *Policy) EvaluateRequest(in *Input) Decision { return p.evaluate(PhaseRequest, in) }

// EvaluateResponse runs the rules that use response fields (http.response.status_code), first
// match; no match keeps the request's decision (Matched is false).
func (p *Policy) EvaluateResponse(in *Input) Decision { return p.evaluate(PhaseResponse, in) }

// EvaluateBody runs the rules that use body-scan fields (dlp.profiles, http.upload.file.*,
// http.body_phase), after the body was scanned with the results in in: first match; no match
// keeps the earlier decision (Matched is false).
//
// Cloudflare's quirk, kept here: body rules run even when a header-phase allow rule matched, so
// a request logged as allowed by that rule can still be blocked by a later DLP rule. The caller
// logs the header-phase decision and, when EvaluateBody matches a block, blocks and logs that
// too.
func (p *Policy) EvaluateBody(in *Input) Decision { return p.evaluate(PhaseBody, in) }

// BlockedAtConnect reports whether every request of a tunnel is blocked or redirected by what is
// known at CONNECT (in holds the connect-phase fields only), and by which decision: no Do Not
// Inspect rule matches, and in precedence order the first allow, block or redirect rule that
// matches is a connect-phase block or redirect, with no request-phase rule before it that could
// still match once the request is known (or nothing can match and the default action is block).
// The gateway then answers without resolving the destination. When ok is false the decision
// needs more than the connect phase, or is not a block.
func (p *Policy) BlockedAtConnect(in *Input) (d Decision, ok bool) {
	if _, off := p.EvaluateConnect(in); off {
		return Decision{}, false
	}
	for _, r := range p.phases[PhaseRequest] {
		if r.Phase != PhaseConnect {
			if r.mayMatch(in, PhaseConnect) {
				return Decision{}, false
			}
			continue
		}
		if r.Match(in) {
			if r.Action == ActionBlock || r.Action == ActionRedirect {
				return Decision{Action: r.Action, Rule: r, Phase: PhaseRequest}, true
			}
			return Decision{}, false
		}
	}
	if p.defaultAction == ActionBlock {
		return Decision{Action: ActionBlock, Phase: PhaseRequest}, true
	}
	return Decision{}, false
}

// MayMatch reports whether some rule evaluated in phase ph could match, given in with the
// fields of the phases up to known filled: false means no rule of that phase can match whatever
// the later fields turn out to be. The proxy uses it to skip work: after the request headers,
// p.MayMatch(PhaseBody, PhaseRequest, in) false means no upload body needs scanning for this
// request (with PhaseResponse as known, for a download body).
func (p *Policy) MayMatch(ph, known Phase, in *Input) bool {
	for _, r := range p.phases[ph] {
		if r.mayMatch(in, known) {
			return true
		}
	}
	return false
}

// EvaluateBodyIncomplete runs the body-phase rules when the body could not be scanned whole;
// in holds what was scanned. In precedence order: a block rule whose scan_failure is block (the
// default) and whose conditions may still hold with the body fields unknown blocks, with
// Incomplete set (fail closed), unless it matches what was scanned (then it decides as usual);
// any other rule decides when it matches what was scanned.
func (p *Policy) EvaluateBodyIncomplete(in *Input) Decision {
	for _, r := range p.phases[PhaseBody] {
		if r.Match(in) {
			return Decision{Action: r.Action, Rule: r, Phase: PhaseBody}
		}
		failClosed := r.Action == ActionBlock && (r.RuleSettings.ScanFailure == nil || r.RuleSettings.ScanFailure.Action != ScanFailureAllow)
		if failClosed && r.mayMatch(in, PhaseResponse) {
			return Decision{Action: ActionBlock, Rule: r, Phase: PhaseBody, Incomplete: true}
		}
	}
	return Decision{Phase: PhaseBody}
}

func (p *Policy) evaluate(ph Phase, in *Input) Decision {
	for _, r := range p.phases[ph] {
		if r.Match(in) {
			return Decision{Action: r.Action, Rule: r, Phase: ph}
		}
	}
	if ph == PhaseRequest {
		return Decision{Action: p.defaultAction, Phase: ph}
	}
	return Decision{Phase: ph}
}

// NeedSet says which fields and phases a policy's enabled rules use, so that the proxy does only
// the work the rules need.
type NeedSet struct {
	fields uint64
	phases uint8
}

// Needs returns what the policy's enabled rules use.
func (p *Policy) Needs() NeedSet { return p.needs }

// Field reports whether some rule uses the named field.
func (n NeedSet) Field(name string) bool {
	f := fields[name]
	return f != nil && n.fields&(1<<fieldIndex(f)) != 0
}

// Phase reports whether some rule is evaluated in phase ph.
func (n NeedSet) Phase(ph Phase) bool { return n.phases&(1<<ph) != 0 }

// Connect reports whether there are Do Not Inspect rules to run before decryption.
func (n NeedSet) Connect() bool { return n.Phase(PhaseConnect) }

// Decrypt reports whether some allow/block/redirect rule uses a field known only after TLS
// decryption (URL, method, controls, response or body fields).
func (n NeedSet) Decrypt() bool {
	return n.Phase(PhaseBody) || n.Phase(PhaseResponse) || n.fields&n.decryptMask() != 0
}

func (NeedSet) decryptMask() uint64 {
	var m uint64
	for i, f := range fieldList {
		if f.Phase != PhaseConnect {
			m |= 1 << i
		}
	}
	return m
}

// Body reports whether request or response bodies must be scanned (some rule uses a body
// field).
func (n NeedSet) Body() bool { return n.Phase(PhaseBody) }

// DLP reports whether some rule uses dlp.profiles.
func (n NeedSet) DLP() bool { return n.Field("dlp.profiles") }

// Identity reports whether some rule uses an identity.* or device field.
func (n NeedSet) Identity() bool {
	for i, f := range fieldList {
		if n.fields&(1<<i) != 0 && (strings.HasPrefix(f.Name, "identity.") || strings.HasPrefix(f.Name, "device")) {
			return true
		}
	}
	return false
}

// Fields lists the names of the fields some rule uses, in reference order.
func (n NeedSet) Fields() []string {
	var out []string
	for i, f := range fieldList {
		if n.fields&(1<<i) != 0 {
			out = append(out, f.Name)
		}
	}
	return out
}
