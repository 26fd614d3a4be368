package httphead

import (
	"net/http"
	"net/url"
	"strings"

	"golang.org/x/net/http/httpguts"
)

// Request parses head, a whole request head through its empty line, into
// r when it is one certgate's connection loop carries: GET, HEAD or
// OPTIONS in origin form over HTTP/1.1, with exactly one Host field of
// valid syntax, no field that frames a body (Content-Length,
// Transfer-Encoding), asks for an upgrade or states an expectation
// (Upgrade, Expect), and no Connection option but keep-alive and close.
// It reports whether it took the head; r is left as it was when it did
// not. A request that asks to close has Close set, as net/http sets it.
//
// r becomes the request net/http's server hands its handler for the same
// bytes, the Host field taken out of Header into Host, without what is
// the caller's: the context, the remote address, the TLS state. Filling
// the caller's r rather than allocating one lets the loop keep one per
// connection and make the handler's with WithContext, one allocation.
func Request(head []byte, r *http.Request) bool {
	var method, target string
	h, ok := read(head, func(line string) (ok bool) {
		method, target, ok = requestLine(line)
		return ok
	})
	if !ok || !carried(h) {
		return false
	}
	closes, ok := connectionOptions(h["Connection"])
	if !ok {
		return false
	}
	u, err := url.ParseRequestURI(target)
	if err != nil {
		return false
	}
	host := h["Host"][0]
	delete(h, "Host")
	fixPragma(h)
	*r = http.Request{
		Method:     method,
		URL:        u,
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     h,
		Body:       http.NoBody,
		Host:       host,
		RequestURI: target,
		Close:      closes,
	}
	return true
}

// requestLine splits a request line of a carried method, an origin-form
// target and HTTP/1.1.
func requestLine(line string) (method, target string, ok bool) {
	switch {
	case strings.HasPrefix(line, "GET "):
		method = http.MethodGet
	case strings.HasPrefix(line, "HEAD "):
		method = http.MethodHead
	case strings.HasPrefix(line, "OPTIONS "):
		method = http.MethodOptions
	default:
		return "", "", false
	}
	rest := line[len(method)+1:]
	target, proto, ok := strings.Cut(rest, " ")
	if !ok || proto != "HTTP/1.1" || !strings.HasPrefix(target, "/") {
		return "", "", false
	}
	return method, target, true
}

// carried reports whether a request with header h is one the loop
// carries (see Request), its Connection field aside.
func carried(h http.Header) bool {
	if hosts := h["Host"]; len(hosts) != 1 || !httpguts.ValidHostHeader(hosts[0]) {
		return false
	}
	for _, name := range [...]string{"Content-Length", "Transfer-Encoding", "Upgrade", "Expect"} {
		if _, ok := h[name]; ok {
			return false
		}
	}
	return true
}
