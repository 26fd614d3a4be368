package dataplane

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/certgate/certgate/dataplane/httphead"
)

// certgate serves HTTP/1.1 connections with a connection loop of its own
// and leaves every request it does not carry to net/http's server, on the
// same connection. Profiles of keep-alive proxying showed net/http's
// server costing about as much per request as the proxying: a context, a
// background read and three read deadlines per request, a response
// object, a header map and a buffered writer per response. The loop
// carries the requests a gateway sees most: GET, HEAD and OPTIONS over
// HTTP/1.1 with no body, in origin form, with one valid Host, every field
// name and value valid, no Expect or Upgrade, and no Connection option
// but keep-alive and close (a request asking to close is answered with
// "Connection: close" and the connection ends after it, as on net/http's
// server). It parses them with httphead, which reads such a head as
// net/http's server does, to the field, and declines any head it is not
// sure to read the same (a folded line, a bare line feed).
//
// The loop never answers a request it has not parsed itself, and it never
// consumes a request it does not carry: it looks at a whole request head
// in its buffer before it takes it, and the first one it does not carry
// (any other method, a body, an upgrade, HTTP/1.0 or HTTP/2, a head
// larger than its buffer, anything malformed or declined by httphead)
// goes to net/http with every byte not yet served, and the connection
// stays with net/http from then on. Malformed requests are net/http's to refuse, with net/http's
// answer.

const (
	// h1BufferSize bounds the request heads the loop takes; a larger one
	// goes to net/http, which allows up to maxHeaderBytes.
	h1BufferSize = 4096
	// h1BufferBody is how much of a response body is held before the
	// header is sent, so a short body gets a Content-Length, as in net/http.
	h1BufferBody = 2048
	// clientWatchDelay is how long a request runs before the loop starts
	// watching its connection for the client going away, which cancels
	// the request's context, as net/http's server does. Quick requests
	// never pay for the watch.
	clientWatchDelay = 50 * time.Millisecond
	// idleDeadlineSlack is how stale the idle read deadline may grow
	// before it is set again, so that a busy connection does not reset
	// it on every request.
	idleDeadlineSlack = time.Second
)

// h1Server runs the connection loops of one socket and keeps track of
// them for drain.
type h1Server struct {
	s       *socket
	handler http.Handler

	mu    sync.Mutex
	conns map[*h1Conn]struct{}
	// closing is set, under mu, once shutdown begins.
	closing atomic.Bool
	wg      sync.WaitGroup
}

func newH1Server(s *socket, handler http.Handler) *h1Server {
	return &h1Server{s: s, handler: handler, conns: map[*h1Conn]struct{}{}}
}

// serve runs the loop on c: a plaintext connection, or a *tls.Conn whose
// handshake it runs first.
func (srv *h1Server) serve(c net.Conn) {
	tc, _ := c.(*tls.Conn)
	hc := &h1Conn{srv: srv, conn: c, tls: tc}
	if !srv.track(hc) {
		_ = hc.conn.Close()
		return
	}
	defer srv.untrack(hc)
	defer func() {
		// As net/http's server does: a fault serving one connection
		// closes it and never stops the process.
		if p := recover(); p != nil {
			srv.logPanic(hc.conn.RemoteAddr().String(), p)
			hc.close()
		}
	}()
	if tc != nil && !hc.handshake() {
		return
	}
	hc.loop()
}

// logPanic logs a panic serving the client at remote, with its stack, as
// net/http's server does.
func (srv *h1Server) logPanic(remote string, p any) {
	buf := make([]byte, 64<<10)
	buf = buf[:runtime.Stack(buf, false)]
	srv.s.server.ErrorLog.Printf("http: panic serving %v: %v\n%s", remote, p, buf)
}

func (srv *h1Server) track(c *h1Conn) bool {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if srv.closing.Load() {
		return false
	}
	srv.conns[c] = struct{}{}
	srv.wg.Add(1)
	return true
}

func (srv *h1Server) untrack(c *h1Conn) {
	srv.mu.Lock()
	delete(srv.conns, c)
	srv.mu.Unlock()
	srv.wg.Done()
}

