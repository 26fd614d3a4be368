package filter

import (
	"net/netip"
	"strconv"
	"strings"
)

// origin is a serialised origin, normalised for comparison: scheme and host
// in lower case, and the port left out when it is the scheme's default (the
// Gateway API: "if not included, port 80 is assumed for http scheme origins,
// and port 443 is assumed for https"). It is comparable, so an exact match
// is one map lookup without allocating.
type origin struct{ scheme, host, port string }

// originMatcher is a compiled CORS allowOrigins list.
type originMatcher struct {
	// any is the lone "*".
	any       bool
	exact     map[origin]bool
	wildcards []origin // host is "" (any host) or ".suffix"
}

// allows reports whether the request's Origin header value is allowed. The
// opaque origin "null" (sandboxed frames, file: pages) is never allowed,
// not even by "*": the gateway echoes the origin rather than sending "*",
// and echoing "null" would admit every sandboxed page at once.
func (m *originMatcher) allows(value string) bool {
	o, ok := parseOrigin(value)
	switch {
	case !ok:
		return false
	case m.any, m.exact[o]:
		return true
	}
	for _, w := range m.wildcards {
		if o.scheme == w.scheme && o.port == w.port && wildcardHostMatches(w.host, o.host) {
			return true
		}
	}
	return false
}

// wildcardHostMatches applies a compiled wildcard host: "" matches any
// host; ".example.com" matches any host ending in it, over as many labels
// as there are (the Gateway API's "*" is greedy to the left), but not
// example.com itself.
func wildcardHostMatches(suffix, host string) bool {
	return suffix == "" || len(host) > len(suffix) && strings.HasSuffix(host, suffix)
}

// parseOrigin splits scheme://host[:port]. It accepts what a browser sends;
// it does not judge whether the host is a valid name.
func parseOrigin(s string) (origin, bool) {
	scheme, rest, ok := strings.Cut(s, "://")
	scheme = strings.ToLower(scheme)
	if !ok || scheme != "http" && scheme != "https" || rest == "" || strings.ContainsAny(rest, "/?#@ ") {
		return origin{}, false
	}
	host, port := rest, ""
	if i := strings.LastIndexByte(rest, ':'); i >= 0 && !strings.HasSuffix(rest, "]") {
		host, port = rest[:i], rest[i+1:]
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 || port[0] == '0' {
			return origin{}, false
		}
		if n == wellKnownPort(scheme) {
			port = ""
		}
	}
	if host == "" {
		return origin{}, false
	}
	return origin{scheme: scheme, host: strings.ToLower(host), port: port}, true
}

// compileOrigins checks and compiles an allowOrigins list. An empty list
// allows no origin: the API has no default, and failing closed is the safe
// reading (the conformance test that once relied on an empty list was
// fixed to list its origin, gateway-api PR 4094).
func compileOrigins(patterns []string, field string, p *problems) originMatcher {
	m := originMatcher{exact: map[origin]bool{}}
	for i, pat := range patterns {
		at := field + "[" + strconv.Itoa(i) + "]"
		if pat == "*" {
			if len(patterns) > 1 {
				p.add(at, `"*" cannot be listed alongside other origins`)
			}
			m.any = true
			continue
		}
		o, problem := compileOrigin(pat)
		switch {
		case problem != "":
			p.add(at, "%q %s", pat, problem)
		case o.host == "" || o.host[0] == '.':
			m.wildcards = append(m.wildcards, o)
		default:
			m.exact[o] = true
		}
	}
	return m
}

// compileOrigin parses one configured origin; a wildcard host comes back as
// "" (the host was "*") or ".suffix" (it was "*.suffix").
func compileOrigin(pat string) (origin, string) {
	o, ok := parseOrigin(pat)
	if !ok {
		return origin{}, "is not an origin: want scheme://host[:port] with scheme http or https and no path"
	}
	rest, leftmost := strings.CutPrefix(o.host, "*")
	switch {
	case !strings.Contains(o.host, "*"):
		if !isHostname(o.host) && !isIPv6Literal(o.host) {
			return origin{}, "does not have a valid host name"
		}
	case strings.Count(o.host, "*") > 1:
		return origin{}, `has more than one "*"`
	case leftmost && rest == "":
		o.host = ""
	case leftmost && strings.HasPrefix(rest, ".") && isHostname(rest[1:]):
		o.host = rest
	default:
		return origin{}, `has a "*" that is not the whole leftmost label of the host ("https://*.example.com")`
	}
	return o, ""
}

// isIPv6Literal reports whether h is a bracketed IPv6 address.
func isIPv6Literal(h string) bool {
	inner, ok := strings.CutPrefix(h, "[")
	inner, ok2 := strings.CutSuffix(inner, "]")
	if !ok || !ok2 {
		return false
	}
	a, err := netip.ParseAddr(inner)
	return err == nil && a.Is6()
}
