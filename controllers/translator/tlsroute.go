package translator

import (
	"strings"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/certgate/certgate/dataplane/snapshot"
)

// translateTLSRoutes attaches every TLSRoute to the TLS listeners its
// parentRefs select, adds it to them in the snapshot, and writes its
// status for each parentRef naming a Gateway of ours. It is the HTTPRoute
// stage for a route of one rule, without matches or filters: the SNI
// matched against its hostnames is all that selects it.
func (t *translator) translateTLSRoutes() {
	for _, r := range t.res.TLSRoutes {
		t.translateTLSRoute(r)
	}
}

func (t *translator) translateTLSRoute(r *gatewayv1.TLSRoute) {
	var b *routeBuild
	st := &gatewayv1.TLSRouteStatus{}
	done := map[*listenerState]int{}
	for _, ref := range r.Spec.ParentRefs {
		ls, ours := t.gatewayOf(r.Namespace, ref)
		if !ours {
			continue
		}
		if b == nil {
			b = t.buildTLSRoute(r)
		}
		res := t.attach(routeRef{kindTLSRoute, r.Namespace, r.Spec.Hostnames}, ref, ls)
		if res.rejected.reason == "" && b.badHostname != "" {
			res = rejectedParent(gatewayv1.RouteReasonUnsupportedValue, b.badHostname)
		}
		if res.rejected.reason == "" && b.allInvalid() {
			res = rejectedParent(b.invalidReason, "no rule can be served: "+strings.Join(b.invalid, "; "))
		}
		for _, a := range res.attached {
			head := snapshot.Route{Kind: snapshot.RouteKindTLS, Namespace: r.Namespace, Name: r.Name, CreationTimestamp: r.CreationTimestamp.UTC()}
			t.addRoute(head, a, b, done)
		}
		st.Parents = append(st.Parents, t.parentStatus(r.Generation, ref, res, b))
	}
	if len(st.Parents) > 0 {
		t.tlsStatus[nameOf(r.Namespace, r.Name)] = st
	}
}

// buildTLSRoute converts a TLSRoute's rule (the API allows one) and checks
// its hostnames. A route without rules gets one rule without backends,
// whose connections are closed.
func (t *translator) buildTLSRoute(r *gatewayv1.TLSRoute) *routeBuild {
	b := &routeBuild{total: 1}
	for _, h := range r.Spec.Hostnames {
		if !validHostname(string(h)) && b.badHostname == "" {
			b.badHostname = "hostname " + string(h) + " is not a lowercase DNS name or a leading-wildcard one"
		}
	}
	rule := snapshot.Rule{}
	if len(r.Spec.Rules) > 0 {
		spec := r.Spec.Rules[0]
		if spec.Name != nil {
			rule.Name = string(*spec.Name)
		}
		for _, ref := range spec.BackendRefs {
			rule.Backends = append(rule.Backends, t.tlsBackend(r.Namespace, ref, b))
		}
	}
	b.rules = []snapshot.Rule{rule}
	return b
}

// tlsBackend converts one backendRef of a TLSRoute; weight defaults to 1.
func (t *translator) tlsBackend(routeNS string, ref gatewayv1.BackendRef, b *routeBuild) snapshot.WeightedBackend {
	backend, p := t.resolveBackend(kindTLSRoute, routeNS, ref.BackendObjectReference)
	if p != nil {
		b.refs = append(b.refs, *p)
	}
	weight := int32(1)
	if ref.Weight != nil {
		weight = max(*ref.Weight, 0)
	}
	return snapshot.WeightedBackend{Backend: backend, Weight: weight}
}
