package translator

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/certgate/certgate/dataplane"
	"github.com/certgate/certgate/dataplane/accesslog"
	"github.com/certgate/certgate/dataplane/metrics"
	"github.com/certgate/certgate/dataplane/snapshot"
	"github.com/certgate/certgate/internal/testlog"
)

// TestExplainAgreesWithTheServingDataPlane translates every golden
// scenario that has routes, serves its snapshot on loopback, and sends
// requests for every route's paths (as written and upper-cased, with no
// client certificate and with each generated one). What the data plane
// did, read from its access log, must be what dataplane.Explain says for
// the same request: the status certgate answered itself, or that the
// request was proxied; the route and rule; the rejection reason.
func TestExplainAgreesWithTheServingDataPlane(t *testing.T) {
	inputs, err := filepath.Glob("testdata/*.in.yaml")
	if err != nil || len(inputs) == 0 {
		t.Fatalf("golden scenarios: %v", err)
	}
	backend := agreeBackend(t)
	scenarios, compared := 0, 0
	seen = map[string]int{}
	for _, in := range inputs {
		p := newGoldenPKI(t)
		s := Translate(goldenResources(t, in, p), Options{Now: goldenNow}).Snapshot
		if !hasRoutes(&s) {
			continue
		}
		scenarios++
		t.Run(strings.TrimSuffix(filepath.Base(in), ".in.yaml"), func(t *testing.T) {
			compared += agreeScenario(t, &s, p, backend)
		})
	}
	t.Logf("%d scenarios with routes, %d requests compared; outcomes: %v", scenarios, compared, seen)
	for _, outcome := range []string{"403 missing", "403 pin_mismatch", "403 path_confusion", "403 no_tls", "403 policy_invalid", "404 ", "0 pass"} {
		if seen[outcome] == 0 {
			t.Errorf("no request had the outcome %q: the comparison does not cover it", outcome)
		}
	}
}

// seen counts the compared outcomes, "status reason", status 0 for
// proxied.
var seen map[string]int

// agreeScenario serves s on loopback and compares every generated request.
func agreeScenario(t *testing.T, s *snapshot.Snapshot, p *goldenPKI, backend int32) int {
	ports := toLoopback(t, s, backend)
	log := &testlog.Buffer{}
	dp := dataplane.New(dataplane.Options{Metrics: metrics.New(), AccessLog: accesslog.New(log), Now: func() time.Time { return goldenNow }})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = dp.Shutdown(ctx)
	})
	if err := dp.Apply(s); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	certs := append([]string{""}, slices.Sorted(mapKeys(p.certs))...)
	n := 0
	for _, req := range agreeRequests(s) {
		for _, cert := range certs {
			if cert != "" && !req.TLS {
				continue
			}
			var client *tls.Certificate
			if cert != "" {
				req.Certificates, client = p.cert(cert).Chain, p.cert(cert).TLS
			}
			if agreeOne(t, dp, s, req, client, cert, ports, log) {
				n++
			}
		}
	}
	return n
}

// agreeOne sends req to the data plane and compares with Explain. It
// reports false for a request the TLS handshake refused, which Explain
// does not model: only a listener with AllowValidOnly validation may.
func agreeOne(t *testing.T, dp *dataplane.Dataplane, s *snapshot.Snapshot, req dataplane.Request, client *tls.Certificate, cert string, ports map[int32]bool, log *testlog.Buffer) bool {
	t.Helper()
	what := fmt.Sprintf("%s %s %s port %d tls=%v cert=%q", req.Method, req.Host, req.Target, req.Port, req.TLS, cert)
	want, err := dataplane.Explain(s, goldenNow, req)
	if err != nil {
		t.Fatalf("%s: Explain: %v", what, err)
	}
	before := log.Lines()
	if err := send(req, client); err != nil {
		if !ports[req.Port] {
			t.Errorf("%s: %v; Explain said %+v", what, err, *want)
		}
		seen["handshake refused"]++
		return false
	}
	got := waitLine(t, log, before)
	statusAgrees := got.Status == want.Status
	if want.Status == 0 {
		statusAgrees = proxiedStatuses(want)[got.Status]
	}
	wantRejection := want.Reason
	if wantRejection == dataplane.ReasonPass {
		wantRejection = ""
	}
	seen[fmt.Sprint(want.Status, " ", want.Reason)]++
	if !statusAgrees || got.Route != want.Route || got.Rule != want.Rule || got.Rejection != wantRejection {
		t.Errorf("%s:\n data plane: status %d route %q rule %q rejection %q upstream %q\n explain:    %+v", what, got.Status, got.Route, got.Rule, got.Rejection, got.Upstream, *want)
	}
	return true
}

