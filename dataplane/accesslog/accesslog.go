// Package accesslog writes one structured JSON line per request, in the
// format of log/slog's JSON handler (the library certgate logs everything
// else with), built by hand because the handler's generic path cost more
// per request than routing it.
package accesslog

import (
	"crypto/rand"
	"crypto/tls"
	"io"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Entry is what is known of one request when its response is done.
type Entry struct {
	// RequestID identifies the request in the log and, as X-Request-Id,
	// at the backend.
	RequestID string
	// Client is the address of the peer of the connection, ip:port.
	Client string
	// Protocol is the HTTP version, for example "HTTP/2.0".
	Protocol string
	// TLSVersion is the negotiated TLS version, for example "TLS 1.3";
	// empty on a plain HTTP listener.
	TLSVersion string
	Gateway    string
	// Route is "namespace/name"; empty when no route matched.
	Route    string
	Rule     string
	Method   string
	Host     string
	Path     string
	Status   int
	Duration time.Duration
	// Bytes is the size of the response body sent to the client.
	Bytes int64
	// Upstream is the endpoint address the request was sent to, if any.
	Upstream string
	// ClientCertSHA256 is the hex SHA-256 of the client certificate a
	// requirement judged: set only on rules with a requirement, so a
	// certificate offered to a route that asks for none is not recorded.
	ClientCertSHA256 string
	// Rejection is why a client certificate requirement rejected (or in
	// audit mode would have rejected) the request.
	Rejection string
}

// requestIDPrefix is drawn once per process; request ids are it and a
// counter. Unique across replicas and restarts without reading the system's
// randomness on every request, which a per-request crypto/rand id did.
var (
	requestIDPrefix = rand.Text()[:16]
	requestIDSeq    atomic.Uint64
)

// NewRequestID returns an id no other request of any certgate process
// has: the process's random prefix, "-", and a sequence number in hex.
func NewRequestID() string {
	return requestIDPrefix + "-" + strconv.FormatUint(requestIDSeq.Add(1), 16)
}

// RequestIDHeader carries the request id to the backend.
const RequestIDHeader = "X-Request-Id"

// Begin starts the entry of a request with what the request itself says
// and a new request id. The id is always certgate's own: an incoming
// X-Request-Id is client-controlled, and a chosen one could collide with
// another request's in the log.
func Begin(r *http.Request) Entry {
	e := Entry{
		RequestID: NewRequestID(), Client: r.RemoteAddr, Protocol: r.Proto,
		Method: r.Method, Host: r.Host, Path: r.URL.EscapedPath(),
	}
	if r.TLS != nil {
		e.TLSVersion = tls.VersionName(r.TLS.Version)
	}
	return e
}

// Logger writes entries. A nil *Logger discards them.
type Logger struct {
	// mu makes each line one Write, whole, in the order lines were made.
	mu sync.Mutex
	w  io.Writer
	// flush writes out a buffered Logger's lines; nil when unbuffered.
	flush func()
}

// New writes JSON lines to w.
func New(w io.Writer) *Logger {
	return &Logger{w: w}
}

// lines lends the buffers lines are built in.
var lines = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// Log writes one entry as one line. Empty optional fields are left out.
func (l *Logger) Log(e *Entry) {
	if l == nil {
		return
	}
	bp := lines.Get().(*[]byte)
	line := appendLine((*bp)[:0], e, time.Now())
	l.mu.Lock()
	_, _ = l.w.Write(line)
	l.mu.Unlock()
	*bp = line
	lines.Put(bp)
}
