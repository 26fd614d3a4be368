package translator

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// TestRouteStatusesDoNotDependOnTheOrderOfRoutes: route statuses come out
// sorted by name whatever order the routes are given in. Every golden
// scenario is translated with each kind of route in reverse order; the
// statuses must be those of the sorted input.
func TestRouteStatusesDoNotDependOnTheOrderOfRoutes(t *testing.T) {
	inputs, err := filepath.Glob("testdata/*.in.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range inputs {
		res := goldenResources(t, in, newGoldenPKI(t))
		opts := goldenOptions(t, in)
		want, _ := json.Marshal(Translate(res, opts).Status)
		reversed := *res
		reversed.HTTPRoutes = slices.Clone(res.HTTPRoutes)
		slices.Reverse(reversed.HTTPRoutes)
		reversed.GRPCRoutes = slices.Clone(res.GRPCRoutes)
		slices.Reverse(reversed.GRPCRoutes)
		reversed.TLSRoutes = slices.Clone(res.TLSRoutes)
		slices.Reverse(reversed.TLSRoutes)
		if got, _ := json.Marshal(Translate(&reversed, opts).Status); !bytes.Equal(got, want) {
			t.Errorf("%s: routes in reverse order give other statuses:\n got  %s\n want %s", in, got, want)
		}
	}
}

// TestARouteGivenTwiceHasTheStatusOfTheLastOne: a source that lists two
// HTTPRoutes of one name (none does on purpose) gets one status for the
// name, that of the one listed last.
func TestARouteGivenTwiceHasTheStatusOfTheLastOne(t *testing.T) {
	in := filepath.Join("testdata", "ccp-pin-sha256-route.in.yaml")
	res := goldenResources(t, in, newGoldenPKI(t))
	if len(res.HTTPRoutes) == 0 {
		t.Fatal("the scenario has no HTTPRoute")
	}
	twin := res.HTTPRoutes[0].DeepCopy()
	missing := gatewayv1.SectionName("no-such-listener")
	for i := range twin.Spec.ParentRefs {
		twin.Spec.ParentRefs[i].SectionName = &missing
	}
	twice := *res
	twice.HTTPRoutes = append(slices.Clone(res.HTTPRoutes), twin)
	st := Translate(&twice, goldenOptions(t, in)).Status
	var names []string
	for _, s := range st.HTTPRoutes {
		names = append(names, s.Namespace+"/"+s.Name)
		if s.Name != twin.Name || s.Namespace != twin.Namespace {
			continue
		}
		for _, p := range s.Status.Parents {
			if c := p.Conditions[0]; c.Reason != string(gatewayv1.RouteReasonNoMatchingParent) {
				t.Errorf("route %s: Accepted %s %s, want the last one's, NoMatchingParent", s.Name, c.Reason, c.Message)
			}
		}
	}
	if !slices.IsSorted(names) || len(slices.Compact(slices.Clone(names))) != len(names) || len(names) != len(res.HTTPRoutes) {
		t.Errorf("route statuses for %s, want each of the %d routes once, sorted", strings.Join(names, ", "), len(res.HTTPRoutes))
	}
}

// TestParentRefValueHasEveryField keeps parentRefValue in step with
// ParentReference: routes whose parentRefs differ in a field it does not
// have would share a status list (keptParents).
func TestParentRefValueHasEveryField(t *testing.T) {
	if n := reflect.TypeFor[gatewayv1.ParentReference]().NumField(); n != 6 {
		t.Fatalf("ParentReference has %d fields; parentRefValue knows 6", n)
	}
}
