package dataplane

import (
	"github.com/certgate/certgate/dataplane/snapshot"
	"github.com/certgate/certgate/dataplane/upstream"
)

// Rules share their compiled backends. What a backend compiles to (its
// reverse proxy, direct path, upstream and measured transport) depends on
// the backend and on the rule's retry policy and timeouts, nothing else of
// the rule, route or listener: the request's rule is read from the request
// itself. So every rule whose backend, retry and timeouts are equal, on any
// route of any listener, gets one backendTarget, and every rule whose
// backends, retry and timeouts are all equal one backendSet. A
// configuration of thousands of routes to one Service compiles one target,
// not one per rule.
//
// Each is found by the identity of what it was compiled from (identityOf
// its whole source, key material included), so a rule whose backend
// presents another client certificate, trusts another CA or retries
// otherwise gets a target of its own. Like the routes, they are kept
// across snapshots while their identity is unchanged.

// setSource is everything compiling a rule's backends reads.
type setSource struct {
	Backends []snapshot.WeightedBackend
	Retry    *snapshot.Retry
	Timeouts snapshot.Timeouts
}

// targetSource is everything compiling one backend of a rule reads.
type targetSource struct {
	Backend  snapshot.Backend
	Retry    *snapshot.Retry
	Timeouts snapshot.Timeouts
}

// sharedCache holds compiled values by the identity of their source: those
// of the serving snapshot (live) and of the snapshot being compiled
// (next). It starts and commits with the routeCache.
type sharedCache[V any] struct {
	live, next map[identity]V
}

func (c *sharedCache[V]) start()  { c.next = make(map[identity]V, len(c.live)) }
func (c *sharedCache[V]) commit() { c.live, c.next = c.next, nil }

// get returns the value of identity id for the snapshot being compiled:
// the one it already has, the live one (carried over, and kept), or a new
// one from compile.
func (c *sharedCache[V]) get(id identity, keep func(V), compile func() (V, error)) (V, error) {
	if v, ok := c.next[id]; ok {
		return v, nil
	}
	if v, ok := c.live[id]; ok {
		c.next[id] = v
		keep(v)
		return v, nil
	}
	v, err := compile()
	if err == nil {
		c.next[id] = v
	}
	return v, err
}

// carry makes v, of identity id, a value of the snapshot being compiled.
// It reports whether v was not one yet: then what v uses must be marked
// as used again.
func (c *sharedCache[V]) carry(id identity, v V) bool {
	if _, ok := c.next[id]; ok {
		return false
	}
	c.next[id] = v
	return true
}

// backendsOf returns the compiled backends of rule, shared with every
// rule of the same backends, retry and timeouts.
func (d *Dataplane) backendsOf(rule *snapshot.Rule) (*backendSet, error) {
	src := &setSource{Backends: rule.Backends, Retry: rule.Retry, Timeouts: rule.Timeouts}
	id := identityOf(src)
	return d.routes.sets.get(id, d.keepSet, func() (*backendSet, error) { return d.compileBackends(id, src) })
}

// targetOf returns one compiled backend, shared with every rule that
// sends to the same backend with the same retry and timeouts.
func (d *Dataplane) targetOf(src *targetSource) (*backendTarget, error) {
	id := identityOf(src)
	return d.routes.targets.get(id, d.markTarget, func() (*backendTarget, error) { return d.compileTarget(id, src) })
}

// keepSet carries the targets of a set kept for the snapshot being
// compiled over to it.
func (d *Dataplane) keepSet(set *backendSet) {
	for _, t := range set.targets {
		if t != nil && d.routes.targets.carry(t.id, t) {
			d.markTarget(t)
		}
	}
}

// markTarget marks what a kept target uses as used by the snapshot being
// compiled, as compiling it would: its backend's metric series
// (metrics.Retain) and its upstream transport (upstream.Pool.Sweep). They
// are the ones the target holds: its identity, hence every key, is equal.
func (d *Dataplane) markTarget(t *backendTarget) {
	b := &t.source.Backend
	d.opts.Metrics.Backend(b.Namespace, b.Service)
	_, _ = d.upstream.Transport(b)
}

// compileTarget compiles one backend from src alone: its upstream, the
// retry transport and reverse proxy in front of it, and the direct path.
func (d *Dataplane) compileTarget(id identity, src *targetSource) (*backendTarget, error) {
	b := &src.Backend
	policy := upstream.NewRetryPolicy(src.Retry, src.Timeouts)
	u, err := d.upstream.Upstream(b)
	if err != nil {
		return nil, err
	}
	record := d.opts.Metrics.Backend(b.Namespace, b.Service)
	direct := newDirectTarget(u, policy, record, b)
	u.Transport = &measuredTransport{rt: u.Transport, record: record}
	return &backendTarget{
		id:     id,
		source: src,
		proxy:  d.reverseProxy(&upstream.RetryTransport{Upstream: u, Policy: policy}, b),
		direct: direct,
	}, nil
}
