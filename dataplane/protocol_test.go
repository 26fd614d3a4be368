package dataplane_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/certgate/certgate/dataplane"
	"github.com/certgate/certgate/dataplane/accesslog"
	"github.com/certgate/certgate/dataplane/metrics"
	"github.com/certgate/certgate/dataplane/pin"
	"github.com/certgate/certgate/dataplane/snapshot"
	"github.com/certgate/certgate/internal/testlog"
	"github.com/certgate/certgate/internal/testpki"
)

// rawBackend is a backend written against the socket, as a backend that
// speaks h2c would behave: it answers 101 to any request that offers an
// upgrade, whatever the protocol, 200 to the others, and records every
// byte it receives.
type rawBackend struct {
	ln  net.Listener
	mu  sync.Mutex
	got bytes.Buffer
}

func newRawBackend(t *testing.T) *rawBackend {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &rawBackend{ln: ln}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go b.serve(c)
		}
	}()
	return b
}

func (b *rawBackend) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.got.Write(p)
}

func (b *rawBackend) received() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.got.String()
}

func (b *rawBackend) serve(c net.Conn) {
	defer c.Close()
	br := bufio.NewReader(io.TeeReader(c, b))
	for {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		_, _ = io.Copy(io.Discard, req.Body)
		if offer := req.Header.Get("Upgrade"); offer != "" {
			fmt.Fprintf(c, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: %s\r\n\r\n", offer)
			_, _ = io.Copy(io.Discard, br)
			return
		}
		fmt.Fprint(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
	}
}

func (b *rawBackend) weighted() snapshot.WeightedBackend {
	addr := b.ln.Addr().(*net.TCPAddr)
	return snapshot.WeightedBackend{Weight: 1, Backend: snapshot.Backend{
		Name: "default/raw:80", Namespace: "default", Service: "raw", Port: 80,
		Endpoints: []snapshot.Endpoint{{Address: addr.IP.String(), Port: int32(addr.Port)}},
	}}
}

// dialRaw opens a plain TCP connection to a gateway port.
func dialRaw(t *testing.T, port int32) (net.Conn, *bufio.Reader) {
	t.Helper()
	conn, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	return conn, bufio.NewReader(conn)
}

func readResponse(t *testing.T, br *bufio.Reader) (*http.Response, string) {
	t.Helper()
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("read response body: %v", err)
	}
	return res, string(body)
}

// expectClosed fails unless the gateway closed conn.
func expectClosed(t *testing.T, conn net.Conn, br *bufio.Reader) {
	t.Helper()
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := br.Read(make([]byte, 1)); !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) && !isReset(err) {
		t.Errorf("connection still open: read %d bytes, %v", n, err)
	}
}

func isReset(err error) bool {
	return err != nil && strings.Contains(err.Error(), "connection reset")
}

func TestOnlyWebSocketUpgradesReachTheBackend(t *testing.T) {
	for _, offer := range []string{"h2c", "foo/1", "h2c, foo/1"} {
		t.Run(offer, func(t *testing.T) {
			g := newGateway(t)
			be := newRawBackend(t)
			p := newPKI(t)
			port := freePort(t)
			admin := requireRule("/admin", &snapshot.Requirement{Policy: "default/p", Pins: []pin.Pin{pinOf(p.pinned, pin.SHA256)}}, be.weighted())
			g.apply(httpListener("http", port, route("r", nil, admin, prefixRule("/", be.weighted()))))

			conn, br := dialRaw(t, port)
			fmt.Fprintf(conn, "GET / HTTP/1.1\r\nHost: h.example.com\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: %s\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\n", offer)
			if res, body := readResponse(t, br); res.StatusCode != http.StatusOK || body != "ok" {
				t.Fatalf("upgrade offer: status %d %q, want the backend's plain 200", res.StatusCode, body)
			}
			// Had the backend switched, this would travel in its tunnel.
			fmt.Fprint(conn, "GET /admin/users HTTP/1.1\r\nHost: h.example.com\r\nX-Forwarded-Client-Cert: Hash=forged\r\n\r\n")
			if res, _ := readResponse(t, br); res.StatusCode != http.StatusForbidden {
				t.Errorf("/admin after the upgrade offer: status %d, want 403", res.StatusCode)
			}
			got := strings.ToLower(be.received())
			for _, leak := range []string{"upgrade", "http2-settings", "/admin", "forged"} {
				if strings.Contains(got, leak) {
					t.Errorf("backend received %q:\n%s", leak, got)
				}
			}
		})
	}
}

