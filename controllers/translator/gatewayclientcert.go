package translator

import (
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/certgate/certgate/dataplane/snapshot"
)

// gatewayClientCert is a Gateway's spec.tls.backend.clientCertificateRef
// (GEP-3155), resolved: the certificate, or why there is none.
type gatewayClientCert struct {
	cert *snapshot.Certificate
	// unresolved, when its message is set, is the Gateway's
	// ResolvedRefs=False reason and message.
	unresolved gatewayProblem
}

// applyGatewayClientCertificates gives every TLS backend reached from a
// Gateway that Gateway's backend client certificate, unless a
// BackendTLSPolicy option already chose one. Plaintext backends get none:
// a client certificate only means something inside TLS.
//
// A Gateway whose reference cannot be used gets ResolvedRefs=False and
// stays Accepted (the conformance test GatewayInvalidTLSBackendConfiguration
// expects both). Its TLS backends fail closed with 500: the Gateway was
// told to authenticate to them, and connecting without the certificate
// would either fail obscurely at the backend or, worse, succeed where the
// backend treats the client certificate as optional.
func (t *translator) applyGatewayClientCertificates() {
	certs := map[types.NamespacedName]gatewayClientCert{}
	for _, gw := range t.gateways {
		if gw.Spec.TLS == nil || gw.Spec.TLS.Backend == nil || gw.Spec.TLS.Backend.ClientCertificateRef == nil {
			continue
		}
		gc := t.resolveGatewayClientCert(gw, *gw.Spec.TLS.Backend.ClientCertificateRef)
		certs[nameOf(gw.Namespace, gw.Name)] = gc
		if gc.unresolved.message != "" {
			t.markGatewayUnresolved(gw, gc.unresolved.reason, "spec.tls.backend.clientCertificateRef: "+gc.unresolved.message)
		}
	}
	t.eachBackend(func(ls *listenerState, _ *snapshot.Route, b *snapshot.Backend) {
		gc, ok := certs[ls.gatewayName()]
		if !ok || b.TLS == nil || b.Invalid != "" || b.TLS.ClientCertificate != nil {
			return
		}
		if gc.unresolved.message != "" {
			b.Invalid = fmt.Sprintf("Gateway %s spec.tls.backend.clientCertificateRef: %s", ls.gatewayName(), gc.unresolved.message)
			return
		}
		b.TLS.ClientCertificate = gc.cert
	})
}

// resolveGatewayClientCert checks kind, then ReferenceGrant, then the
// Secret, in that order, so a Gateway cannot learn whether a Secret exists
// in a namespace that has not granted it access.
func (t *translator) resolveGatewayClientCert(gw *gatewayv1.Gateway, ref gatewayv1.SecretObjectReference) gatewayClientCert {
	if gk := refKind(ref.Group, ref.Kind, "", "Secret"); gk != kindSecret {
		return unresolvedClientCert(gatewayv1.GatewayReasonInvalidClientCertificateRef,
			fmt.Sprintf("kind %s in group %q is not supported: use a Secret", gk.Kind, gk.Group))
	}
	ns := refNamespace(ref.Namespace, gw.Namespace)
	if !t.refAllowed(kindGateway, gw.Namespace, kindSecret, ns, string(ref.Name)) {
		return unresolvedClientCert(gatewayv1.GatewayReasonRefNotPermitted,
			fmt.Sprintf("Secret %s/%s is in another namespace and no ReferenceGrant there allows Gateways from %s to use it", ns, ref.Name, gw.Namespace))
	}
	cert, problem := t.readClientCertificate(nameOf(ns, string(ref.Name)))
	if problem != "" {
		return unresolvedClientCert(gatewayv1.GatewayReasonInvalidClientCertificateRef, problem)
	}
	return gatewayClientCert{cert: cert}
}

// unresolvedClientCert is a clientCertificateRef that cannot be used, for
// reason.
func unresolvedClientCert(reason gatewayv1.GatewayConditionReason, message string) gatewayClientCert {
	return gatewayClientCert{unresolved: gatewayProblem{reason: reason, message: message}}
}

// markGatewayUnresolved sets the Gateway's ResolvedRefs=False. The
// gateway stage may already have set it False for its listeners; then its
// reason stays (it came first) and this message is added, so neither
// problem hides the other.
func (t *translator) markGatewayUnresolved(gw *gatewayv1.Gateway, reason gatewayv1.GatewayConditionReason, message string) {
	nn := nameOf(gw.Namespace, gw.Name)
	st := t.gwStatus[nn]
	if st == nil {
		st = &gatewayv1.GatewayStatus{}
		t.gwStatus[nn] = st
	}
	typ := gatewayv1.GatewayConditionResolvedRefs
	if prev := meta.FindStatusCondition(st.Conditions, string(typ)); prev != nil && prev.Status == metav1.ConditionFalse {
		reason, message = gatewayv1.GatewayConditionReason(prev.Reason), joinMessages(prev.Message, message)
	}
	setCondition(t, &st.Conditions, gw.Generation, typ, metav1.ConditionFalse, reason, message)
}
