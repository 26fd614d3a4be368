package upstream

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/certgate/certgate/dataplane/snapshot"
	"github.com/certgate/certgate/internal/testpki"
)

// mtlsBackend requires a client certificate from ca and answers with the
// subject CN and serial of the one it saw. GET /slow waits for release.
func mtlsBackend(t *testing.T, ca *testpki.CA, serving *testpki.Cert, entered chan<- struct{}, release <-chan struct{}) *testBackend {
	t.Helper()
	return startBackend(t, func(w http.ResponseWriter, r *http.Request) {
		leaf := r.TLS.PeerCertificates[0]
		if r.URL.Path == "/slow" {
			entered <- struct{}{}
			<-release
		}
		_, _ = w.Write([]byte(leaf.Subject.CommonName + " " + leaf.SerialNumber.String()))
	}, func(s *httptest.Server) {
		s.TLS = serverTLS(serving.TLS)
		s.TLS.ClientAuth = tls.RequireAndVerifyClientCert
		s.TLS.ClientCAs = ca.Pool()
	})
}

func mtlsSnapshotBackend(ca *testpki.CA, client *testpki.Cert, ep snapshot.Endpoint) *snapshot.Backend {
	return &snapshot.Backend{Name: "ns/svc:443", Endpoints: []snapshot.Endpoint{ep}, TLS: &snapshot.BackendTLS{
		ServerName:        "svc.test",
		CACertificates:    []snapshot.CACertificate{{Name: "ns/ca", PEM: ca.PEM}},
		ClientCertificate: &snapshot.Certificate{Name: "ns/client", CertPEM: client.CertPEM, Key: client.KeyPEM},
	}}
}

func identity(c *x509.Certificate) string {
	return c.Subject.CommonName + " " + c.SerialNumber.String()
}

func TestRotatedClientCertificateGetsNewTransportWhileOldRequestFinishes(t *testing.T) {
	ca := testpki.NewCA(t, "mesh CA")
	serving := ca.Issue(t, testpki.Options{CommonName: "svc", DNSNames: []string{"svc.test"}})
	oldCert := ca.Issue(t, testpki.Options{CommonName: "gateway-2024"})
	newCert := ca.Issue(t, testpki.Options{CommonName: "gateway-2025"})
	entered, release := make(chan struct{}), make(chan struct{})
	be := mtlsBackend(t, ca, serving, entered, release)
	pool := NewPool()

	before, err := pool.Upstream(mtlsSnapshotBackend(ca, oldCert, be.endpoint()))
	if err != nil {
		t.Fatal(err)
	}
	pool.Sweep()
	if _, body, err := get(t, before, "/"); err != nil || body != identity(oldCert.Leaf) {
		t.Fatalf("backend saw %q (%v), want %q", body, err, identity(oldCert.Leaf))
	}
	slow := make(chan string, 1)
	go func() {
		_, body, err := get(t, before, "/slow")
		if err != nil {
			body = err.Error()
		}
		slow <- body
	}()
	<-entered

	// The next snapshot rotates the client certificate and is swapped in.
	after, err := pool.Upstream(mtlsSnapshotBackend(ca, newCert, be.endpoint()))
	if err != nil {
		t.Fatal(err)
	}
	if after.Transport == before.Transport {
		t.Fatal("a rotated client certificate reused the old transport")
	}
	if n := pool.Sweep(); n != 1 {
		t.Fatalf("sweep retired %d transports, want the old one", n)
	}
	if _, body, err := get(t, after, "/"); err != nil || body != identity(newCert.Leaf) {
		t.Fatalf("after rotation the backend saw %q (%v), want %q", body, err, identity(newCert.Leaf))
	}
	close(release)
	if body := <-slow; body != identity(oldCert.Leaf) {
		t.Fatalf("in-flight request on the old transport ended with %q", body)
	}
}

func TestClientCertificatePresentedWhateverCAsTheBackendNames(t *testing.T) {
	// The backend names an unrelated CA as acceptable (a stale hint) but
	// takes any certificate. Go's client, given only Certificates, would
	// send none; the gateway presents its certificate regardless.
	ca := testpki.NewCA(t, "mesh CA")
	hint := testpki.NewCA(t, "unrelated CA")
	serving := ca.Issue(t, testpki.Options{DNSNames: []string{"svc.test"}})
	client := ca.Issue(t, testpki.Options{CommonName: "gateway"})
	be := startBackend(t, func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(identity(r.TLS.PeerCertificates[0])))
	}, func(s *httptest.Server) {
		s.TLS = serverTLS(serving.TLS)
		s.TLS.ClientAuth = tls.RequireAnyClientCert
		s.TLS.ClientCAs = hint.Pool()
	})
	u := compile(t, mtlsSnapshotBackend(ca, client, be.endpoint()))
	if _, body, err := get(t, u, "/"); err != nil || body != identity(client.Leaf) {
		t.Fatalf("backend saw %q (%v), want %q", body, err, identity(client.Leaf))
	}
}
