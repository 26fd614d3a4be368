package status

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

func ancestor(controller gatewayv1.GatewayController, gw string, status metav1.ConditionStatus, reason, message string) gatewayv1.PolicyAncestorStatus {
	c := metav1.Condition{Type: "Accepted", Status: status, Reason: reason, Message: message, LastTransitionTime: metav1.NewTime(time.Now())}
	return gatewayv1.PolicyAncestorStatus{AncestorRef: gatewayv1.ParentReference{Name: gatewayv1.ObjectName(gw)}, ControllerName: controller, Conditions: []metav1.Condition{c}}
}

func TestAcceptanceChangesOnlyWhenAcceptedChanges(t *testing.T) {
	accepted := ancestor(ours, "gw", metav1.ConditionTrue, "Accepted", "governs 1 rule")
	invalid := ancestor(ours, "gw", metav1.ConditionFalse, "Invalid", "spec.pins[0].sha256: 63 hex digits, want 64")
	theirs := ancestor("example.com/other", "gw", metav1.ConditionTrue, "Accepted", "governs 1 rule")
	for _, tc := range []struct {
		name      string
		cur, want []gatewayv1.PolicyAncestorStatus
		reasons   []string
	}{
		{"first status", nil, []gatewayv1.PolicyAncestorStatus{invalid}, []string{"Invalid"}},
		{"unchanged", []gatewayv1.PolicyAncestorStatus{accepted}, []gatewayv1.PolicyAncestorStatus{accepted}, nil},
		{"fixed", []gatewayv1.PolicyAncestorStatus{invalid}, []gatewayv1.PolicyAncestorStatus{accepted}, []string{"Accepted"}},
		{"another controller's entry is not ours", []gatewayv1.PolicyAncestorStatus{theirs}, []gatewayv1.PolicyAncestorStatus{accepted}, []string{"Accepted"}},
		{"two Gateways, one change", nil, []gatewayv1.PolicyAncestorStatus{invalid, ancestor(ours, "gw2", metav1.ConditionFalse, "Invalid", invalid.Conditions[0].Message)}, []string{"Invalid"}},
	} {
		got := acceptanceChanges(tc.cur, tc.want, ours)
		var reasons []string
		for _, c := range got {
			reasons = append(reasons, c.cond.Reason)
		}
		if len(reasons) != len(tc.reasons) || (len(reasons) > 0 && reasons[0] != tc.reasons[0]) {
			t.Errorf("%s: changes %v, want %v", tc.name, reasons, tc.reasons)
		}
	}
}
