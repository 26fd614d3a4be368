package dataplane

import (
	"bufio"
	"encoding/json"
	"net"
	"net/http"
	"strconv"
)

// Bodies of the answers the gateway gives itself: RFC 9457 problem
// details with type "about:blank", so the title is the status's reason
// phrase and a client needs no certgate-specific knowledge to read them.
// The detail says nothing about configuration: in particular a 403 never
// tells which check failed or which certificates would pass.
var answers = map[int][]byte{
	http.StatusBadRequest:          problem(http.StatusBadRequest, "The gateway could not read the request."),
	http.StatusForbidden:           problem(http.StatusForbidden, "The gateway does not allow this request."),
	http.StatusNotFound:            problem(http.StatusNotFound, "No route of the gateway matches this request."),
	http.StatusMethodNotAllowed:    problem(http.StatusMethodNotAllowed, "The gateway does not forward this method."),
	http.StatusRequestTimeout:      problem(http.StatusRequestTimeout, "The request body stopped arriving."),
	http.StatusMisdirectedRequest:  problem(http.StatusMisdirectedRequest, "This connection does not serve the requested host; open a new connection to it."),
	http.StatusInternalServerError: problem(http.StatusInternalServerError, "The matched route has no valid backend."),
	http.StatusBadGateway:          problem(http.StatusBadGateway, "The gateway got no valid response from the backend."),
	http.StatusServiceUnavailable:  problem(http.StatusServiceUnavailable, "No backend endpoint is available."),
	http.StatusGatewayTimeout:      problem(http.StatusGatewayTimeout, "The backend did not answer in time."),
}

// problemDetails is the RFC 9457 document, members in the RFC's order.
type problemDetails struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
}

// problem renders the body of one answer, newline-terminated.
func problem(code int, detail string) []byte {
	body, err := json.Marshal(problemDetails{Type: "about:blank", Title: http.StatusText(code), Status: code, Detail: detail})
	if err != nil {
		panic(err) // four strings and an int always marshal
	}
	return append(body, '\n')
}

// problemJSON is the media type of the gateway's own answers (RFC 9457).
// It is deliberately not application/json: a client must be able to tell
// an answer of the gateway from a backend's JSON by its headers alone,
// including when there is no body to look at (a HEAD request).
const problemJSON = "application/problem+json"

// answer writes one of the gateway's own small JSON responses, or its gRPC
// form to a gRPC call (answerGRPC).
func answer(w http.ResponseWriter, code int) {
	if sw, ok := w.(*statusWriter); ok && sw.grpc {
		answerGRPC(sw, code)
		return
	}
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
	// grpc is set for a gRPC call: the gateway's own answers take the
	// gRPC form.
	grpc bool
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
