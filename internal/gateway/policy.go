package gateway

import (
	"crypto/rand"
	"encoding/hex"
	"math"
	"net/http"
	"net/netip"
	"net/textproto"
	"slices"
	"strings"
	"sync"

	"github.com/gatehouse/gatehouse/internal/gateway/applib"
	"github.com/gatehouse/gatehouse/internal/gateway/rules"
)

// Policy is what the gateway enforces: the compiled HTTP policies (gateway.rules), the
// application library and the review statuses (gateway.app_reviews). It is immutable; the
// gateway swaps it whole (SetPolicy) when the configuration changes.
type Policy struct {
	Rules   *rules.Policy
	Catalog *applib.Catalog
	Reviews applib.ReviewSet
	// DLPProfiles are the ids of the DLP profiles bodies are scanned with: those the rules
	// compare dlp.profiles with (Rules.FieldStrings("dlp.profiles")).
	DLPProfiles []string
	// Scores are the applications' confidence scores in hundredths of a point, by application
	// id (app.confidence_scores, app.gen_ai_scores); see ScoresOf.
	Scores map[int]AppScores
}

// AppScores are an application's two confidence scores in hundredths of a point; GenAI is
// meaningful only for AI applications (AI).
type AppScores struct {
	Posture, GenAI int
	AI             bool
}

// ScoresOf computes every application's confidence scores once, for Policy.Scores.
func ScoresOf(cat *applib.Catalog, evidence applib.ResolvedEvidence) map[int]AppScores {
	out := make(map[int]AppScores, len(cat.Apps()))
	for _, a := range cat.Apps() {
		c := cat.Confidence(a, evidence)
		out[a.ID] = AppScores{Posture: int(math.Round(c.Posture.Total * 100)), GenAI: int(math.Round(c.AI.Total * 100)), AI: c.AI.Applicable}
	}
	return out
}

// SetPolicy replaces the policy enforced from the next request on (nil: allow everything).
func (g *Gateway) SetPolicy(p *Policy) { g.policy.Store(p) }

// Policy returns the policy enforced now (nil when none).
func (g *Gateway) Policy() *Policy { return g.policy.Load() }

// evalState is one request's rule input with the buffers that back its arrays, pooled so that
// evaluating a request does not allocate them.
type evalState struct {
	in       rules.Input
	apps     [4]int
	support  [4]int
	types    [4]int
	statuses [4]string
	controls [8]int
	scores   [4]int
	aiScores [4]int
	// app is the application the request is logged under (a core match first), status its
	// review status.
	app    *applib.App
	status applib.Status
}

var evalStates = sync.Pool{New: func() any { return new(evalState) }}

func getEvalState() *evalState { return evalStates.Get().(*evalState) }

func putEvalState(st *evalState) {
	st.in = rules.Input{}
	st.app, st.status = nil, ""
	clear(st.statuses[:])
	evalStates.Put(st)
}

// fillConnect fills the fields known before decryption: destination, addresses, identity,
// location and the application of the host.
func (st *evalState) fillConnect(p *Policy, id *Identity, d Destination, dst netip.Addr) {
	in := &st.in
	in.Host = d.Host
	in.DstIP = dst
	if id != nil {
		in.SrcIP = id.ClientIP
		in.Location = id.Location
		in.Email = id.Email
		in.GroupNames = id.Groups
		in.Name = id.Name
		in.IdP = id.IdP
		in.GroupIDs = id.GroupIDs
		in.GroupEmails = id.GroupEmails
		in.SAMLAttributes = id.SAMLAttributes
		in.ServiceTokenID = id.ServiceTokenID
		in.DeviceID = id.DeviceID
	}
	in.AppIDs, in.SupportAppIDs, in.AppTypeIDs, in.AppStatuses = st.apps[:0], st.support[:0], st.types[:0], st.statuses[:0]
	in.AppConfidenceScores, in.AppGenAIScores = st.scores[:0], st.aiScores[:0]
	if p == nil || p.Catalog == nil || d.IsIP() {
		return
	}
	var firstSupport *applib.App
	for _, m := range p.Catalog.Lookup(d.Host) {
		if m.Support {
			in.SupportAppIDs = append(in.SupportAppIDs, m.App.ID)
			if firstSupport == nil {
				firstSupport = m.App
			}
			continue
		}
		status := p.Reviews.Status(m.App.ID)
		in.AppIDs = append(in.AppIDs, m.App.ID)
		if !slices.Contains(in.AppTypeIDs, m.App.TypeID) {
			in.AppTypeIDs = append(in.AppTypeIDs, m.App.TypeID)
		}
		if !slices.Contains(in.AppStatuses, string(status)) {
			in.AppStatuses = append(in.AppStatuses, string(status))
		}
		if sc, ok := p.Scores[m.App.ID]; ok {
			in.AppConfidenceScores = append(in.AppConfidenceScores, sc.Posture)
			if sc.AI {
				in.AppGenAIScores = append(in.AppGenAIScores, sc.GenAI)
			}
		}
		if st.app == nil {
			st.app, st.status = m.App, status
		}
	}
	if st.app == nil && firstSupport != nil {
		st.app, st.status = firstSupport, p.Reviews.Status(firstSupport.ID)
	}
}

