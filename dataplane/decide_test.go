package dataplane_test

import (
	"crypto/tls"
	"net/http"
	"testing"
	"time"

	"github.com/certgate/certgate/dataplane"
	"github.com/certgate/certgate/dataplane/snapshot"
	"github.com/certgate/certgate/internal/testpki"
)

// TestExplainSays421WhereTheDataPlaneAnswers421: a connection made under
// an open listener's handshake asks for the Host of a listener with
// frontend validation; the running data plane answers 421, and Explain,
// given the same SNI and Host, says 421 naming the stricter listener.
func TestExplainSays421WhereTheDataPlaneAnswers421(t *testing.T) {
	g := newGateway(t)
	be := newEcho(t, "api")
	p := newPKI(t)
	port := freePort(t)
	strict := httpsListener("strict", port, "strict.example.com", []*testpki.Cert{p.serving}, route("api", nil, prefixRule("/", be.weighted(1))))
	strict.TLS.FrontendValidation = &snapshot.FrontendValidation{Mode: snapshot.AllowInsecureFallback, CACertificates: []snapshot.CACertificate{{Name: "default/client-ca", PEM: p.clientCA.PEM}}}
	open := httpsListener("open", port, "open.example.com", []*testpki.Cert{p.serving}, route("api", nil, prefixRule("/", be.weighted(1))))
	s := &snapshot.Snapshot{Listeners: []snapshot.Listener{strict, open}}
	g.apply(s.Listeners...)

	c := newClient(t, port, &tls.Config{RootCAs: p.servingCA.Pool(), ServerName: "open.example.com", MinVersion: tls.VersionTLS12})
	if res := c.get("https://strict.example.com/"); res.StatusCode != http.StatusMisdirectedRequest {
		t.Fatalf("data plane: %d, want 421", res.StatusCode)
	}
	d, err := dataplane.Explain(s, time.Now(), dataplane.Request{Port: port, TLS: true, ServerName: "open.example.com", Host: "strict.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if d.Status != http.StatusMisdirectedRequest || d.Listener != "default/gw/strict" || d.Route != "" {
		t.Errorf("Explain: %+v, want 421 on listener strict and no route", *d)
	}
	d, err = dataplane.Explain(s, time.Now(), dataplane.Request{Port: port, TLS: true, Host: "strict.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if d.Status != 0 || d.Route != "default/api" {
		t.Errorf("Explain with the Host's own SNI: %+v, want proxied on default/api", *d)
	}
}

// TestExplainRefusesAPortWithoutListener: Explain names the port it could
// not find instead of explaining a request nothing would receive.
func TestExplainRefusesAPortWithoutListener(t *testing.T) {
	s := &snapshot.Snapshot{Listeners: []snapshot.Listener{httpListener("web", 8080)}}
	if _, err := dataplane.Explain(s, time.Now(), dataplane.Request{Port: 9090, Host: "a"}); err == nil {
		t.Error("Explain accepted a port no listener binds")
	}
}
