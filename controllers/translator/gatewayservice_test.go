package translator

import (
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/certgate/certgate/controllers/resources"
)

// The Service-per-Gateway hook: a Gateway binds the container ports its
// Service maps, waits (Pending) while its Service is unknown, and a
// listener whose port is not mapped yet is not bound.
func TestGatewayServiceHook(t *testing.T) {
	res := &resources.Resources{}
	for _, o := range []client.Object{
		&gatewayv1.GatewayClass{ObjectMeta: metav1.ObjectMeta{Name: "c"}, Spec: gatewayv1.GatewayClassSpec{ControllerName: ControllerName}},
		&gatewayv1.Gateway{ObjectMeta: objectMeta("known", goldenNow), Spec: gatewayv1.GatewaySpec{GatewayClassName: "c", Listeners: []gatewayv1.Listener{
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
	addr := []gatewayv1.GatewayStatusAddress{{Type: ptrTo(gatewayv1.HostnameAddressType), Value: "lb.example.test"}}
	out := Translate(res, Options{Now: goldenNow, GatewayService: func(gw *gatewayv1.Gateway) (GatewayExposure, bool) {
		if gw.Name != "known" {
			return GatewayExposure{}, false
		}
		return GatewayExposure{Ports: map[int32]int32{80: 20001}, Addresses: addr}, true
	}})
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