func TestIdentityAndForwardedHeadersSurviveTheClientsConnectionHeader(t *testing.T) {
	g := newGateway(t)
	be := newEcho(t, "api")
	p := newPKI(t)
	port := freePort(t)
	pins := []pin.Pin{pinOf(p.pinned, pin.SHA256)}
	xfcc := &snapshot.Requirement{Policy: "default/p", Pins: pins, ForwardClientCert: snapshot.ForwardXFCC}
	rfc := &snapshot.Requirement{Policy: "default/p", Pins: pins, ForwardClientCert: snapshot.ForwardRFC9440}
	g.apply(httpsListener("https", port, "", []*testpki.Cert{p.serving}, route("api", nil,
		requireRule("/xfcc", xfcc, be.weighted(1)), requireRule("/rfc9440", rfc, be.weighted(1)))))
	c, _ := countingClient(t, port, tlsClient(p.servingCA, p.pinned), false)
	connection := "X-Forwarded-Client-Cert, Client-Cert, Client-Cert-Chain, X-Forwarded-For, X-Forwarded-Proto, X-Forwarded-Host"

	h := c.get("https://api.example.com/xfcc", "Connection", connection).echo(t).Header
	if got := h.Get("X-Forwarded-Client-Cert"); !strings.HasPrefix(got, "Hash="+sha256Hex(p.pinned)+";") {
		t.Errorf("XFCC = %q, want certgate's own", got)
	}
	if got := h.Get("X-Forwarded-For"); !strings.HasPrefix(got, "127.0.0.1") {
		t.Errorf("X-Forwarded-For = %q, want the client's address", got)
	}
	if h.Get("X-Forwarded-Proto") != "https" || h.Get("X-Forwarded-Host") != "api.example.com" {
		t.Errorf("X-Forwarded-Proto %q, X-Forwarded-Host %q, want https and api.example.com", h.Get("X-Forwarded-Proto"), h.Get("X-Forwarded-Host"))
	}
	h = c.get("https://api.example.com/rfc9440", "Connection", connection).echo(t).Header
	if got := h.Get("Client-Cert"); !strings.HasPrefix(got, ":MII") {
		t.Errorf("Client-Cert = %q, want the presented certificate", got)
	}
}

// wsBackend echoes each line sent through its tunnel.
func wsBackend(t *testing.T) snapshot.WeightedBackend {
	return recordingWSBackend(t, func(string) {})
}

// recordingWSBackend is wsBackend, passing every line it reads to got.
func recordingWSBackend(t *testing.T, got func(line string)) snapshot.WeightedBackend {
	ws := newEcho(t, "ws")
	ws.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		fmt.Fprint(brw, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
		_ = brw.Flush()
		for {
			line, err := brw.ReadString('\n')
			if err != nil {
				return
			}
			got(line)
			fmt.Fprint(brw, "echo: "+line)
			_ = brw.Flush()
		}
	})
	b := ws.weighted(1)
	b.AppProtocol = snapshot.AppProtocolWebSocket
	return b
}

// openTunnel upgrades a TLS connection presenting cert to a WebSocket
// tunnel on /chat and checks that it carries a line.
func openTunnel(t *testing.T, port int32, cfg *tls.Config) (net.Conn, *bufio.Reader) {
	t.Helper()
	conn, br := dialHTTP1(t, port, "api.example.com", cfg)
	fmt.Fprint(conn, "GET /chat HTTP/1.1\r\nHost: api.example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
	if res, err := http.ReadResponse(br, nil); err != nil || res.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade: %v, %v", res, err)
	}
	expectEcho(t, conn, br, "hello\n")
	return conn, br
}

