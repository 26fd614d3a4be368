package dataplane

import (
	"bufio"
	"net"
	"net/http"
	"strconv"
)

// Bodies of the answers the gateway gives itself, RFC 9457 problem
// details ("status" is the standard member, "message" an extension). They
// say nothing about configuration: in particular a 403 never tells which
// check failed or which certificates would pass.
var answers = map[int][]byte{
	http.StatusBadRequest:          []byte(`{"status":400,"message":"bad request"}` + "\n"),
	http.StatusForbidden:           []byte(`{"status":403,"message":"forbidden"}` + "\n"),
	http.StatusNotFound:            []byte(`{"status":404,"message":"no route"}` + "\n"),
	http.StatusMethodNotAllowed:    []byte(`{"status":405,"message":"method not allowed"}` + "\n"),
	http.StatusRequestTimeout:      []byte(`{"status":408,"message":"request body timed out"}` + "\n"),
	http.StatusMisdirectedRequest:  []byte(`{"status":421,"message":"misdirected request"}` + "\n"),
	http.StatusInternalServerError: []byte(`{"status":500,"message":"no valid backend"}` + "\n"),
	http.StatusBadGateway:          []byte(`{"status":502,"message":"bad gateway"}` + "\n"),
	http.StatusServiceUnavailable:  []byte(`{"status":503,"message":"no endpoints available"}` + "\n"),
	http.StatusGatewayTimeout:      []byte(`{"status":504,"message":"upstream timed out"}` + "\n"),
}

// problemJSON is the media type of the gateway's own answers (RFC 9457).
// It is deliberately not application/json: a client must be able to tell
// an answer of the gateway from a backend's JSON by its headers alone,
// including when there is no body to look at (a HEAD request).
const problemJSON = "application/problem+json"

// answer writes one of the gateway's own small JSON responses.
func answer(w http.ResponseWriter, code int) {
	body := answers[code]
	h := w.Header()
	h.Set("Content-Type", problemJSON)
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(code)
	_, _ = w.Write(body)
}

// statusWriter records the status and body size of a response for metrics
// and the access log. Unwrap lets http.ResponseController reach the
// underlying writer for Flush, Hijack (WebSocket upgrades) and deadlines.
type statusWriter struct {
	http.ResponseWriter
	code  int
	bytes int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 && code >= 200 || code == http.StatusSwitchingProtocols {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// Flush is called by httputil.ReverseProxy for streaming responses.
func (w *statusWriter) Flush() {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	http.NewResponseController(w.ResponseWriter).Flush() //nolint:errcheck // nothing to do about a client gone
}

// Hijack hands the connection to a WebSocket tunnel.
func (w *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return http.NewResponseController(w.ResponseWriter).Hijack()
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// status is the code sent, or 200 for a handler that wrote nothing.
func (w *statusWriter) status() int {
	if w.code == 0 {
		return http.StatusOK
	}
	return w.code
}
