package gateway

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"time"

	"github.com/gatehouse/gatehouse/internal/gateway/applib"
	"github.com/gatehouse/gatehouse/internal/gateway/rules"
)

// entry collects what the gateway's log line says about one request or tunnel.
type entry struct {
	start  time.Time
	client netip.Addr
	id     *Identity
	method string
	// kind is the request's form: "connect", "http" (absolute form) or "local" (origin form).
	kind string
	dest Destination
	// status is the status answered (200 for an established tunnel), outcome what happened
	// ("forwarded", "tunnel", "intercepted", "refused", "local"), reason why it was refused.
	status  int
	outcome string
	reason  string
	// Set by the HTTP policies and the application library: the destination's application
	// (0 when the library does not know the host), its review status, the rule that decided
	// ("" for the default action), the action taken, and what the request was (prompt, upload
	// or other).
	appID     int
	appName   string
	appStatus string
	ruleID    string
	ruleName  string
	action    string
	category  string
	up, down  int64

	// requestID is the request's reference id (on the block page and in the log). The HTTP
	// policies add the outcomes "blocked" and "redirected"; kind "https" is a request
	// decrypted from an inspected tunnel.
	requestID string
	// appLooked: the policies looked the destination up in the library (found or not), so
	// the log line need not look again; rule is the deciding rule (nil for the default).
	appLooked bool
	rule      *rules.CompiledRule
	// capture is the AI prompt the deciding rule captures, logged when the request ends.
	capture *promptCapture
	// lineStart, when set, is the log handler with the line's first six
	// attributes already encoded (Tunnel.lineStart), and linePrefix the same six encoded for
	// Options.RequestLines: the entry's own values of them are the same.
	lineStart  slog.Handler
	linePrefix []byte
}

// lineStart returns the handler of the log lines of t's decrypted requests (kind "https"):
// g.log's, with the attributes every such line starts with encoded once for the tunnel, as
// slog's handlers do for Logger.With, so that each line encodes only the rest. The lines are
// the same as without it. It is nil for a tunnel without an identity.
func (t *Tunnel) lineStart() (slog.Handler, []byte) {
	id := t.Identity
	if id == nil {
		return nil, nil
	}
	t.lineOnce.Do(func() {
		client := id.ClientIP.String()
		if t.g.lines != nil {
			t.linePrefix = appendLineStart(nil, client, id.UserID, id.Email, id.ServiceTokenID, id.Location, "https")
			return
		}
		t.lineHandler = t.g.log.Handler().WithAttrs([]slog.Attr{
			slog.String("client", client), slog.String("user", id.UserID), slog.String("email", id.Email),
			slog.String("service_token", id.ServiceTokenID), slog.String("location", id.Location),
			slog.String("kind", "https")})
	})
	return t.lineHandler, t.linePrefix
}

func (e *entry) refuse(status int, reason string) {
	e.status, e.outcome, e.reason = status, "refused", reason
}

