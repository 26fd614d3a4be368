package translator

import (
	"fmt"
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/certgate/certgate/api/v1alpha1"
	"github.com/certgate/certgate/dataplane/snapshot"
)

// ccpStatus builds a policy's status: one entry per ancestor (GEP-713),
// each with Accepted and ResolvedRefs, and the number of pins in force.
func (t *translator) ccpStatus(a *ccpAttachment) *v1alpha1.ClientCertPolicyStatus {
	refs := map[string]gatewayv1.ParentReference{}
	targets := map[string][]ccpTarget{}
	for _, tgt := range a.targets {
		for _, ref := range tgt.ancestors {
			k := parentRefKey(ref)
			refs[k] = ref
			targets[k] = append(targets[k], tgt)
		}
	}
	st := &v1alpha1.ClientCertPolicyStatus{}
	for k, ref := range refs {
		entry := t.newAncestor(ref)
		status, reason, message := a.accepted(ref, targets[k])
		setCondition(t, &entry.Conditions, a.policy.Generation, gatewayv1.PolicyConditionAccepted, status, reason, message)
		status, reason, message = a.resolvedRefs()
		setCondition(t, &entry.Conditions, a.policy.Generation, gatewayv1.BackendTLSPolicyConditionResolvedRefs, status, reason, message)
		st.Ancestors = append(st.Ancestors, entry)
	}
	st.Ancestors = sortAncestors(st.Ancestors)
	st.PinCount = a.content.pinCount
	st.PEMPins = a.content.renewal.pemPins
	st.RetiringPins = a.content.renewal.retiring
	return st
}

// accepted computes the Accepted condition for one ancestor from the
// targets reached through it. Reasons, most important first:
//
//   - Conflicted / TargetNotFound when no target under this ancestor is
//     held by the policy: it governs nothing here;
//   - Invalid when the policy's content cannot be used: it still governs
//     its rules, failing closed (403, reason policy_invalid), and the
//     message says so, since Accepted=False alone could be read as "not
//     in effect";
//   - Conflicted / TargetNotFound when only some targets are lost: False
//     draws attention, and the message names what is still in force;
//   - Accepted otherwise, with a message saying how many rules it governs
//     here and warning about plain HTTP listeners (reason no_tls).
func (a *ccpAttachment) accepted(ref gatewayv1.ParentReference, targets []ccpTarget) (metav1.ConditionStatus, gatewayv1.PolicyConditionReason, string) {
	var held, conflicted, missing []string
	for _, tgt := range targets {
		switch {
		case tgt.notFound != "":
			missing = append(missing, tgt.notFound)
		case tgt.conflictedBy != "":
			conflicted = append(conflicted, fmt.Sprintf("%s is held by ClientCertPolicy %s (%s)", tgt.key, tgt.conflictedBy, tgt.decidedBy))
		default:
			held = append(held, tgt.key.String())
		}
	}
	lost := joinMessages(append(conflicted, missing...)...)
	inForce := ""
	if len(held) > 0 && lost != "" {
		inForce = "still in force on " + strings.Join(held, ", ")
	}
	switch {
	case len(held) == 0 && len(conflicted) > 0:
		return metav1.ConditionFalse, gatewayv1.PolicyReasonConflicted, lost
	case len(held) == 0:
		return metav1.ConditionFalse, gatewayv1.PolicyReasonTargetNotFound, lost
	case len(a.content.invalid) > 0:
		return metav1.ConditionFalse, v1alpha1.PolicyReasonInvalid, joinMessages(a.invalidMessage(), lost)
	case len(conflicted) > 0:
		return metav1.ConditionFalse, gatewayv1.PolicyReasonConflicted, joinMessages(lost, inForce)
	case len(missing) > 0:
		return metav1.ConditionFalse, gatewayv1.PolicyReasonTargetNotFound, joinMessages(lost, inForce)
	case ref.Namespace != nil && len(a.passthrough[nameOf(string(*ref.Namespace), string(ref.Name))]) > 0:
		return metav1.ConditionFalse, v1alpha1.PolicyReasonTLSPassthrough, a.passthroughMessage(ref)
	}
	return metav1.ConditionTrue, gatewayv1.PolicyReasonAccepted, a.inForceMessage(ref)
}

// passthroughMessage says on which Passthrough listeners of a Gateway the
// policy is not applied, and what it governs there otherwise.
func (a *ccpAttachment) passthroughMessage(ref gatewayv1.ParentReference) string {
	gw := nameOf(string(*ref.Namespace), string(ref.Name))
	names := make([]string, 0, len(a.passthrough[gw]))
	for l := range a.passthrough[gw] {
		names = append(names, l)
	}
	slices.Sort(names)
	msg := fmt.Sprintf("not applied on TLS Passthrough listener(s) %s: the gateway does not terminate TLS there, so it cannot judge a client certificate; "+
		"their TLSRoutes are served as without this policy; attach them to a listener with tls.mode Terminate to require a certificate", strings.Join(names, ", "))
	if a.rules[gw] > 0 {
		msg += "; " + a.inForceMessage(ref)
	}
	return msg
}

// invalidMessage says what an invalid policy does to its requests, which
// depends on its mode (see clientcert.Requirement.Mode), and why it is
// invalid.
func (a *ccpAttachment) invalidMessage() string {
	effect := "requests to the targeted rules are rejected with 403 (reason policy_invalid) until this is fixed: "
	if a.content.requirement.Mode == snapshot.ModeAudit {
		effect = "the policy is in Audit mode, so requests to the targeted rules pass, each counted as policy_invalid " +
			`(certgate_clientcert_rejections_total with mode="audit"), and no client certificate is checked until this is fixed: `
	}
	return effect + joinMessages(a.content.invalid...)
}

// inForceMessage says how many rules the policy governs through a
// Gateway ancestor, and which of them are on plain HTTP listeners.
func (a *ccpAttachment) inForceMessage(ref gatewayv1.ParentReference) string {
	gw := nameOf(string(*ref.Namespace), string(ref.Name))
	n := a.rules[gw]
	if n == 0 {
		return "accepted, but it governs no rule through this Gateway yet: no targeted route is attached, or a more specific ClientCertPolicy governs every targeted rule"
	}
	msg := fmt.Sprintf("governs %d rule(s) through this Gateway", n)
	if plain := a.plainHTTP[gw]; len(plain) > 0 {
		names := make([]string, 0, len(plain))
		for l := range plain {
			names = append(names, l)
		}
		slices.Sort(names)
		msg += fmt.Sprintf("; listener(s) %s serve plain HTTP, where no client certificate can be presented: requests there are rejected with 403 (reason no_tls); attach the route to an HTTPS listener", strings.Join(names, ", "))
	}
	return msg
}

// resolvedRefs computes the ResolvedRefs condition: pinsFrom and trust
// references. Reasons: ResolvedRefs; InvalidPinsRef (certgate's, a
// pinsFrom object, key or pin list); InvalidCACertificateRef (Gateway
// API's, a trust reference); InvalidKind (Gateway API's).
func (a *ccpAttachment) resolvedRefs() (metav1.ConditionStatus, gatewayv1.PolicyConditionReason, string) {
	if p := a.content.refs; p != nil {
		return metav1.ConditionFalse, p.reason, p.message
	}
	msg := "all pinsFrom and trust references resolved"
	if len(a.policy.Spec.PinsFrom) == 0 && a.policy.Spec.Trust == nil {
		msg = "the policy has no pinsFrom or trust references"
	}
	return metav1.ConditionTrue, gatewayv1.BackendTLSPolicyReasonResolvedRefs, msg
}
