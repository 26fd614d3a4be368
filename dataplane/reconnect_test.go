package dataplane_test

import (
	"net/http"
	"testing"

	"github.com/certgate/certgate/dataplane/pin"
	"github.com/certgate/certgate/dataplane/snapshot"
	"github.com/certgate/certgate/internal/testpki"
)

// A port asks for client certificates only once a route on it has a
// requirement, so a connection made before that carries no certificate,
// whatever the client holds. When a requirement arrives, such a connection
// gets 421 and is closed, and the client's next request, on a new
// connection, presents its certificate: the pinned client is served
// again. Answering 403 instead, the client would be refused for as long as
// it kept the connection open. A route without a requirement keeps serving
// such a connection, and a certificate-less client is refused (403) on its
// new connection: nothing passes that the requirement refuses.
func TestConnectionMadeBeforeARequirementReconnectsWithItsCertificate(t *testing.T) {
	for _, proto := range []struct {
		name  string
		http2 bool
	}{{"HTTP/1.1 keep-alive", false}, {"HTTP/2", true}} {
		t.Run(proto.name, func(t *testing.T) {
			g := newGateway(t)
			be := newEcho(t, "api")
			p := newPKI(t)
			port := freePort(t)
			listener := func(req *snapshot.Requirement) snapshot.Listener {
				return httpsListener("https", port, "", []*testpki.Cert{p.serving}, route("api", nil,
					requireRule("/api", req, be.weighted(1)), prefixRule("/open", be.weighted(1))))
			}
			g.apply(listener(nil))
			pinned, dials := countingClient(t, port, tlsClient(p.servingCA, p.pinned), proto.http2)
			stranger, _ := countingClient(t, port, tlsClient(p.servingCA, nil), proto.http2)
			for _, c := range []*client{pinned, stranger} {
				if res := c.get("https://api.example.com/api"); res.StatusCode != http.StatusOK {
					t.Fatalf("before the requirement: status %d, want 200", res.StatusCode)
				}
			}

			g.apply(listener(&snapshot.Requirement{Policy: "default/p", Pins: []pin.Pin{pinOf(p.pinned, pin.SHA256)}}))
			if res := pinned.get("https://api.example.com/api"); res.StatusCode != http.StatusMisdirectedRequest {
				t.Errorf("the connection made before the requirement: status %d, want 421", res.StatusCode)
			}
			if res := pinned.get("https://api.example.com/api"); res.StatusCode != http.StatusOK {
				t.Errorf("the pinned client's next request: status %d, want 200", res.StatusCode)
			}
			if n := dials.Load(); n != 2 {
				t.Errorf("the pinned client dialled %d connections, want 2: the 421 closes the first", n)
			}
			if res := stranger.get("https://api.example.com/open"); res.StatusCode != http.StatusOK {
				t.Errorf("a rule without a requirement on the connection made before it: status %d, want 200", res.StatusCode)
			}
			if res := stranger.get("https://api.example.com/api"); res.StatusCode != http.StatusMisdirectedRequest {
				t.Errorf("the stranger's connection made before the requirement: status %d, want 421", res.StatusCode)
			}
			if res := stranger.get("https://api.example.com/api"); res.StatusCode != http.StatusForbidden {
				t.Errorf("a client without a certificate on a new connection: status %d, want 403", res.StatusCode)
			}
		})
	}
}
