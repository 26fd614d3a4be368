package dataplane_test

import (
	"net"
	"runtime"
	"strings"
	"testing"
	"weak"

	"github.com/certgate/certgate/dataplane/snapshot"
)

// headerRule is prefixRule with a filter that sets X-Version to version.
func headerRule(prefix, version string, backends ...snapshot.WeightedBackend) snapshot.Rule {
	r := prefixRule(prefix, backends...)
	r.Filters = []snapshot.Filter{{Type: snapshot.FilterRequestHeaderModifier, RequestHeaderModifier: &snapshot.HeaderModifier{
		Set: []snapshot.Header{{Name: "X-Version", Value: version}},
	}}}
	return r
}

// The data plane reuses the compiled routes a new snapshot did not change.
// An edited route must serve its change, and a route left as it was must
// keep serving with its metric series counting on.
func TestEditedRouteServesItsChangeAndUnchangedRouteKeepsCounting(t *testing.T) {
	g := newGateway(t)
	be := newEcho(t, "be")
	port := freePort(t)
	c := newClient(t, port, nil)
	other := route("other", nil, headerRule("/other", "o1", be.weighted(1)))
	g.apply(httpListener("http", port, route("edited", nil, headerRule("/edited", "v1", be.weighted(1))), other))
	if v := c.get("http://h.example.com/edited").echo(t).Header.Get("X-Version"); v != "v1" {
		t.Fatalf("X-Version %q before the edit, want v1", v)
	}
	c.get("http://h.example.com/other")

	g.apply(httpListener("http", port, route("edited", nil, headerRule("/edited", "v2", be.weighted(1))), other))
	if v := c.get("http://h.example.com/edited").echo(t).Header.Get("X-Version"); v != "v2" {
		t.Errorf("X-Version %q after the edit, want v2", v)
	}
	if v := c.get("http://h.example.com/other").echo(t).Header.Get("X-Version"); v != "o1" {
		t.Errorf("unchanged route: X-Version %q, want o1", v)
	}
	g.awaitLine(`certgate_http_requests_total{code="200",gateway="default/gw",namespace="default",route="other"} 2`)
}

// A route whose only change is its backend's endpoints (a scaled or moved
// Service) is compiled again: requests reach the new endpoint.
func TestRouteWithMovedEndpointsReachesTheNewEndpoint(t *testing.T) {
	g := newGateway(t)
	first, second := newEcho(t, "first"), newEcho(t, "second")
	port := freePort(t)
	c := newClient(t, port, nil)
	b := first.weighted(1)
	g.apply(httpListener("http", port, route("r", nil, prefixRule("/", b))))
	if got := c.get("http://h.example.com/").echo(t).Backend; got != "first" {
		t.Fatalf("backend %q, want first", got)
	}
	addr := second.Listener.Addr().(*net.TCPAddr)
	b.Endpoints = []snapshot.Endpoint{{Address: addr.IP.String(), Port: int32(addr.Port)}}
	g.apply(httpListener("http", port, route("r", nil, prefixRule("/", b))))
	if got := c.get("http://h.example.com/").echo(t).Backend; got != "second" {
		t.Errorf("backend %q after the endpoints moved, want second", got)
	}
}

// A route that moves to another Gateway's listener of the same name is
// compiled again, so its requests are counted under the new gateway.
func TestRouteOnAnotherGatewayIsCountedUnderIt(t *testing.T) {
	g := newGateway(t)
	be := newEcho(t, "be")
	port := freePort(t)
	c := newClient(t, port, nil)
	r := route("r", nil, prefixRule("/", be.weighted(1)))
	g.apply(httpListener("http", port, r))
	c.get("http://h.example.com/")
	l := httpListener("http", port, r)
	l.Gateway = "default/other"
	g.apply(l)
	c.get("http://h.example.com/")
	g.awaitLine(`certgate_http_requests_total{code="200",gateway="default/other",namespace="default",route="r"} 1`)
	if body := g.scrape(); strings.Contains(body, `gateway="default/gw",namespace="default",route="r"`) {
		t.Errorf("the route's series under its old gateway were kept:\n%s", grepLines(body, "certgate_http_requests_total"))
	}
}

