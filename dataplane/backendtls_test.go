package dataplane_test

import (
	"net/http"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/certgate/certgate/dataplane/snapshot"
	"github.com/certgate/certgate/internal/testpki"
)

// backendPKI: the backend's serving certificate, and the CA that issues the
// gateway's client certificates, which the backend requires.
type backendPKI struct {
	backendCA, gatewayCA *testpki.CA
	backendCert          *testpki.Cert
}

func newBackendPKI(t *testing.T) *backendPKI {
	p := &backendPKI{backendCA: testpki.NewCA(t, "backend CA"), gatewayCA: testpki.NewCA(t, "gateway identity CA")}
	p.backendCert = p.backendCA.Issue(t, testpki.Options{CommonName: "payments", DNSNames: []string{"payments.internal"}})
	return p
}

func (p *backendPKI) identity(t *testing.T, cn string) *snapshot.Certificate {
	c := p.gatewayCA.Issue(t, testpki.Options{CommonName: cn})
	return &snapshot.Certificate{Name: "default/" + cn, CertPEM: c.CertPEM, Key: snapshot.PrivateKey(c.KeyPEM)}
}

func (p *backendPKI) backendTLS(client *snapshot.Certificate) *snapshot.BackendTLS {
	return &snapshot.BackendTLS{
		ServerName:        "payments.internal",
		CACertificates:    []snapshot.CACertificate{{Name: "default/backend-ca", PEM: p.backendCA.PEM}},
		ClientCertificate: client,
	}
}

func tlsBackend(e *echoBackend, t *snapshot.BackendTLS) snapshot.WeightedBackend {
	b := e.weighted(1)
	b.TLS = t
	return b
}

func TestBackendSeesTheGatewayClientCertificate(t *testing.T) {
	g := newGateway(t)
	p := newBackendPKI(t)
	payments := newTLSEcho(t, "payments", p.backendCert, p.gatewayCA)
	ledger := newTLSEcho(t, "ledger", p.backendCert, p.gatewayCA)
	port := freePort(t)
	gatewayID, overrideID, rotatedID := p.identity(t, "gateway"), p.identity(t, "ledger-client"), p.identity(t, "gateway-rotated")
	apply := func(id *snapshot.Certificate) {
		g.apply(httpListener("http", port, route("r", nil,
			prefixRule("/payments", tlsBackend(payments, p.backendTLS(id))),
			// The per-backend override: this backend gets its own identity.
			prefixRule("/ledger", tlsBackend(ledger, p.backendTLS(overrideID))),
		)))
	}
	apply(gatewayID)
	c := newClient(t, port, nil)
	if e := c.get("http://h.example.com/payments").echo(t); e.ClientCN != "gateway" {
		t.Errorf("payments saw client %q, want the gateway's certificate", e.ClientCN)
	}
	if e := c.get("http://h.example.com/ledger").echo(t); e.ClientCN != "ledger-client" {
		t.Errorf("ledger saw client %q, want its override", e.ClientCN)
	}
	apply(rotatedID)
	if e := c.get("http://h.example.com/payments").echo(t); e.ClientCN != "gateway-rotated" {
		t.Errorf("after rotation payments saw %q, want the new certificate", e.ClientCN)
	}
}

func TestBackendFailingBackendTLSPolicyGetsNoRequest(t *testing.T) {
	g := newGateway(t)
	p := newBackendPKI(t)
	payments := newTLSEcho(t, "payments", p.backendCert, p.gatewayCA)
	port := freePort(t)
	wrongSAN := p.backendTLS(p.identity(t, "gateway"))
	wrongSAN.SubjectAltNames = []snapshot.BackendSAN{{Type: snapshot.BackendSANHostname, Value: "ledger.internal"}}
	wrongCA := p.backendTLS(p.identity(t, "gateway"))
	wrongCA.CACertificates = []snapshot.CACertificate{{Name: "default/other-ca", PEM: testpki.NewCA(t, "other").PEM}}
	g.apply(httpListener("http", port, route("r", nil,
		prefixRule("/san", tlsBackend(payments, wrongSAN)),
		prefixRule("/ca", tlsBackend(payments, wrongCA)),
	)))
	c := newClient(t, port, nil)
	for path, reason := range map[string]string{"/san": "san_mismatch", "/ca": "unknown_authority"} {
		if res := c.get("http://h.example.com" + path); res.StatusCode != http.StatusBadGateway {
			t.Errorf("%s: status %d, want 502", path, res.StatusCode)
		}
		if got := testutil.ToFloat64(g.metrics.BackendTLSErrors.WithLabelValues("default", "payments", reason)); got != 1 {
			t.Errorf("%s: backend TLS errors{reason=%q} = %v, want 1", path, reason, got)
		}
	}
	if n := payments.requests(); n != 0 {
		t.Errorf("the backend received %d requests, want none", n)
	}
}

