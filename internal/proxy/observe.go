package proxy

import (
	"bufio"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the proxy's Prometheus metrics.
type Metrics struct {
	Requests *prometheus.CounterVec
	Duration *prometheus.HistogramVec
	// Refusals counts refused requests (not forwarded, or answered by Gatehouse with an error)
	// by application and precise reason; a request with several reasons counts once under each.
	Refusals *prometheus.CounterVec
}

// NewMetrics registers the proxy metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_proxy_requests_total",
			Help: "Requests to protected hosts by application, outcome and status class.",
		}, []string{"app", "outcome", "code"}),
		Duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "gatehouse_proxy_request_duration_seconds",
			Help:    "Time from request to the end of the response, by application.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"app"}),
		Refusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_proxy_refusals_total",
			Help: "Refused requests to protected hosts by application and reason (token-expired, session-revoked, no-policy-matched, ambiguous-path, store-unavailable, ...); a request counts once per reason.",
		}, []string{"app", "reason"}),
	}
	reg.MustRegister(m.Requests, m.Duration, m.Refusals)
	return m
}

var outcomeNames = [...]string{
	OutcomeForward:         "forward",
	OutcomeLogin:           "login",
	OutcomeUnauthorized:    "unauthorized",
	OutcomeDenyIdentity:    "deny",
	OutcomeDenyNonIdentity: "deny_non_identity",
	OutcomeUnavailable:     "unavailable",
}

func (o Outcome) String() string {
	if int(o) < len(outcomeNames) {
		return outcomeNames[o]
	}
	return "unknown"
}

// accessLine collects what the access log line says about a request.
type accessLine struct {
	host, path, method, app string
	result                  *Result
	// reasons are reasons besides the result's: the error the request was answered with, a
	// CORS preflight answered or passed on, an upstream failure.
	reasons []string
	// ref is the reference ID shown on the error or block page of a refused request.
	ref string
	// refused is set when Gatehouse answered with an error (the result's outcome says the rest).
	refused bool
}

// allReasons returns the line's reasons, then the result's. It only allocates when both have
// some (an error after a decision, such as store-unavailable or an upstream failure).
func (l *accessLine) allReasons() []string {
	if l.result == nil {
		return l.reasons
	}
	rr := l.result.Reasons()
	switch {
	case len(l.reasons) == 0:
		return rr
	case len(rr) == 0:
		return l.reasons
	}
	return append(append(make([]string, 0, len(l.reasons)+len(rr)), l.reasons...), rr...)
}

// wasRefused reports whether the request was refused: answered with an error by Gatehouse, or
// decided otherwise than forwarding it.
func (l *accessLine) wasRefused() bool {
	return l.refused || l.result != nil && l.result.Outcome != OutcomeForward
}

// logRequest writes one structured access-log line and the metrics for a request.
func (p *Proxy) logRequest(r *http.Request, rec *responseRecorder, l *accessLine, start time.Time) {
	elapsed := time.Since(start)
	outcome, policyID, email, user, serviceToken := "endpoint", "", "", "", ""
	reasons := l.allReasons()
	if res := l.result; res != nil {
		outcome = res.Outcome.String()
		policyID = res.Decision.PolicyID
		email = res.Email
		if res.Identity != nil {
			user = res.Identity.UserID
			email = res.Identity.Email
		}
		serviceToken = res.ServiceTokenID
	}
	if p.metrics != nil {
		app := l.app
		if app == "" {
			app = "-"
		}
		p.metrics.Requests.WithLabelValues(app, outcome, strconv.Itoa(rec.status/100)+"xx").Inc()
		p.metrics.Duration.WithLabelValues(app).Observe(elapsed.Seconds())
		if l.wasRefused() {
			for _, reason := range reasons {
				p.metrics.Refusals.WithLabelValues(app, reason).Inc()
			}
		}
	}
	p.log.LogAttrs(r.Context(), slog.LevelInfo, "request",
		slog.String("host", l.host), slog.String("method", l.method), slog.String("path", l.path),
		slog.String("app", l.app), slog.String("user", user), slog.String("email", email),
		slog.String("service_token", serviceToken), slog.String("policy", policyID),
		slog.String("decision", outcome), slog.Any("reasons", reasons), slog.String("ref", l.ref),
		slog.Int("status", rec.status), slog.Int64("bytes", rec.bytes),
		slog.Duration("duration", elapsed), slog.String("remote", r.RemoteAddr))
}

// responseRecorder records status and size and passes Flush and Hijack through (SSE, WebSocket).
type responseRecorder struct {
	http.ResponseWriter
	status      int
	bytes       int64
	wroteHeader bool
}

func (r *responseRecorder) WriteHeader(code int) {
	if !r.wroteHeader && code >= 200 {
		r.status = code
		r.wroteHeader = true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *responseRecorder) Write(b []byte) (int, error) {
	r.wroteHeader = true
	n, err := r.ResponseWriter.Write(b)
	r.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach Flush, Hijack and deadlines.
func (r *responseRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// Flush implements http.Flusher.
func (r *responseRecorder) Flush() {
	_ = http.NewResponseController(r.ResponseWriter).Flush()
}

// Hijack implements http.Hijacker (WebSocket upgrades record 101).
func (r *responseRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	h, ok := r.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("hijack not supported")
	}
	r.status = http.StatusSwitchingProtocols
	return h.Hijack()
}
