package translator

import (
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/certgate/certgate/dataplane/snapshot"
)

// translateTLSRoutes attaches every TLSRoute like an HTTPRoute: it is a
// route of one rule, without matches or filters, and the SNI matched
// against its hostnames is all that selects it.
func (t *translator) translateTLSRoutes() {
	for _, r := range t.res.TLSRoutes {
		t.translateRoute(tlsRouteHead(r), func() *routeBuild { return t.buildTLSRoute(r) })
	}
}

// buildTLSRoute converts a TLSRoute's rule (the API allows one) and checks
// its hostnames. A route without rules gets one rule without backends,
// whose connections are closed.
func (t *translator) buildTLSRoute(r *gatewayv1.TLSRoute) *routeBuild {
	b := &routeBuild{kind: kindTLSRoute, total: 1}
	b.checkHostnames(r.Spec.Hostnames)
	rule := snapshot.Rule{}
	if len(r.Spec.Rules) > 0 {
		spec := r.Spec.Rules[0]
		if spec.Name != nil {
			rule.Name = string(*spec.Name)
		}
		for _, ref := range spec.BackendRefs {
			rule.Backends = append(rule.Backends, t.weightedBackend(r.Namespace, ref, b))
		}
	}
	b.rules = []snapshot.Rule{rule}
	return b
}
