package dataplane_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"

	"github.com/certgate/certgate/dataplane/pin"
	"github.com/certgate/certgate/dataplane/snapshot"
	"github.com/certgate/certgate/internal/testpki"
)

// accessLines decodes the access log written so far, one map per line.
func accessLines(t *testing.T, g *gateway) []map[string]any {
	t.Helper()
	var lines []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(g.log.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("access log line %q: %v", l, err)
		}
		lines = append(lines, m)
	}
	return lines
}

// TestAccessLogNamesClientProtocolTLSAndRequestID: over HTTP/2 and TLS,
// each line carries the client address, protocol, TLS version and a
// request id the backend received as X-Request-Id in place of the one the
// client sent; the certificate hash appears only on the route whose
// requirement judged it.
func TestAccessLogNamesClientProtocolTLSAndRequestID(t *testing.T) {
	g := newGateway(t)
	be := newEcho(t, "be")
	p := newPKI(t)
	port := freePort(t)
	g.apply(httpsListener("https", port, "", []*testpki.Cert{p.serving}, route("api", nil,
		requireRule("/pinned", &snapshot.Requirement{Policy: "default/p", Pins: []pin.Pin{pinOf(p.pinned, pin.SHA256)}}, be.weighted(1)),
		prefixRule("/public", be.weighted(1)),
	)))
	c := newClient(t, port, tlsClient(p.servingCA, p.pinned))
	pinned := c.get("https://api.example.com/pinned", "X-Request-Id", "chosen-by-client").echo(t)
	c.get("https://api.example.com/public")
	lines := accessLines(t, g)
	if len(lines) != 2 {
		t.Fatalf("%d access log lines, want 2", len(lines))
	}
	for _, l := range lines {
		if l["protocol"] != "HTTP/2.0" || l["tls_version"] != "TLS 1.3" || !strings.HasPrefix(l["client"].(string), "127.0.0.1:") {
			t.Errorf("line %v: want protocol HTTP/2.0, tls_version TLS 1.3 and a 127.0.0.1 client", l)
		}
	}
	id := lines[0]["request_id"]
	if got := pinned.Header.Get("X-Request-Id"); got == "" || got == "chosen-by-client" || got != id {
		t.Errorf("backend got X-Request-Id %q, log has %v: want certgate's id in both", got, id)
	}
	if id == lines[1]["request_id"] {
		t.Errorf("two requests share the request id %v", id)
	}
	sum := sha256.Sum256(p.pinned.Leaf.Raw)
	if lines[0]["client_cert_sha256"] != hex.EncodeToString(sum[:]) {
		t.Errorf("pinned route: client_cert_sha256 %v, want the certificate's", lines[0]["client_cert_sha256"])
	}
	if h, ok := lines[1]["client_cert_sha256"]; ok {
		t.Errorf("public route logged the certificate hash %v: no requirement judged it", h)
	}
}
