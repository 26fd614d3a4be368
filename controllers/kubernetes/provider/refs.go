package provider

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/certgate/certgate/api/v1alpha1"
	"github.com/certgate/certgate/controllers/resources"
)

// backendClientCertOption is the BackendTLSPolicy option naming the Secret
// certgate presents to that backend (DESIGN.md, Backend TLS).
const backendClientCertOption gatewayv1.AnnotationKey = v1alpha1.BackendTLSOptionClientCertificate

// ref names a Secret or ConfigMap.
type ref struct {
	Kind string // "Secret" or "ConfigMap"
	types.NamespacedName
}

// refSet is the set of Secrets and ConfigMaps some object names.
type refSet map[ref]struct{}

func (s refSet) add(kind string, ns, name string) {
	if (kind == "Secret" || kind == "ConfigMap") && name != "" {
		s[ref{kind, types.NamespacedName{Namespace: ns, Name: name}}] = struct{}{}
	}
}

// referencedBy collects every Secret and ConfigMap that res names. It is
// deliberately generous: a reference that ReferenceGrants do not allow is
// still fetched, and the translator decides. Missing one here would make
// the translator report an existing object as missing.
func referencedBy(res *resources.Resources) refSet {
	s := refSet{}
	for _, gw := range res.Gateways {
		gatewayRefs(s, gw)
	}
	for _, p := range res.BackendTLSPolicies {
		for _, r := range p.Spec.Validation.CACertificateRefs {
			s.add(string(r.Kind), p.Namespace, string(r.Name))
		}
		if name := p.Spec.Options[backendClientCertOption]; name != "" {
			s.add("Secret", p.Namespace, string(name))
		}
	}
	for _, p := range res.ClientCertPolicies {
		policyRefs(s, p)
	}
	return s
}

func gatewayRefs(s refSet, gw *gatewayv1.Gateway) {
	for _, l := range gw.Spec.Listeners {
		if l.TLS == nil {
			continue
		}
		for _, r := range l.TLS.CertificateRefs {
			s.add(kindOr(r.Kind, "Secret"), namespaceOr(r.Namespace, gw.Namespace), string(r.Name))
		}
	}
	tls := gw.Spec.TLS
	if tls == nil {
		return
	}
	if b := tls.Backend; b != nil && b.ClientCertificateRef != nil {
		r := b.ClientCertificateRef
		s.add(kindOr(r.Kind, "Secret"), namespaceOr(r.Namespace, gw.Namespace), string(r.Name))
	}
	if f := tls.Frontend; f != nil {
		frontendRefs(s, gw.Namespace, f.Default.Validation)
		for _, pp := range f.PerPort {
			frontendRefs(s, gw.Namespace, pp.TLS.Validation)
		}
	}
}

func frontendRefs(s refSet, ns string, v *gatewayv1.FrontendTLSValidation) {
	if v == nil {
		return
	}
	for _, r := range v.CACertificateRefs {
		s.add(string(r.Kind), namespaceOr(r.Namespace, ns), string(r.Name))
	}
}

func policyRefs(s refSet, p *v1alpha1.ClientCertPolicy) {
	for _, src := range p.Spec.PinsFrom {
		s.add(string(src.Kind), p.Namespace, src.Name)
	}
	if p.Spec.Trust != nil {
		for _, r := range p.Spec.Trust.CACertificateRefs {
			s.add(string(r.Kind), p.Namespace, r.Name)
		}
	}
}

func kindOr(k *gatewayv1.Kind, def string) string {
	if k == nil || *k == "" {
		return def
	}
	return string(*k)
}

func namespaceOr(ns *gatewayv1.Namespace, def string) string {
	if ns == nil || *ns == "" {
		return def
	}
	return string(*ns)
}

// refStore holds the referenced Secrets and ConfigMaps, read whole from the
// API server and reused while their resourceVersion is unchanged.
type refStore struct {
	// meta reads the metadata-only cache; api reads the API server.
	meta, api client.Reader
	// watched is the set of namespaces the cache holds; nil means all.
	watched map[string]bool

	// wanted is the reference set of the latest run; event handlers read
	// it to ignore changes to objects nobody references.
	wanted atomic.Pointer[refSet]

	mu      sync.Mutex
	objects map[ref]client.Object
}

func newRefStore(meta, api client.Reader, namespaces []string) *refStore {
	st := &refStore{meta: meta, api: api, objects: map[ref]client.Object{}}
	if len(namespaces) > 0 {
		st.watched = map[string]bool{}
		for _, ns := range namespaces {
			st.watched[ns] = true
		}
	}
	return st
}

// Referenced reports whether the latest run referenced kind ns/name.
func (st *refStore) Referenced(kind, ns, name string) bool {
	w := st.wanted.Load()
	if w == nil {
		return false
	}
	_, ok := (*w)[ref{kind, types.NamespacedName{Namespace: ns, Name: name}}]
	return ok
}

// fill adds the referenced Secrets and ConfigMaps that exist to res.
//
// Ordering matters for not missing a change: the new reference set is
// published before the metadata cache is read. An object created or
// changed concurrently is then either already in the cache when fill looks
// (and is fetched now), or its event is delivered after the cache update,
// hence after publication, and the handler sees it as referenced and
// triggers another run.
func (st *refStore) fill(ctx context.Context, res *resources.Resources) error {
	wanted := referencedBy(res)
	st.wanted.Store(&wanted)
	st.mu.Lock()
	defer st.mu.Unlock()
	for r := range st.objects {
		if _, ok := wanted[r]; !ok {
			delete(st.objects, r)
		}
	}
	for r := range wanted {
		obj, err := st.current(ctx, r)
		if err != nil {
			return err
		}
		if obj != nil {
			if err := res.Add(obj); err != nil {
				return err
			}
		}
	}
	return nil
}

// current returns the object r names, or nil if it does not exist,
// fetching it only when the cached metadata shows a newer version than the
// copy held. An object outside the watched namespaces counts as missing:
// the cache cannot see it and the RBAC of a namespace-scoped install does
// not allow reading it, so a reference to it fails closed.
func (st *refStore) current(ctx context.Context, r ref) (client.Object, error) {
	if st.watched != nil && !st.watched[r.Namespace] {
		return nil, nil
	}
	m := metadataOf(r.Kind)
	if err := st.meta.Get(ctx, r.NamespacedName, m); apierrors.IsNotFound(err) {
		delete(st.objects, r)
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("%s %s from the metadata cache: %w", r.Kind, r.NamespacedName, err)
	}
	if held, ok := st.objects[r]; ok && held.GetResourceVersion() == m.ResourceVersion {
		return held, nil
	}
	obj := newRefObject(r.Kind)
	if err := st.api.Get(ctx, r.NamespacedName, obj); apierrors.IsNotFound(err) {
		delete(st.objects, r)
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("get %s %s: %w", r.Kind, r.NamespacedName, err)
	}
	obj.SetManagedFields(nil)
	st.objects[r] = obj
	return obj, nil
}

func newRefObject(kind string) client.Object {
	if kind == "Secret" {
		return &corev1.Secret{}
	}
	return &corev1.ConfigMap{}
}
