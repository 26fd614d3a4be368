package status

import (
	"context"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/certgate/certgate/controllers/translator"
)

// One writer per kind: it pairs each object the translation read with the
// status wanted for it, and writes what changed. Objects are deep-copied
// first: the ones in Resources are shared with the cache.

func (w *Writer) writeGatewayClasses(ctx context.Context, u *Update) {
	want := map[string]gatewayv1.GatewayClassStatus{}
	for _, s := range u.Result.Status.GatewayClasses {
		want[s.Name] = s.Status
	}
	for _, gc := range u.Resources.GatewayClasses {
		s, ok := want[gc.Name]
		if !ok {
			continue // another controller's class
		}
		obj := gc.DeepCopy()
		w.write(ctx, obj, func() bool { return mergeGatewayClassStatus(&obj.Status, s) })
	}
}

func (w *Writer) writeGateways(ctx context.Context, u *Update) {
	want := map[types.NamespacedName]gatewayv1.GatewayStatus{}
	for _, s := range u.Result.Status.Gateways {
		want[s.NamespacedName] = s.Status
	}
	for _, gw := range u.Resources.Gateways {
		s, ok := want[nn(gw)]
		if !ok {
			continue // another controller's Gateway
		}
		obj := gw.DeepCopy()
		w.write(ctx, obj, func() bool { return mergeGatewayStatus(&obj.Status, s) })
	}
}

// writeRoutes visits every route of each kind, not only those in the
// result: a route that no longer attaches to certgate's Gateways must lose
// the parent entries certgate wrote before.
func (w *Writer) writeRoutes(ctx context.Context, u *Update) {
	st, res := u.Result.Status, u.Resources
	writeRouteKind(ctx, w, res.HTTPRoutes, parentsByName(st.HTTPRoutes), func(r *gatewayv1.HTTPRoute) *gatewayv1.RouteStatus { return &r.Status.RouteStatus })
	writeRouteKind(ctx, w, res.GRPCRoutes, parentsByName(st.GRPCRoutes), func(r *gatewayv1.GRPCRoute) *gatewayv1.RouteStatus { return &r.Status.RouteStatus })
	writeRouteKind(ctx, w, res.TLSRoutes, parentsByName(st.TLSRoutes), func(r *gatewayv1.TLSRoute) *gatewayv1.RouteStatus { return &r.Status.RouteStatus })
}

// parentsByName indexes the parent statuses the translator computed for
// the routes of one kind.
func parentsByName(statuses []translator.RouteStatus) map[types.NamespacedName][]gatewayv1.RouteParentStatus {
	want := make(map[types.NamespacedName][]gatewayv1.RouteParentStatus, len(statuses))
	for _, s := range statuses {
		want[s.NamespacedName] = s.Status.Parents
	}
	return want
}

// writeRouteKind merges want into the status of every route of one kind.
func writeRouteKind[R client.Object](ctx context.Context, w *Writer, routes []R, want map[types.NamespacedName][]gatewayv1.RouteParentStatus, status func(R) *gatewayv1.RouteStatus) {
	for _, r := range routes {
		parents := want[nn(r)]
		obj := r.DeepCopyObject().(R)
		w.write(ctx, obj, func() bool { return mergeRouteStatus(status(obj), parents, w.controller) })
	}
}

func (w *Writer) writeBackendTLSPolicies(ctx context.Context, u *Update) {
	want := map[types.NamespacedName][]gatewayv1.PolicyAncestorStatus{}
	for _, s := range u.Result.Status.BackendTLSPolicies {
		want[s.NamespacedName] = s.Status.Ancestors
	}
	for _, p := range u.Resources.BackendTLSPolicies {
		ancestors := want[nn(p)]
		obj := p.DeepCopy()
		w.write(ctx, obj, func() bool { return mergeAncestors(&obj.Status.Ancestors, ancestors, w.controller) })
	}
}

func (w *Writer) writeClientCertPolicies(ctx context.Context, u *Update) {
	want := map[types.NamespacedName]int{}
	for i, s := range u.Result.Status.ClientCertPolicies {
		want[s.NamespacedName] = i
	}
	for _, p := range u.Resources.ClientCertPolicies {
		i, ok := want[nn(p)]
		if !ok {
			continue
		}
		s := u.Result.Status.ClientCertPolicies[i].Status
		obj := p.DeepCopy()
		var changes []acceptance
		written := w.write(ctx, obj, func() bool {
			changes = acceptanceChanges(obj.Status.Ancestors, s.Ancestors, w.controller)
			return mergeClientCertPolicyStatus(&obj.Status, s, w.controller)
		})
		if written {
			w.recordAcceptance(obj, changes)
		}
	}
}
