package e2e_test

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/certgate/certgate/api/v1alpha1"
)

const (
	controllerName = "certgate.dev/gateway-controller"
	className      = "certgate"
)

// TestController runs every scenario against one control plane: starting
// etcd and kube-apiserver is most of the cost, and the scenarios keep to
// their own namespaces and ports.
func TestController(t *testing.T) {
	w := newWorld(t)
	w.gatewayClass(t, className, controllerName)
	// No leader election here: this provider writes status alone.
	p, m := w.provider(t, controllerName, nil)
	p.Lead(t.Context())
	w.metrics = m

	t.Run("PinnedClientGets200OthersGet403", w.testPinnedClientGets200OthersGet403)
	t.Run("PinsFromConfigMapRotatesAndFailsClosed", w.testPinsFromConfigMapRotatesAndFailsClosed)
	t.Run("PolicyConflictAndTargetNotFound", w.testPolicyConflictAndTargetNotFound)
	t.Run("OlderInvalidAuditPolicyDoesNotOpenAPinnedRoute", w.testOlderInvalidAuditPolicyDoesNotOpenAPinnedRoute)
	t.Run("SecretContentNeverInStatusEventsOrLogs", w.testSecretContentNeverInStatusEventsOrLogs)
	t.Run("PEMInASecretPinsByPublicKey", w.testPEMInASecretPinsByPublicKey)
	t.Run("RenewedPEMKeepsThePreviousPin", w.testRenewedPEMKeepsThePreviousPin)
	t.Run("PolicyEventsOnAcceptanceChanges", w.testPolicyEventsOnAcceptanceChanges)
	t.Run("InvalidPolicyRejectedBySchema", w.testInvalidPolicyRejectedBySchema)
	t.Run("CrossNamespaceBackendNeedsReferenceGrant", w.testCrossNamespaceBackendNeedsReferenceGrant)
	t.Run("TLSRouteJudgedPerConnection", w.testTLSRouteJudgedPerConnection)
	t.Run("GRPCRoutePinnedPerCall", w.testGRPCRoutePinnedPerCall)
	t.Run("LeaseLossKeepsServingAndStatusMovesToNewLeader", w.testLeaseLossKeepsServingAndStatusMovesToNewLeader)
	t.Run("RetiringPinSurvivesALeaderChange", w.testRetiringPinSurvivesALeaderChange)
	t.Run("ReferencedSecretDeletedAndRecreated", w.testReferencedSecretDeletedAndRecreated)
	t.Run("ServingSecretEditedIntoGarbageKeepsTheLastGoodCertificate", w.testServingSecretEditedIntoGarbageKeepsTheLastGoodCertificate)
	t.Run("BackendFaultsHoldTimeouts", w.testBackendFaultsHoldTimeouts)
	t.Run("RBACIsEnough", w.testRBACIsEnough)
	t.Run("WatchNamespacesUnderTheChartsScopedRBAC", w.testWatchNamespacesUnderTheChartsScopedRBAC)
	t.Run("ServicePerGateway", w.testServicePerGateway)
	t.Run("ShutdownDelayServesWhileNotReady", w.testShutdownDelayServesWhileNotReady)
}

func policy(ns, name, route string, spec v1alpha1.ClientCertPolicySpec) *v1alpha1.ClientCertPolicy {
	spec.TargetRefs = []gatewayv1.LocalPolicyTargetReferenceWithSectionName{{LocalPolicyTargetReference: gatewayv1.LocalPolicyTargetReference{
		Group: gatewayv1.GroupName, Kind: "HTTPRoute", Name: gatewayv1.ObjectName(route),
	}}}
	return &v1alpha1.ClientCertPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: spec}
}

func (w *world) testPinnedClientGets200OthersGet403(t *testing.T) {
	const ns, addr = "pinning", "127.0.0.1:18443"
	w.app(t, ns, className, 18443, ns)
	w.create(t, policy(ns, "only-the-gateway", "api", v1alpha1.ClientCertPolicySpec{
		Pins: []v1alpha1.Pin{{SHA256: sha256Pin(w.gatewayCert)}},
	}))

	wantStatus(t, "the pinned client", w.client(w.gatewayCert, addr), http.StatusOK)
	wantStatus(t, "another client", w.client(w.strangerCert, addr), http.StatusForbidden)
	wantStatus(t, "a client without a certificate", w.client(nil, addr), http.StatusForbidden)

	eventually(t, "GatewayClass Accepted", func() error {
		gc := &gatewayv1.GatewayClass{}
		if err := w.c.Get(ctx(t), types.NamespacedName{Name: className}, gc); err != nil {
			return err
		}
		_, err := condition(gc.Status.Conditions, "Accepted", metav1.ConditionTrue, "Accepted")
		return err
	})
	eventually(t, "Gateway Accepted and Programmed", func() error { return w.gatewayReady(t, ns, "") })
	eventually(t, "HTTPRoute Accepted and ResolvedRefs", func() error {
		return w.routeCondition(t, ns, "api", controllerName, "ResolvedRefs", metav1.ConditionTrue, "ResolvedRefs")
	})
	eventually(t, "ClientCertPolicy Accepted", func() error {
		_, err := w.policyCondition(t, ns, "only-the-gateway", "Accepted", metav1.ConditionTrue, "Accepted")
		return err
	})
}

