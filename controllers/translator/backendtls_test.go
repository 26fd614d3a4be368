package translator

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/certgate/certgate/api/v1alpha1"
	"github.com/certgate/certgate/dataplane/snapshot"
	"github.com/certgate/certgate/internal/testpki"
)

func backendTLSPolicy(name string, v gatewayv1.BackendTLSPolicyValidation, options map[string]string) *gatewayv1.BackendTLSPolicy {
	p := &gatewayv1.BackendTLSPolicy{ObjectMeta: objectMeta(name, goldenNow)}
	p.Spec.TargetRefs = []gatewayv1.LocalPolicyTargetReferenceWithSectionName{{LocalPolicyTargetReference: gatewayv1.LocalPolicyTargetReference{Kind: "Service", Name: "svc"}}}
	p.Spec.Validation = v
	for k, val := range options {
		if p.Spec.Options == nil {
			p.Spec.Options = map[gatewayv1.AnnotationKey]gatewayv1.AnnotationValue{}
		}
		p.Spec.Options[gatewayv1.AnnotationKey(k)] = gatewayv1.AnnotationValue(val)
	}
	return p
}

func caRefs(names ...string) []gatewayv1.LocalObjectReference {
	var refs []gatewayv1.LocalObjectReference
	for _, n := range names {
		refs = append(refs, gatewayv1.LocalObjectReference{Kind: "ConfigMap", Name: gatewayv1.ObjectName(n)})
	}
	return refs
}

func TestBackendTLSPolicyBecomesBackendTLS(t *testing.T) {
	ca := testpki.NewCA(t, "backend")
	client := ca.Issue(t, testpki.Options{CommonName: "gateway"})
	tr := newPolicyTranslator(t, configMap("ca", map[string]string{"ca.crt": string(ca.PEM)}), tlsSecret("client", client.CertPEM, client.KeyPEM))
	c := tr.resolveBackendTLSPolicy(backendTLSPolicy("p", gatewayv1.BackendTLSPolicyValidation{
		CACertificateRefs: caRefs("ca"),
		Hostname:          "svc.internal",
		SubjectAltNames:   []gatewayv1.SubjectAltName{{Type: gatewayv1.URISubjectAltNameType, URI: "spiffe://c/ns/svc"}},
	}, map[string]string{v1alpha1.BackendTLSOptionClientCertificate: "client"}))
	if len(c.invalid) > 0 {
		t.Fatalf("invalid: %v", c.invalid)
	}
	got := c.tls
	if got.ServerName != "svc.internal" || len(got.CACertificates) != 1 || got.CACertificates[0].Name != "ns/ca" || got.UseSystemRoots {
		t.Errorf("tls = %+v", got)
	}
	if len(got.SubjectAltNames) != 1 || got.SubjectAltNames[0] != (snapshot.BackendSAN{Type: snapshot.BackendSANURI, Value: "spiffe://c/ns/svc"}) {
		t.Errorf("SANs = %+v", got.SubjectAltNames)
	}
	if got.ClientCertificate == nil || got.ClientCertificate.Name != "ns/client" {
		t.Errorf("client certificate = %+v, want ns/client from the option", got.ClientCertificate)
	}
}

func TestBackendTLSPolicyWithOnlyBadCARefsIsNoValidCACertificateAndFailsClosed(t *testing.T) {
	tr := newPolicyTranslator(t, configMap("garbage", map[string]string{"ca.crt": "not pem"}))
	p := backendTLSPolicy("p", gatewayv1.BackendTLSPolicyValidation{CACertificateRefs: caRefs("gone", "garbage"), Hostname: "svc.internal"}, nil)
	a := &btlsAttachment{policy: p, content: tr.resolveBackendTLSPolicy(p)}
	if a.content.acceptedReason != "NoValidCACertificate" || a.content.unresolvedRef.reason != "InvalidCACertificateRef" {
		t.Errorf("reasons = %q / %q", a.content.acceptedReason, a.content.unresolvedRef.reason)
	}
	b := snapshot.Backend{Name: "ns/svc:443"}
	a.apply(&b)
	if !strings.Contains(b.Invalid, "ConfigMap ns/gone not found") || !strings.Contains(b.Invalid, "ConfigMap ns/garbage") {
		t.Errorf("Invalid = %q, want both references named", b.Invalid)
	}
	if b.TLS == nil || len(b.TLS.CACertificates) != 0 || b.TLS.UseSystemRoots {
		t.Errorf("TLS = %+v: a failed policy must leave TLS with no trust anchors, never plaintext", b.TLS)
	}
}

func TestBackendTLSPolicyInvalidKindAndUnknownWellKnown(t *testing.T) {
	tr := newPolicyTranslator(t)
	secretRef := backendTLSPolicy("p", gatewayv1.BackendTLSPolicyValidation{Hostname: "h",
		CACertificateRefs: []gatewayv1.LocalObjectReference{{Kind: "Secret", Name: "ca"}}}, nil)
	if c := tr.resolveBackendTLSPolicy(secretRef); c.unresolvedRef.reason != "InvalidKind" || c.acceptedReason != "NoValidCACertificate" {
		t.Errorf("Secret CA ref: reasons %q / %q", c.unresolvedRef.reason, c.acceptedReason)
	}
	other := gatewayv1.WellKnownCACertificatesType("example.com/roots")
	wk := backendTLSPolicy("p", gatewayv1.BackendTLSPolicyValidation{Hostname: "h", WellKnownCACertificates: &other}, nil)
	if c := tr.resolveBackendTLSPolicy(wk); c.acceptedReason != "Invalid" {
		t.Errorf("unknown well-known set: reason %q", c.acceptedReason)
	}
}

