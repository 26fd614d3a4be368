// Package httphead parses the heads of the HTTP/1.1 messages the data
// plane sees most: a bodyless GET, HEAD or OPTIONS from a client, and a
// final response framed by Content-Length from a backend. It exists for
// speed: net/http's parsers allocate a string per field value and go
// through a line reader per line, and on a keep-alive connection that is
// a large part of what proxying one request costs. Here a head becomes
// one string, and every name and value is a piece of it.
//
// The parsers here are deliberately narrow. They take a head only when
// it is one they are sure to read exactly as net/http reads it, and they
// decline everything else (a folded line, a bare line feed, a field name
// net/http would change beyond its case, any doubt about framing), so
// that the caller hands the same bytes to net/http's parser. What they
// return for a head they take is what net/http returns for it, field by
// field: the fuzz tests of this package hold them to that.
package httphead

import (
	"net/http"
	"net/textproto"
	"strings"
)

// read parses a whole head: start judges its start line, and the field
// lines are read only for a head it takes.
func read(head []byte, start func(line string) bool) (http.Header, bool) {
	s := string(head)
	eol := indexCRLF(s)
	if eol < 0 || !start(s[:eol]) {
		return nil, false
	}
	return fields(s, eol+2)
}

// connectionOptions reads a Connection field: it takes only the options
// keep-alive and close (ok), and reports whether close is among them.
func connectionOptions(values []string) (closes, ok bool) {
	for _, v := range values {
		for option := range strings.SplitSeq(v, ",") {
			switch option = trimOWS(option); {
			case option == "":
			case strings.EqualFold(option, "close"):
				closes = true
			case !strings.EqualFold(option, "keep-alive"):
				return false, false
			}
		}
	}
	return closes, true
}

// fields parses the field lines of a head, from s[start:] to the empty
// line that ends it. s holds whole lines, each ended by CRLF. It declines
// (ok false) what net/http would refuse or read differently from the
// plain reading: a line that starts with white space (obsolete folding),
// a name that is not a token, a value with a control character, a CR
// inside a line.
func fields(s string, start int) (h http.Header, ok bool) {
	n := strings.Count(s[start:], "\r\n") - 1
	if n < 0 {
		return nil, false
	}
	h = make(http.Header, n)
	// One backing array for the value slices of fields seen once, as
	// textproto does; a repeated name appends to its own.
	values := make([]string, n)
	for i := start; ; {
		end := i + indexCRLF(s[i:])
		if end < i {
			return nil, false
		}
		line := s[i:end]
		i = end + 2
		if line == "" {
			return h, true
		}
		name, value, ok := field(line)
		if !ok {
			return nil, false
		}
		if prior, seen := h[name]; seen {
			h[name] = append(prior, value)
			continue
		}
		values[0] = value
		h[name], values = values[:1:1], values[1:]
	}
}

func indexCRLF(s string) int {
	for i := 0; i+1 < len(s); i++ {
		if s[i] == '\r' {
			if s[i+1] != '\n' {
				return -1 // a CR inside a line: declined
			}
			return i
		}
		if s[i] == '\n' {
			return -1 // a bare LF: declined
		}
	}
	return -1
}

// field splits one field line into its canonical name and its value
// without the white space around it.
func field(line string) (name, value string, ok bool) {
	colon := strings.IndexByte(line, ':')
	if colon < 0 || !IsToken(line[:colon]) || !ValidValue(line[colon+1:]) {
		return "", "", false
	}
	return canonical(line[:colon]), trimOWS(line[colon+1:]), true
}

// canonical is name in the case textproto gives it. A name already in
// that case, as nearly all are, is returned as it is, a piece of the head.
func canonical(name string) string {
	upper := true
	for i := 0; i < len(name); i++ {
		c := name[i]
		if upper && 'a' <= c && c <= 'z' || !upper && 'A' <= c && c <= 'Z' {
			return textproto.CanonicalMIMEHeaderKey(name)
		}
		upper = c == '-'
	}
	return name
}

// trimOWS removes the spaces and tabs around s, as textproto does.
func trimOWS(s string) string {
	i, j := 0, len(s)
	for i < j && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	for j > i && (s[j-1] == ' ' || s[j-1] == '\t') {
		j--
	}
	return s[i:j]
}

// fixPragma gives a header with "Pragma: no-cache" and no Cache-Control
// a "Cache-Control: no-cache", as net/http's parsers do (RFC 7234).
func fixPragma(h http.Header) {
	if p := h["Pragma"]; len(p) > 0 && p[0] == "no-cache" {
		if _, ok := h["Cache-Control"]; !ok {
			h["Cache-Control"] = []string{"no-cache"}
		}
	}
}

// IsToken reports whether s is an RFC 9110 token, the syntax of a field
// name and of a method.
func IsToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 0x80 || !tokenChar[c] {
			return false
		}
	}
	return true
}

// ValidValue reports whether v is a field value certgate reads and sends:
// no control character but tab (obs-text is allowed), as net/http's
// parsers and http.Transport hold it.
func ValidValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// tokenChar marks the ASCII characters of an RFC 9110 token.
var tokenChar = func() (t [128]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = true, true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return t
}()
