package translator

import (
	"fmt"
	"syscall"
	"testing"
	"time"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/certgate/certgate/controllers/resources"
	"github.com/certgate/certgate/internal/testconfig"
)

const benchClassYAML = `apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata:
  name: certgate
spec:
  controllerName: certgate.dev/gateway-controller
`

// benchResources is the standalone scale benchmark's configuration of n
// routes, as the file provider gives it to the translator.
func benchResources(b testing.TB, n int) *resources.Resources {
	b.Helper()
	res := &resources.Resources{}
	benchAdd(b, res, benchClassYAML+"---\n"+fmt.Sprintf(testconfig.GatewayYAML, 8080, 9090))
	for i := range n {
		benchAdd(b, res, fmt.Sprintf(testconfig.ScaleRouteYAML, i, 0))
	}
	res.Sort()
	return res
}

// benchAdd decodes yaml into res, with every object but the GatewayClass
// in the namespace "default", as the file provider puts them.
func benchAdd(b testing.TB, res *resources.Resources, yaml string) {
	b.Helper()
	objs, err := resources.Decode("bench.yaml", []byte(yaml))
	if err != nil {
		b.Fatal(err)
	}
	for _, o := range objs {
		if _, class := o.(*gatewayv1.GatewayClass); !class && o.GetNamespace() == "" {
			o.SetNamespace("default")
		}
		if err := res.Add(o); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTranslateEdit is one edit of one route among many: the route
// is replaced by a new object, as the file provider decodes a changed
// file, and the configuration translated again from the previous
// translation's Reuse.
func BenchmarkTranslateEdit(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("routes=%d", n), func(b *testing.B) {
			res := benchResources(b, n)
			now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			prev := Translate(res, Options{Now: now})
			// Edit e replaces the route at place at[e] of the sorted list
			// by edited[e], the same route with another version.
			at := make([]int, 16)
			edited := make([]*resources.Resources, len(at))
			for e := range edited {
				at[e] = (e * 7919) % n
				var number int
				if _, err := fmt.Sscanf(res.HTTPRoutes[at[e]].Name, "route-%d", &number); err != nil {
					b.Fatal(err)
				}
				edited[e] = &resources.Resources{}
				benchAdd(b, edited[e], fmt.Sprintf(testconfig.ScaleRouteYAML, number, e+1))
			}
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := processCPU()
			for e := range b.N {
				b.StopTimer()
				// A new object each time: the same one would be unchanged.
				cp := *edited[e%len(edited)].HTTPRoutes[0]
				res.HTTPRoutes[at[e%len(at)]] = &cp
				b.StartTimer()
				now = now.Add(time.Second)
				out := Translate(res, Options{Now: now, Previous: prev.Reuse, LastGoodCertificates: prev.LastGoodCertificates})
				if len(out.Snapshot.Listeners) != 1 || len(out.Snapshot.Listeners[0].Routes) != n {
					b.Fatalf("snapshot has %d listeners", len(out.Snapshot.Listeners))
				}
				prev = out
			}
			b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op")
		})
	}
}

// processCPU is the CPU time the process has used, the garbage
// collector's included: on a busy machine, a figure that waiting for a
// CPU does not inflate, as ns/op is.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
