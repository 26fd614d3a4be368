package translator

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/certgate/certgate/dataplane/snapshot"
)

// resolveListenerTLS checks an HTTPS or TLS listener's TLS settings and
// resolves its serving certificates. HTTPS listeners terminate; TLS
// listeners terminate (TLSRoute mode Terminate, the default) or pass the
// client's TLS through to the backend (Passthrough), which needs no
// certificate. Every usable certificate is kept, and so is the last good
// one of a Secret edited into something unusable (lastgood.go); the first
// problem found is the listener's ResolvedRefs reason, and a terminating
// listener left without any certificate is not programmed.
func (t *translator) resolveListenerTLS(l *listenerState) {
	if l.spec.Protocol != gatewayv1.HTTPSProtocolType && l.spec.Protocol != gatewayv1.TLSProtocolType {
		if l.spec.Protocol == gatewayv1.HTTPProtocolType && l.spec.TLS != nil {
			l.reject(gatewayv1.ListenerReasonUnsupportedValue, "tls must not be set on an HTTP listener")
		}
		return
	}
	cfg := l.spec.TLS
	if cfg == nil {
		l.reject(gatewayv1.ListenerReasonUnsupportedValue, "tls is required for protocol %s", l.spec.Protocol)
		return
	}
	if l.passthrough() {
		return
	}
	if cfg.Mode != nil && *cfg.Mode != gatewayv1.TLSModeTerminate {
		l.reject(gatewayv1.ListenerReasonUnsupportedValue, "tls.mode %q is not supported on %s listeners: certgate terminates TLS there", *cfg.Mode, l.spec.Protocol)
		return
	}
	var certs []snapshot.Certificate
	for i, ref := range cfg.CertificateRefs {
		if c, ok := t.listenerCertificate(l, i, ref); ok {
			certs = append(certs, c)
		}
	}
	if len(cfg.CertificateRefs) == 0 {
		l.unresolve(gatewayv1.ListenerReasonInvalidCertificateRef, "tls.certificateRefs: at least one certificate is required")
	}
	if len(certs) > 0 {
		l.tls = &snapshot.ListenerTLS{Certificates: certs}
	}
}

// listenerCertificate resolves tls.certificateRefs[i]: a Secret of type
// kubernetes.io/tls, in the Gateway's namespace or granted to it, whose
// tls.crt and tls.key form a key pair the data plane will load.
func (t *translator) listenerCertificate(l *listenerState, i int, ref gatewayv1.SecretObjectReference) (snapshot.Certificate, bool) {
	field := fmt.Sprintf("tls.certificateRefs[%d]", i)
	ns := refNamespace(ref.Namespace, l.gw.Namespace)
	if gk := refKind(ref.Group, ref.Kind, "", "Secret"); gk != kindSecret {
		l.unresolve(gatewayv1.ListenerReasonInvalidCertificateRef, "%s: kind %s is not supported: use a Secret", field, gk.Kind)
		return snapshot.Certificate{}, false
	}
	if !t.refAllowed(kindGateway, l.gw.Namespace, kindSecret, ns, string(ref.Name)) {
		l.unresolve(gatewayv1.ListenerReasonRefNotPermitted, "%s: Secret %s/%s is in another namespace and no ReferenceGrant allows it", field, ns, ref.Name)
		return snapshot.Certificate{}, false
	}
	s := t.idx.secrets[nameOf(ns, string(ref.Name))]
	if s == nil {
		l.unresolve(gatewayv1.ListenerReasonInvalidCertificateRef, "%s: Secret %s/%s does not exist", field, ns, ref.Name)
		return snapshot.Certificate{}, false
	}
	src := CertificateSource{GatewayUID: l.gw.UID, Listener: l.name(), Secret: nameOf(ns, string(ref.Name))}
	if problem := tlsSecretProblem(s); problem != "" {
		return t.fallBackToLastGood(l, field, src, s, problem)
	}
	c := snapshot.Certificate{
		Name:    ns + "/" + string(ref.Name),
		CertPEM: secretValue(s, corev1.TLSCertKey),
		Key:     snapshot.PrivateKey(secretValue(s, corev1.TLSPrivateKeyKey)),
	}
	t.keepGood(src, s.UID, c)
	return c, true
}

// fallBackToLastGood handles a certificateRef whose Secret exists but is
// unusable: the listener is unresolved either way, and keeps serving the
// certificate the same Secret object last held while it was usable, if
// any (lastgood.go says when and why).
func (t *translator) fallBackToLastGood(l *listenerState, field string, src CertificateSource, s *corev1.Secret, problem string) (snapshot.Certificate, bool) {
	c, ok := t.previousGood(src, s.UID)
	kept := ""
	if ok {
		kept = "; the listener keeps serving the last good certificate from this Secret until it is fixed, deleted or no longer referenced"
		t.keepGood(src, s.UID, c)
	}
	l.unresolve(gatewayv1.ListenerReasonInvalidCertificateRef, "%s: Secret %s %s%s", field, src.Secret, problem, kept)
	return c, ok
}

// tlsSecretProblem says what makes the Secret s, which exists, unusable
// as a serving certificate, or "" when it is usable. The key pair is
// parsed here so that the data plane never rejects a whole snapshot for
// one bad Secret.
func tlsSecretProblem(s *corev1.Secret) string {
	if s.Type != corev1.SecretTypeTLS {
		return fmt.Sprintf("has type %q, not %s", s.Type, corev1.SecretTypeTLS)
	}
	if err := checkKeyPair(secretValue(s, corev1.TLSCertKey), secretValue(s, corev1.TLSPrivateKeyKey)); err != nil {
		return fmt.Sprintf("does not hold a usable certificate and key: %v", err)
	}
	return ""
}
