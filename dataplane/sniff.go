package dataplane

import (
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"sync"
	"time"
)

// errHelloRead ends the handshake readClientHello starts, once the
// ClientHello is in hand.
var errHelloRead = errors.New("client hello read")

// readClientHello reads the client's ClientHello from c without answering
// it, and returns it with every byte read, which the connection's real
// handshake (terminated here or at a passthrough backend) must see again.
// crypto/tls parses the hello; writes (its alert, when the handshake is
// cut short) go nowhere.
func readClientHello(c net.Conn) (*tls.ClientHelloInfo, []byte, error) {
	var read bytes.Buffer
	var hello *tls.ClientHelloInfo
	probe := tls.Server(readOnlyConn{r: io.TeeReader(c, &read), conn: c}, &tls.Config{
		GetConfigForClient: func(h *tls.ClientHelloInfo) (*tls.Config, error) {
			hello = h
			return nil, errHelloRead
		},
	})
	err := probe.Handshake()
	if hello == nil {
		return nil, nil, err
	}
	return hello, read.Bytes(), nil
}

// readOnlyConn is the connection readClientHello's probe handshake sees:
// reads come from r, writes are dropped.
type readOnlyConn struct {
	r    io.Reader
	conn net.Conn
}

func (c readOnlyConn) Read(p []byte) (int, error)         { return c.r.Read(p) }
func (c readOnlyConn) Write(p []byte) (int, error)        { return len(p), nil }
func (c readOnlyConn) Close() error                       { return nil }
func (c readOnlyConn) LocalAddr() net.Addr                { return c.conn.LocalAddr() }
func (c readOnlyConn) RemoteAddr() net.Addr               { return c.conn.RemoteAddr() }
func (c readOnlyConn) SetDeadline(t time.Time) error      { return nil }
func (c readOnlyConn) SetReadDeadline(t time.Time) error  { return nil }
func (c readOnlyConn) SetWriteDeadline(t time.Time) error { return nil }

// replayConn is a client connection whose first bytes were already read
// (a ClientHello, or requests the connection loop read and did not
// serve): reads return them first, then the connection's.
type replayConn struct {
	net.Conn
	replay []byte
}

func (c *replayConn) Read(p []byte) (int, error) {
	if len(c.replay) > 0 {
		n := copy(p, c.replay)
		c.replay = c.replay[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

// CloseWrite half-closes the client connection, so a backend's end of
// stream reaches the client as one.
func (c *replayConn) CloseWrite() error { return closeWrite(c.Conn) }

// closeWrite half-closes c when it can (TCP, TLS) and closes it otherwise.
func closeWrite(c net.Conn) error {
	if hc, ok := c.(interface{ CloseWrite() error }); ok {
		return hc.CloseWrite()
	}
	return c.Close()
}

// handoff is the listener through which connections a socket has already
// read the ClientHello of, and found to be for an HTTPS listener, reach
// the socket's HTTP server.
type handoff struct {
	addr  net.Addr
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func newHandoff(addr net.Addr) *handoff {
	return &handoff{addr: addr, conns: make(chan net.Conn), done: make(chan struct{})}
}

// give passes c to the HTTP server, or closes it when the server is gone.
func (h *handoff) give(c net.Conn) {
	select {
	case h.conns <- c:
	case <-h.done:
		_ = c.Close()
	}
}

// Accept implements net.Listener.
func (h *handoff) Accept() (net.Conn, error) {
	select {
	case c := <-h.conns:
		return c, nil
	case <-h.done:
		return nil, net.ErrClosed
	}
}

// Close implements net.Listener.
func (h *handoff) Close() error {
	h.once.Do(func() { close(h.done) })
	return nil
}

// Addr implements net.Listener.
func (h *handoff) Addr() net.Addr { return h.addr }
