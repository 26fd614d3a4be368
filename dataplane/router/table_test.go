package router

import (
	"testing"

	"github.com/certgate/certgate/dataplane/snapshot"
)

type matchCase struct {
	name   string
	routes []snapshot.Route
	req    *Request
	want   Result
	// none means no route may match.
	none bool
}

func runMatchCases(t *testing.T, cases []matchCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			table, err := Compile(tc.routes)
			if err != nil {
				t.Fatalf("Compile: %v", err)
			}
			got, ok := table.Match(tc.req)
			switch {
			case tc.none && ok:
				t.Fatalf("Match = %+v, want no match", got)
			case !tc.none && !ok:
				t.Fatalf("Match found nothing, want %+v", tc.want)
			case !tc.none && got != tc.want:
				t.Fatalf("Match = %+v, want %+v", got, tc.want)
			}
		})
	}
}

// TestMatchPrecedence proves each precedence criterion of the spec on its
// own: in every case the loser comes first in the route list and wins every
// criterion after the one under test.
func TestMatchPrecedence(t *testing.T) {
	runMatchCases(t, []matchCase{{
		name: "exact path beats prefix of the same length with more conditions",
		routes: []snapshot.Route{
			rt("a/prefix", 0, nil, rule(with(prefix("/foo/bar"), method("GET"), header("x", "1")))),
			rt("b/exact", 1, nil, rule(exact("/foo/bar"))),
		},
		req:  req("h", "/foo/bar", "x", "1"),
		want: res(1, 0, 0, ""),
	}, {
		name: "longer prefix beats shorter prefix with more conditions",
		routes: []snapshot.Route{
			rt("a/short", 0, nil, rule(with(prefix("/foo"), method("GET"), header("x", "1"), query("q", "1")))),
			rt("b/long", 1, nil, rule(prefix("/foo/bar"))),
		},
		req:  withQuery(req("h", "/foo/bar/baz", "x", "1"), "q=1"),
		want: res(1, 0, 0, "/foo/bar"),
	}, {
		name: "method match beats more header matches",
		routes: []snapshot.Route{
			rt("a/headers", 0, nil, rule(with(prefix("/foo"), header("x", "1"), header("y", "2")))),
			rt("b/method", 1, nil, rule(with(prefix("/foo"), method("GET")))),
		},
		req:  req("h", "/foo", "x", "1", "y", "2"),
		want: res(1, 0, 0, "/foo"),
	}, {
		name: "more header matches beat more query matches",
		routes: []snapshot.Route{
			rt("a/query", 0, nil, rule(with(prefix("/foo"), header("x", "1"), query("a", "1"), query("b", "2")))),
			rt("b/headers", 1, nil, rule(with(prefix("/foo"), header("x", "1"), header("y", "2")))),
		},
		req:  withQuery(req("h", "/foo", "x", "1", "y", "2"), "a=1&b=2"),
		want: res(1, 0, 0, "/foo"),
	}, {
		name: "more query matches win",
		routes: []snapshot.Route{
			rt("a/one", 0, nil, rule(with(prefix("/foo"), query("a", "1")))),
			rt("b/two", 1, nil, rule(with(prefix("/foo"), query("a", "1"), query("b", "2")))),
		},
		req:  withQuery(req("h", "/foo"), "a=1&b=2"),
		want: res(1, 0, 0, "/foo"),
	}, {
		name: "oldest route wins a tie",
		routes: []snapshot.Route{
			rt("a/newer", 5, nil, rule(prefix("/foo"))),
			rt("b/older", 1, nil, rule(prefix("/foo"))),
		},
		req:  req("h", "/foo/x"),
		want: res(1, 0, 0, "/foo"),
	}, {
		name: "namespace/name order breaks a timestamp tie",
		routes: []snapshot.Route{
			rt("b/a", 1, nil, rule(prefix("/foo"))),
			rt("a/z", 1, nil, rule(prefix("/foo"))),
		},
		req:  req("h", "/foo"),
		want: res(1, 0, 0, "/foo"),
	}, {
		name: "first rule of a route wins a tie",
		routes: []snapshot.Route{
			rt("a/r", 0, nil, rule(prefix("/other")), rule(prefix("/foo")), rule(prefix("/foo"))),
		},
		req:  req("h", "/foo"),
		want: res(0, 1, 0, "/foo"),
	}, {
		name: "first match of a rule wins a tie",
		routes: []snapshot.Route{
			rt("a/r", 0, nil, rule(prefix("/other"), prefix("/foo/"), prefix("/foo"))),
		},
		req:  req("h", "/foo/x"),
		want: res(0, 0, 1, "/foo"),
	}, {
		name: "exact path beats regex",
		routes: []snapshot.Route{
			rt("a/regex", 0, nil, rule(regex("/users/[0-9]+"))),
			rt("b/exact", 1, nil, rule(exact("/users/42"))),
		},
		req:  req("h", "/users/42"),
		want: res(1, 0, 0, ""),
	}, {
		name: "regex beats a longer prefix",
		routes: []snapshot.Route{
			rt("a/prefix", 0, nil, rule(prefix("/users/42"))),
			rt("b/regex", 1, nil, rule(regex("/users/.*"))),
		},
		req:  req("h", "/users/42/x"),
		want: res(1, 0, 0, ""),
	}, {
		name: "longer regex beats shorter regex",
		routes: []snapshot.Route{
			rt("a/short", 0, nil, rule(regex("/u/.*"))),
			rt("b/long", 1, nil, rule(regex("/u/[0-9]+"))),
		},
		req:  req("h", "/u/42"),
		want: res(1, 0, 0, ""),
	}})
}

