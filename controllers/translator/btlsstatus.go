package translator

import (
	"fmt"
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// btlsStatusOf builds a policy's status: one entry per Gateway whose
// routes use a backend it targets, with Accepted and ResolvedRefs. A
// policy no certgate route uses gets no entry: it may be another
// implementation's, and GEP-713 limits each controller to its own
// ancestors.
func (t *translator) btlsStatusOf(a *btlsAttachment) *gatewayv1.PolicyStatus {
	st := &gatewayv1.PolicyStatus{Ancestors: []gatewayv1.PolicyAncestorStatus{}}
	for _, gw := range sortedNames(a.reached) {
		entry := t.newAncestor(gatewayRef(gw))
		status, reason, message := a.accepted(gw)
		setCondition(t, &entry.Conditions, a.policy.Generation, gatewayv1.PolicyConditionAccepted, status, reason, message)
		status, reason, message = a.resolvedRefs()
		setCondition(t, &entry.Conditions, a.policy.Generation, gatewayv1.BackendTLSPolicyConditionResolvedRefs, status, reason, message)
		st.Ancestors = append(st.Ancestors, entry)
	}
	st.Ancestors = sortAncestors(st.Ancestors)
	return st
}

// accepted computes Accepted for one Gateway: Conflicted when every
// target reached through it is held by an older policy; otherwise the
// content's own reason (NoValidCACertificate, Invalid) when it cannot be
// used; otherwise Accepted.
func (a *btlsAttachment) accepted(gw types.NamespacedName) (metav1.ConditionStatus, gatewayv1.PolicyConditionReason, string) {
	var lost []string
	for k := range a.reached[gw] {
		if holder, ok := a.conflictedBy[k]; ok {
			lost = append(lost, fmt.Sprintf("%s is held by the older BackendTLSPolicy %s", k.describe(), holder))
		}
	}
	switch {
	case len(lost) == len(a.reached[gw]):
		slices.Sort(lost)
		return metav1.ConditionFalse, gatewayv1.PolicyReasonConflicted, strings.Join(lost, "; ")
	case a.content.acceptedReason != "":
		return metav1.ConditionFalse, a.content.acceptedReason, "connections to the targeted backends fail (HTTP 500) until this is fixed: " + joinMessages(a.content.invalid...)
	case len(a.content.invalid) > 0:
		return metav1.ConditionTrue, gatewayv1.PolicyReasonAccepted, "accepted, but connections to the targeted backends fail (HTTP 500) until every reference is fixed: " + joinMessages(a.content.invalid...)
	}
	return metav1.ConditionTrue, gatewayv1.PolicyReasonAccepted, "backend TLS applied to the targeted backends reached through this Gateway"
}

func (a *btlsAttachment) resolvedRefs() (metav1.ConditionStatus, gatewayv1.PolicyConditionReason, string) {
	if a.content.unresolvedRef.reason != "" {
		return metav1.ConditionFalse, a.content.unresolvedRef.reason, a.content.unresolvedRef.message
	}
	return metav1.ConditionTrue, gatewayv1.BackendTLSPolicyReasonResolvedRefs, "all references resolved"
}

func (k btlsKey) describe() string {
	if k.section == "" {
		return "Service " + k.service.String()
	}
	return fmt.Sprintf("Service %s port %s", k.service, k.section)
}
