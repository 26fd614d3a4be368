package gatewayservice

import (
	"reflect"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/certgate/certgate/controllers/translator"
)

func gwName(name string) types.NamespacedName {
	return types.NamespacedName{Namespace: "ns", Name: name}
}

func TestAllocateContainerPorts(t *testing.T) {
	r := PortRange{First: 20000, Last: 20004}
	type allocs = map[types.NamespacedName]map[int32]int32
	a, b, c := gwName("a"), gwName("b"), gwName("c")
	for _, tc := range []struct {
		name     string
		existing allocs
		wanted   []GatewayPorts
		want     allocs
	}{{
		name:   "fresh: lowest free ports, Gateways in order, ports ascending, duplicates once",
		wanted: []GatewayPorts{{a, []int32{443, 80, 443}}, {b, []int32{443}}},
		want:   allocs{a: {80: 20000, 443: 20001}, b: {443: 20002}},
	}, {
		name:     "existing allocations are kept; a new port takes the lowest free one",
		existing: allocs{a: {443: 20003}, b: {443: 20001}},
		wanted:   []GatewayPorts{{a, []int32{443, 80}}, {b, []int32{443}}},
		want:     allocs{a: {443: 20003, 80: 20000}, b: {443: 20001}},
	}, {
		name:     "a removed listener or Gateway frees its port for new ones",
		existing: allocs{a: {80: 20000, 443: 20001}, b: {443: 20002}},
		wanted:   []GatewayPorts{{a, []int32{443}}, {c, []int32{80, 8080}}},
		want:     allocs{a: {443: 20001}, c: {80: 20000, 8080: 20002}},
	}, {
		name:     "a port held twice stays with the Gateway first in order; out of range is reallocated",
		existing: allocs{a: {443: 20001}, b: {443: 20001, 80: 30000}},
		wanted:   []GatewayPorts{{a, []int32{443}}, {b, []int32{443, 80}}},
		want:     allocs{a: {443: 20001}, b: {80: 20000, 443: 20002}},
	}, {
		name:   "an exhausted range leaves the remaining ports out",
		wanted: []GatewayPorts{{a, []int32{1, 2, 3}}, {b, []int32{4, 5, 6}}},
		want:   allocs{a: {1: 20000, 2: 20001, 3: 20002}, b: {4: 20003, 5: 20004}},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			got := AllocateContainerPorts(r, tc.existing, tc.wanted)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
			if again := AllocateContainerPorts(r, tc.existing, tc.wanted); !reflect.DeepEqual(again, got) {
				t.Errorf("not deterministic: %v then %v", got, again)
			}
			if stable := AllocateContainerPorts(r, got, tc.wanted); !reflect.DeepEqual(stable, got) {
				t.Errorf("not stable: fed its own result back, got %v, want %v", stable, got)
			}
		})
	}
}

func TestContainerPortsAnnotationRoundTrips(t *testing.T) {
	ports := map[int32]int32{443: 20002, 80: 20001}
	s := translator.FormatContainerPorts(ports)
	if s != "80=20001,443=20002" {
		t.Errorf("format = %q", s)
	}
	back, err := translator.ParseContainerPorts(s)
	if err != nil || !reflect.DeepEqual(back, ports) {
		t.Errorf("parse(%q) = %v, %v", s, back, err)
	}
	for _, bad := range []string{"80", "80=x", "0=1", "80=70000"} {
		if _, err := translator.ParseContainerPorts(bad); err == nil {
			t.Errorf("parse(%q): no error", bad)
		}
	}
}

// Every Gateway's Service name is a valid Service name, readable, and
// distinct even where sanitizing or truncating makes the readable parts
// equal.
func TestGatewayServiceName(t *testing.T) {
	if got := translator.GatewayServiceName("apps", "web"); !strings.HasPrefix(got, "certgate-apps-web-") {
		t.Errorf("apps/web: %q", got)
	}
	seen := map[string]string{}
	for _, gw := range [][2]string{
		{"apps", "web"}, {"apps", "a.b"}, {"apps", "a-b"}, {"apps-a", "b"}, {"apps", "1st"},
		{"apps", strings.Repeat("x", 60)}, {"apps", strings.Repeat("x", 61)}, {strings.Repeat("n", 63), "web"},
		{"apps", strings.Repeat("y.", 100)},
	} {
		name := translator.GatewayServiceName(gw[0], gw[1])
		if errs := validation.IsDNS1035Label(name); len(errs) > 0 {
			t.Errorf("%v: %q is not a Service name: %v", gw, name, errs)
		}
		if other, dup := seen[name]; dup {
			t.Errorf("%v and %v share the Service name %q", gw, other, name)
		}
		seen[name] = gw[0] + "/" + gw[1]
	}
}

func TestParsePortRangeAndSelector(t *testing.T) {
	if r, err := ParsePortRange("20000-29999"); err != nil || r != (PortRange{20000, 29999}) {
		t.Errorf("ParsePortRange = %v, %v", r, err)
	}
	for _, bad := range []string{"", "20000", "2-1", "0-10", "1-70000"} {
		if _, err := ParsePortRange(bad); err == nil {
			t.Errorf("ParsePortRange(%q): no error", bad)
		}
	}
	sel, err := ParseSelector("app.kubernetes.io/name=certgate, app.kubernetes.io/instance=cg")
	if err != nil || !reflect.DeepEqual(sel, map[string]string{"app.kubernetes.io/name": "certgate", "app.kubernetes.io/instance": "cg"}) {
		t.Errorf("ParseSelector = %v, %v", sel, err)
	}
	for _, bad := range []string{"", "app", "=x", "a=b c"} {
		if _, err := ParseSelector(bad); err == nil {
			t.Errorf("ParseSelector(%q): no error", bad)
		}
	}
}
