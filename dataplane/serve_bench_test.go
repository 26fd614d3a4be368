package dataplane_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/certgate/certgate/dataplane"
	"github.com/certgate/certgate/dataplane/accesslog"
	"github.com/certgate/certgate/dataplane/metrics"
	"github.com/certgate/certgate/dataplane/pin"
	"github.com/certgate/certgate/dataplane/snapshot"
	"github.com/certgate/certgate/internal/testpki"
)

// serveHost is the Host and server name of BenchmarkServe's requests.
const serveHost = "bench.example.com"

// BenchmarkServe sends requests one after another over one keep-alive
// connection through the data plane in this process (its metrics and an
// access log to /dev/null included), and straight to the backend as
// "direct": the data plane's own allocations and time per request are the
// difference. For pprof: -cpuprofile, -memprofile. Requests per proxy
// CPU-second, against nginx and the other peers, are `make bench-peers`'s.
func BenchmarkServe(b *testing.B) {
	p := benchPKI(b)
	backendAddr := serveBackend(b)
	ports := [3]int{int(freePort(b)), int(freePort(b)), int(freePort(b))}
	devNull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer devNull.Close()
	dp := dataplane.New(dataplane.Options{Metrics: metrics.New(), AccessLog: accesslog.NewBuffered(devNull)})
	if err := dp.Apply(serveSnapshot(p, backendAddr, ports)); err != nil {
		b.Fatal(err)
	}
	defer func() { _ = dp.Shutdown(context.Background()) }()
	_, bport, _ := net.SplitHostPort(backendAddr)
	direct, _ := strconv.Atoi(bport)
	for _, sc := range []struct {
		name      string
		port      int
		tls, mtls bool
	}{
		{"direct", direct, false, false},
		{"http", ports[0], false, false},
		{"https", ports[1], true, false},
		{"mtls-pinned", ports[2], true, true},
	} {
		b.Run(sc.name, func(b *testing.B) {
			x, err := dialServe(sc.port, sc.tls, sc.mtls, p)
			if err != nil {
				b.Fatal(err)
			}
			defer x.conn.Close()
			// The first request opens the connection; the timer starts after it.
			if err := x.do(); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if err := x.do(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// serveBody is the backend's answer: a small JSON document.
var serveBody = []byte(`{"ok":true,"service":"bench","items":[1,2,3,4,5,6,7,8]}` + "\n")

func serveBackend(b *testing.B) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(serveBody)))
		_, _ = w.Write(serveBody)
	})}
	go func() { _ = srv.Serve(ln) }()
	b.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

// serveSnapshot has the three scenarios' listeners: HTTP, HTTPS, and
// HTTPS with a route that pins the client certificate and verifies it to
// its CA.
func serveSnapshot(p *benchCerts, backendAddr string, ports [3]int) *snapshot.Snapshot {
	host, port, _ := net.SplitHostPort(backendAddr)
	bport, _ := strconv.Atoi(port)
	backend := snapshot.WeightedBackend{Weight: 1, Backend: snapshot.Backend{
		Name: "default/bench:80", Namespace: "default", Service: "bench", Port: 80,
		Endpoints: []snapshot.Endpoint{{Address: host, Port: int32(bport)}},
	}}
	open := prefixRule("/", backend)
	pinned := prefixRule("/", backend)
	fp := pin.Of(p.client.Leaf)
	pinned.ClientCert = &snapshot.Requirement{
		Policy: "default/bench", Pins: []pin.Pin{{Algorithm: pin.SHA256, Digest: fp.SHA256[:]}},
		CACertificates: []snapshot.CACertificate{{Name: "default/bench-ca", PEM: p.ca.PEM}},
	}
	return &snapshot.Snapshot{Listeners: []snapshot.Listener{
		httpListener("http", int32(ports[0]), route("bench", nil, open)),
		httpsListener("https", int32(ports[1]), "", []*testpki.Cert{p.serving}, route("bench", nil, open)),
		httpsListener("mtls", int32(ports[2]), "", []*testpki.Cert{p.serving}, route("bench", nil, pinned)),
	}}
}

// serveRequest is the benchmark's request.
var serveRequest = []byte("GET /bench/items?page=1 HTTP/1.1\r\nHost: " + serveHost + "\r\nUser-Agent: certgate-bench\r\nAccept: */*\r\n\r\n")

// serveExchange is one keep-alive client connection.
type serveExchange struct {
	conn net.Conn
	br   *bufio.Reader
}

func dialServe(port int, useTLS, mtls bool, p *benchCerts) (*serveExchange, error) {
	conn, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		return nil, err
	}
	if useTLS {
		cfg := &tls.Config{RootCAs: p.ca.Pool(), ServerName: serveHost, MinVersion: tls.VersionTLS13, CurvePreferences: []tls.CurveID{tls.X25519}, NextProtos: []string{"http/1.1"}}
		if mtls {
			cfg.Certificates = []tls.Certificate{*p.client.TLS}
		}
		conn = tls.Client(conn, cfg)
	}
	return &serveExchange{conn: conn, br: bufio.NewReader(conn)}, nil
}

// do sends one request and reads its response.
func (x *serveExchange) do() error {
	if _, err := x.conn.Write(serveRequest); err != nil {
		return err
	}
	res, err := http.ReadResponse(x.br, nil)
	if err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if err != nil {
		return err
	}
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d", res.StatusCode)
	}
	return nil
}
