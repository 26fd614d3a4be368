package upstream

import (
	"crypto/tls"
	"net"
	"net/http"
	"time"

	"github.com/certgate/certgate/dataplane/snapshot"
)

// Transport settings. They are constants, not options: every backend gets
// the same proxy-shaped behaviour, and the rule timeouts, not the
// transport, bound how long a request may take.
const (
	// dialTimeout bounds the TCP connect. An unreachable endpoint should
	// fail fast enough for a retry to try another one; rule timeouts,
	// carried by the request context, may cut it shorter.
	dialTimeout = 5 * time.Second
	// tcpKeepAlive probes idle connections so a backend that vanished
	// (node gone, no RST) is noticed instead of hanging the next request.
	tcpKeepAlive = 30 * time.Second
	// maxIdleConnsPerHost is far above Go's default of 2: a proxy sends
	// many concurrent requests to one endpoint, and with 2 idle slots every
	// burst would open and then throw away connections (and TLS sessions).
	maxIdleConnsPerHost = 256
	// idleConnTimeout is below the idle timeouts of common backend servers
	// (nginx 75s, Envoy and Go servers longer), so the gateway closes an
	// idle connection before the backend does, rather than racing a request
	// against the backend's close.
	idleConnTimeout = 60 * time.Second
	// tlsHandshakeTimeout bounds a backend that accepts TCP but never
	// completes the handshake.
	tlsHandshakeTimeout = 10 * time.Second
	// expectContinueTimeout is how long a request with "Expect:
	// 100-continue" waits for the backend's go-ahead before sending the
	// body anyway.
	expectContinueTimeout = 1 * time.Second
	// maxResponseHeaderBytes bounds the memory one backend response's
	// headers can take.
	maxResponseHeaderBytes = 1 << 20
	// h2SendPingTimeout and h2PingTimeout health-check multiplexed HTTP/2
	// connections: one dead connection would otherwise fail every stream
	// sent on it until the kernel gives up.
	h2SendPingTimeout = 30 * time.Second
	h2PingTimeout     = 15 * time.Second
)

// newTransport builds the transport for b: for an HTTP/1.1 backend, over
// TLS or not, the direct path in front of an http.Transport, otherwise
// (h2c, or HTTP/2 offered over TLS) the http.Transport alone.
func newTransport(b *snapshot.Backend) (pooledTransport, error) {
	t, err := newHTTPTransport(b)
	if err != nil {
		return nil, err
	}
	if b.AppProtocol != snapshot.AppProtocolH2C {
		return newDirectTransport(t), nil
	}
	return t, nil
}

// newHTTPTransport builds the http.Transport for b. ResponseHeaderTimeout
// is left unset on purpose: how long a backend may think is the rule's
// BackendRequest timeout, applied per attempt by Do.
func newHTTPTransport(b *snapshot.Backend) (*http.Transport, error) {
	var tlsConfig *tls.Config
	if b.TLS != nil {
		c, err := newTLSConfig(b.Name, b.TLS)
		if err != nil {
			return nil, err
		}
		tlsConfig = c
	}
	dialer := &net.Dialer{Timeout: dialTimeout, KeepAlive: tcpKeepAlive}
	return &http.Transport{
		// Never a proxy from the environment: HTTP_PROXY in the gateway's
		// environment must not redirect backend traffic.
		Proxy:                  nil,
		DialContext:            dialer.DialContext,
		TLSClientConfig:        tlsConfig,
		TLSHandshakeTimeout:    tlsHandshakeTimeout,
		MaxIdleConns:           0, // no global cap; the per-host cap applies
		MaxIdleConnsPerHost:    maxIdleConnsPerHost,
		IdleConnTimeout:        idleConnTimeout,
		ExpectContinueTimeout:  expectContinueTimeout,
		MaxResponseHeaderBytes: maxResponseHeaderBytes,
		// A proxy must pass encodings through untouched: with compression
		// enabled the transport would ask for gzip and transparently
		// decompress, changing what the client receives.
		DisableCompression: true,
		Protocols:          protocols(b),
		HTTP2:              &http.HTTP2Config{SendPingTimeout: h2SendPingTimeout, PingTimeout: h2PingTimeout},
	}, nil
}

// protocols decides what a backend is spoken to with.
//
//   - kubernetes.io/h2c without TLS: HTTP/2 with prior knowledge only. The
//     Service said it speaks h2c; falling back to HTTP/1 would hide a
//     misconfiguration behind a protocol the backend may not expect.
//   - kubernetes.io/h2c with TLS: the Service wants HTTP/2 and the policy
//     wants TLS, so h2 is offered by ALPN, with HTTP/1.1 as the fallback.
//   - everything else, TLS or not, including kubernetes.io/ws: HTTP/1.1
//     with keep-alive. httputil.ReverseProxy handles WebSocket upgrades
//     only over HTTP/1.1. A TLS backend is not offered h2 by ALPN either:
//     its appProtocol did not ask for HTTP/2, and HTTP/1.1 keeps it
//     behaving exactly like its plaintext twin (upgrades, one request per
//     connection, load spread over connections by any L4 balancer in
//     front of it). Adding h2 for TLS needs an appProtocol that says so.
func protocols(b *snapshot.Backend) *http.Protocols {
	var p http.Protocols
	switch {
	case b.AppProtocol == snapshot.AppProtocolH2C && b.TLS == nil:
		p.SetUnencryptedHTTP2(true)
	case b.AppProtocol == snapshot.AppProtocolH2C:
		p.SetHTTP2(true)
		p.SetHTTP1(true)
	default:
		p.SetHTTP1(true)
	}
	return &p
}
