package gateway

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse/internal/ai"
	"github.com/gatehouse/gatehouse/internal/ai/extract"
	"github.com/gatehouse/gatehouse/internal/ai/promptlog"
	"github.com/gatehouse/gatehouse/internal/gateway/rules"
)

// PromptLogger keeps captured prompts, encrypted (package promptlog's Writer).
type PromptLogger interface {
	Log(ctx context.Context, e promptlog.Entry, p promptlog.Payload) error
}

// maxPromptBody bounds the decompressed body an adapter reads.
const maxPromptBody = 8 << 20

// inspectPrompt reads the prompt of a request an adapter reads (package ai: the caller checked
// Known) from its scanned body and classifies it into topics; the body phase adds the AI
// prompt profiles they match to dlp.profiles. It returns nil when no adapter reads it. A body
// the adapter could not read (unparsed, too large, an encoding it cannot undo) is incomplete
// when the application's fail mode is closed.
func (g *Gateway) inspectPrompt(r *http.Request, e *entry, whole []byte) *ai.PromptVerdict {
	path := r.URL.Path
	var body []byte
	ok := whole != nil
	if ok {
		body, ok = ai.DecodeBody(whole, r.Header.Get("Content-Encoding"), maxPromptBody)
	}
	if !ok {
		// Not read whole, or compressed in a way this step does not undo: nothing to extract.
		body = nil
	}
	v, known := g.prompts.Inspect(extract.HTTPRequest{Method: r.Method, Host: e.dest.Host, Path: path,
		Query: r.URL.Query(), Header: r.Header, Body: body})
	if !known {
		return nil
	}
	if !ok && v.Request.Unparsed == nil {
		// An empty body read in place of one that could not be decoded must not pass for a
		// clean prompt.
		v.Incomplete = true
	}
	return v
}

// capturesPrompts reports whether rule asks for payload logging (rule_settings.payload_log):
// for AI prompts, the prompt and the response are kept, encrypted.
func capturesPrompts(rule *rules.CompiledRule) bool {
	return rule != nil && rule.RuleSettings.PayloadLog != nil && rule.RuleSettings.PayloadLog.Enabled
}

// promptCapture is a prompt the deciding rule captures (payload_log): logged when the request
// ends, with the answer reassembled from the response as it streamed to the client.
type promptCapture struct {
	verdict  *ai.PromptVerdict
	decision rules.Decision
	size     int64
	answer   *extract.Stream
}

// teeAnswer reassembles the answer of a captured prompt from resp's body as it is copied to
// the client (never buffered); a compressed body is not read (the request went out without
// Accept-Encoding, so a destination that compresses anyway is logged without its answer).
func (g *Gateway) teeAnswer(c *promptCapture, resp *http.Response) {
	if resp.Body == nil || resp.Body == http.NoBody || g.prompts == nil {
		return
	}
	if ce := strings.ToLower(resp.Header.Get("Content-Encoding")); ce != "" && ce != "identity" {
		return
	}
	s := g.prompts.ResponseStream(c.verdict, resp.Header.Get("Content-Type"))
	if s == nil {
		return
	}
	c.answer = s
	resp.Body = extract.NewTee(resp.Body, s)
}

// logPrompt keeps a captured prompt, encrypted to the organisation's key, with who sent it,
// the application, the topics, the decision and the answer when one was read.
func (g *Gateway) logPrompt(ctx context.Context, e *entry, c *promptCapture) {
	v, d := c.verdict, c.decision
	if g.promptLog == nil || v == nil || v.Request == nil || v.Request.Unparsed != nil {
		return
	}
	le, p := promptlog.FromVerdict(v)
	le.Time, le.RequestID, le.BytesUp = e.start, e.requestID, c.size
	le.App = promptlog.App{Name: e.appName, Status: e.appStatus, Type: "Artificial Intelligence"}
	le.Policy = promptlog.Policy{ID: d.RuleID(), Name: d.RuleName(), Action: d.Action}
	if e.appID != 0 {
		le.App.ID = strconv.Itoa(e.appID)
	}
	if e.id != nil {
		le.User = promptlog.User{Email: e.id.Email, Groups: e.id.Groups}
		le.DeviceID = e.id.DeviceID
		if e.id.ClientIP.IsValid() {
			le.SrcIP = e.id.ClientIP.String()
		}
	}
	if c.answer != nil {
		_ = c.answer.Close() // a cut stream: what was read
		if res := c.answer.Result(); res != nil {
			p.Response = res.Text
			if le.Model == "" {
				le.Model = res.Model
			}
			if le.ConversationID == "" {
				le.ConversationID = res.ConversationID
			}
		}
	}
	if err := g.promptLog.Log(ctx, le, p); err != nil {
		// The writer counts and reports its drops; the request goes on.
		g.log.DebugContext(ctx, "gateway: prompt not logged", "request_id", e.requestID, "err", err)
	}
}

// logPromptVerdict adds the topics to the request's "gateway dlp"-style line for prompts.
func (g *Gateway) logPromptVerdict(ctx context.Context, e *entry, v *ai.PromptVerdict, d rules.Decision) {
	if v == nil || (len(v.Topics) == 0 && !v.Incomplete) {
		return
	}
	ids := make([]string, len(v.Topics))
	for i, t := range v.Topics {
		ids[i] = t.ID + ":" + t.Confidence
	}
	attrs := []slog.Attr{slog.String("request_id", e.requestID), slog.String("host", e.dest.Host),
		slog.String("adapter", v.Request.Adapter), slog.String("rule_id", d.RuleID()), slog.String("action", d.Action),
		slog.Any("topics", ids), slog.Any("profiles", v.Profiles), slog.Bool("incomplete", v.Incomplete)}
	if v.Request.Unparsed != nil {
		attrs = append(attrs, slog.String("unparsed", v.Request.Unparsed.Reason))
	}
	g.log.LogAttrs(ctx, slog.LevelWarn, "gateway ai prompt", attrs...)
}
