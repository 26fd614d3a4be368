package router

import (
	"cmp"
	"errors"
	"fmt"
	"net/textproto"
	"regexp"
	"regexp/syntax"
	"strings"
	"time"

	"github.com/certgate/certgate/dataplane/snapshot"
)

// pathKind is how an entry matches the path; it is also the first
// precedence key, in this order.
type pathKind uint8

const (
	exactPath pathKind = iota
	regexPath
	prefixPath
)

// compiledRoute is one route compiled: what a table needs of it on every
// host it serves. It is immutable once in a table, so a later table whose
// route is unchanged shares it (see CompileFrom).
type compiledRoute struct {
	// slot stands for the route's index, which a later table may change
	// without compiling the route again: Table.slots maps it to the index.
	slot int32
	// created, namespace and name rank entries that tie on their match.
	created         time.Time
	namespace, name string
	// hosts are the distinct canonical host patterns; "" stands for a
	// route without host names.
	hosts   []string
	entries []entry
}

// entry is one compiled HTTPRouteMatch (or the implicit match of a rule
// without matches).
type entry struct {
	route *compiledRoute
	// pathKey is the normalised exact path or prefix, or the expression.
	pathKey string
	// cond is nil when the match has no method, header, query parameter
	// or regular expression condition, as most have: the fields cost a
	// pointer then.
	cond *conditions
	rule int32
	// match is -1 for a rule without matches.
	match int32
	kind  pathKind
}

// conditions are the rarer conditions of an entry.
type conditions struct {
	method  string
	headers []headerCond
	query   []valueCond
	pathRE  *regexp.Regexp
}

// anyHost is the host list of every route without host names; it is
// never modified.
var anyHost = []string{""}

// compileRoute compiles every match of every rule of route i; the result's
// slot is i.
func compileRoute(i int, r *snapshot.Route) (*compiledRoute, error) {
	u := &compiledRoute{slot: int32(i), created: r.CreationTimestamp, namespace: r.Namespace, name: r.Name}
	hosts, err := routeHosts(i, r)
	if err != nil {
		return nil, err
	}
	u.hosts = hosts
	u.entries = make([]entry, 0, countEntries(r))
	for j := range r.Rules {
		matches := r.Rules[j].Matches
		if len(matches) == 0 {
			u.entries = append(u.entries, entry{route: u, rule: int32(j), match: -1})
			u.entries[len(u.entries)-1].setPrefix("/")
			continue
		}
		for k := range matches {
			u.entries = append(u.entries, entry{route: u, rule: int32(j), match: int32(k)})
			// The field is named in the error only: formatting it for every
			// match of every route was a fair share of compiling a table.
			if err := u.entries[len(u.entries)-1].compileMatch(&matches[k]); err != nil {
				return nil, fmt.Errorf("%s rules[%d].matches[%d].%w", routeField(i, r), j, k, err)
			}
		}
	}
	return u, nil
}

// countEntries is how many entries route r compiles to.
func countEntries(r *snapshot.Route) int {
	n := 0
	for j := range r.Rules {
		n += max(len(r.Rules[j].Matches), 1)
	}
	return n
}

func routeField(i int, r *snapshot.Route) string {
	return fmt.Sprintf("routes[%d] (%s/%s)", i, r.Namespace, r.Name)
}

// compileMatch compiles one match; an error names the field within it
// ("path.value ...").
func (e *entry) compileMatch(m *snapshot.Match) error {
	if err := e.compilePath(m.Path, "path"); err != nil {
		return err
	}
	if m.Method != "" {
		e.conditions().method = m.Method
	}
	headers, err := compileValues(m.Headers, "headers", textproto.CanonicalMIMEHeaderKey)
	if err != nil {
		return err
	}
	query, err := compileValues(m.QueryParams, "queryParams", func(s string) string { return s })
	if err != nil {
		return err
	}
	if len(headers) > 0 || len(query) > 0 {
		c := e.conditions()
		c.query = query
		c.headers = make([]headerCond, 0, len(headers))
		for _, h := range headers {
			c.headers = append(c.headers, newHeaderCond(h))
		}
	}
	return nil
}

// conditions returns e.cond, creating it when e has none yet.
func (e *entry) conditions() *conditions {
	if e.cond == nil {
		e.cond = &conditions{}
	}
	return e.cond
}

// method, headers and query are e's method, header and query parameter
// conditions.
func (e *entry) method() string {
	if e.cond == nil {
		return ""
	}
	return e.cond.method
}

func (e *entry) headers() []headerCond {
	if e.cond == nil {
		return nil
	}
	return e.cond.headers
}

func (e *entry) query() []valueCond {
	if e.cond == nil {
		return nil
	}
	return e.cond.query
}

// compilePath normalises Exact and PathPrefix values with NormalizePath,
// so "/%7euser" in a route matches a request for "/~user": both sides of
// the comparison are in the same normal form.
func (e *entry) compilePath(p *snapshot.PathMatch, field string) error {
	if p == nil {
		e.setPrefix("/")
		return nil
	}
	switch p.Type {
	case snapshot.PathPrefix, "":
		v, err := NormalizePath(p.Value)
		if err != nil {
			return fmt.Errorf("%s.value %q: %w", field, p.Value, err)
		}
		e.setPrefix(v)
	case snapshot.PathExact:
		v, err := NormalizePath(p.Value)
		if err != nil {
			return fmt.Errorf("%s.value %q: %w", field, p.Value, err)
		}
		e.kind, e.pathKey = exactPath, v
	case snapshot.PathRegularExpression:
		re, err := compileAnchored(p.Value, field+".value")
		if err != nil {
			return err
		}
		e.kind, e.pathKey = regexPath, p.Value
		e.conditions().pathRE = re
	default:
		return fmt.Errorf("%s.type: unsupported path match type %q (want Exact, PathPrefix or RegularExpression)", field, p.Type)
	}
	return nil
}

