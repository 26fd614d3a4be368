package dataplane

import (
	"net/http"

	"github.com/certgate/certgate/dataplane/accesslog"
	"github.com/certgate/certgate/dataplane/clientcert"
	"github.com/certgate/certgate/dataplane/router"
	"github.com/certgate/certgate/dataplane/snapshot"
)

// compileGuard builds the listener's path confusion guard over the rules
// whose requirement keeps the guard on. It is nil when there are none.
func compileGuard(l *snapshot.Listener, routes []*routeConfig) (*router.Guard, error) {
	return router.CompileGuard(l.Routes, func(route, rule int) bool {
		return routes[route].rules[rule].requirement.GuardsPathConfusion()
	})
}

// confused reports whether it refused the request because its path, read
// the way common backends read paths, selects another rule than m, one
// whose requirement the connection does not satisfy: the backend of m
// could serve that rule's content ("/ADMIN" matched "/", served as
// "/admin"). It answers 403 itself. The rejection is counted on the rule
// the folded path selected, whose policy is the one being bypassed; in
// Audit mode it is only counted. The access log keeps the matched route.
func (d *Dataplane) confused(lc *listenerConfig, m router.Result, host, path string, w http.ResponseWriter, r *http.Request, entry *accesslog.Entry) bool {
	if lc.guard == nil {
		return false
	}
	g, ok := lc.guard.Match(&router.Request{Host: host, Path: path, Method: r.Method, RawQuery: r.URL.RawQuery, Header: r.Header})
	if !ok || (g.RouteIndex == m.RouteIndex && g.RuleIndex == m.RuleIndex) {
		// The rule that matched is the one the backend would read: its own
		// requirement, if any, is judged next as usual.
		return false
	}
	guarded := lc.routes[g.RouteIndex].rules[g.RuleIndex]
	if guarded.requirement.Check(peerOf(r), d.opts.Now()) == "" {
		return false
	}
	guarded.rejected[clientcert.ReasonPathConfusion].Inc()
	entry.Rejection = string(clientcert.ReasonPathConfusion)
	if guarded.requirement.Mode() == snapshot.ModeAudit {
		return false
	}
	answer(w, http.StatusForbidden)
	return true
}
