package dataplane_test

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/certgate/certgate/dataplane/snapshot"
	"github.com/certgate/certgate/internal/testpki"
)

func TestSNISelectsListenerCertificateAndKeyType(t *testing.T) {
	g := newGateway(t)
	be := newEcho(t, "be")
	ca := testpki.NewCA(t, "serving CA")
	aECDSA := ca.Issue(t, testpki.Options{CommonName: "a ecdsa", DNSNames: []string{"a.example.com"}})
	aRSA := ca.Issue(t, testpki.Options{CommonName: "a rsa", DNSNames: []string{"a.example.com"}, Key: testpki.RSA})
	wild := ca.Issue(t, testpki.Options{CommonName: "wildcard", DNSNames: []string{"*.example.com"}})
	port := freePort(t)
	r := route("r", nil, prefixRule("/", be.weighted(1)))
	g.apply(
		httpsListener("a", port, "a.example.com", []*testpki.Cert{aECDSA, aRSA}, r),
		httpsListener("wild", port, "*.example.com", []*testpki.Cert{wild}, r),
	)
	for _, tt := range []struct {
		name, sni, wantCN string
		cfg               func(*tls.Config)
	}{
		{"ecdsa by default", "a.example.com", "a ecdsa", nil},
		{"rsa for a client without ecdsa", "a.example.com", "a rsa", func(c *tls.Config) {
			c.MaxVersion = tls.VersionTLS12
			c.CipherSuites = []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256}
		}},
		{"wildcard listener", "b.example.com", "wildcard", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tlsClient(ca, nil)
			cfg.ServerName = tt.sni
			if tt.cfg != nil {
				tt.cfg(cfg)
			}
			conn, err := tls.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port), cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			leaf := conn.ConnectionState().PeerCertificates[0]
			if leaf.Subject.CommonName != tt.wantCN {
				t.Errorf("served %q, want %q", leaf.Subject.CommonName, tt.wantCN)
			}
			switch tt.wantCN {
			case "a rsa":
				if _, ok := leaf.PublicKey.(*rsa.PublicKey); !ok {
					t.Error("not an RSA key")
				}
			case "a ecdsa":
				if _, ok := leaf.PublicKey.(*ecdsa.PublicKey); !ok {
					t.Error("not an ECDSA key")
				}
			}
		})
	}
}

func TestHTTP2ToClients(t *testing.T) {
	g := newGateway(t)
	be := newEcho(t, "be")
	ca := testpki.NewCA(t, "serving CA")
	cert := ca.Issue(t, testpki.Options{DNSNames: []string{"h.example.com"}})
	port := freePort(t)
	g.apply(httpsListener("https", port, "", []*testpki.Cert{cert}, route("r", nil, prefixRule("/", be.weighted(1)))))
	res := newClient(t, port, tlsClient(ca, nil)).get("https://h.example.com/x")
	if res.StatusCode != http.StatusOK || res.ProtoMajor != 2 {
		t.Fatalf("status %d over HTTP/%d, want 200 over HTTP/2", res.StatusCode, res.ProtoMajor)
	}
	if e := res.echo(t); e.Path != "/x" || e.Header.Get("X-Forwarded-Proto") != "https" {
		t.Errorf("backend saw %s with X-Forwarded-Proto %q", e.Path, e.Header.Get("X-Forwarded-Proto"))
	}
}

func TestH2CBackend(t *testing.T) {
	g := newGateway(t)
	be := &echoBackend{name: "h2c"}
	be.Server = httptest.NewUnstartedServer(echoHandler("h2c", nil))
	be.Config.Protocols = new(http.Protocols)
	be.Config.Protocols.SetUnencryptedHTTP2(true)
	be.Start()
	t.Cleanup(be.Close)
	port := freePort(t)
	b := be.weighted(1)
	b.AppProtocol = snapshot.AppProtocolH2C
	g.apply(httpListener("http", port, route("r", nil, prefixRule("/", b))))
	if e := newClient(t, port, nil).get("http://h.example.com/").echo(t); e.Proto != 2 {
		t.Errorf("backend saw HTTP/%d, want HTTP/2 cleartext", e.Proto)
	}
}

