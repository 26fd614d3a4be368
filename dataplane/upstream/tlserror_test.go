package upstream

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/certgate/certgate/dataplane/snapshot"
	"github.com/certgate/certgate/internal/testpki"
)

func TestBackendTLSVerification(t *testing.T) {
	ca := testpki.NewCA(t, "backend CA")
	stranger := testpki.NewCA(t, "stranger CA")
	serving := ca.Issue(t, testpki.Options{DNSNames: []string{"svc.test"}, URIs: []string{"spiffe://cluster.test/ns/ns/sa/svc"}})
	wildcard := ca.Issue(t, testpki.Options{DNSNames: []string{"*.svc.test"}})
	expired := ca.Issue(t, testpki.Options{DNSNames: []string{"svc.test"},
		NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(-24 * time.Hour)})
	client := ca.Issue(t, testpki.Options{CommonName: "gateway"})
	strangerClient := stranger.Issue(t, testpki.Options{CommonName: "gateway"})
	trustCA := []snapshot.CACertificate{{Name: "ns/ca", PEM: ca.PEM}}

	tests := []struct {
		name          string
		serving       *testpki.Cert
		requireClient bool
		tls           snapshot.BackendTLS
		want          string // TLSErrorReason; "" means the request succeeds
	}{
		{"trusted", serving, false, snapshot.BackendTLS{ServerName: "svc.test", CACertificates: trustCA}, ""},
		{"wrong CA", serving, false, snapshot.BackendTLS{ServerName: "svc.test",
			CACertificates: []snapshot.CACertificate{{Name: "ns/other", PEM: stranger.PEM}}}, ReasonUnknownAuthority},
		{"no trust configured fails closed", serving, false, snapshot.BackendTLS{ServerName: "svc.test"}, ReasonUnknownAuthority},
		{"server name mismatch", serving, false, snapshot.BackendTLS{ServerName: "other.test", CACertificates: trustCA}, ReasonHostnameMismatch},
		{"expired", expired, false, snapshot.BackendTLS{ServerName: "svc.test", CACertificates: trustCA}, ReasonExpired},
		{"SAN hostname replaces server name", serving, false, snapshot.BackendTLS{ServerName: "sni.test", CACertificates: trustCA,
			SubjectAltNames: []snapshot.BackendSAN{{Type: snapshot.BackendSANHostname, Value: "svc.test"}}}, ""},
		{"SAN hostname matches wildcard certificate", wildcard, false, snapshot.BackendTLS{ServerName: "sni.test", CACertificates: trustCA,
			SubjectAltNames: []snapshot.BackendSAN{{Type: snapshot.BackendSANHostname, Value: "api.svc.test"}}}, ""},
		{"SAN URI exact", serving, false, snapshot.BackendTLS{ServerName: "sni.test", CACertificates: trustCA,
			SubjectAltNames: []snapshot.BackendSAN{{Type: snapshot.BackendSANURI, Value: "spiffe://cluster.test/ns/ns/sa/svc"}}}, ""},
		{"SAN mismatch", serving, false, snapshot.BackendTLS{ServerName: "svc.test", CACertificates: trustCA,
			SubjectAltNames: []snapshot.BackendSAN{{Type: snapshot.BackendSANHostname, Value: "api.test"},
				{Type: snapshot.BackendSANURI, Value: "spiffe://cluster.test/ns/ns/sa/svc2"}}}, ReasonSANMismatch},
		{"SANs still verify the chain", serving, false, snapshot.BackendTLS{ServerName: "svc.test",
			CACertificates:  []snapshot.CACertificate{{Name: "ns/other", PEM: stranger.PEM}},
			SubjectAltNames: []snapshot.BackendSAN{{Type: snapshot.BackendSANHostname, Value: "svc.test"}}}, ReasonUnknownAuthority},
		{"backend requires a client certificate we lack", serving, true, snapshot.BackendTLS{ServerName: "svc.test",
			CACertificates: trustCA}, ReasonBadCertificate},
		{"backend rejects our client certificate", serving, true, snapshot.BackendTLS{ServerName: "svc.test", CACertificates: trustCA,
			ClientCertificate: &snapshot.Certificate{Name: "ns/c", CertPEM: strangerClient.CertPEM, Key: strangerClient.KeyPEM}}, ReasonBadCertificate},
		{"backend accepts our client certificate", serving, true, snapshot.BackendTLS{ServerName: "svc.test", CACertificates: trustCA,
			ClientCertificate: &snapshot.Certificate{Name: "ns/c", CertPEM: client.CertPEM, Key: client.KeyPEM}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			be := startBackend(t, okHandler, func(s *httptest.Server) {
				s.TLS = serverTLS(tt.serving.TLS)
				if tt.requireClient {
					s.TLS.ClientAuth = tls.RequireAndVerifyClientCert
					s.TLS.ClientCAs = ca.Pool()
				}
				s.Config.ErrorLog = quietLog() // handshake failures are the point
			})
			u := compile(t, &snapshot.Backend{Name: "ns/svc:443", Endpoints: []snapshot.Endpoint{be.endpoint()}, TLS: &tt.tls})
			// A GET takes the direct path, a POST with a body the
			// http.Transport: both make their connections alike.
			for _, req := range []*http.Request{newRequest(t, http.MethodGet, "/", ""), newRequest(t, http.MethodPost, "/", "body")} {
				code, _, err := roundTrip(u, nil, req)
				if got := TLSErrorReason(err); got != tt.want {
					t.Fatalf("%s: TLSErrorReason(%v) = %q, want %q", req.Method, err, got, tt.want)
				}
				if tt.want == "" && code != 200 {
					t.Fatalf("%s: status %d, want 200", req.Method, code)
				}
				if tt.want != "" && be.calls.Load() != 0 {
					t.Fatalf("%s: the backend handler ran despite the TLS failure", req.Method)
				}
			}
		})
	}
}

