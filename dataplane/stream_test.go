package dataplane_test

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/certgate/certgate/dataplane/pin"
	"github.com/certgate/certgate/dataplane/snapshot"
	"github.com/certgate/certgate/internal/testpki"
	"github.com/certgate/certgate/internal/testwait"
)

// tcpEcho is a byte-stream backend that writes back every line it reads,
// prefixed with its name, and counts what reached it.
type tcpEcho struct {
	name     string
	ln       net.Listener
	accepted atomic.Int64
	received atomic.Int64
}

// newTCPEcho serves plain TCP, or TLS with cert when cert is not nil,
// requiring a client certificate from clientCA when that is not nil.
func newTCPEcho(t *testing.T, name string, cert *testpki.Cert, clientCA *testpki.CA) *tcpEcho {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if cert != nil {
		cfg := &tls.Config{Certificates: []tls.Certificate{*cert.TLS}, MinVersion: tls.VersionTLS12}
		if clientCA != nil {
			cfg.ClientCAs, cfg.ClientAuth = clientCA.Pool(), tls.RequireAndVerifyClientCert
		}
		ln = tls.NewListener(ln, cfg)
	}
	e := &tcpEcho{name: name, ln: ln}
	t.Cleanup(func() { _ = ln.Close() })
	go e.serve()
	return e
}

func (e *tcpEcho) serve() {
	for {
		c, err := e.ln.Accept()
		if err != nil {
			return
		}
		e.accepted.Add(1)
		go func() {
			defer c.Close()
			r := bufio.NewReader(c)
			for {
				line, err := r.ReadString('\n')
				e.received.Add(int64(len(line)))
				if err != nil {
					return
				}
				if _, err := io.WriteString(c, e.name+": "+line); err != nil {
					return
				}
			}
		}()
	}
}

func (e *tcpEcho) weighted() snapshot.WeightedBackend {
	addr := e.ln.Addr().(*net.TCPAddr)
	return snapshot.WeightedBackend{Weight: 1, Backend: snapshot.Backend{
		Name: "default/" + e.name + ":9000", Namespace: "default", Service: e.name, Port: 9000,
		Endpoints: []snapshot.Endpoint{{Address: addr.IP.String(), Port: int32(addr.Port)}},
	}}
}

// tlsListener is a TLS listener on 127.0.0.1; certs only in Terminate
// mode.
func tlsListener(name string, port int32, hostname string, mode snapshot.TLSMode, certs []*testpki.Cert, routes ...snapshot.Route) snapshot.Listener {
	l := snapshot.Listener{
		Name: "default/gw/" + name, Gateway: "default/gw", Address: "127.0.0.1", Port: port,
		Protocol: snapshot.ProtocolTLS, TLSMode: mode, Hostname: hostname, Routes: routes,
	}
	if mode == snapshot.TLSTerminate {
		l.TLS = &snapshot.ListenerTLS{}
		for i, c := range certs {
			l.TLS.Certificates = append(l.TLS.Certificates, servingCert("default/"+name+"-"+strconv.Itoa(i), c))
		}
	}
	return l
}

// tlsRoute is a TLSRoute of one rule.
func tlsRoute(name string, hostnames []string, req *snapshot.Requirement, backends ...snapshot.WeightedBackend) snapshot.Route {
	return snapshot.Route{
		Kind: snapshot.RouteKindTLS, Namespace: "default", Name: name, Hostnames: hostnames,
		Rules: []snapshot.Rule{{Backends: backends, ClientCert: req}},
	}
}

