package filter

import (
	"cmp"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/certgate/certgate/dataplane/snapshot"
)

// redirectCodes are the status codes a RequestRedirect may use; 0 in the
// snapshot means the Gateway API default, 302.
var redirectCodes = []int{301, 302, 303, 307, 308}

// redirect is a compiled RequestRedirect. Empty fields keep the request's
// value.
type redirect struct {
	scheme   string
	hostname string
	port     int
	path     *pathModifier
	code     int
}

// compileRedirect checks and compiles r.
func compileRedirect(r *snapshot.Redirect, field string, p *problems) *redirect {
	out := &redirect{code: r.StatusCode}
	n := len(*p)
	if out.code == 0 {
		out.code = 302
	} else if !slices.Contains(redirectCodes, out.code) {
		p.add(field+".statusCode", "%d is not one of 301, 302, 303, 307, 308", r.StatusCode)
	}
	if r.Scheme != nil {
		out.scheme = *r.Scheme
		if out.scheme != "http" && out.scheme != "https" {
			p.add(field+".scheme", "%q is not one of http, https", out.scheme)
		}
	}
	if r.Hostname != nil {
		out.hostname = checkHostname(*r.Hostname, field+".hostname", p)
	}
	if r.Port != nil {
		out.port = checkPort(*r.Port, field+".port", p)
	}
	if r.Path != nil {
		out.path = compilePath(r.Path, field+".path", p)
	}
	if len(*p) > n {
		return nil
	}
	return out
}

// Redirect reports whether the rule answers with a redirect instead of
// proxying, and with which Location and status code. The handler writes
// them (and calls ModifyResponse on the header first) without a body.
func (c *Chain) Redirect(in RequestInfo) (location string, code int, ok bool) {
	if c == nil || c.redirect == nil {
		return "", 0, false
	}
	return c.redirect.location(in), c.redirect.code, true
}

// location builds the absolute Location URL. The query is kept: the Gateway
// API only changes what the filter names.
func (rd *redirect) location(in RequestInfo) string {
	scheme := cmp.Or(rd.scheme, in.Scheme, "http")
	path := in.Path
	if rd.path != nil {
		path = rd.path.apply(in.Path, in.MatchedPrefix)
	}
	var b strings.Builder
	b.WriteString(scheme)
	b.WriteString("://")
	b.WriteString(hostPort(cmp.Or(rd.hostname, in.Host), rd.portFor(in), scheme))
	b.WriteString(cmp.Or(path, "/"))
	if in.RawQuery != "" {
		b.WriteByte('?')
		b.WriteString(in.RawQuery)
	}
	return b.String()
}

// portFor derives the redirect port as the Gateway API's
// HTTPRequestRedirectFilter.Port says: the filter's port when set; else the
// well-known port of the filter's scheme when that is set; else the
// listener's port. The hostname field plays no part: a redirect to another
// host without a port keeps the listener port.
func (rd *redirect) portFor(in RequestInfo) int {
	switch {
	case rd.port != 0:
		return rd.port
	case rd.scheme != "":
		return wellKnownPort(rd.scheme)
	}
	return in.Port
}

// hostPort joins host and port for a URL, leaving the port out when it is
// the scheme's well-known one (the spec says implementations SHOULD NOT add
// it) or unknown (0).
func hostPort(host string, port int, scheme string) string {
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if port == 0 || port == wellKnownPort(scheme) {
		if a, err := netip.ParseAddr(host); err == nil && a.Is6() {
			return "[" + host + "]"
		}
		return host
	}
	return net.JoinHostPort(host, strconv.Itoa(port))
}

// wellKnownPort returns 80 for http and 443 for https.
func wellKnownPort(scheme string) int {
	switch scheme {
	case "http":
		return 80
	case "https":
		return 443
	}
	return 0
}

// checkPort returns port when it is a TCP port number.
func checkPort(port int32, field string, p *problems) int {
	if port < 1 || port > 65535 {
		p.add(field, "%d is not a port number (1 to 65535)", port)
		return 0
	}
	return int(port)
}
