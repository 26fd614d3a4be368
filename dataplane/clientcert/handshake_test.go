package clientcert

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/certgate/certgate/dataplane/snapshot"
	"github.com/certgate/certgate/internal/testpki"
)

type connKey struct{}

// TestPinnedRouteOverRealHandshake wires the package the way the proxy
// does: the listener requests (not requires) a certificate, each
// connection gets a Conn, and each request is checked.
func TestPinnedRouteOverRealHandshake(t *testing.T) {
	w := newPKI(t)
	sibling := w.ca.Issue(t, testpki.Options{CommonName: "sibling"})
	req := Compile(&snapshot.Requirement{CACertificates: trustOf(w.ca), Pins: pinsOf(w.gateway)})

	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		peer := r.Context().Value(connKey{}).(*Conn).Peer(r.TLS)
		if reason := req.Check(peer, time.Now()); reason != "" {
			rw.Header().Set("X-Test-Reason", string(reason))
			rw.WriteHeader(http.StatusForbidden)
			return
		}
		_, _ = io.WriteString(rw, "ok")
	}))
	srv.Config.ConnContext = func(ctx context.Context, _ net.Conn) context.Context {
		return context.WithValue(ctx, connKey{}, &Conn{})
	}
	srv.TLS = &tls.Config{ClientAuth: tls.RequestClientCert, MinVersion: tls.VersionTLS12}
	srv.StartTLS()
	defer srv.Close()

	for _, tc := range []struct {
		name   string
		certs  []tls.Certificate
		status int
		reason Reason
	}{
		{"pinned", []tls.Certificate{*w.gateway.TLS}, http.StatusOK, ""},
		{"same CA, not pinned", []tls.Certificate{*sibling.TLS}, http.StatusForbidden, ReasonPinMismatch},
		{"no certificate", nil, http.StatusForbidden, ReasonMissing},
	} {
		client := srv.Client()
		client.Transport.(*http.Transport).TLSClientConfig.Certificates = tc.certs
		for i := 0; i < 2; i++ { // the second request reuses the connection
			resp, err := client.Get(srv.URL)
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			_ = resp.Body.Close()
			if resp.StatusCode != tc.status || Reason(resp.Header.Get("X-Test-Reason")) != tc.reason {
				t.Errorf("%s, request %d: %d %q, want %d %q", tc.name, i, resp.StatusCode, resp.Header.Get("X-Test-Reason"), tc.status, tc.reason)
			}
		}
		client.CloseIdleConnections()
	}
}

// TestConcurrentRequestsShareOneVerification runs the checks of many
// HTTP/2 streams of one connection at once; run with -race.
func TestConcurrentRequestsShareOneVerification(t *testing.T) {
	w := newPKI(t)
	req := Compile(&snapshot.Requirement{CACertificates: trustOf(w.ca), Pins: pinsOf(w.gateway), ForwardClientCert: snapshot.ForwardXFCC})
	var conn Conn
	state := w.gateway.PeerState()
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			p := conn.Peer(state)
			if got := req.Check(p, time.Now()); got != "" {
				t.Errorf("concurrent check: %q", got)
			}
			Forward(http.Header{}, req.Forward(), p)
		})
	}
	wg.Wait()
	if n := len(conn.Peer(state).verifications.verdicts); n != 1 {
		t.Errorf("%d verdicts cached, want 1", n)
	}
}
