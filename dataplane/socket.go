package dataplane

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/certgate/certgate/dataplane/metrics"
)

// Server limits, set once here for every listener socket.
const (
	// readHeaderTimeout bounds how long a client may take to send request
	// headers, so a slow client cannot hold a connection open for free
	// (slowloris). Bodies are bounded only by the body idle timeout
	// (Options.BodyIdleTimeout): uploads and streams may be long, but not
	// silent.
	readHeaderTimeout = 10 * time.Second
	// idleTimeout closes keep-alive connections that carry no request.
	idleTimeout = 120 * time.Second
	// maxHeaderBytes bounds request line and headers; beyond it net/http
	// answers 431 Request Header Fields Too Large.
	maxHeaderBytes = 64 << 10
	// drainTimeout is how long a removed or shut down socket waits for
	// in-flight requests before it closes their connections.
	drainTimeout = 30 * time.Second
)

// socket is one bound address and port with its HTTP server. It outlives
// snapshots: a new snapshot that keeps the address swaps the socket's
// configuration and keeps its connections.
type socket struct {
	addr   string
	ln     net.Listener
	dp     *Dataplane
	server *http.Server
	// handoff carries connections of HTTPS listeners to server on a
	// socket with TLS listeners too, after their ClientHello was read.
	handoff *handoff
	// h1 serves HTTP/1.1 connections until it hands them to server.
	h1      *h1Server
	config  atomic.Pointer[portConfig]
	metrics *metrics.Metrics
	// retired is set when a snapshot removes the socket; its WebSocket
	// tunnels are then closed.
	retired atomic.Bool
	served  chan struct{}
}

// openSocket binds addr. Serving starts with start, once the socket has a
// configuration.
func openSocket(d *Dataplane, addr string, log *slog.Logger) (*socket, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &socket{addr: addr, ln: ln, dp: d, handoff: newHandoff(ln.Addr()), served: make(chan struct{}), metrics: d.opts.Metrics}
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil {
			// A TLS connection the loop handed over reaches net/http as
			// plaintext.
			r.TLS, _ = r.Context().Value(tlsStateKey{}).(*tls.ConnectionState)
		}
		d.serve(s.config.Load(), w, r)
	})
	s.h1 = newH1Server(s, handler)
	s.server = &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: readHeaderTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
		ConnState:         d.connState,
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			if f, ok := c.(*framingConn); ok {
				ctx = context.WithValue(ctx, framingKey{}, f)
			}
			if r, ok := c.(*replayConn); ok {
				if tc, ok := r.Conn.(*tls.Conn); ok {
					state := tc.ConnectionState()
					ctx = context.WithValue(ctx, tlsStateKey{}, &state)
				}
			}
			return withConnState(context.WithValue(ctx, socketKey{}, s), c)
		},
		// Renegotiation is off in crypto/tls servers; HTTP/2 comes from the
		// "h2" ALPN protocol each listener's tls.Config offers. A
		// cleartext (HTTP) listener also takes HTTP/2 with prior knowledge
		// (RFC 9113 section 3.3: the connection starts with the HTTP/2
		// preface); the deprecated "Upgrade: h2c" dance is not offered.
		// TLS connections never see it: net/http only looks for the
		// preface on connections that are not *tls.Conn.
		Protocols: new(http.Protocols),
	}
	s.server.Protocols.SetHTTP1(true)
	s.server.Protocols.SetHTTP2(true)
	s.server.Protocols.SetUnencryptedHTTP2(true)
	return s, nil
}

// start serves connections in the background.
func (s *socket) start(log *slog.Logger) {
	var wg sync.WaitGroup
	for _, ln := range []net.Listener{&tlsSwitchListener{Listener: s.ln, socket: s}, s.handoff} {
		wg.Go(func() {
			err := s.server.Serve(ln)
			if err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error("listener stopped", "address", s.addr, "error", err)
			}
		})
	}
	go func() {
		wg.Wait()
		close(s.served)
	}()
}

// drain stops accepting, lets in-flight requests finish until ctx ends,
// then closes what is left.
func (s *socket) drain(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Go(func() { s.h1.shutdown(ctx) })
	if err := s.server.Shutdown(ctx); err != nil {
		_ = s.server.Close()
	}
	<-s.served
	wg.Wait()
}

// closeUnstarted releases a socket that never served.
func (s *socket) closeUnstarted() {
	_ = s.ln.Close()
	_ = s.handoff.Close()
}

// tlsSwitchListener decides per accepted connection whether to speak TLS,
// from the socket's configuration at that moment. A snapshot may turn a
// port from HTTP to HTTPS without closing the socket; connections already
// open keep the protocol they started with.
type tlsSwitchListener struct {
	net.Listener
	socket *socket
}

// Accept starts every accepted connection in a goroutine of its own and
// returns only the listener's errors: the HTTP server's Serve runs this
// accept loop (retrying temporary errors, closing the listener on
// Shutdown), and HTTP connections reach the server through the socket's
// handoff once the connection loop gives them up. On a port with TLS
// listeners, the socket first reads each connection's ClientHello
// (dispatch).
func (l *tlsSwitchListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		cfg := l.socket.config.Load()
		cc := countConn(l.socket.metrics, c, cfg)
		switch {
		case cfg != nil && cfg.streams:
			go l.socket.dispatch(cc, cfg)
		case cfg != nil && cfg.tls != nil:
			go l.socket.h1.serve(tls.Server(cc, cfg.tls))
		default:
			go l.socket.h1.serve(cc)
		}
	}
}
