package dataplane_test

import (
	"context"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/certgate/certgate/dataplane/pin"
	"github.com/certgate/certgate/dataplane/snapshot"
	"github.com/certgate/certgate/internal/testpki"
)

// pki is the certificates of a client certificate test: a serving CA and
// certificate, and clients from two CAs.
type pki struct {
	servingCA, clientCA, otherCA           *testpki.CA
	serving                                *testpki.Cert
	pinned, unpinned, expired, foreignCert *testpki.Cert
}

func newPKI(t testing.TB) *pki {
	p := &pki{
		servingCA: testpki.NewCA(t, "serving CA"),
		clientCA:  testpki.NewCA(t, "client CA"),
		otherCA:   testpki.NewCA(t, "other CA"),
	}
	p.serving = p.servingCA.Issue(t, testpki.Options{CommonName: "gateway", DNSNames: []string{"api.example.com", "*.example.com"}})
	p.pinned = p.clientCA.Issue(t, testpki.Options{CommonName: "api-gateway", DNSNames: []string{"api-gateway.example.com"}})
	p.unpinned = p.clientCA.Issue(t, testpki.Options{CommonName: "someone else"})
	p.expired = p.clientCA.Issue(t, testpki.Options{CommonName: "expired", NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(-24 * time.Hour)})
	p.foreignCert = p.otherCA.Issue(t, testpki.Options{CommonName: "foreign"})
	return p
}

func pinOf(c *testpki.Cert, alg pin.Algorithm) pin.Pin {
	for _, p := range pin.Of(c.Leaf).Pins() {
		if p.Algorithm == alg {
			return p
		}
	}
	panic("unknown algorithm " + alg)
}

// requireRule is a PathPrefix rule with a client certificate requirement.
func requireRule(prefix string, req *snapshot.Requirement, b snapshot.WeightedBackend) snapshot.Rule {
	r := prefixRule(prefix, b)
	r.Name = strings.Trim(prefix, "/")
	r.ClientCert = req
	return r
}

func (g *gateway) rejections(route, rule, reason, mode string) float64 {
	return testutil.ToFloat64(g.metrics.ClientCertRejections.WithLabelValues("default", route, rule, reason, mode))
}

func (g *gateway) verified(route, rule string) float64 {
	return testutil.ToFloat64(g.metrics.ClientCertVerified.WithLabelValues("default", route, rule))
}

// forbiddenBody is the one 403 body, whatever check failed.
const forbiddenBody = `{"type":"about:blank","title":"Forbidden","status":403,"detail":"The gateway does not allow this request."}` + "\n"

