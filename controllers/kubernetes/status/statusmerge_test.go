package status

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

const ours gatewayv1.GatewayController = "certgate.dev/gateway-controller"

func cond(typ, reason string, at time.Time) metav1.Condition {
	return metav1.Condition{Type: typ, Status: metav1.ConditionTrue, Reason: reason, Message: reason, LastTransitionTime: metav1.NewTime(at)}
}

func parent(controller gatewayv1.GatewayController, gw string, c ...metav1.Condition) gatewayv1.RouteParentStatus {
	return gatewayv1.RouteParentStatus{ParentRef: gatewayv1.ParentReference{Name: gatewayv1.ObjectName(gw)}, ControllerName: controller, Conditions: c}
}

func TestUnchangedConditionKeepsTransitionTimeAndIsNoWrite(t *testing.T) {
	old := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cur := gatewayv1.GatewayClassStatus{Conditions: []metav1.Condition{cond("Accepted", "Accepted", old)}}
	want := gatewayv1.GatewayClassStatus{Conditions: []metav1.Condition{cond("Accepted", "Accepted", time.Now())}}
	if mergeGatewayClassStatus(&cur, want) {
		t.Fatal("a condition that only has a newer transition time was written")
	}
	if !cur.Conditions[0].LastTransitionTime.Equal(&metav1.Time{Time: old}) {
		t.Errorf("transition time = %v, want the old %v", cur.Conditions[0].LastTransitionTime, old)
	}
}

func TestChangedReasonIsAWriteWithANewTransitionTime(t *testing.T) {
	old, now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Now()
	cur := gatewayv1.GatewayClassStatus{Conditions: []metav1.Condition{cond("Accepted", "Accepted", old)}}
	want := gatewayv1.GatewayClassStatus{Conditions: []metav1.Condition{cond("Accepted", "Other", now)}}
	if !mergeGatewayClassStatus(&cur, want) {
		t.Fatal("a changed reason was not written")
	}
	if got := cur.Conditions[0].LastTransitionTime.Time; !got.Equal(now) {
		t.Errorf("transition time = %v, want %v", got, now)
	}
}

func TestRouteMergeKeepsOtherControllersEntriesInPlace(t *testing.T) {
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cur := gatewayv1.HTTPRouteStatus{}
	cur.Parents = []gatewayv1.RouteParentStatus{
		parent(ours, "stale", cond("Accepted", "Accepted", at)),
		parent("other.example/ctl", "theirs", cond("Accepted", "Accepted", at)),
		parent(ours, "kept", cond("Accepted", "Accepted", at)),
	}
	wanted := []gatewayv1.RouteParentStatus{
		parent(ours, "kept", cond("Accepted", "Accepted", time.Now())),
		parent(ours, "new", cond("Accepted", "Accepted", time.Now())),
	}
	if !mergeRouteStatus(&cur.RouteStatus, wanted, ours) {
		t.Fatal("no write although a parent was added and one removed")
	}
	var names []string
	for _, p := range cur.Parents {
		names = append(names, string(p.ParentRef.Name))
	}
	if got := fmtNames(names); got != "theirs,kept,new" {
		t.Errorf("parents = %s, want theirs,kept,new", got)
	}
	if !cur.Parents[1].Conditions[0].LastTransitionTime.Time.Equal(at) {
		t.Error("the unchanged parent lost its transition time")
	}
	if mergeRouteStatus(&cur.RouteStatus, wanted, ours) {
		t.Error("merging the same wanted parents again was a write")
	}
}

func TestAncestorMergeRemovesOnlyOurEntries(t *testing.T) {
	theirs := gatewayv1.PolicyAncestorStatus{AncestorRef: gatewayv1.ParentReference{Name: "a"}, ControllerName: "other.example/ctl"}
	mine := gatewayv1.PolicyAncestorStatus{AncestorRef: gatewayv1.ParentReference{Name: "b"}, ControllerName: ours}
	cur := []gatewayv1.PolicyAncestorStatus{theirs, mine}
	if !mergeAncestors(&cur, nil, ours) {
		t.Fatal("dropping our ancestor was no write")
	}
	if len(cur) != 1 || cur[0].ControllerName != "other.example/ctl" {
		t.Errorf("ancestors = %+v, want only the other controller's", cur)
	}
}

func fmtNames(names []string) string {
	out := ""
	for i, n := range names {
		if i > 0 {
			out += ","
		}
		out += n
	}
	return out
}
