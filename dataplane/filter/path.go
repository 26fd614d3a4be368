package filter

import (
	"strings"

	"github.com/certgate/certgate/dataplane/router"
	"github.com/certgate/certgate/dataplane/snapshot"
)

// maxPathLength is the Gateway API's limit on a replacement path.
const maxPathLength = 1024

// pathModifier is a compiled PathModifier of a redirect or a rewrite.
type pathModifier struct {
	// full is true for ReplaceFullPath.
	full bool
	// value is the full path, or the prefix replacement.
	value string
}

// compilePath checks and compiles m. The snapshot keeps both replacement
// fields as plain strings, so "unset" and "" look alike: an empty
// ReplacePrefixMatch is the legitimate "strip the prefix", and the check
// that the other field is unset can only test for "".
func compilePath(m *snapshot.PathModifier, field string, p *problems) *pathModifier {
	switch m.Type {
	case snapshot.ReplaceFullPath:
		if m.ReplacePrefixMatch != "" {
			p.add(field+".replacePrefixMatch", "must be unset when type is ReplaceFullPath")
		}
		if !checkPath(m.ReplaceFullPath, field+".replaceFullPath", false, p) {
			return nil
		}
		return &pathModifier{full: true, value: m.ReplaceFullPath}
	case snapshot.ReplacePrefixMatch:
		if m.ReplaceFullPath != "" {
			p.add(field+".replaceFullPath", "must be unset when type is ReplacePrefixMatch")
		}
		if !checkPath(m.ReplacePrefixMatch, field+".replacePrefixMatch", true, p) {
			return nil
		}
		return &pathModifier{value: m.ReplacePrefixMatch}
	}
	p.add(field+".type", "%q is not one of ReplaceFullPath, ReplacePrefixMatch", m.Type)
	return nil
}

// checkPath reports whether v is an absolute, escaped path that is safe to
// put in a Location header or a request line: it is used as-is there.
func checkPath(v, field string, mayBeEmpty bool, p *problems) bool {
	switch {
	case v == "" && mayBeEmpty:
		return true
	case !strings.HasPrefix(v, "/"):
		p.add(field, "%q must start with /", v)
	case len(v) > maxPathLength:
		p.add(field, "is %d bytes long; the limit is %d", len(v), maxPathLength)
	case !isEscapedPath(v):
		p.add(field, "%q is not an escaped path: use %%XX for spaces, ?, # and other bytes outside RFC 3986 path characters", v)
	default:
		return true
	}
	return false
}

// apply returns the new escaped path for a request to path whose rule
// matched matchedPrefix. A prefix replacement without a prefix match leaves
// the path alone; the Gateway API requires a rule using ReplacePrefixMatch
// to have exactly one PathPrefix match, so this only happens on a snapshot
// the translator should have rejected.
func (m *pathModifier) apply(path, matchedPrefix string) string {
	if m.full {
		return m.value
	}
	if matchedPrefix == "" {
		return path
	}
	return router.ReplacePrefix(path, matchedPrefix, m.value)
}

// isEscapedPath reports whether s holds only RFC 3986 path characters
// (pchar and "/") with well-formed %XX escapes.
func isEscapedPath(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '%':
			if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
				return false
			}
			i += 2
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("-._~!$&'()*+,;=:@/", c) >= 0:
		default:
			return false
		}
	}
	return true
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}