// TestH2CPriorKnowledgeFrontend: an HTTP listener answers a client that
// opens the connection with the HTTP/2 preface (prior knowledge), and
// still answers HTTP/1.1 on the same port.
func TestH2CPriorKnowledgeFrontend(t *testing.T) {
	g := newGateway(t)
	be := newEcho(t, "be")
	port := freePort(t)
	g.apply(httpListener("http", port, route("r", nil, prefixRule("/", be.weighted(1)))))

	h2c := newClient(t, port, nil)
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, fmt.Sprintf("127.0.0.1:%d", port))
		},
		Protocols: new(http.Protocols),
	}
	tr.Protocols.SetUnencryptedHTTP2(true)
	t.Cleanup(tr.CloseIdleConnections)
	h2c.http.Transport = tr
	res := h2c.get("http://h.example.com/x")
	if res.StatusCode != http.StatusOK || res.ProtoMajor != 2 {
		t.Fatalf("prior-knowledge HTTP/2: status %d over HTTP/%d, want 200 over HTTP/2", res.StatusCode, res.ProtoMajor)
	}
	if e := res.echo(t); e.Backend != "be" || e.Path != "/x" {
		t.Errorf("reached %s at %s, want be at /x", e.Backend, e.Path)
	}
	if res := newClient(t, port, nil).get("http://h.example.com/x"); res.StatusCode != http.StatusOK || res.ProtoMajor != 1 {
		t.Errorf("HTTP/1.1 on the same port: status %d over HTTP/%d", res.StatusCode, res.ProtoMajor)
	}
}

func TestWebSocketUpgradeIsTunnelled(t *testing.T) {
	g := newGateway(t)
	ws := newEcho(t, "ws")
	ws.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") != "websocket" {
			http.Error(w, "not an upgrade", http.StatusBadRequest)
			return
		}
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		fmt.Fprint(brw, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
		_ = brw.Flush()
		line, _ := brw.ReadString('\n')
		fmt.Fprint(brw, "echo: "+line)
		_ = brw.Flush()
	})
	port := freePort(t)
	b := ws.weighted(1)
	b.AppProtocol = snapshot.AppProtocolWebSocket
	g.apply(httpListener("http", port, route("r", nil, prefixRule("/", b))))

	conn, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprint(conn, "GET /chat HTTP/1.1\r\nHost: h.example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
	br := bufio.NewReader(conn)
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("status %d, want 101", res.StatusCode)
	}
	fmt.Fprint(conn, "hello\n")
	line, err := br.ReadString('\n')
	if err != nil || line != "echo: hello\n" {
		t.Errorf("tunnel answered %q, %v", line, err)
	}
}

