// Package policy compiles the Access policies of a configuration into an immutable Engine and
// decides requests against it, with Cloudflare Access semantics:
//
//   - a policy matches when any include rule, every require rule and no exclude rule matches;
//   - bypass and service-auth (non_identity) policies run first, in the precedence order of the
//     application's policy links, then allow and deny policies in precedence order; the first
//     match decides and no match denies;
//   - allow and deny policies need a logged-in identity, even with the everyone selector;
//   - service tokens only satisfy service-auth policies.
//
// Every Decision carries machine-readable reasons ("policy-matched", "email_domain-ok",
// "excluded-by-geo", "service-token-expired", ...) for the audit log, the block page and tests.
//
// An Engine is compiled once per configuration version and never changes, so it is safe for
// concurrent use and meant to be swapped atomically on reload. Evaluation does no I/O and does
// not allocate on the allow path.
package policy

import (
	"net/netip"
	"time"

	"github.com/gatehouse/gatehouse/internal/identity"
	"github.com/gatehouse/gatehouse/internal/policy/criteria"
)

// Input is what a decision is made on.
type Input struct {
	// Identity is the logged-in user; nil before login and for machine requests.
	Identity *identity.Identity
	// ClientIP is the client address as determined by the proxy.
	ClientIP netip.Addr
	// Country is the ISO 3166-1 alpha-2 code of ClientIP in upper case; "" when unknown.
	Country string
	// ServiceToken describes the service-token credentials presented; nil when none were.
	ServiceToken *ServiceTokenInput
}

// ServiceTokenInput is the outcome of checking service-token credentials.
type ServiceTokenInput struct {
	// ID is the store.ServiceToken ID the client ID belongs to ("" if it is unknown).
	ID string
	// Valid is set when the secret matched and the token is enabled and not expired.
	Valid bool
	// Reason says why an invalid token was refused, as a kebab-case reason such as
	// "service-token-expired"; "service-token-invalid" is used when it is empty.
	Reason string
}

// Action is what to do with a request. The zero value denies.
type Action uint8

// Actions.
const (
	// ActionDeny refuses the request.
	ActionDeny Action = iota
	// ActionAllow admits the logged-in user.
	ActionAllow
	// ActionBypass admits the request without enforcing Access.
	ActionBypass
	// ActionServiceAuth admits the request because a service-auth (non_identity) policy
	// matched, e.g. for a valid service token.
	ActionServiceAuth
	// ActionLogin is returned by Preflight only: the user must log in before a decision can
	// be made.
	ActionLogin
)

// String returns "deny", "allow", "bypass", "service_auth" or "login".
func (a Action) String() string {
	switch a {
	case ActionAllow:
		return "allow"
	case ActionBypass:
		return "bypass"
	case ActionServiceAuth:
		return "service_auth"
	case ActionLogin:
		return "login"
	default:
		return "deny"
	}
}

// Decision is the outcome of evaluating a request against an application's policies.
type Decision struct {
	Action Action
	// PolicyID is the policy that matched; "" for a default deny and for ActionLogin.
	PolicyID string
	// Reasons are machine-readable, kebab-case explanations (see ReasonPolicyMatched). The
	// slice may be shared between decisions: do not modify its elements.
	Reasons []string
	// SessionDuration is the matching policy's session_duration, 0 if unset.
	SessionDuration time.Duration
}

// Engine is the compiled policy view of one configuration version.
type Engine struct {
	apps map[string]*App
}

// App returns the compiled policies of application appID, or nil if there is no such app.
func (e *Engine) App(appID string) *App {
	if e == nil {
		return nil
	}
	return e.apps[appID]
}

// App is the compiled, ordered policy list of one application.
type App struct {
	id string
	// machine holds the bypass and non_identity policies, human the allow and deny policies,
	// each in ascending precedence. They are copies (sharing their rule slices) rather than
	// pointers, to save a dependent load per policy on the hot path.
	machine     []compiledPolicy
	human       []compiledPolicy
	serviceAuth bool
	// capture selects whose prompts are captured (prompt_protection.log_prompts); nil: nobody's.
	capture *criteria.RuleSet
}

// CapturesPrompts reports whether the application's prompt_protection.log_prompts rules select
// the request: an allowed request, evaluated with its identity (nil for a service token or a
// bypass). Without log_prompts it is false.
func (a *App) CapturesPrompts(in *Input) bool {
	if a == nil || a.capture == nil {
		return false
	}
	if in == nil {
		in = &noInput
	}
	r := request(in)
	return a.capture.Eval(&r).Value == criteria.True
}

type compiledPolicy struct {
	id      string
	action  Action
	session time.Duration
	rules   criteria.RuleSet
	// includeFailed are the "include-failed-<selector>" reasons, one per selector kind.
	includeFailed []string
}

// ID returns the application ID.
func (a *App) ID() string { return a.id }

// HasServiceAuth reports whether the application links a service-auth (non_identity) policy.
func (a *App) HasServiceAuth() bool { return a != nil && a.serviceAuth }

// HasIdentityPolicies reports whether the application links an allow or deny policy, i.e.
// whether logging in can change the outcome.
func (a *App) HasIdentityPolicies() bool { return a != nil && len(a.human) > 0 }

