package translator

import (
	"fmt"
	"slices"

	"k8s.io/apimachinery/pkg/types"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/certgate/certgate/api/v1alpha1"
	"github.com/certgate/certgate/dataplane/snapshot"
)

// ccpKey identifies what a ClientCertPolicy targetRef selects: an HTTPRoute
// or a Gateway, and optionally one of its rules or listeners. Two policies
// with the same key conflict.
type ccpKey struct {
	kind    string // "HTTPRoute", "GRPCRoute", "TLSRoute" or "Gateway"
	name    types.NamespacedName
	section string
}

func (k ccpKey) String() string {
	s := fmt.Sprintf("%s %s", k.kind, k.name)
	if k.section != "" {
		s += " sectionName " + k.section
	}
	return s
}

// ccpTarget is one targetRef of a policy, resolved.
type ccpTarget struct {
	key ccpKey
	// notFound, when set, says why the target does not exist.
	notFound string
	// conflictedBy is "ns/name" of the policy that holds the same target
	// instead; empty when this policy holds it. decidedBy names the rule
	// by which that policy won (see decidingRule).
	conflictedBy, decidedBy string
	// ancestors are the Gateways the target is reached through; for a
	// target without any, the target itself stands in (see ancestorsOf).
	ancestors []gatewayv1.ParentReference
}

// resolveCCPTarget resolves targetRefs[i] of policy p: does the object
// (and section) exist, and through which Gateways is it reached.
func (t *translator) resolveCCPTarget(p *v1alpha1.ClientCertPolicy, ref gatewayv1.LocalPolicyTargetReferenceWithSectionName) ccpTarget {
	key := ccpKey{kind: string(ref.Kind), name: nameOf(p.Namespace, string(ref.Name))}
	if ref.SectionName != nil {
		key.section = string(*ref.SectionName)
	}
	tgt := ccpTarget{key: key}
	switch {
	case ref.Group != gatewayv1.GroupName || (!isRouteKind(key.kind) && ref.Kind != "Gateway"):
		tgt.notFound = fmt.Sprintf("targetRef %s/%s %s: only HTTPRoute, GRPCRoute, TLSRoute and Gateway of group %s can be targeted", ref.Group, ref.Kind, ref.Name, gatewayv1.GroupName)
	case isRouteKind(key.kind):
		tgt.notFound = t.findRouteTarget(key)
	default:
		tgt.notFound = t.findGatewayTarget(key)
	}
	tgt.ancestors = t.ancestorsOf(key)
	if tgt.notFound == "" && isRouteKind(key.kind) && ptrEq(tgt.ancestors[0].Kind, gatewayv1.Kind(key.kind)) {
		// The route exists but no Gateway of ours serves it: the policy
		// can govern nothing, which is what TargetNotFound tells the user.
		tgt.notFound = fmt.Sprintf("%s %s is not attached to any Gateway of %s", key.kind, key.name, t.opts.ControllerName)
	}
	return tgt
}

// isRouteKind reports whether kind is a route kind a policy may target.
func isRouteKind(kind string) bool {
	return kind == "HTTPRoute" || kind == "GRPCRoute" || kind == "TLSRoute"
}

// policyRoute is what targeting a route needs to know of it, whatever its
// kind: its rule names and its parentRefs.
type policyRoute struct {
	rules   []string
	parents []gatewayv1.ParentReference
}

// policyRouteOf finds the route of kind named nn.
func (t *translator) policyRouteOf(kind string, nn types.NamespacedName) (policyRoute, bool) {
	switch kind {
	case "HTTPRoute":
		return findPolicyRoute(t.res.HTTPRoutes, nn, func(r *gatewayv1.HTTPRoute) policyRoute {
			return newPolicyRoute(r.Spec.Rules, func(x gatewayv1.HTTPRouteRule) *gatewayv1.SectionName { return x.Name }, r.Spec.ParentRefs)
		})
	case "GRPCRoute":
		return findPolicyRoute(t.res.GRPCRoutes, nn, func(r *gatewayv1.GRPCRoute) policyRoute {
			return newPolicyRoute(r.Spec.Rules, func(x gatewayv1.GRPCRouteRule) *gatewayv1.SectionName { return x.Name }, r.Spec.ParentRefs)
		})
	case "TLSRoute":
		return findPolicyRoute(t.res.TLSRoutes, nn, func(r *gatewayv1.TLSRoute) policyRoute {
			return newPolicyRoute(r.Spec.Rules, func(x gatewayv1.TLSRouteRule) *gatewayv1.SectionName { return x.Name }, r.Spec.ParentRefs)
		})
	}
	return policyRoute{}, false
}