// fillRequest fills the fields of the request line: URL, path, query, method and the
// application controls the request matches. url is the full URL.
func (st *evalState) fillRequest(p *Policy, r *http.Request, url string) {
	in := &st.in
	in.URL = url
	in.Path = r.URL.Path
	in.Query = r.URL.RawQuery
	in.PathAndQuery = r.URL.RequestURI()
	in.Method = r.Method
	in.AppControls = st.controls[:0]
	if p == nil || p.Catalog == nil || len(in.AppIDs) == 0 {
		return
	}
	for _, id := range in.AppIDs {
		if a := p.Catalog.App(id); a != nil {
			in.AppControls = a.AppendControlIDs(in.AppControls, r.Method, in.Host, in.Path)
		}
	}
}

// category says what a request was, from the application controls it matched: "upload",
// "prompt" or "other".
func (st *evalState) category(p *Policy) string {
	if p == nil || p.Catalog == nil {
		return "other"
	}
	cat := "other"
	for _, id := range st.in.AppControls {
		_, ct := p.Catalog.Control(id)
		if ct == nil {
			continue
		}
		switch ct.Name {
		case "upload":
			return "upload"
		case "prompt":
			cat = "prompt"
		}
	}
	return cat
}

// noteApp records the request's application on its log entry.
func (e *entry) noteApp(st *evalState) {
	e.appLooked = true
	if st.app != nil {
		e.appID, e.appName, e.appStatus = st.app.ID, st.app.Name, string(st.status)
	}
}

// noteDecision records the deciding rule and action on the log entry.
func (e *entry) noteDecision(d rules.Decision) {
	e.ruleID, e.ruleName, e.action, e.rule = d.RuleID(), d.RuleName(), d.Action, d.Rule
}

// connectDecision decides a tunnel that is not decrypted: the Do Not Inspect rules first
// (action off), then the first allow, block or redirect rule, in precedence order, whose
// fields are all known before decryption. Rules that need decrypted fields cannot be
// evaluated for such a tunnel and are skipped; no match is the default action.
func connectDecision(p *rules.Policy, in *rules.Input) rules.Decision {
	if d, ok := p.EvaluateConnect(in); ok {
		return d
	}
	for _, r := range p.Rules() {
		if r.Action == rules.ActionOff || r.Phase != rules.PhaseConnect {
			continue
		}
		if r.Match(in) {
			return rules.Decision{Action: r.Action, Rule: r, Phase: rules.PhaseConnect}
		}
	}
	return rules.Decision{Action: p.DefaultAction(), Phase: rules.PhaseConnect}
}

// applyAddHeaders sets the allow rule's add_headers on the outgoing request. A header the rule
// sets replaces whatever the client sent under that name, so that a client cannot add its own
// tenant-control value next to the organisation's.
func applyAddHeaders(h http.Header, d rules.Decision) {
	if d.Rule == nil || d.Action != rules.ActionAllow {
		return
	}
	for name, values := range d.Rule.RuleSettings.AddHeaders {
		key := textproto.CanonicalMIMEHeaderKey(name)
		delete(h, key)
		if len(values) > 0 {
			// The rule's own values, capped: appending to the field never writes into them.
			h[key] = values[:len(values):len(values)]
		}
	}
}

// newRequestID returns a random reference id for a request (shown on the block page and
// logged).
func newRequestID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// fullURL builds scheme://host[:port]/path?query for the rules (the port only when it is not
// the scheme's default).
func fullURL(scheme string, d Destination, r *http.Request) string {
	return fullURLHost(scheme, hostForHeader(d, scheme), r)
}

// fullURLHost is fullURL with the destination already written as a Host header for scheme.
func fullURLHost(scheme, host string, r *http.Request) string {
	uri := r.URL.RequestURI()
	var b strings.Builder
	b.Grow(len(scheme) + 3 + len(host) + len(uri))
	b.WriteString(scheme)
	b.WriteString("://")
	b.WriteString(host)
	b.WriteString(uri)
	return b.String()
}

// hostForHeader is the destination as a Host header: without the scheme's default port.
func hostForHeader(d Destination, scheme string) string {
	if scheme == "http" && d.Port == 80 || scheme == "https" && d.Port == 443 {
		if isIPv6(d.Host) {
			return "[" + d.Host + "]"
		}
		return d.Host
	}
	return d.String()
}
