package e2e_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/certgate/certgate/api/v1alpha1"
)

// testPolicyEventsOnAcceptanceChanges: a policy whose pinsFrom line is
// malformed gets a Warning Event naming the field, fixing it a Normal one,
// and translations that change nothing record no more Events.
func (w *world) testPolicyEventsOnAcceptanceChanges(t *testing.T) {
	const ns, addr = "events", "127.0.0.1:18454"
	route := w.app(t, ns, className, 18454, ns)
	// The policy comes once the route is served, so that its first status
	// (and Event) is not TargetNotFound from a cache that has it first.
	wantStatus(t, "a client without a certificate before the policy", w.client(nil, addr), http.StatusOK)
	pins := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "pins"},
		Data:       map[string]string{"pins": "sha256:not-a-pin\n"},
	}
	w.create(t, pins, policy(ns, "pinned", "api", v1alpha1.ClientCertPolicySpec{
		PinsFrom: []v1alpha1.PinSource{{Kind: v1alpha1.KindConfigMap, Name: "pins", Key: "pins"}},
	}))
	eventually(t, "a Warning Event with reason Invalid naming pinsFrom", func() error {
		return w.wantEvents(t, ns, "pinned", controllerName, "Warning/Invalid")
	})
	warning := w.policyEvents(t, ns, "pinned")[0]
	if !strings.Contains(warning.Note, "spec.pinsFrom[0]") || !strings.Contains(warning.Note, "Gateway events/gw") {
		t.Errorf("Warning note %q does not name the field pinsFrom and the Gateway events/gw", warning.Note)
	}

	pins.Data["pins"] = pinLine(w.gatewayCert) + "\n"
	if err := w.c.Update(ctx(t), pins); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, "the pinned client once the policy is fixed", w.client(w.gatewayCert, addr), http.StatusOK)
	eventually(t, "a Normal Event with reason Accepted after the Warning", func() error {
		return w.wantEvents(t, ns, "pinned", controllerName, "Warning/Invalid", "Normal/Accepted")
	})

	// Translations that change nothing: the route relabelled a few times.
	for i := range 3 {
		patch := client.RawPatch("application/merge-patch+json", fmt.Appendf(nil, `{"metadata":{"labels":{"touch":"%d"}}}`, i))
		if err := w.c.Patch(ctx(t), route, patch); err != nil {
			t.Fatal(err)
		}
		time.Sleep(500 * time.Millisecond)
	}
	if err := w.wantEvents(t, ns, "pinned", controllerName, "Warning/Invalid", "Normal/Accepted"); err != nil {
		t.Errorf("after translations that changed nothing: %v", err)
	}
}

// wantEvents checks that controller's Events on the policy are exactly want
// ("type/reason", oldest first), each recorded once (no series).
func (w *world) wantEvents(t *testing.T, ns, name, controller string, want ...string) error {
	var got []string
	for _, e := range w.policyEvents(t, ns, name) {
		if e.ReportingController != controller {
			continue // another controller's view of the policy
		}
		s := e.Type + "/" + e.Reason
		if testing.Verbose() {
			t.Logf("Event %s/%s by %s: %s", e.Type, e.Reason, e.ReportingController, e.Note)
		}
		if e.Series != nil {
			s += fmt.Sprintf(" (repeated %d times)", e.Series.Count)
		}
		got = append(got, s)
	}
	if strings.Join(got, ", ") != strings.Join(want, ", ") {
		return fmt.Errorf("Events %q, want %q", got, want)
	}
	return nil
}

// policyEvents lists the Events regarding ClientCertPolicy ns/name,
// oldest first.
func (w *world) policyEvents(t *testing.T, ns, name string) []eventsv1.Event {
	list := &eventsv1.EventList{}
	if err := w.c.List(ctx(t), list, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	var out []eventsv1.Event
	for _, e := range list.Items {
		if e.Regarding.Kind == "ClientCertPolicy" && e.Regarding.Name == name {
			out = append(out, e)
		}
	}
	slices.SortFunc(out, func(a, b eventsv1.Event) int { return a.EventTime.Compare(b.EventTime.Time) })
	return out
}