func expectEcho(t *testing.T, conn net.Conn, br *bufio.Reader, line string) {
	t.Helper()
	fmt.Fprint(conn, line)
	if got, err := br.ReadString('\n'); err != nil || got != "echo: "+line {
		t.Fatalf("tunnel answered %q, %v", got, err)
	}
}

func TestWebSocketTunnelIsJudgedAgainAfterEveryApply(t *testing.T) {
	g := newGateway(t)
	ws := wsBackend(t)
	p := newPKI(t)
	port, other := freePort(t), freePort(t)
	pinned, unpinned := pinOf(p.pinned, pin.SHA256), pinOf(p.unpinned, pin.SHA256)
	listener := func(port int32, pins ...pin.Pin) snapshot.Listener {
		return httpsListener("https", port, "", []*testpki.Cert{p.serving}, route("api", nil,
			requireRule("/chat", &snapshot.Requirement{Policy: "default/p", Pins: pins}, ws)))
	}
	g.apply(listener(port, pinned))
	conn, br := openTunnel(t, port, tlsClient(p.servingCA, p.pinned))

	g.apply(listener(port, pinned, unpinned))
	expectEcho(t, conn, br, "still admitted\n")

	g.apply(listener(port, unpinned))
	expectClosed(t, conn, br)

	// A route that goes away takes its tunnels with it, and so does a
	// listener.
	g.apply(listener(port, pinned))
	conn, br = openTunnel(t, port, tlsClient(p.servingCA, p.pinned))
	g.apply(httpsListener("https", port, "", []*testpki.Cert{p.serving}))
	expectClosed(t, conn, br)

	g.apply(listener(port, pinned))
	conn, br = openTunnel(t, port, tlsClient(p.servingCA, p.pinned))
	g.apply(listener(other, pinned))
	expectClosed(t, conn, br)
}

