package router

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/certgate/certgate/dataplane/snapshot"
)

// spec describes one route of a generated listener; build turns a list
// of them into fresh snapshot routes, so an edit never modifies the
// routes an earlier table was compiled from.
type spec struct {
	name  string
	age   int
	hosts []string
	paths []string // "=/x" is an Exact path, anything else a prefix
	// tag changes nothing the table reads (a filter, say).
	tag string
}

func build(specs []spec) []snapshot.Route {
	out := make([]snapshot.Route, 0, len(specs))
	for _, s := range specs {
		var rules []snapshot.Rule
		for _, p := range s.paths {
			m := prefix(p)
			if p[0] == '=' {
				m = exact(p[1:])
			}
			rules = append(rules, snapshot.Rule{Name: s.tag, Matches: []snapshot.Match{m}})
		}
		out = append(out, rt(s.name, s.age, slices.Clone(s.hosts), rules...))
	}
	return out
}

func baseSpecs() []spec {
	specs := []spec{
		{name: "infra/wild", age: 0, hosts: hosts("*.example.com"), paths: []string{"/", "/api"}},
		{name: "infra/all", age: 0, paths: []string{"/static"}},
	}
	for i := range 6 {
		specs = append(specs, spec{name: fmt.Sprintf("team/r%d", i), age: i + 1,
			hosts: hosts(fmt.Sprintf("h%d.example.com", i%4)), paths: []string{"/api", "/web", fmt.Sprintf("=/r%d", i)}})
	}
	return specs
}

// probes are requests on every host the specs use, and some they do not.
func probes() []*Request {
	var out []*Request
	for _, h := range []string{"h0.example.com", "h1.example.com", "h2.example.com", "h3.example.com", "h9.example.com", "x.example.com", "other.org"} {
		for _, p := range []string{"/", "/api", "/api/v1", "/web", "/web/x", "/static/app.js", "/r0", "/r1", "/r2", "/r5", "/new", "/new/x"} {
			out = append(out, req(h, p))
		}
	}
	return out
}

// checkSame fails unless got matches every probe as a table compiled
// from scratch from routes does.
func checkSame(t *testing.T, step string, got *Table, routes []snapshot.Route) {
	t.Helper()
	checkSameOn(t, step, got, routes, probes())
}

func checkSameOn(t *testing.T, step string, got *Table, routes []snapshot.Route, reqs []*Request) {
	t.Helper()
	want, err := Compile(routes)
	if err != nil {
		t.Fatalf("%s: Compile: %v", step, err)
	}
	for _, r := range reqs {
		g, gok := got.Match(r)
		w, wok := want.Match(r)
		if g != w || gok != wok {
			t.Errorf("%s: %s %s%s matched %+v %v, want %+v %v", step, r.Method, r.Host, r.Path, g, gok, w, wok)
		}
	}
}

// TestCompileFromMatchesLikeCompile applies edits one after the other,
// each compiled from the table before it, and checks every table against
// one compiled from scratch, and the table before it against its own
// routes: reused parts must not answer for the old routes, and building
// the new table must not change the old one.
func TestCompileFromMatchesLikeCompile(t *testing.T) {
	edits := []struct {
		name string
		edit func([]spec) []spec
	}{
		{"one route's paths change", func(s []spec) []spec { s[3].paths = []string{"/api/v1", "/new"}; return s }},
		{"a filter changes, nothing the table reads", func(s []spec) []spec { s[4].tag = "v2"; return s }},
		{"a route is added in front, every index shifts", func(s []spec) []spec {
			return append([]spec{{name: "aaa/first", age: 9, hosts: hosts("h1.example.com"), paths: []string{"/new"}}}, s...)
		}},
		{"a host gains a route", func(s []spec) []spec {
			return append(s, spec{name: "team/gain", age: 20, hosts: hosts("h2.example.com"), paths: []string{"/new", "/api"}})
		}},
		{"a host loses a route", func(s []spec) []spec { return slices.Delete(s, 4, 5) }},
		{"a route moves to another host", func(s []spec) []spec { s[5].hosts = hosts("h3.example.com"); return s }},
		{"a route moves to a new host", func(s []spec) []spec { s[5].hosts = hosts("h9.example.com"); return s }},
		{"the wildcard route changes", func(s []spec) []spec { s[1].paths = []string{"/web"}; return s }},
		{"the wildcard route goes", func(s []spec) []spec { return slices.Delete(s, 1, 2) }},
		{"the catch-all route changes", func(s []spec) []spec { s[1].paths = []string{"/", "/static"}; return s }},
		{"an older route with the same name replaces one", func(s []spec) []spec { s[2].age = -1; return s }},
		{"routes swap places", func(s []spec) []spec { s[2], s[3] = s[3], s[2]; return s }},
		{"a removed route's slot goes to a new one", func(s []spec) []spec {
			s = slices.Delete(s, 2, 3)
			return append(s, spec{name: "team/late", age: 30, hosts: hosts("h0.example.com"), paths: []string{"/new/x"}})
		}},
	}
	specs := baseSpecs()
	routes := build(specs)
	table, err := Compile(routes)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range edits {
		specs = e.edit(slices.Clone(specs))
		next := build(specs)
		nextTable, err := CompileFrom(table, next)
		if err != nil {
			t.Fatalf("%s: %v", e.name, err)
		}
		checkSame(t, e.name, nextTable, next)
		checkSame(t, e.name+" (the table before)", table, routes)
		table, routes = nextTable, next
	}
}