func TestMatchHostnamePrecedence(t *testing.T) {
	runMatchCases(t, []matchCase{{
		name: "exact hostname beats wildcard with a longer path",
		routes: []snapshot.Route{
			rt("a/wild", 0, hosts("*.example.com"), rule(exact("/foo"))),
			rt("b/exact", 1, hosts("foo.example.com"), rule(prefix("/"))),
		},
		req:  req("foo.example.com", "/foo"),
		want: res(1, 0, 0, "/"),
	}, {
		name: "longer wildcard beats shorter wildcard",
		routes: []snapshot.Route{
			rt("a/short", 0, hosts("*.example.com"), rule(exact("/foo"))),
			rt("b/long", 1, hosts("*.a.example.com"), rule(prefix("/"))),
		},
		req:  req("x.a.example.com", "/foo"),
		want: res(1, 0, 0, "/"),
	}, {
		name: "wildcard beats a route without hostnames",
		routes: []snapshot.Route{
			rt("a/any", 0, nil, rule(exact("/foo"))),
			rt("b/wild", 1, hosts("*.example.com"), rule(prefix("/"))),
		},
		req:  req("x.example.com", "/foo"),
		want: res(1, 0, 0, "/"),
	}, {
		name: "exact hostname beats a route without hostnames",
		routes: []snapshot.Route{
			rt("a/any", 0, nil, rule(exact("/foo"))),
			rt("b/exact", 1, hosts("x.example.com"), rule(prefix("/"))),
		},
		req:  req("X.Example.com", "/foo"),
		want: res(1, 0, 0, "/"),
	}, {
		name: "wildcard does not match the bare domain",
		routes: []snapshot.Route{
			rt("a/wild", 0, hosts("*.example.com"), rule(prefix("/"))),
		},
		req:  req("example.com", "/"),
		none: true,
	}, {
		name: "bare domain falls to the route without hostnames",
		routes: []snapshot.Route{
			rt("a/wild", 0, hosts("*.example.com"), rule(prefix("/"))),
			rt("b/any", 1, nil, rule(prefix("/"))),
		},
		req:  req("example.com", "/"),
		want: res(1, 0, 0, "/"),
	}, {
		name: "exact hostname without a matching rule falls back to wildcard",
		routes: []snapshot.Route{
			rt("a/exact", 0, hosts("foo.example.com"), rule(prefix("/api"))),
			rt("b/wild", 1, hosts("*.example.com"), rule(prefix("/web"))),
			rt("c/any", 2, nil, rule(prefix("/"))),
		},
		req:  req("foo.example.com", "/web/index.html"),
		want: res(1, 0, 0, "/web"),
	}, {
		name: "falls back through every level to the route without hostnames",
		routes: []snapshot.Route{
			rt("a/exact", 0, hosts("foo.example.com"), rule(prefix("/api"))),
			rt("b/wild", 1, hosts("*.example.com"), rule(prefix("/web"))),
			rt("c/any", 2, nil, rule(prefix("/"))),
		},
		req:  req("foo.example.com", "/other"),
		want: res(2, 0, 0, "/"),
	}, {
		name: "longer wildcard without a matching rule falls back to shorter",
		routes: []snapshot.Route{
			rt("a/long", 0, hosts("*.a.example.com"), rule(prefix("/api"))),
			rt("b/short", 1, hosts("*.example.com"), rule(prefix("/"))),
		},
		req:  req("x.a.example.com", "/web"),
		want: res(1, 0, 0, "/"),
	}, {
		name: "route with several hostnames ranks by the most specific one",
		routes: []snapshot.Route{
			rt("a/wild", 0, hosts("*.example.com"), rule(prefix("/"))),
			rt("b/both", 1, hosts("*.example.com", "foo.example.com"), rule(prefix("/"))),
		},
		req:  req("foo.example.com.", "/"),
		want: res(1, 0, 0, "/"),
	}, {
		name:   "exact host under two wildcards tries each, then the catch-all: /api",
		routes: nestedWildcards(),
		req:    req("x.a.example.com", "/api"),
		want:   res(0, 0, 0, "/api"),
	}, {
		name:   "exact host under two wildcards tries each, then the catch-all: /web",
		routes: nestedWildcards(),
		req:    req("x.a.example.com", "/web"),
		want:   res(1, 0, 0, "/web"),
	}, {
		name:   "exact host under two wildcards tries each, then the catch-all: /static",
		routes: nestedWildcards(),
		req:    req("x.a.example.com", "/static"),
		want:   res(2, 0, 0, "/static"),
	}, {
		name:   "exact host under two wildcards tries each, then the catch-all: /other",
		routes: nestedWildcards(),
		req:    req("x.a.example.com", "/other"),
		want:   res(3, 0, 0, "/"),
	}, {
		name: "unknown host without a catch-all route",
		routes: []snapshot.Route{
			rt("a/exact", 0, hosts("foo.example.com"), rule(prefix("/"))),
		},
		req:  req("bar.example.com", "/"),
		none: true,
	}})
}

