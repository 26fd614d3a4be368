package filter

import (
	"math"
	"testing"

	"github.com/certgate/certgate/dataplane/snapshot"
)

func TestMirrorSamplesItsPercentage(t *testing.T) {
	const n = 10000
	tests := []struct {
		percent *float64
		want    float64 // expected share
	}{
		{nil, 1}, {ptr(0.0), 0}, {ptr(100.0), 1}, {ptr(25.0), 0.25}, {ptr(0.5), 0.005},
	}
	for _, tt := range tests {
		m := Mirror{Percent: tt.percent}
		hits := 0
		for range n {
			if m.Sample() {
				hits++
			}
		}
		// Five standard deviations of a binomial count: a correct sampler
		// fails about once in two million runs.
		tolerance := 5 * math.Sqrt(n*tt.want*(1-tt.want))
		if math.Abs(float64(hits)-n*tt.want) > tolerance {
			t.Errorf("percent %v: %d of %d mirrored, want %v ± %.0f", deref(tt.percent), hits, n, n*tt.want, tolerance)
		}
	}
}

func TestMirrorsKeepFilterOrderAndDropUnresolvedBackends(t *testing.T) {
	mirror := func(name, invalid string, pct *float64) snapshot.Filter {
		return snapshot.Filter{Type: snapshot.FilterRequestMirror, RequestMirror: &snapshot.Mirror{
			Backend: snapshot.Backend{Name: name, Invalid: invalid}, Percent: pct,
		}}
	}
	pct := 10.0
	c := mustCompile(t, mirror("ns/a:80", "", nil), mirror("ns/gone:80", "service not found", nil), mirror("ns/b:80", "", &pct))
	got := c.Mirrors()
	if len(got) != 2 || got[0].Backend.Name != "ns/a:80" || got[1].Backend.Name != "ns/b:80" {
		t.Fatalf("Mirrors() = %+v, want ns/a:80 then ns/b:80", got)
	}
	pct = 90 // the Chain must not alias the snapshot
	if *got[1].Percent != 10 {
		t.Errorf("Percent = %v after the snapshot value changed, want 10", *got[1].Percent)
	}
}

func deref(p *float64) any {
	if p == nil {
		return "nil"
	}
	return *p
}
