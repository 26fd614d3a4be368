package upstream

import (
	"context"
	"crypto/tls"
	"net"

	"github.com/certgate/certgate/dataplane/snapshot"
)

// StreamDialer opens byte-stream connections to one backend, for TLS
// listeners: plain TCP, or TLS when the backend has TLS (BackendTLSPolicy
// and the Gateway's client certificate, verified and presented exactly as
// for HTTP requests). Connections are not pooled: each client connection
// gets its own.
type StreamDialer struct {
	// Name is the backend's "namespace/service:port".
	Name      string
	endpoints *Endpoints
	tls       *tls.Config
}

// NewStreamDialer compiles b for streams. withTLS false ignores b.TLS:
// a passthrough stream is the client's own TLS and is never wrapped again.
func NewStreamDialer(b *snapshot.Backend, withTLS bool) (*StreamDialer, error) {
	s := &StreamDialer{Name: b.Name, endpoints: NewEndpoints(b.Endpoints)}
	if b.TLS != nil && withTLS {
		cfg, err := newTLSConfig(b.Name, b.TLS)
		if err != nil {
			return nil, err
		}
		s.tls = cfg
	}
	return s, nil
}

// Dial connects to the next endpoint and, for a TLS backend, completes
// the handshake before returning, so a backend that fails verification
// never receives a byte of the client's stream.
func (s *StreamDialer) Dial(ctx context.Context) (net.Conn, error) {
	addr, ok := s.endpoints.Pick()
	if !ok {
		return nil, ErrNoEndpoints
	}
	ctx, cancel := context.WithTimeout(ctx, dialTimeout+tlsHandshakeTimeout)
	defer cancel()
	c, err := (&net.Dialer{Timeout: dialTimeout, KeepAlive: tcpKeepAlive}).DialContext(ctx, "tcp", addr)
	if err != nil || s.tls == nil {
		return c, err
	}
	tc := tls.Client(c, s.tls)
	if err := tc.HandshakeContext(ctx); err != nil {
		_ = c.Close()
		return nil, err
	}
	return tc, nil
}
