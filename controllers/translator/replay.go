package translator

import (
	"slices"

	"k8s.io/apimachinery/pkg/types"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/certgate/certgate/dataplane/snapshot"
)

// An HTTPRoute whose memo a translation may take (reuse.go) also attaches
// as it did when the memo was made: what attaching reads is the route
// itself and inputs sameInputs found unchanged (the Gateways and their
// listeners, the Namespaces, the GRPCRoutes that may claim its hostnames),
// and its generation and parentRefs are the route's own. So a memo keeps
// what each parentRef came to (parentPlan), and such a route is replayed:
// added to the same listeners with the same hostnames, its status written
// from the same results, with this translation's time as every translation
// writes it. At thousands of routes, looking up each route's Gateways and
// matching its hostnames against every listener again was a large part of
// an edit of one.

// parentPlan is what one parentRef naming a Gateway of ours came to: the
// listeners it attached to, or why it did not.
type parentPlan struct {
	// ref is the index of the parentRef in the route's spec, and
	// refValue its value, interned (internRef).
	ref      int
	refValue *parentRefValue
	rejected problem[gatewayv1.RouteConditionReason]
	attached []plannedAttachment
}

// plannedAttachment is an attachment whose listener is named by its
// Gateway and place in the Gateway's spec, which hold across translations
// with the same inputs.
type plannedAttachment struct {
	gw       types.NamespacedName
	listener int
	// hostnames have no room to grow: a route that reaches a listener
	// through two parentRefs gets the union in a new list (unionHostnames),
	// never in this one, which snapshots share.
	hostnames []string
}

// planOf is what the parentRef at index ref came to, res.
func (t *translator) planOf(ref int, value *parentRefValue, res parentResult) parentPlan {
	p := parentPlan{ref: ref, refValue: value, rejected: res.rejected}
	if len(res.attached) > 0 {
		p.attached = make([]plannedAttachment, len(res.attached))
	}
	for i, a := range res.attached {
		gw := a.l.gatewayName()
		p.attached[i] = plannedAttachment{gw: gw, listener: slices.Index(t.listeners[gw], a.l), hostnames: slices.Clip(a.hostnames)}
	}
	return p
}

// rememberPlan records for the next translation what the parentRefs of
// route b came to, on the memo this translation leaves for it, when that
// is one of its own (a memo taken whole already has it).
func (t *translator) rememberPlan(b *routeBuild, plan []parentPlan) {
	if m := t.next.routes[b.at]; m != nil && m != b.memo {
		m.parents = plan
	}
}

// replayHTTPRoute translates the route of b, a build taken from the
// previous translation's memo, by plan, what its parentRefs came to then,
// as translateRoute would. b is a value: nothing keeps it, so replaying
// allocates no build per route.
func (t *translator) replayHTTPRoute(b routeBuild, plan []parentPlan) {
	r := b.obj
	head := snapshot.Route{Kind: b.snapshotKind(), Namespace: r.Namespace, Name: r.Name, CreationTimestamp: r.CreationTimestamp.UTC()}
	var done addedTo
	for _, p := range plan {
		for _, a := range p.attached {
			t.addRoute(head, attachment{l: t.listeners[a.gw][a.listener], hostnames: a.hostnames}, &b, &done)
		}
	}
	t.setRouteStatus(kindHTTPRoute, &r.ObjectMeta, t.replayedParents(r, plan, &b))
	t.rememberPlan(&b, plan)
}

// replayedParents are the parent statuses of route r, of build b, by
// plan. One parentRef without a problem, the most common, takes the
// shared list by the parentRef's interned value the plan keeps, without
// reading the route's parentRef.
func (t *translator) replayedParents(r *gatewayv1.HTTPRoute, plan []parentPlan, b *routeBuild) []gatewayv1.RouteParentStatus {
	if len(plan) == 1 && t.soundParent(parentResult{rejected: plan[0].rejected}, b) {
		return t.soundParentList(r.Generation, plan[0].refValue, func() gatewayv1.RouteParentStatus {
			return t.parentStatus(r.Generation, r.Spec.ParentRefs[plan[0].ref], parentResult{}, b)
		})
	}
	parents := make([]gatewayv1.RouteParentStatus, len(plan))
	for i, p := range plan {
		parents[i] = t.parentStatus(r.Generation, r.Spec.ParentRefs[p.ref], parentResult{rejected: p.rejected}, b)
	}
	return parents
}
