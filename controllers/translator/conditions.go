package translator

import (
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// setCondition sets a condition on conds, with the translation's time as
// its transition time and the object's generation. The status writer keeps
// the previous transition time when status and reason did not change.
func (t *translator) setCondition(conds *[]metav1.Condition, generation int64, typ string, status metav1.ConditionStatus, reason, message string) {
	meta.SetStatusCondition(conds, metav1.Condition{
		Type:               typ,
		Status:             status,
		Reason:             reason,
		Message:            message,
		ObservedGeneration: generation,
		LastTransitionTime: metav1.NewTime(t.opts.Now),
	})
}

// problem is why something cannot be used as written: the reason of the
// condition that reports it, typed as the object's condition reasons are,
// and a message naming the field and the object.
type problem[R ~string] struct {
	reason  R
	message string
}

// Error returns the message, so a problem can travel as an error.
func (p *problem[R]) Error() string { return p.message }

// ruleError is why a rule cannot be served as written: a route Accepted
// reason (UnsupportedValue or IncompatibleFilters) and a message.
type ruleError = problem[gatewayv1.RouteConditionReason]

// refProblem is why a backendRef could not be resolved: a route
// ResolvedRefs reason and a message naming the reference.
type refProblem = problem[gatewayv1.RouteConditionReason]

// ccpRefProblem is why a reference of a ClientCertPolicy could not be
// used: the ResolvedRefs reason and a message naming the field and the
// object.
type ccpRefProblem = problem[gatewayv1.PolicyConditionReason]