// A GRPCRoute counts under route="GRPCRoute/name". Reused whole after
// another route's edit, it must keep counting there: the series its
// recorder holds are not dropped as those of a route the new snapshot no
// longer has.
func TestReusedGRPCRouteKeepsCountingUnderItsLabel(t *testing.T) {
	g := newGateway(t)
	be := newEcho(t, "be")
	port := freePort(t)
	c := newClient(t, port, nil)
	rpc := route("rpc", nil, prefixRule("/rpc", be.weighted(1)))
	rpc.Kind = snapshot.RouteKindGRPC
	g.apply(httpListener("http", port, route("edited", nil, headerRule("/edited", "v1", be.weighted(1))), rpc))
	c.get("http://h.example.com/rpc")
	g.apply(httpListener("http", port, route("edited", nil, headerRule("/edited", "v2", be.weighted(1))), rpc))
	c.get("http://h.example.com/rpc")
	g.awaitLine(`certgate_http_requests_total{code="200",gateway="default/gw",namespace="default",route="GRPCRoute/rpc"} 2`)
}

// Apply validates only the routes it does not reuse, with the errors a
// validation of the whole snapshot gives: the same listener and route
// paths, indexes counted in the new snapshot.
func TestApplyNamesInvalidRoutesAsWholeValidationDoes(t *testing.T) {
	g := newGateway(t)
	be := newEcho(t, "be")
	port := freePort(t)
	kept := route("kept", nil, headerRule("/kept", "v1", be.weighted(1)))
	g.apply(httpListener("http", port, kept, route("edited", nil, prefixRule("/edited", be.weighted(1)))))
	bad := prefixRule("/edited", be.weighted(1))
	bad.Retry = &snapshot.Retry{Attempts: -1}
	added := prefixRule("/added", be.weighted(1))
	added.Matches[0].Headers = []snapshot.ValueMatch{{Type: snapshot.MatchExact, Value: "x"}}
	s := &snapshot.Snapshot{Listeners: []snapshot.Listener{
		httpListener("http", port, route("added", nil, added), kept, route("edited", nil, bad)),
	}}
	err := g.dp.Apply(s)
	whole := s.Validate()
	if err == nil || whole == nil || err.Error() != "invalid snapshot: "+whole.Error() {
		t.Fatalf("Apply: %v\nwant invalid snapshot: %v", err, whole)
	}
	for _, want := range []string{"routes[0] (default/added).rules[0].matches[0].headers[0].name", "routes[2] (default/edited).rules[0].retry.attempts"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Apply: %v\ndoes not name %s", err, want)
		}
	}
	c := newClient(t, port, nil)
	if v := c.get("http://h.example.com/kept").echo(t).Header.Get("X-Version"); v != "v1" {
		t.Errorf("after the rejected snapshot X-Version %q, want v1", v)
	}
}

// A route reused from the serving snapshot is reused by value: the new
// snapshot's equal route replaces the one it was compiled from, whose
// rules must then be freed. Kept, an edit of one file of routes would
// hold every other route of the file twice.
func TestReusedRouteReleasesTheRulesItWasCompiledFrom(t *testing.T) {
	g := newGateway(t)
	be := newEcho(t, "be")
	port := freePort(t)
	c := newClient(t, port, nil)
	kept := func() snapshot.Route { return route("kept", nil, headerRule("/kept", "k1", be.weighted(1))) }
	first := kept()
	firstRules := weak.Make(&first.Rules[0])
	g.apply(httpListener("http", port, first, route("edited", nil, headerRule("/edited", "v1", be.weighted(1)))))
	g.apply(httpListener("http", port, kept(), route("edited", nil, headerRule("/edited", "v2", be.weighted(1)))))
	if v := c.get("http://h.example.com/kept").echo(t).Header.Get("X-Version"); v != "k1" {
		t.Fatalf("reused route: X-Version %q, want k1", v)
	}
	for range 3 {
		runtime.GC()
	}
	if firstRules.Value() != nil {
		t.Error("the rules of the first snapshot's route are still reachable after an equal route replaced it")
	}
}
