package router

import (
	"slices"

	"github.com/certgate/certgate/dataplane/snapshot"
)

// A configuration change mostly touches one route of thousands, and a
// table is compiled again for every change. So CompileFrom shares with
// the previous table what the change left alone: compiled routes whose
// inputs are equal, and the path index of every host name whose routes
// are all shared, in the same order. Shared parts are never modified, so
// the old table keeps serving requests while the new one is built.
//
// A route's index in the listener may change without the route changing
// (a route added before it), and every Result names routes by index. So
// an entry names its route by a slot, which a compiled route keeps for as
// long as tables share it, and each table maps slots to indexes.

// compileRoutes fills t.routes: routes reused from prev, or compiled.
func (t *Table) compileRoutes(prev *Table, routes []snapshot.Route) error {
	old := newPredecessor(prev)
	for i := range routes {
		r := &routes[i]
		u := old.reuse(i, r)
		if u == nil {
			var err error
			if u, err = compileRoute(i, r); err != nil {
				return err
			}
			if prev != nil {
				u.slot = -1 // assignSlots picks one
			}
		}
		t.routes[i] = tableRoute{src: r, unit: u}
	}
	if prev != nil {
		t.assignSlots(prev.slotCount())
	}
	return nil
}

// assignSlots maps the slots of reused routes to their new indexes and
// gives each new route a slot no reused route holds, the lowest first.
func (t *Table) assignSlots(n int) {
	slots := make([]int32, max(n, len(t.routes)))
	for i := range slots {
		slots[i] = -1
	}
	for i, tr := range t.routes {
		if tr.unit.slot >= 0 {
			slots[tr.unit.slot] = int32(i)
		}
	}
	free := 0
	for i, tr := range t.routes {
		if tr.unit.slot >= 0 {
			continue
		}
		for slots[free] >= 0 {
			free++
		}
		tr.unit.slot, slots[free] = int32(free), int32(i)
	}
	t.slots = slots
}

// slotCount is how many slots t's routes may hold.
func (t *Table) slotCount() int {
	if t.slots != nil {
		return len(t.slots)
	}
	return len(t.routes)
}

// reusable returns t, or nil when a table of n routes should not be
// compiled from it: when it is nil or a Guard's, or when its slots have
// grown far beyond n (a listener that lost most of its routes), as a
// table keeps an entry for every slot.
func (t *Table) reusable(n int) *Table {
	if t == nil || t.routes == nil || t.slotCount() > 2*n+64 {
		return nil
	}
	return t
}

// indexFor returns t's path index for host pattern host when it holds
// exactly the routes us, in this order, or nil.
func (t *Table) indexFor(host string, us []*compiledRoute) *pathIndex {
	if t == nil {
		return nil
	}
	c, ok := t.hosts.pattern(host)
	if !ok || !slices.Equal(c.own.routes, us) {
		return nil
	}
	return c.own
}

// predecessor finds the routes of a previous table by name.
type predecessor struct {
	t *Table
	// shift is where the last route found sat relative to its new index:
	// routes mostly keep their order, so the next one is tried there
	// before byName is built.
	shift   int
	byName  map[routeKey]int
	claimed []bool
}

// routeKey identifies a route of a listener.
type routeKey struct {
	kind            snapshot.RouteKind
	namespace, name string
}

func keyOf(r *snapshot.Route) routeKey {
	return routeKey{kind: r.Kind, namespace: r.Namespace, name: r.Name}
}

func newPredecessor(t *Table) *predecessor {
	if t == nil {
		return nil
	}
	return &predecessor{t: t, claimed: make([]bool, len(t.routes))}
}

// reuse returns the compiled route of the previous table for r, route i,
// when it is compiled from equal inputs and no other route took it yet.
func (p *predecessor) reuse(i int, r *snapshot.Route) *compiledRoute {
	if p == nil {
		return nil
	}
	j := p.find(i, r)
	if j < 0 || p.claimed[j] || !sameInputs(p.t.routes[j].src, r) {
		return nil
	}
	p.claimed[j] = true
	return p.t.routes[j].unit
}

// find returns the index of r in the previous table, or -1.
func (p *predecessor) find(i int, r *snapshot.Route) int {
	key := keyOf(r)
	if j := i + p.shift; j >= 0 && j < len(p.t.routes) && keyOf(p.t.routes[j].src) == key {
		return j
	}
	if p.byName == nil {
		p.byName = make(map[routeKey]int, len(p.t.routes))
		for j := range p.t.routes {
			p.byName[keyOf(p.t.routes[j].src)] = j
		}
	}
	j, ok := p.byName[key]
	if !ok {
		return -1
	}
	p.shift = j - i
	return j
}

// sameInputs reports whether a and b are equal in everything
// compileRoute reads.
func sameInputs(a, b *snapshot.Route) bool {
	if a == b {
		return true
	}
	if a.Namespace != b.Namespace || a.Name != b.Name || !a.CreationTimestamp.Equal(b.CreationTimestamp) ||
		!slices.Equal(a.Hostnames, b.Hostnames) || len(a.Rules) != len(b.Rules) {
		return false
	}
	for j := range a.Rules {
		if !slices.EqualFunc(a.Rules[j].Matches, b.Rules[j].Matches, sameMatch) {
			return false
		}
	}
	return true
}

func sameMatch(a, b snapshot.Match) bool {
	return a.Method == b.Method && samePath(a.Path, b.Path) &&
		slices.Equal(a.Headers, b.Headers) && slices.Equal(a.QueryParams, b.QueryParams)
}

func samePath(a, b *snapshot.PathMatch) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}
