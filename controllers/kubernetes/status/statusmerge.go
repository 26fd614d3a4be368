package status

import (
	"reflect"

	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/certgate/certgate/api/v1alpha1"
)

// The merge functions below turn an object's current status and the
// status the translator wants into the status to write, and report
// whether it differs from the current one. A write happens only then.
//
// The translator stamps every condition with the time of its run. A
// condition whose status, reason and message are unchanged keeps its old
// lastTransitionTime instead; otherwise every translation would look like
// a change and rewrite every status.
//
// Ownership: GatewayClass and Gateway status belong to certgate entirely.
// An HTTPRoute's parents and a policy's ancestors are shared with other
// controllers: only entries with certgate's controllerName are replaced,
// added or removed, and others' entries keep their place.

// keepTransitionTimes copies into next the lastTransitionTime of each
// condition of prev that next repeats with the same status, reason and
// message.
func keepTransitionTimes(prev, next []metav1.Condition) {
	for i := range next {
		n := &next[i]
		for _, p := range prev {
			if p.Type == n.Type && p.Status == n.Status && p.Reason == n.Reason && p.Message == n.Message {
				n.LastTransitionTime = p.LastTransitionTime
			}
		}
	}
}

// replace sets *cur to want and reports whether that changed it.
func replace[T any](cur *T, want T) bool {
	if equality.Semantic.DeepEqual(*cur, want) {
		return false
	}
	*cur = want
	return true
}

func mergeGatewayClassStatus(cur *gatewayv1.GatewayClassStatus, want gatewayv1.GatewayClassStatus) bool {
	want = *want.DeepCopy()
	keepTransitionTimes(cur.Conditions, want.Conditions)
	return replace(cur, want)
}

func mergeGatewayStatus(cur *gatewayv1.GatewayStatus, want gatewayv1.GatewayStatus) bool {
	want = *want.DeepCopy()
	keepTransitionTimes(cur.Conditions, want.Conditions)
	for i := range want.Listeners {
		for _, old := range cur.Listeners {
			if old.Name == want.Listeners[i].Name {
				keepTransitionTimes(old.Conditions, want.Listeners[i].Conditions)
			}
		}
	}
	return replace(cur, want)
}

// mergeRouteStatus replaces controller's parent entries of cur (an
// HTTPRoute's or a GRPCRoute's) by ours.
func mergeRouteStatus(cur *gatewayv1.RouteStatus, ours []gatewayv1.RouteParentStatus, controller gatewayv1.GatewayController) bool {
	merged := mergeEntries(cur.Parents, deepCopyAll(ours, (*gatewayv1.RouteParentStatus).DeepCopy),
		func(p gatewayv1.RouteParentStatus) bool { return p.ControllerName == controller },
		func(a, b gatewayv1.RouteParentStatus) bool { return reflect.DeepEqual(a.ParentRef, b.ParentRef) },
		func(p *gatewayv1.RouteParentStatus) *[]metav1.Condition { return &p.Conditions })
	return replace(&cur.Parents, merged)
}

// mergeAncestors replaces controller's ancestor entries of cur by ours.
func mergeAncestors(cur *[]gatewayv1.PolicyAncestorStatus, ours []gatewayv1.PolicyAncestorStatus, controller gatewayv1.GatewayController) bool {
	merged := mergeEntries(*cur, deepCopyAll(ours, (*gatewayv1.PolicyAncestorStatus).DeepCopy),
		func(a gatewayv1.PolicyAncestorStatus) bool { return a.ControllerName == controller },
		func(a, b gatewayv1.PolicyAncestorStatus) bool { return reflect.DeepEqual(a.AncestorRef, b.AncestorRef) },
		func(a *gatewayv1.PolicyAncestorStatus) *[]metav1.Condition { return &a.Conditions })
	return replace(cur, merged)
}

// mergeClientCertPolicyStatus merges the ancestors and takes the pin
// count and the renewal memory (PEM and retiring pins), which only
// certgate sets.
func mergeClientCertPolicyStatus(cur *v1alpha1.ClientCertPolicyStatus, want v1alpha1.ClientCertPolicyStatus, controller gatewayv1.GatewayController) bool {
	changed := mergeAncestors(&cur.Ancestors, want.Ancestors, controller)
	changed = replace(&cur.PEMPins, want.PEMPins) || changed
	changed = replace(&cur.RetiringPins, want.RetiringPins) || changed
	return replace(&cur.PinCount, want.PinCount) || changed
}

// mergeEntries keeps cur's entries that are not ours in place, replaces
// each of ours by the wanted entry for the same reference (keeping
// transition times), drops ours that are no longer wanted, and appends the
// wanted entries that are new. Keeping positions stable matters: if two
// controllers each moved their own entries to the end, they would rewrite
// the status forever.
func mergeEntries[E any](cur, want []E, mine func(E) bool, same func(a, b E) bool, conds func(*E) *[]metav1.Condition) []E {
	used := make([]bool, len(want))
	var out []E
	for _, c := range cur {
		if !mine(c) {
			out = append(out, c)
			continue
		}
		for j := range want {
			if !used[j] && same(c, want[j]) {
				used[j] = true
				keepTransitionTimes(*conds(&c), *conds(&want[j]))
				out = append(out, want[j])
				break
			}
		}
	}
	for j := range want {
		if !used[j] {
			out = append(out, want[j])
		}
	}
	return out
}

func deepCopyAll[E any](in []E, deepCopy func(*E) *E) []E {
	out := make([]E, len(in))
	for i := range in {
		out[i] = *deepCopy(&in[i])
	}
	return out
}