// TestRevokedWebSocketTunnelCarriesNothingSentAfterApply writes to a
// tunnel the moment the Apply that revokes it returns (a pin removed over
// TLS, a route removed over plaintext HTTP): not one of those bytes may
// reach the backend, however the goroutines that copy the tunnel are
// scheduled.
func TestRevokedWebSocketTunnelCarriesNothingSentAfterApply(t *testing.T) {
	p := newPKI(t)
	pinned, unpinned := pinOf(p.pinned, pin.SHA256), pinOf(p.unpinned, pin.SHA256)
	t.Run("pin removed", func(t *testing.T) {
		revokedTunnelCarriesNothing(t, func(port int32, ws snapshot.WeightedBackend, open bool) snapshot.Listener {
			pins := []pin.Pin{unpinned}
			if open {
				pins = []pin.Pin{pinned}
			}
			return httpsListener("https", port, "", []*testpki.Cert{p.serving}, route("api", nil,
				requireRule("/chat", &snapshot.Requirement{Policy: "default/p", Pins: pins}, ws)))
		}, func(t *testing.T, port int32) (net.Conn, *bufio.Reader) {
			return openTunnel(t, port, tlsClient(p.servingCA, p.pinned))
		})
	})
	t.Run("route removed", func(t *testing.T) {
		revokedTunnelCarriesNothing(t, func(port int32, ws snapshot.WeightedBackend, open bool) snapshot.Listener {
			if !open {
				return httpListener("http", port)
			}
			return httpListener("http", port, route("api", nil, prefixRule("/chat", ws)))
		}, func(t *testing.T, port int32) (net.Conn, *bufio.Reader) {
			conn, br := dialRaw(t, port)
			fmt.Fprint(conn, "GET /chat HTTP/1.1\r\nHost: api.example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
			if res, err := http.ReadResponse(br, nil); err != nil || res.StatusCode != http.StatusSwitchingProtocols {
				t.Fatalf("upgrade: %v, %v", res, err)
			}
			expectEcho(t, conn, br, "hello\n")
			return conn, br
		})
	})
}

// revokedTunnelCarriesNothing opens a tunnel on a listener that admits it
// (listener(open true)), applies the one that does not, writes at once, and
// fails if the backend ever reads what was written; thirty times.
func revokedTunnelCarriesNothing(t *testing.T, listener func(port int32, ws snapshot.WeightedBackend, open bool) snapshot.Listener,
	openTunnel func(*testing.T, int32) (net.Conn, *bufio.Reader)) {
	g := newGateway(t)
	var mu sync.Mutex
	var lines []string
	ws := recordingWSBackend(t, func(line string) {
		mu.Lock()
		lines = append(lines, line)
		mu.Unlock()
	})
	port := freePort(t)
	const after = "sent after the tunnel was revoked\n"
	for range 30 {
		g.apply(listener(port, ws, true))
		conn, br := openTunnel(t, port)
		g.apply(listener(port, ws, false))
		for range 20 {
			if _, err := fmt.Fprint(conn, after); err != nil {
				break
			}
		}
		expectClosed(t, conn, br)
	}
	// What got through would have reached the backend by now.
	time.Sleep(100 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	if n := len(lines) - len(slices.DeleteFunc(lines, func(l string) bool { return l == after })); n > 0 {
		t.Fatalf("the backend read %d lines sent after Apply revoked the tunnel", n)
	}
}

func TestTraceIsAnswered405ByTheGateway(t *testing.T) {
	g := newGateway(t)
	be := newEcho(t, "be")
	port := freePort(t)
	g.apply(httpListener("http", port, route("r", nil, prefixRule("/", be.weighted(1)))))
	req, err := http.NewRequest(http.MethodTrace, "http://h.example.com/", nil)
	if err != nil {
		t.Fatal(err)
	}
	res := newClient(t, port, nil).do(req)
	if res.StatusCode != http.StatusMethodNotAllowed || res.Header.Get("Allow") == "" || res.Header.Get("Content-Type") != "application/problem+json" {
		t.Errorf("TRACE: status %d, Allow %q, Content-Type %q; want 405 with Allow, problem+json",
			res.StatusCode, res.Header.Get("Allow"), res.Header.Get("Content-Type"))
	}
	if be.requests() != 0 {
		t.Errorf("backend got %d requests, want none", be.requests())
	}
}

func TestEmptyHostIsAnswered400(t *testing.T) {
	g := newGateway(t)
	be := newEcho(t, "be")
	port := freePort(t)
	g.apply(httpListener("http", port, route("r", nil, prefixRule("/", be.weighted(1)))))
	conn, br := dialRaw(t, port)
	fmt.Fprint(conn, "GET / HTTP/1.1\r\nHost: \r\n\r\n")
	if res, _ := readResponse(t, br); res.StatusCode != http.StatusBadRequest {
		t.Errorf("empty Host: status %d, want 400", res.StatusCode)
	}
	if be.requests() != 0 {
		t.Errorf("backend got %d requests, want none", be.requests())
	}
}

func TestContentLengthWithChunkedIsRefused(t *testing.T) {
	g := newGateway(t)
	be := newRawBackend(t)
	port := freePort(t)
	g.apply(httpListener("http", port, route("r", nil, prefixRule("/", be.weighted()))))
	conn, br := dialRaw(t, port)
	// A front end that frames by Content-Length sends all of this as one
	// request; framed by Transfer-Encoding, a second one follows.
	fmt.Fprint(conn, smuggling)
	if res, _ := readResponse(t, br); res.StatusCode != http.StatusBadRequest || !res.Close {
		t.Errorf("Content-Length with chunked: status %d, close %v; want 400 and the connection closed", res.StatusCode, res.Close)
	}
	expectClosed(t, conn, br)
	if got := be.received(); got != "" {
		t.Errorf("backend received:\n%s", got)
	}
}

const smuggling = "POST / HTTP/1.1\r\nHost: h.example.com\r\nContent-Length: 40\r\nTransfer-Encoding: chunked\r\n\r\n" +
	"0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: h.example.com\r\n\r\n"

// On TLS the gateway cannot see the Content-Length net/http removed: the
// chunked request closes its connection, so nothing after it is read.
func TestChunkedRequestOverTLSClosesTheConnection(t *testing.T) {
	g := newGateway(t)
	be := newRawBackend(t)
	p := newPKI(t)
	port := freePort(t)
	g.apply(httpsListener("https", port, "", []*testpki.Cert{p.serving}, route("r", nil, prefixRule("/", be.weighted()))))
	cfg := tlsClient(p.servingCA, nil)
	cfg.NextProtos, cfg.ServerName = []string{"http/1.1"}, "api.example.com"
	conn, err := tls.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(conn)
	fmt.Fprint(conn, smuggling)
	if res, _ := readResponse(t, br); !res.Close {
		t.Errorf("chunked request over TLS: status %d on a connection kept open", res.StatusCode)
	}
	expectClosed(t, conn, br)
	if strings.Contains(be.received(), "/smuggled") {
		t.Errorf("backend received the smuggled request:\n%s", be.received())
	}
}

// The framing scan skips bodies by their length: a body that looks like
// headers does not make the next chunked request look like a conflict.
func TestPipelinedBodiesDoNotConfuseTheFramingCheck(t *testing.T) {
	g := newGateway(t)
	be := newRawBackend(t)
	port := freePort(t)
	g.apply(httpListener("http", port, route("r", nil, prefixRule("/", be.weighted()))))
	conn, br := dialRaw(t, port)
	fake := "Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n"
	fmt.Fprintf(conn, "POST /a HTTP/1.1\r\nHost: h.example.com\r\nContent-Length: %d\r\n\r\n%s", len(fake), fake)
	fmt.Fprint(conn, "GET /b HTTP/1.1\r\nHost: h.example.com\r\n\r\n")
	fmt.Fprint(conn, "POST /c HTTP/1.1\r\nHost: h.example.com\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n")
	for _, path := range []string{"/a", "/b", "/c"} {
		if res, body := readResponse(t, br); res.StatusCode != http.StatusOK || body != "ok" {
			t.Errorf("%s: status %d %q, want the backend's 200", path, res.StatusCode, body)
		}
	}
	expectClosed(t, conn, br)
}

// bodyBackend reads request bodies in two steps: it reports the first
// five bytes, then how reading the rest ended.
type bodyBackend struct {
	*echoBackend
	started chan struct{}
	ended   chan error
}

func newBodyBackend(t *testing.T) *bodyBackend {
	b := &bodyBackend{echoBackend: newEcho(t, "body"), started: make(chan struct{}, 10), ended: make(chan error, 10)}
	b.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.ReadFull(r.Body, make([]byte, 5)); err != nil {
			b.ended <- err
			return
		}
		b.started <- struct{}{}
		_, err := io.ReadAll(r.Body)
		b.ended <- err
	})
	return b
}

