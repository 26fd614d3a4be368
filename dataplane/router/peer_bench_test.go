package router

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/certgate/certgate/dataplane/snapshot"
)

// BenchmarkMatchVsServeMux measures the route table against Go's
// http.ServeMux on the same prefix routes, in the same run, and reports
// the ratio (x-servemux below 1 means the table is faster). ServeMux only
// matches hosts and path prefixes, so the routes here use nothing else.
func BenchmarkMatchVsServeMux(b *testing.B) {
	for _, n := range []int{10, 1000, 10000} {
		b.Run(fmt.Sprintf("routes=%d", n), func(b *testing.B) {
			routes := make([]snapshot.Route, 0, n)
			mux := http.NewServeMux()
			for i := range n {
				host, path := fmt.Sprintf("h%d.example.com", i%100), fmt.Sprintf("/svc%d/", i)
				routes = append(routes, rt(fmt.Sprintf("ns/r%d", i), i, hosts(host), rule(prefix(path))))
				mux.Handle(host+path, http.NotFoundHandler())
			}
			table, err := Compile(routes)
			if err != nil {
				b.Fatal(err)
			}
			var ours []*Request
			var theirs []*http.Request
			for _, i := range []int{0, n / 3, n / 2, n - 1} {
				host, path := fmt.Sprintf("h%d.example.com", i%100), fmt.Sprintf("/svc%d/items/7", i)
				ours = append(ours, req(host, path))
				theirs = append(theirs, httptest.NewRequest(http.MethodGet, "http://"+host+path, nil))
			}
			// The peer runs the same number of lookups first, timed by hand:
			// testing.Benchmark cannot nest inside a running benchmark.
			start := time.Now()
			for i := range b.N {
				mux.Handler(theirs[i%len(theirs)])
			}
			peer := float64(time.Since(start).Nanoseconds()) / float64(b.N)
			b.ReportAllocs()
			b.ResetTimer()
			start = time.Now()
			for i := range b.N {
				table.Match(ours[i%len(ours)])
			}
			perOp := float64(time.Since(start).Nanoseconds()) / float64(b.N)
			b.ReportMetric(peer, "servemux-ns/op")
			b.ReportMetric(perOp/peer, "x-servemux")
		})
	}
}
