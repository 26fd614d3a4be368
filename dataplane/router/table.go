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
	hosts *HostIndex[[]*pathIndex]
}

// Compile builds the table for routes, the routes attached to one
// listener, their host names already intersected with the listener's. An
// error names the route and field at fault (an invalid regular
// expression, an unsupported match type, a path that cannot be
// normalised); the whole table is then unusable, as one bad route must
// not silently change where other traffic goes.
func Compile(routes []snapshot.Route) (*Table, error) {
	return compileTable(routes, nil, nil)
}

// compileTable is Compile with hooks: include, when set, says which routes
// to compile at all (by index); convert, when set, sees every compiled
// entry and returns it (changed or not), or nil to leave it out of the
// table. CompileGuard uses them to compile, keep and fold guarded entries
// only.
func compileTable(routes []snapshot.Route, include func(route int) bool, convert func(*entry) (*entry, error)) (*Table, error) {
	groups := map[string]*pathIndex{}
	for i := range routes {
		if include != nil && !include(i) {
			continue
		}
		entries, err := compileRoute(i, &routes[i])
		if err == nil && convert != nil {
			entries, err = convertEntries(entries, convert)
		}
		if err != nil {
			return nil, err
		}
		hosts, err := routeHosts(i, &routes[i])
		if err != nil {
			return nil, err
		}
		for _, host := range hosts {
			x := groups[host]
			if x == nil {
				x = newPathIndex()
				groups[host] = x
			}
			x.add(entries)
		}
	}
	return buildTable(groups)
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
	indexes, _ := t.hosts.Lookup(r.Host)
	for _, x := range indexes {
		if e := x.match(r); e != nil {
			return e.result, true
		}
	}
	return Result{}, false
}

func convertEntries(entries []*entry, convert func(*entry) (*entry, error)) ([]*entry, error) {
	out := entries[:0]
	for _, e := range entries {
		c, err := convert(e)
		if err != nil {
			return nil, err
		}
		if c != nil {
			out = append(out, c)
		}
	}
	return out, nil
}

// routeHosts returns the distinct canonical host patterns of route i; ""
// stands for a route without host names.
func routeHosts(i int, r *snapshot.Route) ([]string, error) {
	if len(r.Hostnames) == 0 {
		return []string{""}, nil
	}
	out := make([]string, 0, len(r.Hostnames))
	for j, h := range r.Hostnames {
		h = canonicalHost(h)
		if err := checkHostPattern(h); err != nil {
			return nil, fmt.Errorf("%s hostnames[%d] %q: %w", routeField(i, r), j, r.Hostnames[j], err)
		}
		if !slices.Contains(out, h) {
			out = append(out, h)
		}
	}
	return out, nil
}

// buildTable gives every host pattern its candidate list: its own path
// index, then those of the wildcards that cover it (longest first), then
// the catch-all. Lookup returns the list of the most specific pattern
// matching a host, and every less specific pattern matching that host
// covers it, so the list holds every route that could serve the request.
func buildTable(built map[string]*pathIndex) (*Table, error) {
	for _, x := range built {
		x.finish()
	}
	entries := make([]HostEntry[[]*pathIndex], 0, len(built))
	for host, x := range built {
		list := []*pathIndex{x}
		if host != "" {
			for _, suffix := range wildcardCovers(host) {
				if w := built["*."+suffix]; w != nil {
					list = append(list, w)
				}
			}
			if all := built[""]; all != nil {
				list = append(list, all)
			}
		}
		entries = append(entries, HostEntry[[]*pathIndex]{Pattern: host, Value: list})
	}
	hosts, err := NewHostIndex(entries)
	if err != nil {
		return nil, err
	}
	return &Table{hosts: hosts}, nil
}
