package httphead

import (
	"net/http"
	"strings"
)

// Response parses head, a whole response head through its empty line,
// when it is a final response (status 200 to 599) over HTTP/1.1 whose
// body, if it has one, is framed by exactly one Content-Length, with no
// Transfer-Encoding and no Connection field but keep-alive: the responses
// a keep-alive backend sends most. It returns nil for any other head,
// informational and switching responses included.
//
// The response is the one net/http's ReadResponse returns for the same
// bytes and req, but for its body. A response without one (to a HEAD
// request, a 204 or 304, a Content-Length of 0) has http.NoBody; on any
// other the Body is nil, for the caller to read exactly ContentLength
// bytes after the head.
func Response(head []byte, req *http.Request) *http.Response {
	var status string
	var code int
	h, ok := read(head, func(line string) (ok bool) {
		status, code, ok = statusLine(line)
		return ok
	})
	if !ok {
		return nil
	}
	length, ok := contentLength(h)
	if closes, keeps := connectionOptions(h["Connection"]); !ok || !keeps || closes {
		return nil
	}
	if _, chunked := h["Transfer-Encoding"]; chunked {
		return nil
	}
	fixPragma(h)
	res := &http.Response{
		Status:        status,
		StatusCode:    code,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        h,
		Request:       req,
		ContentLength: length,
	}
	switch {
	case req != nil && req.Method == http.MethodHead:
		res.Body = http.NoBody // ContentLength is the field's, or -1
	case code == http.StatusNoContent || code == http.StatusNotModified:
		res.Body, res.ContentLength = http.NoBody, 0
	case length < 0:
		return nil // the body runs to the end of the connection
	case length == 0:
		res.Body = http.NoBody
	}
	return res
}

// statusLine splits an HTTP/1.1 status line of a final response.
func statusLine(line string) (status string, code int, ok bool) {
	const version = "HTTP/1.1 "
	if !strings.HasPrefix(line, version) || len(line) < len(version)+3 {
		return "", 0, false
	}
	status = line[len(version):]
	if len(status) > 3 && status[3] != ' ' {
		return "", 0, false
	}
	for i := range 3 {
		c := status[i]
		if c < '0' || c > '9' {
			return "", 0, false
		}
		code = code*10 + int(c-'0')
	}
	return status, code, code >= 200 && code < 600
}

// contentLength is the one Content-Length of h, -1 without one. More than
// one field, or a value that is not a plain decimal, is declined.
func contentLength(h http.Header) (int64, bool) {
	values, ok := h["Content-Length"]
	if !ok {
		return -1, true
	}
	if len(values) != 1 || values[0] == "" || len(values[0]) > 18 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(values[0]); i++ {
		c := values[0][i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}