// started reports whether the backend read the first five bytes of a
// body within a few seconds.
func (b *bodyBackend) wait() bool {
	select {
	case <-b.started:
		return true
	case <-time.After(5 * time.Second):
		return false
	}
}

func (b *bodyBackend) end(t *testing.T) error {
	t.Helper()
	select {
	case err := <-b.ended:
		return err
	case <-time.After(5 * time.Second):
		t.Fatal("backend is still reading the body")
		return nil
	}
}

func newGatewayWith(t *testing.T, opts dataplane.Options) *gateway {
	g := &gateway{t: t, metrics: metrics.New(), log: &testlog.Buffer{}}
	opts.Metrics, opts.AccessLog = g.metrics, accesslog.New(g.log)
	g.dp = dataplane.New(opts)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = g.dp.Shutdown(ctx)
	})
	return g
}

func TestMalformedChunkedBodyIsAnswered400AndNeverCompletesUpstream(t *testing.T) {
	g := newGateway(t)
	be := newBodyBackend(t)
	port := freePort(t)
	g.apply(httpListener("http", port, route("r", nil, prefixRule("/", be.weighted(1)))))
	conn, br := dialRaw(t, port)
	fmt.Fprint(conn, "POST / HTTP/1.1\r\nHost: h.example.com\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n")
	if !be.wait() {
		t.Fatal("the backend never received the start of the body")
	}
	fmt.Fprint(conn, "zz\r\n")
	if res, _ := readResponse(t, br); res.StatusCode != http.StatusBadRequest || !res.Close {
		t.Errorf("malformed chunk: status %d, close %v; want 400 and the connection closed", res.StatusCode, res.Close)
	}
	if err := be.end(t); err == nil {
		t.Error("the backend read a complete body")
	}
}

