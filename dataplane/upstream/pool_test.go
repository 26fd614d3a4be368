package upstream

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/certgate/certgate/dataplane/snapshot"
	"github.com/certgate/certgate/internal/testpki"
)

func okHandler(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) }

func TestSequentialRequestsReuseOneConnection(t *testing.T) {
	be := startBackend(t, okHandler, nil)
	u := compile(t, &snapshot.Backend{Name: "ns/svc:80", Endpoints: []snapshot.Endpoint{be.endpoint()}})
	for i := range 50 {
		if code, _, err := get(t, u, "/"); err != nil || code != 200 {
			t.Fatalf("request %d: %d %v", i, code, err)
		}
	}
	if n := be.conns.Load(); n != 1 {
		t.Fatalf("50 sequential requests opened %d connections, want 1", n)
	}
}

func TestConcurrentRequestsReuseAtMostTheirConcurrency(t *testing.T) {
	be := startBackend(t, func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(2 * time.Millisecond) // keep requests overlapping
		okHandler(w, r)
	}, nil)
	u := compile(t, &snapshot.Backend{Name: "ns/svc:80", Endpoints: []snapshot.Endpoint{be.endpoint()}})
	const workers, each = 32, 10
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range each {
				if code, _, err := get(t, u, "/"); err != nil || code != 200 {
					t.Errorf("request: %d %v", code, err)
					return
				}
			}
		})
	}
	wg.Wait()
	// At most one connection per worker is in use at a time. Go's
	// transport also keeps the connection of a dial it started for a
	// request that a freed connection then served first; each waiting
	// request has at most one such dial, so the bound is twice the
	// concurrency, and far below one connection per request. How many
	// of those dials happen depends on scheduling, so a tighter bound
	// fails on a loaded machine without saying anything about reuse.
	if n := be.conns.Load(); n > 2*workers {
		t.Fatalf("%d requests at concurrency %d opened %d connections", workers*each, workers, n)
	}
	if be.calls.Load() != workers*each {
		t.Fatalf("backend saw %d requests, want %d", be.calls.Load(), workers*each)
	}
}

func TestH2CBackendReceivesHTTP2(t *testing.T) {
	proto := make(chan int, 1)
	be := startBackend(t, func(w http.ResponseWriter, r *http.Request) {
		proto <- r.ProtoMajor
		okHandler(w, r)
	}, func(s *httptest.Server) {
		s.Config.Protocols = new(http.Protocols)
		s.Config.Protocols.SetUnencryptedHTTP2(true)
	})
	u := compile(t, &snapshot.Backend{
		Name: "ns/grpc:80", AppProtocol: snapshot.AppProtocolH2C,
		Endpoints: []snapshot.Endpoint{be.endpoint()},
	})
	if code, _, err := get(t, u, "/"); err != nil || code != 200 {
		t.Fatalf("h2c request: %d %v", code, err)
	}
	if got := <-proto; got != 2 {
		t.Fatalf("backend saw HTTP/%d, want HTTP/2", got)
	}
}

func TestPlainBackendIsSpokenHTTP1(t *testing.T) {
	proto := make(chan string, 1)
	be := startBackend(t, func(w http.ResponseWriter, r *http.Request) {
		proto <- r.Proto
		okHandler(w, r)
	}, nil)
	u := compile(t, &snapshot.Backend{Name: "ns/ws:80", AppProtocol: snapshot.AppProtocolWebSocket,
		Endpoints: []snapshot.Endpoint{be.endpoint()}})
	if _, _, err := get(t, u, "/"); err != nil {
		t.Fatal(err)
	}
	if got := <-proto; got != "HTTP/1.1" {
		t.Fatalf("backend saw %s, want HTTP/1.1", got)
	}
}

func TestPoolSharesTransportPerTLSIdentity(t *testing.T) {
	ca := testpki.NewCA(t, "backend CA")
	other := testpki.NewCA(t, "other CA")
	client := ca.Issue(t, testpki.Options{CommonName: "gateway"})
	backend := func(caPEM []byte, eps ...snapshot.Endpoint) *snapshot.Backend {
		return &snapshot.Backend{Name: "ns/svc:443", Endpoints: eps, TLS: &snapshot.BackendTLS{
			ServerName:        "svc.test",
			CACertificates:    []snapshot.CACertificate{{Name: "ns/ca", PEM: caPEM}},
			ClientCertificate: &snapshot.Certificate{Name: "ns/client", CertPEM: client.CertPEM, Key: client.KeyPEM},
		}}
	}
	p := NewPool()
	first := mustTransport(t, p, backend(ca.PEM))
	if again := mustTransport(t, p, backend(ca.PEM, snapshot.Endpoint{Address: "127.0.0.1", Port: 1})); again != first {
		t.Fatal("same TLS identity with other endpoints got a new transport")
	}
	if rotated := mustTransport(t, p, backend(other.PEM)); rotated == first {
		t.Fatal("a different CA reused the old transport")
	}
	plain := &snapshot.Backend{Name: "ns/svc:443"}
	if mustTransport(t, p, plain) == first {
		t.Fatal("a plaintext backend reused a TLS transport")
	}
	if p.Len() != 3 {
		t.Fatalf("pool holds %d transports, want 3", p.Len())
	}
}

