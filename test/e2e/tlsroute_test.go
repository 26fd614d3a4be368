package e2e_test

import (
	"net/http"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/certgate/certgate/api/v1alpha1"
)

// testTLSRouteJudgedPerConnection serves a TLSRoute on a terminating TLS
// listener in front of the HTTP echo backend (the stream is relayed as
// is, so an HTTP client can speak through it), pinned by a
// ClientCertPolicy: the pinned client is relayed, the others are refused
// at the handshake, and the controller writes the TLSRoute's and the
// policy's status.
func (w *world) testTLSRouteJudgedPerConnection(t *testing.T) {
	const ns, addr = "tlsroute", "127.0.0.1:18463"
	w.app(t, ns, className, 18462, ns) // the Secret, the Gateway's namespace and the echo backend
	mode := gatewayv1.TLSModeTerminate
	w.create(t, &gatewayv1.Gateway{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "streams"},
		Spec: gatewayv1.GatewaySpec{
			GatewayClassName: className,
			Listeners: []gatewayv1.Listener{{
				Name: "tls", Port: 18463, Protocol: gatewayv1.TLSProtocolType,
				TLS: &gatewayv1.ListenerTLSConfig{Mode: &mode, CertificateRefs: []gatewayv1.SecretObjectReference{{Name: "serving"}}},
			}},
		},
	}, &gatewayv1.TLSRoute{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "api"},
		Spec: gatewayv1.TLSRouteSpec{
			CommonRouteSpec: gatewayv1.CommonRouteSpec{ParentRefs: []gatewayv1.ParentReference{{Name: "streams"}}},
			Hostnames:       []gatewayv1.Hostname{host},
			Rules: []gatewayv1.TLSRouteRule{{BackendRefs: []gatewayv1.BackendRef{{
				BackendObjectReference: gatewayv1.BackendObjectReference{Name: "echo", Port: ptr.To(gatewayv1.PortNumber(80))},
			}}}},
		},
	})
	p := policy(ns, "only-the-gateway", "api", v1alpha1.ClientCertPolicySpec{Pins: []v1alpha1.Pin{{SHA256: sha256Pin(w.gatewayCert)}}})
	p.Spec.TargetRefs[0].Kind = "TLSRoute"
	w.create(t, p)
	// The route serves everyone until a translation takes the policy in;
	// its Accepted condition is written once that translation serves.
	eventually(t, "ClientCertPolicy Accepted", func() error {
		_, err := w.policyCondition(t, ns, "only-the-gateway", "Accepted", metav1.ConditionTrue, "Accepted")
		return err
	})

	wantStatus(t, "the pinned client, through the TLSRoute", w.client(w.gatewayCert, addr), http.StatusOK)
	for who, c := range map[string]*http.Client{"another client": w.client(w.strangerCert, addr), "a client without a certificate": w.client(nil, addr)} {
		if code, err := status(c); code != 0 || err == nil || !strings.Contains(err.Error(), "certificate") {
			t.Errorf("%s: status %d, error %v; want the handshake refused with a certificate alert", who, code, err)
		}
	}
	eventually(t, "TLSRoute Accepted and ResolvedRefs", func() error {
		return w.parentCondition(t, &gatewayv1.TLSRoute{}, ns, "api", controllerName, "ResolvedRefs", metav1.ConditionTrue, "ResolvedRefs")
	})
}
