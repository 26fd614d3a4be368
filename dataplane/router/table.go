package router

import (
	"fmt"
	"net/http"
	"slices"

	"github.com/certgate/certgate/dataplane/snapshot"
)

// Request is what a Table matches on.
type Request struct {
	// Host is the request's host without port, in any case.
	Host string
	// Path is the result of NormalizePath.
	Path string
	// Method is the request method, compared exactly.
	Method string
	// RawQuery is the escaped query, without "?".
	RawQuery string
	// Header holds the request headers under canonical keys, as net/http
	// provides them; names are looked up in canonical form only.
	Header http.Header
}

// Result says which match of which rule of which route won. The indexes
// are into the routes given to Compile.
type Result struct {
	// RouteIndex is the index of the route in the slice given to Compile.
	RouteIndex int
	// RuleIndex is the index of the rule in the route's Rules.
	RuleIndex int
	// MatchIndex is -1 when the rule has no matches, which is an implicit
	// PathPrefix "/".
	MatchIndex int
	// Prefix is the PathPrefix that matched, normalised like a request
	// path and without a trailing slash ("/" for the root), ready for
	// ReplacePrefix. It is empty for Exact and RegularExpression matches.
	Prefix string
}

// Table is the compiled route table of one listener. It is immutable and
// safe for concurrent use.
type Table struct {
	// hosts maps a host name pattern to the path indexes to try, most
	// specific host name first.
	hosts *HostIndex[candidates]
	// routes are the routes compiled, with what they were compiled from,
	// for CompileFrom; nil in a Guard's table.
	routes []tableRoute
	// slots maps a compiled route's slot to its index in routes; nil when
	// every route's slot is its index.
	slots []int32
}

// tableRoute is a route of a table and what it was compiled from.
type tableRoute struct {
	src  *snapshot.Route
	unit *compiledRoute
}

// candidates are the path indexes a host name tries, in order: its own,
// then those of the wildcards that cover it (longest first) and of the
// routes without host names. Most host names have only their own, which
// costs no allocation.
type candidates struct {
	own  *pathIndex
	more *fallback
}

// fallback is the path indexes a host name tries after its own. The exact
// host names under one wildcard share one.
type fallback struct {
	indexes []*pathIndex
}

// then is f followed by g's indexes; either may be nil.
func (f *fallback) then(g *fallback) *fallback {
	if g == nil {
		return f
	}
	if f == nil {
		return g
	}
	return &fallback{indexes: append(slices.Clip(f.indexes), g.indexes...)}
}

// Compile builds the table for routes, the routes attached to one
// listener, their host names already intersected with the listener's. An
// error names the route and field at fault (an invalid regular
// expression, an unsupported match type, a path that cannot be
// normalised); the whole table is then unusable, as one bad route must
// not silently change where other traffic goes.
func Compile(routes []snapshot.Route) (*Table, error) {
	return CompileFrom(nil, routes)
}

// CompileFrom is Compile, sharing with prev, a table compiled before from
// another version of the routes (nil for none), what that version left as
// it was: a route equal in everything a table reads of it (namespace,
// name, creation time, host names and matches) is not compiled again, and
// a host name whose routes are all such, in the same order, keeps its
// path index. prev is not modified and keeps serving as it did; the
// routes it was compiled from must not have been modified since.
func CompileFrom(prev *Table, routes []snapshot.Route) (*Table, error) {
	t := &Table{routes: make([]tableRoute, len(routes))}
	old := newPredecessor(prev.reusable(len(routes)))
	fresh, err := t.compileRoutes(old, routes)
	if err != nil {
		return nil, err
	}
	if old != nil {
		if hosts, ok := t.updateHosts(old, fresh); ok {
			t.hosts = hosts
			return t, nil
		}
	}
	units := make([]*compiledRoute, len(t.routes))
	for i := range t.routes {
		units[i] = t.routes[i].unit
	}
	if t.hosts, err = indexHosts(units, old.table()); err != nil {
		return nil, err
	}
	return t, nil
}

// compileTable compiles a Guard's table: include says which routes to
// compile at all (by index); convert sees every compiled route and may
// change or drop its entries. The table shares nothing with another.
func compileTable(routes []snapshot.Route, include func(route int) bool, convert func(route int, u *compiledRoute) error) (*Table, error) {
	var units []*compiledRoute
	for i := range routes {
		if !include(i) {
			continue
		}
		u, err := compileRoute(i, &routes[i])
		if err == nil {
			err = convert(i, u)
		}
		if err != nil {
			return nil, err
		}
		if len(u.entries) > 0 {
			units = append(units, u)
		}
	}
	hosts, err := indexHosts(units, nil)
	if err != nil {
		return nil, err
	}
	return &Table{hosts: hosts}, nil
}

