package addresspool

import (
	"net"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

func gateway(ns, name string) *gatewayv1.Gateway {
	return &gatewayv1.Gateway{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
}

func TestAddressPoolAssignsAStableUsableAddress(t *testing.T) {
	pool, err := New("10.203.1.0/30")
	if err != nil {
		t.Fatal(err)
	}
	_, network, _ := net.ParseCIDR("10.203.1.0/30")
	for _, gw := range []*gatewayv1.Gateway{gateway("a", "gw"), gateway("b", "gw"), gateway("a", "other")} {
		ip, _ := pool.Assign(gw)
		again, _ := pool.Assign(gw.DeepCopy())
		if ip != again {
			t.Errorf("%s/%s: %s then %s", gw.Namespace, gw.Name, ip, again)
		}
		if p := net.ParseIP(ip); !network.Contains(p) || ip == "10.203.1.0" || ip == "10.203.1.3" {
			t.Errorf("%s/%s got %s: not a usable address of the pool", gw.Namespace, gw.Name, ip)
		}
	}
}

func TestAddressPoolHonoursSpecAddressInPool(t *testing.T) {
	pool, _ := New("fd00:cafe::/64")
	gw := gateway("a", "gw")
	gw.Spec.Addresses = []gatewayv1.GatewaySpecAddress{{Value: "fd00:cafe::7"}}
	if ip, _ := pool.Assign(gw); ip != "fd00:cafe::7" {
		t.Errorf("got %s, want the spec address fd00:cafe::7", ip)
	}
}