// shutdown closes the idle connections and lets the others finish the
// request they serve, until ctx ends; then it closes them.
func (srv *h1Server) shutdown(ctx context.Context) {
	srv.mu.Lock()
	srv.closing.Store(true)
	for c := range srv.conns {
		if c.idle {
			_ = c.conn.Close()
		}
	}
	srv.mu.Unlock()
	done := make(chan struct{})
	go func() {
		srv.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return
	case <-ctx.Done():
	}
	srv.mu.Lock()
	for c := range srv.conns {
		_ = c.conn.Close()
	}
	srv.mu.Unlock()
	<-done
}

// setIdle marks c as waiting for a request, which shutdown may close; it
// returns false when the server is closing.
func (srv *h1Server) setIdle(c *h1Conn, idle bool) bool {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	closing := srv.closing.Load()
	c.idle = idle && !closing
	return !closing
}

// h1Conn is one connection in the loop.
type h1Conn struct {
	srv  *h1Server
	conn net.Conn
	// tls is the connection's TLS layer, nil on plaintext.
	tls      *tls.Conn
	tlsState *tls.ConnectionState
	remote   string
	base     context.Context
	// idle is guarded by srv.mu.
	idle bool

	// buf[r:w] is read and not yet served.
	buf  []byte
	r, w int
	// deadline is the read deadline set last, of kind.
	deadline time.Time
	kind     deadlineKind
	bw       *bufio.Writer
	// req is the request last parsed; the handler gets a copy of it.
	req http.Request
	res h1Response

	watch clientWatch
	date  httpDate
}

// handshake runs the TLS handshake under the header timeout, as net/http
// does, and hands an HTTP/2 connection to net/http. It reports whether the
// loop goes on.
func (c *h1Conn) handshake() bool {
	dl := time.Now().Add(readHeaderTimeout)
	_ = c.conn.SetReadDeadline(dl)
	_ = c.conn.SetWriteDeadline(dl)
	if err := c.tls.HandshakeContext(context.Background()); err != nil {
		c.handshakeFailed(err)
		return false
	}
	_ = c.conn.SetReadDeadline(time.Time{})
	_ = c.conn.SetWriteDeadline(time.Time{})
	state := c.tls.ConnectionState()
	if state.NegotiatedProtocol == "h2" {
		c.srv.s.handoff.give(c.tls)
		return false
	}
	c.tlsState = &state
	return true
}

// handshakeFailed answers a plaintext HTTP request sent to a TLS port as
// net/http does, closes the connection and counts the failure.
func (c *h1Conn) handshakeFailed(err error) {
	if re, ok := err.(tls.RecordHeaderError); ok && re.Conn != nil && looksLikeHTTP(re.RecordHeader) {
		_, _ = io.WriteString(re.Conn, "HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n")
		_ = re.Conn.Close()
		return
	}
	if handshakeFailure(err) != "" {
		c.srv.s.server.ErrorLog.Printf("http: TLS handshake error from %s: %v", c.conn.RemoteAddr(), err)
	}
	_ = c.conn.Close()
	c.srv.s.dp.connState(c.tls, http.StateClosed)
}

func looksLikeHTTP(hdr [5]byte) bool {
	switch string(hdr[:]) {
	case "GET /", "HEAD ", "POST ", "PUT /", "OPTIO":
		return true
	}
	return false
}

// loop serves requests until the connection ends or is handed to net/http.
func (c *h1Conn) loop() {
	c.remote = c.conn.RemoteAddr().String()
	c.base = withConnState(context.WithValue(context.Background(), socketKey{}, c.srv.s), c.conn)
	c.buf = make([]byte, h1BufferSize)
	c.bw = bufio.NewWriterSize(c.conn, h1BufferSize)
	c.res.c = c
	c.watch.c = c
	for {
		n, ok := c.nextHead()
		if !ok {
			return
		}
		if !c.parse(n) {
			c.handOff()
			return
		}
		c.r += n
		keep := c.serveRequest()
		switch {
		case !keep && c.res.closeAfter && c.res.err == nil:
			c.closeGracefully()
			return
		case !keep || c.srv.closing.Load():
			c.close()
			return
		}
	}
}

