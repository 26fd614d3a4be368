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
type pathKind int

const (
	exactPath pathKind = iota
	regexPath
	prefixPath
)

// entry is one compiled HTTPRouteMatch (or the implicit match of a rule
// without matches).
type entry struct {
	result  Result
	method  string
	headers []headerCond
	query   []valueCond
	pathRE  *regexp.Regexp

	// Where the entry is indexed and how it ranks; read only by Compile.
	kind    pathKind
	pathKey string // the normalised exact path or prefix
	created time.Time
	route   string // "namespace/name"
}

// compileRoute compiles every match of every rule of route i.
func compileRoute(i int, r *snapshot.Route) ([]*entry, error) {
	base := entry{created: r.CreationTimestamp, route: r.Namespace + "/" + r.Name}
	var out []*entry
	for j := range r.Rules {
		matches := r.Rules[j].Matches
		if len(matches) == 0 {
			e := base
			e.result = Result{RouteIndex: i, RuleIndex: j, MatchIndex: -1}
			e.setPrefix("/")
			out = append(out, &e)
			continue
		}
		for k := range matches {
			e := base
			e.result = Result{RouteIndex: i, RuleIndex: j, MatchIndex: k}
			// The field is named in the error only: formatting it for every
			// match of every route was a fair share of compiling a table.
			if err := e.compileMatch(&matches[k]); err != nil {
				return nil, fmt.Errorf("%s rules[%d].matches[%d].%w", routeField(i, r), j, k, err)
			}
			out = append(out, &e)
		}
	}
	return out, nil
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
	e.method = m.Method
	headers, err := compileValues(m.Headers, "headers", textproto.CanonicalMIMEHeaderKey)
	if err != nil {
		return err
	}
	for _, h := range headers {
		e.headers = append(e.headers, newHeaderCond(h))
	}
	e.query, err = compileValues(m.QueryParams, "queryParams", func(s string) string { return s })
	return err
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
		e.kind, e.pathKey, e.pathRE = regexPath, p.Value, re
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
	e.kind, e.pathKey, e.result.Prefix = prefixPath, p, p
}

// compileValues compiles header or query parameter matches. Only the first
// of several entries with the same name (after canon) counts, as the spec
// requires; the others are dropped and do not count towards precedence.
func compileValues(ms []snapshot.ValueMatch, field string, canon func(string) string) ([]valueCond, error) {
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

// compareEntries orders entries that share a path bucket (one exact path,
// one prefix, or the regex list) by the spec's precedence, most preferred
// first. The path kind and length are settled by the bucket, except for
// regexes, where the longer pattern goes first.
func compareEntries(a, b *entry) int {
	return cmp.Or(
		cmp.Compare(len(b.pathKey), len(a.pathKey)),
		compareBool(a.method != "", b.method != ""),
		cmp.Compare(len(b.headers), len(a.headers)),
		cmp.Compare(len(b.query), len(a.query)),
		a.created.Compare(b.created),
		strings.Compare(a.route, b.route),
		cmp.Compare(a.result.RouteIndex, b.result.RouteIndex),
		cmp.Compare(a.result.RuleIndex, b.result.RuleIndex),
		cmp.Compare(a.result.MatchIndex, b.result.MatchIndex),
	)
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
