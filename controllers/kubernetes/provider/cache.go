package provider

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/certgate/certgate/api/v1alpha1"
	"github.com/certgate/certgate/controllers/resources"
)

// What the provider caches, and why.
//
// Full objects are cached for the kinds the translator reads whole and that
// are few or small: the Gateway API kinds, ClientCertPolicies, Services,
// EndpointSlices and Namespaces (allowedRoutes selects namespaces by label).
//
// Secrets and ConfigMaps are the exception. A cluster holds many, most are
// large (Helm releases, service account tokens, application config) and
// certgate needs only the handful that Gateways and policies name. A label
// selector cannot pick those out, since a referenced object carries
// whatever labels its owner gave it, and a type filter (kubernetes.io/tls)
// would miss the Opaque Secrets and ConfigMaps that pinsFrom, trust and
// BackendTLSPolicy point at. So these two kinds are cached as metadata only
// (PartialObjectMetadata: name, namespace, resourceVersion; a few hundred
// bytes each), which is enough to notice every change, and the referenced
// ones are read whole from the API server and kept in a small store keyed
// by resourceVersion (refs.go). Memory is then O(all Secrets+ConfigMaps ×
// metadata) + O(referenced × data), instead of O(all × data).
//
// The trade-off: RBAC must still grant list and watch on Secrets (the API
// server has no metadata-only permission), and a changed referenced object
// costs one extra GET.

// fullKinds are the kinds cached whole.
func fullKinds() []client.Object {
	return []client.Object{
		&gatewayv1.GatewayClass{}, &gatewayv1.Gateway{}, &gatewayv1.HTTPRoute{},
		&gatewayv1.GRPCRoute{}, &gatewayv1.TLSRoute{},
		&gatewayv1.ReferenceGrant{}, &gatewayv1.BackendTLSPolicy{}, &v1alpha1.ClientCertPolicy{},
		&corev1.Service{}, &discoveryv1.EndpointSlice{}, &corev1.Namespace{},
	}
}

// metadataKinds are the kinds cached as metadata only.
func metadataKinds() []*metav1.PartialObjectMetadata {
	return []*metav1.PartialObjectMetadata{metadataOf("Secret"), metadataOf("ConfigMap")}
}

func metadataOf(kind string) *metav1.PartialObjectMetadata {
	return &metav1.PartialObjectMetadata{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: kind}}
}

// cacheOptions strips managedFields from every cached object (they are
// often larger than the object and certgate never reads them), and makes a
// read of a kind without a registered informer an error: otherwise a
// stray cached Get of a Secret would silently start a full Secret informer
// and undo the limit above.
//
// With namespaces, the cache holds namespaced objects of those namespaces
// only, so a ServiceAccount whose RBAC grants no more than Roles in them
// can list and watch; cluster-scoped kinds (GatewayClass, Namespace) are
// cached whole as before. Services are also cached in serviceNamespace
// (the Gateways' Services' namespace, empty when there is none), which
// the list may not hold.
func cacheOptions(namespaces []string, serviceNamespace string) cache.Options {
	o := cache.Options{
		DefaultTransform:            cache.TransformStripManagedFields(),
		ReaderFailOnMissingInformer: true,
		NewInformer:                 newInformer,
	}
	if len(namespaces) == 0 {
		return o
	}
	o.DefaultNamespaces = map[string]cache.Config{}
	for _, ns := range namespaces {
		o.DefaultNamespaces[ns] = cache.Config{}
	}
	if serviceNamespace != "" && !slices.Contains(namespaces, serviceNamespace) {
		services := maps.Clone(o.DefaultNamespaces)
		services[serviceNamespace] = cache.Config{}
		o.ByObject = map[client.Object]cache.ByObject{&corev1.Service{}: {Namespaces: services}}
	}
	return o
}

// newInformer is client-go's shared informer, made to list and then watch
// instead of streaming its list over a watch (client-go's WatchListClient
// feature, on by default): the streaming path sleeps out its reconnection
// back-off without looking at its context (client-go v0.37,
// tools/cache/reflector.go, watchList). After an API server outage that
// back-off has grown to 30 s, up to 60 s with jitter, and an informer
// asleep in it holds up the manager's shutdown, and so the drain, for
// that long. List-then-watch waits out the same back-off but ends it when
// its context ends. What it costs is a LIST, instead of a watch, each time
// an informer (re)starts: small for certgate's kinds, the largest of which,
// Secrets and ConfigMaps, are cached as metadata only.
func newInformer(lw toolscache.ListerWatcher, obj runtime.Object, resync time.Duration, idx toolscache.Indexers) toolscache.SharedIndexInformer {
	return toolscache.NewSharedIndexInformer(listThenWatch{lw, toolscache.ToListerWatcherWithContext(lw)}, obj, resync, idx)
}

// listThenWatch is a ListerWatcher that declines the streaming list.
type listThenWatch struct {
	toolscache.ListerWatcher
	toolscache.ListerWatcherWithContext
}

// IsWatchListSemanticsUnSupported tells client-go's reflector to list,
// then watch.
func (listThenWatch) IsWatchListSemanticsUnSupported() bool { return true }

// listFull lists every fully cached kind into res. The items are not
// deep-copied: a run lists every object, and copying each of thousands of
// routes on every change would cost more than translating them. The items
// share their maps and slices with the cache, so nothing may modify them:
// the translator only reads, and the status writer copies an object
// before it writes (package status).
func listFull(ctx context.Context, r client.Reader, res *resources.Resources) error {
	lists := []client.ObjectList{
		&gatewayv1.GatewayClassList{}, &gatewayv1.GatewayList{}, &gatewayv1.HTTPRouteList{},
		&gatewayv1.GRPCRouteList{}, &gatewayv1.TLSRouteList{},
		&gatewayv1.ReferenceGrantList{}, &gatewayv1.BackendTLSPolicyList{}, &v1alpha1.ClientCertPolicyList{},
		&corev1.ServiceList{}, &discoveryv1.EndpointSliceList{}, &corev1.NamespaceList{},
	}
	for _, l := range lists {
		if err := r.List(ctx, l, client.UnsafeDisableDeepCopy); err != nil {
			return fmt.Errorf("list %T from the cache: %w", l, err)
		}
		if err := addItems(res, l); err != nil {
			return err
		}
	}
	return nil
}

// addItems appends the items of l to res. meta.EachListItem hands out
// pointers into the list, whose items are shallow copies of the cache's
// objects (see listFull); an item of a kind the translator does not read
// is an error.
func addItems(res *resources.Resources, l client.ObjectList) error {
	return meta.EachListItem(l, func(o runtime.Object) error {
		obj, ok := o.(client.Object)
		if !ok {
			return fmt.Errorf("%T in %T is not an object", o, l)
		}
		return res.Add(obj)
	})
}
