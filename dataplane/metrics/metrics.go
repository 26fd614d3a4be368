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

	// mu guards the recorders below, which keep the per-route series
	// bounded by the configuration in force (see Retain), and gen.
	mu sync.Mutex
	// exported holds the recorder of every route with series, so that a
	// route compiled again gets the recorder it had (and a snapshot of
	// thousands of routes does not allocate thousands of recorders).
	exported map[routeKey]*RouteRecorder
	// gen counts Retains: a recorder (route or backend) asked for since
	// the last Retain has its gen. A generation rather than a set of the
	// routes asked for, which every Retain would build again.
	gen uint64
}

// routeKey names the series of one route on one gateway.
type routeKey struct{ gateway, namespace, route string }

// New creates the collectors and registers them, with the Go runtime and
// process collectors, on a new registry.
func New() *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		exported: map[routeKey]*RouteRecorder{},
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
// once and kept while its route is, and creates each series the first time
// a request needs it, then keeps it, so recording takes no label lookup
// after that. Until its first request it is only its labels: most routes
// of a large configuration serve nothing most of the time.
type RouteRecorder struct {
	m      *Metrics
	labels [3]string
	// gen is the generation that last asked for the recorder; Metrics.mu
	// guards it.
	gen uint64
	// series is set by the first request.
	series atomic.Pointer[routeSeries]
}

// routeSeries holds the series of a route that served requests.
type routeSeries struct {
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
	r, ok := m.exported[k]
	if !ok {
		r = &RouteRecorder{m: m, labels: [3]string{gateway, namespace, route}}
		m.exported[k] = r
	}
	r.gen = m.gen
	return r
}

// Keep is Route asked again for a recorder Route returned before, by the
// recorder rather than its labels: a data plane that reuses a compiled
// route keeps its recorder without a lookup of its labels, which at
// thousands of routes per apply was a cost of its own. A recorder is
// still exported while it was asked for in this generation or the one
// before (Retain deletes every other); one deleted since is asked for by
// its labels, as Route does.
func (m *Metrics) Keep(r *RouteRecorder) *RouteRecorder {
	m.mu.Lock()
	if r.m == m && r.gen+1 >= m.gen {
		r.gen = m.gen
		m.mu.Unlock()
		return r
	}
	m.mu.Unlock()
	return m.Route(r.labels[0], r.labels[1], r.labels[2])
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
	var gone []routeKey
	for k, r := range m.exported {
		if r.gen != m.gen {
			gone = append(gone, k)
		}
	}
	if len(gone) > 0 {
		m.deleteRoutes(gone)
	}
	m.retainTraffic()
	m.gen++
}

// deleteRoutes deletes the series of routes no longer asked for. The
// caller holds m.mu.
func (m *Metrics) deleteRoutes(gone []routeKey) {
	for _, k := range gone {
		delete(m.exported, k)
	}
	live := make(map[[2]string]bool, len(m.exported))
	for k := range m.exported {
		live[[2]string{k.namespace, k.route}] = true
	}
	for _, k := range gone {
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
}

// Record counts one answered request and observes its duration.
func (r *RouteRecorder) Record(method string, code int, elapsed time.Duration) {
	s := r.seriesOf()
	r.counter(s, code).Inc()
	r.duration(s, methodIndex(method), codeIndex(code)).Observe(elapsed.Seconds())
}

// seriesOf returns the route's series, made by the first request.
func (r *RouteRecorder) seriesOf() *routeSeries {
	if s := r.series.Load(); s != nil {
		return s
	}
	r.series.CompareAndSwap(nil, &routeSeries{codes: map[int]prometheus.Counter{}})
	return r.series.Load()
}

func (r *RouteRecorder) counter(s *routeSeries, code int) prometheus.Counter {
	s.mu.RLock()
	c, ok := s.codes[code]
	s.mu.RUnlock()
	if ok {
		return c
	}
	c = r.m.HTTPRequests.WithLabelValues(r.labels[0], r.labels[1], r.labels[2], strconv.Itoa(code))
	s.mu.Lock()
	s.codes[code] = c
	s.mu.Unlock()
	return c
}

func (r *RouteRecorder) duration(s *routeSeries, method, code int) prometheus.Observer {
	slot := &s.durations[method][code]
	if o := slot.Load(); o != nil {
		return o.Observer
	}
	o := r.m.HTTPRequestDuration.WithLabelValues(r.labels[0], r.labels[1], r.labels[2], methodClasses[method], codeClasses[code])
	slot.Store(&observer{o})
	return o
}