func TestShortHTTP2BodyIsAnswered400AndNeverCompletesUpstream(t *testing.T) {
	g := newGateway(t)
	be := newBodyBackend(t)
	port := freePort(t)
	g.apply(httpListener("http", port, route("r", nil, prefixRule("/", be.weighted(1)))))
	c := h2cClient(t, port)
	body, send := io.Pipe()
	req, err := http.NewRequest(http.MethodPost, "http://h.example.com/", body)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = 10
	go func() {
		_, _ = send.Write([]byte("hello"))
		be.wait()
		_ = send.Close() // END_STREAM after 5 of the 10 bytes declared
	}()
	if res := c.do(req); res.StatusCode != http.StatusBadRequest || res.ProtoMajor != 2 {
		t.Errorf("short body: status %d over HTTP/%d, want 400 over HTTP/2", res.StatusCode, res.ProtoMajor)
	}
	if err := be.end(t); err == nil {
		t.Error("the backend read a complete body")
	}
}

func TestStalledBodyIsAnswered408AndFreesTheBackend(t *testing.T) {
	g := newGatewayWith(t, dataplane.Options{BodyIdleTimeout: 300 * time.Millisecond})
	be := newBodyBackend(t)
	port := freePort(t)
	g.apply(httpListener("http", port, route("r", nil, prefixRule("/", be.weighted(1)))))
	conn, br := dialRaw(t, port)
	fmt.Fprint(conn, "POST / HTTP/1.1\r\nHost: h.example.com\r\nContent-Length: 10\r\n\r\nhello")
	if !be.wait() {
		t.Fatal("the backend never received the start of the body")
	}
	start := time.Now()
	if res, _ := readResponse(t, br); res.StatusCode != http.StatusRequestTimeout || !res.Close {
		t.Errorf("stalled body: status %d, close %v; want 408 and the connection closed", res.StatusCode, res.Close)
	}
	if err := be.end(t); err == nil {
		t.Error("the backend read a complete body")
	}
	if waited := time.Since(start); waited > 3*time.Second {
		t.Errorf("the stall was ended after %v, want about 300ms", waited)
	}
}

// A backend may answer before it has read the body. The answer is
// forwarded, and the body still being read when the request ends must not
// touch the finished HTTP/2 stream.
func TestEarlyAnswerWhileTheBodyIsStillComing(t *testing.T) {
	g := newGateway(t)
	be := newEcho(t, "early")
	be.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		_ = rc.EnableFullDuplex()
		w.Header().Set("Content-Length", "0")
		w.WriteHeader(http.StatusAccepted)
		_ = rc.Flush()
	})
	port := freePort(t)
	g.apply(httpListener("http", port, route("r", nil, prefixRule("/", be.weighted(1)))))
	c := h2cClient(t, port)
	for range 3 {
		body, send := io.Pipe()
		req, err := http.NewRequest(http.MethodPost, "http://h.example.com/", body)
		if err != nil {
			t.Fatal(err)
		}
		go func() { _, _ = send.Write([]byte("hello")) }()
		if res := c.do(req); res.StatusCode != http.StatusAccepted {
			t.Errorf("status %d, want the backend's 202", res.StatusCode)
		}
		time.Sleep(50 * time.Millisecond)
		_ = send.Close()
	}
	if res := c.get("http://h.example.com/"); res.StatusCode != http.StatusAccepted {
		t.Errorf("after early answers: status %d, want 202", res.StatusCode)
	}
}

// h2cClient speaks HTTP/2 with prior knowledge to a gateway port.
func h2cClient(t *testing.T, port int32) *client {
	c := newClient(t, port, nil)
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, fmt.Sprintf("127.0.0.1:%d", port))
		},
		Protocols: new(http.Protocols),
	}
	tr.Protocols.SetUnencryptedHTTP2(true)
	t.Cleanup(tr.CloseIdleConnections)
	c.http.Transport = tr
	return c
}
