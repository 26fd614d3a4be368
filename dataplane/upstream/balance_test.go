package upstream

import (
	"math"
	"testing"

	"github.com/certgate/certgate/dataplane/snapshot"
)

func weighted(weights ...int32) []snapshot.WeightedBackend {
	out := make([]snapshot.WeightedBackend, len(weights))
	for i, w := range weights {
		out[i].Weight = w
	}
	return out
}

func TestWeightedSplitFollowsWeights(t *testing.T) {
	w := NewWeighted(weighted(80, 0, 20))
	const picks = 10000
	var counts [3]int
	for range picks {
		counts[w.Pick()]++
	}
	if counts[1] != 0 {
		t.Fatalf("a weight-0 backend got %d picks", counts[1])
	}
	// 80% of 10,000 has a standard deviation of 40; 5 of them is 200.
	if got := counts[0]; math.Abs(float64(got-8000)) > 200 {
		t.Fatalf("80/20 split gave %d/%d", counts[0], counts[2])
	}
}

func TestWeightedAllZeroChoosesNothing(t *testing.T) {
	for _, backends := range [][]snapshot.WeightedBackend{nil, weighted(0), weighted(0, 0, -1)} {
		if got := NewWeighted(backends).Pick(); got != -1 {
			t.Fatalf("Pick() over weights %v = %d, want -1", backends, got)
		}
	}
}

func TestWeightedSingleBackendIsAlwaysChosen(t *testing.T) {
	w := NewWeighted(weighted(0, 7, 0))
	for range 100 {
		if got := w.Pick(); got != 1 {
			t.Fatalf("Pick() = %d, want 1", got)
		}
	}
}

func TestEndpointsRoundRobinEvenly(t *testing.T) {
	e := NewEndpoints([]snapshot.Endpoint{{Address: "10.0.0.1", Port: 80}, {Address: "10.0.0.2", Port: 80}, {Address: "fd00::3", Port: 8080}})
	counts := map[string]int{}
	for range 3000 {
		addr, ok := e.Pick()
		if !ok {
			t.Fatal("Pick() found no endpoint")
		}
		counts[addr]++
	}
	want := map[string]int{"10.0.0.1:80": 1000, "10.0.0.2:80": 1000, "[fd00::3]:8080": 1000}
	for addr, n := range want {
		if counts[addr] != n {
			t.Fatalf("round robin gave %v, want %v", counts, want)
		}
	}
}

func TestEndpointsEmpty(t *testing.T) {
	if _, ok := NewEndpoints(nil).Pick(); ok {
		t.Fatal("Pick() on no endpoints returned one")
	}
}

func TestPicksDoNotAllocate(t *testing.T) {
	e := NewEndpoints([]snapshot.Endpoint{{Address: "10.0.0.1", Port: 80}, {Address: "10.0.0.2", Port: 80}})
	w := NewWeighted(weighted(3, 1, 6))
	if n := testing.AllocsPerRun(1000, func() { _, _ = e.Pick() }); n != 0 {
		t.Fatalf("Endpoints.Pick allocates %v times", n)
	}
	if n := testing.AllocsPerRun(1000, func() { _ = w.Pick() }); n != 0 {
		t.Fatalf("Weighted.Pick allocates %v times", n)
	}
}

func BenchmarkWeightedPick(b *testing.B) {
	w := NewWeighted(weighted(3, 1, 6, 2))
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			_ = w.Pick()
		}
	})
}