func TestTLSErrorReasonIgnoresNonTLSErrors(t *testing.T) {
	u := compile(t, &snapshot.Backend{Name: "ns/svc:80", Endpoints: []snapshot.Endpoint{refusedEndpoint(t)}})
	_, _, err := get(t, u, "/")
	if err == nil {
		t.Fatal("request to a closed port succeeded")
	}
	for _, e := range []error{nil, err, errors.New("boom"), fmt.Errorf("wrapped: %w", ErrNoEndpoints)} {
		if got := TLSErrorReason(e); got != "" {
			t.Errorf("TLSErrorReason(%v) = %q, want \"\"", e, got)
		}
	}
	san := fmt.Errorf("attempt: %w", &SANMismatchError{Want: []string{"DNS:a"}})
	if got := TLSErrorReason(san); got != ReasonSANMismatch {
		t.Errorf("TLSErrorReason(wrapped SANMismatchError) = %q", got)
	}
}

func TestRejectedClientCertificateOverTLS12IsBadCertificate(t *testing.T) {
	// With TLS 1.2 the backend's alert arrives during the handshake, not on
	// the first read as with TLS 1.3; both must classify alike. (A TLS 1.2
	// backend that gets no certificate at all may answer handshake_failure,
	// as RFC 5246 allows and Go does; that is only "handshake".)
	ca := testpki.NewCA(t, "backend CA")
	stranger := testpki.NewCA(t, "stranger CA")
	serving := ca.Issue(t, testpki.Options{DNSNames: []string{"svc.test"}})
	client := stranger.Issue(t, testpki.Options{CommonName: "gateway"})
	be := startBackend(t, okHandler, func(s *httptest.Server) {
		s.TLS = serverTLS(serving.TLS)
		s.TLS.MaxVersion = tls.VersionTLS12
		s.TLS.ClientAuth = tls.RequireAndVerifyClientCert
		s.TLS.ClientCAs = ca.Pool()
		s.Config.ErrorLog = quietLog()
	})
	u := compile(t, &snapshot.Backend{Name: "ns/svc:443", Endpoints: []snapshot.Endpoint{be.endpoint()},
		TLS: &snapshot.BackendTLS{ServerName: "svc.test", CACertificates: []snapshot.CACertificate{{Name: "ns/ca", PEM: ca.PEM}},
			ClientCertificate: &snapshot.Certificate{Name: "ns/c", CertPEM: client.CertPEM, Key: client.KeyPEM}}})
	_, _, err := get(t, u, "/")
	if got := TLSErrorReason(err); got != ReasonBadCertificate {
		t.Fatalf("TLSErrorReason(%v) = %q, want %q", err, got, ReasonBadCertificate)
	}
	if be.calls.Load() != 0 {
		t.Fatal("the backend handler ran")
	}
}
