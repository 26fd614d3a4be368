package dataplane

import "github.com/certgate/certgate/dataplane/snapshot"

// A snapshot is the whole configuration, but one change touches one
// route: compiling every route of every snapshot again made an edit cost
// as much as the first apply. So the data plane keeps the routes the
// serving snapshot compiled, and a route equal to the one compiled for the
// same listener before, in every field (sameRoute), is reused whole: its
// filters, client certificate requirement, backends and reverse proxies. Compiled routes are never
// modified once built, so the old snapshot and the new one may share them.

// compiledRoute is a compiled route and what it was compiled from.
type compiledRoute struct {
	// source is the route of the snapshot that last used config. It is
	// immutable: snapshots are never modified once applied.
	source *snapshot.Route
	config *routeConfig
}

// listenerKey is what a compiled route may depend on of its listener.
type listenerKey struct {
	gateway  string
	protocol snapshot.Protocol
	port     int32
}

func keyOf(l *snapshot.Listener) listenerKey {
	return listenerKey{gateway: l.Gateway, protocol: l.Protocol, port: l.Port}
}

// listenerRoutes are the compiled routes of one listener, in the order of
// the listener's routes in the snapshot they were compiled for: routes[i]
// is Routes[i]'s. A slice rather than a map by route name, because an
// edit's snapshot has its routes in the order of the serving one, so
// matching the two is a walk, not a lookup of every route.
type listenerRoutes struct {
	// key is what the routes were compiled under.
	key    listenerKey
	routes []compiledRoute
}

// routeCache holds the compiled routes of the serving snapshot (live)
// and of the snapshot being compiled (next), by listener name.
// Dataplane.mu guards it.
type routeCache struct {
	live, next map[string]*listenerRoutes
	// sets and targets are the compiled backends the routes share.
	sets    sharedCache[*backendSet]
	targets sharedCache[*backendTarget]
}

// start begins the compilation of s: it takes over the live routes that s
// has unchanged, on a listener of the same name and key, which validation
// then skips (reused) and reuseOrCompile reuses. Routes of TLS listeners
// are never live: compileStream compiles them whole.
func (c *routeCache) start(s *snapshot.Snapshot) {
	c.next = make(map[string]*listenerRoutes, len(s.Listeners))
	c.sets.start()
	c.targets.start()
	for i := range s.Listeners {
		l := &s.Listeners[i]
		if l.Protocol == snapshot.ProtocolTLS {
			continue
		}
		// Listener names are unique in a valid snapshot; in one that is
		// not, the last listener of a name holds the slots, and reused
		// and reuseOrCompile check which route a slot is for.
		next := &listenerRoutes{key: keyOf(l), routes: make([]compiledRoute, len(l.Routes))}
		c.next[l.Name] = next
		if old, ok := c.live[l.Name]; ok && old.key == next.key {
			next.match(l, old)
		}
	}
}

// match takes over the routes of old that l has unchanged. It walks both
// lists side by side and looks a route up by name only where the two
// part: a route added, removed or moved.
func (next *listenerRoutes) match(l *snapshot.Listener, old *listenerRoutes) {
	var byName map[routeName]int
	j := 0
	for i := range l.Routes {
		r := &l.Routes[i]
		k := -1
		if j < len(old.routes) && old.routes[j].source != nil && nameOf(old.routes[j].source) == nameOf(r) {
			k = j
		} else {
			if byName == nil {
				byName = old.byName()
			}
			if at, ok := byName[nameOf(r)]; ok {
				k = at
			}
		}
		if k < 0 {
			continue
		}
		j = k + 1
		if o := old.routes[k]; o.source != nil && sameRoute(o.source, r) {
			next.routes[i] = compiledRoute{source: r, config: o.config}
		}
	}
}

// routeName names a route on a listener.
type routeName struct {
	kind            snapshot.RouteKind
	namespace, name string
}

func nameOf(r *snapshot.Route) routeName {
	return routeName{kind: r.Kind, namespace: r.Namespace, name: r.Name}
}

// byName indexes the routes by name.
func (lr *listenerRoutes) byName() map[routeName]int {
	m := make(map[routeName]int, len(lr.routes))
	for i, cr := range lr.routes {
		if cr.source != nil {
			m[nameOf(cr.source)] = i
		}
	}
	return m
}

// slot returns the slot of l.Routes[i] in the snapshot being compiled,
// nil when l has none (a TLS listener, or the loser of a duplicate name).
func (c *routeCache) slot(l *snapshot.Listener, i int) *compiledRoute {
	next := c.next[l.Name]
	if next == nil || i >= len(next.routes) || len(next.routes) != len(l.Routes) {
		return nil
	}
	return &next.routes[i]
}

// reused reports whether l.Routes[i], a route of the snapshot being
// compiled, is reused as the serving snapshot compiled it.
func (c *routeCache) reused(l *snapshot.Listener, i int) bool {
	return c.slot(l, i).reusedFor(&l.Routes[i])
}

// reusedFor reports whether the slot holds the live compiled route of r:
// start found r unchanged. s may be nil.
func (s *compiledRoute) reusedFor(r *snapshot.Route) bool {
	return s != nil && s.config != nil && s.source == r
}

// commit makes the routes of the snapshot just compiled the live ones;
// Apply calls it once that snapshot serves. A snapshot that failed to
// compile or to bind never commits, so live always matches what serves.
func (c *routeCache) commit() {
	c.live, c.next = c.next, nil
	c.sets.commit()
	c.targets.commit()
}

// reuseOrCompile returns the compiled route l.Routes[i]: the live one
// when it is equal to what that was compiled from (see start), else a new
// one.
func (d *Dataplane) reuseOrCompile(l *snapshot.Listener, i int) (*routeConfig, error) {
	r, slot := &l.Routes[i], d.routes.slot(l, i)
	if slot.reusedFor(r) {
		d.keep(slot.config)
		return slot.config, nil
	}
	rc, err := d.compileRoute(l, r)
	if err != nil {
		return nil, err
	}
	if slot != nil {
		*slot = compiledRoute{source: r, config: rc}
	}
	return rc, nil
}

// keep marks what a reused route uses as used by the snapshot being
// compiled, as compiling it would: its metric series (metrics.Retain, by
// the recorder the route holds), its shared backends (see share.go) and
// the upstream transports of its mirrors (upstream.Pool.Sweep). It
// returns the same recorders and transports the route holds: the route is
// equal, so every key is.
func (d *Dataplane) keep(rc *routeConfig) {
	d.opts.Metrics.Keep(rc.recorder)
	for _, rule := range rc.rules {
		if d.routes.sets.carry(rule.backends.id, rule.backends) {
			d.keepSet(rule.backends)
		}
		for _, m := range rule.mirrors {
			_, _ = d.upstream.Transport(&m.mirror.Backend)
		}
	}
}