func TestSweepRetiresTransportsTheNewSnapshotDoesNotUse(t *testing.T) {
	p := NewPool()
	a := &snapshot.Backend{Name: "ns/a:80"}
	b := &snapshot.Backend{Name: "ns/b:80"}
	ta := mustTransport(t, p, a)
	mustTransport(t, p, b)
	if n := p.Sweep(); n != 0 {
		t.Fatalf("first sweep retired %d, want 0", n)
	}
	// The next snapshot keeps a and drops b.
	if mustTransport(t, p, a) != ta {
		t.Fatal("a kept backend got a new transport")
	}
	if n := p.Sweep(); n != 1 || p.Len() != 1 {
		t.Fatalf("sweep retired %d and kept %d, want 1 and 1", n, p.Len())
	}
	// A snapshot without a: nothing is kept.
	if n := p.Sweep(); n != 1 || p.Len() != 0 {
		t.Fatalf("sweep retired %d and kept %d, want 1 and 0", n, p.Len())
	}
}

func TestBadTLSMaterialIsACompileErrorNamingBackendAndField(t *testing.T) {
	ca := testpki.NewCA(t, "CA")
	good := ca.Issue(t, testpki.Options{})
	other := ca.Issue(t, testpki.Options{})
	tests := []struct {
		name string
		tls  snapshot.BackendTLS
		want string
	}{
		{"bad client key", snapshot.BackendTLS{ServerName: "a.test", ClientCertificate: &snapshot.Certificate{
			Name: "ns/client", CertPEM: good.CertPEM, Key: []byte("not a key")}}, "tls.clientCertificate (ns/client)"},
		{"key of another certificate", snapshot.BackendTLS{ServerName: "a.test", ClientCertificate: &snapshot.Certificate{
			Name: "ns/client", CertPEM: good.CertPEM, Key: other.KeyPEM}}, "tls.clientCertificate (ns/client)"},
		{"no CA PEM", snapshot.BackendTLS{ServerName: "a.test", CACertificates: []snapshot.CACertificate{
			{Name: "ns/ca", PEM: []byte("garbage")}}}, "tls.caCertificates[0] (ns/ca)"},
		{"no server name", snapshot.BackendTLS{}, "tls.serverName"},
		{"unknown SAN type", snapshot.BackendTLS{ServerName: "a.test", SubjectAltNames: []snapshot.BackendSAN{
			{Type: "Email", Value: "a@b"}}}, "tls.subjectAltNames[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewPool().Transport(&snapshot.Backend{Name: "ns/svc:443", TLS: &tt.tls})
			if err == nil || !strings.Contains(err.Error(), "backend ns/svc:443: "+tt.want) {
				t.Fatalf("error %v, want one naming backend ns/svc:443 and %q", err, tt.want)
			}
			if strings.Contains(err.Error(), string(other.KeyPEM)) {
				t.Fatal("error quotes the private key")
			}
		})
	}
}

func mustTransport(t *testing.T, p *Pool, b *snapshot.Backend) http.RoundTripper {
	t.Helper()
	rt, err := p.Transport(b)
	if err != nil {
		t.Fatal(err)
	}
	return rt
}

func TestTLSBackendIsOfferedHTTP2OnlyWhenItsAppProtocolAsks(t *testing.T) {
	ca := testpki.NewCA(t, "CA")
	serving := ca.Issue(t, testpki.Options{DNSNames: []string{"svc.test"}})
	for _, tt := range []struct {
		proto snapshot.AppProtocol
		want  int
	}{{snapshot.AppProtocolHTTP, 1}, {snapshot.AppProtocolH2C, 2}} {
		proto := make(chan int, 1)
		be := startBackend(t, func(w http.ResponseWriter, r *http.Request) {
			proto <- r.ProtoMajor
		}, func(s *httptest.Server) {
			s.EnableHTTP2 = true
			s.TLS = serverTLS(serving.TLS)
		})
		u := compile(t, &snapshot.Backend{Name: "ns/svc:443", AppProtocol: tt.proto, Endpoints: []snapshot.Endpoint{be.endpoint()},
			TLS: &snapshot.BackendTLS{ServerName: "svc.test", CACertificates: []snapshot.CACertificate{{Name: "ns/ca", PEM: ca.PEM}}}})
		if _, _, err := get(t, u, "/"); err != nil {
			t.Fatal(err)
		}
		if got := <-proto; got != tt.want {
			t.Errorf("appProtocol %q over TLS: backend saw HTTP/%d, want HTTP/%d", tt.proto, got, tt.want)
		}
	}
}
