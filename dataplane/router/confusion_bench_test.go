package router

import "testing"

// BenchmarkGuard measures the guard's price per request on a listener
// with 1000 routes, one in ten guarded: a clean path, which it only scans,
// and a confusing one, which it folds and matches.
func BenchmarkGuard(b *testing.B) {
	routes := benchRoutes(1000)
	g, err := CompileGuard(routes, func(route, _ int) bool { return route%10 == 3 })
	if err != nil {
		b.Fatal(err)
	}
	guarded := routes[13].Rules[0].Matches[0].Path.Value // "/svc11/v1"
	for _, tc := range []struct {
		name, path string
		want       bool
	}{
		{"clean", "/svc11/v1/items/7", false},
		{"confusing", "/SVC11/v1;jsessionid=0//items/7.", true},
	} {
		b.Run(tc.name, func(b *testing.B) {
			r := req("api.example.com", tc.path)
			if got, ok := g.Match(r); ok != tc.want || ok && got.RouteIndex != 13 {
				b.Fatalf("Guard.Match(%q) = %+v, %v; want route 13 (%s): %v", tc.path, got, ok, guarded, tc.want)
			}
			b.ReportAllocs()
			for b.Loop() {
				g.Match(r)
			}
		})
	}
}

// BenchmarkFoldPath is the fold alone, on the confusing path above.
func BenchmarkFoldPath(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		FoldPath("/SVC11/v1;jsessionid=0//items/7.")
	}
}
