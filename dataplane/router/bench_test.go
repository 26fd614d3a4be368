package router

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/certgate/certgate/dataplane/snapshot"
)

// benchRoutes builds n routes: three in four on one host, each with its
// own prefix, an exact path and a header-conditioned prefix; the rest
// spread over 100 hosts; plus a wildcard and a catch-all route that every
// host falls back to.
func benchRoutes(n int) []snapshot.Route {
	routes := []snapshot.Route{
		rt("infra/wildcard", 0, hosts("*.example.com"), rule(prefix("/"))),
		rt("infra/catch-all", 0, nil, rule(prefix("/static"))),
	}
	for i := range n {
		name := fmt.Sprintf("team%d/svc%d", i%50, i)
		if i%4 == 0 {
			host := fmt.Sprintf("h%d.example.com", i%100)
			routes = append(routes, rt(name, i, hosts(host), rule(prefix(fmt.Sprintf("/app%d", i)))))
			continue
		}
		svc := fmt.Sprintf("/svc%d", i)
		routes = append(routes, rt(name, i, hosts("api.example.com"),
			rule(prefix(svc+"/v1"), exact(svc+"/health")),
			rule(with(prefix(svc+"/v2"), header("x-canary", "true"), query("debug", "1"))),
		))
	}
	return routes
}

func benchRequests(n int) []*Request {
	mid := n/2 | 1 // odd, so on api.example.com
	svc := fmt.Sprintf("/svc%d", mid)
	return []*Request{
		req("api.example.com", svc+"/v1/items/7"),
		req("api.example.com", svc+"/health"),
		withQuery(req("api.example.com", svc+"/v2/items", "X-Canary", "true"), "a=b&debug=1"),
		req(fmt.Sprintf("h%d.example.com", (n/2)%100&^3), fmt.Sprintf("/app%d/x", (n/2)&^3)),
		req("www.example.com", "/index.html"),
		req("other.org", "/static/app.js"),
	}
}

func BenchmarkMatch(b *testing.B) {
	for _, n := range []int{10, 1000, 10000} {
		b.Run(fmt.Sprintf("routes=%d", n), func(b *testing.B) {
			table, err := Compile(benchRoutes(n))
			if err != nil {
				b.Fatal(err)
			}
			reqs := benchRequests(n)
			for _, r := range reqs {
				if _, ok := table.Match(r); !ok {
					b.Fatalf("no match for %s%s", r.Host, r.Path)
				}
			}
			// The first two routes are the wildcard and catch-all ones.
			if got, _ := table.Match(reqs[0]); got.RouteIndex != n/2|1+2 {
				b.Fatalf("%s%s matched route %d, want %d", reqs[0].Host, reqs[0].Path, got.RouteIndex, n/2|1+2)
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				table.Match(reqs[i%len(reqs)])
				i++
			}
		})
	}
}

// editRoutes builds n routes shaped like the scale test's (one host name
// each, prefixes /api and /web), route edited with /api changed to /v2.
func editRoutes(n, edited int) []snapshot.Route {
	routes := make([]snapshot.Route, 0, n)
	for i := range n {
		api := "/api"
		if i == edited {
			api = "/v2"
		}
		routes = append(routes, rt(fmt.Sprintf("ns/route-%d", i), i, hosts(fmt.Sprintf("r%d.example.com", i)), rule(prefix(api)), rule(prefix("/web"))))
	}
	return routes
}

// BenchmarkCompileEdit compiles the table of 10,000 routes after one
// route's path changed: from scratch, and from the table before.
func BenchmarkCompileEdit(b *testing.B) {
	const n = 10000
	versions := [][]snapshot.Route{editRoutes(n, -1), editRoutes(n, n/2)}
	b.Run("scratch", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if _, err := Compile(versions[i%2]); err != nil {
				b.Fatal(err)
			}
			i++
		}
		b.StopTimer()
		b.ReportMetric(liveBytes(b, versions[0])/n, "live-B/route")
	})
	b.Run("from-previous", func(b *testing.B) {
		prev, err := Compile(versions[0])
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		i := 1
		for b.Loop() {
			if prev, err = CompileFrom(prev, versions[i%2]); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}

// liveBytes is the heap a table of routes holds once compiled.
func liveBytes(b *testing.B, routes []snapshot.Route) float64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	table, err := Compile(routes)
	if err != nil {
		b.Fatal(err)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(table)
	return float64(after.HeapAlloc - before.HeapAlloc)
}
