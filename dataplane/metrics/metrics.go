// Package metrics defines certgate's Prometheus metrics, on a registry of
// their own so that nothing else in the process can add to or change what
// /metrics serves.
//
// Labels never carry client-controlled values (paths, client addresses,
// certificate hashes): every label value comes from configuration or from a
// fixed set, so the number of series is bounded by configuration.
package metrics

import (
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/certgate/certgate/internal/buildinfo"
)

// Metrics holds every collector certgate exports.
type Metrics struct {
	registry *prometheus.Registry

	// ClientCertRejections counts requests a requirement rejected, or in
	// audit mode would have rejected: namespace, route, rule, reason, mode.
	ClientCertRejections *prometheus.CounterVec
	// ClientCertVerified counts requests that passed a requirement:
	// namespace, route, rule.
	ClientCertVerified *prometheus.CounterVec
	// HTTPRequests counts every request answered: gateway, namespace,
	// route, code.
	HTTPRequests *prometheus.CounterVec
	// HTTPRequestDuration observes request durations: namespace, route.
	HTTPRequestDuration *prometheus.HistogramVec
	// BackendTLSErrors counts failed TLS handshakes with backends:
	// namespace, service, reason.
	BackendTLSErrors *prometheus.CounterVec
	// CertificateExpiry is the NotAfter of each certificate in use, as a
	// Unix time: role (serving, backend-client, ca), namespace, name.
	CertificateExpiry *prometheus.GaugeVec
	// ConfigApplies counts snapshots applied (result="success") or rejected
	// (result="failure").
	ConfigApplies *prometheus.CounterVec
	// ConfigLastApplied is the Unix time of the last applied snapshot.
	ConfigLastApplied prometheus.Gauge
	// ClientCertRetiringPinPasses counts requests that passed only on a
	// retiring pin (a certificate its pinsFrom source has replaced, within
	// keepPrevious): namespace, route, rule. A count that does not fall
	// to zero names the clients yet to pick up their renewed certificate.
	ClientCertRetiringPinPasses *prometheus.CounterVec

	// mu guards the route sets below, which keep the per-route series
	// bounded by the configuration in force (see Retain).
	mu sync.Mutex
	// exported holds every route with series; current those recorded
	// since the last Retain.
	exported, current map[routeKey]bool
}

// routeKey names the series of one route on one gateway.
type routeKey struct{ gateway, namespace, route string }

// New creates the collectors and registers them, with the Go runtime and
// process collectors, on a new registry.
func New() *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		exported: map[routeKey]bool{},
		current:  map[routeKey]bool{},
		ClientCertRejections: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "certgate_clientcert_rejections_total",
			Help: "Requests rejected by a client certificate requirement (mode=\"audit\": that would have been rejected), by reason.",
		}, []string{"namespace", "route", "rule", "reason", "mode"}),
		ClientCertVerified: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "certgate_clientcert_verified_total",
			Help: "Requests whose client certificate satisfied the route's requirement.",
		}, []string{"namespace", "route", "rule"}),
		HTTPRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "certgate_http_requests_total",
			Help: "Requests answered, by status code.",
		}, []string{"gateway", "namespace", "route", "code"}),
		HTTPRequestDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "certgate_http_request_duration_seconds",
			Help:    "Time from the request's headers to the end of the response.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}, []string{"namespace", "route"}),
		BackendTLSErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "certgate_backend_tls_errors_total",
			Help: "TLS handshakes with backends that failed, by reason.",
		}, []string{"namespace", "service", "reason"}),
		CertificateExpiry: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "certgate_certificate_expiry_timestamp_seconds",
			Help: "NotAfter of each certificate in use, as a Unix time.",
		}, []string{"role", "namespace", "name"}),
		ConfigApplies: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "certgate_config_applies_total",
			Help: "Configuration snapshots applied (success) or rejected (failure).",
		}, []string{"result"}),
		ConfigLastApplied: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "certgate_config_last_applied_timestamp_seconds",
			Help: "Unix time of the last configuration snapshot applied.",
		}),
		ClientCertRetiringPinPasses: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "certgate_clientcert_retiring_pin_passes_total",
			Help: "Requests that passed on a retiring pin only: a certificate its pinsFrom source replaced, within keepPrevious.",
		}, []string{"namespace", "route", "rule"}),
	}
	m.registry.MustRegister(
		buildInfo(buildinfo.Read()),
		m.ClientCertRejections, m.ClientCertVerified, m.HTTPRequests, m.HTTPRequestDuration,
		m.BackendTLSErrors, m.CertificateExpiry, m.ConfigApplies, m.ConfigLastApplied,
		m.ClientCertRetiringPinPasses,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	// Both results exist from the start, so a rate() over failures works
	// before the first failure.
	m.ConfigApplies.WithLabelValues("success")
	m.ConfigApplies.WithLabelValues("failure")
	return m
}

