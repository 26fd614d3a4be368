package metrics

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Traffic is the part of Metrics that watches connections: requests to
// backends, and the client connections certgate accepts.
type Traffic struct {
	// UpstreamRequests counts every attempt sent to a backend, retries
	// included: namespace, service, code (a CodeClass, "error" for an
	// attempt that got no response).
	UpstreamRequests *prometheus.CounterVec
	// UpstreamRequestDuration observes each attempt's time from sending
	// the request to the backend's response headers: namespace, service.
	UpstreamRequestDuration *prometheus.HistogramVec
	// DownstreamConnections is the number of client connections open on
	// each listening port: port.
	DownstreamConnections *prometheus.GaugeVec
	// DownstreamTLSHandshakeFailures counts client TLS handshakes that
	// failed: port, gateway, listener (empty when the client sent no
	// usable ClientHello), reason.
	DownstreamTLSHandshakeFailures *prometheus.CounterVec

	// exportedBackends holds every backend with series; Metrics.mu
	// guards it.
	exportedBackends map[backendKey]*BackendRecorder
	// exportedListeners holds the listeners whose handshake failures have
	// series, currentListeners those compiled since the last Retain, by
	// gateway and listener name.
	exportedListeners, currentListeners map[[2]string]bool
}

// backendKey names the series of one backend Service.
type backendKey struct{ namespace, service string }

func (m *Metrics) registerTraffic() {
	m.exportedBackends = map[backendKey]*BackendRecorder{}
	m.exportedListeners, m.currentListeners = map[[2]string]bool{}, map[[2]string]bool{}
	m.UpstreamRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "certgate_upstream_requests_total",
		Help: "Requests sent to backends, every retry counted, by status class (error: no response).",
	}, []string{"namespace", "service", "code"})
	m.UpstreamRequestDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "certgate_upstream_request_duration_seconds",
		Help:    "Time from sending a request to a backend to its response headers, per attempt.",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
	}, []string{"namespace", "service"})
	m.DownstreamConnections = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "certgate_downstream_connections",
		Help: "Client connections open, by listening port.",
	}, []string{"port"})
	m.DownstreamTLSHandshakeFailures = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "certgate_downstream_tls_handshake_failures_total",
		Help: "Client TLS handshakes that failed, by listener and reason.",
	}, []string{"port", "gateway", "listener", "reason"})
	m.registry.MustRegister(m.UpstreamRequests, m.UpstreamRequestDuration,
		m.DownstreamConnections, m.DownstreamTLSHandshakeFailures)
}

// BackendRecorder records the attempts sent to one backend Service.
type BackendRecorder struct {
	m                  *Metrics
	namespace, service string
	// gen is the generation that last asked for the recorder (see
	// Metrics.gen); Metrics.mu guards it.
	gen      uint64
	once     sync.Once
	duration prometheus.Observer
	codes    [len(codeClasses)]prometheus.Counter
}

// Backend returns the recorder of a backend Service, one per Service
// however many rules send to it. It creates no series; the backend's
// series are kept while a configuration compiled since the last Retain
// asked for it.
func (m *Metrics) Backend(namespace, service string) *BackendRecorder {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := backendKey{namespace, service}
	r, ok := m.exportedBackends[k]
	if !ok {
		r = &BackendRecorder{m: m, namespace: namespace, service: service}
		m.exportedBackends[k] = r
	}
	r.gen = m.gen
	return r
}

// Attempt records one attempt: its status code, or failed when it got no
// response, and the time it took to the response headers.
func (r *BackendRecorder) Attempt(code int, failed bool, elapsed time.Duration) {
	r.once.Do(r.create)
	class := errorClass
	if !failed {
		class = codeIndex(code)
	}
	r.codes[class].Inc()
	r.duration.Observe(elapsed.Seconds())
}

// create makes the backend's series at its first attempt: every class at
// once, so that a ratio of errors to requests exists as soon as the
// backend is used.
func (r *BackendRecorder) create() {
	r.duration = r.m.UpstreamRequestDuration.WithLabelValues(r.namespace, r.service)
	for i, class := range codeClasses {
		r.codes[i] = r.m.UpstreamRequests.WithLabelValues(r.namespace, r.service, class)
	}
}

// retainTraffic deletes the series of backends, and the handshake
// failures of listeners, that no configuration compiled since the last
// Retain asked for. The caller holds m.mu.
func (m *Metrics) retainTraffic() {
	for k, r := range m.exportedBackends {
		if r.gen == m.gen {
			continue
		}
		delete(m.exportedBackends, k)
		byService := prometheus.Labels{"namespace": k.namespace, "service": k.service}
		m.UpstreamRequests.DeletePartialMatch(byService)
		m.UpstreamRequestDuration.DeletePartialMatch(byService)
		m.BackendTLSErrors.DeletePartialMatch(byService)
	}
	for k := range m.exportedListeners {
		if !m.currentListeners[k] {
			delete(m.exportedListeners, k)
			m.DownstreamTLSHandshakeFailures.DeletePartialMatch(prometheus.Labels{"gateway": k[0], "listener": k[1]})
		}
	}
	m.currentListeners = map[[2]string]bool{}
}

// Listener notes that the configuration being compiled has a listener, so
// that Retain keeps its handshake failure series.
func (m *Metrics) Listener(gateway, name string) {
	m.mu.Lock()
	k := [2]string{gateway, name}
	m.exportedListeners[k], m.currentListeners[k] = true, true
	m.mu.Unlock()
}

// Connection counts a client connection opened on port, and returns the
// function that counts it closed.
func (m *Metrics) Connection(port string) (closed func()) {
	g := m.DownstreamConnections.WithLabelValues(port)
	g.Inc()
	return g.Dec
}

// HandshakeFailed counts a failed client TLS handshake.
func (m *Metrics) HandshakeFailed(port, gateway, listener, reason string) {
	m.DownstreamTLSHandshakeFailures.WithLabelValues(port, gateway, listener, reason).Inc()
}
