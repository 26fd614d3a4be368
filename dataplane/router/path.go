package router

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
)

// ErrBadPath is wrapped by every error NormalizePath returns. A request
// whose path fails normalisation must be answered with 400 Bad Request,
// never matched or forwarded.
var ErrBadPath = errors.New("bad request path")

// Byte classes of a path segment, after RFC 3986 section 3.3.
const (
	// mustEncode bytes may not appear raw; they are percent-encoded.
	mustEncode = iota
	// unreserved bytes are decoded when they arrive percent-encoded.
	unreserved
	// allowed bytes (sub-delims, ":" and "@") may appear raw and are kept
	// encoded when they arrive encoded: decoding them could change what a
	// backend parses.
	allowed
	// forbidden bytes are errors raw or encoded: "/" inside a segment and
	// "\" anywhere.
	forbidden
)

var byteClass = func() (t [256]byte) {
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = unreserved, unreserved
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = unreserved
	}
	for _, c := range "-._~" {
		t[c] = unreserved
	}
	for _, c := range "!$&'()*+,;=:@" {
		t[c] = allowed
	}
	t['/'], t['\\'] = forbidden, forbidden
	return t
}()

const upperHex = "0123456789ABCDEF"

// NormalizePath returns the normal form of escaped, a request's escaped
// path (url.URL.EscapedPath, without the query). The result is itself an
// escaped path; it is what routes are matched against and what is sent
// upstream. The rules are in the package documentation. Every error wraps
// ErrBadPath.
//
// A path already in normal form is returned as is, without allocating.
func NormalizePath(escaped string) (string, error) {
	if !strings.HasPrefix(escaped, "/") {
		return "", fmt.Errorf("%w: does not start with \"/\"", ErrBadPath)
	}
	if isNormal(escaped) {
		return escaped, nil
	}
	return normalizeSlow(escaped)
}

// isNormal reports, in one pass and without allocating, whether p is
// already in normal form. Anything else, errors included, is left to
// normalizeSlow.
func isNormal(p string) bool {
	seg := 1
	for i := 1; i < len(p); i++ {
		switch c := p[i]; {
		case c == '/':
			if isDotSegment(p[seg:i]) {
				return false
			}
			seg = i + 1
		case c == '%':
			if i+2 >= len(p) || !isKeptEscape(p[i+1], p[i+2]) {
				return false
			}
			i += 2
		case byteClass[c] != unreserved && byteClass[c] != allowed:
			return false
		}
	}
	return !isDotSegment(p[seg:])
}

// isKeptEscape reports whether "%" hi lo is a normal escape: uppercase hex
// of a byte that is neither decoded nor forbidden.
func isKeptEscape(hi, lo byte) bool {
	h, okh := upperHexValue(hi)
	l, okl := upperHexValue(lo)
	if !okh || !okl {
		return false
	}
	cls := byteClass[h<<4|l]
	return cls == mustEncode || cls == allowed
}

// isDotSegment reports whether a segment, up to its first ";", is "." or
// "..". The fast path only needs to know that the segment is special;
// resolveDots decides between removing it and rejecting it.
func isDotSegment(seg string) bool {
	name, _, _ := strings.Cut(seg, ";")
	return name == "." || name == ".."
}

// normalizeSlow builds the normal form segment by segment: each segment is
// decoded into out, then inspected, so dot segments are recognised after
// their unreserved escapes are decoded.
func normalizeSlow(p string) (string, error) {
	out := make([]byte, 0, len(p)+8)
	rest := p[1:]
	for {
		offset := len(p) - len(rest)
		seg, tail, more := strings.Cut(rest, "/")
		start := len(out)
		out = append(out, '/')
		var err error
		if out, err = appendSegment(out, seg, offset); err != nil {
			return "", err
		}
		if out, err = resolveDots(out, start, !more, offset); err != nil {
			return "", err
		}
		if !more {
			break
		}
		rest = tail
	}
	if len(out) == 0 {
		return "/", nil
	}
	return string(out), nil
}

// appendSegment appends the normal form of one escaped segment to out.
// offset is where seg starts in the request path, for error messages.
func appendSegment(out []byte, seg string, offset int) ([]byte, error) {
	for i := 0; i < len(seg); i++ {
		c := seg[i]
		switch {
		case c == '%':
			if i+2 >= len(seg) {
				return nil, badPath("malformed percent-encoding", offset+i)
			}
			h, okh := hexValue(seg[i+1])
			l, okl := hexValue(seg[i+2])
			if !okh || !okl {
				return nil, badPath("malformed percent-encoding", offset+i)
			}
			v := h<<4 | l
			switch byteClass[v] {
			case forbidden:
				return nil, badPath("encoded slash or backslash", offset+i)
			case unreserved:
				out = append(out, v)
			default:
				out = append(out, '%', upperHex[h], upperHex[l])
			}
			i += 2
		case byteClass[c] == forbidden:
			return nil, badPath("backslash", offset+i)
		case byteClass[c] == mustEncode:
			out = append(out, '%', upperHex[c>>4], upperHex[c&15])
		default:
			out = append(out, c)
		}
	}
	return out, nil
}

// resolveDots applies RFC 3986 section 5.2.4 to the segment just appended
// at out[start:] ("/" and the decoded segment). A "." segment is dropped
// and a ".." segment drops the one before it too; either leaves a trailing
// slash when it is the last segment.
func resolveDots(out []byte, start int, last bool, offset int) ([]byte, error) {
	name, _, params := bytes.Cut(out[start+1:], []byte(";"))
	dot, dotdot := string(name) == ".", string(name) == ".."
	if !dot && !dotdot {
		return out, nil
	}
	if params {
		return nil, badPath("dot segment with path parameters", offset)
	}
	out = out[:start]
	if dotdot {
		out = out[:max(bytes.LastIndexByte(out, '/'), 0)]
	}
	if last {
		out = append(out, '/')
	}
	return out, nil
}

func badPath(reason string, offset int) error {
	return fmt.Errorf("%w: %s at offset %d", ErrBadPath, reason, offset)
}

func hexValue(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// upperHexValue is hexValue for the normal form, which has no lowercase
// hex digits.
func upperHexValue(c byte) (byte, bool) {
	if 'a' <= c && c <= 'f' {
		return 0, false
	}
	return hexValue(c)
}