func TestMatchPaths(t *testing.T) {
	runMatchCases(t, []matchCase{
		{name: "prefix matches itself", routes: fooPrefix(), req: req("h", "/foo"), want: res(0, 0, 0, "/foo")},
		{name: "prefix matches with trailing slash", routes: fooPrefix(), req: req("h", "/foo/"), want: res(0, 0, 0, "/foo")},
		{name: "prefix matches a sub-path", routes: fooPrefix(), req: req("h", "/foo/bar"), want: res(0, 0, 0, "/foo")},
		{name: "prefix is element-wise", routes: fooPrefix(), req: req("h", "/foobar"), none: true},
		{name: "prefix is case-sensitive", routes: fooPrefix(), req: req("h", "/Foo"), none: true},
		{name: "prefix across a double slash", routes: fooPrefix(), req: req("h", "/foo//bar"), want: res(0, 0, 0, "/foo")},
		{
			name:   "trailing slash in the prefix is ignored",
			routes: []snapshot.Route{rt("a/r", 0, nil, rule(prefix("/foo/")))},
			req:    req("h", "/foo"),
			want:   res(0, 0, 0, "/foo"),
		},
		{
			name:   "exact does not match a trailing slash",
			routes: []snapshot.Route{rt("a/r", 0, nil, rule(exact("/foo")))},
			req:    req("h", "/foo/"),
			none:   true,
		},
		{
			name:   "exact value is normalised like the request",
			routes: []snapshot.Route{rt("a/r", 0, nil, rule(exact("/%7euser")))},
			req:    req("h", "/~user"),
			want:   res(0, 0, 0, ""),
		},
		{
			name:   "rule without matches is prefix /",
			routes: []snapshot.Route{rt("a/r", 0, nil, snapshot.Rule{})},
			req:    req("h", "/anything/at/all"),
			want:   res(0, 0, -1, "/"),
		},
		{
			name:   "match without path is prefix /",
			routes: []snapshot.Route{rt("a/r", 0, nil, rule(with(snapshot.Match{}, method("GET"))))},
			req:    req("h", "/x"),
			want:   res(0, 0, 0, "/"),
		},
		{
			name:   "regex must match the whole path",
			routes: []snapshot.Route{rt("a/r", 0, nil, rule(regex("/users/[0-9]+")))},
			req:    req("h", "/users/42/x"),
			none:   true,
		},
		{
			name:   "regex alternation stays anchored",
			routes: []snapshot.Route{rt("a/r", 0, nil, rule(regex("/a|/b")))},
			req:    req("h", "/ab"),
			none:   true,
		},
		{
			name:   "regex matches",
			routes: []snapshot.Route{rt("a/r", 0, nil, rule(regex("/users/[0-9]+")))},
			req:    req("h", "/users/42"),
			want:   res(0, 0, 0, ""),
		},
		{name: "no routes", routes: nil, req: req("h", "/"), none: true},
	})
}

