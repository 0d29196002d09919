package proxy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/gatehouse/gatehouse/internal/ai"
	"github.com/gatehouse/gatehouse/internal/ai/extract"
	"github.com/gatehouse/gatehouse/internal/ai/promptlog"
	"github.com/gatehouse/gatehouse/internal/httpx"
	"github.com/gatehouse/gatehouse/internal/identity"
	"github.com/gatehouse/gatehouse/internal/policy"
	"github.com/gatehouse/gatehouse/internal/snapshot"
	"github.com/gatehouse/gatehouse/internal/store"
)

// PromptInspector is what prompt protection needs of package ai (ai.PromptInspector): which
// requests carry prompts, what their topics are, and how to reassemble the answers.
type PromptInspector interface {
	// Known reports whether an adapter reads requests of this method, host and path.
	Known(method, host, path string) bool
	// Inspect extracts and classifies a request's prompt; ok is false when no adapter reads it.
	Inspect(r extract.HTTPRequest) (v *ai.PromptVerdict, ok bool)
	// ResponseStream reassembles the answer to the request v was made of (nil when v's
	// adapter reads no responses).
	ResponseStream(v *ai.PromptVerdict, contentType string) *extract.Stream
}

// PromptLogger keeps captured prompts, encrypted (package promptlog's Writer).
type PromptLogger interface {
	Log(ctx context.Context, e promptlog.Entry, p promptlog.Payload) error
}

// DefaultMaxPromptBodyBytes bounds the request body prompt protection reads to inspect it.
const DefaultMaxPromptBodyBytes = 8 << 20

// The JSON error a refused prompt gets, in the OpenAI error shape so that API clients show it:
// {"error": {"message": ..., "type": "gatehouse_prompt_blocked", "code": ...}}.
const (
	// PromptErrorType is the error's type.
	PromptErrorType = "gatehouse_prompt_blocked"
	// PromptCodeBlocked: the prompt has a topic in prompt_protection.block_topics.
	PromptCodeBlocked = "prompt_blocked"
	// PromptCodeNotInspected: the prompt could not be read and fail_mode is closed.
	PromptCodeNotInspected = "prompt_not_inspected"
)

// promptAppType is the application type prompt logs give an internal LLM.
const promptAppType = "self_hosted"

// promptCapture is a prompt being captured: the entry is logged once, when the response ends,
// is cut, or never comes.
type promptCapture struct {
	p       *Proxy
	ctx     context.Context
	entry   promptlog.Entry
	payload promptlog.Payload
	verdict *ai.PromptVerdict
	once    sync.Once
}

// log stores the entry with what was reassembled of the response (resp nil: none came).
func (c *promptCapture) log(resp *extract.Response) {
	c.once.Do(func() {
		pl := c.payload
		pl.ResponsePartial = true
		if resp != nil {
			pl.Response = resp.Text
			pl.ResponsePartial = !resp.Complete
			pl.Truncated = pl.Truncated || resp.Truncated
			if c.entry.Model == "" {
				c.entry.Model = resp.Model
			}
			if c.entry.ConversationID == "" {
				c.entry.ConversationID = resp.ConversationID
			}
		}
		if err := c.p.opts.PromptLog.Log(c.ctx, c.entry, pl); err != nil {
			// The writer counts and reports its drops; the response is not disturbed.
			c.p.log.DebugContext(c.ctx, "proxy: prompt not logged", "request_id", c.entry.RequestID, "err", err)
		}
	})
}

// capturedBody passes the response through a tee that reassembles the answer, and logs the
// captured prompt with it when the body is closed (ReverseProxy always closes it, whether the
// response ended or was cut).
type capturedBody struct {
	*extract.Tee
	stream *extract.Stream
	c      *promptCapture
}

func (b *capturedBody) Close() error {
	err := b.Tee.Close()
	b.c.log(b.stream.Result())
	return err
}

// captureResponse reassembles the response of a captured prompt as it streams to the client.
func (c *promptCapture) captureResponse(res *http.Response) {
	s := c.p.opts.Prompts.ResponseStream(c.verdict, res.Header.Get("Content-Type"))
	if s == nil {
		c.log(nil)
		return
	}
	res.Body = &capturedBody{Tee: extract.NewTee(res.Body, s), stream: s, c: c}
}

