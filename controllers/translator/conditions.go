package translator

import (
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// conditionType is a condition type of an object the translator writes
// status for; Gateway API types each object's condition types.
type conditionType interface {
	gatewayv1.GatewayClassConditionType | gatewayv1.GatewayConditionType |
		gatewayv1.ListenerConditionType | gatewayv1.RouteConditionType | gatewayv1.PolicyConditionType
}

// conditionReason is a condition reason of an object the translator
// writes status for. certgate's own reasons (api/v1alpha1) are untyped
// constants, so they take the type of the object they are reported on.
type conditionReason interface {
	gatewayv1.GatewayClassConditionReason | gatewayv1.GatewayConditionReason |
		gatewayv1.ListenerConditionReason | gatewayv1.RouteConditionReason | gatewayv1.PolicyConditionReason
}

// setCondition sets a condition on conds, with the translation's time as
// its transition time and the object's generation. The status writer keeps
// the previous transition time when status and reason did not change.
// Type and reason are typed, so a bare string cannot be passed for either.
func setCondition[T conditionType, R conditionReason](t *translator, conds *[]metav1.Condition, generation int64, typ T, status metav1.ConditionStatus, reason R, message string) {
	meta.SetStatusCondition(conds, metav1.Condition{
		Type:               string(typ),
		Status:             status,
		Reason:             string(reason),
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

// listenerProblem is why a listener is not accepted, has unresolved
// references or conflicts: a listener condition reason and a message.
type listenerProblem = problem[gatewayv1.ListenerConditionReason]

// gatewayProblem is why a Gateway cannot be programmed or has unresolved
// references: a Gateway condition reason and a message.
type gatewayProblem = problem[gatewayv1.GatewayConditionReason]
