package upstream

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"sync"
	"time"

	"github.com/certgate/certgate/dataplane/httphead"
)

// directTransport carries the most common proxied request — GET, HEAD or
// OPTIONS without a body, to an HTTP/1.1 backend — itself, on
// the goroutine of the request: it writes the request on a pooled
// connection and reads the response there. Go's http.Transport hands
// every request to two goroutines per connection (one writes, one reads)
// and back; for a small request that hand-off, its channels and its
// per-request bookkeeping cost more than the proxying. Everything else
// (bodies, upgrades, "Connection: close", h2c) goes to the
// http.Transport, which stays the reference.
//
// A TLS backend's connections are made as the http.Transport makes them:
// a clone of its TLS configuration (the BackendTLSPolicy's roots, server
// name, SAN check and client certificate, and its session cache), no ALPN
// offered, the handshake bounded by the same timeout.
//
// Only the request is written here, with net/http's own Request.Write;
// the response head is parsed by httphead, which takes the common final
// response framed by Content-Length and reads it as net/http does, or
// else by net/http's ReadResponse, the parser the http.Transport uses,
// under the same header size limit. What is this
// type's own is connection reuse, and it errs on the side of closing: a
// connection goes back to the pool only after a complete response with
// nothing after it, and on reuse a backend that closed it meanwhile gets
// the request again on a new connection (replaying a GET, HEAD or OPTIONS
// is what the http.Transport does too).
type directTransport struct {
	fallback *http.Transport
	dial     func(ctx context.Context, network, addr string) (net.Conn, error)
	// scheme is the backend's, "https" when tls is set.
	scheme string
	tls    *tls.Config

	mu   sync.Mutex
	idle map[string][]*directConn
	// swept is when idle connections were last checked for their timeout.
	swept time.Time
	// retired is set once the pool no longer hands this transport out:
	// connections released after that are closed rather than kept.
	retired bool
}

func newDirectTransport(fallback *http.Transport) *directTransport {
	t := &directTransport{fallback: fallback, dial: fallback.DialContext, scheme: "http", idle: map[string][]*directConn{}}
	if fallback.TLSClientConfig != nil {
		t.scheme, t.tls = "https", fallback.TLSClientConfig
	}
	return t
}

// RoundTrip implements http.RoundTripper.
func (t *directTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if !takesDirect(req) || req.URL.Scheme != t.scheme {
		return t.fallback.RoundTrip(req)
	}
	if err := checkHeader(req.Header); err != nil {
		return nil, err
	}
	return t.send(req.Context(), req.URL.Host, stdRequest{req})
}

// send sends out to addr on a pooled connection and reads the response
// head.
func (t *directTransport) send(ctx context.Context, addr string, out outgoing) (*http.Response, error) {
	for {
		c, reused, err := t.conn(ctx, addr)
		if err != nil {
			return nil, err
		}
		res, err := c.roundTrip(ctx, out)
		if err == nil {
			return res, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if !reused || c.answered {
			return nil, err
		}
		// A reused connection the backend closed while it was idle:
		// nothing of an answer came, so the request goes on a new one.
	}
}

// takesDirect reports whether req is one the direct path carries.
func takesDirect(req *http.Request) bool {
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
	default:
		return false
	}
	if req.Body != nil && req.Body != http.NoBody || req.Close {
		return false
	}
	_, upgrade := req.Header["Upgrade"]
	_, connection := req.Header["Connection"]
	return !upgrade && !connection
}

// CloseIdleConnections closes the idle connections of both paths.
func (t *directTransport) CloseIdleConnections() { t.closeIdle(false) }

// retire closes the idle connections and every connection released later.
func (t *directTransport) retire() { t.closeIdle(true) }

func (t *directTransport) closeIdle(retire bool) {
	t.mu.Lock()
	t.retired = t.retired || retire
	idle := t.idle
	t.idle = map[string][]*directConn{}
	t.mu.Unlock()
	for _, conns := range idle {
		for _, c := range conns {
			_ = c.conn.Close()
		}
	}
	t.fallback.CloseIdleConnections()
}