// nextHead waits until buf holds a whole request head and returns its
// length. It returns false when the connection ended or was handed over.
func (c *h1Conn) nextHead() (int, bool) {
	for {
		if n := headLength(c.buf[c.r:c.w]); n > 0 {
			return n, true
		}
		if c.w-c.r == len(c.buf) {
			c.handOff()
			return 0, false
		}
		if c.r > 0 {
			c.w = copy(c.buf, c.buf[c.r:c.w])
			c.r = 0
		}
		waiting := c.w == 0
		c.setDeadline(waiting)
		if waiting && !c.srv.setIdle(c, true) {
			c.close()
			return 0, false
		}
		n, err := c.conn.Read(c.buf[c.w:])
		if waiting {
			c.srv.setIdle(c, false)
		}
		c.w += n
		if err != nil {
			c.close()
			return 0, false
		}
	}
}

// setDeadline sets the read deadline for waiting on a new request (the
// idle timeout) or for the rest of a head (the header timeout). The idle
// one is set again only once it has grown a second stale.
func (c *h1Conn) setDeadline(waiting bool) {
	now := time.Now()
	switch {
	case waiting && c.kind == idleDeadline && c.deadline.Sub(now) > idleTimeout-idleDeadlineSlack:
		return
	case waiting:
		c.deadline, c.kind = now.Add(idleTimeout), idleDeadline
	case c.kind == headerDeadline:
		return // the header timeout runs from the head's first read
	default:
		c.deadline, c.kind = now.Add(readHeaderTimeout), headerDeadline
	}
	_ = c.conn.SetReadDeadline(c.deadline)
}

type deadlineKind uint8

const (
	noDeadline deadlineKind = iota
	idleDeadline
	headerDeadline
)

// headLength is the length of the request head at the start of p,
// through the empty line that ends it, or 0 while p holds no whole head.
// Lines end at a line feed here, as they may for net/http: a head whose
// lines httphead declines to read still ends where net/http's does.
func headLength(p []byte) int {
	for i := 0; ; {
		j := bytes.IndexByte(p[i:], '\n')
		if j < 0 {
			return 0
		}
		line := p[i : i+j]
		i += j + 1
		if len(line) == 0 || len(line) == 1 && line[0] == '\r' {
			return i
		}
	}
}

// parse parses the head of n bytes at buf[r:] into c.req and reports
// whether the loop carries it.
func (c *h1Conn) parse(n int) bool {
	return httphead.Request(c.buf[c.r:c.r+n], &c.req)
}

// serveRequest runs the handler on the request parsed into c.req and
// finishes the response. It reports whether the connection carries on.
func (c *h1Conn) serveRequest() (keep bool) {
	ctx := newRequestContext(c.base)
	defer ctx.cancel()
	r := c.req.WithContext(ctx)
	r.RemoteAddr, r.TLS = c.remote, c.tlsState
	w := &c.res
	w.reset(r)
	c.watch.start(ctx)
	defer func() {
		gone := c.watch.stop()
		if p := recover(); p != nil {
			if p != http.ErrAbortHandler {
				c.srv.logPanic(c.remote, p)
			}
			w.err, keep = http.ErrAbortHandler, false
			return
		}
		keep = w.finish() && !gone
	}()
	c.srv.handler.ServeHTTP(w, r)
	return true
}

// handOff gives the connection to net/http, with the bytes read and not
// served to be read first. On TLS, net/http sees a plaintext connection;
// the handler takes the request's TLS state from the connection's context
// (tlsStateKey).
func (c *h1Conn) handOff() {
	pending := c.buf[c.r:c.w]
	if c.kind != noDeadline {
		_ = c.conn.SetReadDeadline(time.Time{})
	}
	if c.tls != nil {
		// net/http must not find an HTTP/2 preface in a TLS connection
		// that did not negotiate HTTP/2.
		if bytes.HasPrefix(pending, []byte("PRI ")) {
			c.close()
			return
		}
		c.srv.s.handoff.give(&replayConn{Conn: c.conn, replay: pending})
		return
	}
	c.srv.s.handoff.give(&framingConn{Conn: &replayConn{Conn: c.conn, replay: pending}})
}

