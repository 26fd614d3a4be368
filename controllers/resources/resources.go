// Package resources collects the Kubernetes objects certgate translates into
// one plain value. Both sources fill it: the Kubernetes provider from its
// informer caches, the file provider from YAML files. The translator reads
// nothing else.
package resources

import (
	"cmp"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/certgate/certgate/api/v1alpha1"
)

// Resources is everything the translator may look at. Objects are
// pointers into the source's data and must not be modified.
type Resources struct {
	GatewayClasses     []*gatewayv1.GatewayClass
	Gateways           []*gatewayv1.Gateway
	HTTPRoutes         []*gatewayv1.HTTPRoute
	TLSRoutes          []*gatewayv1.TLSRoute
	GRPCRoutes         []*gatewayv1.GRPCRoute
	ReferenceGrants    []*gatewayv1.ReferenceGrant
	BackendTLSPolicies []*gatewayv1.BackendTLSPolicy
	ClientCertPolicies []*v1alpha1.ClientCertPolicy
	Services           []*corev1.Service
	EndpointSlices     []*discoveryv1.EndpointSlice
	Secrets            []*corev1.Secret
	ConfigMaps         []*corev1.ConfigMap
	Namespaces         []*corev1.Namespace
}

// Add appends obj to its list. An object of a kind the translator does
// not read is an error.
func (r *Resources) Add(obj client.Object) error {
	switch o := obj.(type) {
	case *gatewayv1.GatewayClass:
		r.GatewayClasses = append(r.GatewayClasses, o)
	case *gatewayv1.Gateway:
		r.Gateways = append(r.Gateways, o)
	case *gatewayv1.HTTPRoute:
		r.HTTPRoutes = append(r.HTTPRoutes, o)
	case *gatewayv1.TLSRoute:
		r.TLSRoutes = append(r.TLSRoutes, o)
	case *gatewayv1.GRPCRoute:
		r.GRPCRoutes = append(r.GRPCRoutes, o)
	case *gatewayv1.ReferenceGrant:
		r.ReferenceGrants = append(r.ReferenceGrants, o)
	case *gatewayv1.BackendTLSPolicy:
		r.BackendTLSPolicies = append(r.BackendTLSPolicies, o)
	case *v1alpha1.ClientCertPolicy:
		r.ClientCertPolicies = append(r.ClientCertPolicies, o)
	case *corev1.Service:
		r.Services = append(r.Services, o)
	case *discoveryv1.EndpointSlice:
		r.EndpointSlices = append(r.EndpointSlices, o)
	case *corev1.Secret:
		r.Secrets = append(r.Secrets, o)
	case *corev1.ConfigMap:
		r.ConfigMaps = append(r.ConfigMaps, o)
	case *corev1.Namespace:
		r.Namespaces = append(r.Namespaces, o)
	default:
		return fmt.Errorf("%T is not a kind certgate reads", obj)
	}
	return nil
}

// Sort orders every list by namespace and name, so the same objects give
// the same translation whatever order the source listed them in.
func (r *Resources) Sort() {
	sortObjects(r.GatewayClasses)
	sortObjects(r.Gateways)
	sortObjects(r.HTTPRoutes)
	sortObjects(r.TLSRoutes)
	sortObjects(r.GRPCRoutes)
	sortObjects(r.ReferenceGrants)
	sortObjects(r.BackendTLSPolicies)
	sortObjects(r.ClientCertPolicies)
	sortObjects(r.Services)
	sortObjects(r.EndpointSlices)
	sortObjects(r.Secrets)
	sortObjects(r.ConfigMaps)
	sortObjects(r.Namespaces)
}

// sortObjects sorts objs by namespace and name. A list already in order
// is left as it is: a source that lists objects in the order of its last
// sorted list (the file provider after an edit) costs one pass, not a
// sort of thousands of names.
func sortObjects[T client.Object](objs []T) {
	byName := func(a, b T) int {
		return cmp.Or(cmp.Compare(a.GetNamespace(), b.GetNamespace()), cmp.Compare(a.GetName(), b.GetName()))
	}
	if !slices.IsSortedFunc(objs, byName) {
		slices.SortFunc(objs, byName)
	}
}

// Objects returns every object, kind after kind in the order of the
// fields of Resources, each kind in its list's order.
func (r *Resources) Objects() []client.Object {
	out := make([]client.Object, 0, r.count())
	out = appendObjects(out, r.GatewayClasses)
	out = appendObjects(out, r.Gateways)
	out = appendObjects(out, r.HTTPRoutes)
	out = appendObjects(out, r.TLSRoutes)
	out = appendObjects(out, r.GRPCRoutes)
	out = appendObjects(out, r.ReferenceGrants)
	out = appendObjects(out, r.BackendTLSPolicies)
	out = appendObjects(out, r.ClientCertPolicies)
	out = appendObjects(out, r.Services)
	out = appendObjects(out, r.EndpointSlices)
	out = appendObjects(out, r.Secrets)
	out = appendObjects(out, r.ConfigMaps)
	return appendObjects(out, r.Namespaces)
}

func (r *Resources) count() int {
	return len(r.GatewayClasses) + len(r.Gateways) + len(r.HTTPRoutes) + len(r.TLSRoutes) + len(r.GRPCRoutes) +
		len(r.ReferenceGrants) + len(r.BackendTLSPolicies) + len(r.ClientCertPolicies) + len(r.Services) +
		len(r.EndpointSlices) + len(r.Secrets) + len(r.ConfigMaps) + len(r.Namespaces)
}

func appendObjects[T client.Object](out []client.Object, objs []T) []client.Object {
	for _, o := range objs {
		out = append(out, o)
	}
	return out
}