// conn returns an idle connection to addr, newest first, or dials one.
// Connections idle longer than idleConnTimeout are closed on the way.
func (t *directTransport) conn(ctx context.Context, addr string) (*directConn, bool, error) {
	t.mu.Lock()
	for conns := t.idle[addr]; len(conns) > 0; conns = t.idle[addr] {
		c := conns[len(conns)-1]
		t.idle[addr] = conns[:len(conns)-1]
		if time.Since(c.idleSince) < idleConnTimeout {
			t.mu.Unlock()
			return c, true, nil
		}
		_ = c.conn.Close()
	}
	t.mu.Unlock()
	conn, err := t.dial(ctx, "tcp", addr)
	if err != nil {
		return nil, false, err
	}
	if t.tls != nil {
		if conn, err = t.handshake(ctx, conn); err != nil {
			return nil, false, err
		}
	}
	c := &directConn{t: t, addr: addr, conn: conn}
	c.abort = func() { _ = c.conn.SetDeadline(aLongTimeAgo) }
	c.limited = limitedReader{r: conn}
	c.br = bufio.NewReader(&c.limited)
	c.bw = bufio.NewWriter(conn)
	return c, false, nil
}

// handshake makes conn a TLS connection to the backend, as the
// http.Transport's own dial does: a clone of its configuration, with no
// protocol offered by ALPN (it offers none to an HTTP/1.1 backend
// either), within tlsHandshakeTimeout and the request's context.
func (t *directTransport) handshake(ctx context.Context, conn net.Conn) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, tlsHandshakeTimeout)
	defer cancel()
	tc := tls.Client(conn, t.tls.Clone())
	if err := tc.HandshakeContext(ctx); err != nil {
		_ = conn.Close()
		return nil, err
	}
	return tc, nil
}

// put returns c to the idle pool, or closes it when the pool is full or
// the transport retired. No timer watches idle connections: every
// idleConnTimeout, a put closes those that have been idle that long,
// those of endpoints no longer picked included.
func (t *directTransport) put(c *directConn) {
	now := time.Now()
	c.idleSince = now
	t.mu.Lock()
	if now.Sub(t.swept) >= idleConnTimeout {
		t.sweepLocked(now)
	}
	if !t.retired && len(t.idle[c.addr]) < maxIdleConnsPerHost {
		t.idle[c.addr] = append(t.idle[c.addr], c)
		t.mu.Unlock()
		return
	}
	t.mu.Unlock()
	_ = c.conn.Close()
}

// sweepLocked closes the connections idle for idleConnTimeout. Each list
// is oldest first. The caller holds t.mu.
func (t *directTransport) sweepLocked(now time.Time) {
	t.swept = now
	for addr, conns := range t.idle {
		n := 0
		for n < len(conns) && now.Sub(conns[n].idleSince) >= idleConnTimeout {
			_ = conns[n].conn.Close()
			n++
		}
		if n == len(conns) {
			delete(t.idle, addr)
		} else if n > 0 {
			t.idle[addr] = append(conns[:0], conns[n:]...)
		}
	}
}

// directConn is one backend connection of the direct path.
type directConn struct {
	t         *directTransport
	addr      string
	conn      net.Conn
	limited   limitedReader
	br        *bufio.Reader
	bw        *bufio.Writer
	idleSince time.Time
	// answered is set once a byte of the current response has been read:
	// the backend saw the request, and it is not sent again.
	answered bool
	// abort fails every pending and later read and write, for a request
	// whose context ended; made once per connection, not per request.
	abort func()
	// end is the watch on the current request's context.
	end endWatch
}

// maxInformational bounds the 1xx responses read before the final one.
const maxInformational = 8

// aLongTimeAgo is a deadline in the past: setting it makes every pending
// and future read or write on a connection fail at once.
var aLongTimeAgo = time.Unix(1, 0)

// outgoing is a request the direct path sends: an *http.Request written
// by net/http (stdRequest), or a Head its caller prepared.
type outgoing interface {
	// write writes the request, through the blank line after its header.
	write(w *bufio.Writer) error
	// request is what the response is read for: its method tells whether
	// the response has a body.
	request() *http.Request
	// informational passes on a 1xx response read before the final one.
	informational(code int, h http.Header) error
}

