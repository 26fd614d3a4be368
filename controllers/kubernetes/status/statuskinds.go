package status

import (
	"context"

	"k8s.io/apimachinery/pkg/types"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
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

// writeHTTPRoutes visits every route, not only those in the result: a
// route that no longer attaches to certgate's Gateways must lose the
// parent entries certgate wrote before.
func (w *Writer) writeHTTPRoutes(ctx context.Context, u *Update) {
	want := map[types.NamespacedName][]gatewayv1.RouteParentStatus{}
	for _, s := range u.Result.Status.HTTPRoutes {
		want[s.NamespacedName] = s.Status.Parents
	}
	for _, r := range u.Resources.HTTPRoutes {
		parents := want[nn(r)]
		obj := r.DeepCopy()
		w.write(ctx, obj, func() bool { return mergeRouteStatus(&obj.Status.RouteStatus, parents, w.controller) })
	}
}

// writeGRPCRoutes is writeHTTPRoutes for GRPCRoutes.
func (w *Writer) writeGRPCRoutes(ctx context.Context, u *Update) {
	want := map[types.NamespacedName][]gatewayv1.RouteParentStatus{}
	for _, s := range u.Result.Status.GRPCRoutes {
		want[s.NamespacedName] = s.Status.Parents
	}
	for _, r := range u.Resources.GRPCRoutes {
		parents := want[nn(r)]
		obj := r.DeepCopy()
		w.write(ctx, obj, func() bool { return mergeRouteStatus(&obj.Status.RouteStatus, parents, w.controller) })
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
		w.write(ctx, obj, func() bool { return mergeClientCertPolicyStatus(&obj.Status, s, w.controller) })
	}
}
