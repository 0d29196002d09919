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
	}
	reg.MustRegister(m.Requests, m.Duration)
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
	reasons                 []string
	// ref is the reference ID the user was shown (block page), "" when none.
	ref string
}

// logRequest writes one structured access-log line and the metrics for a request.
func (p *Proxy) logRequest(r *http.Request, rec *responseRecorder, l *accessLine, start time.Time) {
	elapsed := time.Since(start)
	outcome, policyID, email, user, serviceToken := "endpoint", "", "", "", ""
	reasons := l.reasons
	if res := l.result; res != nil {
		outcome = res.Outcome.String()
		policyID = res.Decision.PolicyID
		reasons = res.Decision.Reasons
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
	}
	p.log.LogAttrs(r.Context(), slog.LevelInfo, "request",
		slog.String("host", l.host), slog.String("method", l.method), slog.String("path", l.path),
		slog.String("app", l.app), slog.String("user", user), slog.String("email", email),
		slog.String("service_token", serviceToken), slog.String("policy", policyID),
		slog.String("decision", outcome), slog.Any("reasons", reasons),
		slog.Int("status", rec.status), slog.Int64("bytes", rec.bytes),
		slog.Duration("duration", elapsed), slog.String("remote", r.RemoteAddr), slog.String("ref", l.ref))
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