// gatewayReady checks Accepted and Programmed, and the address if set.
func (w *world) gatewayReady(t *testing.T, ns, address string) error {
	gw := &gatewayv1.Gateway{}
	if err := w.c.Get(ctx(t), types.NamespacedName{Namespace: ns, Name: "gw"}, gw); err != nil {
		return err
	}
	if _, err := condition(gw.Status.Conditions, "Accepted", metav1.ConditionTrue, "Accepted"); err != nil {
		return err
	}
	if _, err := condition(gw.Status.Conditions, "Programmed", metav1.ConditionTrue, "Programmed"); err != nil {
		return err
	}
	if address != "" && (len(gw.Status.Addresses) == 0 || gw.Status.Addresses[0].Value != address) {
		return fmt.Errorf("addresses = %v, want %s", gw.Status.Addresses, address)
	}
	return nil
}

// routeCondition checks Accepted=True and the given condition on the
// HTTPRoute's parent entry of controller.
func (w *world) routeCondition(t *testing.T, ns, name, controller, typ string, status metav1.ConditionStatus, reason string) error {
	return w.parentCondition(t, &gatewayv1.HTTPRoute{}, ns, name, controller, typ, status, reason)
}

// parentCondition is routeCondition for a route of any kind: route is an
// empty HTTPRoute, GRPCRoute or TLSRoute to read it into.
func (w *world) parentCondition(t *testing.T, route client.Object, ns, name, controller, typ string, status metav1.ConditionStatus, reason string) error {
	if err := w.c.Get(ctx(t), types.NamespacedName{Namespace: ns, Name: name}, route); err != nil {
		return err
	}
	parents := routeParents(route)
	for _, p := range parents {
		if string(p.ControllerName) != controller {
			continue
		}
		if _, err := condition(p.Conditions, "Accepted", metav1.ConditionTrue, "Accepted"); err != nil {
			return err
		}
		_, err := condition(p.Conditions, typ, status, reason)
		return err
	}
	return fmt.Errorf("no parent status of %s in %+v", controller, parents)
}

// routeParents is the status.parents of a route of any kind.
func routeParents(route client.Object) []gatewayv1.RouteParentStatus {
	switch r := route.(type) {
	case *gatewayv1.HTTPRoute:
		return r.Status.Parents
	case *gatewayv1.GRPCRoute:
		return r.Status.Parents
	case *gatewayv1.TLSRoute:
		return r.Status.Parents
	}
	return nil
}

// policyCondition finds typ in any ancestor entry of the policy.
func (w *world) policyCondition(t *testing.T, ns, name, typ string, status metav1.ConditionStatus, reason string) (metav1.Condition, error) {
	p := &v1alpha1.ClientCertPolicy{}
	if err := w.c.Get(ctx(t), types.NamespacedName{Namespace: ns, Name: name}, p); err != nil {
		return metav1.Condition{}, err
	}
	if len(p.Status.Ancestors) == 0 {
		return metav1.Condition{}, errors.New("no ancestor status yet")
	}
	var last error
	for _, a := range p.Status.Ancestors {
		c, err := condition(a.Conditions, typ, status, reason)
		if err == nil {
			return c, nil
		}
		last = err
	}
	return metav1.Condition{}, last
}

func (w *world) testPinsFromConfigMapRotatesAndFailsClosed(t *testing.T) {
	const ns, addr = "rotation", "127.0.0.1:18444"
	w.app(t, ns, className, 18444, ns)
	pins := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "gateway-pins"},
		Data:       map[string]string{"pins": "# the API gateway\n" + pinLine(w.gatewayCert) + "\n"},
	}
	w.create(t, pins, policy(ns, "from-configmap", "api", v1alpha1.ClientCertPolicySpec{
		PinsFrom: []v1alpha1.PinSource{{Kind: v1alpha1.KindConfigMap, Name: "gateway-pins", Key: "pins"}},
	}))
	gateway, stranger := w.client(w.gatewayCert, addr), w.client(w.strangerCert, addr)
	wantStatus(t, "the pinned client", gateway, http.StatusOK)
	wantStatus(t, "the other client", stranger, http.StatusForbidden)

	// Rotate: the ConfigMap now pins the other certificate.
	pins.Data["pins"] = pinLine(w.strangerCert) + "\n"
	if err := w.c.Update(ctx(t), pins); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, "the newly pinned client", stranger, http.StatusOK)
	wantStatus(t, "the formerly pinned client", gateway, http.StatusForbidden)

	// Delete it: fail closed, and status names what is missing.
	w.remove(t, pins)
	before := w.rejections(t, "rotation", "api", "policy_invalid")
	wantStatus(t, "the pinned client after the ConfigMap is deleted", stranger, http.StatusForbidden)
	if after := w.rejections(t, "rotation", "api", "policy_invalid"); after <= before {
		t.Errorf("rejections with reason policy_invalid: %v before, %v after; want more", before, after)
	}
	eventually(t, "ResolvedRefs=False naming the ConfigMap", func() error {
		c, err := w.policyCondition(t, ns, "from-configmap", "ResolvedRefs", metav1.ConditionFalse, "")
		if err == nil && !strings.Contains(c.Message, "gateway-pins") {
			return fmt.Errorf("message %q does not name the ConfigMap gateway-pins", c.Message)
		}
		return err
	})
}

