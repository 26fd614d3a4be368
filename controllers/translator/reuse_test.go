package translator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/certgate/certgate/api/v1alpha1"
	"github.com/certgate/certgate/controllers/resources"
	"github.com/certgate/certgate/dataplane/snapshot"
)

// TestReuseTranslatesAsFromScratch is the guarantee reuse.go rests on: a
// translation that takes rules from the previous one gives exactly what a
// translation from scratch gives. Every golden scenario is translated,
// then changed in one way at a time (nothing, each HTTPRoute edited,
// removed or copied, an object other than a route replaced by an equal
// copy, time moved on) and translated again both ways; the results must
// be equal, statuses included.
func TestReuseTranslatesAsFromScratch(t *testing.T) {
	inputs, err := filepath.Glob("testdata/*.in.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range inputs {
		for _, versioned := range []bool{false, true} {
			name := strings.TrimSuffix(filepath.Base(in), ".in.yaml")
			if versioned {
				name += "/versioned"
			}
			t.Run(name, func(t *testing.T) {
				res := goldenResources(t, in, newGoldenPKI(t))
				if versioned {
					versionAll(res)
				}
				opts := goldenOptions(t, in)
				opts.Versioned = versioned
				first := Translate(res, opts)
				for _, c := range changesOf(res) {
					later := opts
					later.Now = later.Now.Add(c.after)
					assertReuseEqual(t, c.name, c.res, later, first.Reuse)
				}
			})
		}
	}
}

// versionAll gives every object a UID and resourceVersion, as the API
// server does.
func versionAll(res *resources.Resources) {
	n := 0
	set := func(o metav1.Object) {
		n++
		o.SetUID(types.UID(fmt.Sprintf("uid-%d", n)))
		o.SetResourceVersion("1")
	}
	for _, o := range res.GatewayClasses {
		set(o)
	}
	for _, o := range res.Gateways {
		set(o)
	}
	for _, o := range res.HTTPRoutes {
		set(o)
	}
	for _, o := range res.TLSRoutes {
		set(o)
	}
	for _, o := range res.GRPCRoutes {
		set(o)
	}
	for _, o := range res.ReferenceGrants {
		set(o)
	}
	for _, o := range res.BackendTLSPolicies {
		set(o)
	}
	for _, o := range res.ClientCertPolicies {
		set(o)
	}
	for _, o := range res.Services {
		set(o)
	}
	for _, o := range res.EndpointSlices {
		set(o)
	}
	for _, o := range res.Secrets {
		set(o)
	}
	for _, o := range res.ConfigMaps {
		set(o)
	}
	for _, o := range res.Namespaces {
		set(o)
	}
}

// changed is what the API server does to an object that changes: a new
// resourceVersion (ignored by pointer comparison).
func changed(o metav1.Object) {
	o.SetResourceVersion(o.GetResourceVersion() + "+")
}

// TestReuseChains takes rules over several translations, each from the
// one before, editing a different route each time.
func TestReuseChains(t *testing.T) {
	in := filepath.Join("testdata", "ccp-pin-sha256-route.in.yaml")
	res := goldenResources(t, in, newGoldenPKI(t))
	opts := goldenOptions(t, in)
	prev := Translate(res, opts).Reuse
	for i := range 3 * len(res.HTTPRoutes) {
		k := i % len(res.HTTPRoutes)
		res = withRoute(res, k, edited(res.HTTPRoutes[k], i))
		prev = assertReuseEqual(t, fmt.Sprintf("edit %d of route %d", i, k), res, opts, prev)
	}
}

// TestReuseTakesTheRulesOfUnchangedRoutes checks that reuse happens: with
// nothing changed, every HTTPRoute's rules in the new snapshot are those
// of the previous one, the same objects, and an edited route's are new.
// With versioned objects, "nothing changed" is every object a new copy
// with its resourceVersion, as the Kubernetes provider lists them.
func TestReuseTakesTheRulesOfUnchangedRoutes(t *testing.T) {
	for _, versioned := range []bool{false, true} {
		t.Run(fmt.Sprintf("versioned=%v", versioned), func(t *testing.T) {
			in := filepath.Join("testdata", "ccp-pin-sha256-route.in.yaml")
			res := goldenResources(t, in, newGoldenPKI(t))
			opts := goldenOptions(t, in)
			opts.Versioned = versioned
			again := res
			if versioned {
				versionAll(res)
				again = copyAll(res)
			}
			first := Translate(res, opts)
			before := firstRules(first)
			if len(before) == 0 {
				t.Fatal("the scenario has no HTTPRoute in the snapshot")
			}
			for name, rule := range firstRules(Translate(again, withPrevious(opts, first.Reuse))) {
				if before[name] != rule {
					t.Errorf("route %s: rules converted again, want them taken", name)
				}
			}
			edit := withRoute(again, 0, edited(again.HTTPRoutes[0], 1))
			changed := Translate(edit, withPrevious(opts, first.Reuse))
			name := res.HTTPRoutes[0].Namespace + "/" + res.HTTPRoutes[0].Name
			if got := firstRules(changed)[name]; got == nil || got == before[name] {
				t.Errorf("edited route %s: got the previous rules, want converted ones", name)
			}
		})
	}
}

