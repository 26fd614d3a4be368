package filter

import (
	"net/http"
	"strings"

	"github.com/certgate/certgate/dataplane/router"
	"github.com/certgate/certgate/dataplane/snapshot"
)

// rewrite is a compiled URLRewrite.
type rewrite struct {
	// hostname replaces the Host header; "" keeps it.
	hostname string
	path     *pathModifier
}

// compileRewrite checks and compiles r.
func compileRewrite(r *snapshot.Rewrite, field string, p *problems) *rewrite {
	out := &rewrite{}
	n := len(*p)
	if r.Hostname != nil {
		out.hostname = checkHostname(*r.Hostname, field+".hostname", p)
	}
	if r.Path != nil {
		out.path = compilePath(r.Path, field+".path", p)
	}
	if len(*p) > n {
		return nil
	}
	return out
}

// applyRequest implements requestStep. The hostname goes to out.Host, which
// is what Go sends as the Host header; out.URL.Host is left alone because it
// is the backend endpoint the transport dials.
func (rw *rewrite) applyRequest(out *http.Request, in RequestInfo) {
	if rw.hostname != "" {
		out.Host = rw.hostname
	}
	if rw.path != nil {
		router.SetEscapedPath(out.URL, rw.path.apply(in.Path, in.MatchedPrefix))
	}
}

// checkHostname returns h when it is a Gateway API PreciseHostname: an RFC
// 1123 DNS name without a wildcard or a port.
func checkHostname(h, field string, p *problems) string {
	if !isHostname(h) {
		p.add(field, "%q is not a host name (RFC 1123 labels, no wildcard, no port)", h)
		return ""
	}
	return strings.ToLower(h)
}

// isHostname reports whether h is an RFC 1123 DNS name.
func isHostname(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	for label := range strings.SplitSeq(h, ".") {
		if !isLabel(label) {
			return false
		}
	}
	return true
}

// isLabel reports whether l is an RFC 1123 DNS label.
func isLabel(l string) bool {
	if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
		return false
	}
	for i := 0; i < len(l); i++ {
		c := l[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}