// dialTLS connects to the gateway's port and completes a TLS 1.3
// handshake for serverName with cfg.
func dialTLS(t *testing.T, port int32, serverName string, cfg *tls.Config) (*tls.Conn, error) {
	t.Helper()
	cfg = cfg.Clone()
	cfg.ServerName, cfg.MinVersion = serverName, tls.VersionTLS13
	d := &net.Dialer{Timeout: 5 * time.Second}
	c, err := tls.DialWithDialer(d, "tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(int(port))), cfg)
	if err == nil {
		t.Cleanup(func() { _ = c.Close() })
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	}
	return c, err
}

// exchange writes a line and returns the line read back, or the error.
func exchange(c net.Conn, line string) (string, error) {
	if _, err := io.WriteString(c, line+"\n"); err != nil {
		return "", err
	}
	got, err := bufio.NewReader(c).ReadString('\n')
	return strings.TrimSuffix(got, "\n"), err
}

// terminated is a terminating TLS listener whose TLSRoute "broker" pins
// p.pinned, in front of a TCP echo.
func terminated(t *testing.T, p *pki, mode snapshot.RequirementMode) (*gateway, int32, *tcpEcho) {
	t.Helper()
	g, port, echo := newGateway(t), freePort(t), newTCPEcho(t, "broker", nil, nil)
	req := &snapshot.Requirement{Policy: "default/p", Mode: mode, Pins: []pin.Pin{pinOf(p.pinned, pin.SHA256)}}
	g.apply(tlsListener("tls", port, "", snapshot.TLSTerminate, []*testpki.Cert{p.serving},
		tlsRoute("broker", []string{"broker.example.com"}, req, echo.weighted())))
	return g, port, echo
}

func (g *gateway) tlsRejections(reason, mode string) float64 {
	return testutil.ToFloat64(g.metrics.ClientCertRejections.WithLabelValues("default", "TLSRoute/broker", "0", reason, mode))
}

func TestTerminatedTLSRouteRelaysPinnedClientToTCPBackend(t *testing.T) {
	p := newPKI(t)
	g, port, echo := terminated(t, p, snapshot.ModeEnforce)
	c, err := dialTLS(t, port, "broker.example.com", tlsClient(p.servingCA, p.pinned))
	if err != nil {
		t.Fatalf("handshake: %v", err)
	}
	if got, err := exchange(c, "hello"); err != nil || got != "broker: hello" {
		t.Fatalf("echo = %q, %v; want %q", got, err, "broker: hello")
	}
	if echo.accepted.Load() != 1 {
		t.Errorf("backend accepted %d connections, want 1", echo.accepted.Load())
	}
	if got := testutil.ToFloat64(g.metrics.ClientCertVerified.WithLabelValues("default", "TLSRoute/broker", "0")); got != 1 {
		t.Errorf("verified = %v, want 1", got)
	}
	// The HTTPRoute of the same namespace and name has its own series.
	if got := testutil.ToFloat64(g.metrics.ClientCertVerified.WithLabelValues("default", "broker", "0")); got != 0 {
		t.Errorf("verified for HTTPRoute default/broker = %v, want 0", got)
	}
}

// refused dials with cfg and returns the error the client sees: in TLS
// 1.3 the server judges the client's certificate after the client's
// handshake has completed, so the alert arrives on the first read.
func refused(t *testing.T, port int32, cfg *tls.Config) error {
	t.Helper()
	c, err := dialTLS(t, port, "broker.example.com", cfg)
	if err != nil {
		return err
	}
	got, err := exchange(c, "hello")
	if err == nil {
		t.Fatalf("the refused client read %q from the backend", got)
	}
	return err
}

func TestTerminatedTLSRouteRefusesClientWithoutCertificate(t *testing.T) {
	p := newPKI(t)
	g, port, echo := terminated(t, p, snapshot.ModeEnforce)
	err := refused(t, port, tlsClient(p.servingCA, nil))
	if !strings.Contains(err.Error(), "certificate required") {
		t.Errorf("client error = %v, want the certificate_required alert", err)
	}
	// crypto/tls sends the alert before the handshake returns to the data
	// plane, which counts the refusal then: the count may trail the alert.
	testwait.Until(t, 5*time.Second, "the refusal counted", func() error {
		if got := g.tlsRejections("missing", "enforce"); got != 1 {
			return fmt.Errorf("rejections{reason=missing} = %v, want 1", got)
		}
		return nil
	})
	if echo.accepted.Load() != 0 || echo.received.Load() != 0 {
		t.Errorf("backend accepted %d connections and received %d bytes, want none", echo.accepted.Load(), echo.received.Load())
	}
}

func TestTerminatedTLSRouteRefusesStrangerCertificate(t *testing.T) {
	p := newPKI(t)
	g, port, echo := terminated(t, p, snapshot.ModeEnforce)
	err := refused(t, port, tlsClient(p.servingCA, p.foreignCert))
	// crypto/tls sends bad_certificate for every error a verification
	// callback returns (see streamTLS).
	if !strings.Contains(err.Error(), "bad certificate") {
		t.Errorf("client error = %v, want the bad_certificate alert", err)
	}
	if got := g.tlsRejections("pin_mismatch", "enforce"); got != 1 {
		t.Errorf("rejections{reason=pin_mismatch} = %v, want 1", got)
	}
	if echo.accepted.Load() != 0 || echo.received.Load() != 0 {
		t.Errorf("backend accepted %d connections and received %d bytes, want none", echo.accepted.Load(), echo.received.Load())
	}
}

func TestTerminatedTLSRouteAuditModePassesAndCounts(t *testing.T) {
	p := newPKI(t)
	g, port, _ := terminated(t, p, snapshot.ModeAudit)
	c, err := dialTLS(t, port, "broker.example.com", tlsClient(p.servingCA, p.foreignCert))
	if err != nil {
		t.Fatalf("handshake: %v", err)
	}
	if got, err := exchange(c, "hello"); err != nil || got != "broker: hello" {
		t.Fatalf("echo = %q, %v; want %q", got, err, "broker: hello")
	}
	if got := g.tlsRejections("pin_mismatch", "audit"); got != 1 {
		t.Errorf("rejections{reason=pin_mismatch, mode=audit} = %v, want 1", got)
	}
}

func TestRemovedPinClosesOpenTLSRouteConnection(t *testing.T) {
	p := newPKI(t)
	g, port, echo := terminated(t, p, snapshot.ModeEnforce)
	c, err := dialTLS(t, port, "broker.example.com", tlsClient(p.servingCA, p.pinned))
	if err != nil {
		t.Fatalf("handshake: %v", err)
	}
	if got, err := exchange(c, "before"); err != nil || got != "broker: before" {
		t.Fatalf("echo = %q, %v; want %q", got, err, "broker: before")
	}
	other := &snapshot.Requirement{Policy: "default/p", Pins: []pin.Pin{pinOf(p.unpinned, pin.SHA256)}}
	g.apply(tlsListener("tls", port, "", snapshot.TLSTerminate, []*testpki.Cert{p.serving},
		tlsRoute("broker", []string{"broker.example.com"}, other, echo.weighted())))
	if got, err := exchange(c, "after"); err == nil {
		t.Fatalf("the open connection still reached the backend after its pin was removed: %q", got)
	}
}

func TestPassthroughTLSRoutesPickBackendBySNI(t *testing.T) {
	p := newPKI(t)
	certA := p.servingCA.Issue(t, testpki.Options{CommonName: "db-a", DNSNames: []string{"a.db.example.com"}})
	certB := p.servingCA.Issue(t, testpki.Options{CommonName: "db-b", DNSNames: []string{"b.db.example.com"}})
	a, b := newTCPEcho(t, "db-a", certA, nil), newTCPEcho(t, "db-b", certB, nil)
	g, port := newGateway(t), freePort(t)
	web := newEcho(t, "web")
	g.apply(
		tlsListener("db", port, "*.db.example.com", snapshot.TLSPassthrough, nil,
			tlsRoute("a", []string{"a.db.example.com"}, nil, a.weighted()),
			tlsRoute("b", []string{"b.db.example.com"}, nil, b.weighted())),
		httpsListener("web", port, "www.example.com", []*testpki.Cert{p.serving}, route("web", nil, prefixRule("/", web.weighted(1)))),
	)
	for _, host := range []string{"a.db.example.com", "b.db.example.com"} {
		c, err := dialTLS(t, port, host, tlsClient(p.servingCA, nil))
		if err != nil {
			t.Fatalf("%s: handshake: %v", host, err)
		}
		cn := c.ConnectionState().PeerCertificates[0].Subject.CommonName
		want := "db-" + host[:1]
		if cn != want {
			t.Errorf("%s: the client saw the certificate of %q, want the backend's own, %q", host, cn, want)
		}
		if got, err := exchange(c, "ping"); err != nil || got != want+": ping" {
			t.Errorf("%s: echo = %q, %v; want %q", host, got, err, want+": ping")
		}
	}
	if _, err := dialTLS(t, port, "c.db.example.com", tlsClient(p.servingCA, nil)); err == nil {
		t.Error("a handshake for a server name no TLSRoute has succeeded")
	}
	// The HTTPS listener on the same port is served after its ClientHello
	// was read.
	res := newClient(t, port, tlsClient(p.servingCA, nil)).get("https://www.example.com/")
	if res.StatusCode != 200 || res.echo(t).Backend != "web" {
		t.Errorf("HTTPS on the shared port: %d %s", res.StatusCode, res.body)
	}
	// And over HTTP/1.1, in the connection loop.
	conn, br := dialHTTP1(t, port, "www.example.com", tlsClient(p.servingCA, nil))
	fmt.Fprint(conn, "GET /h1 HTTP/1.1\r\nHost: www.example.com\r\n\r\n")
	if e := readEcho(t, br, "HTTP/1.1 on the shared port"); e.Backend != "web" || e.Header.Get("X-Forwarded-Proto") != "https" {
		t.Errorf("HTTP/1.1 on the shared port reached %q with X-Forwarded-Proto %q", e.Backend, e.Header.Get("X-Forwarded-Proto"))
	}
}

func TestTerminatedTLSRouteReencryptsWithGatewayClientCertificate(t *testing.T) {
	p := newPKI(t)
	backendCA, gatewayCA := testpki.NewCA(t, "backend CA"), testpki.NewCA(t, "gateway CA")
	backendCert := backendCA.Issue(t, testpki.Options{CommonName: "broker", DNSNames: []string{"broker.internal"}})
	gatewayCert := gatewayCA.Issue(t, testpki.Options{CommonName: "the gateway"})
	echo := newTCPEcho(t, "broker", backendCert, gatewayCA)
	b := echo.weighted()
	b.TLS = &snapshot.BackendTLS{
		ServerName:        "broker.internal",
		CACertificates:    []snapshot.CACertificate{{Name: "default/backend-ca", PEM: backendCA.PEM}},
		ClientCertificate: &snapshot.Certificate{Name: "default/gateway-client", CertPEM: gatewayCert.CertPEM, Key: snapshot.PrivateKey(gatewayCert.KeyPEM)},
	}
	g, port := newGateway(t), freePort(t)
	g.apply(tlsListener("tls", port, "", snapshot.TLSTerminate, []*testpki.Cert{p.serving},
		tlsRoute("broker", []string{"broker.example.com"}, nil, b)))
	c, err := dialTLS(t, port, "broker.example.com", tlsClient(p.servingCA, nil))
	if err != nil {
		t.Fatalf("handshake: %v", err)
	}
	// The backend requires a certificate from the gateway's CA: an answer
	// proves the stream was re-encrypted with the gateway's certificate.
	if got, err := exchange(c, "hello"); err != nil || got != "broker: hello" {
		t.Fatalf("echo = %q, %v; want %q", got, err, "broker: hello")
	}
}