// copyAll is res with every object a deep copy.
func copyAll(res *resources.Resources) *resources.Resources {
	return &resources.Resources{
		GatewayClasses:     copies(res.GatewayClasses),
		Gateways:           copies(res.Gateways),
		HTTPRoutes:         copies(res.HTTPRoutes),
		TLSRoutes:          copies(res.TLSRoutes),
		GRPCRoutes:         copies(res.GRPCRoutes),
		ReferenceGrants:    copies(res.ReferenceGrants),
		BackendTLSPolicies: copies(res.BackendTLSPolicies),
		ClientCertPolicies: copies(res.ClientCertPolicies),
		Services:           copies(res.Services),
		EndpointSlices:     copies(res.EndpointSlices),
		Secrets:            copies(res.Secrets),
		ConfigMaps:         copies(res.ConfigMaps),
		Namespaces:         copies(res.Namespaces),
	}
}

func copies[T interface{ DeepCopy() T }](objs []T) []T {
	out := make([]T, len(objs))
	for i, o := range objs {
		out[i] = o.DeepCopy()
	}
	return out
}

type change struct {
	name  string
	res   *resources.Resources
	after time.Duration
}

// changesOf lists the changes TestReuseTranslatesAsFromScratch makes to
// res, one at a time.
func changesOf(res *resources.Resources) []change {
	out := []change{{name: "nothing", res: res}}
	for _, d := range []time.Duration{time.Minute, 2 * time.Hour, 49 * time.Hour, 40 * 24 * time.Hour} {
		out = append(out, change{name: "time moved on " + d.String(), res: res, after: d})
	}
	for k, r := range res.HTTPRoutes {
		out = append(out,
			change{name: "edited " + r.Name, res: withRoute(res, k, edited(r, k))},
			change{name: "removed " + r.Name, res: withoutRoute(res, k)},
			change{name: "copied " + r.Name, res: withCopy(res, r)},
		)
	}
	for i, svc := range res.Services {
		same, moved := *res, *res
		same.Services = append(res.Services[:0:0], res.Services...)
		same.Services[i] = svc.DeepCopy()
		moved.Services = append(res.Services[:0:0], res.Services...)
		moved.Services[i] = svc.DeepCopy()
		for j := range moved.Services[i].Spec.Ports {
			moved.Services[i].Spec.Ports[j].Port++
		}
		changed(moved.Services[i])
		out = append(out,
			change{name: "Service " + svc.Name + " replaced by a copy", res: &same},
			change{name: "Service " + svc.Name + " ports moved", res: &moved})
	}
	for i, p := range res.ClientCertPolicies {
		same, pinned := *res, *res
		same.ClientCertPolicies = append(res.ClientCertPolicies[:0:0], res.ClientCertPolicies...)
		same.ClientCertPolicies[i] = p.DeepCopy()
		pinned.ClientCertPolicies = append(res.ClientCertPolicies[:0:0], res.ClientCertPolicies...)
		pinned.ClientCertPolicies[i] = p.DeepCopy()
		pinned.ClientCertPolicies[i].Spec.Pins = append(pinned.ClientCertPolicies[i].Spec.Pins, v1alpha1.Pin{SHA256: strings.Repeat("ab", 32)})
		changed(pinned.ClientCertPolicies[i])
		out = append(out,
			change{name: "ClientCertPolicy " + p.Name + " replaced by a copy", res: &same},
			change{name: "ClientCertPolicy " + p.Name + " pinned more", res: &pinned})
	}
	return out
}

// assertReuseEqual translates res with prev and from scratch, fails when
// they differ, and returns the Reuse of the former.
func assertReuseEqual(t *testing.T, name string, res *resources.Resources, opts Options, prev *Reuse) *Reuse {
	t.Helper()
	reused := Translate(res, withPrevious(opts, prev))
	scratch := Translate(res, opts)
	got, _ := json.Marshal(reused)
	want, _ := json.Marshal(scratch)
	if !bytes.Equal(got, want) {
		t.Errorf("%s: the translation taking rules differs from the one from scratch:\n got  %s\n want %s", name, got, want)
	}
	return reused.Reuse
}

