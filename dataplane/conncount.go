package dataplane

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"

	"github.com/certgate/certgate/dataplane/metrics"
)

// countedConn is an accepted client connection, counted open in
// certgate_downstream_connections until it is closed. Connection counts
// are per port, not per listener: the listener of a connection is known
// only after its TLS ClientHello (HTTPS) or per request (HTTP, where one
// connection may carry requests for several listeners' hosts).
type countedConn struct {
	net.Conn
	port   string
	closed func()
	once   sync.Once
	// listener is the listener whose handshake configuration the
	// ClientHello chose; nil before it (and on HTTP). Only the
	// connection's own goroutine writes and reads it.
	listener *listenerConfig
}

func countConn(m *metrics.Metrics, c net.Conn, pc *portConfig) *countedConn {
	port := ""
	if pc != nil {
		port = strconv.Itoa(int(pc.port))
	}
	return &countedConn{Conn: c, port: port, closed: m.Connection(port)}
}

func (c *countedConn) Close() error {
	c.once.Do(c.closed)
	return c.Conn.Close()
}

// CloseWrite keeps net/http's graceful close of TCP connections.
func (c *countedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// noteListener remembers, on the connection being handshaken, the listener
// the ClientHello chose, for the handshake failure count.
func noteListener(hello *tls.ClientHelloInfo, lc *listenerConfig) {
	if c, ok := counted(hello.Conn); ok {
		c.listener = lc
	}
}

// counted returns the countedConn under c: c itself, or the connection a
// socket with TLS listeners replays a ClientHello on.
func counted(c net.Conn) (*countedConn, bool) {
	if r, ok := c.(*replayConn); ok {
		c = r.Conn
	}
	cc, ok := c.(*countedConn)
	return cc, ok
}

// connState counts the failed TLS handshakes of the socket's closed
// connections. The handshake is net/http's own, and crypto/tls has no
// callback for its failure; a failed handshake leaves its error in the
// tls.Conn, which Handshake returns again without any I/O.
func (d *Dataplane) connState(c net.Conn, state http.ConnState) {
	tc, ok := c.(*tls.Conn)
	if !ok || state != http.StateClosed || tc.ConnectionState().HandshakeComplete {
		return
	}
	reason := handshakeFailure(tc.Handshake())
	cc, ok := counted(tc.NetConn())
	if reason == "" || !ok {
		return
	}
	gateway, listener := "", ""
	if cc.listener != nil {
		gateway, listener = cc.listener.gateway, cc.listener.name
	}
	d.opts.Metrics.HandshakeFailed(cc.port, gateway, listener, reason)
}

// errNoCertificate is the text of crypto/tls's error for a client that
// sent no certificate where one is required; crypto/tls exports no value
// for it.
const errNoCertificate = "tls: client didn't provide a certificate"

// handshakeFailure names why a client handshake failed: no_certificate,
// unknown_ca, expired, bad_certificate (any other fault of the client's
// certificate) or protocol (everything else: not TLS, no shared version
// or cipher suite, an alert from the client). It is empty for no failure
// and for a connection closed before its ClientHello, which is a port
// probe, not a handshake.
func handshakeFailure(err error) string {
	var (
		unknown x509.UnknownAuthorityError
		invalid x509.CertificateInvalidError
		verify  *tls.CertificateVerificationError
	)
	switch {
	case err == nil || errors.Is(err, net.ErrClosed) || errors.Is(err, io.EOF):
		return ""
	case err.Error() == errNoCertificate:
		return "no_certificate"
	case errors.As(err, &unknown):
		return "unknown_ca"
	case errors.As(err, &invalid) && invalid.Reason == x509.Expired:
		return "expired"
	case errors.As(err, &verify) || errors.As(err, &invalid):
		return "bad_certificate"
	}
	return "protocol"
}
