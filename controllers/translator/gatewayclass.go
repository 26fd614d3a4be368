package translator

import (
	"cmp"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// translateGatewayClasses accepts every GatewayClass whose controllerName
// is ours and records it for the gateway stage. Classes of other
// controllers get no status from us: the spec leaves them to their own
// controller.
//
// certgate reads no parametersRef yet; a class that sets one is still
// accepted, and the parameters are ignored (the Helm chart passes
// provisioning settings as flags instead).
func (t *translator) translateGatewayClasses() {
	for _, gc := range t.res.GatewayClasses {
		if gc.Spec.ControllerName != t.opts.ControllerName {
			continue
		}
		st := &gatewayv1.GatewayClassStatus{SupportedFeatures: supportedFeatureList()}
		setCondition(t, &st.Conditions, gc.Generation, gatewayv1.GatewayClassConditionStatusAccepted,
			metav1.ConditionTrue, gatewayv1.GatewayClassReasonAccepted, "certgate serves this class")
		t.classStatus[gc.Name] = st
		t.classes[gc.Name] = gc
	}
}

// compareStrings is cmp.Compare for strings, named for readability at the
// sort calls.
func compareStrings(a, b string) int { return cmp.Compare(a, b) }
