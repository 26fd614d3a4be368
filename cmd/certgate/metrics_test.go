package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/certgate/certgate/dataplane/metrics"
)

// TestControllerMetricsIncludeClientGo: the controller's /metrics, fetched
// over a loopback socket, carries certgate's series and client-go's
// request counter from controller-runtime's registry, and no family
// twice (a scrape with duplicates is rejected by Prometheus).
func TestControllerMetricsIncludeClientGo(t *testing.T) {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"major":"1","minor":"35","gitVersion":"v1.35.0"}`)
	}))
	defer api.Close()
	cs, err := kubernetes.NewForConfig(&rest.Config{Host: api.URL})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cs.Discovery().ServerVersion(); err != nil {
		t.Fatal(err)
	}

	srv := httptest.NewServer(controllerMetricsHandler(metrics.New()))
	defer srv.Close()
	res, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", res.StatusCode, body)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(string(body)))
	if err != nil {
		t.Fatalf("scrape does not parse: %v", err)
	}
	for _, name := range []string{"certgate_build_info", "rest_client_requests_total", "go_goroutines", "process_cpu_seconds_total"} {
		if families[name] == nil {
			t.Errorf("scrape lacks %s", name)
		}
	}
}

// TestRuntimeFamiliesAreServedOnce: controller-runtime registers its own Go
// runtime and process collectors whenever its controller package is
// linked in; served next to certgate's they would make every scrape fail.
func TestRuntimeFamiliesAreServedOnce(t *testing.T) {
	other := prometheus.NewRegistry()
	other.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	g := prometheus.Gatherers{metrics.New().Registry(), withoutRuntime{other}}
	families, err := g.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	seen := map[string]bool{}
	for _, f := range families {
		if seen[f.GetName()] {
			t.Errorf("%s served twice", f.GetName())
		}
		seen[f.GetName()] = true
	}
	if !seen["go_goroutines"] {
		t.Error("go_goroutines is not served at all")
	}
}