// proxiedStatuses are the statuses a proxied request can get from the
// rule's backends: 200 from the loopback backend (502 when the snapshot
// asks for backend TLS, which it does not speak), 503 from a backend
// without endpoints, 500 from an invalid one.
func proxiedStatuses(d *dataplane.Decision) map[int]bool {
	ok := map[int]bool{}
	for _, b := range d.Backends {
		switch {
		case b.Weight <= 0:
		case b.Invalid != "":
			ok[http.StatusInternalServerError] = true
		case b.Endpoints == 0:
			ok[http.StatusServiceUnavailable] = true
		default:
			ok[http.StatusOK], ok[http.StatusBadGateway] = true, true
		}
	}
	return ok
}

// hasRoutes reports whether any listener of s has a route.
func hasRoutes(s *snapshot.Snapshot) bool {
	for _, l := range s.Listeners {
		if len(l.Routes) > 0 {
			return true
		}
	}
	return false
}

// toLoopback moves every listener of s to a free loopback port and every
// backend and mirror endpoint to the loopback backend, so no request
// leaves the machine. It returns the ports whose handshake requires a
// valid client certificate.
func toLoopback(t *testing.T, s *snapshot.Snapshot, backend int32) map[int32]bool {
	moved := map[string]int32{}
	strict := map[int32]bool{}
	for i := range s.Listeners {
		l := &s.Listeners[i]
		key := fmt.Sprint(l.Address, l.Port)
		if _, ok := moved[key]; !ok {
			moved[key] = agreeFreePort(t)
		}
		l.Address, l.Port, l.PublicPort = "127.0.0.1", moved[key], 0
		if l.TLS != nil && l.TLS.FrontendValidation != nil && l.TLS.FrontendValidation.Mode == snapshot.AllowValidOnly {
			strict[l.Port] = true
		}
		for r := range l.Routes {
			for k := range l.Routes[r].Rules {
				loopbackRule(&l.Routes[r].Rules[k], backend)
			}
		}
	}
	return strict
}

func loopbackRule(rule *snapshot.Rule, backend int32) {
	for b := range rule.Backends {
		loopbackEndpoints(&rule.Backends[b].Backend, backend)
	}
	for _, f := range rule.Filters {
		if f.RequestMirror != nil {
			loopbackEndpoints(&f.RequestMirror.Backend, backend)
		}
	}
}

func loopbackEndpoints(b *snapshot.Backend, port int32) {
	for e := range b.Endpoints {
		b.Endpoints[e] = snapshot.Endpoint{Address: "127.0.0.1", Port: port}
	}
}

// agreeRequests are the requests of every route of s: each match's path
// (a regular expression's is replaced by "/"), as written and
// upper-cased, with the match's method, exact headers and query, on each
// of the route's host names.
func agreeRequests(s *snapshot.Snapshot) []dataplane.Request {
	var out []dataplane.Request
	for _, l := range s.Listeners {
		if l.Protocol == snapshot.ProtocolTLS {
			continue // TLSRoutes carry streams, not requests: Explain has nothing to say
		}
		for _, r := range l.Routes {
			for _, host := range routeHosts(l, r) {
				for _, rule := range r.Rules {
					for _, m := range ruleMatches(rule) {
						for _, path := range []string{m.path, strings.ToUpper(m.path)} {
							out = append(out, dataplane.Request{
								Port: l.Port, TLS: l.Protocol == snapshot.ProtocolHTTPS, Host: host,
								Method: m.method, Target: path + m.query, Header: m.header.Clone(),
							})
						}
					}
				}
			}
		}
	}
	return out
}

