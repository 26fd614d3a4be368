package translator

import (
	"crypto/x509"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/certgate/certgate/dataplane/snapshot"
)

// caCertKey is the key holding a CA bundle in a ConfigMap or Secret, as
// GEP-91 and BackendTLSPolicy name it.
const caCertKey = "ca.crt"

// applyFrontendValidation applies spec.tls.frontend (GEP-91) to the
// Gateway's HTTPS listeners: each gets the perPort entry for its port, or
// the default. It reports whether AllowInsecureFallback is configured
// anywhere, for the InsecureFrontendValidationMode condition.
//
// A listener whose CA references are all unusable is not accepted
// (NoValidCACertificate) and so not served: serving it without the
// validation it asks for would fail open.
func (t *translator) applyFrontendValidation(gw *gatewayv1.Gateway, ls []*listenerState) bool {
	if gw.Spec.TLS == nil || gw.Spec.TLS.Frontend == nil {
		return false
	}
	front := gw.Spec.TLS.Frontend
	insecure := insecureMode(front.Default.Validation)
	for _, p := range front.PerPort {
		insecure = insecure || insecureMode(p.TLS.Validation)
	}
	for _, l := range ls {
		if l.spec.Protocol == gatewayv1.HTTPSProtocolType {
			t.applyValidation(l, portValidation(front, l.spec.Port))
		}
	}
	return insecure
}

func insecureMode(v *gatewayv1.FrontendTLSValidation) bool {
	return v != nil && v.Mode == gatewayv1.AllowInsecureFallback
}

// portValidation returns the validation settings of a port: its perPort
// entry's, else the default's. A perPort entry without validation turns
// validation off for that port, since the entry overrides the default
// whole.
func portValidation(front *gatewayv1.FrontendTLSConfig, port gatewayv1.PortNumber) *gatewayv1.FrontendTLSValidation {
	for _, p := range front.PerPort {
		if p.Port == port {
			return p.TLS.Validation
		}
	}
	return front.Default.Validation
}

// applyValidation resolves v's CA certificates for l and sets them on l's
// TLS configuration.
func (t *translator) applyValidation(l *listenerState, v *gatewayv1.FrontendTLSValidation) {
	if v == nil {
		return
	}
	mode := snapshot.AllowValidOnly
	switch v.Mode {
	case "", gatewayv1.AllowValidOnly:
	case gatewayv1.AllowInsecureFallback:
		mode = snapshot.AllowInsecureFallback
	default:
		l.reject(gatewayv1.ListenerReasonUnsupportedValue, "frontend validation mode %q is not AllowValidOnly or AllowInsecureFallback", v.Mode)
		return
	}
	var cas []snapshot.CACertificate
	for i, ref := range v.CACertificateRefs {
		if ca, ok := t.frontendCA(l, i, ref); ok {
			cas = append(cas, ca)
		}
	}
	if len(cas) == 0 {
		l.reject(gatewayv1.ListenerReasonNoValidCACertificate, "frontend validation: none of the caCertificateRefs is usable")
		return
	}
	if l.tls != nil {
		l.tls.FrontendValidation = &snapshot.FrontendValidation{Mode: mode, CACertificates: cas}
	}
}

// frontendCA resolves caCertificateRefs[i]: the ca.crt key of a ConfigMap
// or Secret, in the Gateway's namespace or granted to it.
func (t *translator) frontendCA(l *listenerState, i int, ref gatewayv1.ObjectReference) (snapshot.CACertificate, bool) {
	field := fmt.Sprintf("tls.frontend caCertificateRefs[%d]", i)
	gk := groupKind{Group: string(ref.Group), Kind: string(ref.Kind)}
	ns := refNamespace(ref.Namespace, l.gw.Namespace)
	if gk != kindConfigMap && gk != kindSecret {
		l.unresolve(gatewayv1.ListenerReasonInvalidCACertificateKind, "%s: kind %s is not supported: use a ConfigMap or a Secret", field, ref.Kind)
		return snapshot.CACertificate{}, false
	}
	if !t.refAllowed(kindGateway, l.gw.Namespace, gk, ns, string(ref.Name)) {
		l.unresolve(gatewayv1.ListenerReasonRefNotPermitted, "%s: %s %s/%s is in another namespace and no ReferenceGrant allows it", field, ref.Kind, ns, ref.Name)
		return snapshot.CACertificate{}, false
	}
	pem, found := t.caBundle(gk, nameOf(ns, string(ref.Name)))
	if problem := caProblem(pem, found); problem != "" {
		l.unresolve(gatewayv1.ListenerReasonInvalidCACertificateRef, "%s: %s %s/%s %s", field, ref.Kind, ns, ref.Name, problem)
		return snapshot.CACertificate{}, false
	}
	return snapshot.CACertificate{Name: ns + "/" + string(ref.Name), PEM: pem}, true
}

// caBundle returns the ca.crt of a ConfigMap or Secret, and whether the
// object exists.
func (t *translator) caBundle(gk groupKind, nn types.NamespacedName) ([]byte, bool) {
	if gk == kindSecret {
		s := t.idx.secrets[nn]
		return secretValue(s, caCertKey), s != nil
	}
	c := t.idx.configMaps[nn]
	if c == nil {
		return nil, false
	}
	if v, ok := c.Data[caCertKey]; ok {
		return []byte(v), true
	}
	return c.BinaryData[caCertKey], true
}

// caProblem says what makes a CA bundle unusable, or "".
func caProblem(pem []byte, found bool) string {
	switch {
	case !found:
		return "does not exist"
	case len(pem) == 0:
		return "has no " + caCertKey + " key"
	case !x509.NewCertPool().AppendCertsFromPEM(pem):
		return "holds no PEM certificate in " + caCertKey
	}
	return ""
}

// secretValue returns a Secret's value for key, from data or, for Secrets
// written by hand for the file provider, stringData.
func secretValue(s *corev1.Secret, key string) []byte {
	if s == nil {
		return nil
	}
	if v, ok := s.Data[key]; ok {
		return v
	}
	if v, ok := s.StringData[key]; ok {
		return []byte(v)
	}
	return nil
}