func withPrevious(opts Options, prev *Reuse) Options {
	opts.Previous = prev
	return opts
}

// edited is a copy of r with a header set by its first rule, or a first
// rule when it has none, as a user's edit makes a new object.
func edited(r *gatewayv1.HTTPRoute, n int) *gatewayv1.HTTPRoute {
	out := r.DeepCopy()
	if len(out.Spec.Rules) == 0 {
		out.Spec.Rules = []gatewayv1.HTTPRouteRule{{}}
	}
	out.Spec.Rules[0].Filters = append(out.Spec.Rules[0].Filters, gatewayv1.HTTPRouteFilter{
		Type: gatewayv1.HTTPRouteFilterResponseHeaderModifier,
		ResponseHeaderModifier: &gatewayv1.HTTPHeaderFilter{
			Set: []gatewayv1.HTTPHeader{{Name: "X-Edited", Value: fmt.Sprint(n)}},
		},
	})
	out.Generation++
	changed(out)
	return out
}

func withRoute(res *resources.Resources, k int, r *gatewayv1.HTTPRoute) *resources.Resources {
	out := *res
	out.HTTPRoutes = append(res.HTTPRoutes[:0:0], res.HTTPRoutes...)
	out.HTTPRoutes[k] = r
	return &out
}

func withoutRoute(res *resources.Resources, k int) *resources.Resources {
	out := *res
	out.HTTPRoutes = append(append(res.HTTPRoutes[:0:0], res.HTTPRoutes[:k]...), res.HTTPRoutes[k+1:]...)
	return &out
}

func withCopy(res *resources.Resources, r *gatewayv1.HTTPRoute) *resources.Resources {
	c := r.DeepCopy()
	c.Name += "-copy"
	c.UID += "-copy"
	out := *res
	out.HTTPRoutes = append(append(res.HTTPRoutes[:0:0], res.HTTPRoutes...), c)
	out.Sort()
	return &out
}

// firstRules maps each HTTPRoute of the snapshot, "namespace/name" on the
// first listener it is on, to the address of its first rule.
func firstRules(r *Result) map[string]any {
	out := map[string]any{}
	for i := range r.Snapshot.Listeners {
		for j := range r.Snapshot.Listeners[i].Routes {
			route := &r.Snapshot.Listeners[i].Routes[j]
			name := route.Namespace + "/" + route.Name
			if _, seen := out[name]; !seen && len(route.Rules) > 0 && route.Kind == snapshot.RouteKindHTTP {
				out[name] = &route.Rules[0]
			}
		}
	}
	return out
}

// TestReuseFollowsRoutesAddedAndRemoved checks that the memos are found
// by identity whatever moved: with a route removed, added or edited
// among many, every other route's rules are taken, and the edited one's
// converted.
func TestReuseFollowsRoutesAddedAndRemoved(t *testing.T) {
	for _, versioned := range []bool{false, true} {
		t.Run(fmt.Sprintf("versioned=%v", versioned), func(t *testing.T) {
			res := benchResources(t, 20)
			if versioned {
				versionAll(res)
			}
			opts := Options{Now: goldenNow, Versioned: versioned}
			first := Translate(res, opts)
			before := firstRules(first)
			extra := benchResources(t, 21).HTTPRoutes[20]
			if versioned {
				extra.UID, extra.ResourceVersion = "uid-extra", "1"
			}
			for _, c := range []change{
				{name: "first removed", res: withoutRoute(res, 0)},
				{name: "middle removed", res: withoutRoute(res, 10)},
				{name: "added", res: withCopy(res, extra)},
				{name: "removed and edited", res: withRoute(withoutRoute(res, 3), 12, edited(res.HTTPRoutes[13], 1))},
				{name: "edited twice", res: withRoute(withRoute(res, 0, edited(res.HTTPRoutes[0], 1)), 19, edited(res.HTTPRoutes[19], 1))},
			} {
				again := Translate(c.res, withPrevious(opts, first.Reuse))
				scratch := Translate(c.res, opts)
				got, _ := json.Marshal(again)
				want, _ := json.Marshal(scratch)
				if !bytes.Equal(got, want) {
					t.Errorf("%s: the translation taking rules differs from the one from scratch", c.name)
				}
				for _, r := range c.res.HTTPRoutes {
					name := r.Namespace + "/" + r.Name
					rule := firstRules(again)[name]
					_, wasThere := before[name]
					unchanged := slices.Contains(res.HTTPRoutes, r)
					if took := rule == before[name]; wasThere && took != unchanged {
						t.Errorf("%s: route %s: rules taken %v, want %v", c.name, name, took, unchanged)
					}
				}
			}
		})
	}
}
