package translator

import (
	"cmp"
	"fmt"

	"k8s.io/apimachinery/pkg/types"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// kindConflicts holds, for one translation, what the HTTPRoute and
// GRPCRoute conflict check reads: each kind's routes in the form attach
// takes, and each route's attachments, computed once.
type kindConflicts struct {
	routes   map[groupKind][]routeHead
	attached map[kindName][]attachment
}

// kindName names a route of a kind.
type kindName struct {
	kind groupKind
	name types.NamespacedName
}

// withoutKindConflicts removes from res the listeners on which a route of
// the other kind (HTTPRoute for a GRPCRoute and back) claims a hostname r
// claims too, when that route wins. The spec says a listener must accept
// exactly one of two such routes: the older, then the first by
// "namespace/name". A parentRef left with no listener is not accepted
// (NotAllowedByListeners, naming the winner).
func (t *translator) withoutKindConflicts(r routeHead, res parentResult) parentResult {
	if r.kind == kindTLSRoute || res.rejected.reason != "" || len(t.res.GRPCRoutes) == 0 || len(t.res.HTTPRoutes) == 0 {
		return res
	}
	var kept []attachment
	winner := ""
	for _, a := range res.attached {
		if w := t.kindWinner(r, a); w != "" {
			winner = w
			continue
		}
		kept = append(kept, a)
	}
	if len(kept) == 0 {
		return rejectedParent(gatewayv1.RouteReasonNotAllowedByListeners, fmt.Sprintf(
			"%s, older or first by name, claims the same hostnames on every selected listener: an HTTPRoute and a GRPCRoute cannot share a hostname on one listener", winner))
	}
	res.attached = kept
	return res
}

// kindWinner names the route of the other kind that takes a's listener
// and some of its hostnames from r, or returns "".
func (t *translator) kindWinner(r routeHead, a attachment) string {
	other := kindGRPCRoute
	if r.kind == kindGRPCRoute {
		other = kindHTTPRoute
	}
	for _, o := range t.conflicts().routesOf(t, other) {
		if !routeWins(o, r) {
			continue
		}
		for _, oa := range t.attachmentsOf(o) {
			if oa.l == a.l && hostnamesOverlap(oa.hostnames, a.hostnames) {
				return fmt.Sprintf("%s %s/%s", other.Kind, o.meta.Namespace, o.meta.Name)
			}
		}
	}
	return ""
}

func (t *translator) conflicts() *kindConflicts {
	if t.kindConflicts == nil {
		t.kindConflicts = &kindConflicts{routes: map[groupKind][]routeHead{}, attached: map[kindName][]attachment{}}
	}
	return t.kindConflicts
}

// routesOf returns the heads of the routes of kind (HTTPRoute or
// GRPCRoute).
func (c *kindConflicts) routesOf(t *translator, kind groupKind) []routeHead {
	if rs, ok := c.routes[kind]; ok {
		return rs
	}
	var rs []routeHead
	if kind == kindGRPCRoute {
		for _, g := range t.res.GRPCRoutes {
			rs = append(rs, grpcRouteHead(g))
		}
	} else {
		for _, r := range t.res.HTTPRoutes {
			rs = append(rs, httpRouteHead(r))
		}
	}
	c.routes[kind] = rs
	return rs
}

// attachmentsOf is every listener route r attaches to, through any of its
// parentRefs.
func (t *translator) attachmentsOf(r routeHead) []attachment {
	c := t.conflicts()
	key := kindName{r.kind, nameOf(r.meta.Namespace, r.meta.Name)}
	if as, ok := c.attached[key]; ok {
		return as
	}
	as := []attachment{}
	for _, ref := range r.parents {
		if ls, ours := t.gatewayOf(r.meta.Namespace, ref); ours {
			as = append(as, t.attach(r, ref, ls).attached...)
		}
	}
	c.attached[key] = as
	return as
}

// routeWins reports whether route a is kept over route b of the other
// kind: older first, then by "namespace/name", then HTTPRoute (a tie only
// two routes of one name and creation second can reach).
func routeWins(a, b routeHead) bool {
	c := cmp.Or(
		a.meta.CreationTimestamp.Compare(b.meta.CreationTimestamp.Time),
		cmp.Compare(a.meta.Namespace+"/"+a.meta.Name, b.meta.Namespace+"/"+b.meta.Name),
	)
	return c < 0 || c == 0 && a.kind == kindHTTPRoute && b.kind != kindHTTPRoute
}

// hostnamesOverlap reports whether two routes' hostnames on one listener
// share a name; an empty list is every name the listener accepts.
func hostnamesOverlap(a, b []string) bool {
	if len(a) == 0 || len(b) == 0 {
		return true
	}
	for _, x := range a {
		for _, y := range b {
			if _, ok := intersectHostname(x, y); ok {
				return true
			}
		}
	}
	return false
}
