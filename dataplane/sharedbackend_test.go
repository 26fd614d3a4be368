package dataplane_test

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/certgate/certgate/dataplane/snapshot"
)

// connBackend answers every request with the address the request came
// from: the gateway's end of the backend connection that carried it.
type connBackend struct {
	*httptest.Server
	// opened counts the connections the gateway opened to it.
	opened atomic.Int64
}

func newConnBackend(t *testing.T) *connBackend {
	t.Helper()
	b := &connBackend{}
	b.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, r.RemoteAddr)
	}))
	b.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			b.opened.Add(1)
		}
	}
	b.Start()
	t.Cleanup(b.Close)
	return b
}

func (b *connBackend) weighted() snapshot.WeightedBackend {
	addr := b.Listener.Addr().(*net.TCPAddr)
	return snapshot.WeightedBackend{Weight: 1, Backend: snapshot.Backend{
		Name: "default/shared:80", Namespace: "default", Service: "shared", Port: 80,
		Endpoints: []snapshot.Endpoint{{Address: addr.IP.String(), Port: int32(addr.Port)}},
	}}
}

// Rules of different routes, on listeners of different Gateways, that send
// to one Service share its compiled backend: requests of all of them, one
// after the other, are carried by one backend connection over keep-alive,
// and an edit of one route keeps that connection.
func TestRulesToOneServiceShareOneBackendConnection(t *testing.T) {
	g := newGateway(t)
	be := newConnBackend(t)
	p1, p2 := freePort(t), freePort(t)
	second := httpListener("other", p2, route("c", nil, prefixRule("/c", be.weighted())))
	second.Gateway = "default/other"
	apply := func(version string) {
		g.apply(httpListener("http", p1, route("a", nil, headerRule("/a", version, be.weighted()), prefixRule("/b", be.weighted()))), second)
	}
	apply("v1")
	c1, c2 := newClient(t, p1, nil), newClient(t, p2, nil)
	first := string(c1.get("http://h.example.com/a").body)
	seen := []string{
		string(c1.get("http://h.example.com/b").body),
		string(c2.get("http://h.example.com/c").body),
	}
	apply("v2")
	seen = append(seen, string(c1.get("http://h.example.com/a").body), string(c2.get("http://h.example.com/c").body))
	for i, s := range seen {
		if s != first {
			t.Errorf("request %d came from %s, the first from %s: the rules do not share the backend's connections", i+2, s, first)
		}
	}
	if n := be.opened.Load(); n != 1 {
		t.Errorf("the gateway opened %d connections to the backend, want 1", n)
	}
}

// Rules that send to one Service over TLS but present different client
// certificates (two Gateways, each with its own identity) do not share:
// the backend sees each Gateway's certificate on each Gateway's requests,
// however they interleave, and after the identities are swapped.
func TestRulesWithAnotherClientCertificateDoNotShare(t *testing.T) {
	g := newGateway(t)
	p := newBackendPKI(t)
	payments := newTLSEcho(t, "payments", p.backendCert, p.gatewayCA)
	p1, p2 := freePort(t), freePort(t)
	alpha, beta := p.identity(t, "alpha"), p.identity(t, "beta")
	apply := func(first, second *snapshot.Certificate) {
		a := httpListener("alpha", p1, route("r", nil, prefixRule("/", tlsBackend(payments, p.backendTLS(first)))))
		b := httpListener("beta", p2, route("r", nil, prefixRule("/", tlsBackend(payments, p.backendTLS(second)))))
		a.Gateway, b.Gateway = "default/alpha", "default/beta"
		g.apply(a, b)
	}
	c1, c2 := newClient(t, p1, nil), newClient(t, p2, nil)
	check := func(want1, want2 string) {
		t.Helper()
		for range 3 {
			if cn := c1.get("http://h.example.com/").echo(t).ClientCN; cn != want1 {
				t.Errorf("through the first Gateway the backend saw %q, want %q", cn, want1)
			}
			if cn := c2.get("http://h.example.com/").echo(t).ClientCN; cn != want2 {
				t.Errorf("through the second Gateway the backend saw %q, want %q", cn, want2)
			}
		}
	}
	apply(alpha, beta)
	check("alpha", "beta")
	apply(beta, alpha)
	check("beta", "alpha")
}