// buildInfo is certgate_build_info: always 1, its labels say which build
// runs, so a dashboard can join them onto any other series.
func buildInfo(b buildinfo.Info) prometheus.Collector {
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "certgate_build_info",
		Help: "Always 1; the labels are the version, VCS revision and Go version of the running certgate.",
	}, []string{"version", "revision", "goversion"})
	g.WithLabelValues(b.Version, b.Revision, b.GoVersion).Set(1)
	return g
}

// Registry returns the registry the collectors are on.
func (m *Metrics) Registry() *prometheus.Registry { return m.registry }

// Handler serves the registry in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{Registry: m.registry})
}

// Applied records the outcome of applying a snapshot.
func (m *Metrics) Applied(err error, now time.Time) {
	if err != nil {
		m.ConfigApplies.WithLabelValues("failure").Inc()
		return
	}
	m.ConfigApplies.WithLabelValues("success").Inc()
	m.ConfigLastApplied.Set(float64(now.Unix()))
}

// commonCodes are the status codes given a counter in advance for every
// route, so that recording them is a map read rather than a label lookup.
var commonCodes = []int{
	http.StatusOK, http.StatusCreated, http.StatusNoContent,
	http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther, http.StatusNotModified,
	http.StatusTemporaryRedirect, http.StatusPermanentRedirect,
	http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound,
	http.StatusMisdirectedRequest, http.StatusInternalServerError, http.StatusBadGateway,
	http.StatusServiceUnavailable, http.StatusGatewayTimeout,
}

// RouteRecorder records requests of one route on one gateway. It is built
// once per configuration, so recording a request takes no label lookup for
// the common status codes.
type RouteRecorder struct {
	vec      *prometheus.CounterVec
	labels   [3]string
	codes    map[int]prometheus.Counter
	duration prometheus.Observer
}

// Route returns the recorder for a route. namespace and route are empty for
// requests that matched no route.
func (m *Metrics) Route(gateway, namespace, route string) *RouteRecorder {
	m.mu.Lock()
	k := routeKey{gateway, namespace, route}
	m.exported[k], m.current[k] = true, true
	m.mu.Unlock()
	r := &RouteRecorder{
		vec:      m.HTTPRequests,
		labels:   [3]string{gateway, namespace, route},
		codes:    make(map[int]prometheus.Counter, len(commonCodes)),
		duration: m.HTTPRequestDuration.WithLabelValues(namespace, route),
	}
	for _, code := range commonCodes {
		r.codes[code] = m.HTTPRequests.WithLabelValues(gateway, namespace, route, strconv.Itoa(code))
	}
	return r
}

// Retain deletes the series of every route that no configuration compiled
// since the previous Retain asked a recorder for: the request counters and
// durations, and the client certificate counters of its rules. Call it once
// a snapshot is live. Without it, every route a configuration ever had
// would stay exported, and the number of series would grow with the
// configuration's history rather than be bounded by the configuration.
func (m *Metrics) Retain() {
	m.mu.Lock()
	defer m.mu.Unlock()
	live := map[[2]string]bool{}
	for k := range m.current {
		live[[2]string{k.namespace, k.route}] = true
	}
	for k := range m.exported {
		if m.current[k] {
			continue
		}
		delete(m.exported, k)
		m.HTTPRequests.DeletePartialMatch(prometheus.Labels{"gateway": k.gateway, "namespace": k.namespace, "route": k.route})
		if live[[2]string{k.namespace, k.route}] {
			continue // the route is still served through another gateway
		}
		byRoute := prometheus.Labels{"namespace": k.namespace, "route": k.route}
		m.HTTPRequestDuration.DeletePartialMatch(byRoute)
		m.ClientCertVerified.DeletePartialMatch(byRoute)
		m.ClientCertRejections.DeletePartialMatch(byRoute)
		m.ClientCertRetiringPinPasses.DeletePartialMatch(byRoute)
	}
	m.current = map[routeKey]bool{}
}

// Record counts one answered request and observes its duration.
func (r *RouteRecorder) Record(code int, elapsed time.Duration) {
	c, ok := r.codes[code]
	if !ok {
		c = r.vec.WithLabelValues(r.labels[0], r.labels[1], r.labels[2], strconv.Itoa(code))
	}
	c.Inc()
	r.duration.Observe(elapsed.Seconds())
}

// Server returns an HTTP server for addr that serves the metrics at
// /metrics. It is meant for its own address, apart from traffic listeners.
func (m *Metrics) Server(addr string) *http.Server {
	mux := http.NewServeMux()
	mux.Handle("/metrics", m.Handler())
	return &http.Server{
		Addr:              addr,
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
	}
}