func TestCertificateExpiryGauges(t *testing.T) {
	g := newGateway(t)
	p := newPKI(t)
	bp := newBackendPKI(t)
	be := newEcho(t, "api")
	port := freePort(t)
	id := bp.identity(t, "gateway")
	g.apply(httpsListener("https", port, "", []*testpki.Cert{p.serving}, route("api", nil,
		prefixRule("/", tlsBackend(be, bp.backendTLS(id))))))
	for _, tt := range []struct{ role, name string }{{"serving", "https-0"}, {"backend-client", "gateway"}, {"ca", "backend-ca"}} {
		got := testutil.ToFloat64(g.metrics.CertificateExpiry.WithLabelValues(tt.role, "default", tt.name))
		if got < float64(p.serving.Leaf.NotBefore.Unix()) {
			t.Errorf("expiry{role=%s,name=%s} = %v, want a NotAfter time", tt.role, tt.name, got)
		}
	}
	if got := testutil.ToFloat64(g.metrics.CertificateExpiry.WithLabelValues("serving", "default", "https-0")); got != float64(p.serving.Leaf.NotAfter.Unix()) {
		t.Errorf("serving expiry = %v, want %d", got, p.serving.Leaf.NotAfter.Unix())
	}
}

// TestMirrorOnlyBackendHasExpiryGauges: a backend that only a RequestMirror
// filter reaches connects with its own client certificate and CAs, so their
// expiry gauges exist as for any other backend; an expired mirror identity
// must be as visible as an expired main one.
func TestMirrorOnlyBackendHasExpiryGauges(t *testing.T) {
	g := newGateway(t)
	bp := newBackendPKI(t)
	main := newEcho(t, "main")
	shadow := newTLSEcho(t, "shadow", bp.backendCert, bp.gatewayCA)
	port := freePort(t)
	cert := bp.gatewayCA.Issue(t, testpki.Options{CommonName: "mirror-client"})
	mirrorTLS := bp.backendTLS(&snapshot.Certificate{Name: "default/mirror-client", CertPEM: cert.CertPEM, Key: snapshot.PrivateKey(cert.KeyPEM)})
	mirrorTLS.CACertificates[0].Name = "default/mirror-ca"
	rule := prefixRule("/", main.weighted(1))
	rule.Filters = []snapshot.Filter{{Type: snapshot.FilterRequestMirror, RequestMirror: &snapshot.Mirror{Backend: tlsBackend(shadow, mirrorTLS).Backend}}}
	g.apply(httpListener("http", port, route("r", nil, rule)))
	// The mirror's handshake presents the certificate the gauge watches.
	newClient(t, port, nil).get("http://h.example.com/copy").echo(t)
	waitFor(t, func() bool { return shadow.requests() == 1 }, "the mirrored request over TLS")
	for _, tt := range []struct {
		role, name string
		want       int64
	}{
		{"backend-client", "mirror-client", cert.Leaf.NotAfter.Unix()},
		{"ca", "mirror-ca", bp.backendCA.Cert.NotAfter.Unix()},
	} {
		if got := testutil.ToFloat64(g.metrics.CertificateExpiry.WithLabelValues(tt.role, "default", tt.name)); got != float64(tt.want) {
			t.Errorf("expiry{role=%s,name=%s} = %v, want %d", tt.role, tt.name, got, tt.want)
		}
	}
}
