package translator

import (
	"fmt"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/certgate/certgate/api/v1alpha1"
	"github.com/certgate/certgate/dataplane/snapshot"
)

// ccpContent is what the content of a ClientCertPolicy resolves to,
// independent of its targets.
type ccpContent struct {
	// requirement is set on every rule the policy governs. It is never
	// nil: a policy that cannot be used still governs its rules, with
	// Invalid set, so they answer 403 (fail closed).
	requirement *snapshot.Requirement
	// pinCount is the number of distinct pins in force; 0 when invalid.
	pinCount int32
	// renewal is the pins of PEM sources and the retiring ones, for
	// status.
	renewal renewal
	// refs is the first pinsFrom or trust reference that could not be
	// used; nil when all resolved.
	refs *ccpRefProblem
	// invalid lists every problem (refs included) that makes the policy
	// unusable; empty for a usable policy.
	invalid []string
}

// policyContent resolves p and gives its requirement the
// object of the previous translation when they are equal (reuse.go).
func (t *translator) policyContent(p *v1alpha1.ClientCertPolicy) ccpContent {
	c := t.resolveClientCertPolicy(p)
	c.requirement = t.checkRequirement(p.Namespace+"/"+p.Name, c.requirement)
	return c
}

// resolveClientCertPolicy turns a policy's spec into a requirement. It
// reports every problem it finds, not just the first, so one status
// update shows the user everything to fix.
func (t *translator) resolveClientCertPolicy(p *v1alpha1.ClientCertPolicy) ccpContent {
	c := ccpContent{}
	req := &snapshot.Requirement{
		Policy:            p.Namespace + "/" + p.Name,
		AllowExpired:      p.Spec.AllowExpired,
		SubjectAltNames:   c.sans(p.Spec.SubjectAltNames),
		Mode:              c.mode(p.Spec.Mode),
		ForwardClientCert: c.forward(p.Spec.ForwardClientCert),
	}
	req.PathConfusionGuard = c.pathConfusionGuard(p.Spec.PathConfusionGuard)
	var pins pinSet
	for i, raw := range p.Spec.Pins {
		parsed, err := parseInlinePin(i, raw)
		if err != nil {
			c.invalid = append(c.invalid, err.Error())
			continue
		}
		pins.add(parsed)
	}
	pem := map[int]pemSource{}
	for i, src := range p.Spec.PinsFrom {
		listed, isPEM, problem := t.readPinSource(p.Namespace, i, src)
		c.addRefProblem(problem)
		pins.add(listed...)
		if isPEM && problem == nil {
			pem[i] = pemSource{keep: keepPrevious(src), pins: listed}
		}
	}
	req.CACertificates = c.trust(t, p.Namespace, p.Spec.Trust)
	c.checkSomethingPinned(p, len(pins.pins))
	c.checkKeepPrevious(p.Spec.PinsFrom)
	if len(c.invalid) > 0 {
		c.renewal = t.keptWhileInvalid(&p.Status)
		// Only what decides how the failure is reported is kept: the data
		// plane ignores every check of an invalid requirement, and keeping
		// Mode means an Audit policy stays a dry run (see
		// clientcert.Requirement.Mode).
		c.requirement = &snapshot.Requirement{Policy: req.Policy, Mode: req.Mode, Invalid: fmt.Sprintf("ClientCertPolicy %s: %s", req.Policy, joinMessages(c.invalid...))}
		return c
	}
	req.Pins = pins.pins
	c.renewal = t.resolveRenewal(&p.Status, pem, &pins)
	req.RetiringPins = c.renewal.snapshotRetiring()
	c.requirement, c.pinCount = req, int32(len(pins.pins))
	return c
}

// checkKeepPrevious refuses a negative keepPrevious, which the CRD's
// duration format accepts and a file may hold.
func (c *ccpContent) checkKeepPrevious(sources []v1alpha1.PinSource) {
	for i, src := range sources {
		if src.KeepPrevious != nil && src.KeepPrevious.Duration < 0 {
			c.invalid = append(c.invalid, fmt.Sprintf("%s.keepPrevious: %s is negative; use 0s to keep no previous pins", sourceField(i), src.KeepPrevious.Duration))
		}
	}
}

// checkSomethingPinned enforces that a policy accepts someone specific.
// With pins or pinsFrom configured, they must yield at least one pin:
// otherwise an empty pin list would silently turn a pinned policy into a
// trust-only one (or, without trust, into one nothing can satisfy without
// the status saying why). A policy with no pins, pinsFrom or trust at all
// (the CRD rejects it; a file need not) is invalid too.
func (c *ccpContent) checkSomethingPinned(p *v1alpha1.ClientCertPolicy, pins int) {
	configured := len(p.Spec.Pins) + len(p.Spec.PinsFrom)
	switch {
	case configured == 0 && p.Spec.Trust == nil:
		c.invalid = append(c.invalid, "spec: at least one of pins, pinsFrom or trust is required")
	case configured > 0 && pins == 0 && len(c.invalid) == 0:
		c.invalid = append(c.invalid, "spec.pins and spec.pinsFrom hold no pin: a policy with pins configured must name at least one")
	}
}

// addRefProblem records an unusable reference: the first one decides the
// ResolvedRefs reason, and every one makes the policy invalid.
func (c *ccpContent) addRefProblem(p *ccpRefProblem) {
	if p == nil {
		return
	}
	if c.refs == nil {
		c.refs = p
	}
	c.invalid = append(c.invalid, p.message)
}