// stdRequest is an outgoing *http.Request, written by Request.Write.
type stdRequest struct{ *http.Request }

func (r stdRequest) write(w *bufio.Writer) error { return r.Write(w) }
func (r stdRequest) request() *http.Request      { return r.Request }

// informational passes the response to the request's trace, as
// http.Transport does.
func (r stdRequest) informational(code int, h http.Header) error {
	if trace := httptrace.ContextClientTrace(r.Context()); trace != nil && trace.Got1xxResponse != nil {
		return trace.Got1xxResponse(code, textproto.MIMEHeader(h))
	}
	return nil
}

// roundTrip sends out on c and reads the response head. On error c is
// closed. ctx aborts the exchange, the body included, by moving the
// connection's deadline into the past.
func (c *directConn) roundTrip(ctx context.Context, out outgoing) (*http.Response, error) {
	c.watch(ctx)
	c.answered, c.limited.read = false, 0
	res, err := c.exchange(out)
	if err != nil {
		c.unwatch()
		_ = c.conn.Close()
		return nil, err
	}
	if res.Body == http.NoBody {
		c.release(res)
		return res, nil
	}
	res.Body = &directBody{c: c, body: res.Body, remaining: res.ContentLength, res: res, ctx: ctx}
	return res, nil
}

// exchange writes out and reads the response head, informational
// responses passed to out.
func (c *directConn) exchange(out outgoing) (*http.Response, error) {
	if err := out.write(c.bw); err != nil {
		return nil, err
	}
	if err := c.bw.Flush(); err != nil {
		return nil, err
	}
	c.limited.n = maxResponseHeaderBytes
	defer func() { c.limited.n = -1 }()
	for range maxInformational {
		res, err := c.readResponse(out.request())
		if c.limited.read > 0 {
			c.answered = true
		}
		if err != nil {
			return nil, err
		}
		if res.StatusCode == http.StatusSwitchingProtocols {
			return nil, errors.New("backend switched protocols on a request that offered no upgrade")
		}
		if res.StatusCode >= 200 {
			return res, nil
		}
		if err := out.informational(res.StatusCode, res.Header); err != nil {
			return nil, err
		}
		c.limited.n = maxResponseHeaderBytes
	}
	return nil, fmt.Errorf("backend sent more than %d informational responses", maxInformational)
}

// readResponse reads one response head from c: with httphead when it
// takes the head, with net/http's ReadResponse otherwise, which then
// reads the same bytes. A response httphead takes has a body of exactly
// its ContentLength, which directBody reads.
func (c *directConn) readResponse(req *http.Request) (*http.Response, error) {
	if head := c.peekHead(); head != nil {
		if res := httphead.Response(head, req); res != nil {
			_, _ = c.br.Discard(len(head))
			return res, nil
		}
	}
	return http.ReadResponse(c.br, req)
}

// peekHead returns the response head at the start of c's buffer, reading
// until it holds one: up to its empty line (CRLF CRLF, the only line end
// httphead takes). It returns nil when the buffer fills first or the
// read fails; ReadResponse then meets the same bytes and the same error.
func (c *directConn) peekHead() []byte {
	for n, from := 1, 0; n <= c.br.Size(); {
		_, err := c.br.Peek(n)
		buf, _ := c.br.Peek(c.br.Buffered())
		if i := bytes.Index(buf[from:], headEnd); i >= 0 {
			return buf[:from+i+len(headEnd)]
		}
		if err != nil {
			return nil
		}
		n, from = len(buf)+1, max(len(buf)-len(headEnd)+1, 0)
	}
	return nil
}

var headEnd = []byte("\r\n\r\n")

// endHooks is a request context that runs hooks when it ends, more
// cheaply than context.AfterFunc: certgate's connection loop gives its
// requests one, and the direct path sets a hook on every request.
type endHooks interface {
	OnEnd(f func()) (id int)
	StopEnd(id int) bool
}