// routeHosts are host names a route serves on l, wildcards filled in.
func routeHosts(l snapshot.Listener, r snapshot.Route) []string {
	hosts := r.Hostnames
	if len(hosts) == 0 && l.Hostname != "" {
		hosts = []string{l.Hostname}
	}
	if len(hosts) == 0 {
		hosts = []string{"any.example.com"}
	}
	out := make([]string, 0, len(hosts))
	for _, h := range hosts {
		out = append(out, strings.Replace(h, "*", "www", 1))
	}
	return out
}

// requestShape is what one match asks of a request.
type requestShape struct {
	method, path, query string
	header              http.Header
}

func ruleMatches(rule snapshot.Rule) []requestShape {
	if len(rule.Matches) == 0 {
		return []requestShape{{method: http.MethodGet, path: "/", header: http.Header{}}}
	}
	var out []requestShape
	for _, m := range rule.Matches {
		shape := requestShape{method: cmpOr(m.Method, http.MethodGet), path: "/", header: http.Header{}}
		if m.Path != nil && m.Path.Type != snapshot.PathRegularExpression {
			shape.path = m.Path.Value
		}
		for _, h := range m.Headers {
			if h.Type != snapshot.MatchRegularExpression {
				shape.header.Add(h.Name, h.Value)
			}
		}
		for i, q := range m.QueryParams {
			if q.Type != snapshot.MatchRegularExpression {
				shape.query += map[bool]string{true: "?", false: "&"}[i == 0] + q.Name + "=" + q.Value
			}
		}
		out = append(out, shape)
	}
	return out
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// send makes req to the loopback data plane on a new connection, and
// reads the whole answer.
func send(req dataplane.Request, clientCert *tls.Certificate) error {
	scheme := "http"
	if req.TLS {
		scheme = "https"
	}
	hr, err := http.NewRequest(req.Method, fmt.Sprintf("%s://127.0.0.1:%d%s", scheme, req.Port, req.Target), nil)
	if err != nil {
		return err
	}
	hr.Host, hr.Header = req.Host, req.Header.Clone()
	tr := &http.Transport{DisableKeepAlives: true, TLSClientConfig: &tls.Config{
		ServerName: req.Host, InsecureSkipVerify: true, //nolint:gosec // the serving certificate is not what is tested
	}}
	if clientCert != nil {
		tr.TLSClientConfig.Certificates = []tls.Certificate{*clientCert}
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(hr)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, err = bufio.NewReader(resp.Body).WriteTo(&bytes.Buffer{})
	return err
}

// agreeBackend serves 200 on loopback, over HTTP/1.1 and h2c, and
// returns its port.
func agreeBackend(t *testing.T) int32 {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{
		Handler:           http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }),
		ReadHeaderTimeout: 5 * time.Second,
		Protocols:         new(http.Protocols),
	}
	srv.Protocols.SetHTTP1(true)
	srv.Protocols.SetUnencryptedHTTP2(true)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return int32(ln.Addr().(*net.TCPAddr).Port)
}

// agreeFreePort returns a loopback port that was free a moment ago.
func agreeFreePort(t *testing.T) int32 {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return int32(ln.Addr().(*net.TCPAddr).Port)
}

func mapKeys[K comparable, V any](m map[K]V) func(func(K) bool) {
	return func(yield func(K) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// logLine is what the comparison reads of an access log line.
type logLine struct {
	Status    int    `json:"status"`
	Route     string `json:"route"`
	Rule      string `json:"rule"`
	Upstream  string `json:"upstream"`
	Rejection string `json:"clientcert_rejection"`
}

// waitLine waits for the line after before: the log is written once the
// answer is sent, so it may lag the client by a moment.
func waitLine(t *testing.T, log *testlog.Buffer, before []string) logLine {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		now := log.Lines()
		if len(now) > len(before) || len(before) == 1 && before[0] == "" && now[0] != "" {
			var l logLine
			if err := json.Unmarshal([]byte(now[len(now)-1]), &l); err != nil {
				t.Fatalf("access log line %q: %v", now[len(now)-1], err)
			}
			return l
		}
		if time.Now().After(deadline) {
			t.Fatal("no access log line for the request")
		}
		time.Sleep(time.Millisecond)
	}
}
