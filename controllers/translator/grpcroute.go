package translator

import (
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/certgate/certgate/dataplane/snapshot"
)

// translateGRPCRoutes attaches every GRPCRoute like an HTTPRoute: a
// GRPCRoute rule is an HTTPRoute rule whose matches are gRPC calls (a
// POST with a gRPC content type to /service/method, grpcmatch.go), so the
// same attachment, snapshot rules and data plane serve both.
func (t *translator) translateGRPCRoutes() {
	for _, g := range t.res.GRPCRoutes {
		t.translateRoute(grpcRouteHead(g), func() *routeBuild { return t.buildGRPCRoute(g) })
	}
}

// buildGRPCRoute converts a GRPCRoute's rules. A route without rules gets
// one rule matching every gRPC call, with no backend (UNAVAILABLE).
func (t *translator) buildGRPCRoute(g *gatewayv1.GRPCRoute) *routeBuild {
	return buildRules(kindGRPCRoute, g.Spec.Hostnames, g.Spec.Rules, func(i int, rule *gatewayv1.GRPCRouteRule, b *routeBuild) {
		t.buildGRPCRule(g.Namespace, i, rule, b)
	})
}

// buildGRPCRule converts one GRPCRoute rule into b, with buildRule's
// handling of what cannot be served.
func (t *translator) buildGRPCRule(routeNS string, i int, rule *gatewayv1.GRPCRouteRule, b *routeBuild) {
	out := snapshot.Rule{}
	if rule.Name != nil {
		out.Name = string(*rule.Name)
	}
	var err *ruleError
	if out.Matches, err = convertGRPCMatches(rule.Matches); err != nil {
		b.dropRule(i, out.Name, err, "")
		return
	}
	refs := make([]gatewayv1.HTTPBackendRef, len(rule.BackendRefs))
	for j, ref := range rule.BackendRefs {
		refs[j] = gatewayv1.HTTPBackendRef{BackendRef: ref.BackendRef, Filters: httpFilters(ref.Filters)}
	}
	t.buildActions(routeNS, i, out, httpFilters(rule.Filters), refs, b)
	speakHTTP2(&b.rules[len(b.rules)-1])
}

// speakHTTP2 makes the backends of a GRPCRoute rule, mirrors included,
// HTTP/2 backends when their Service port does not name a protocol: gRPC
// runs over HTTP/2 only, and the HTTP/1.1 an HTTPRoute backend gets by
// default would fail every call. They are then spoken to as
// kubernetes.io/h2c says (upstream.protocols): HTTP/2 with prior
// knowledge in cleartext, h2 by ALPN under a BackendTLSPolicy. A port
// that names another protocol keeps it.
func speakHTTP2(rule *snapshot.Rule) {
	for i := range rule.Backends {
		if rule.Backends[i].AppProtocol == snapshot.AppProtocolHTTP {
			rule.Backends[i].AppProtocol = snapshot.AppProtocolH2C
		}
	}
	for _, f := range rule.Filters {
		if m := f.RequestMirror; m != nil && m.Backend.AppProtocol == snapshot.AppProtocolHTTP {
			m.Backend.AppProtocol = snapshot.AppProtocolH2C
		}
	}
}

// httpFilters converts GRPCRoute filters to the HTTPRoute filters of the
// same meaning: the header modifiers and the mirror share their types.
// Only the fields a GRPCRoute filter has are copied, so ExtensionRef and
// any type an HTTPRoute has and a GRPCRoute has not ("URLRewrite" with
// no urlRewrite field) are refused by convertFilters as for an HTTPRoute:
// the rule keeps its matches and answers 500 (UNAVAILABLE).
func httpFilters(fs []gatewayv1.GRPCRouteFilter) []gatewayv1.HTTPRouteFilter {
	out := make([]gatewayv1.HTTPRouteFilter, 0, len(fs))
	for _, f := range fs {
		out = append(out, gatewayv1.HTTPRouteFilter{
			Type:                   gatewayv1.HTTPRouteFilterType(f.Type),
			RequestHeaderModifier:  f.RequestHeaderModifier,
			ResponseHeaderModifier: f.ResponseHeaderModifier,
			RequestMirror:          f.RequestMirror,
			ExtensionRef:           f.ExtensionRef,
		})
	}
	return out
}
