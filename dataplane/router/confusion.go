package router

import (
	"fmt"
	"strings"

	"github.com/certgate/certgate/dataplane/snapshot"
)

// Guard finds the rule a request path selects when it is read the way
// common backends read paths ("folded", see FoldPath), among the rules
// that carry a client certificate requirement with the guard on. The data
// plane refuses a request whose folded path selects such a rule when the
// connection does not satisfy it, whatever rule the path as sent matched.
// The reasons and the choices are in the package documentation.
//
// A nil *Guard guards nothing. A Guard is immutable and safe for
// concurrent use.
type Guard struct {
	// table holds only the guarded rules, with Exact and PathPrefix values
	// folded like request paths and regular expressions compiled
	// case-insensitively.
	table *Table
	// foldAll is set when a guarded path value reads differently once
	// folded ("/Admin" folds to "/admin"), or a guarded regular expression
	// holds an upper-case letter: then even a path that folding leaves
	// alone ("/admin") may select a guarded rule it did not match as sent,
	// so every path is matched against the table.
	foldAll bool
}

// CompileGuard builds the guard of one listener from the routes given to
// Compile. guarded says whether rule j of route i is guarded: it carries a
// requirement whose guard is on. It returns nil when no rule is guarded,
// so a listener without requirements pays nothing per request. Only the
// routes with a guarded rule are compiled again: on a listener of
// thousands of routes, most have none. Errors are those of Compile.
func CompileGuard(routes []snapshot.Route, guarded func(route, rule int) bool) (*Guard, error) {
	g := &Guard{}
	anyGuarded := func(i int) bool {
		for j := range routes[i].Rules {
			if guarded(i, j) {
				return true
			}
		}
		return false
	}
	table, err := compileTable(routes, anyGuarded, func(i int, u *compiledRoute) error {
		kept := u.entries[:0]
		for _, e := range u.entries {
			if !guarded(i, int(e.rule)) {
				continue
			}
			if err := g.fold(&e); err != nil {
				return err
			}
			kept = append(kept, e)
		}
		u.entries = kept
		return nil
	})
	if err != nil || table.hosts.empty() {
		return nil, err
	}
	g.table = table
	return g, nil
}

// fold rewrites a guarded entry's path condition for the folded table.
// A regular expression is matched case-insensitively against the folded
// path: folding lowers the path's letters, and "(?i)" lets an expression
// written with upper-case letters ("/Admin/.*") still match them.
func (g *Guard) fold(e *entry) error {
	switch e.kind {
	case exactPath:
		folded := FoldPath(e.pathKey)
		g.foldAll = g.foldAll || folded != e.pathKey
		e.pathKey = folded
	case prefixPath:
		folded := FoldPath(e.pathKey)
		g.foldAll = g.foldAll || folded != e.pathKey
		e.setPrefix(folded)
	case regexPath:
		field := fmt.Sprintf("route %s/%s rules[%d]: guard", e.route.namespace, e.route.name, e.rule)
		re, err := compileAnchored("(?i)"+e.pathKey, field)
		if err != nil {
			return err
		}
		g.foldAll = g.foldAll || strings.ContainsFunc(e.pathKey, func(c rune) bool { return 'A' <= c && c <= 'Z' })
		e.cond.pathRE = re
	}
	return nil
}

// Match returns the guarded rule that r's folded path selects, with the
// same host, method, headers and query as r, or false when there is none.
// r.Path must be the result of NormalizePath. A path that folding leaves
// unchanged is not matched at all (unless a guarded value needs it, see
// foldAll): the table lookup already judged it, and checking costs one
// pass over the path, without allocating. Folding allocates the folded
// path.
func (g *Guard) Match(r *Request) (Result, bool) {
	if g == nil {
		return Result{}, false
	}
	folded := r.Path
	switch {
	case needsFold(r.Path):
		folded = FoldPath(r.Path)
	case !g.foldAll:
		return Result{}, false
	}
	fr := *r
	fr.Path = folded
	return g.table.Match(&fr)
}
