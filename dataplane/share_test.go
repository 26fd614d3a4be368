package dataplane

import (
	"reflect"
	"testing"

	"github.com/certgate/certgate/dataplane/metrics"
	"github.com/certgate/certgate/dataplane/snapshot"
)

// TestSharedBackendsSeeEveryField: a rule shares a compiled backend (or
// set of backends) only when everything it is compiled from is equal. A
// change of any one field of the backend, its TLS (a client certificate's
// key bytes, a CA's PEM) or the rule's retry and timeouts must find
// another compiled value, in the snapshot being compiled and across
// snapshots.
func TestSharedBackendsSeeEveryField(t *testing.T) {
	t.Run("target", func(t *testing.T) { checkSharingSeesEveryField[targetSource](t, 30) })
	t.Run("set", func(t *testing.T) { checkSharingSeesEveryField[setSource](t, 30) })
}

func checkSharingSeesEveryField[S any](t *testing.T, minFields int) {
	filled := func() *S {
		n := 0
		s := new(S)
		fill(reflect.ValueOf(s).Elem(), func() int { n++; return n })
		return s
	}
	a, b := filled(), filled()
	var c sharedCache[*S]
	c.start()
	get := func(src *S) *S {
		v, err := c.get(identityOf(src), func(*S) {}, func() (*S, error) { return src, nil })
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	if get(a) != a || get(b) != a {
		t.Fatal("two sources filled alike do not share")
	}
	fields := 0
	eachLeaf(reflect.ValueOf(b).Elem(), "source", func(path string, v reflect.Value) {
		old := reflect.New(v.Type()).Elem()
		old.Set(v)
		if !change(v) {
			return
		}
		fields++
		if get(b) == a {
			t.Errorf("%s changed, yet the source shares the compiled value of the unchanged one", path)
		}
		v.Set(old)
	})
	if fields < minFields {
		t.Errorf("only %d fields were changed; the fill reaches too little of the source", fields)
	}
	c.commit()
	c.start()
	if get(b) != a {
		t.Error("the next snapshot does not share the value the live one compiled")
	}
}

// An empty slice and none, and the same bytes split differently between
// two fields, are different sources.
func TestIdentityIsUnambiguous(t *testing.T) {
	var a, b targetSource
	b.Backend.Endpoints = nil
	a.Backend.Endpoints = make([]snapshot.Endpoint, 0)
	if identityOf(&a) == identityOf(&b) {
		t.Error("an empty endpoint list and none share an identity")
	}
	a, b = targetSource{}, targetSource{}
	a.Backend.Namespace, a.Backend.Service = "ab", "c"
	b.Backend.Namespace, b.Backend.Service = "a", "bc"
	if identityOf(&a) == identityOf(&b) {
		t.Error("ab/c and a/bc share an identity")
	}
}

// Rules of two routes on two listeners that send to one backend with the
// same retry and timeouts compile one target, and a rule that retries
// another; the rules of one backend list share their set.
func TestRulesOfOneBackendCompileOneTarget(t *testing.T) {
	d := New(Options{Metrics: metrics.New()})
	b := snapshot.WeightedBackend{Weight: 1, Backend: snapshot.Backend{
		Name: "default/s:80", Namespace: "default", Service: "s", Port: 80,
		Endpoints: []snapshot.Endpoint{{Address: "127.0.0.1", Port: 8080}},
	}}
	rule := func(retry *snapshot.Retry) snapshot.Rule {
		return snapshot.Rule{Backends: []snapshot.WeightedBackend{b}, Retry: retry}
	}
	listener := func(name string, port int32, rules ...snapshot.Rule) snapshot.Listener {
		return snapshot.Listener{Name: "default/gw/" + name, Gateway: "default/gw", Address: "127.0.0.1", Port: port,
			Protocol: snapshot.ProtocolHTTP, Routes: []snapshot.Route{{Namespace: "default", Name: name, Rules: rules}}}
	}
	s := &snapshot.Snapshot{Listeners: []snapshot.Listener{
		listener("one", 8001, rule(nil), rule(nil)),
		listener("two", 8002, rule(nil), rule(&snapshot.Retry{Attempts: 2})),
	}}
	if _, err := d.build(s); err != nil {
		t.Fatal(err)
	}
	if sets, targets := len(d.routes.sets.next), len(d.routes.targets.next); sets != 2 || targets != 2 {
		t.Errorf("%d sets and %d targets compiled, want 2 of each: one without retries, one with", sets, targets)
	}
}