func TestClientCertificateRequirementPerRoute(t *testing.T) {
	g := newGateway(t)
	be := newEcho(t, "api")
	p := newPKI(t)
	port := freePort(t)
	b := be.weighted(1)
	g.apply(httpsListener("https", port, "", []*testpki.Cert{p.serving}, route("api", nil,
		requireRule("/sha256", &snapshot.Requirement{Policy: "default/p", Pins: []pin.Pin{pinOf(p.pinned, pin.SHA256), pinOf(p.expired, pin.SHA256)}}, b),
		requireRule("/sha1", &snapshot.Requirement{Policy: "default/p", Pins: []pin.Pin{pinOf(p.pinned, pin.SHA1)}}, b),
		requireRule("/spki", &snapshot.Requirement{Policy: "default/p", Pins: []pin.Pin{pinOf(p.pinned, pin.SPKISHA256)}}, b),
		requireRule("/trusted", &snapshot.Requirement{Policy: "default/p",
			CACertificates: []snapshot.CACertificate{{Name: "default/partner-ca", PEM: p.clientCA.PEM}},
			Pins:           []pin.Pin{pinOf(p.pinned, pin.SHA256), pinOf(p.foreignCert, pin.SHA256)}}, b),
		requireRule("/audit", &snapshot.Requirement{Policy: "default/p", Mode: snapshot.ModeAudit, Pins: []pin.Pin{pinOf(p.pinned, pin.SHA256)}}, b),
		prefixRule("/public", b),
	)))
	clients := map[string]*client{"none": newClient(t, port, tlsClient(p.servingCA, nil))}
	for name, cert := range map[string]*testpki.Cert{"pinned": p.pinned, "unpinned": p.unpinned, "expired": p.expired, "foreign": p.foreignCert} {
		clients[name] = newClient(t, port, tlsClient(p.servingCA, cert))
	}
	for _, tt := range []struct {
		client, path string
		status       int
		reason, rule string
	}{
		{"pinned", "/sha256", 200, "", "sha256"},
		{"pinned", "/sha1", 200, "", "sha1"},
		{"pinned", "/spki", 200, "", "spki"},
		{"pinned", "/trusted", 200, "", "trusted"},
		{"none", "/sha256", 403, "missing", "sha256"},
		{"unpinned", "/sha256", 403, "pin_mismatch", "sha256"},
		{"unpinned", "/spki", 403, "pin_mismatch", "spki"},
		{"expired", "/sha256", 403, "expired", "sha256"},
		{"foreign", "/trusted", 403, "untrusted", "trusted"},
		{"none", "/public", 200, "", ""},
	} {
		t.Run(tt.client+tt.path, func(t *testing.T) {
			before, beforeOK := g.rejections("api", tt.rule, tt.reason, "enforce"), g.verified("api", tt.rule)
			res := clients[tt.client].get("https://api.example.com" + tt.path)
			if res.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", res.StatusCode, tt.status)
			}
			switch {
			case tt.status == 403:
				if string(res.body) != forbiddenBody {
					t.Errorf("403 body %q reveals more than %q", res.body, forbiddenBody)
				}
				if got := g.rejections("api", tt.rule, tt.reason, "enforce"); got != before+1 {
					t.Errorf("rejections{reason=%q} = %v, want %v", tt.reason, got, before+1)
				}
			case tt.rule != "":
				if got := g.verified("api", tt.rule); got != beforeOK+1 {
					t.Errorf("verified = %v, want %v", got, beforeOK+1)
				}
			}
		})
	}

	t.Run("audit passes and counts", func(t *testing.T) {
		res := clients["unpinned"].get("https://api.example.com/audit")
		if res.StatusCode != 200 {
			t.Fatalf("audit: status %d, want 200", res.StatusCode)
		}
		if got := g.rejections("api", "audit", "pin_mismatch", "audit"); got != 1 {
			t.Errorf("audit rejections = %v, want 1", got)
		}
		if got := g.rejections("api", "audit", "pin_mismatch", "enforce"); got != 0 {
			t.Errorf("enforce rejections on an audit rule = %v, want 0", got)
		}
	})
	if !strings.Contains(g.log.String(), `"clientcert_rejection":"pin_mismatch"`) ||
		!strings.Contains(g.log.String(), `"client_cert_sha256":"`+sha256Hex(p.pinned)+`"`) {
		t.Error("the access log lacks the rejection reason or the certificate hash")
	}
}

func TestInvalidPolicyAndPlainHTTPFailClosed(t *testing.T) {
	g := newGateway(t)
	be := newEcho(t, "api")
	p := newPKI(t)
	httpsPort, httpPort := freePort(t), freePort(t)
	invalid := &snapshot.Requirement{Policy: "default/p", Invalid: "ConfigMap default/gateway-pins not found", Pins: []pin.Pin{pinOf(p.pinned, pin.SHA256)}}
	valid := &snapshot.Requirement{Policy: "default/p", Pins: []pin.Pin{pinOf(p.pinned, pin.SHA256)}}
	g.apply(
		httpsListener("https", httpsPort, "", []*testpki.Cert{p.serving}, route("api", nil, requireRule("/broken", invalid, be.weighted(1)))),
		httpListener("http", httpPort, route("plain", nil, requireRule("/plain", valid, be.weighted(1)))),
	)
	if res := newClient(t, httpsPort, tlsClient(p.servingCA, p.pinned)).get("https://api.example.com/broken"); res.StatusCode != 403 {
		t.Errorf("invalid policy: status %d, want 403", res.StatusCode)
	}
	if got := g.rejections("api", "broken", "policy_invalid", "enforce"); got != 1 {
		t.Errorf("policy_invalid rejections = %v, want 1", got)
	}
	if res := newClient(t, httpPort, nil).get("http://api.example.com/plain"); res.StatusCode != 403 {
		t.Errorf("requirement over plain HTTP: status %d, want 403", res.StatusCode)
	}
	if got := testutil.ToFloat64(g.metrics.ClientCertRejections.WithLabelValues("default", "plain", "plain", "no_tls", "enforce")); got != 1 {
		t.Errorf("no_tls rejections = %v, want 1", got)
	}
	if be.requests() != 0 {
		t.Errorf("backend got %d requests, want none", be.requests())
	}
}

// countingClient counts the connections it dials, to prove that requests
// share one.
func countingClient(t *testing.T, port int32, cfg *tls.Config, http2 bool) (*client, *atomic.Int64) {
	var dials atomic.Int64
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	if !http2 {
		cfg.NextProtos = []string{"http/1.1"}
	}
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			dials.Add(1)
			return dialer.DialContext(ctx, network, fmt.Sprintf("127.0.0.1:%d", port))
		},
		TLSClientConfig:   cfg,
		ForceAttemptHTTP2: http2,
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &client{t: t, port: port, http: &http.Client{Transport: tr, Timeout: 10 * time.Second}}, &dials
}