// findPolicyRoute finds the route named nn among routes and describes it.
func findPolicyRoute[R interface {
	GetNamespace() string
	GetName() string
}](routes []R, nn types.NamespacedName, describe func(R) policyRoute) (policyRoute, bool) {
	for _, r := range routes {
		if r.GetNamespace() == nn.Namespace && r.GetName() == nn.Name {
			return describe(r), true
		}
	}
	return policyRoute{}, false
}

// newPolicyRoute collects the rule names (empty for an unnamed rule) of a
// route of any kind.
func newPolicyRoute[Rule any](rules []Rule, name func(Rule) *gatewayv1.SectionName, parents []gatewayv1.ParentReference) policyRoute {
	out := policyRoute{parents: parents}
	for _, rule := range rules {
		n := ""
		if p := name(rule); p != nil {
			n = string(*p)
		}
		out.rules = append(out.rules, n)
	}
	return out
}

// findRouteTarget says why a route target does not exist, or "".
func (t *translator) findRouteTarget(key ccpKey) string {
	r, ok := t.policyRouteOf(key.kind, key.name)
	switch {
	case !ok:
		return fmt.Sprintf("%s %s not found", key.kind, key.name)
	case key.section != "" && !slices.Contains(r.rules, key.section):
		return fmt.Sprintf("%s %s has no rule named %q", key.kind, key.name, key.section)
	}
	return ""
}

// findGatewayTarget says why a Gateway target does not exist, or "". A
// Gateway of another controller, or one not accepted, cannot be governed by
// a ClientCertPolicy, so it counts as not found, with a message saying so.
func (t *translator) findGatewayTarget(key ccpKey) string {
	for _, gw := range t.gateways {
		if gw.Namespace != key.name.Namespace || gw.Name != key.name.Name {
			continue
		}
		if key.section == "" {
			return ""
		}
		for _, l := range gw.Spec.Listeners {
			if string(l.Name) == key.section {
				return ""
			}
		}
		return fmt.Sprintf("Gateway %s has no listener named %q", key.name, key.section)
	}
	for _, gw := range t.res.Gateways {
		if gw.Namespace == key.name.Namespace && gw.Name == key.name.Name {
			return fmt.Sprintf("Gateway %s is not an accepted Gateway of %s", key.name, t.opts.ControllerName)
		}
	}
	return fmt.Sprintf("Gateway %s not found", key.name)
}

// ancestorsOf returns the status ancestors of a target, per GEP-713 the
// Gateways it is reached through:
//   - a Gateway target: that Gateway, whether or not it exists;
//   - a route target: the Gateways whose listeners it is attached to
//     in the snapshot, else the accepted Gateways its parentRefs name.
//
// A route reached through none of them (missing, or attached only to
// other controllers' Gateways) has no Gateway to report on, so the route
// itself is the ancestorRef. ClientCertPolicy is certgate's own API, so no
// other controller writes its status and this entry cannot be missed or
// fought over; without it, a policy with a misspelt target would have an
// empty status, which a user reads as "not processed yet".
func (t *translator) ancestorsOf(key ccpKey) []gatewayv1.ParentReference {
	if !isRouteKind(key.kind) {
		return []gatewayv1.ParentReference{gatewayRef(key.name)}
	}
	seen := map[types.NamespacedName]bool{}
	t.eachServedListener(func(ls *listenerState, l *snapshot.Listener) {
		for _, r := range l.Routes {
			if r.Namespace == key.name.Namespace && r.Name == key.name.Name && routeKindName(r.Kind) == key.kind {
				seen[ls.gatewayName()] = true
			}
		}
	})
	if len(seen) == 0 {
		t.routeParentGateways(key, seen)
	}
	if len(seen) == 0 {
		return []gatewayv1.ParentReference{parentRef(key.kind, key.name, "")}
	}
	var out []gatewayv1.ParentReference
	for _, nn := range sortedNames(seen) {
		out = append(out, gatewayRef(nn))
	}
	return out
}

// routeParentGateways adds to seen the accepted Gateways the route's
// parentRefs name.
func (t *translator) routeParentGateways(key ccpKey, seen map[types.NamespacedName]bool) {
	accepted := t.acceptedGateways()
	r, _ := t.policyRouteOf(key.kind, key.name)
	for _, pr := range r.parents {
		if pr.Kind != nil && *pr.Kind != "Gateway" {
			continue
		}
		ns := key.name.Namespace
		if pr.Namespace != nil {
			ns = string(*pr.Namespace)
		}
		if nn := nameOf(ns, string(pr.Name)); accepted[nn] {
			seen[nn] = true
		}
	}
}

// ptrEq reports whether p is set to v.
func ptrEq[T comparable](p *T, v T) bool { return p != nil && *p == v }