var noInput Input

func request(in *Input) criteria.Request {
	r := criteria.Request{
		Identity: in.Identity,
		Addr:     in.ClientIP.Unmap().WithZone(""),
		Country:  in.Country,
	}
	if t := in.ServiceToken; t != nil && t.Valid {
		r.TokenID, r.TokenValid = t.ID, true
	}
	return r
}

// Evaluate decides a request: bypass and service-auth policies first, then, if in.Identity is
// set, allow and deny policies; the first match wins and no match denies with
// "no-policy-matched". A nil App (unknown application) denies.
func (a *App) Evaluate(in *Input) Decision {
	if a == nil {
		return Decision{Reasons: reasonsNoApplication}
	}
	if in == nil {
		in = &noInput
	}
	r := request(in)
	for i := range a.machine {
		p := &a.machine[i]
		if res := p.rules.Eval(&r); res.Value == criteria.True {
			return matched(p, res, in)
		}
	}
	if in.Identity != nil {
		for i := range a.human {
			p := &a.human[i]
			if res := p.rules.Eval(&r); res.Value == criteria.True {
				return matched(p, res, in)
			}
		}
	}
	return a.explain(in, &r, false)
}

// Preflight decides a request before anyone has logged in: in.Identity is ignored and identity
// selectors are unknown. It returns the matching bypass or service-auth policy's decision; a
// deny when a deny policy matches whoever logs in, or when no allow policy could match any
// identity (the non-identity denial, with its reasons); and ActionLogin otherwise. It never
// returns ActionAllow, and never denies a request that some identity could be allowed for.
func (a *App) Preflight(in *Input) Decision {
	if a == nil {
		return Decision{Reasons: reasonsNoApplication}
	}
	if in == nil {
		in = &noInput
	}
	r := request(in)
	r.Identity, r.IdentityUnknown = nil, true
	for i := range a.machine {
		p := &a.machine[i]
		// Bypass and service-auth policies hold no identity selectors, so the result is never
		// Unknown; only a definite match counts.
		if res := p.rules.Eval(&r); res.Value == criteria.True {
			return matched(p, res, in)
		}
	}
	for i := range a.human {
		p := &a.human[i]
		res := p.rules.Eval(&r)
		switch {
		case p.action == ActionAllow && res.Value != criteria.False:
			// Some identity could be allowed here, unless an earlier deny policy catches
			// it, which only a login can tell.
			return Decision{Action: ActionLogin, Reasons: withToken(reasonsLogin, in)}
		case p.action == ActionDeny && res.Value == criteria.True:
			// Matches whoever logs in.
			return matched(p, res, in)
		}
	}
	return a.explain(in, &r, true)
}

func matched(p *compiledPolicy, res criteria.Result, in *Input) Decision {
	return Decision{
		Action:          p.action,
		PolicyID:        p.id,
		Reasons:         withToken(reasonsMatched[p.rules.Include[res.Index].Kind()], in),
		SessionDuration: p.session,
	}
}

// withToken appends the refusal reason of an invalid service token to static reasons. It only
// allocates when such a token was presented.
func withToken(reasons []string, in *Input) []string {
	t := in.ServiceToken
	if t == nil || t.Valid {
		return reasons
	}
	out := make([]string, len(reasons), len(reasons)+1)
	copy(out, reasons)
	return append(out, tokenReason(t))
}

func tokenReason(t *ServiceTokenInput) string {
	if t.Reason == "" {
		return ReasonServiceTokenInvalid
	}
	return t.Reason
}

// explain builds the default-deny decision. It runs only when nothing matched, so it may
// allocate: it re-evaluates the policies to say why each one failed.
func (a *App) explain(in *Input, r *criteria.Request, preflight bool) Decision {
	var reasons []string
	add := func(s string) {
		for _, have := range reasons {
			if have == s {
				return
			}
		}
		reasons = append(reasons, s)
	}
	add(ReasonNoPolicyMatched)
	if t := in.ServiceToken; t != nil {
		if !t.Valid {
			add(tokenReason(t))
		}
		for i := range a.machine {
			p := &a.machine[i]
			addFailure(p, p.rules.Eval(r), add)
		}
	}
	switch {
	case !preflight && in.Identity == nil:
		if len(a.human) > 0 {
			add(ReasonIdentityRequired)
		}
	default:
		for i := range a.human {
			if p := &a.human[i]; p.action == ActionAllow {
				addFailure(p, p.rules.Eval(r), add)
			}
		}
	}
	if len(reasons) == 1 {
		reasons = reasonsNoMatch
	}
	return Decision{Action: ActionDeny, Reasons: reasons}
}

func addFailure(p *compiledPolicy, res criteria.Result, add func(string)) {
	if res.Value != criteria.False {
		return
	}
	switch res.Stage {
	case criteria.StageInclude:
		for _, s := range p.includeFailed {
			add(s)
		}
	case criteria.StageRequire:
		add(reasonRequireFailed[p.rules.Require[res.Index].Kind()])
	case criteria.StageExclude:
		add(reasonExcludedBy[p.rules.Exclude[res.Index].Kind()])
	}
}
