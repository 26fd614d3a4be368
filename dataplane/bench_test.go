package dataplane_test

import (
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/certgate/certgate/dataplane/pin"
	"github.com/certgate/certgate/dataplane/snapshot"
	"github.com/certgate/certgate/internal/testpki"
)

// benchWorkers is the number of concurrent keep-alive clients.
const benchWorkers = 16

// BenchmarkProxyVsReverseProxy sends the same requests through certgate
// and through a bare httputil.ReverseProxy (the peer) to the same backend,
// in the same run, and reports the ratio of their times per request
// (x-peer below 1 means certgate is faster). The peer does no routing, no
// certificate check, no metrics and no access log: the ratio is the price
// of all of them together.
func BenchmarkProxyVsReverseProxy(b *testing.B) {
	p := benchPKI(b)
	backend := newEcho(b, "bench")
	for _, tc := range []struct {
		name   string
		tls    bool
		pinned bool
	}{
		{"http", false, false},
		{"https", true, false},
		{"https-pinned", true, true},
	} {
		b.Run(tc.name, func(b *testing.B) {
			gatewayURL := startCertgate(b, backend, p, tc.tls, tc.pinned)
			peerURL, stopPeer := startPeer(b, backend, p, tc.tls)
			defer stopPeer()
			client := benchClient(p, tc.tls)
			defer client.CloseIdleConnections()

			peer := load(b, client, peerURL, b.N)
			b.ResetTimer()
			ours := load(b, client, gatewayURL, b.N)
			b.StopTimer()
			b.ReportMetric(float64(peer.Nanoseconds())/float64(b.N), "peer-ns/op")
			b.ReportMetric(float64(ours)/float64(peer), "x-peer")
		})
	}
}

type benchCerts struct {
	ca      *testpki.CA
	serving *testpki.Cert
	client  *testpki.Cert
}

func benchPKI(b *testing.B) *benchCerts {
	ca := testpki.NewCA(b, "bench CA")
	return &benchCerts{
		ca:      ca,
		serving: ca.Issue(b, testpki.Options{DNSNames: []string{"bench.example.com"}}),
		client:  ca.Issue(b, testpki.Options{CommonName: "client"}),
	}
}

func startCertgate(b *testing.B, backend *echoBackend, p *benchCerts, useTLS, pinned bool) string {
	g := newGateway(b)
	port := freePort(b)
	rule := prefixRule("/", backend.weighted(1))
	if pinned {
		fp := pin.Of(p.client.Leaf)
		rule.ClientCert = &snapshot.Requirement{Policy: "default/bench", Pins: []pin.Pin{{Algorithm: pin.SHA256, Digest: fp.SHA256[:]}}}
	}
	l := httpListener("http", port, route("bench", nil, rule))
	scheme := "http"
	if useTLS {
		l = httpsListener("https", port, "", []*testpki.Cert{p.serving}, route("bench", nil, rule))
		scheme = "https"
	}
	g.apply(l)
	return fmt.Sprintf("%s://127.0.0.1:%d/bench", scheme, port)
}

func startPeer(b *testing.B, backend *echoBackend, p *benchCerts, useTLS bool) (string, func()) {
	target, _ := url.Parse(backend.URL)
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.Transport = &http.Transport{MaxIdleConnsPerHost: 256, DisableCompression: true}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{Handler: proxy, ReadHeaderTimeout: 10 * time.Second}
	scheme := "http"
	if useTLS {
		scheme = "https"
		ln = tls.NewListener(ln, &tls.Config{
			Certificates: []tls.Certificate{*p.serving.TLS}, ClientAuth: tls.RequestClientCert,
			NextProtos: []string{"http/1.1"}, MinVersion: tls.VersionTLS12,
		})
	}
	go func() { _ = srv.Serve(ln) }()
	return fmt.Sprintf("%s://%s/bench", scheme, ln.Addr()), func() { _ = srv.Close() }
}

func benchClient(p *benchCerts, useTLS bool) *http.Client {
	tr := &http.Transport{MaxIdleConnsPerHost: benchWorkers, DisableCompression: true}
	if useTLS {
		tr.TLSClientConfig = &tls.Config{
			RootCAs: p.ca.Pool(), ServerName: "bench.example.com", MinVersion: tls.VersionTLS12,
			Certificates: []tls.Certificate{*p.client.TLS}, NextProtos: []string{"http/1.1"},
		}
	}
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// load sends n GET requests to url from benchWorkers keep-alive clients
// and returns how long they took. Any failure fails the benchmark.
func load(b *testing.B, client *http.Client, url string, n int) time.Duration {
	var wg sync.WaitGroup
	var once sync.Once
	start := time.Now()
	for w := range benchWorkers {
		wg.Go(func() {
			for i := w; i < n; i += benchWorkers {
				res, err := client.Get(url)
				if err == nil {
					_, err = io.Copy(io.Discard, res.Body)
					res.Body.Close()
					if res.StatusCode != http.StatusOK {
						err = fmt.Errorf("status %d", res.StatusCode)
					}
				}
				if err != nil {
					once.Do(func() { b.Error(url, err) })
					return
				}
			}
		})
	}
	wg.Wait()
	return time.Since(start)
}
