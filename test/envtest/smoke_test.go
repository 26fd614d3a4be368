package envtest_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	certgatev1alpha1 "github.com/certgate/certgate/api/v1alpha1"
	"github.com/certgate/certgate/test/envtest"
)

// TestSmoke starts a real kube-apiserver in the test's network namespace,
// creates a Gateway, an HTTPRoute and a ClientCertPolicy, and checks that the
// CRD's CEL rules reject a ClientCertPolicy that accepts no certificate.
func TestSmoke(t *testing.T) {
	env := envtest.Start(t)
	c := env.Client
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const ns = "default"

	gw := &gatewayv1.Gateway{
		ObjectMeta: metav1.ObjectMeta{Name: "gw", Namespace: ns},
		Spec: gatewayv1.GatewaySpec{
			GatewayClassName: "certgate",
			Listeners: []gatewayv1.Listener{{
				Name:     "http",
				Port:     8080,
				Protocol: gatewayv1.HTTPProtocolType,
			}},
		},
	}
	if err := c.Create(ctx, gw); err != nil {
		t.Fatalf("create Gateway: %v", err)
	}
	route := &gatewayv1.HTTPRoute{
		ObjectMeta: metav1.ObjectMeta{Name: "route", Namespace: ns},
		Spec: gatewayv1.HTTPRouteSpec{
			CommonRouteSpec: gatewayv1.CommonRouteSpec{
				ParentRefs: []gatewayv1.ParentReference{{Name: "gw"}},
			},
			Rules: []gatewayv1.HTTPRouteRule{{
				BackendRefs: []gatewayv1.HTTPBackendRef{{BackendRef: gatewayv1.BackendRef{
					BackendObjectReference: gatewayv1.BackendObjectReference{Name: "echo", Port: ptr.To(gatewayv1.PortNumber(8080))},
				}}},
			}},
		},
	}
	if err := c.Create(ctx, route); err != nil {
		t.Fatalf("create HTTPRoute: %v", err)
	}

	targets := []gatewayv1.LocalPolicyTargetReferenceWithSectionName{{
		LocalPolicyTargetReference: gatewayv1.LocalPolicyTargetReference{
			Group: gatewayv1.GroupName, Kind: "HTTPRoute", Name: "route",
		},
	}}
	valid := &certgatev1alpha1.ClientCertPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "pinned", Namespace: ns},
		Spec: certgatev1alpha1.ClientCertPolicySpec{
			TargetRefs: targets,
			Pins:       []certgatev1alpha1.Pin{{SHA256: strings.Repeat("ab", 32)}},
		},
	}
	if err := c.Create(ctx, valid); err != nil {
		t.Fatalf("create a valid ClientCertPolicy: %v", err)
	}
	got := &certgatev1alpha1.ClientCertPolicy{}
	if err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: "pinned"}, got); err != nil {
		t.Fatalf("get ClientCertPolicy: %v", err)
	}

	invalid := &certgatev1alpha1.ClientCertPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "accepts-nothing", Namespace: ns},
		Spec:       certgatev1alpha1.ClientCertPolicySpec{TargetRefs: targets},
	}
	err := c.Create(ctx, invalid)
	if err == nil {
		t.Fatal("a ClientCertPolicy with no pins, pinsFrom or trust was accepted")
	}
	if !errors.IsInvalid(err) || !strings.Contains(err.Error(), "at least one of pins, pinsFrom or trust is required") {
		t.Fatalf("create invalid ClientCertPolicy: %v; want Invalid with the CEL message", err)
	}
	t.Logf("rejected as it should be: %v", err)
}