func TestRemovedPinRejectsNextRequestOnOpenConnection(t *testing.T) {
	for _, proto := range []struct {
		name  string
		http2 bool
	}{{"HTTP/1.1 keep-alive", false}, {"HTTP/2", true}} {
		t.Run(proto.name, func(t *testing.T) {
			g := newGateway(t)
			be := newEcho(t, "api")
			p := newPKI(t)
			port := freePort(t)
			withPins := func(pins ...pin.Pin) snapshot.Listener {
				return httpsListener("https", port, "", []*testpki.Cert{p.serving}, route("api", nil,
					requireRule("/api", &snapshot.Requirement{Policy: "default/p", Pins: pins}, be.weighted(1))))
			}
			g.apply(withPins(pinOf(p.pinned, pin.SHA256), pinOf(p.unpinned, pin.SHA256)))
			c, dials := countingClient(t, port, tlsClient(p.servingCA, p.pinned), proto.http2)
			res := c.get("https://api.example.com/api")
			if res.StatusCode != 200 || (res.ProtoMajor == 2) != proto.http2 {
				t.Fatalf("before: status %d over HTTP/%d", res.StatusCode, res.ProtoMajor)
			}
			g.apply(withPins(pinOf(p.unpinned, pin.SHA256)))
			if res := c.get("https://api.example.com/api"); res.StatusCode != 403 {
				t.Errorf("after the pin was removed: status %d, want 403", res.StatusCode)
			}
			if n := dials.Load(); n != 1 {
				t.Errorf("%d connections were dialled, want both requests on one", n)
			}
		})
	}
}

func TestResumedSessionIsJudgedByCurrentPins(t *testing.T) {
	g := newGateway(t)
	be := newEcho(t, "api")
	p := newPKI(t)
	port := freePort(t)
	withPins := func(pins ...pin.Pin) snapshot.Listener {
		return httpsListener("https", port, "", []*testpki.Cert{p.serving}, route("api", nil,
			requireRule("/api", &snapshot.Requirement{Policy: "default/p", Pins: pins}, be.weighted(1))))
	}
	g.apply(withPins(pinOf(p.pinned, pin.SHA256), pinOf(p.unpinned, pin.SHA256)))
	cfg := tlsClient(p.servingCA, p.pinned)
	cfg.ClientSessionCache = tls.NewLRUClientSessionCache(8)
	get := func() (int, bool) {
		t.Helper()
		c, _ := countingClient(t, port, cfg.Clone(), false)
		res := c.get("https://api.example.com/api")
		c.http.Transport.(*http.Transport).CloseIdleConnections()
		return res.StatusCode, res.TLS.DidResume
	}
	if code, resumed := get(); code != 200 || resumed {
		t.Fatalf("first connection: %d, resumed %v", code, resumed)
	}
	if code, resumed := get(); code != 200 || !resumed {
		t.Fatalf("second connection: %d, resumed %v; want a resumed session that passes", code, resumed)
	}
	g.apply(withPins(pinOf(p.unpinned, pin.SHA256)))
	code, resumed := get()
	if !resumed {
		t.Fatal("the session was not resumed across the new snapshot; the test proves nothing")
	}
	if code != 403 {
		t.Errorf("resumed session after the pin was removed: %d, want 403", code)
	}
}