// trust reads spec.trust.caCertificateRefs: key ca.crt of each ConfigMap
// or Secret, checked to parse as the data plane will parse it.
func (c *ccpContent) trust(t *translator, ns string, trust *v1alpha1.Trust) []snapshot.CACertificate {
	if trust == nil {
		return nil
	}
	if len(trust.CACertificateRefs) == 0 {
		c.invalid = append(c.invalid, "spec.trust.caCertificateRefs: at least one is required")
	}
	var cas []snapshot.CACertificate
	for i, ref := range trust.CACertificateRefs {
		ca, problem := t.readCACertificate(ns, fmt.Sprintf("spec.trust.caCertificateRefs[%d]", i), string(ref.Kind), ref.Name)
		c.addRefProblem(problem)
		if problem == nil {
			cas = append(cas, ca)
		}
	}
	return cas
}

// readCACertificate reads key ca.crt of a ConfigMap or Secret kind/ns/name
// as trust anchors. field names the reference in problems.
func (t *translator) readCACertificate(ns, field, kind, name string) (snapshot.CACertificate, *ccpRefProblem) {
	// Gateway API's reasons for the same faults on BackendTLSPolicy.
	const reason = gatewayv1.BackendTLSPolicyReasonInvalidCACertificateRef
	if kind != "ConfigMap" && kind != "Secret" {
		return snapshot.CACertificate{}, &ccpRefProblem{gatewayv1.BackendTLSPolicyReasonInvalidKind, fmt.Sprintf("%s: kind %q is not ConfigMap or Secret", field, kind)}
	}
	obj := fmt.Sprintf("%s %s/%s", kind, ns, name)
	value, objFound, keyFound := t.idx.keyOf(kind, nameOf(ns, name), "ca.crt")
	switch {
	case !objFound:
		return snapshot.CACertificate{}, &ccpRefProblem{reason, fmt.Sprintf("%s: %s not found", field, obj)}
	case !keyFound:
		return snapshot.CACertificate{}, &ccpRefProblem{reason, fmt.Sprintf("%s: %s has no key \"ca.crt\"", field, obj)}
	}
	if err := checkCertificatesPEM(value); err != nil {
		return snapshot.CACertificate{}, &ccpRefProblem{reason, fmt.Sprintf("%s: %s key \"ca.crt\": %v", field, obj, err)}
	}
	return snapshot.CACertificate{Name: ns + "/" + name, PEM: value}, nil
}

func (c *ccpContent) sans(sans []v1alpha1.SubjectAltName) []snapshot.SANMatch {
	var out []snapshot.SANMatch
	for i, s := range sans {
		switch s.Type {
		case v1alpha1.SANTypeDNS, v1alpha1.SANTypeURI, v1alpha1.SANTypeEmail:
		default:
			c.invalid = append(c.invalid, fmt.Sprintf("spec.subjectAltNames[%d].type: %q is not DNS, URI or Email", i, s.Type))
			continue
		}
		if s.Value == "" {
			c.invalid = append(c.invalid, fmt.Sprintf("spec.subjectAltNames[%d].value: must not be empty", i))
			continue
		}
		out = append(out, snapshot.SANMatch{Type: snapshot.SANType(s.Type), Value: s.Value})
	}
	return out
}

// mode maps spec.mode; empty is the CRD default, Enforce. An unknown mode
// is invalid and maps to Enforce: a typo must not turn rejection off.
func (c *ccpContent) mode(m v1alpha1.Mode) snapshot.RequirementMode {
	switch m {
	case "", v1alpha1.ModeEnforce:
		return snapshot.ModeEnforce
	case v1alpha1.ModeAudit:
		return snapshot.ModeAudit
	}
	c.invalid = append(c.invalid, fmt.Sprintf("spec.mode: %q is not Enforce or Audit", m))
	return snapshot.ModeEnforce
}

// forward maps spec.forwardClientCert; empty is the CRD default, None.
func (c *ccpContent) forward(f v1alpha1.ForwardClientCert) snapshot.ForwardClientCert {
	switch f {
	case "", v1alpha1.ForwardNone:
		return snapshot.ForwardNone
	case v1alpha1.ForwardXFCC, v1alpha1.ForwardRFC9440:
		return snapshot.ForwardClientCert(f)
	}
	c.invalid = append(c.invalid, fmt.Sprintf("spec.forwardClientCert: %q is not None, XFCC or RFC9440", f))
	return snapshot.ForwardNone
}

// pathConfusionGuard maps spec.pathConfusionGuard. Only Disabled is
// written: empty is Enabled in the snapshot, so a requirement that does
// not say keeps the guard. An unknown value is invalid, and an invalid
// policy keeps the guard on (see resolveClientCertPolicy).
func (c *ccpContent) pathConfusionGuard(g v1alpha1.PathConfusionGuard) snapshot.PathConfusionGuard {
	switch g {
	case "", v1alpha1.PathConfusionGuardEnabled:
		return ""
	case v1alpha1.PathConfusionGuardDisabled:
		return snapshot.GuardDisabled
	}
	c.invalid = append(c.invalid, fmt.Sprintf("spec.pathConfusionGuard: %q is not Enabled or Disabled", g))
	return ""
}
