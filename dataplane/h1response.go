package dataplane

import (
	"bytes"
	"fmt"
	"maps"
	"net/http"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/http/httpguts"
)

// h1Response is the http.ResponseWriter of the connection loop. It frames
// responses as net/http's server does: the header is sent with the first
// 2 KB of body or when the handler returns, whichever comes first, so a
// short body gets a Content-Length and a longer one of unknown length is
// chunked; Date is added, Content-Type sniffed when the handler set none;
// a body longer than its Content-Length is refused and a shorter one
// closes the connection; trailers follow a chunked body. The header is
// the one the handler had when it called WriteHeader: fields set later are
// trailers or nothing.
type h1Response struct {
	c   *h1Conn
	req *http.Request
	// header is the handler's header; cleared for every response.
	header http.Header

	status      int
	wroteHeader bool
	committed   bool
	head        bool
	// declared is the Content-Length of the response, -1 for none.
	declared int64
	written  int64
	chunking bool
	// closeAfter: the connection ends with this response, which says so.
	closeAfter bool
	// wantsClose: the request asked for the connection to end after it.
	wantsClose bool
	err        error

	// held is the body held until the header is sent.
	held []byte
	// fields is the handler's header as it was at WriteHeader, written
	// out, without the fields the framing decides.
	fields                        bytes.Buffer
	hasType, hasEncoding, hasDate bool
	transferEncoding              string
	trailers                      bool
	declaredTrailers              []string
	scratch                       [20]byte
}

func (w *h1Response) reset(r *http.Request) {
	if w.header == nil {
		w.header = http.Header{}
	} else {
		clear(w.header)
	}
	w.req, w.head, w.wantsClose = r, r.Method == http.MethodHead, r.Close
	w.status, w.wroteHeader, w.committed = 0, false, false
	w.declared, w.written, w.chunking, w.closeAfter, w.err = -1, 0, false, false, nil
	w.held = w.held[:0]
	w.fields.Reset()
	w.hasType, w.hasEncoding, w.hasDate, w.transferEncoding = false, false, false, ""
	w.trailers, w.declaredTrailers = false, w.declaredTrailers[:0]
}

func (w *h1Response) Header() http.Header { return w.header }

// framingFields are written by the response itself, never as the handler
// set them.
var (
	framingFields    = map[string]bool{"Content-Length": true, "Transfer-Encoding": true, "Connection": true}
	framingFields304 = map[string]bool{"Content-Length": true, "Transfer-Encoding": true, "Connection": true, "Content-Type": true}
	noBodyFields     = map[string]bool{"Content-Length": true, "Transfer-Encoding": true}
)

func (w *h1Response) WriteHeader(code int) {
	if w.wroteHeader {
		return
	}
	if code < 100 || code > 999 {
		panic(fmt.Sprintf("invalid WriteHeader code %v", code))
	}
	bw := w.c.bw
	if code >= 100 && code <= 199 && code != http.StatusSwitchingProtocols {
		writeStatusLine(bw, code, w.scratch[:])
		_ = w.header.WriteSubset(bw, noBodyFields)
		_, _ = bw.WriteString("\r\n")
		if err := bw.Flush(); err != nil {
			w.err = err
		}
		return
	}
	w.wroteHeader, w.status = true, code
	h := w.header
	if cl := h["Content-Length"]; len(cl) > 0 {
		if v, err := strconv.ParseInt(cl[0], 10, 64); err == nil && v >= 0 {
			w.declared = v
		}
	}
	w.closeAfter = w.wantsClose || httpguts.HeaderValuesContainsToken(h["Connection"], "close")
	_, w.hasType = h["Content-Type"]
	_, w.hasDate = h["Date"]
	// The names are canonical: indexing spares Get canonicalizing them.
	w.hasEncoding = firstValue(h, "Content-Encoding") != ""
	w.transferEncoding = firstValue(h, "Transfer-Encoding")
	for _, v := range h["Trailer"] {
		w.trailers = true
		for name := range strings.SplitSeq(v, ",") {
			name = http.CanonicalHeaderKey(strings.TrimSpace(name))
			if name != "" && httpguts.ValidTrailerHeader(name) {
				w.declaredTrailers = append(w.declaredTrailers, name)
			}
		}
	}
	exclude := framingFields
	if code == http.StatusNotModified {
		exclude = framingFields304
	}
	for name := range h {
		if strings.HasPrefix(name, http.TrailerPrefix) {
			if !w.trailers {
				exclude = maps.Clone(exclude)
			}
			w.trailers = true
			exclude[name] = true
		}
	}
	_ = h.WriteSubset(&w.fields, exclude)
}

