package gateway

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the gateway's Prometheus metrics.
type Metrics struct {
	// Requests counts requests and tunnels by method kind (connect or http), outcome and status
	// class; Refusals counts refused ones by reason.
	Requests *prometheus.CounterVec
	Refusals *prometheus.CounterVec
	// Tunnels is the number of CONNECT tunnels open now.
	Tunnels prometheus.Gauge
}

// NewMetrics registers the gateway metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_gateway_requests_total",
			Help: "Gateway requests and tunnels by kind (http, connect, local), outcome and status class.",
		}, []string{"kind", "outcome", "code"}),
		Refusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_gateway_refusals_total",
			Help: "Refused gateway requests by reason (proxy-credentials-missing, destination-private, destination-self, ...).",
		}, []string{"reason"}),
		Tunnels: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "gatehouse_gateway_tunnels",
			Help: "CONNECT tunnels open now.",
		}),
	}
	reg.MustRegister(m.Requests, m.Refusals, m.Tunnels)
	return m
}

func (m *Metrics) observe(e *entry, status int) {
	if m == nil {
		return
	}
	class := status / 100
	label := ""
	if class >= 0 && class < len(statusClasses) {
		label = statusClasses[class]
	} else {
		label = strconv.Itoa(class) + "xx"
	}
	m.Requests.WithLabelValues(e.kind, e.outcome, label).Inc()
	if e.outcome == "refused" {
		m.Refusals.WithLabelValues(e.reason).Inc()
	}
}

// statusClasses are the status label values, made once.
var statusClasses = [...]string{"0xx", "1xx", "2xx", "3xx", "4xx", "5xx", "6xx", "7xx", "8xx", "9xx"}
