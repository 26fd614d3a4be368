package upstream

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/textproto"
	"slices"
	"strings"

	"golang.org/x/net/http/httpguts"
)

// Head is a request without a body that the direct path sends as given:
// the proxy decides every header field itself and no *http.Request is
// built for it. Its bytes on the wire are the ones Request.Write produces
// for the same method, target, Host and header
// (TestHeadWritesWhatRequestWriteWrites), and the header is refused on
// the same grounds as http.Transport refuses it.
type Head struct {
	// Request is the client's request. Only its method is read: it is
	// sent, and says whether the response has a body (HEAD).
	Request *http.Request
	// Target is the path of the request-target (origin form) and Query
	// its query, sent after a "?" when it is not empty.
	Target, Query string
	// Host is the Host field; "" sends the endpoint's address, as
	// Request.Write does for a request without a Host.
	Host string
	// Header holds the other fields. Host, User-Agent past its first
	// value, Content-Length, Transfer-Encoding and Trailer are not sent
	// from it: the first is Host's, the others frame a body and a Head
	// has none.
	Header http.Header
	// Informational receives each 1xx response read before the final
	// one; nil drops them.
	Informational Informational

	// addr is the endpoint the Head goes to.
	addr string
}

// Informational receives the 1xx responses of a Head.
type Informational interface {
	Informational(code int, h http.Header) error
}

// Direct reports whether u's backend is one SendDirect can reach: an
// HTTP/1.1 backend, over TLS or not.
func (u *Upstream) Direct() bool {
	_, ok := u.Transport.(*directTransport)
	return ok
}

// Pick returns the endpoint of the next attempt, or ErrNoEndpoints.
func (u *Upstream) Pick() (string, error) {
	addr, ok := u.Endpoints.Pick()
	if !ok {
		return "", fmt.Errorf("upstream %s: %w", u.Name, ErrNoEndpoints)
	}
	return addr, nil
}

// SendDirect sends h to addr, an endpoint of u, which must be Direct, on
// a pooled connection of the direct path, and returns the response, whose
// body returns the connection to the pool once read to its end. ctx
// aborts the exchange, the body included. The request is sent once: a
// connection the backend closed while it sat idle is the only reason to
// send it again, on a new one.
func (u *Upstream) SendDirect(ctx context.Context, addr string, h *Head) (*http.Response, error) {
	if err := checkHeader(h.Header); err != nil {
		return nil, err
	}
	h.addr = addr
	return u.Transport.(*directTransport).send(ctx, addr, h)
}

func (h *Head) request() *http.Request { return h.Request }

func (h *Head) informational(code int, header http.Header) error {
	if h.Informational == nil {
		return nil
	}
	return h.Informational.Informational(code, header)
}

// headExcluded reports whether write leaves the field out of Header's:
// the fields Request.Write leaves out.
func headExcluded(name string) bool {
	switch name {
	case "Host", "User-Agent", "Content-Length", "Transfer-Encoding", "Trailer":
		return true
	}
	return false
}

// write writes the request line and header as Request.Write does for a
// request without a body: Host, then User-Agent, then the other fields
// sorted by name.
func (h *Head) write(w *bufio.Writer) error {
	host, err := h.hostField()
	if err != nil {
		return err
	}
	if hasCTL(h.Target) || hasCTL(h.Query) {
		return errors.New("net/http: can't write control character in Request.URL")
	}
	if h.Query != "" {
		line(w, h.Request.Method, " ", h.Target, "?", h.Query, " HTTP/1.1")
	} else {
		line(w, h.Request.Method, " ", h.Target, " HTTP/1.1")
	}
	line(w, "Host: ", host)
	if ua := h.Header["User-Agent"]; len(ua) > 0 && ua[0] != "" {
		line(w, "User-Agent: ", textproto.TrimString(ua[0]))
	}
	h.writeFields(w)
	_, err = w.WriteString("\r\n")
	return err
}

// writeFields writes the header's fields but the excluded ones, sorted by
// name; values keep their order, without surrounding white space.
func (h *Head) writeFields(w *bufio.Writer) {
	var buf [32]string
	names := buf[:0]
	for name := range h.Header {
		if !headExcluded(name) {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	for _, name := range names {
		for _, v := range h.Header[name] {
			line(w, name, ": ", textproto.TrimString(v))
		}
	}
}

// hostField is the Host field sent: Host, or the endpoint without one,
// in its ASCII form; a value that could not be sent safely is sent empty,
// and the zone of an IPv6 literal is dropped (RFC 6874).
func (h *Head) hostField() (string, error) {
	host := h.Host
	if host == "" {
		host = h.addr
	}
	host, err := httpguts.PunycodeHostPort(host)
	if err != nil {
		return "", err
	}
	if !httpguts.ValidHostHeader(host) {
		return "", nil
	}
	return withoutZone(host), nil
}

// withoutZone removes the zone from an IPv6 literal host: "[fe80::1%en0]:80"
// becomes "[fe80::1]:80".
func withoutZone(host string) string {
	if !strings.HasPrefix(host, "[") {
		return host
	}
	end := strings.LastIndex(host, "]")
	if end < 0 {
		return host
	}
	zone := strings.LastIndex(host[:end], "%")
	if zone < 0 {
		return host
	}
	return host[:zone] + host[end:]
}

// line writes the parts and a line break. Write errors stay in w and come
// back from its Flush.
func line(w *bufio.Writer, parts ...string) {
	for _, p := range parts {
		_, _ = w.WriteString(p)
	}
	_, _ = w.WriteString("\r\n")
}

// hasCTL reports whether s holds an ASCII control character.
func hasCTL(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' || c == 0x7f {
			return true
		}
	}
	return false
}