func (w *h1Response) Write(p []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if w.err != nil {
		return 0, w.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	if !bodyAllowedForStatus(w.status) {
		return 0, http.ErrBodyNotAllowed
	}
	if w.declared >= 0 && w.written+int64(len(p)) > w.declared {
		return 0, http.ErrContentLength
	}
	w.written += int64(len(p))
	if !w.committed {
		if len(w.held)+len(p) <= h1BufferBody {
			w.held = append(w.held, p...)
			return len(p), nil
		}
		if len(w.held) > 0 {
			w.sendHeld(false)
		} else {
			w.commit(p, false)
		}
	}
	w.body(p)
	if w.err != nil {
		return 0, w.err
	}
	return len(p), nil
}

// Flush sends the header and what the body has so far.
func (w *h1Response) Flush() { _ = w.FlushError() }

// FlushError is what http.ResponseController's Flush calls.
func (w *h1Response) FlushError() error {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if !w.committed {
		w.sendHeld(false)
	}
	if w.err == nil {
		w.err = w.c.bw.Flush()
	}
	return w.err
}

// sendHeld sends the header with the body held so far; done says
// whether that is all of it.
func (w *h1Response) sendHeld(done bool) {
	w.commit(w.held, done)
	w.body(w.held)
	w.held = w.held[:0]
}

// commit writes the status line and header. first is the start of the
// body; done says whether it is all of it.
func (w *h1Response) commit(first []byte, done bool) {
	w.committed = true
	bodyAllowed := bodyAllowedForStatus(w.status)
	te := w.transferEncoding
	if done && !w.trailers && te == "" && bodyAllowed && w.declared < 0 && (!w.head || len(first) > 0) {
		w.declared = int64(len(first))
	}
	if w.declared >= 0 && te != "" && te != "identity" {
		w.declared = -1
	}
	switch {
	case w.head || !bodyAllowed:
	case w.declared >= 0:
	case te == "identity":
		w.closeAfter = true
	default:
		w.chunking = true
	}
	bw := w.c.bw
	writeStatusLine(bw, w.status, w.scratch[:])
	_, _ = bw.Write(w.fields.Bytes())
	if !w.hasDate {
		_, _ = bw.WriteString("Date: ")
		_, _ = bw.Write(w.c.date.at(time.Now()))
		_, _ = bw.WriteString("\r\n")
	}
	if w.declared >= 0 && bodyAllowed {
		_, _ = bw.WriteString("Content-Length: ")
		_, _ = bw.Write(strconv.AppendInt(w.scratch[:0], w.declared, 10))
		_, _ = bw.WriteString("\r\n")
	}
	if bodyAllowed && !w.hasEncoding && !w.hasType && te == "" && len(first) > 0 {
		_, _ = bw.WriteString("Content-Type: ")
		_, _ = bw.WriteString(http.DetectContentType(first))
		_, _ = bw.WriteString("\r\n")
	}
	if w.closeAfter {
		_, _ = bw.WriteString("Connection: close\r\n")
	}
	if w.chunking {
		_, _ = bw.WriteString("Transfer-Encoding: chunked\r\n")
	}
	_, _ = bw.WriteString("\r\n")
}

// body writes p, chunked if the response is.
func (w *h1Response) body(p []byte) {
	if w.head || len(p) == 0 || w.err != nil {
		return
	}
	bw := w.c.bw
	if w.chunking {
		_, _ = bw.Write(strconv.AppendInt(w.scratch[:0], int64(len(p)), 16))
		_, _ = bw.WriteString("\r\n")
	}
	if _, err := bw.Write(p); err != nil {
		w.err = err
		return
	}
	if w.chunking {
		_, _ = bw.WriteString("\r\n")
	}
}

// finish ends the response when the handler returns and reports whether
// the connection may carry another request.
func (w *h1Response) finish() bool {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if !w.committed {
		w.sendHeld(true)
	}
	bw := w.c.bw
	if w.chunking {
		_, _ = bw.WriteString("0\r\n")
		if t := w.finalTrailers(); t != nil {
			_ = t.Write(bw)
		}
		_, _ = bw.WriteString("\r\n")
	}
	if !w.head && w.declared >= 0 && bodyAllowedForStatus(w.status) && w.written != w.declared {
		w.closeAfter = true
	}
	if w.err == nil {
		w.err = bw.Flush()
	}
	return w.err == nil && !w.closeAfter
}

// finalTrailers are the trailers the handler set: the declared fields'
// values now, and the fields named with http.TrailerPrefix.
func (w *h1Response) finalTrailers() http.Header {
	if !w.trailers {
		return nil
	}
	var t http.Header
	for name, values := range w.header {
		if after, ok := strings.CutPrefix(name, http.TrailerPrefix); ok {
			if t == nil {
				t = http.Header{}
			}
			t[after] = values
		}
	}
	for _, name := range w.declaredTrailers {
		for _, v := range w.header[name] {
			if t == nil {
				t = http.Header{}
			}
			t.Add(name, v)
		}
	}
	return t
}

func writeStatusLine(bw interface {
	Write([]byte) (int, error)
	WriteString(string) (int, error)
}, code int, scratch []byte) {
	_, _ = bw.WriteString("HTTP/1.1 ")
	_, _ = bw.Write(strconv.AppendInt(scratch[:0], int64(code), 10))
	if text := http.StatusText(code); text != "" {
		_, _ = bw.WriteString(" ")
		_, _ = bw.WriteString(text)
	} else {
		_, _ = bw.WriteString(" status code ")
		_, _ = bw.Write(strconv.AppendInt(scratch[:0], int64(code), 10))
	}
	_, _ = bw.WriteString("\r\n")
}

// bodyAllowedForStatus reports whether a response with status may have a
// body (RFC 9110 sections 15.2, 15.3.5 and 15.4.5).
func bodyAllowedForStatus(status int) bool {
	switch {
	case status >= 100 && status <= 199, status == http.StatusNoContent, status == http.StatusNotModified:
		return false
	}
	return true
}

// firstValue is h's first value of the canonical name, "" without one.
func firstValue(h http.Header, name string) string {
	if v := h[name]; len(v) > 0 {
		return v[0]
	}
	return ""
}
