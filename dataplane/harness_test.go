package dataplane_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/certgate/certgate/dataplane"
	"github.com/certgate/certgate/dataplane/accesslog"
	"github.com/certgate/certgate/dataplane/metrics"
	"github.com/certgate/certgate/dataplane/snapshot"
	"github.com/certgate/certgate/internal/testlog"
	"github.com/certgate/certgate/internal/testnet"
	"github.com/certgate/certgate/internal/testpki"
)

// gateway is a data plane under test with its metrics and access log.
type gateway struct {
	t       testing.TB
	dp      *dataplane.Dataplane
	metrics *metrics.Metrics
	log     *testlog.Buffer
}

func newGateway(t testing.TB) *gateway {
	t.Helper()
	g := &gateway{t: t, metrics: metrics.New(), log: &testlog.Buffer{}}
	g.dp = dataplane.New(dataplane.Options{Metrics: g.metrics, AccessLog: accesslog.New(g.log)})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = g.dp.Shutdown(ctx)
	})
	return g
}

// apply applies s and fails the test if it is rejected.
func (g *gateway) apply(listeners ...snapshot.Listener) {
	g.t.Helper()
	if err := g.dp.Apply(&snapshot.Snapshot{Listeners: listeners}); err != nil {
		g.t.Fatalf("Apply: %v", err)
	}
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort(t testing.TB) int32 {
	t.Helper()
	return int32(testnet.FreePort(t))
}

// echo is what an echo backend saw of a request.
type echo struct {
	Backend  string      `json:"backend"`
	Method   string      `json:"method"`
	Path     string      `json:"path"`
	Query    string      `json:"query"`
	Host     string      `json:"host"`
	Proto    int         `json:"proto"`
	Header   http.Header `json:"header"`
	ClientCN string      `json:"clientCN,omitempty"`
}

// echoBackend answers every request with the echo of it, as JSON.
type echoBackend struct {
	*httptest.Server
	name string
	mu   sync.Mutex
	hits int
}

func echoHandler(name string, count func()) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if count != nil {
			count()
		}
		e := echo{Backend: name, Method: r.Method, Path: r.URL.EscapedPath(), Query: r.URL.RawQuery, Host: r.Host, Proto: r.ProtoMajor, Header: r.Header}
		if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
			e.ClientCN = r.TLS.PeerCertificates[0].Subject.CommonName
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(e)
	}
}

func newEcho(t testing.TB, name string) *echoBackend {
	t.Helper()
	e := &echoBackend{name: name}
	e.Server = httptest.NewServer(echoHandler(name, e.count))
	t.Cleanup(e.Close)
	return e
}

// newTLSEcho starts an echo backend that serves cert and requires a client
// certificate issued by clientCA.
func newTLSEcho(t *testing.T, name string, cert *testpki.Cert, clientCA *testpki.CA) *echoBackend {
	t.Helper()
	e := &echoBackend{name: name}
	e.Server = httptest.NewUnstartedServer(echoHandler(name, e.count))
	e.TLS = &tls.Config{Certificates: []tls.Certificate{*cert.TLS}, MinVersion: tls.VersionTLS12}
	if clientCA != nil {
		e.TLS.ClientAuth = tls.RequireAndVerifyClientCert
		e.TLS.ClientCAs = clientCA.Pool()
	}
	e.StartTLS()
	t.Cleanup(e.Close)
	return e
}

func (e *echoBackend) count() {
	e.mu.Lock()
	e.hits++
	e.mu.Unlock()
}

func (e *echoBackend) requests() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.hits
}

// backend describes e as a snapshot backend.
func (e *echoBackend) backend() snapshot.Backend {
	addr := e.Listener.Addr().(*net.TCPAddr)
	return snapshot.Backend{
		Name: "default/" + e.name + ":80", Namespace: "default", Service: e.name, Port: 80,
		Endpoints: []snapshot.Endpoint{{Address: addr.IP.String(), Port: int32(addr.Port)}},
	}
}

