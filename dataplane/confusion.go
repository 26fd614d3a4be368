package dataplane

import (
	"net/http"
	"slices"
	"time"

	"github.com/certgate/certgate/dataplane/accesslog"
	"github.com/certgate/certgate/dataplane/clientcert"
	"github.com/certgate/certgate/dataplane/router"
	"github.com/certgate/certgate/dataplane/snapshot"
)

// guardFor returns the path confusion guard of listener l, whose routes
// compiled to routes, over the rules whose requirement keeps the guard on;
// nil when there are none. serving is the compiled listener of l's name
// that serves now (nil for none): its guard is taken when it would be
// built the same (sameGuard), so an edit that leaves the guarded routes
// where they were, the common case, builds no guard again over every
// pinned route.
func guardFor(serving *listenerConfig, l *snapshot.Listener, routes []*routeConfig) (*router.Guard, error) {
	if serving.sameGuard(routes) {
		return serving.guard, nil
	}
	return router.CompileGuard(l.Routes, func(route, rule int) bool {
		return routes[route].rules[rule].guarded()
	})
}

// sameGuard reports whether a listener whose compiled routes are routes
// would build lc's guard: every route with a guarded rule is the very
// compiled route lc has at the same index, and lc has no other. A guard
// depends only on those routes and their indexes, and a compiled route is
// reused only when its route is unchanged. lc may be nil.
func (lc *listenerConfig) sameGuard(routes []*routeConfig) bool {
	if lc == nil || lc.table == nil {
		return false
	}
	guarded := 0
	for i, rc := range routes {
		if !rc.guarded() {
			continue
		}
		if i >= len(lc.routes) || lc.routes[i] != rc {
			return false
		}
		guarded++
	}
	for _, rc := range lc.routes {
		if rc.guarded() {
			guarded--
		}
	}
	return guarded == 0
}

// guarded reports whether a rule of the route keeps the path confusion
// guard on.
func (rc *routeConfig) guarded() bool {
	return slices.ContainsFunc(rc.rules, (*ruleConfig).guarded)
}

// guarded reports whether the rule's requirement keeps the path confusion
// guard on.
func (rule *ruleConfig) guarded() bool { return rule.requirement.GuardsPathConfusion() }

// confused reports whether it refused the request because its path, read
// the way common backends read paths, selects another rule than m, one
// whose requirement the connection does not satisfy: the backend of m
// could serve that rule's content ("/ADMIN" matched "/", served as
// "/admin"). It answers 403 itself. The rejection is counted on the rule
// the folded path selected, whose policy is the one being bypassed; in
// Audit mode it is only counted. The access log keeps the matched route.
func (d *Dataplane) confused(lc *listenerConfig, m router.Result, match *router.Request, w http.ResponseWriter, r *http.Request, entry *accesslog.Entry) bool {
	if lc.guard == nil {
		// Most listeners have no guarded rule: no clock, no peer.
		return false
	}
	guarded := lc.bypassed(m, match, peerOf(r), d.opts.Now())
	if guarded == nil {
		return false
	}
	guarded.counters.rejected[clientcert.ReasonPathConfusion].Inc()
	entry.Rejection = string(clientcert.ReasonPathConfusion)
	if guarded.requirement.Mode() == snapshot.ModeAudit {
		return false
	}
	answer(w, http.StatusForbidden)
	return true
}

// bypassed is the decision of confused: the rule, other than m, that the
// request's folded path selects and whose requirement peer does not
// satisfy, or nil.
func (lc *listenerConfig) bypassed(m router.Result, match *router.Request, peer *clientcert.Peer, now time.Time) *ruleConfig {
	if lc.guard == nil {
		return nil
	}
	g, ok := lc.guard.Match(match)
	if !ok || (g.RouteIndex == m.RouteIndex && g.RuleIndex == m.RuleIndex) {
		// The rule that matched is the one the backend would read: its own
		// requirement, if any, is judged next as usual.
		return nil
	}
	guarded := lc.routes[g.RouteIndex].rules[g.RuleIndex]
	if guarded.requirement.Check(peer, now) == "" {
		return nil
	}
	return guarded
}
