package dataplane_test

import (
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/certgate/certgate/dataplane/snapshot"
	"github.com/certgate/certgate/internal/testpki"
)

// scrape fetches the gateway's /metrics over a loopback socket.
func (g *gateway) scrape() string {
	g.t.Helper()
	srv := httptest.NewServer(g.metrics.Handler())
	defer srv.Close()
	res, err := srv.Client().Get(srv.URL + "/metrics")
	if err != nil {
		g.t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		g.t.Fatal(err)
	}
	return string(body)
}

// awaitLine scrapes until a line of /metrics is line, which asynchronous
// counts (a connection's close) reach within a moment.
func (g *gateway) awaitLine(line string) {
	g.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		body := g.scrape()
		if strings.Contains("\n"+body, "\n"+line+"\n") {
			return
		}
		if time.Now().After(deadline) {
			g.t.Fatalf("/metrics lacks %s:\n%s", line, grepLines(body, "certgate_"))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func grepLines(body, prefix string) string {
	var out []string
	for _, l := range strings.Split(body, "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestDurationSeriesExistOnlyForRoutesThatServed: the duration histogram
// carries gateway, method class and code class, and a route that served
// nothing exports no request series at all.
func TestDurationSeriesExistOnlyForRoutesThatServed(t *testing.T) {
	g := newGateway(t)
	be := newEcho(t, "api")
	port := freePort(t)
	g.apply(httpListener("http", port,
		route("api", []string{"api.example.com"}, prefixRule("/", be.weighted(1))),
		route("idle", []string{"idle.example.com"}, prefixRule("/", be.weighted(1)))))
	c := newClient(t, port, nil)
	c.get("http://api.example.com/")
	req, _ := http.NewRequest("PROPFIND", "http://api.example.com/", nil)
	c.do(req)
	c.get("http://nowhere.example.com/")

	body := g.scrape()
	for _, want := range []string{
		`certgate_http_request_duration_seconds_count{code="2xx",gateway="default/gw",method="GET",namespace="default",route="api"} 1`,
		`certgate_http_request_duration_seconds_count{code="2xx",gateway="default/gw",method="other",namespace="default",route="api"} 1`,
		`certgate_http_request_duration_seconds_count{code="4xx",gateway="default/gw",method="GET",namespace="",route=""} 1`,
		`certgate_http_requests_total{code="200",gateway="default/gw",namespace="default",route="api"} 2`,
	} {
		if !strings.Contains(body, want+"\n") {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(body, `route="idle"`) {
		t.Errorf("a route that served nothing has series:\n%s", grepLines(body, "certgate_http"))
	}
}

// TestUpstreamMetricsCountEveryAttempt: a retried request is two upstream
// requests, each with its status class and its own duration.
func TestUpstreamMetricsCountEveryAttempt(t *testing.T) {
	g := newGateway(t)
	var calls atomic.Int32
	flaky := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if calls.Add(1) == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(flaky.Close)
	addr := flaky.Listener.Addr().(*net.TCPAddr)
	b := snapshot.Backend{Name: "default/flaky:80", Namespace: "default", Service: "flaky", Port: 80,
		Endpoints: []snapshot.Endpoint{{Address: addr.IP.String(), Port: int32(addr.Port)}}}
	rule := prefixRule("/", snapshot.WeightedBackend{Backend: b, Weight: 1})
	rule.Retry = &snapshot.Retry{Attempts: 1, Codes: []int{http.StatusServiceUnavailable}}
	port := freePort(t)
	g.apply(httpListener("http", port, route("api", nil, rule)))

	if res := newClient(t, port, nil).get("http://api.example.com/"); res.StatusCode != http.StatusOK {
		t.Fatalf("status %d, want the retry's 200", res.StatusCode)
	}
	body := g.scrape()
	for _, want := range []string{
		`certgate_upstream_requests_total{code="5xx",namespace="default",service="flaky"} 1`,
		`certgate_upstream_requests_total{code="2xx",namespace="default",service="flaky"} 1`,
		`certgate_upstream_requests_total{code="error",namespace="default",service="flaky"} 0`,
		`certgate_upstream_request_duration_seconds_count{namespace="default",service="flaky"} 2`,
	} {
		if !strings.Contains(body, want+"\n") {
			t.Errorf("/metrics lacks %s:\n%s", want, grepLines(body, "certgate_upstream"))
		}
	}
}

// TestDownstreamConnectionsFollowOpenConnections: the gauge counts a
// keep-alive connection while it is open and drops when it closes.
func TestDownstreamConnectionsFollowOpenConnections(t *testing.T) {
	g := newGateway(t)
	be := newEcho(t, "api")
	port := freePort(t)
	g.apply(httpListener("http", port, route("api", nil, prefixRule("/", be.weighted(1)))))
	conn, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	gauge := fmt.Sprintf(`certgate_downstream_connections{port="%d"}`, port)
	g.awaitLine(gauge + " 1")
	_ = conn.Close()
	g.awaitLine(gauge + " 0")
}

// TestFrontendValidationFailuresAreCountedByReason: every client that
// AllowValidOnly refuses in the handshake leaves a count with the
// listener and the reason.
func TestFrontendValidationFailuresAreCountedByReason(t *testing.T) {
	g := newGateway(t)
	be := newEcho(t, "api")
	p := newPKI(t)
	port := freePort(t)
	strict := httpsListener("strict", port, "strict.example.com", []*testpki.Cert{p.serving}, route("api", nil, prefixRule("/", be.weighted(1))))
	strict.TLS.FrontendValidation = &snapshot.FrontendValidation{Mode: snapshot.AllowValidOnly, CACertificates: []snapshot.CACertificate{{Name: "default/client-ca", PEM: p.clientCA.PEM}}}
	g.apply(strict)
	for _, cert := range []*testpki.Cert{nil, p.foreignCert, p.expired, p.pinned} {
		handshake(t, port, presenting(p.servingCA, cert), "strict.example.com")
	}
	rawGarbage(t, port)

	failures := func(listener, reason string) string {
		return fmt.Sprintf(`certgate_downstream_tls_handshake_failures_total{gateway="%s",listener="%s",port="%d",reason="%s"} 1`,
			map[bool]string{true: "default/gw"}[listener != ""], listener, port, reason)
	}
	for _, reason := range []string{"no_certificate", "unknown_ca", "expired"} {
		g.awaitLine(failures("default/gw/strict", reason))
	}
	g.awaitLine(failures("", "protocol"))
	if body := g.scrape(); strings.Contains(body, `reason="bad_certificate"`) {
		t.Errorf("a valid certificate was counted as a failure:\n%s", grepLines(body, "certgate_downstream"))
	}
}

// handshake connects with cfg and sends one request, so that a TLS 1.3
// client learns of a refused certificate; the outcome is the server's to
// count.
func handshake(t *testing.T, port int32, cfg *tls.Config, sni string) {
	t.Helper()
	cfg.ServerName = sni
	conn, err := tls.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port), cfg)
	if err != nil {
		return
	}
	defer conn.Close()
	_ = conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	fmt.Fprintf(conn, "GET / HTTP/1.1\r\nHost: %s\r\n\r\n", sni)
	_, _ = conn.Read(make([]byte, 1))
}

// presenting trusts ca and presents cert (if any) whatever CAs the server
// names: a Go client with only Certificates sends none the server's
// CertificateRequest does not name, which would hide an unknown CA.
func presenting(ca *testpki.CA, cert *testpki.Cert) *tls.Config {
	cfg := tlsClient(ca, nil)
	cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
		if cert == nil {
			return &tls.Certificate{}, nil
		}
		return cert.TLS, nil
	}
	return cfg
}

// rawGarbage sends bytes that are no ClientHello.
func rawGarbage(t *testing.T, port int32) {
	t.Helper()
	conn, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, _ = conn.Write([]byte("\x16\x03\x01\x00\x05hello"))
	_ = conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	_, _ = conn.Read(make([]byte, 1))
}