// logEntry writes the one log line of a request or tunnel (message "gateway request"), in the
// shape of the reverse proxy's access log: time, client, identity, location, method,
// destination, status, outcome, reason, bytes up and down, duration, device, the application
// and its review status, the deciding rule and action, the request's category and its
// reference id. Every line is also handed to the EventSink (Shadow-AI discovery).
func (g *Gateway) logEntry(ctx context.Context, e *entry, rec *recorder) {
	status := e.status
	if status == 0 {
		status = rec.status
	}
	down := rec.bytes // a response the gateway wrote or forwarded
	if e.outcome == "tunnel" || e.outcome == "intercepted" {
		down = e.down
	}
	var user, email, token, location, device string
	if e.id != nil {
		user, email, token, location, device = e.id.UserID, e.id.Email, e.id.ServiceTokenID, e.id.Location, e.id.DeviceID
	} else {
		location = g.locations.lookup(e.client)
	}
	g.identifyApp(e)
	g.metrics.observe(e, status)
	level := slog.LevelInfo
	if e.outcome == "refused" || e.outcome == "blocked" {
		level = slog.LevelWarn
	}
	if g.log.Enabled(ctx, level) && g.lines != nil {
		prefix := e.linePrefix
		if prefix == nil {
			var start [256]byte
			prefix = appendLineStart(start[:0], e.client.String(), user, email, token, location, e.kind)
		}
		writeRequestLine(g.lines, time.Now(), level, prefix, e, status, down, device)
	} else if g.log.Enabled(ctx, level) {
		// The record is built here rather than by Logger.LogAttrs: the attributes are added
		// from an array on the stack in one call, and no caller's program counter is taken
		// (the handlers Gatehouse configures report no source), which was a fifth of the line.
		// The attributes that vary within a tunnel (see lineStart); the line's first six
		// (client to kind) are encoded here only when the tunnel has not encoded them already.
		rest := [...]slog.Attr{
			slog.String("method", e.method), slog.String("host", e.dest.Host), slog.Int("port", int(e.dest.Port)),
			slog.Int("status", status), slog.String("outcome", e.outcome), slog.String("reason", e.reason),
			slog.Int64("bytes_up", e.up), slog.Int64("bytes_down", down),
			slog.Duration("duration", time.Since(e.start)),
			slog.String("device", device), slog.Int("app_id", e.appID), slog.String("app", e.appName),
			slog.String("app_status", e.appStatus), slog.String("rule_id", e.ruleID), slog.String("rule_name", e.ruleName),
			slog.String("action", e.action), slog.String("category", e.category), slog.String("request_id", e.requestID)}
		r := slog.NewRecord(time.Now(), level, "gateway request", 0)
		h := e.lineStart
		if h == nil {
			h = g.log.Handler()
			r.AddAttrs(slog.String("client", e.client.String()), slog.String("user", user), slog.String("email", email),
				slog.String("service_token", token), slog.String("location", location),
				slog.String("kind", e.kind))
		}
		r.AddAttrs(rest[:]...)
		_ = h.Handle(ctx, r)
	}
	g.emit(e, status, down, user, email, token, location, device)
	if e.capture != nil {
		g.logPrompt(ctx, e, e.capture)
	}
}

// identifyApp fills the entry's application from the application library when the policies
// have not (the request's destination host; the first match: core hostnames before support
// ones, then by id), and its status with "unreviewed" when none is set. Lookup does not
// allocate for the gateway's normalised host names.
func (g *Gateway) identifyApp(e *entry) {
	if !e.appLooked && e.appID == 0 && g.apps != nil && e.dest.Host != "" {
		if ms := g.apps.Lookup(e.dest.Host); len(ms) > 0 {
			e.appID, e.appName = ms[0].App.ID, ms[0].App.Name
			if p := g.policy.Load(); p != nil && e.appStatus == "" {
				e.appStatus = string(p.Reviews.Status(e.appID))
			}
		}
	}
	if e.appStatus == "" {
		e.appStatus = string(applib.StatusUnreviewed)
	}
}

// recorder records the status and size of a response and passes Flush and Hijack through.
type recorder struct {
	http.ResponseWriter
	entry  *entry
	status int
	bytes  int64
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 && code >= 200 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(b)
	r.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach Flush, Hijack and deadlines.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// Flush implements http.Flusher (streamed responses).
func (r *recorder) Flush() { _ = http.NewResponseController(r.ResponseWriter).Flush() }

// Hijack implements http.Hijacker (protocol switches forwarded by httputil.ReverseProxy).
func (r *recorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	h, ok := r.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("gateway: hijack not supported")
	}
	if r.status == 0 {
		r.status = http.StatusSwitchingProtocols
	}
	return h.Hijack()
}

// countingReader counts the bytes of a request body.
type countingReader struct {
	rc io.ReadCloser
	n  int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.rc.Read(p)
	c.n += int64(n)
	return n, err
}

func (c *countingReader) Close() error { return c.rc.Close() }