func (e *echoBackend) weighted(weight int32) snapshot.WeightedBackend {
	return snapshot.WeightedBackend{Backend: e.backend(), Weight: weight}
}

// httpListener is a plain HTTP listener on 127.0.0.1.
func httpListener(name string, port int32, routes ...snapshot.Route) snapshot.Listener {
	return snapshot.Listener{
		Name: "default/gw/" + name, Gateway: "default/gw", Address: "127.0.0.1", Port: port,
		Protocol: snapshot.ProtocolHTTP, Routes: routes,
	}
}

// httpsListener is an HTTPS listener on 127.0.0.1 serving certs.
func httpsListener(name string, port int32, hostname string, certs []*testpki.Cert, routes ...snapshot.Route) snapshot.Listener {
	l := snapshot.Listener{
		Name: "default/gw/" + name, Gateway: "default/gw", Address: "127.0.0.1", Port: port,
		Protocol: snapshot.ProtocolHTTPS, Hostname: hostname, Routes: routes,
		TLS: &snapshot.ListenerTLS{},
	}
	for i, c := range certs {
		l.TLS.Certificates = append(l.TLS.Certificates, servingCert("default/"+name+"-"+strconv.Itoa(i), c))
	}
	return l
}

func servingCert(name string, c *testpki.Cert) snapshot.Certificate {
	return snapshot.Certificate{Name: name, CertPEM: c.CertPEM, Key: snapshot.PrivateKey(c.KeyPEM)}
}

// route is an HTTPRoute in namespace default.
func route(name string, hostnames []string, rules ...snapshot.Rule) snapshot.Route {
	return snapshot.Route{Namespace: "default", Name: name, Hostnames: hostnames, Rules: rules, CreationTimestamp: time.Unix(1_700_000_000, 0)}
}

// prefixRule sends PathPrefix prefix to backends.
func prefixRule(prefix string, backends ...snapshot.WeightedBackend) snapshot.Rule {
	return snapshot.Rule{
		Matches:  []snapshot.Match{{Path: &snapshot.PathMatch{Type: snapshot.PathPrefix, Value: prefix}}},
		Backends: backends,
	}
}

// client sends requests to a gateway port on 127.0.0.1 whatever the URL's
// host, so tests can use real host names for Host and SNI.
type client struct {
	t    *testing.T
	port int32
	http *http.Client
}

func newClient(t *testing.T, port int32, tlsConfig *tls.Config) *client {
	t.Helper()
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return dialer.DialContext(ctx, network, net.JoinHostPort("127.0.0.1", strconv.Itoa(int(port))))
		},
		TLSClientConfig:   tlsConfig,
		ForceAttemptHTTP2: true,
		MaxIdleConns:      10,
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &client{t: t, port: port, http: &http.Client{
		Transport: tr,
		Timeout:   10 * time.Second,
		// The tests look at redirects themselves.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// tlsClient trusts ca and presents cert (if any) when asked.
func tlsClient(ca *testpki.CA, cert *testpki.Cert) *tls.Config {
	cfg := &tls.Config{RootCAs: ca.Pool(), MinVersion: tls.VersionTLS12}
	if cert != nil {
		cfg.Certificates = []tls.Certificate{*cert.TLS}
	}
	return cfg
}

// response is a response with its body read.
type response struct {
	*http.Response
	body []byte
}

func (c *client) do(req *http.Request) response {
	c.t.Helper()
	res, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		c.t.Fatalf("read body of %s: %v", req.URL, err)
	}
	return response{Response: res, body: body}
}

// get requests url (scheme://host/path) and returns the response.
func (c *client) get(url string, header ...string) response {
	c.t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Add(header[i], header[i+1])
	}
	return c.do(req)
}

// echo decodes the body as an echo backend's answer.
func (r response) echo(t *testing.T) echo {
	t.Helper()
	var e echo
	if err := json.Unmarshal(r.body, &e); err != nil {
		t.Fatalf("status %d, body %q is not an echo: %v", r.StatusCode, r.body, err)
	}
	return e
}
