package dataplane

import (
	"net/http"
	"strings"

	"golang.org/x/net/http/httpguts"
)

// allowedMethods is the Allow header of the 405 answer to TRACE: the
// methods the gateway forwards. A route may still refuse some of them.
const allowedMethods = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"

// screen applies the gateway's own protocol rules, before any routing.
// It answers the requests the gateway takes on no route and reports
// whether it did.
func screen(w http.ResponseWriter, r *http.Request) bool {
	chunked := r.ProtoMajor == 1 && len(r.TransferEncoding) > 0
	if chunked {
		closeAfterChunked(w)
	}
	switch {
	case chunked && sentWithLength(r):
		// RFC 9112 section 6.1: Content-Length and Transfer-Encoding
		// together may be a smuggling attempt; refused, and the
		// connection is closed.
		answer(w, http.StatusBadRequest)
	case r.Method == http.MethodTrace:
		// TRACE echoes the request back to the client as the backend
		// received it: with the identity and forwarding headers the
		// gateway adds, which are for the backend only.
		w.Header().Set("Allow", allowedMethods)
		answer(w, http.StatusMethodNotAllowed)
	case r.Host == "" && r.ProtoAtLeast(1, 1):
		// RFC 9112 section 3.2: a request without a host is answered 400.
		// net/http lets an empty Host through; forwarded, the backend
		// would receive its own address as the Host.
		answer(w, http.StatusBadRequest)
	default:
		return false
	}
	return true
}

// closeAfterChunked closes the connection after answering a chunked
// HTTP/1 request. RFC 9112 section 6.1: a request with both
// Transfer-Encoding and Content-Length may be an attempt at request
// smuggling, and the server must close the connection after answering it.
// net/http removes the Content-Length of a chunked request before the
// handler sees it, and on a TLS connection nothing below the handler can
// read the plaintext header, so the gateway cannot tell the two apart:
// every chunked request closes its connection. Whatever a front end framed
// differently after the chunked body is then never read as a request.
// Where the gateway can tell (plaintext connections, see framingConn), the
// request is refused with 400 as well.
func closeAfterChunked(w http.ResponseWriter) {
	w.Header().Set("Connection", "close")
}

// keepWebSocketUpgrade leaves the request's Upgrade header only when it
// offers WebSocket, the one protocol the gateway tunnels, and reports
// whether the request asks for a WebSocket tunnel.
//
// Other offers, "h2c" above all, are removed rather than refused: Upgrade
// is hop-by-hop and a server may ignore it (RFC 9110 section 7.8), so a
// client that offered h2c on the side carries on over HTTP/1.1. Forwarded,
// a backend that accepted one would get a raw tunnel through the gateway,
// and every request sent through it would skip routing and the client
// certificate check.
func keepWebSocketUpgrade(h http.Header) bool {
	delete(h, "Http2-Settings")
	offers, ok := h["Upgrade"]
	if !ok {
		return false
	}
	if !offersWebSocket(offers) {
		delete(h, "Upgrade")
		return false
	}
	// Only WebSocket is offered upstream, so the backend cannot pick
	// another protocol from the list.
	h["Upgrade"] = []string{"websocket"}
	return httpguts.HeaderValuesContainsToken(h["Connection"], "upgrade")
}

func offersWebSocket(offers []string) bool {
	for _, line := range offers {
		for offer := range strings.SplitSeq(line, ",") {
			name, _, _ := strings.Cut(strings.TrimSpace(offer), "/")
			if strings.EqualFold(name, "websocket") {
				return true
			}
		}
	}
	return false
}
