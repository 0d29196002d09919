package gateway

import (
	"context"
	"encoding/base64"
	"log/slog"
	"net/http"
	"time"

	"github.com/gatehouse/gatehouse/internal/ai"
	"github.com/gatehouse/gatehouse/internal/gateway/rules"
	"github.com/gatehouse/gatehouse/internal/gateway/upload"
)

// DefaultUploadTimeout bounds the scans of one request body.
const DefaultUploadTimeout = 30 * time.Second

// incompleteReason is the block page's reason when a body could not be inspected whole.
const incompleteReason = "The upload could not be fully inspected, so it was not sent."

// checkUpload runs the body phase for an allowed request: when some body rule can still match,
// it scans the body (package upload: file types, size and the DLP profiles the rules name),
// evaluates the body rules, and answers blocks and redirects itself. A scan that could not
// inspect the whole body fails closed on the block rules that could still match
// (rules.Policy.EvaluateBodyIncomplete; rule_settings.scan_failure opts a rule out). It reports
// whether the request may go on; the request's body is then the scanned one, replayed.
func (g *Gateway) checkUpload(w http.ResponseWriter, r *http.Request, e *entry, pol *Policy, st *evalState, site string) bool {
	if pol.Rules == nil || r.Body == nil || r.Body == http.NoBody {
		return true
	}
	bodyRules := pol.Rules.Needs().Body() && pol.Rules.MayMatch(rules.PhaseBody, rules.PhaseRequest, &st.in)
	// A request to an AI application whose request-phase rule captures payloads is read too:
	// its prompt is logged (encrypted) even when no body rule could match.
	prompt := g.prompts != nil && g.prompts.Known(r.Method, e.dest.Host, r.URL.Path)
	capture := prompt && capturesPrompts(e.rule) && g.promptLog != nil
	if !bodyRules && !capture {
		return true
	}
	if g.uploads == nil {
		if !bodyRules {
			return true
		}
		// A body rule may match and nothing can scan: fail closed.
		e.reason = "dlp-unavailable"
		g.block(w, r, e, rules.Decision{Action: rules.ActionBlock, Phase: rules.PhaseBody}, site, incompleteReason)
		return false
	}
	ctx, cancel := context.WithTimeout(r.Context(), DefaultUploadTimeout)
	defer cancel()
	ids := pol.DLPProfiles
	if !bodyRules {
		ids = nil // only the prompt is wanted
	}
	res, body, err := g.uploads.Scan(ctx, r.Body, upload.Hints{ContentType: r.Header.Get("Content-Type"),
		ContentEncoding: r.Header.Get("Content-Encoding")}, ids)
	r.Body = body
	// The scan buffer counts against the scanner's budget until the body is closed: the
	// transport closes it once forwarded, and nothing does when the request is blocked, so it
	// is closed when the request ends either way (Close is idempotent).
	context.AfterFunc(r.Context(), func() { _ = body.Close() })
	if !res.Incomplete && err == nil {
		// The whole body is in memory: forward it with its length.
		r.ContentLength = res.Size
		r.TransferEncoding = nil
		r.Header.Del("Transfer-Encoding")
	}
	var verdict *ai.PromptVerdict
	if prompt {
		verdict = g.inspectPrompt(r, e, body.Whole())
	}
	in := &st.in
	in.BodyPhase = "upload"
	in.UploadFileSize = res.Size
	if r.ContentLength > res.Size {
		in.UploadFileSize = r.ContentLength // a body larger than was scanned
	}
	in.UploadFileTypes = res.FileTypes
	in.DLPProfiles = res.MatchedProfiles
	incomplete := res.Incomplete || err != nil
	if verdict != nil {
		in.DLPProfiles = append(in.DLPProfiles, verdict.Profiles...)
		incomplete = incomplete || verdict.Incomplete
	}
	d := rules.Decision{}
	if bodyRules {
		if incomplete {
			d = pol.Rules.EvaluateBodyIncomplete(in)
		} else {
			d = pol.Rules.EvaluateBody(in)
		}
		g.logFindings(r.Context(), e, d, res)
	}
	deciding := d
	if !d.Matched() {
		deciding = rules.Decision{Rule: e.rule, Action: e.action}
	}
	g.logPromptVerdict(r.Context(), e, verdict, deciding)
	if capturesPrompts(deciding.Rule) && verdict != nil && g.promptLog != nil {
		// Logged when the request ends, with the answer when there is one (checkResponse
		// reassembles it as it streams to the client, uncompressed for that).
		e.capture = &promptCapture{verdict: verdict, decision: deciding, size: res.Size}
		r.Header.Del("Accept-Encoding")
	}
	if !d.Matched() || d.Action == rules.ActionAllow {
		if d.Matched() {
			e.noteDecision(d)
		}
		return true
	}
	e.noteDecision(d)
	if d.Incomplete {
		e.reason = "dlp-incomplete"
		g.block(w, r, e, d, site, incompleteReason)
		return false
	}
	return g.enforce(w, r, e, d, site)
}

// logFindings writes one "gateway dlp" line for a body whose scan matched a profile or was
// incomplete: the profiles, file types, why the scan was incomplete, and each finding
// (redacted; its payload, encrypted to dlp.payload_log.public_key, only when the deciding rule
// has payload_log enabled).
func (g *Gateway) logFindings(ctx context.Context, e *entry, d rules.Decision, res upload.Result) {
	if len(res.MatchedProfiles) == 0 && !res.Incomplete {
		return
	}
	payloads := d.Rule != nil && d.Rule.RuleSettings.PayloadLog != nil && d.Rule.RuleSettings.PayloadLog.Enabled
	findings := make([]map[string]any, 0, len(res.Findings))
	for _, f := range res.Findings {
		m := map[string]any{"entry": f.Entry, "profile": f.Profile, "confidence": f.Confidence.String(),
			"path": f.Path, "sample": f.Sample}
		if payloads && len(f.Payload) > 0 {
			m["payload"] = base64.StdEncoding.EncodeToString(f.Payload)
		}
		findings = append(findings, m)
	}
	g.log.LogAttrs(ctx, slog.LevelWarn, "gateway dlp",
		slog.String("request_id", e.requestID), slog.String("host", e.dest.Host),
		slog.String("rule_id", d.RuleID()), slog.String("action", d.Action),
		slog.Any("profiles", res.MatchedProfiles), slog.Any("file_types", res.FileTypes), slog.Int64("size", res.Size),
		slog.Bool("incomplete", res.Incomplete), slog.Any("reasons", res.Reasons), slog.Any("findings", findings))
}
