package dataplane

import (
	"net/http"
	"strconv"
	"strings"
)

// gRPC status codes of the answers the gateway gives itself
// (https://grpc.github.io/grpc/core/md_doc_statuscodes.html).
const (
	grpcUnknown          = 2
	grpcDeadlineExceeded = 4
	grpcPermissionDenied = 7
	grpcUnimplemented    = 12
	grpcInternal         = 13
	grpcUnavailable      = 14
)

// grpcAnswers maps the status the gateway decided to the gRPC status a
// gRPC client gets instead, with its message. The mapping follows gRPC's
// own HTTP-to-gRPC table, except that the gateway knows more than a
// status: a timeout is DEADLINE_EXCEEDED, and a rule with no usable
// backend (500) is UNAVAILABLE like one with no endpoint, since to the
// client both mean nobody can serve the call now. Like the problem
// details, the messages say nothing about configuration.
var grpcAnswers = map[int]struct {
	code    int
	message string
}{
	http.StatusBadRequest:          {grpcInternal, "the gateway could not read the request"},
	http.StatusForbidden:           {grpcPermissionDenied, "the gateway does not allow this call"},
	http.StatusNotFound:            {grpcUnimplemented, "no route of the gateway matches this call"},
	http.StatusMethodNotAllowed:    {grpcUnimplemented, "the gateway does not forward this method"},
	http.StatusRequestTimeout:      {grpcDeadlineExceeded, "the request stopped arriving"},
	http.StatusMisdirectedRequest:  {grpcUnavailable, "this connection does not serve the requested host"},
	http.StatusInternalServerError: {grpcUnavailable, "the matched route has no valid backend"},
	http.StatusBadGateway:          {grpcUnavailable, "the gateway got no valid response from the backend"},
	http.StatusServiceUnavailable:  {grpcUnavailable, "no backend endpoint is available"},
	http.StatusGatewayTimeout:      {grpcDeadlineExceeded, "the backend did not answer in time"},
}

// isGRPC reports whether r is a gRPC call: HTTP/2 with a gRPC content
// type. gRPC-Web ("application/grpc-web") is not: its clients read
// answers in their own framing.
func isGRPC(r *http.Request) bool {
	return r.ProtoMajor == 2 && isGRPCContentType(r.Header.Get("Content-Type"))
}

func isGRPCContentType(ct string) bool {
	rest, ok := strings.CutPrefix(ct, "application/grpc")
	return ok && (rest == "" || rest[0] == '+' || rest[0] == ';')
}

// grpcCodeNames are the names of the codes in grpcAnswers, as gRPC
// spells them.
var grpcCodeNames = map[int]string{
	grpcUnknown: "UNKNOWN", grpcDeadlineExceeded: "DEADLINE_EXCEEDED", grpcPermissionDenied: "PERMISSION_DENIED",
	grpcUnimplemented: "UNIMPLEMENTED", grpcInternal: "INTERNAL", grpcUnavailable: "UNAVAILABLE",
}

// GRPCStatus is the gRPC status a gRPC client gets when the gateway
// answers its call itself.
type GRPCStatus struct {
	Code int    `json:"code"`
	Name string `json:"name"`
}

// explainGRPC sets the gRPC form of a decision the gateway answers itself
// with one of its own answers, when the request is a gRPC call. Explain's
// requests have no protocol version, so the Content-Type alone decides.
func explainGRPC(dec *Decision, r *http.Request) {
	a, ok := grpcAnswers[dec.Status]
	if ok && isGRPCContentType(r.Header.Get("Content-Type")) {
		dec.GRPCStatus = &GRPCStatus{Code: a.code, Name: grpcCodeNames[a.code]}
	}
}

// answerGRPC answers a gRPC call the way gRPC clients understand: HTTP 200
// and a trailers-only response, grpc-status and grpc-message in the only
// HEADERS frame. A gRPC client reads a non-200 status as a transport
// problem and hides the gateway's reason behind UNKNOWN or UNAVAILABLE.
// The writer still records code, the gateway's decision, so metrics and
// the access log count a refused call as 403 whichever way it was told.
func answerGRPC(w *statusWriter, code int) {
	a, ok := grpcAnswers[code]
	if !ok {
		a.code, a.message = grpcUnknown, http.StatusText(code)
	}
	h := w.Header()
	h.Del("Content-Length")
	h.Set("Content-Type", "application/grpc")
	h.Set("Grpc-Status", strconv.Itoa(a.code))
	// The messages are plain ASCII without "%", so they need none of the
	// percent-encoding grpc-message otherwise calls for.
	h.Set("Grpc-Message", a.message)
	w.code = code
	w.ResponseWriter.WriteHeader(http.StatusOK)
}
