package router

import (
	"cmp"
	"slices"
	"strings"

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

// compileRoutes fills t.routes: routes reused from old (nil for none), or
// compiled. It returns the indexes of the routes it compiled.
func (t *Table) compileRoutes(old *predecessor, routes []snapshot.Route) ([]int, error) {
	var fresh []int
	for i := range routes {
		r := &routes[i]
		u := old.reuse(i, r)
		if u == nil {
			var err error
			if u, err = compileRoute(i, r); err != nil {
				return nil, err
			}
			if old != nil {
				u.slot = -1 // assignSlots picks one
				fresh = append(fresh, i)
			}
		}
		t.routes[i] = tableRoute{src: r, unit: u}
	}
	if old != nil {
		t.assignSlots(old.t.slotCount())
	}
	return fresh, nil
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

// table is the previous table, or nil.
func (p *predecessor) table() *Table {
	if p == nil {
		return nil
	}
	return p.t
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
	// last is the previous index of the last route reused; ordered says
	// whether the reused routes kept their order.
	last    int
	ordered bool
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
	return &predecessor{t: t, claimed: make([]bool, len(t.routes)), last: -1, ordered: true}
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
	p.ordered = p.ordered && j > p.last
	p.last = j
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

// updateHosts derives t's host index from the previous table's, when the
// change touched only exact host names and the routes it left alone kept
// their order; ok is false otherwise. The host names of the routes
// compiled (fresh) and of the previous routes not reused get their index
// again; the other host names keep theirs.
func (t *Table) updateHosts(old *predecessor, fresh []int) (h *HostIndex[candidates], ok bool) {
	if !old.ordered {
		return nil, false
	}
	// dirty maps a host name to the compiled routes it gains.
	dirty := map[string][]*compiledRoute{}
	for _, i := range fresh {
		for _, host := range t.routes[i].unit.hosts {
			dirty[host] = append(dirty[host], t.routes[i].unit)
		}
	}
	for j, tr := range old.t.routes {
		if old.claimed[j] {
			continue
		}
		for _, host := range tr.unit.hosts {
			if _, seen := dirty[host]; !seen {
				dirty[host] = nil
			}
		}
	}
	if len(dirty) == 0 {
		return old.t.hosts, true
	}
	for host := range dirty {
		if host == "" || strings.HasPrefix(host, "*.") {
			// Every host name it covers would need its candidates again.
			return nil, false
		}
	}
	return t.updateExact(old.t, dirty), true
}

// updateExact is prev's host index with the exact host names in dirty
// indexed again; the wildcards and the catch-all are prev's.
func (t *Table) updateExact(prev *Table, dirty map[string][]*compiledRoute) *HostIndex[candidates] {
	h := prev.hosts.clone()
	all := anyFallback(h)
	for host, added := range dirty {
		us := t.hostRoutes(prev, host, added)
		if len(us) == 0 {
			delete(h.exact, host)
			continue
		}
		x := prev.indexFor(host, us)
		if x == nil {
			x = newPathIndex(us)
		}
		h.exact[host] = candidates{own: x, more: covering(host, h.wildcard, all)}
	}
	return h
}

// hostRoutes lists, in route order, the routes of t on the exact host
// name host: those of prev that t reused, and added, compiled for t.
func (t *Table) hostRoutes(prev *Table, host string, added []*compiledRoute) []*compiledRoute {
	var us []*compiledRoute
	if c, ok := prev.hosts.exact[host]; ok {
		for _, u := range c.own.routes {
			if t.holds(u) {
				us = append(us, u)
			}
		}
	}
	us = append(us, added...)
	slices.SortFunc(us, func(a, b *compiledRoute) int { return cmp.Compare(t.slots[a.slot], t.slots[b.slot]) })
	return us
}

// holds reports whether u is one of t's routes: a route of an older table
// that t did not reuse may have left its slot to another.
func (t *Table) holds(u *compiledRoute) bool {
	if int(u.slot) >= len(t.slots) {
		return false
	}
	i := t.slots[u.slot]
	return i >= 0 && t.routes[i].unit == u
}