// setPrefix records a PathPrefix match. A trailing slash is ignored, as
// the spec says, so "/foo/" and "/foo" are the same prefix and rank the
// same.
func (e *entry) setPrefix(normal string) {
	p := strings.TrimRight(normal, "/")
	if p == "" {
		p = "/"
	}
	e.kind, e.pathKey = prefixPath, p
}

// compileValues compiles header or query parameter matches. Only the first
// of several entries with the same name (after canon) counts, as the spec
// requires; the others are dropped and do not count towards precedence.
func compileValues(ms []snapshot.ValueMatch, field string, canon func(string) string) ([]valueCond, error) {
	if len(ms) == 0 {
		return nil, nil
	}
	var out []valueCond
	seen := map[string]bool{}
	for i, m := range ms {
		name := canon(m.Name)
		if seen[name] {
			continue
		}
		seen[name] = true
		c := valueCond{name: name, value: m.Value}
		switch m.Type {
		case snapshot.MatchExact, "":
		case snapshot.MatchRegularExpression:
			re, err := compileAnchored(m.Value, fmt.Sprintf("%s[%d].value", field, i))
			if err != nil {
				return nil, err
			}
			c.re = re
		default:
			return nil, fmt.Errorf("%s[%d].type: unsupported match type %q (want Exact or RegularExpression)", field, i, m.Type)
		}
		out = append(out, c)
	}
	return out, nil
}

// CheckRegularExpression reports whether expr compiles the way a Table
// compiles it: anchored to the whole value, and case-insensitively for the
// path confusion guard. RE2 can accept an expression alone and refuse it
// wrapped (nesting one group too deep); the translator calls this so that
// such a route is refused on its own instead of failing the whole table.
func CheckRegularExpression(expr string) error {
	for _, e := range []string{expr, "(?i)" + expr} {
		if _, err := compileAnchored(e, "regular expression"); err != nil {
			// RE2's own error quotes the wrapped expression; its code
			// alone says what is wrong without repeating the value.
			if se := (*syntax.Error)(nil); errors.As(err, &se) {
				return errors.New(string(se.Code))
			}
			return err
		}
	}
	return nil
}

// compileAnchored compiles an RE2 expression that must match the whole
// value, not a substring: "/api" must not match "/internal/api/x". The
// expression is checked alone first: wrapped in the anchoring group, an
// unbalanced one such as "a)|(b" would compile into something else.
func compileAnchored(expr, field string) (*regexp.Regexp, error) {
	if _, err := regexp.Compile(expr); err != nil {
		return nil, fmt.Errorf("%s: invalid regular expression: %w", field, err)
	}
	re, err := regexp.Compile(`^(?:` + expr + `)$`)
	if err != nil {
		return nil, fmt.Errorf("%s: invalid regular expression: %w", field, err)
	}
	return re, nil
}

// compareEntries orders the entries of one path index by the spec's
// precedence, most preferred first, and groups them into buckets: exact
// paths (by path), then regular expressions (the longer pattern first),
// then prefixes (the longer first). Entries tie when they come from one
// route, or from routes equal in every key; a stable sort of entries
// added in route, rule and match order then keeps that order, which is
// the last key.
func compareEntries(a, b *entry) int {
	if c := cmp.Compare(a.kind, b.kind); c != 0 {
		return c
	}
	if c := cmp.Compare(len(b.pathKey), len(a.pathKey)); c != 0 {
		return c
	}
	if a.kind != regexPath {
		if c := strings.Compare(a.pathKey, b.pathKey); c != 0 {
			return c
		}
	}
	return cmp.Or(
		compareBool(a.method() != "", b.method() != ""),
		cmp.Compare(len(b.headers()), len(a.headers())),
		cmp.Compare(len(b.query()), len(a.query())),
		a.route.created.Compare(b.route.created),
		compareNames(a.route, b.route),
	)
}

// compareNames compares "namespace/name" of two routes without building
// the strings.
func compareNames(a, b *compiledRoute) int {
	if a.namespace == b.namespace {
		return strings.Compare(a.name, b.name)
	}
	la, lb := len(a.namespace)+1+len(a.name), len(b.namespace)+1+len(b.name)
	for k := range min(la, lb) {
		if c := cmp.Compare(joinedAt(a, k), joinedAt(b, k)); c != 0 {
			return c
		}
	}
	return cmp.Compare(la, lb)
}

// joinedAt is byte k of "namespace/name".
func joinedAt(u *compiledRoute, k int) byte {
	switch {
	case k < len(u.namespace):
		return u.namespace[k]
	case k == len(u.namespace):
		return '/'
	}
	return u.name[k-len(u.namespace)-1]
}

// compareBool puts true first.
func compareBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return -1
	}
	return 1
}
