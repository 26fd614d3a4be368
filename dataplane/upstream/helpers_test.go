package upstream

import (
	"crypto/tls"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/certgate/certgate/dataplane/snapshot"
)

// testBackend is an httptest server on 127.0.0.1 that counts the
// connections it accepted and the requests its handler saw.
type testBackend struct {
	*httptest.Server
	conns atomic.Int64
	calls atomic.Int64
}

// startBackend starts h; configure, when not nil, shapes the server before
// it starts (TLS, protocols). A server with TLS set starts with TLS.
func startBackend(t *testing.T, h http.HandlerFunc, configure func(*httptest.Server)) *testBackend {
	t.Helper()
	b := &testBackend{}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.calls.Add(1)
		h(w, r)
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			b.conns.Add(1)
		}
	}
	if configure != nil {
		configure(srv)
	}
	if srv.TLS != nil {
		srv.StartTLS()
	} else {
		srv.Start()
	}
	b.Server = srv
	t.Cleanup(srv.Close)
	return b
}

// endpoint returns the server's address as a snapshot endpoint.
func (b *testBackend) endpoint() snapshot.Endpoint {
	a := b.Listener.Addr().(*net.TCPAddr)
	return snapshot.Endpoint{Address: a.IP.String(), Port: int32(a.Port)}
}

// refusedEndpoint returns a 127.0.0.1 address nothing listens on.
func refusedEndpoint(t *testing.T) snapshot.Endpoint {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := ln.Addr().(*net.TCPAddr)
	_ = ln.Close()
	return snapshot.Endpoint{Address: a.IP.String(), Port: int32(a.Port)}
}

// serverTLS is a server config presenting cert.
func serverTLS(cert *tls.Certificate) *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{*cert}, MinVersion: tls.VersionTLS12}
}

// compile compiles b in a fresh pool.
func compile(t *testing.T, b *snapshot.Backend) *Upstream {
	t.Helper()
	u, err := NewPool().Upstream(b)
	if err != nil {
		t.Fatalf("compile %s: %v", b.Name, err)
	}
	return u
}

// newRequest builds a request to the gateway; Do replaces its host.
// A body from strings.Reader gets GetBody, so it is replayable.
func newRequest(t *testing.T, method, path, body string) *http.Request {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, "http://gateway.invalid"+path, r)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// roundTrip sends req through Do and returns the status and the body read
// in full.
func roundTrip(u *Upstream, p *RetryPolicy, req *http.Request) (int, string, error) {
	if p == nil {
		p = &RetryPolicy{}
	}
	res, err := Do(req, u, p)
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res.StatusCode, string(b), err
}

// get is roundTrip of a GET without retries.
func get(t *testing.T, u *Upstream, path string) (int, string, error) {
	t.Helper()
	return roundTrip(u, nil, newRequest(t, http.MethodGet, path, ""))
}

// quietLog discards a test server's error log.
func quietLog() *log.Logger { return log.New(io.Discard, "", 0) }
