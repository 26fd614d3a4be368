package translator

import (
	"regexp"
	"strings"
)

// hostnamePattern is the Gateway API Hostname syntax: a lowercase DNS name,
// optionally behind one leading "*." label. The CRD enforces it, but the
// file provider has no CRD, and the data plane must never see anything
// else.
var hostnamePattern = regexp.MustCompile(`^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)

// validHostname reports whether h is a Gateway API Hostname.
func validHostname(h string) bool {
	return len(h) <= 253 && hostnamePattern.MatchString(h)
}

// hostnameMatches reports whether the pattern (exact or "*.suffix")
// matches the host name h, which is exact. A wildcard matches one or more
// labels, never none: "*.example.com" matches "a.b.example.com" but not
// "example.com".
func hostnameMatches(pattern, h string) bool {
	if suffix, ok := strings.CutPrefix(pattern, "*"); ok {
		return strings.HasSuffix(h, suffix) && len(h) > len(suffix)
	}
	return pattern == h
}

// intersectHostname returns the hostnames of routeHost that a listener
// with hostname listenerHost serves, and whether there are any. Both may
// be wildcards; the result is the more specific of the two when one
// covers the other:
//
//	listener foo.example.com, route *.example.com  -> foo.example.com
//	listener *.example.com,   route foo.example.com -> foo.example.com
//	listener *.example.com,   route *.a.example.com -> *.a.example.com
//	listener *.a.example.com, route *.example.com   -> *.a.example.com
func intersectHostname(listenerHost, routeHost string) (string, bool) {
	switch {
	case listenerHost == "":
		return routeHost, true
	case listenerHost == routeHost:
		return routeHost, true
	case !strings.HasPrefix(routeHost, "*.") && hostnameMatches(listenerHost, routeHost):
		return routeHost, true
	case strings.HasPrefix(routeHost, "*.") && hostnameMatches(routeHost, strings.TrimPrefix(listenerHost, "*.")):
		// The route's wildcard covers the listener's name or wildcard.
		return listenerHost, true
	case strings.HasPrefix(routeHost, "*.") && strings.HasPrefix(listenerHost, "*.") &&
		hostnameMatches(listenerHost, strings.TrimPrefix(routeHost, "*.")):
		return routeHost, true
	}
	return "", false
}

// routeHostnames intersects a route's hostnames with a listener's. An
// empty result with ok true means "every hostname the listener accepts"
// (the route names none); ok false means no intersection, so the route
// does not attach to this listener.
func routeHostnames(listenerHost string, routeHosts []string) ([]string, bool) {
	if len(routeHosts) == 0 {
		return nil, true
	}
	var out []string
	seen := map[string]bool{}
	for _, h := range routeHosts {
		if got, ok := intersectHostname(listenerHost, h); ok && !seen[got] {
			seen[got] = true
			out = append(out, got)
		}
	}
	return out, len(out) > 0
}