// protectPrompt runs prompt protection on a request Access allowed to an application with
// prompt_protection enabled. For a request an adapter reads, it reads the body (within
// MaxPromptBodyBytes), classifies the prompt, and refuses it when it has a blocked topic or
// cannot be read and fail_mode is closed (done: the answer is written). Otherwise the request's
// body is replaced by the bytes read, unchanged, and the capture is non-nil when log_prompts
// selects the request.
func (p *Proxy) protectPrompt(w http.ResponseWriter, r *http.Request, app *snapshot.App, path string, res Result,
	client httpx.Client, line *accessLine) (capture *promptCapture, done bool, err error) {
	pp := app.PromptProtection
	host := line.host
	if p.opts.Prompts == nil {
		// Not wired (a test, a build without AI prompt protection): no request can be read.
		return nil, p.promptUnreadable(w, r, app, res, line, "prompt protection unavailable"), nil
	}
	if !p.opts.Prompts.Known(r.Method, host, path) {
		return nil, false, nil
	}
	requestID := httpx.NewRequestID()
	line.ref = requestID
	limit := p.opts.MaxPromptBodyBytes
	if limit <= 0 {
		limit = DefaultMaxPromptBodyBytes
	}
	var body []byte
	if r.Body != nil && r.Body != http.NoBody {
		body, err = io.ReadAll(io.LimitReader(r.Body, limit+1))
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				w.Header().Set("Connection", "close")
				return nil, false, httpx.Errorf(http.StatusRequestEntityTooLarge, "request-body-too-large", "The request body is too large.", err)
			}
			return nil, false, httpx.Errorf(http.StatusBadRequest, "request-body-unreadable", "The request body could not be read.", err)
		}
	}
	if int64(len(body)) > limit {
		if p.promptUnreadable(w, r, app, res, line, fmt.Sprintf("body larger than %d bytes", limit)) {
			return nil, true, nil
		}
		// fail_mode open: the bytes read, then the rest, uninspected.
		r.Body = replayBody{Reader: io.MultiReader(bytes.NewReader(body), r.Body), Closer: r.Body}
		return nil, false, nil
	}
	replay := func() {
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		r.TransferEncoding = nil
		r.Header.Del("Transfer-Encoding")
	}
	decoded, ok := ai.DecodeBody(body, r.Header.Get("Content-Encoding"), limit)
	if !ok {
		replay()
		return nil, p.promptUnreadable(w, r, app, res, line, "content encoding not read"), nil
	}
	v, known := p.opts.Prompts.Inspect(extract.HTTPRequest{Method: r.Method, Host: host, Path: path,
		Query: r.URL.Query(), Header: r.Header, Body: decoded})
	replay()
	if !known {
		return nil, false, nil
	}
	if v.Request.Unparsed != nil {
		return nil, p.promptUnreadable(w, r, app, res, line, v.Request.Unparsed.Reason), nil
	}
	if v.Incomplete {
		// The classifier's content scan could not read all of it (a truncated or undecodable
		// layer): a content topic may be missing, so this is not a clean prompt either.
		return nil, p.promptUnreadable(w, r, app, res, line, "content scan incomplete"), nil
	}
	var blocked []string
	for _, t := range v.Topics {
		if slices.Contains(pp.BlockTopics, t.ID) && !slices.Contains(blocked, t.ID) {
			blocked = append(blocked, t.ID)
		}
	}
	if p.opts.PromptLog != nil && app.Policies.CapturesPrompts(captureInput(res, client)) {
		capture = p.newCapture(r.Context(), app, res, client, requestID, v, int64(len(body)))
	}
	if len(blocked) > 0 {
		p.logPromptBlocked(r.Context(), app, res, requestID, "prompt_protection.block_topics", v, "")
		if capture != nil {
			capture.entry.Policy.Action = "block"
			capture.log(nil)
		}
		line.reasons = append(line.reasons, "prompt-blocked")
		line.refused = true
		msg := pp.BlockMessage
		if msg == "" {
			msg = "Your organization's AI policy does not allow this prompt."
		}
		writePromptError(w, PromptCodeBlocked, fmt.Sprintf("%s (topics: %s; reference: %s)", msg, strings.Join(blocked, ", "), requestID), blocked, requestID)
		return nil, true, nil
	}
	if len(v.Topics) > 0 {
		p.log.LogAttrs(r.Context(), slog.LevelInfo, "proxy ai prompt", promptAttrs(app, res, requestID, v)...)
	}
	return capture, false, nil
}

// replayBody is a request body read in part, then the rest of the original.
type replayBody struct {
	io.Reader
	io.Closer
}

// promptUnreadable applies the application's fail_mode to a request to a prompt endpoint
// whose prompt cannot be read: closed refuses it (and reports true), open lets it go on
// uninspected. Either way a log line says so.
func (p *Proxy) promptUnreadable(w http.ResponseWriter, r *http.Request, app *snapshot.App, res Result, line *accessLine, reason string) bool {
	if line.ref == "" {
		line.ref = httpx.NewRequestID()
	}
	closed := app.PromptProtection.PromptFailsClosed()
	if !closed {
		p.log.LogAttrs(r.Context(), slog.LevelWarn, "proxy ai prompt not inspected",
			slog.String("request_id", line.ref), slog.String("app", app.ID), slog.String("email", res.Email),
			slog.String("setting", "prompt_protection.fail_mode"), slog.String("fail_mode", store.PromptFailOpen),
			slog.String("unparsed", reason))
		return false
	}
	p.logPromptBlocked(r.Context(), app, res, line.ref, "prompt_protection.fail_mode", nil, reason)
	line.reasons = append(line.reasons, "prompt-not-inspected")
	line.refused = true
	writePromptError(w, PromptCodeNotInspected,
		fmt.Sprintf("Gatehouse could not inspect this prompt, so it was not sent (reference: %s).", line.ref), nil, line.ref)
	return true
}

