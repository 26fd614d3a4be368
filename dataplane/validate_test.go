package dataplane

import (
	"testing"

	"github.com/certgate/certgate/dataplane/metrics"
	"github.com/certgate/certgate/dataplane/snapshot"
)

// Validation skips exactly the routes the serving snapshot compiled and the
// new one has unchanged, on a listener of the same name and key: an equal
// route (a copy, not the same pointer; twice, under one name) is skipped;
// a changed one and one moved to another port are validated. What is
// skipped is what is then reused: the compiled route served before.
func TestOnlyReusedRoutesSkipValidation(t *testing.T) {
	d := New(Options{Metrics: metrics.New()})
	snap := func(port int32, version string) *snapshot.Snapshot {
		r := func(name, prefix string) snapshot.Route {
			return snapshot.Route{Namespace: "default", Name: name, Rules: []snapshot.Rule{{Name: prefix}}}
		}
		return &snapshot.Snapshot{Listeners: []snapshot.Listener{{
			Name: "default/gw/http", Gateway: "default/gw", Address: "127.0.0.1", Port: 8001, Protocol: snapshot.ProtocolHTTP,
			Routes: []snapshot.Route{r("same", "s"), r("edited", version), r("same", "s")},
		}, {
			Name: "default/gw/moved", Gateway: "default/gw", Address: "127.0.0.1", Port: port, Protocol: snapshot.ProtocolHTTP,
			Routes: []snapshot.Route{r("moved", "m")},
		}}}
	}
	if _, err := d.build(snap(8002, "v1")); err != nil {
		t.Fatal(err)
	}
	d.routes.commit()
	before := d.routes.live["default/gw/http"].routes[0].config
	s := snap(8003, "v2")
	d.routes.start(s) // what build validates s after
	for _, c := range []struct {
		listener, route int
		reused          bool
	}{{0, 0, true}, {0, 1, false}, {0, 2, true}, {1, 0, false}} {
		l := &s.Listeners[c.listener]
		if got := d.routes.reused(l, c.route); got != c.reused {
			t.Errorf("listeners[%d].routes[%d]: reused %v, want %v", c.listener, c.route, got, c.reused)
		}
	}
	if _, err := d.compile(s); err != nil {
		t.Fatal(err)
	}
	if after := d.routes.next["default/gw/http"].routes[0].config; after != before {
		t.Error("the unchanged route was compiled again rather than reused")
	}
}
