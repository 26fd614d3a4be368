package dataplane_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/certgate/certgate/dataplane/pin"
	"github.com/certgate/certgate/dataplane/snapshot"
	"github.com/certgate/certgate/internal/testpki"
)

// readEcho reads one response from br and decodes the echo in it.
func readEcho(t *testing.T, br *bufio.Reader, what string) echo {
	t.Helper()
	res, body := readResponse(t, br)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("%s: status %d %q, want 200", what, res.StatusCode, body)
	}
	var e echo
	if err := json.Unmarshal([]byte(body), &e); err != nil {
		t.Fatalf("%s: %v: %q", what, err, body)
	}
	return e
}

// dialHTTP1 opens a TLS connection to a gateway port that offers only
// HTTP/1.1 by ALPN.
func dialHTTP1(t *testing.T, port int32, serverName string, cfg *tls.Config) (*tls.Conn, *bufio.Reader) {
	t.Helper()
	cfg.NextProtos = []string{"http/1.1"}
	conn, err := dialTLS(t, port, serverName, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return conn, bufio.NewReader(conn)
}

// The connection loop carries simple requests and hands the connection to
// net/http at the first other one, with every byte it had read: pipelined
// requests on either side of the hand-over are all answered, in order.
func TestRequestsAfterAHandOverAreAnsweredInOrder(t *testing.T) {
	g := newGateway(t)
	be := newEcho(t, "api")
	port := freePort(t)
	g.apply(httpListener("http", port, route("r", nil, prefixRule("/", be.weighted(1)))))
	conn, br := dialRaw(t, port)
	fmt.Fprint(conn, "GET /a HTTP/1.1\r\nHost: h.example.com\r\n\r\n"+
		"POST /b HTTP/1.1\r\nHost: h.example.com\r\nContent-Length: 5\r\n\r\nhello"+
		"GET /c HTTP/1.1\r\nHost: h.example.com\r\n\r\n")
	for _, want := range []string{"GET /a", "POST /b", "GET /c"} {
		if e := readEcho(t, br, want); e.Method+" "+e.Path != want {
			t.Errorf("backend saw %s %s, want %s", e.Method, e.Path, want)
		}
	}
}

// A request net/http refuses is refused the same way whether it is the
// first on its connection or follows requests the loop carried.
func TestMalformedRequestsGetNetHTTPsAnswer(t *testing.T) {
	g := newGateway(t)
	be := newEcho(t, "api")
	port := freePort(t)
	g.apply(httpListener("http", port, route("r", nil, prefixRule("/", be.weighted(1)))))
	cases := map[string]string{
		"two Host fields":    "GET /x HTTP/1.1\r\nHost: a.example.com\r\nHost: b.example.com\r\n\r\n",
		"no Host field":      "GET /x HTTP/1.1\r\nX: y\r\n\r\n",
		"bad field name":     "GET /x HTTP/1.1\r\nHost: a.example.com\r\nBad Name: y\r\n\r\n",
		"bad Host":           "GET /x HTTP/1.1\r\nHost: a example\r\n\r\n",
		"control in a value": "GET /x HTTP/1.1\r\nHost: a.example.com\r\nX: a\x01b\r\n\r\n",
	}
	for name, req := range cases {
		t.Run(name, func(t *testing.T) {
			for _, after := range []bool{false, true} {
				conn, br := dialRaw(t, port)
				if after {
					fmt.Fprint(conn, "GET /ok HTTP/1.1\r\nHost: h.example.com\r\n\r\n")
					readEcho(t, br, "the request before")
				}
				fmt.Fprint(conn, req)
				if res, body := readResponse(t, br); res.StatusCode != http.StatusBadRequest {
					t.Errorf("after a carried request %v: status %d %q, want 400", after, res.StatusCode, body)
				}
			}
		})
	}
	if n := be.requests(); n != len(cases) {
		t.Errorf("the backend saw %d requests, want the %d well-formed ones", n, len(cases))
	}
}

// A client that goes away while its request waits for the backend cancels
// the upstream request, as on net/http's server.
func TestClientGoingAwayCancelsTheUpstreamRequest(t *testing.T) {
	g := newGateway(t)
	be := newEcho(t, "slow")
	canceled := make(chan struct{})
	be.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
			close(canceled)
		case <-time.After(10 * time.Second):
		}
	})
	port := freePort(t)
	g.apply(httpListener("http", port, route("r", nil, prefixRule("/", be.weighted(1)))))
	conn, _ := dialRaw(t, port)
	fmt.Fprint(conn, "GET /wait HTTP/1.1\r\nHost: h.example.com\r\n\r\n")
	time.Sleep(300 * time.Millisecond)
	_ = conn.Close()
	select {
	case <-canceled:
	case <-time.After(5 * time.Second):
		t.Fatal("the backend's request was not canceled 5 s after the client left")
	}
}

