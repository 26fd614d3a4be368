package dataplane_test

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"sigs.k8s.io/yaml"

	"github.com/certgate/certgate/dataplane/pin"
	"github.com/certgate/certgate/dataplane/snapshot"
	"github.com/certgate/certgate/internal/testpki"
)

// The chart's copies are the only copies of the dashboard and the rules.
const (
	dashboardFile = "../charts/certgate/files/grafana/certgate.json"
	rulesFile     = "../charts/certgate/files/prometheus/certgate-rules.yaml"
)

// TestDashboardAndAlertsQueryOnlyExportedSeries: every metric name, label
// matcher, grouping label and legend label in the Grafana dashboard's and
// the alert rules' PromQL is one a running data plane exports, read from
// a live scrape after traffic that creates every series kind.
func TestDashboardAndAlertsQueryOnlyExportedSeries(t *testing.T) {
	g := newGateway(t)
	labels := exportedLabels(t, liveTraffic(t, g))
	exprs := append(dashboardQueries(t), ruleQueries(t)...)
	if len(exprs) < 10 {
		t.Fatalf("found %d queries; the dashboard or the rules were not read", len(exprs))
	}
	for _, e := range exprs {
		checkQuery(t, e, labels)
	}
}

// query is one PromQL expression with the legend drawn from its result.
type query struct{ where, expr, legend string }

var (
	metricName  = regexp.MustCompile(`\b(certgate_[a-z0-9_]+)\b(\{[^}]*\})?`)
	matcherName = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)`)
	grouping    = regexp.MustCompile(`\b(?:by|without)\s*\(([^)]*)\)`)
	labelValues = regexp.MustCompile(`^label_values\((certgate_[a-z0-9_]+),\s*([a-zA-Z_][a-zA-Z0-9_]*)\)$`)
	legendLabel = regexp.MustCompile(`\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}`)
)

func checkQuery(t *testing.T, q query, exported map[string]map[string]bool) {
	t.Helper()
	union := map[string]bool{}
	for _, m := range metricName.FindAllStringSubmatch(q.expr, -1) {
		family, ok := familyOf(m[1], exported)
		if !ok {
			t.Errorf("%s: %s is not exported", q.where, m[1])
			continue
		}
		for l := range exported[family] {
			union[l] = true
		}
		for _, mm := range matcherName.FindAllStringSubmatch(m[2], -1) {
			if !exported[family][mm[1]] {
				t.Errorf("%s: %s has no label %s", q.where, m[1], mm[1])
			}
		}
	}
	var used []string
	for _, gr := range grouping.FindAllStringSubmatch(q.expr, -1) {
		used = append(used, strings.Split(gr[1], ",")...)
	}
	for _, l := range legendLabel.FindAllStringSubmatch(q.legend, -1) {
		used = append(used, l[1])
	}
	for _, l := range used {
		if l = strings.TrimSpace(l); l != "" && !union[l] {
			t.Errorf("%s: label %s is on none of the query's metrics", q.where, l)
		}
	}
}

// familyOf maps a series name to its family: a histogram's _bucket, _sum
// and _count belong to the histogram.
func familyOf(name string, exported map[string]map[string]bool) (string, bool) {
	if _, ok := exported[name]; ok {
		return name, true
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		base := strings.TrimSuffix(name, suffix)
		if l, ok := exported[base]; ok && base != name && l["le"] {
			return base, true
		}
	}
	return "", false
}

// exportedLabels parses a scrape into family name → label names; a
// histogram's family has "le".
func exportedLabels(t *testing.T, scrape string) map[string]map[string]bool {
	t.Helper()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(scrape))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]bool{}
	for name, f := range families {
		out[name] = map[string]bool{}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				out[name][l.GetName()] = true
			}
			if m.GetHistogram() != nil {
				out[name]["le"] = true
			}
		}
	}
	return out
}

// liveTraffic serves an HTTPS listener whose routes verify and reject
// client certificates, proxy to a backend and fail a backend handshake,
// takes a failed client handshake, and returns the scrape.
func liveTraffic(t *testing.T, g *gateway) string {
	p := newPKI(t)
	bp := newBackendPKI(t)
	be := newEcho(t, "api")
	payments := newTLSEcho(t, "payments", bp.backendCert, nil)
	wrongCA := bp.backendTLS(nil)
	wrongCA.CACertificates = []snapshot.CACertificate{{Name: "default/other-ca", PEM: p.otherCA.PEM}}
	port := freePort(t)
	g.apply(httpsListener("https", port, "", []*testpki.Cert{p.serving},
		route("api", nil, requireRule("/", &snapshot.Requirement{Policy: "default/p", Pins: []pin.Pin{pinOf(p.pinned, pin.SHA256)}}, be.weighted(1))),
		route("payments", []string{"payments.example.com"}, prefixRule("/", tlsBackend(payments, wrongCA)))))
	newClient(t, port, tlsClient(p.servingCA, p.pinned)).get("https://api.example.com/")
	anonymous := newClient(t, port, tlsClient(p.servingCA, nil))
	anonymous.get("https://api.example.com/")
	anonymous.get("https://payments.example.com/")
	rawGarbage(t, port)
	g.awaitLine(`certgate_downstream_tls_handshake_failures_total{gateway="",listener="",port="` + fmt.Sprint(port) + `",reason="protocol"} 1`)
	return g.scrape()
}

func dashboardQueries(t *testing.T) []query {
	var d struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr, LegendFormat string }
		}
		Templating struct {
			List []struct {
				Name       string
				Definition string
			}
		}
	}
	if err := json.Unmarshal(readFile(t, dashboardFile), &d); err != nil {
		t.Fatal(err)
	}
	var qs []query
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			qs = append(qs, query{where: "dashboard panel " + p.Title, expr: tg.Expr, legend: tg.LegendFormat})
		}
	}
	for _, v := range d.Templating.List {
		if m := labelValues.FindStringSubmatch(v.Definition); m != nil {
			qs = append(qs, query{where: "dashboard variable " + v.Name, expr: m[1], legend: "{{" + m[2] + "}}"})
		}
	}
	return qs
}

func ruleQueries(t *testing.T) []query {
	var f struct {
		Groups []struct {
			Rules []struct {
				Alert, Record, Expr string
				Annotations         map[string]string
			}
		}
	}
	if err := yaml.Unmarshal(readFile(t, rulesFile), &f); err != nil {
		t.Fatal(err)
	}
	var qs []query
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			qs = append(qs, query{where: "alert " + r.Alert, expr: r.Expr})
		}
	}
	return qs
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