func TestSpoofedClientCertHeadersNeverReachBackend(t *testing.T) {
	g := newGateway(t)
	be := newEcho(t, "api")
	p := newPKI(t)
	port := freePort(t)
	xfcc := &snapshot.Requirement{Policy: "default/p", Pins: []pin.Pin{pinOf(p.pinned, pin.SHA256)}, ForwardClientCert: snapshot.ForwardXFCC}
	rfc := &snapshot.Requirement{Policy: "default/p", Pins: []pin.Pin{pinOf(p.pinned, pin.SHA256)}, ForwardClientCert: snapshot.ForwardRFC9440}
	none := &snapshot.Requirement{Policy: "default/p", Pins: []pin.Pin{pinOf(p.pinned, pin.SHA256)}}
	g.apply(httpsListener("https", port, "", []*testpki.Cert{p.serving}, route("api", nil,
		requireRule("/xfcc", xfcc, be.weighted(1)), requireRule("/rfc9440", rfc, be.weighted(1)),
		requireRule("/none", none, be.weighted(1)), prefixRule("/public", be.weighted(1)))))
	c := newClient(t, port, tlsClient(p.servingCA, p.pinned))
	spoof := []string{"X-Forwarded-Client-Cert", "Hash=evil", "Client-Cert", ":ZXZpbA==:", "Client-Cert-Chain", ":ZXZpbA==:", "X_Forwarded_Client_Cert", "Hash=evil"}
	hash := sha256Hex(p.pinned)

	for _, path := range []string{"/none", "/public"} {
		h := c.get("https://api.example.com"+path, spoof...).echo(t).Header
		for name, v := range h {
			if strings.Contains(strings.Join(v, ","), "evil") || strings.Contains(strings.Join(v, ","), "ZXZpbA") {
				t.Errorf("%s: spoofed %s reached the backend: %q", path, name, v)
			}
		}
	}
	h := c.get("https://api.example.com/xfcc", spoof...).echo(t).Header
	if got := h.Values("X-Forwarded-Client-Cert"); len(got) != 1 || !strings.HasPrefix(got[0], "Hash="+hash+";") || !strings.Contains(got[0], `Subject="CN=api-gateway"`) || !strings.Contains(got[0], "DNS=api-gateway.example.com") {
		t.Errorf("XFCC = %q, want certgate's own with Hash=%s", got, hash)
	}
	h = c.get("https://api.example.com/rfc9440", spoof...).echo(t).Header
	if got := h.Get("Client-Cert"); strings.Contains(got, "ZXZpbA") || !strings.HasPrefix(got, ":MII") {
		t.Errorf("Client-Cert = %q, want the presented certificate", got)
	}
	if h.Get("X-Forwarded-Client-Cert") != "" {
		t.Error("an RFC 9440 route forwarded XFCC")
	}
}

func TestFrontendValidation(t *testing.T) {
	g := newGateway(t)
	be := newEcho(t, "api")
	p := newPKI(t)
	port := freePort(t)
	strict := httpsListener("strict", port, "strict.example.com", []*testpki.Cert{p.serving}, route("api", nil, prefixRule("/", be.weighted(1))))
	strict.TLS.FrontendValidation = &snapshot.FrontendValidation{Mode: snapshot.AllowValidOnly, CACertificates: []snapshot.CACertificate{{Name: "default/client-ca", PEM: p.clientCA.PEM}}}
	open := httpsListener("open", port, "open.example.com", []*testpki.Cert{p.serving}, route("api", nil, prefixRule("/", be.weighted(1))))
	g.apply(strict, open)

	dial := func(sni string, cert *testpki.Cert) error {
		cfg := tlsClient(p.servingCA, nil)
		cfg.ServerName = sni
		if cert != nil {
			// Sent whatever CAs the server names: a Go client would
			// otherwise keep a certificate of another CA to itself, and
			// the test would only prove "no certificate" again.
			cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return cert.TLS, nil }
		}
		conn, err := tls.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port), cfg)
		if err != nil {
			return err
		}
		defer conn.Close()
		// TLS 1.3 reports the server's rejection of a client certificate
		// on the first read.
		_ = conn.SetReadDeadline(time.Now().Add(2 * time.Second))
		fmt.Fprintf(conn, "GET / HTTP/1.1\r\nHost: %s\r\n\r\n", sni)
		_, err = conn.Read(make([]byte, 1))
		return err
	}
	if err := dial("strict.example.com", nil); err == nil {
		t.Error("AllowValidOnly accepted a client without a certificate")
	}
	if err := dial("strict.example.com", p.foreignCert); err == nil || !strings.Contains(err.Error(), "unknown certificate authority") {
		t.Errorf("AllowValidOnly and a certificate from another CA: %v, want the alert unknown certificate authority", err)
	}
	if err := dial("strict.example.com", p.pinned); err != nil {
		t.Errorf("AllowValidOnly refused a valid certificate: %v", err)
	}
	if err := dial("open.example.com", nil); err != nil {
		t.Errorf("listener without validation refused a client: %v", err)
	}

	// A connection made under the open listener's settings must not reach
	// the strict listener's routes by changing Host.
	c := newClient(t, port, &tls.Config{RootCAs: p.servingCA.Pool(), ServerName: "open.example.com", MinVersion: tls.VersionTLS12})
	if res := c.get("https://strict.example.com/"); res.StatusCode != http.StatusMisdirectedRequest {
		t.Errorf("Host of a stricter listener on an open connection: %d, want 421", res.StatusCode)
	}
}

func sha256Hex(c *testpki.Cert) string {
	fp := pin.Of(c.Leaf)
	return hex.EncodeToString(fp.SHA256[:])
}
