package router

import (
	"bytes"
	"strings"
)

// FoldPath returns p, a path in the normal form of NormalizePath, read the
// way common backends read paths: cut at the first "%00" (NUL), each
// segment's ";" parameters removed, trailing dots and spaces ("%20")
// removed from each segment, empty segments dropped (so "//" is merged),
// "." and ".." segments that this trimming reveals resolved, and ASCII
// letters lowered (percent-encodings are kept as they are). A trailing
// slash is kept. The package documentation says which backend does what.
//
// The result is only ever matched, never forwarded: it is what the
// backend may make of the path, not what certgate sends.
func FoldPath(p string) string {
	if i := strings.Index(p, "%00"); i >= 0 {
		p = p[:i]
	}
	out := make([]byte, 0, len(p))
	rest := strings.TrimPrefix(p, "/")
	for {
		seg, tail, more := strings.Cut(rest, "/")
		out = foldSegment(out, seg, !more)
		if !more {
			break
		}
		rest = tail
	}
	if len(out) == 0 {
		return "/"
	}
	return string(out)
}

// foldSegment appends the folded form of one segment to out. A segment
// that folds to nothing adds nothing, except a trailing slash when it is
// the last one ("/admin/" stays a directory).
func foldSegment(out []byte, seg string, last bool) []byte {
	seg, _, _ = strings.Cut(seg, ";")
	// Windows trims the spaces of "..%20" and then walks up; so does the
	// fold, before it trims dots, which would turn ".." into nothing.
	switch trimSuffixes(seg, "%20") {
	case "..":
		out = out[:max(bytes.LastIndexByte(out, '/'), 0)]
		seg = ""
	case ".":
		seg = ""
	default:
		seg = trimSuffixes(seg, "%20", ".")
	}
	if seg == "" {
		if last {
			out = append(out, '/')
		}
		return out
	}
	out = append(out, '/')
	for i := 0; i < len(seg); i++ {
		c := seg[i]
		switch {
		case c == '%':
			// A percent-encoding, in upper-case hex: kept, not lowered.
			end := min(i+3, len(seg))
			out = append(out, seg[i:end]...)
			i = end - 1
		case 'A' <= c && c <= 'Z':
			out = append(out, c+'a'-'A')
		default:
			out = append(out, c)
		}
	}
	return out
}

// trimSuffixes removes any sequence of the suffixes from the end of s.
func trimSuffixes(s string, suffixes ...string) string {
	for {
		trimmed := s
		for _, suffix := range suffixes {
			trimmed = strings.TrimSuffix(trimmed, suffix)
		}
		if trimmed == s {
			return s
		}
		s = trimmed
	}
}

// needsFold reports whether FoldPath could change p, a path in normal
// form, in one pass and without allocating: whether p holds an upper-case
// letter outside a percent-encoding, a ";", "//", a segment that ends in
// "." or "%20", or "%00". Most paths hold none of these, and skip the fold.
func needsFold(p string) bool {
	for i := 0; i < len(p); i++ {
		c := p[i]
		if !foldSignal[c] {
			continue
		}
		switch c {
		case '/':
			if i > 0 && (p[i-1] == '/' || endsSegment(p[:i])) {
				return true
			}
		case '%':
			if strings.HasPrefix(p[i:], "%00") {
				return true
			}
			i += 2 // the hex digits are upper case and must not count
		default: // an upper-case letter or ";"
			return true
		}
	}
	return endsSegment(p)
}

// foldSignal marks the bytes needsFold must look at; every other byte
// leaves the fold alone, and the scan passes over it with one lookup.
var foldSignal = func() (t [256]bool) {
	for c := 'A'; c <= 'Z'; c++ {
		t[c] = true
	}
	t[';'], t['/'], t['%'] = true, true, true
	return t
}()

// endsSegment reports whether s ends in a character backends trim from the
// end of a segment: a dot or an encoded space.
func endsSegment(s string) bool {
	return strings.HasSuffix(s, ".") || strings.HasSuffix(s, "%20")
}
