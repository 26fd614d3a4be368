package provider

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/certgate/certgate/api/v1alpha1"
	"github.com/certgate/certgate/controllers/resources"
)

func gateway(ns, name string) *gatewayv1.Gateway {
	return &gatewayv1.Gateway{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
}

func TestReferencedByFindsEverySecretAndConfigMapTheTranslatorReads(t *testing.T) {
	gw := gateway("gw-ns", "gw")
	gw.Spec.Listeners = []gatewayv1.Listener{{TLS: &gatewayv1.ListenerTLSConfig{CertificateRefs: []gatewayv1.SecretObjectReference{
		{Name: "serving"}, {Name: "shared", Namespace: ptr.To(gatewayv1.Namespace("certs"))},
	}}}}
	gw.Spec.TLS = &gatewayv1.GatewayTLSConfig{
		Backend: &gatewayv1.GatewayBackendTLS{ClientCertificateRef: &gatewayv1.SecretObjectReference{Name: "upstream-client"}},
		Frontend: &gatewayv1.FrontendTLSConfig{Default: gatewayv1.TLSConfig{Validation: &gatewayv1.FrontendTLSValidation{
			CACertificateRefs: []gatewayv1.ObjectReference{{Kind: "ConfigMap", Name: "client-ca"}},
		}}},
	}
	btls := &gatewayv1.BackendTLSPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "btls"}}
	btls.Spec.Validation.CACertificateRefs = []gatewayv1.LocalObjectReference{{Kind: "ConfigMap", Name: "backend-ca"}}
	btls.Spec.Options = map[gatewayv1.AnnotationKey]gatewayv1.AnnotationValue{backendClientCertOption: "per-backend"}
	policy := &v1alpha1.ClientCertPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "p"}}
	policy.Spec.PinsFrom = []v1alpha1.PinSource{{Kind: v1alpha1.KindSecret, Name: "pins", Key: "pins"}}
	policy.Spec.Trust = &v1alpha1.Trust{CACertificateRefs: []v1alpha1.CACertificateRef{{Kind: v1alpha1.KindConfigMap, Name: "partner-ca"}}}

	got := referencedBy(&resources.Resources{
		Gateways: []*gatewayv1.Gateway{gw}, BackendTLSPolicies: []*gatewayv1.BackendTLSPolicy{btls},
		ClientCertPolicies: []*v1alpha1.ClientCertPolicy{policy},
	})
	for _, want := range []ref{
		{"Secret", types.NamespacedName{Namespace: "gw-ns", Name: "serving"}},
		{"Secret", types.NamespacedName{Namespace: "certs", Name: "shared"}},
		{"Secret", types.NamespacedName{Namespace: "gw-ns", Name: "upstream-client"}},
		{"ConfigMap", types.NamespacedName{Namespace: "gw-ns", Name: "client-ca"}},
		{"ConfigMap", types.NamespacedName{Namespace: "app", Name: "backend-ca"}},
		{"Secret", types.NamespacedName{Namespace: "app", Name: "per-backend"}},
		{"Secret", types.NamespacedName{Namespace: "app", Name: "pins"}},
		{"ConfigMap", types.NamespacedName{Namespace: "app", Name: "partner-ca"}},
	} {
		if _, ok := got[want]; !ok {
			t.Errorf("%s %s is not in the reference set", want.Kind, want.NamespacedName)
		}
	}
	if len(got) != 8 {
		t.Errorf("reference set has %d entries, want 8: %v", len(got), got)
	}
}

// TestReferenceOutsideTheWatchedNamespacesIsMissing: with watched
// namespaces, a reference elsewhere counts as missing without a read (the
// readers here are nil: a read would panic), so translation fails closed
// instead of retrying a read the cache and RBAC cannot serve.
func TestReferenceOutsideTheWatchedNamespacesIsMissing(t *testing.T) {
	st := newRefStore(nil, nil, []string{"apps"})
	obj, err := st.current(t.Context(), ref{"Secret", types.NamespacedName{Namespace: "elsewhere", Name: "pins"}})
	if obj != nil || err != nil {
		t.Errorf("current = %v, %v; want nil, nil", obj, err)
	}
}