func (w *world) testPolicyConflictAndTargetNotFound(t *testing.T) {
	const ns, addr = "conflict", "127.0.0.1:18447"
	route := w.app(t, ns, className, 18447, ns)
	w.create(t, policy(ns, "first", "api", v1alpha1.ClientCertPolicySpec{Pins: []v1alpha1.Pin{{SHA256: sha256Pin(w.gatewayCert)}}}))
	eventually(t, "the first policy Accepted", func() error {
		_, err := w.policyCondition(t, ns, "first", "Accepted", metav1.ConditionTrue, "Accepted")
		return err
	})
	// The creation timestamp has a resolution of one second; the name
	// ("second" > "first") breaks a tie the same way.
	w.create(t, policy(ns, "second", "api", v1alpha1.ClientCertPolicySpec{Pins: []v1alpha1.Pin{{SHA256: sha256Pin(w.strangerCert)}}}))
	eventually(t, "the second policy on the same route Conflicted", func() error {
		_, err := w.policyCondition(t, ns, "second", "Accepted", metav1.ConditionFalse, "Conflicted")
		return err
	})
	wantStatus(t, "the client the first policy pins", w.client(w.gatewayCert, addr), http.StatusOK)
	wantStatus(t, "the client only the conflicted policy pins", w.client(w.strangerCert, addr), http.StatusForbidden)

	w.remove(t, route)
	eventually(t, "policy TargetNotFound once its route is deleted", func() error {
		_, err := w.policyCondition(t, ns, "first", "Accepted", metav1.ConditionFalse, "TargetNotFound")
		return err
	})
}

func (w *world) testInvalidPolicyRejectedBySchema(t *testing.T) {
	const ns = "invalid"
	w.namespace(t, ns)
	for _, tc := range []struct {
		name string
		pin  v1alpha1.Pin
		want string
	}{
		{"two-fields", v1alpha1.Pin{SHA256: sha256Pin(w.gatewayCert), SHA1: strings.Repeat("ab", 20)}, "a pin has exactly one of sha256, sha1 or spkiSHA256"},
		{"too-short", v1alpha1.Pin{SHA256: "abcd"}, "spec.pins[0].sha256"},
	} {
		err := w.c.Create(ctx(t), policy(ns, tc.name, "api", v1alpha1.ClientCertPolicySpec{Pins: []v1alpha1.Pin{tc.pin}}))
		if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: create = %v; want Invalid mentioning %q", tc.name, err, tc.want)
		}
	}
}

func (w *world) testCrossNamespaceBackendNeedsReferenceGrant(t *testing.T) {
	const ns, backends, addr = "xns-routes", "xns-backends", "127.0.0.1:18445"
	w.app(t, ns, className, 18445, backends)
	c := w.client(nil, addr) // no policy on this route: no certificate needed

	wantStatus(t, "a route to another namespace without a ReferenceGrant", c, http.StatusInternalServerError)
	eventually(t, "ResolvedRefs=False RefNotPermitted", func() error {
		return w.routeCondition(t, ns, "api", controllerName, "ResolvedRefs", metav1.ConditionFalse, "RefNotPermitted")
	})

	grant := &gatewayv1.ReferenceGrant{
		ObjectMeta: metav1.ObjectMeta{Namespace: backends, Name: "routes-to-echo"},
		Spec: gatewayv1.ReferenceGrantSpec{
			From: []gatewayv1.ReferenceGrantFrom{{Group: gatewayv1.GroupName, Kind: "HTTPRoute", Namespace: ns}},
			To:   []gatewayv1.ReferenceGrantTo{{Group: "", Kind: "Service"}},
		},
	}
	w.create(t, grant)
	wantStatus(t, "the route once granted", c, http.StatusOK)
	eventually(t, "ResolvedRefs=True", func() error {
		return w.routeCondition(t, ns, "api", controllerName, "ResolvedRefs", metav1.ConditionTrue, "ResolvedRefs")
	})

	w.remove(t, grant)
	wantStatus(t, "the route once the grant is revoked", c, http.StatusInternalServerError)
	eventually(t, "ResolvedRefs=False RefNotPermitted again", func() error {
		return w.routeCondition(t, ns, "api", controllerName, "ResolvedRefs", metav1.ConditionFalse, "RefNotPermitted")
	})
}

// hostPort joins an address and the scenario's port.
func hostPort(ip string, port int) string { return net.JoinHostPort(ip, fmt.Sprint(port)) }
