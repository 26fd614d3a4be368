package dataplane

import (
	"bytes"
	"net"
	"net/http"
	"strconv"
	"sync"
)

// framingConn follows the HTTP/1 request framing of a plaintext
// connection as the server reads it, for the one thing net/http hides
// from handlers: whether a chunked request also carried Content-Length
// (net/http deletes it). RFC 9112 section 6.1 calls such a request a
// likely smuggling attempt. Only header lines and chunk-size lines are
// scanned; bodies are skipped by their length.
//
// TLS connections cannot be followed: net/http needs the *tls.Conn itself,
// and below it the bytes are encrypted. There, and on a connection whose
// framing was lost (an upgrade, HTTP/2, anything unexpected), chunked
// requests only close their connection (closeAfterChunked).
type framingConn struct {
	net.Conn
	mu sync.Mutex
	f  framing
}

type framingKey struct{}

func (c *framingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.mu.Lock()
		c.f.scan(p[:n])
		c.mu.Unlock()
	}
	return n, err
}

// CloseWrite keeps net/http's graceful close of TCP connections.
func (c *framingConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// sentWithLength reports whether the chunked request r was sent with a
// Content-Length too. Chunked heads are queued in the order they were
// read; heads net/http answered without the handler are skipped by their
// request line.
func sentWithLength(r *http.Request) bool {
	c, ok := r.Context().Value(framingKey{}).(*framingConn)
	if !ok {
		return false
	}
	line := r.Method + " " + r.RequestURI + " " + r.Proto
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(c.f.chunked) > 0 {
		h := c.f.chunked[0]
		c.f.chunked = c.f.chunked[1:]
		if h.requestLine == line {
			return h.withLength
		}
	}
	return false
}

type phase uint8

const (
	inHead phase = iota
	inBody
	inChunkSize
	inChunkData
	inChunkEnd
	inTrailer
	// lost: the bytes are no longer HTTP/1 requests the scan can follow.
	lost
)

// maxQueuedChunked bounds the chunked heads read ahead of their handlers.
const maxQueuedChunked = 16

// framing is the scan state of one connection.
type framing struct {
	phase  phase
	line   []byte
	remain int64
	head   requestHead
	// requestLine is the current head's request line, once started is
	// set; it becomes a string only for a chunked request, the one kind
	// sentWithLength asks about.
	requestLine []byte
	started     bool
	// chunked are the heads of chunked requests not yet asked about.
	chunked []requestHead
}

// requestHead is what the scan notes of one request's header section.
type requestHead struct {
	requestLine                 string
	http10, withLength, isChunk bool
	upgrade, badLength          bool
	contentLength               int64
}

func (f *framing) scan(p []byte) {
	for len(p) > 0 && f.phase != lost {
		if f.phase == inBody || f.phase == inChunkData {
			n := min(int64(len(p)), f.remain)
			f.remain -= n
			p = p[n:]
			if f.remain == 0 && f.phase == inBody {
				f.phase = inHead
			} else if f.remain == 0 {
				f.phase = inChunkEnd
			}
			continue
		}
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			f.appendLine(p)
			return
		}
		f.appendLine(p[:i])
		p = p[i+1:]
		// The line stays bytes: a string per header line was most of
		// the scan's cost, and only a request line is kept.
		line := bytes.TrimSuffix(f.line, []byte("\r"))
		f.endLine(line)
		f.line = f.line[:0]
	}
}

func (f *framing) appendLine(p []byte) {
	if len(f.line)+len(p) > maxHeaderBytes {
		f.phase = lost
		return
	}
	f.line = append(f.line, p...)
}

func (f *framing) endLine(line []byte) {
	switch f.phase {
	case inHead:
		f.headLine(line)
	case inChunkSize:
		size, _, _ := bytes.Cut(line, []byte(";"))
		n, err := strconv.ParseInt(string(bytes.TrimSpace(size)), 16, 64)
		switch {
		case err != nil || n < 0:
			f.phase = lost
		case n == 0:
			f.phase = inTrailer
		default:
			f.phase, f.remain = inChunkData, n
		}
	case inChunkEnd:
		f.phase = inChunkSize
		if len(line) != 0 {
			f.phase = lost
		}
	case inTrailer:
		if len(line) == 0 {
			f.phase = inHead
		}
	}
}

func (f *framing) headLine(line []byte) {
	h := &f.head
	switch {
	case !f.started && len(line) == 0:
		// Empty lines before a request line are ignored (RFC 9112 section 2.2).
	case !f.started:
		f.started, h.http10 = true, bytes.HasSuffix(line, []byte(" HTTP/1.0"))
		f.requestLine = append(f.requestLine[:0], line...)
		if bytes.HasPrefix(line, []byte("PRI * HTTP/2")) {
			f.phase = lost
		}
	case len(line) == 0:
		f.endHead()
	case line[0] == ' ' || line[0] == '\t':
		// A folded continuation of the previous field's value.
	default:
		h.field(line)
	}
}

func (h *requestHead) field(line []byte) {
	name, value, _ := bytes.Cut(line, []byte(":"))
	switch {
	case isField(name, "content-length"):
		n, err := strconv.ParseInt(string(bytes.TrimSpace(value)), 10, 64)
		h.withLength, h.contentLength, h.badLength = true, n, h.badLength || err != nil
	case isField(name, "transfer-encoding"):
		h.isChunk = true
	case isField(name, "upgrade"):
		h.upgrade = true
	}
}

// endHead decides how the request's body is framed, as net/http does:
// Transfer-Encoding over Content-Length, and no Transfer-Encoding in
// HTTP/1.0.
func (f *framing) endHead() {
	h := f.head
	f.head, f.started = requestHead{}, false
	chunked := h.isChunk && !h.http10
	if chunked {
		h.requestLine = string(f.requestLine)
		f.chunked = append(f.chunked, h)
	}
	switch {
	case h.upgrade || len(f.chunked) > maxQueuedChunked || !chunked && h.badLength:
		// An upgraded connection carries another protocol.
		f.phase = lost
	case chunked:
		f.phase = inChunkSize
	case h.withLength && h.contentLength > 0:
		f.phase, f.remain = inBody, h.contentLength
	}
}

// isField reports whether name is the field name lower, ignoring ASCII
// case only, as field names are compared (RFC 9110 section 5.1): no other
// character stands for a letter of a name.
func isField(name []byte, lower string) bool {
	if len(name) != len(lower) {
		return false
	}
	for i, c := range name {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}