func fooPrefix() []snapshot.Route { return []snapshot.Route{rt("a/r", 0, nil, rule(prefix("/foo")))} }

func TestNilTableMatchesNothing(t *testing.T) {
	var table *Table
	if got, ok := table.Match(req("h", "/")); ok {
		t.Fatalf("nil Table matched %+v", got)
	}
}

func TestMatchDoesNotAllocate(t *testing.T) {
	table, err := Compile([]snapshot.Route{
		rt("a/exact", 0, hosts("api.example.com"), rule(exact("/login"))),
		rt("a/prefix", 0, hosts("*.example.com"), rule(prefix("/static"))),
		rt("a/header", 0, nil, rule(with(prefix("/v"), header("x-version", "2"), method("PUT")))),
		rt("a/query", 0, nil, rule(with(prefix("/q"), query("page", "a b")))),
		rt("a/repeated", 0, nil, rule(with(prefix("/r"), header("x-a", "1,2")))),
	})
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]*Request{
		"exact":           req("api.example.com", "/login"),
		"prefix":          req("cdn.example.com", "/static/app.js"),
		"header":          withMethod(req("api.example.com", "/v/x", "X-Version", "2"), "PUT"),
		"query":           withQuery(req("other", "/q"), "x=1&page=a+b"),
		"repeated header": req("other", "/r", "X-A", "1", "X-A", "2"),
		"no match":        req("other", "/nothing"),
	}
	for name, r := range cases {
		if n := testing.AllocsPerRun(200, func() { table.Match(r) }); n != 0 {
			t.Errorf("%s: Match allocates %v times, want 0", name, n)
		}
	}
}

// nestedWildcards has an exact host under two wildcards and a catch-all,
// each with its own prefix.
func nestedWildcards() []snapshot.Route {
	return []snapshot.Route{
		rt("a/exact", 0, hosts("x.a.example.com"), rule(prefix("/api"))),
		rt("b/long", 1, hosts("*.a.example.com"), rule(prefix("/web"))),
		rt("c/short", 2, hosts("*.example.com"), rule(prefix("/static"))),
		rt("d/any", 3, nil, rule(prefix("/"))),
	}
}