// TestCompileFromShares checks that an edit of one route rebuilds only
// the path index of its host: the others, and every other compiled
// route, are the previous table's.
func TestCompileFromShares(t *testing.T) {
	specs := baseSpecs()
	prev, err := Compile(build(specs))
	if err != nil {
		t.Fatal(err)
	}
	specs[2].paths = []string{"/changed"} // team/r0 on h0.example.com
	next, err := CompileFrom(prev, build(specs))
	if err != nil {
		t.Fatal(err)
	}
	for _, host := range []string{"h0.example.com", "h1.example.com", "h2.example.com", "h3.example.com", "*.example.com", ""} {
		p, _ := prev.hosts.pattern(host)
		n, _ := next.hosts.pattern(host)
		if shared, want := p.own == n.own, host != "h0.example.com"; shared != want {
			t.Errorf("path index of %q shared: %v, want %v", host, shared, want)
		}
	}
	for i := range next.routes {
		if shared, want := next.routes[i].unit == prev.routes[i].unit, i != 2; shared != want {
			t.Errorf("route %d shared: %v, want %v", i, shared, want)
		}
	}
	specs[4].tag = "v2" // a filter: nothing the table reads
	same, err := CompileFrom(next, build(specs))
	if err != nil {
		t.Fatal(err)
	}
	if same.hosts != next.hosts {
		t.Error("a change the table does not read built a new host index")
	}
}

// TestCompileFromError leaves the previous table as it was when the new
// routes do not compile.
func TestCompileFromError(t *testing.T) {
	specs := baseSpecs()
	routes := build(specs)
	prev, err := Compile(routes)
	if err != nil {
		t.Fatal(err)
	}
	bad := build(specs)
	bad[3].Rules[0].Matches[0] = regex("(")
	if _, err := CompileFrom(prev, bad); err == nil {
		t.Fatal("CompileFrom accepted an invalid regular expression")
	}
	checkSame(t, "after a failed compile", prev, routes)
}

// TestCompileFromWhileServing matches on a table from several goroutines
// while tables are compiled from it; run with -race, it proves that
// compiling shares the old table's parts without writing to them.
func TestCompileFromWhileServing(t *testing.T) {
	specs := baseSpecs()
	routes := build(specs)
	prev, err := Compile(routes)
	if err != nil {
		t.Fatal(err)
	}
	want := make([]Result, 0, len(probes()))
	for _, r := range probes() {
		res, _ := prev.Match(r)
		want = append(want, res)
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				for i, r := range probes() {
					if got, _ := prev.Match(r); got != want[i] {
						t.Errorf("%s%s: %+v, want %+v", r.Host, r.Path, got, want[i])
						return
					}
				}
			}
		})
	}
	for i := range 50 {
		specs[2+i%6].paths = []string{fmt.Sprintf("/p%d", i)}
		specs[0].tag = fmt.Sprint(i)
		if _, err := CompileFrom(prev, build(specs)); err != nil {
			t.Error(err)
		}
	}
	close(stop)
	wg.Wait()
}

