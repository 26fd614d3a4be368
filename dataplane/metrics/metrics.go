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
	"sync/atomic"
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
	// HTTPRequestDuration observes request durations: gateway, namespace,
	// route, method (a MethodClass) and code (a CodeClass). Its series are
	// created by the first request they record, never in advance: a
	// histogram is 19 series, and most routes of a large configuration
	// serve nothing most of the time.
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
	// Traffic holds the upstream and downstream connection metrics.
	Traffic

	// mu guards the route sets below, which keep the per-route series
	// bounded by the configuration in force (see Retain).
	mu sync.Mutex
	// exported holds the recorder of every route with series, so that a
	// route compiled again gets the recorder it had (and a snapshot of
	// thousands of routes does not allocate thousands of recorders);
	// current holds the routes recorded since the last Retain.
	exported map[routeKey]*RouteRecorder
	current  map[routeKey]bool
}

// routeKey names the series of one route on one gateway.
type routeKey struct{ gateway, namespace, route string }

// New creates the collectors and registers them, with the Go runtime and
// process collectors, on a new registry.
func New() *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		exported: map[routeKey]*RouteRecorder{},
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
		}, []string{"gateway", "namespace", "route", "method", "code"}),
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
	m.registerTraffic()
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

// RouteRecorder records requests of one route on one gateway. It is built
// once per configuration and creates each series the first time a request
// needs it, then keeps it, so recording takes no label lookup after that.
type RouteRecorder struct {
	m      *Metrics
	labels [3]string
	// codes holds the request counter of each status code seen. A map
	// under a lock rather than a sync.Map, whose interface keys would
	// allocate for every code from 256 up.
	mu    sync.RWMutex
	codes map[int]prometheus.Counter
	// durations holds the duration histograms, by method and code class.
	durations [len(methodClasses)][len(codeClasses)]atomic.Pointer[observer]
}

// observer boxes a histogram child so that it fits an atomic.Pointer.
type observer struct{ prometheus.Observer }

// Route returns the recorder for a route, the same one while the route's
// series are kept. namespace and route are empty for requests that matched
// no route. It creates no series.
func (m *Metrics) Route(gateway, namespace, route string) *RouteRecorder {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := routeKey{gateway, namespace, route}
	m.current[k] = true
	r, ok := m.exported[k]
	if !ok {
		r = &RouteRecorder{m: m, labels: [3]string{gateway, namespace, route}, codes: map[int]prometheus.Counter{}}
		m.exported[k] = r
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
		byGateway := prometheus.Labels{"gateway": k.gateway, "namespace": k.namespace, "route": k.route}
		m.HTTPRequests.DeletePartialMatch(byGateway)
		m.HTTPRequestDuration.DeletePartialMatch(byGateway)
		if live[[2]string{k.namespace, k.route}] {
			continue // the route is still served through another gateway
		}
		byRoute := prometheus.Labels{"namespace": k.namespace, "route": k.route}
		m.ClientCertVerified.DeletePartialMatch(byRoute)
		m.ClientCertRejections.DeletePartialMatch(byRoute)
		m.ClientCertRetiringPinPasses.DeletePartialMatch(byRoute)
	}
	m.current = map[routeKey]bool{}
	m.retainTraffic()
}

// Record counts one answered request and observes its duration.
func (r *RouteRecorder) Record(method string, code int, elapsed time.Duration) {
	r.counter(code).Inc()
	r.duration(methodIndex(method), codeIndex(code)).Observe(elapsed.Seconds())
}

func (r *RouteRecorder) counter(code int) prometheus.Counter {
	r.mu.RLock()
	c, ok := r.codes[code]
	r.mu.RUnlock()
	if ok {
		return c
	}
	c = r.m.HTTPRequests.WithLabelValues(r.labels[0], r.labels[1], r.labels[2], strconv.Itoa(code))
	r.mu.Lock()
	r.codes[code] = c
	r.mu.Unlock()
	return c
}

func (r *RouteRecorder) duration(method, code int) prometheus.Observer {
	slot := &r.durations[method][code]
	if o := slot.Load(); o != nil {
		return o.Observer
	}
	o := r.m.HTTPRequestDuration.WithLabelValues(r.labels[0], r.labels[1], r.labels[2], methodClasses[method], codeClasses[code])
	slot.Store(&observer{o})
	return o
}
