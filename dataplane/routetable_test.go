package dataplane_test

import (
	"testing"

	"github.com/certgate/certgate/dataplane/snapshot"
)

// The route table of an applied snapshot is compiled from the serving
// one, sharing what did not change. A route added in front of the others
// shifts every route's index, a route that moves to another host leaves
// its old host to the wildcard: requests must reach the backends the new
// snapshot names on every host, the reused ones and the rebuilt ones.
func TestEditedRouteTableServesEveryHostByTheNewSnapshot(t *testing.T) {
	g := newGateway(t)
	a, b, c, w := newEcho(t, "a"), newEcho(t, "b"), newEcho(t, "c"), newEcho(t, "w")
	port := freePort(t)
	cl := newClient(t, port, nil)
	first := func() []snapshot.Route {
		return []snapshot.Route{
			route("r-a", []string{"a.example.com"}, prefixRule("/api", a.weighted(1))),
			route("r-b", []string{"b.example.com"}, prefixRule("/api", b.weighted(1))),
			route("wild", []string{"*.example.com"}, prefixRule("/", w.weighted(1))),
		}
	}
	g.apply(httpListener("http", port, first()...))
	want := func(url, backend string) {
		t.Helper()
		if got := cl.get(url).echo(t).Backend; got != backend {
			t.Errorf("%s reached %q, want %q", url, got, backend)
		}
	}
	want("http://a.example.com/api", "a")
	want("http://b.example.com/api", "b")
	want("http://a.example.com/other", "w")

	second := append([]snapshot.Route{route("r-0", []string{"c.example.com"}, prefixRule("/api", c.weighted(1)))}, first()...)
	second[2].Hostnames = []string{"a.example.com"}
	second[2].Rules[0].Matches[0].Path.Value = "/api/v2"
	g.apply(httpListener("http", port, second...))
	want("http://a.example.com/api", "a")
	want("http://a.example.com/api/v2", "b")
	want("http://b.example.com/api", "w")
	want("http://c.example.com/api", "c")
	want("http://x.example.com/", "w")

	g.apply(httpListener("http", port, first()...))
	want("http://a.example.com/api/v2", "a")
	want("http://b.example.com/api", "b")
	want("http://c.example.com/api", "w")
}