func TestMisspeltCertgateOptionFailsClosed(t *testing.T) {
	system := gatewayv1.WellKnownCACertificatesSystem
	tr := newPolicyTranslator(t)
	c := tr.resolveBackendTLSPolicy(backendTLSPolicy("p", gatewayv1.BackendTLSPolicyValidation{Hostname: "h", WellKnownCACertificates: &system},
		map[string]string{"certgate.dev/client-certficate": "client", "example.com/other": "x"}))
	if c.acceptedReason != "Invalid" || len(c.invalid) != 1 || !strings.Contains(c.invalid[0], "certgate.dev/client-certficate") {
		t.Errorf("reason %q, invalid %v", c.acceptedReason, c.invalid)
	}
}

// TestEachListenerGetsItsOwnBackends: the route stage copies a route's
// rules per listener (listenerRules), so per-Gateway backend settings
// written through Snapshot.EachBackend never leak to another Gateway.
func TestEachListenerGetsItsOwnBackends(t *testing.T) {
	shared := []snapshot.WeightedBackend{{Backend: snapshot.Backend{Name: "ns/svc:443"}}}
	mirror := &snapshot.Mirror{Backend: snapshot.Backend{Name: "ns/audit:443"}}
	built := []snapshot.Rule{{Backends: shared, Filters: []snapshot.Filter{{Type: snapshot.FilterRequestMirror, RequestMirror: mirror}}}}
	rule := func() []snapshot.Rule { return listenerRules(built) }
	tr := newPolicyTranslator(t)
	tr.snapshot.Listeners = []snapshot.Listener{
		{Name: "ns/a/https", Gateway: "ns/a", Routes: []snapshot.Route{{Rules: rule()}}},
		{Name: "ns/b/https", Gateway: "ns/b", Routes: []snapshot.Route{{Rules: rule()}}},
	}
	tr.snapshot.EachBackend(func(l *snapshot.Listener, b *snapshot.Backend) {
		b.TLS = &snapshot.BackendTLS{ServerName: l.Gateway}
	})
	for _, l := range tr.snapshot.Listeners {
		r := l.Routes[0].Rules[0]
		if r.Backends[0].TLS.ServerName != l.Gateway || r.Filters[0].RequestMirror.Backend.TLS.ServerName != l.Gateway {
			t.Errorf("listener %s sees another Gateway's backend", l.Name)
		}
	}
	if shared[0].TLS != nil || mirror.Backend.TLS != nil {
		t.Error("the shared backing arrays were written to")
	}
}

func TestGatewayClientCertificateRefChecks(t *testing.T) {
	ca := testpki.NewCA(t, "ca")
	a, b := ca.Issue(t, testpki.Options{CommonName: "a"}), ca.Issue(t, testpki.Options{CommonName: "b"})
	other := tlsSecret("elsewhere", a.CertPEM, a.KeyPEM)
	other.Namespace = "certs"
	tr := newPolicyTranslator(t, tlsSecret("good", a.CertPEM, a.KeyPEM), tlsSecret("mismatched", a.CertPEM, b.KeyPEM), other)
	gw := &gatewayv1.Gateway{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "gw"}}
	certs := gatewayv1.Namespace("certs")
	cm := gatewayv1.Kind("ConfigMap")
	for _, tc := range []struct {
		name   string
		ref    gatewayv1.SecretObjectReference
		reason gatewayv1.GatewayConditionReason
	}{
		{"valid", gatewayv1.SecretObjectReference{Name: "good"}, ""},
		{"missing", gatewayv1.SecretObjectReference{Name: "gone"}, gatewayv1.GatewayReasonInvalidClientCertificateRef},
		{"key of another certificate", gatewayv1.SecretObjectReference{Name: "mismatched"}, gatewayv1.GatewayReasonInvalidClientCertificateRef},
		{"not a Secret", gatewayv1.SecretObjectReference{Name: "good", Kind: &cm}, gatewayv1.GatewayReasonInvalidClientCertificateRef},
		{"other namespace without grant", gatewayv1.SecretObjectReference{Name: "elsewhere", Namespace: &certs}, gatewayv1.GatewayReasonRefNotPermitted},
	} {
		got := tr.resolveGatewayClientCert(gw, tc.ref)
		if got.unresolved.reason != tc.reason || (tc.reason == "") != (got.cert != nil) {
			t.Errorf("%s: reason %q (%s), cert %v; want reason %q", tc.name, got.unresolved.reason, got.unresolved.message, got.cert != nil, tc.reason)
		}
		if strings.Contains(got.unresolved.message, "PRIVATE KEY") {
			t.Errorf("%s: the problem quotes key material", tc.name)
		}
	}
}

func TestInvalidGatewayClientCertKeepsAnEarlierResolvedRefsReason(t *testing.T) {
	tr := newPolicyTranslator(t)
	gw := &gatewayv1.Gateway{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "gw", Generation: 2}}
	st := &gatewayv1.GatewayStatus{}
	tr.gwStatus[nameOf("ns", "gw")] = st
	setCondition(tr, &st.Conditions, 2, gatewayv1.GatewayConditionResolvedRefs, metav1.ConditionFalse, gatewayv1.GatewayReasonListenersNotResolved, "listener https: bad certificate")
	tr.markGatewayUnresolved(gw, gatewayv1.GatewayReasonInvalidClientCertificateRef, "client certificate missing")
	c := st.Conditions[0]
	if c.Reason != "ListenersNotResolved" || !strings.Contains(c.Message, "bad certificate") || !strings.Contains(c.Message, "client certificate missing") {
		t.Errorf("condition = %+v, want the first reason and both messages", c)
	}
}