func TestUnchangedListenerKeepsItsConnectionsAcrossSnapshots(t *testing.T) {
	g := newGateway(t)
	a, b := newEcho(t, "a"), newEcho(t, "b")
	port, other := freePort(t), freePort(t)
	g.apply(httpListener("http", port, route("r", nil, prefixRule("/", a.weighted(1)))),
		httpListener("other", other, route("r", nil, prefixRule("/", a.weighted(1)))))

	conn, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	br := bufio.NewReader(conn)
	get := func() string {
		t.Helper()
		fmt.Fprint(conn, "GET / HTTP/1.1\r\nHost: h.example.com\r\n\r\n")
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("keep-alive connection broke: %v", err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return string(body)
	}
	if !strings.Contains(get(), `"backend":"a"`) {
		t.Fatal("first request did not reach a")
	}
	// A new snapshot: same socket, another backend; the other listener goes.
	g.apply(httpListener("http", port, route("r", nil, prefixRule("/", b.weighted(1)))))
	if !strings.Contains(get(), `"backend":"b"`) {
		t.Error("the open connection did not see the new snapshot")
	}
	waitFor(t, func() bool {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", other), time.Second)
		if err == nil {
			c.Close()
		}
		return err != nil
	}, "removed listener to close")
}

func TestRejectedSnapshotKeepsLastGoodServing(t *testing.T) {
	g := newGateway(t)
	a := newEcho(t, "a")
	port := freePort(t)
	g.apply(httpListener("http", port, route("r", nil, prefixRule("/", a.weighted(1)))))
	bad := httpListener("http", port, route("r", nil, snapshot.Rule{
		Matches:  []snapshot.Match{{Path: &snapshot.PathMatch{Type: snapshot.PathRegularExpression, Value: "(unclosed"}}},
		Backends: []snapshot.WeightedBackend{a.weighted(1)},
	}))
	err := g.dp.Apply(&snapshot.Snapshot{Listeners: []snapshot.Listener{bad}})
	if err == nil || !strings.Contains(err.Error(), "rules[0].matches[0].path") {
		t.Fatalf("Apply(bad) = %v, want an error naming the regular expression", err)
	}
	if got := testutil.ToFloat64(g.metrics.ConfigApplies.WithLabelValues("failure")); got != 1 {
		t.Errorf("failure applies = %v, want 1", got)
	}
	if res := newClient(t, port, nil).get("http://h.example.com/"); res.StatusCode != http.StatusOK {
		t.Errorf("after a rejected snapshot: status %d, want the last good one serving", res.StatusCode)
	}
}

func TestListenerThatCannotBindRejectsTheSnapshot(t *testing.T) {
	g := newGateway(t)
	a := newEcho(t, "a")
	port := freePort(t)
	g.apply(httpListener("http", port, route("r", nil, prefixRule("/", a.weighted(1)))))
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	busy := int32(taken.Addr().(*net.TCPAddr).Port)
	err = g.dp.Apply(&snapshot.Snapshot{Listeners: []snapshot.Listener{
		httpListener("http", port, route("r2", nil, prefixRule("/", a.weighted(1)))),
		httpListener("busy", busy, route("r", nil, prefixRule("/", a.weighted(1)))),
	}})
	if err == nil {
		t.Fatal("a snapshot whose port is taken was applied")
	}
	res := newClient(t, port, nil).get("http://h.example.com/")
	if res.StatusCode != http.StatusOK {
		t.Errorf("status %d after a failed bind", res.StatusCode)
	}
}

// TestApplying200SnapshotsUnderLoadLosesNoRequest swaps configurations
// while clients send requests over keep-alive and over new connections:
// every request must succeed and reach a backend of the snapshot it was
// served by.
func TestApplying200SnapshotsUnderLoadLosesNoRequest(t *testing.T) {
	g := newGateway(t)
	backends := []*echoBackend{newEcho(t, "b0"), newEcho(t, "b1"), newEcho(t, "b2")}
	port := freePort(t)
	snapshotFor := func(i int) snapshot.Listener {
		// Each snapshot changes the route set: a different backend, a
		// different extra route, a different weight.
		b := backends[i%len(backends)]
		return httpListener("http", port,
			route("main", nil, prefixRule("/", b.weighted(int32(1+i%5)))),
			route("extra-"+strconv.Itoa(i), []string{"extra.example.com"}, prefixRule("/e"+strconv.Itoa(i), b.weighted(1))),
		)
	}
	g.apply(snapshotFor(0))

	var stop atomic.Bool
	var failures atomic.Int64
	var sent atomic.Int64
	var firstErr atomic.Value
	fail := func(err error) {
		failures.Add(1)
		firstErr.CompareAndSwap(nil, err)
	}
	var wg sync.WaitGroup
	for worker := range 4 {
		keepAlive := worker%2 == 0
		wg.Go(func() {
			tr := &http.Transport{DisableKeepAlives: !keepAlive, MaxIdleConnsPerHost: 4}
			defer tr.CloseIdleConnections()
			cl := &http.Client{Transport: tr, Timeout: 5 * time.Second}
			url := fmt.Sprintf("http://127.0.0.1:%d/work", port)
			for !stop.Load() {
				res, err := cl.Get(url)
				sent.Add(1)
				if err != nil {
					fail(err)
					continue
				}
				body, err := io.ReadAll(res.Body)
				res.Body.Close()
				if err != nil || res.StatusCode != http.StatusOK || !strings.Contains(string(body), `"backend":"b`) {
					fail(fmt.Errorf("status %d body %q err %v", res.StatusCode, body, err))
				}
			}
		})
	}
	for i := 1; i <= 200; i++ {
		g.apply(snapshotFor(i))
		time.Sleep(2 * time.Millisecond)
	}
	stop.Store(true)
	wg.Wait()
	if failures.Load() != 0 {
		t.Fatalf("%d of %d requests failed during 200 applies; first: %v", failures.Load(), sent.Load(), firstErr.Load())
	}
	if sent.Load() < 200 {
		t.Errorf("only %d requests were sent during the applies", sent.Load())
	}
	if got := testutil.ToFloat64(g.metrics.ConfigApplies.WithLabelValues("success")); got != 201 {
		t.Errorf("successful applies = %v, want 201", got)
	}
	// Every apply had a different extra route; only the last one's series
	// may remain (two routes and the unmatched recorder, 18 codes each).
	if n := testutil.CollectAndCount(g.metrics.HTTPRequests); n > 3*18 {
		t.Errorf("%d request series after 200 applies, want those of the current routes only", n)
	}
	t.Logf("%d requests, 0 failures, across 200 applies", sent.Load())
}

func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestShutdownDrainsInFlightRequests(t *testing.T) {
	g := newGateway(t)
	slow := newEcho(t, "slow")
	started := make(chan struct{})
	slow.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		time.Sleep(300 * time.Millisecond)
		fmt.Fprint(w, "finished")
	})
	port := freePort(t)
	g.apply(httpListener("http", port, route("r", nil, prefixRule("/", slow.weighted(1)))))
	c := newClient(t, port, nil)
	done := make(chan response, 1)
	go func() { done <- c.get("http://h.example.com/") }()
	<-started

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := g.dp.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	res := <-done
	if res.StatusCode != http.StatusOK || string(res.body) != "finished" {
		t.Errorf("in-flight request during shutdown: %d %q, want 200 finished", res.StatusCode, res.body)
	}
	if conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second); err == nil {
		conn.Close()
		t.Error("the listener still accepts connections after Shutdown")
	}
}