// While a slow request runs, the loop watches the connection; the next
// request, sent meanwhile, is read whole and answered after it.
func TestRequestPipelinedBehindASlowOneIsAnswered(t *testing.T) {
	g := newGateway(t)
	be := newEcho(t, "slow")
	handler := be.Config.Handler
	be.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			time.Sleep(300 * time.Millisecond)
		}
		handler.ServeHTTP(w, r)
	})
	port := freePort(t)
	g.apply(httpListener("http", port, route("r", nil, prefixRule("/", be.weighted(1)))))
	plain := "GET /slow HTTP/1.1\r\nHost: h.example.com\r\n\r\n"
	// A head that fills the loop's 4 KiB buffer to the last byte.
	full := "GET /slow HTTP/1.1\r\nHost: h.example.com\r\nX-Pad: "
	full += strings.Repeat("p", 4096-len(full)-4) + "\r\n\r\n"
	for name, head := range map[string]string{"short head": plain, "head filling the buffer": full} {
		t.Run(name, func(t *testing.T) {
			conn, br := dialRaw(t, port)
			fmt.Fprint(conn, head)
			time.Sleep(150 * time.Millisecond)
			fmt.Fprint(conn, "GET /next HTTP/1.1\r\nHost: h.example.com\r\n\r\n")
			for _, want := range []string{"/slow", "/next"} {
				if e := readEcho(t, br, want); e.Path != want {
					t.Errorf("backend saw %s, want %s", e.Path, want)
				}
			}
		})
	}
}

// Shutting down closes idle connections at once and does not wait for
// them.
func TestShutdownClosesIdleConnections(t *testing.T) {
	g := newGateway(t)
	be := newEcho(t, "api")
	port := freePort(t)
	g.apply(httpListener("http", port, route("r", nil, prefixRule("/", be.weighted(1)))))
	conn, br := dialRaw(t, port)
	fmt.Fprint(conn, "GET /a HTTP/1.1\r\nHost: h.example.com\r\n\r\n")
	readEcho(t, br, "GET /a")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	if err := g.dp.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("Shutdown took %v with one idle connection", took)
	}
	expectClosed(t, conn, br)
}