// TestSmallAndLargeIndexAgree matches the same requests on a host with
// few paths, compared one by one, and on one with enough other paths to
// be indexed by a map and a trie.
func TestSmallAndLargeIndexAgree(t *testing.T) {
	small := []snapshot.Route{
		rt("a/r", 0, hosts("h"), rule(prefix("/"), prefix("/a"), exact("/a/b")), rule(with(prefix("/a/b"), method("POST")))),
		rt("b/r", 1, hosts("h"), rule(prefix("/a/b/"), exact("/a"), prefix("/a//c")), rule(regex("/a/[0-9]+"))),
	}
	large := slices.Clone(small)
	for i := range smallIndex {
		large = append(large, rt(fmt.Sprintf("pad/r%d", i), 2, hosts("h"), rule(prefix(fmt.Sprintf("/pad%d", i)), exact(fmt.Sprintf("/pad%d/x", i)))))
	}
	st, err := Compile(small)
	if err != nil {
		t.Fatal(err)
	}
	lt, err := Compile(large)
	if err != nil {
		t.Fatal(err)
	}
	if c, _ := st.hosts.pattern("h"); c.own.large != nil {
		t.Fatal("the small host is indexed by a trie")
	}
	if c, _ := lt.hosts.pattern("h"); c.own.large == nil {
		t.Fatal("the large host is not indexed by a trie")
	}
	for _, p := range []string{"/", "/a", "/a/", "/ab", "/a/b", "/a/b/", "/a/bc", "/a/b/c", "/a//c", "/a//c/d", "/a//cd", "/a/12", "/x"} {
		for _, m := range []string{"GET", "POST"} {
			r := withMethod(req("h", p), m)
			s, sok := st.Match(r)
			l, lok := lt.Match(r)
			if s != l || sok != lok {
				t.Errorf("%s %s: small index %+v %v, large %+v %v", m, p, s, sok, l, lok)
			}
		}
	}
}

// TestCompileFromRandomEdits applies random edits (a route's matches or
// host names changed, a route added, removed or moved, nothing the table
// reads changed) to random routes, each table compiled from the one
// before, and checks every table against one compiled from scratch.
func TestCompileFromRandomEdits(t *testing.T) {
	for seed := range 20 {
		r := rand.New(rand.NewPCG(uint64(seed), 2))
		routes := make([]snapshot.Route, 0, 30)
		for i := range 30 {
			routes = append(routes, randomRoute(r, i))
		}
		table, err := Compile(routes)
		if err != nil {
			t.Fatal(err)
		}
		for step := range 30 {
			next := randomEdit(r, slices.Clone(routes), step)
			if table, err = CompileFrom(table, next); err != nil {
				t.Fatal(err)
			}
			checkSameOn(t, fmt.Sprintf("seed %d step %d", seed, step), table, next, randomProbes())
			routes = next
		}
	}
}

var randomHosts = []string{"a.example.com", "b.example.com", "x.a.example.com", "*.example.com", "*.a.example.com", "A.example.com."}

// randomRoute is route i with up to two host names and rules of random
// exact, prefix and regular expression matches.
func randomRoute(r *rand.Rand, i int) snapshot.Route {
	var hs []string
	for range r.IntN(3) {
		hs = append(hs, randomHosts[r.IntN(len(randomHosts))])
	}
	paths := []string{"/", "/a", "/a/b", "/b", "/a//b"}
	var rules []snapshot.Rule
	for range 1 + r.IntN(2) {
		var ms []snapshot.Match
		for range r.IntN(3) {
			p := paths[r.IntN(len(paths))]
			m := []snapshot.Match{exact(p), regex(p + ".*"), prefix(p), prefix(p)}[r.IntN(4)]
			if r.IntN(3) == 0 {
				m = with(m, method("POST"))
			}
			ms = append(ms, m)
		}
		rules = append(rules, rule(ms...))
	}
	return rt(fmt.Sprintf("ns%d/r%d", r.IntN(2), i), r.IntN(3), hs, rules...)
}

// randomEdit changes routes, a copy, as one configuration change would;
// the routes themselves are replaced, never modified.
func randomEdit(r *rand.Rand, routes []snapshot.Route, step int) []snapshot.Route {
	i := r.IntN(len(routes))
	switch r.IntN(6) {
	case 5:
		routes[i].Hostnames = randomRoute(r, i).Hostnames
	case 0:
		fresh := randomRoute(r, 100+step)
		fresh.Namespace, fresh.Name = routes[i].Namespace, routes[i].Name
		routes[i] = fresh
	case 1:
		routes = slices.Insert(routes, i, randomRoute(r, 100+step))
	case 2:
		routes = slices.Delete(routes, i, i+1)
	case 3:
		j := r.IntN(len(routes))
		routes[i], routes[j] = routes[j], routes[i]
	default:
		routes[i].Rules = slices.Clone(routes[i].Rules)
		routes[i].Rules[0].Name = fmt.Sprint(step) // not read by the table
	}
	return routes
}

func randomProbes() []*Request {
	var out []*Request
	for _, h := range []string{"a.example.com", "b.example.com", "x.a.example.com", "y.a.example.com", "z.example.com", "other"} {
		for _, p := range []string{"/", "/a", "/a/b", "/a/bc", "/b", "/a//b", "/zz"} {
			out = append(out, req(h, p), withMethod(req(h, p), "POST"))
		}
	}
	return out
}
