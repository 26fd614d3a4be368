package translator

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/certgate/certgate/controllers/resources"
)

// The Service-per-Gateway mode: a Gateway binds the container ports its
// Service in Resources maps, waits (Pending) while its Service is unknown,
// and a listener whose port is not mapped yet is not bound.
func TestGatewayServiceHook(t *testing.T) {
	known := objectMeta("known", goldenNow)
	known.UID = "known-uid"
	res := &resources.Resources{}
	for _, o := range []client.Object{
		&gatewayv1.GatewayClass{ObjectMeta: metav1.ObjectMeta{Name: "c"}, Spec: gatewayv1.GatewayClassSpec{ControllerName: ControllerName}},
		gatewayService(known, "80=20001", "lb.example.test"),
		&gatewayv1.Gateway{ObjectMeta: known, Spec: gatewayv1.GatewaySpec{GatewayClassName: "c", Listeners: []gatewayv1.Listener{
			{Name: "a", Port: 80, Protocol: gatewayv1.HTTPProtocolType},
			{Name: "b", Port: 8080, Protocol: gatewayv1.HTTPProtocolType},
		}}},
		&gatewayv1.Gateway{ObjectMeta: objectMeta("unknown", goldenNow), Spec: gatewayv1.GatewaySpec{GatewayClassName: "c", Listeners: []gatewayv1.Listener{
			{Name: "a", Port: 80, Protocol: gatewayv1.HTTPProtocolType},
		}}},
	} {
		if err := res.Add(o); err != nil {
			t.Fatal(err)
		}
	}
	res.Sort()
	out := Translate(res, Options{Now: goldenNow, ServicePerGateway: true, ServiceNamespace: "certgate-system"})
	if n := len(out.Snapshot.Listeners); n != 1 || out.Snapshot.Listeners[0].Port != 20001 || out.Snapshot.Listeners[0].PublicPort != 80 || out.Snapshot.Listeners[0].Address != "" {
		t.Fatalf("snapshot listeners %+v, want one on :20001", out.Snapshot.Listeners)
	}
	for _, g := range out.Status.Gateways {
		programmed := meta.FindStatusCondition(g.Status.Conditions, "Programmed")
		switch g.Name {
		case "known":
			if programmed.Status != metav1.ConditionTrue || len(g.Status.Addresses) != 1 || g.Status.Addresses[0].Value != "lb.example.test" {
				t.Errorf("known: Programmed %+v, addresses %v", programmed, g.Status.Addresses)
			}
			if c := meta.FindStatusCondition(g.Status.Listeners[1].Conditions, "Programmed"); c.Reason != "Pending" {
				t.Errorf("known: the unmapped listener's Programmed %+v, want Pending", c)
			}
		case "unknown":
			if programmed.Status != metav1.ConditionFalse || programmed.Reason != "Pending" || programmed.Message != "waiting for its Service" {
				t.Errorf("unknown: Programmed %+v, want False Pending waiting for its Service", programmed)
			}
		}
	}
}

// gatewayService is the Service the provider's leader provisions for the
// Gateway gw in the controller's namespace: naming it, recording ports,
// with a load-balancer hostname.
func gatewayService(gw metav1.ObjectMeta, ports, hostname string) *corev1.Service {
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{
		Namespace: "certgate-system", Name: GatewayServiceName(gw.Namespace, gw.Name),
		Annotations: map[string]string{
			AnnotationContainerPorts: ports, AnnotationControllerName: string(ControllerName),
			AnnotationGateway: gw.Namespace + "/" + gw.Name, AnnotationGatewayUID: string(gw.UID),
		},
	}}
	svc.Spec.Type = corev1.ServiceTypeLoadBalancer
	svc.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{Hostname: hostname}}
	return svc
}
