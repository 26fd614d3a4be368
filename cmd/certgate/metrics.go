package main

import (
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/certgate/certgate/dataplane/metrics"
)

// controllerMetricsHandler serves certgate's metrics together with
// controller-runtime's registry: its controllers' reconciles and work
// queues, and client-go's API requests and leader election, which
// controller-runtime registers there. The manager's own metrics server
// stays off, so one address serves everything a controller replica
// exports.
func controllerMetricsHandler(m *metrics.Metrics) http.Handler {
	g := prometheus.Gatherers{m.Registry(), withoutRuntime{ctrlmetrics.Registry}}
	return promhttp.HandlerFor(g, promhttp.HandlerOpts{})
}

// withoutRuntime drops the Go runtime and process families from a
// registry. controller-runtime's registry has its own copies of what
// certgate's already exports; a scrape with a series twice is refused.
type withoutRuntime struct{ prometheus.Gatherer }

func (w withoutRuntime) Gather() ([]*dto.MetricFamily, error) {
	families, err := w.Gatherer.Gather()
	kept := families[:0]
	for _, f := range families {
		if !strings.HasPrefix(f.GetName(), "go_") && !strings.HasPrefix(f.GetName(), "process_") {
			kept = append(kept, f)
		}
	}
	return kept, err
}
