package dataplane

import "github.com/certgate/certgate/dataplane/snapshot"

// A snapshot is the whole configuration, but one change touches one
// route: compiling every route of every snapshot again made an edit cost
// as much as the first apply. So the data plane keeps the routes the
// serving snapshot compiled, and a route equal to the one compiled for the
// same listener before, in every field (sameRoute), is reused whole: its
// filters, client certificate requirement, backends and reverse proxies. Compiled routes are never
// modified once built, so the old snapshot and the new one may share them.

// routeID names a route on a listener.
type routeID struct {
	listener  string
	kind      snapshot.RouteKind
	namespace string
	name      string
}

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

// routeCache holds the compiled routes of the serving snapshot (live)
// and of the snapshot being compiled (next). Dataplane.mu guards it.
type routeCache struct {
	live, next map[routeID]compiledRoute
	// liveKeys and nextKeys are what the routes of each listener were
	// compiled under, by listener name: one per listener rather than one
	// per route.
	liveKeys, nextKeys map[string]listenerKey
	// reuse holds the routes of the snapshot being compiled that start
	// found unchanged, with their compiled configuration. Keyed by the
	// route's address: a lookup costs no hashing of names.
	reuse map[*snapshot.Route]*routeConfig
	// sets and targets are the compiled backends the routes share.
	sets    sharedCache[*backendSet]
	targets sharedCache[*backendTarget]
}

// start begins the compilation of s: it takes over the live routes that s
// has unchanged, on a listener of the same name and key, which validation
// then skips (reused) and reuseOrCompile reuses. Routes of TLS listeners
// are never live: compileStream compiles them whole.
func (c *routeCache) start(s *snapshot.Snapshot) {
	// Sized for a snapshot like the serving one, which an edit's is: a
	// map grown one route at a time is rehashed a dozen times.
	c.next = make(map[routeID]compiledRoute, len(c.live))
	c.reuse = make(map[*snapshot.Route]*routeConfig, len(c.live))
	c.nextKeys = make(map[string]listenerKey, len(s.Listeners))
	c.sets.start()
	c.targets.start()
	for i := range s.Listeners {
		l := &s.Listeners[i]
		key := keyOf(l)
		c.nextKeys[l.Name] = key
		if old, ok := c.liveKeys[l.Name]; ok && old == key {
			c.match(l)
		}
	}
}

// match takes over the live routes l has unchanged.
func (c *routeCache) match(l *snapshot.Listener) {
	for i := range l.Routes {
		r := &l.Routes[i]
		id := idOf(l, r)
		if old, ok := c.live[id]; ok && sameRoute(old.source, r) {
			c.next[id] = compiledRoute{source: r, config: old.config}
			c.reuse[r] = old.config
		}
	}
}

// reused reports whether r, a route of l in the snapshot being compiled,
// is reused as the serving snapshot compiled it.
func (c *routeCache) reused(_ *snapshot.Listener, r *snapshot.Route) bool {
	_, ok := c.reuse[r]
	return ok
}

func idOf(l *snapshot.Listener, r *snapshot.Route) routeID {
	return routeID{listener: l.Name, kind: r.Kind, namespace: r.Namespace, name: r.Name}
}

// commit makes the routes of the snapshot just compiled the live ones;
// Apply calls it once that snapshot serves. A snapshot that failed to
// compile or to bind never commits, so live always matches what serves.
func (c *routeCache) commit() {
	c.live, c.next, c.reuse = c.next, nil, nil
	c.liveKeys, c.nextKeys = c.nextKeys, nil
	c.sets.commit()
	c.targets.commit()
}

// reuseOrCompile returns the compiled route r of listener l: the live one when r
// is equal to what it was compiled from (see start), else a new one.
func (d *Dataplane) reuseOrCompile(l *snapshot.Listener, r *snapshot.Route) (*routeConfig, error) {
	if rc, ok := d.routes.reuse[r]; ok {
		d.keep(rc)
		return rc, nil
	}
	rc, err := d.compileRoute(l, r)
	if err != nil {
		return nil, err
	}
	d.routes.next[idOf(l, r)] = compiledRoute{source: r, config: rc}
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