func (c *h1Conn) close() { _ = c.conn.Close() }

// rstAvoidanceDelay is how long a connection closed after a response that
// said so stays half open, as in net/http's server: closing it at once,
// with a pipelined request unread, would reset it and could destroy the
// response on its way.
const rstAvoidanceDelay = 500 * time.Millisecond

// closeGracefully ends the connection after a response that announced
// it: the write side first, the rest after rstAvoidanceDelay.
func (c *h1Conn) closeGracefully() {
	if closeWrite(c.conn) == nil {
		time.Sleep(rstAvoidanceDelay)
	}
	c.close()
}

type tlsStateKey struct{}

// clientWatch cancels a request whose client goes away, once the request
// has run for clientWatchDelay: a read on the connection that ends in an
// error while the handler runs means the client closed it. A byte read
// meanwhile is the start of the next request and is kept.
//
// The timer is not set again for every request, which cost a timer heap
// update per request: it stays armed while the connection is busy, and
// when it fires it looks at how long the current request has run and
// either starts the watch or waits for the rest of the delay. It stops
// when it finds the connection between requests.
type clientWatch struct {
	c     *h1Conn
	timer *time.Timer

	mu       sync.Mutex
	armed    bool
	running  bool
	started  time.Time
	watching bool
	ctx      *requestContext
	done     chan struct{}
	b        [1]byte
	n        int
	gone     bool
}

func (w *clientWatch) start(ctx *requestContext) {
	now := time.Now()
	w.mu.Lock()
	defer w.mu.Unlock()
	w.running, w.started, w.ctx, w.gone, w.n = true, now, ctx, false, 0
	switch {
	case w.timer == nil:
		w.armed = true
		w.timer = time.AfterFunc(clientWatchDelay, w.fire)
	case !w.armed:
		w.armed = true
		w.timer.Reset(clientWatchDelay)
	}
}

func (w *clientWatch) fire() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.running || w.watching {
		w.armed = false
		return
	}
	if ran := time.Since(w.started); ran < clientWatchDelay {
		w.timer.Reset(clientWatchDelay - ran)
		return
	}
	w.armed = false
	c := w.c
	if c.r < c.w {
		return // the next request is already here: nothing to read
	}
	w.watching = true
	w.done = make(chan struct{})
	// Cleared here, under mu: stop's deadline in the past must come after.
	_ = c.conn.SetReadDeadline(time.Time{})
	go w.read()
}

func (w *clientWatch) read() {
	defer close(w.done)
	n, err := w.c.conn.Read(w.b[:])
	w.mu.Lock()
	defer w.mu.Unlock()
	w.n = n
	if err != nil && w.running && !errors.Is(err, os.ErrDeadlineExceeded) {
		w.gone = true
		w.ctx.cancel()
	}
}

// stop ends the watch when the handler returns and reports whether the
// client went away.
func (w *clientWatch) stop() bool {
	w.mu.Lock()
	w.running = false
	watching := w.watching
	w.watching = false
	w.mu.Unlock()
	if !watching {
		return false
	}
	c := w.c
	_ = c.conn.SetReadDeadline(aLongTimeAgo)
	<-w.done
	c.deadline, c.kind = time.Time{}, noDeadline
	_ = c.conn.SetReadDeadline(time.Time{})
	if w.n > 0 {
		// The watch starts only with nothing unserved in buf.
		c.r, c.w = 0, 1
		c.buf[0] = w.b[0]
	}
	return w.gone
}

// aLongTimeAgo is a deadline in the past: it makes a pending read return.
var aLongTimeAgo = time.Unix(1, 0)

// httpDate is the Date field's value, formatted once a second.
type httpDate struct {
	sec int64
	b   []byte
}

func (d *httpDate) at(now time.Time) []byte {
	if s := now.Unix(); s != d.sec || d.b == nil {
		d.sec = s
		d.b = now.UTC().AppendFormat(d.b[:0], http.TimeFormat)
	}
	return d.b
}