// On a TLS connection handed to net/http, requests keep the connection's
// TLS state: a pinned rule admits the pinned client and forwards its
// certificate, and the backend is told the request came over HTTPS.
func TestPinnedRuleHoldsAfterTheLoopHandsATLSConnectionOver(t *testing.T) {
	g := newGateway(t)
	be := newEcho(t, "api")
	p := newPKI(t)
	port := freePort(t)
	req := &snapshot.Requirement{Policy: "default/p", Pins: []pin.Pin{pinOf(p.pinned, pin.SHA256)}, ForwardClientCert: snapshot.ForwardXFCC}
	g.apply(httpsListener("https", port, "", []*testpki.Cert{p.serving}, route("api", nil,
		requireRule("/pinned", req, be.weighted(1)))))
	for _, tc := range []struct {
		name string
		cert *testpki.Cert
		want int
	}{{"pinned", p.pinned, http.StatusOK}, {"unpinned", p.unpinned, http.StatusForbidden}} {
		t.Run(tc.name, func(t *testing.T) {
			conn, br := dialHTTP1(t, port, "api.example.com", tlsClient(p.servingCA, tc.cert))
			fmt.Fprint(conn, "GET /pinned/a HTTP/1.1\r\nHost: api.example.com\r\n\r\n"+
				"POST /pinned/b HTTP/1.1\r\nHost: api.example.com\r\nContent-Length: 2\r\n\r\nhi"+
				"GET /pinned/c HTTP/1.1\r\nHost: api.example.com\r\n\r\n")
			for _, path := range []string{"/pinned/a", "/pinned/b", "/pinned/c"} {
				res, body := readResponse(t, br)
				if res.StatusCode != tc.want {
					t.Fatalf("%s: status %d %q, want %d", path, res.StatusCode, body, tc.want)
				}
				if tc.want != http.StatusOK {
					continue
				}
				var e echo
				if err := json.Unmarshal([]byte(body), &e); err != nil {
					t.Fatal(err)
				}
				if got := e.Header.Get("X-Forwarded-Proto"); got != "https" {
					t.Errorf("%s: X-Forwarded-Proto %q, want https", path, got)
				}
				if xfcc := e.Header.Get("X-Forwarded-Client-Cert"); !strings.HasPrefix(xfcc, "Hash="+sha256Hex(p.pinned)+";") {
					t.Errorf("%s: X-Forwarded-Client-Cert %q, want the client's certificate", path, xfcc)
				}
			}
		})
	}
}

// An HTTP/2 preface after HTTP/1.1 requests on a TLS connection closes it:
// net/http must never take HTTP/2 on a connection that did not negotiate
// it.
func TestHTTP2PrefaceInsideHTTP1OverTLSClosesTheConnection(t *testing.T) {
	g := newGateway(t)
	be := newEcho(t, "api")
	p := newPKI(t)
	port := freePort(t)
	g.apply(httpsListener("https", port, "", []*testpki.Cert{p.serving}, route("api", nil, prefixRule("/", be.weighted(1)))))
	conn, br := dialHTTP1(t, port, "api.example.com", tlsClient(p.servingCA, nil))
	fmt.Fprint(conn, "GET /a HTTP/1.1\r\nHost: api.example.com\r\n\r\n")
	readEcho(t, br, "GET /a")
	fmt.Fprint(conn, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
	if n, err := br.Read(make([]byte, 1)); err == nil {
		t.Errorf("read %d bytes after an HTTP/2 preface, want the connection closed", n)
	}
}

// A request that asks to close its connection is answered, with
// "Connection: close", and the connection then ends, a request pipelined
// behind it unanswered, as on net/http's server; the backend's connection
// is not asked to close.
func TestRequestAskingToCloseIsAnsweredThenTheConnectionEnds(t *testing.T) {
	g := newGateway(t)
	be := newEcho(t, "api")
	port := freePort(t)
	g.apply(httpListener("http", port, route("r", nil, prefixRule("/", be.weighted(1)))))
	conn, br := dialRaw(t, port)
	fmt.Fprint(conn, "GET /a HTTP/1.1\r\nHost: h.example.com\r\nConnection: close\r\n\r\n"+
		"GET /b HTTP/1.1\r\nHost: h.example.com\r\n\r\n")
	res, body := readResponse(t, br)
	if res.StatusCode != http.StatusOK || !res.Close || res.Header.Get("Connection") != "" {
		t.Fatalf("status %d, close %v, Connection %q, want 200 announcing close", res.StatusCode, res.Close, res.Header.Get("Connection"))
	}
	var e echo
	if err := json.Unmarshal([]byte(body), &e); err != nil {
		t.Fatal(err)
	}
	if e.Path != "/a" || e.Header.Get("Connection") != "" {
		t.Errorf("backend saw %s with Connection %q, want /a without one", e.Path, e.Header.Get("Connection"))
	}
	expectClosed(t, conn, br)
}