// endWatch is what aborts c's exchange when its request ends: a hook of
// the request's context, or context.AfterFunc's stop.
type endWatch struct {
	hooks endHooks
	id    int
	stop  func() bool
}

// watch has the end of ctx abort c's exchange.
func (c *directConn) watch(ctx context.Context) {
	if h, ok := ctx.(endHooks); ok {
		c.end = endWatch{hooks: h, id: h.OnEnd(c.abort)}
		return
	}
	c.end = endWatch{stop: context.AfterFunc(ctx, c.abort)}
}

// unwatch ends watch and reports whether the exchange was not aborted.
func (c *directConn) unwatch() bool {
	w := c.end
	c.end = endWatch{}
	if w.hooks != nil {
		return w.hooks.StopEnd(w.id)
	}
	return w.stop()
}

// release ends the exchange: c goes back to the pool when the response
// was complete, kept the connection open and left nothing unread, and the
// request was not aborted meanwhile.
func (c *directConn) release(res *http.Response) {
	if !c.unwatch() || res.Close || c.br.Buffered() > 0 {
		_ = c.conn.Close()
		return
	}
	c.t.put(c)
}

// directBody is a response body on the direct path. Read to its end, it
// returns the connection to the pool; closed earlier, it closes it, as a
// half-read response cannot be told from the next one.
type directBody struct {
	c *directConn
	// body is ReadResponse's body; nil for a response httphead read,
	// whose body is the next remaining bytes of the connection.
	body      io.ReadCloser
	remaining int64
	res       *http.Response
	ctx       context.Context
	// mu guards done: Close may come from another goroutine than Read.
	mu   sync.Mutex
	done bool
}

func (b *directBody) Read(p []byte) (int, error) {
	var n int
	var err error
	if b.body != nil {
		n, err = b.body.Read(p)
	} else {
		n, err = b.readLength(p)
	}
	switch {
	case err == io.EOF:
		b.finish(true)
	case err != nil:
		b.finish(false)
		if b.ctx.Err() != nil {
			err = b.ctx.Err()
		}
	}
	return n, err
}

// readLength reads the body of a response framed by its Content-Length,
// as net/http's body does: io.EOF at its end, io.ErrUnexpectedEOF when
// the connection ends before it.
func (b *directBody) readLength(p []byte) (int, error) {
	if b.remaining == 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > b.remaining {
		p = p[:b.remaining]
	}
	n, err := b.c.br.Read(p)
	b.remaining -= int64(n)
	switch {
	case b.remaining == 0:
		return n, io.EOF
	case err == io.EOF:
		return n, io.ErrUnexpectedEOF
	}
	return n, err
}

func (b *directBody) Close() error {
	b.finish(false)
	return nil
}

func (b *directBody) finish(complete bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.done {
		return
	}
	b.done = true
	if complete {
		b.c.release(b.res)
		return
	}
	b.c.unwatch()
	_ = b.c.conn.Close()
}

// limitedReader fails reads once n bytes have been read, while n is not
// negative: it bounds the response head the way http.Transport's
// MaxResponseHeaderBytes does. read counts the bytes of the current
// response head.
type limitedReader struct {
	r    io.Reader
	n    int64
	read int64
}

var errHeadTooLarge = fmt.Errorf("backend response headers exceed %d bytes", maxResponseHeaderBytes)

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.n == 0 {
		return 0, errHeadTooLarge
	}
	if l.n > 0 && int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	if l.n > 0 {
		l.n -= int64(n)
		l.read += int64(n)
	}
	return n, err
}

// checkHeader refuses to send a header http.Transport would refuse: a name
// that is not an RFC 9110 token, or a value with a control character
// other than tab. Request.Write only turns line breaks in values into
// spaces; refusing is what keeps a value from ever splitting the request,
// whatever put it there.
func checkHeader(h http.Header) error {
	for name, values := range h {
		if !httphead.IsToken(name) {
			return fmt.Errorf("invalid header field name %q", name)
		}
		for _, v := range values {
			if !httphead.ValidValue(v) {
				return fmt.Errorf("invalid header field value for %q", name)
			}
		}
	}
	return nil
}
