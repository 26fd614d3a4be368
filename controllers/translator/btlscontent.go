package translator

import (
	"fmt"
	"slices"
	"strings"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/certgate/certgate/api/v1alpha1"
	"github.com/certgate/certgate/dataplane/snapshot"
)

// btlsContent is what the content of a BackendTLSPolicy resolves to,
// independent of the backends it applies to.
type btlsContent struct {
	// tls is the backend TLS to set on every backend the policy applies
	// to; a copy per backend, since client certificates are per Gateway.
	tls snapshot.BackendTLS
	// acceptedReason and invalid, when invalid is set, make the policy
	// Accepted=False and every backend it applies to fail closed.
	acceptedReason gatewayv1.PolicyConditionReason
	invalid        []string
	// unresolvedRef, when its reason is set, makes ResolvedRefs=False.
	unresolvedRef problem[gatewayv1.PolicyConditionReason]
}

// resolveBackendTLSPolicy checks a policy's validation and options and
// reads the CA certificates and client certificate they name.
func (t *translator) resolveBackendTLSPolicy(p *gatewayv1.BackendTLSPolicy) btlsContent {
	v := p.Spec.Validation
	c := btlsContent{tls: snapshot.BackendTLS{ServerName: string(v.Hostname)}}
	if v.Hostname == "" {
		c.fail(gatewayv1.PolicyReasonInvalid, "spec.validation.hostname: required")
	}
	c.trustAnchors(t, p)
	c.subjectAltNames(v.SubjectAltNames)
	c.options(t, p)
	return c
}

// fail records a problem that makes the policy unusable. The first reason
// is kept: NoValidCACertificate is what Gateway API asks for when every CA
// reference is bad, whatever else is.
func (c *btlsContent) fail(reason gatewayv1.PolicyConditionReason, message string) {
	if c.acceptedReason == "" {
		c.acceptedReason = reason
	}
	c.invalid = append(c.invalid, message)
}

func (c *btlsContent) unresolved(reason gatewayv1.PolicyConditionReason, message string) {
	if c.unresolvedRef.reason == "" {
		c.unresolvedRef = problem[gatewayv1.PolicyConditionReason]{reason: reason, message: message}
	}
}

// trustAnchors reads validation.caCertificateRefs (ConfigMaps, key ca.crt)
// or wellKnownCACertificates (System). Any bad reference makes the backend
// fail closed, as the spec requires of connections "using an invalid
// CACertificateRef"; trusting only the good ones would silently change
// what the author trusted. Accepted=False NoValidCACertificate only when
// every reference is bad, as the spec says.
func (c *btlsContent) trustAnchors(t *translator, p *gatewayv1.BackendTLSPolicy) {
	v := p.Spec.Validation
	wellKnown := v.WellKnownCACertificates != nil && *v.WellKnownCACertificates != ""
	switch {
	case len(v.CACertificateRefs) > 0 && wellKnown:
		c.fail(gatewayv1.PolicyReasonInvalid, "spec.validation: caCertificateRefs and wellKnownCACertificates are mutually exclusive")
	case len(v.CACertificateRefs) == 0 && !wellKnown:
		c.fail(gatewayv1.PolicyReasonInvalid, "spec.validation: one of caCertificateRefs or wellKnownCACertificates is required")
	case wellKnown && *v.WellKnownCACertificates != gatewayv1.WellKnownCACertificatesSystem:
		c.fail(gatewayv1.PolicyReasonInvalid, fmt.Sprintf("spec.validation.wellKnownCACertificates: %q is not supported: use System", *v.WellKnownCACertificates))
	case wellKnown:
		c.tls.UseSystemRoots = true
	}
	var bad []string
	for i, ref := range v.CACertificateRefs {
		field := fmt.Sprintf("spec.validation.caCertificateRefs[%d]", i)
		if ref.Group != "" || ref.Kind != "ConfigMap" {
			msg := fmt.Sprintf("%s: kind %q in group %q is not supported: use a ConfigMap", field, ref.Kind, ref.Group)
			c.unresolved(gatewayv1.BackendTLSPolicyReasonInvalidKind, msg)
			bad = append(bad, msg)
			continue
		}
		ca, problem := t.readCACertificate(p.Namespace, field, "ConfigMap", string(ref.Name))
		if problem != nil {
			c.unresolved(gatewayv1.BackendTLSPolicyReasonInvalidCACertificateRef, problem.message)
			bad = append(bad, problem.message)
			continue
		}
		c.tls.CACertificates = append(c.tls.CACertificates, ca)
	}
	switch {
	case len(bad) > 0 && len(bad) == len(v.CACertificateRefs):
		c.fail(gatewayv1.BackendTLSPolicyReasonNoValidCACertificate, strings.Join(bad, "; "))
	case len(bad) > 0:
		// Accepted stays True (some references are good), but the
		// backend still fails closed: invalid is set without a reason.
		c.invalid = append(c.invalid, bad...)
	}
}

func (c *btlsContent) subjectAltNames(sans []gatewayv1.SubjectAltName) {
	for i, san := range sans {
		field := fmt.Sprintf("spec.validation.subjectAltNames[%d]", i)
		switch {
		case san.Type == gatewayv1.HostnameSubjectAltNameType && san.Hostname != "":
			c.tls.SubjectAltNames = append(c.tls.SubjectAltNames, snapshot.BackendSAN{Type: snapshot.BackendSANHostname, Value: string(san.Hostname)})
		case san.Type == gatewayv1.URISubjectAltNameType && san.URI != "":
			c.tls.SubjectAltNames = append(c.tls.SubjectAltNames, snapshot.BackendSAN{Type: snapshot.BackendSANURI, Value: string(san.URI)})
		default:
			c.fail(gatewayv1.PolicyReasonInvalid, fmt.Sprintf("%s: type %q needs its matching hostname or uri field", field, san.Type))
		}
	}
}

// options reads spec.options. Keys of certgate's own domain must be known:
// a misspelt client certificate option would otherwise silently send the
// Gateway's certificate instead of the one asked for. Other domains'
// options belong to other implementations and are ignored.
func (c *btlsContent) options(t *translator, p *gatewayv1.BackendTLSPolicy) {
	keys := make([]string, 0, len(p.Spec.Options))
	for k := range p.Spec.Options {
		keys = append(keys, string(k))
	}
	slices.Sort(keys)
	for _, k := range keys {
		value := string(p.Spec.Options[gatewayv1.AnnotationKey(k)])
		switch {
		case k == v1alpha1.BackendTLSOptionClientCertificate:
			c.clientCertificate(t, p.Namespace, value)
		case strings.HasPrefix(k, "certgate.dev/"):
			c.fail(gatewayv1.PolicyReasonInvalid, fmt.Sprintf("spec.options[%q]: unknown certgate option; the only one is %s", k, v1alpha1.BackendTLSOptionClientCertificate))
		}
	}
}

func (c *btlsContent) clientCertificate(t *translator, ns, name string) {
	field := fmt.Sprintf("spec.options[%q]", v1alpha1.BackendTLSOptionClientCertificate)
	cert, problem := t.readClientCertificate(nameOf(ns, name))
	if problem != "" {
		msg := field + ": " + problem
		c.unresolved(v1alpha1.ReasonInvalidClientCertificateRef, msg)
		c.fail(gatewayv1.PolicyReasonInvalid, msg)
		return
	}
	c.tls.ClientCertificate = cert
}
