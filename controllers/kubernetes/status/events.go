package status

import (
	"fmt"
	"reflect"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// Events on ClientCertPolicy acceptance.
//
// An Event is recorded when a write changes the Accepted condition of one
// of certgate's ancestor entries (its status, reason or message), and only
// then: the change is computed inside the status write, against the object
// the write merged into, so a stale cache or a second leader that finds
// the status already written records nothing. Messages are the condition's,
// which name fields and conflicting policies but never quote Secret
// content (the translator's rule for status applies to Events too).

// EventRecorder records Kubernetes Events; controller-runtime's manager
// gives one (GetEventRecorder, events.k8s.io/v1).
type EventRecorder interface {
	Eventf(regarding, related runtime.Object, eventtype, reason, action, note string, args ...any)
}

// maxEventNote bounds an Event's note below the API server's 1 kB limit.
const maxEventNote = 1000

// acceptance is one Accepted condition that changed, with the ancestors
// (Gateways) it changed on.
type acceptance struct {
	cond      metav1.Condition
	ancestors []string // as ancestorName gives them
}

// acceptanceChanges compares the Accepted condition of each wanted entry
// with the current entry of the same ancestor, and returns the changes,
// one per distinct condition.
func acceptanceChanges(cur, want []gatewayv1.PolicyAncestorStatus, controller gatewayv1.GatewayController) []acceptance {
	var out []acceptance
	for _, wa := range want {
		next := meta.FindStatusCondition(wa.Conditions, string(gatewayv1.PolicyConditionAccepted))
		if next == nil || sameCondition(acceptedOf(cur, wa.AncestorRef, controller), next) {
			continue
		}
		out = addAcceptance(out, *next, ancestorName(wa.AncestorRef))
	}
	return out
}

// acceptedOf is the Accepted condition of controller's entry for ref in
// entries, or nil.
func acceptedOf(entries []gatewayv1.PolicyAncestorStatus, ref gatewayv1.ParentReference, controller gatewayv1.GatewayController) *metav1.Condition {
	for _, e := range entries {
		if e.ControllerName == controller && reflect.DeepEqual(e.AncestorRef, ref) {
			return meta.FindStatusCondition(e.Conditions, string(gatewayv1.PolicyConditionAccepted))
		}
	}
	return nil
}

func sameCondition(a, b *metav1.Condition) bool {
	return a != nil && b != nil && a.Status == b.Status && a.Reason == b.Reason && a.Message == b.Message
}

func addAcceptance(list []acceptance, cond metav1.Condition, ancestor string) []acceptance {
	for i := range list {
		if sameCondition(&list[i].cond, &cond) {
			list[i].ancestors = append(list[i].ancestors, ancestor)
			return list
		}
	}
	return append(list, acceptance{cond: cond, ancestors: []string{ancestor}})
}

// ancestorName is "Kind namespace/name[/section]" (Kind defaults to
// Gateway, as in a ParentReference).
func ancestorName(ref gatewayv1.ParentReference) string {
	kind := "Gateway"
	if ref.Kind != nil {
		kind = string(*ref.Kind)
	}
	name := string(ref.Name)
	if ref.Namespace != nil {
		name = string(*ref.Namespace) + "/" + name
	}
	if ref.SectionName != nil {
		name += "/" + string(*ref.SectionName)
	}
	return kind + " " + name
}

// recordAcceptance records one Event per change on obj: Normal when the
// policy became accepted, Warning otherwise; the reason is the condition's.
func (w *Writer) recordAcceptance(obj runtime.Object, changes []acceptance) {
	if w.Events == nil {
		return
	}
	for _, c := range changes {
		eventType, action := corev1.EventTypeNormal, "Accept"
		if c.cond.Status != metav1.ConditionTrue {
			eventType, action = corev1.EventTypeWarning, "Reject"
		}
		note := fmt.Sprintf("%s: %s", strings.Join(c.ancestors, ", "), c.cond.Message)
		if len(note) > maxEventNote {
			note = note[:maxEventNote-3] + "..."
		}
		w.Events.Eventf(obj, nil, eventType, c.cond.Reason, action, "%s", note)
	}
}
