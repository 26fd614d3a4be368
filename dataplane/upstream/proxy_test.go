package upstream

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"testing"
	"time"

	"github.com/certgate/certgate/dataplane/snapshot"
)

// proxyTo serves a ReverseProxy whose Transport is a RetryTransport, as the
// data plane wires one per (rule, backend).
func proxyTo(t *testing.T, u *Upstream, p *RetryPolicy) *httptest.Server {
	t.Helper()
	rp := &httputil.ReverseProxy{
		// The host and scheme are the RetryTransport's to choose per attempt.
		Rewrite:   func(*httputil.ProxyRequest) {},
		Transport: &RetryTransport{Upstream: u, Policy: p},
	}
	srv := httptest.NewServer(rp)
	t.Cleanup(srv.Close)
	return srv
}

// echoUpgrade switches to a protocol that echoes lines back.
func echoUpgrade(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Upgrade") != "echo" {
		http.Error(w, "upgrade required", http.StatusUpgradeRequired)
		return
	}
	conn, rw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return
	}
	defer conn.Close()
	_, _ = rw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n")
	_ = rw.Flush()
	for {
		line, err := rw.ReadString('\n')
		if err != nil {
			return
		}
		_, _ = rw.WriteString(line)
		_ = rw.Flush()
	}
}

func TestUpgradedConnectionOutlivesTheAttemptTimeout(t *testing.T) {
	be := startBackend(t, echoUpgrade, nil)
	u := compile(t, &snapshot.Backend{Name: "ns/ws:80", AppProtocol: snapshot.AppProtocolWebSocket,
		Endpoints: []snapshot.Endpoint{be.endpoint()}})
	const attemptTimeout = 50 * time.Millisecond
	proxy := proxyTo(t, u, NewRetryPolicy(nil, snapshot.Timeouts{BackendRequest: attemptTimeout}))

	conn, err := net.Dial("tcp", proxy.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, _ = io.WriteString(conn, "GET / HTTP/1.1\r\nHost: ws.test\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
	br := bufio.NewReader(conn)
	res, err := http.ReadResponse(br, nil)
	if err != nil || res.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade through the proxy: %v %v", res, err)
	}
	time.Sleep(3 * attemptTimeout)
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	_, _ = io.WriteString(conn, "ping\n")
	if line, err := br.ReadString('\n'); err != nil || line != "ping\n" {
		t.Fatalf("echo after the attempt timeout: %q %v", line, err)
	}
}

func TestReverseProxyRetriesThroughRetryTransport(t *testing.T) {
	h, seen := failingThen(1, http.StatusServiceUnavailable)
	be := startBackend(t, h, nil)
	u := compile(t, &snapshot.Backend{Name: "ns/svc:80", Endpoints: []snapshot.Endpoint{be.endpoint()}})
	proxy := proxyTo(t, u, retryPolicy(1, 0, 503))
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	res, err := client.Get(proxy.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 || seen.Load() != 2 {
		t.Fatalf("got %d after %d attempts, want 200 after 2", res.StatusCode, seen.Load())
	}
}