// logPromptBlocked writes the "proxy ai prompt blocked" line: who, which application, the
// setting that refused the prompt, its topics and their rule families; never the prompt.
func (p *Proxy) logPromptBlocked(ctx context.Context, app *snapshot.App, res Result, requestID, setting string, v *ai.PromptVerdict, unparsed string) {
	attrs := []slog.Attr{slog.String("setting", setting)}
	if v != nil {
		attrs = append(attrs, promptAttrs(app, res, requestID, v)...)
	} else {
		attrs = append(attrs, slog.String("request_id", requestID), slog.String("app", app.ID),
			slog.String("email", res.Email), slog.String("unparsed", unparsed))
	}
	p.log.LogAttrs(ctx, slog.LevelWarn, "proxy ai prompt blocked", attrs...)
}

// promptAttrs are a verdict's log attributes: topics as id:confidence, their rule families, the
// AI prompt profiles, the adapter and the model.
func promptAttrs(app *snapshot.App, res Result, requestID string, v *ai.PromptVerdict) []slog.Attr {
	topics := make([]string, len(v.Topics))
	families := make([]string, 0, len(v.Topics))
	for i, t := range v.Topics {
		topics[i] = t.ID + ":" + t.Confidence
		if t.Family != "" && !slices.Contains(families, t.Family) {
			families = append(families, t.Family)
		}
	}
	return []slog.Attr{slog.String("request_id", requestID), slog.String("app", app.ID), slog.String("email", res.Email),
		slog.String("adapter", v.Request.Adapter), slog.String("model", v.Request.Model),
		slog.Any("topics", topics), slog.Any("families", families), slog.Any("profiles", v.Profiles)}
}

// writePromptError answers a refused prompt with 403 and the OpenAI error shape. It never
// echoes the prompt.
func writePromptError(w http.ResponseWriter, code, message string, topics []string, requestID string) {
	type apiError struct {
		Message   string   `json:"message"`
		Type      string   `json:"type"`
		Code      string   `json:"code"`
		Param     *string  `json:"param"`
		Topics    []string `json:"topics,omitempty"`
		RequestID string   `json:"request_id"`
	}
	b, _ := json.Marshal(struct {
		Error apiError `json:"error"`
	}{apiError{Message: message, Type: PromptErrorType, Code: code, Topics: topics, RequestID: requestID}})
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusForbidden)
	_, _ = w.Write(append(b, '\n'))
}

// captureInput is what prompt_protection.log_prompts rules are evaluated on: the allowed
// request's identity, address and service token.
func captureInput(res Result, client httpx.Client) *policy.Input {
	in := &policy.Input{Identity: res.Identity, ClientIP: client.IP, Country: client.Country}
	if res.ServiceTokenID != "" {
		in.ServiceToken = &policy.ServiceTokenInput{ID: res.ServiceTokenID, Valid: true}
	}
	return in
}

// newCapture starts the prompt log entry of a captured prompt.
func (p *Proxy) newCapture(ctx context.Context, app *snapshot.App, res Result, client httpx.Client, requestID string, v *ai.PromptVerdict, size int64) *promptCapture {
	name := app.Name
	if name == "" {
		name = app.ID
	}
	e, pl := promptlog.FromVerdict(v)
	e.Time, e.RequestID, e.BytesUp = p.now(), requestID, size
	e.App = promptlog.App{ID: app.ID, Name: name, Type: promptAppType}
	e.Policy = promptlog.Policy{ID: res.Decision.PolicyID, Name: "prompt_protection", Action: "allow"}
	if res.Identity != nil {
		e.User = promptlog.User{Email: res.Identity.Email, Groups: groupNames(res.Identity.Groups)}
	}
	if client.IP.IsValid() {
		e.SrcIP = client.IP.String()
	}
	// The entry is logged after the response, which may end after the request's context
	// (the client went away): keep its values, not its cancellation.
	return &promptCapture{p: p, ctx: context.WithoutCancel(ctx), entry: e, payload: pl, verdict: v}
}

// groupNames are the names prompt logs keep of an identity's groups (the id or e-mail when a
// group has no name).
func groupNames(gs []identity.Group) []string {
	out := make([]string, 0, len(gs))
	for _, g := range gs {
		switch {
		case g.Name != "":
			out = append(out, g.Name)
		case g.ID != "":
			out = append(out, g.ID)
		case g.Email != "":
			out = append(out, g.Email)
		}
	}
	return out
}