// Match returns the route, rule and match that win for r, or false when
// none matches (the caller answers 404). It does not allocate, except to
// lowercase a Host with uppercase letters, and to join the values of a
// repeated header or decode an escaped query value for a regular
// expression.
func (t *Table) Match(r *Request) (Result, bool) {
	if t == nil || t.hosts == nil {
		return Result{}, false
	}
	c, _ := t.hosts.Lookup(r.Host)
	if c.own == nil {
		return Result{}, false
	}
	if e := c.own.match(r); e != nil {
		return t.result(e), true
	}
	if c.more == nil {
		return Result{}, false
	}
	for _, x := range c.more.indexes {
		if e := x.match(r); e != nil {
			return t.result(e), true
		}
	}
	return Result{}, false
}

// result is the Result of entry e in t.
func (t *Table) result(e *entry) Result {
	i := int(e.route.slot)
	if t.slots != nil {
		i = int(t.slots[i])
	}
	res := Result{RouteIndex: i, RuleIndex: int(e.rule), MatchIndex: int(e.match)}
	if e.kind == prefixPath {
		res.Prefix = e.pathKey
	}
	return res
}

// routeHosts returns the distinct canonical host patterns of route i; ""
// stands for a route without host names. Host names already canonical and
// distinct, as they mostly are, are returned as given, without a copy.
func routeHosts(i int, r *snapshot.Route) ([]string, error) {
	if len(r.Hostnames) == 0 {
		return anyHost, nil
	}
	canonical := true
	for j, h := range r.Hostnames {
		c := canonicalHost(h)
		if err := checkHostPattern(c); err != nil {
			return nil, fmt.Errorf("%s hostnames[%d] %q: %w", routeField(i, r), j, r.Hostnames[j], err)
		}
		canonical = canonical && c == h && !slices.Contains(r.Hostnames[:j], h)
	}
	if canonical {
		return slices.Clip(r.Hostnames), nil
	}
	out := make([]string, 0, len(r.Hostnames))
	for _, h := range r.Hostnames {
		if h = canonicalHost(h); !slices.Contains(out, h) {
			out = append(out, h)
		}
	}
	return out, nil
}

// indexHosts groups units, in route order, by host pattern, and gives
// every pattern its path index (prev's when prev has one over the same
// routes) and its candidate list: its own index, then those of the
// wildcards that cover it (longest first), then the catch-all. Lookup
// returns the list of the most specific pattern matching a host, and
// every less specific pattern matching that host covers it, so the list
// holds every route that could serve the request.
func indexHosts(units []*compiledRoute, prev *Table) (*HostIndex[candidates], error) {
	groups := make(map[string][]*compiledRoute, len(units))
	for _, u := range units {
		for _, h := range u.hosts {
			groups[h] = append(groups[h], u)
		}
	}
	h := &HostIndex[candidates]{exact: make(map[string]candidates, len(groups)), wildcard: map[string]candidates{}}
	for host, us := range groups {
		x := prev.indexFor(host, us)
		if x == nil {
			x = newPathIndex(us)
		}
		if err := h.add(HostEntry[candidates]{Pattern: host, Value: candidates{own: x}}); err != nil {
			return nil, fmt.Errorf("hosts %q: %w", host, err)
		}
	}
	linkCovers(h)
	return h, nil
}

// linkCovers fills the candidate list of every pattern of h, whose values
// hold only their own path index so far. Exact host names under one
// wildcard share one list: the wildcard's index and its own candidates.
func linkCovers(h *HostIndex[candidates]) {
	all := anyFallback(h)
	if len(h.wildcard) == 0 && all == nil {
		return
	}
	chains := make(map[string]*fallback, len(h.wildcard))
	for suffix, c := range h.wildcard {
		// The wildcards covering "*.a.example.com" are those covering
		// "a.example.com", itself aside.
		c.more = covering(suffix, h.wildcard, all)
		h.wildcard[suffix] = c
		chains[suffix] = (&fallback{indexes: []*pathIndex{c.own}}).then(c.more)
	}
	for p, c := range h.exact {
		c.more = all
		if suffix, ok := nearestWildcard(p, h.wildcard); ok {
			c.more = chains[suffix]
		}
		h.exact[p] = c
	}
}

// anyFallback is the fallback of the routes without host names alone, or
// nil when there are none.
func anyFallback(h *HostIndex[candidates]) *fallback {
	if !h.hasAny {
		return nil
	}
	return &fallback{indexes: []*pathIndex{h.any.own}}
}

// nearestWildcard returns the suffix of the longest wildcard in wild that
// covers the exact host name host.
func nearestWildcard(host string, wild map[string]candidates) (string, bool) {
	for i := 1; i+1 < len(host) && len(wild) > 0; i++ {
		if host[i] != '.' {
			continue
		}
		if _, ok := wild[host[i+1:]]; ok {
			return host[i+1:], true
		}
	}
	return "", false
}

// covering is the fallback of the exact host name host: the path indexes
// of the wildcards in wild that cover it, longest first, then all.
func covering(host string, wild map[string]candidates, all *fallback) *fallback {
	var out []*pathIndex
	if len(wild) > 0 {
		for _, suffix := range wildcardCovers(host) {
			if w, ok := wild[suffix]; ok {
				out = append(out, w.own)
			}
		}
	}
	if len(out) == 0 {
		return all
	}
	return (&fallback{indexes: out}).then(all)
}
