package e2e_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/certgate/certgate/controllers/kubernetes/provider"
	"github.com/certgate/certgate/internal/testwait"
)

// The route-programming benchmark: its own namespace and listener port.
const (
	benchNS   = "bench"
	benchPort = 18480
	benchAddr = "127.0.0.1:18480"
	// samplesPerOp is how many routes one benchmark iteration creates and
	// times: one op is samplesPerOp sequential "create, wait for 200".
	samplesPerOp = 50
	// pollEvery is how often a new route's path is probed.
	pollEvery = 5 * time.Millisecond
	// sampleSettle is how long the provider must have applied nothing
	// before the next route is created, so that each sample starts from an
	// idle controller rather than inside the tail of the previous one (its
	// status write, the Gateway's attachedRoutes update and the
	// translations those events trigger).
	sampleSettle = 500 * time.Millisecond
	// bulkSettle is the same after a bulk creation: longer, for the gaps
	// between runs while the status writer is still writing thousands of
	// route statuses.
	bulkSettle = 2 * time.Second
)

// BenchmarkRouteProgramming measures, against a real kube-apiserver and
// etcd with the real provider and data plane, how long a new HTTPRoute
// takes to serve: from the moment the client's Create returns to the first
// 200 through the data plane, probing its path every 5ms on a keep-alive
// HTTPS connection. The backend is a real HTTP server on
// envtest.TestAddress(), published through a Service and a hand-made
// EndpointSlice. Sub-benchmarks run with 1,000 and 5,000 other routes
// already attached to the same Gateway (distinct paths), all applied and
// with their statuses written before the clock starts.
//
// One op is samplesPerOp route creations, timed one after another; each
// route is deleted once it answers 200, and the next is created only when
// the deletion is served (404) and the provider has been idle for
// sampleSettle. Reported:
//
//   - p50-ms, p99-ms: create-to-first-200 percentiles over every sample
//     (nearest rank: with 50 samples p99 is the slowest one). There is no
//     debounce floor: the provider translates at once on the first event
//     (pipeline.Debouncer), so the figure is the informer's watch delay,
//     one translation and one apply, and the 5ms probe interval.
//   - rss-MiB: this process's VmRSS after a runtime.GC, with the routes
//     present (the measured ones deleted again). This process is what is
//     deployed, the provider (informer caches, translator, status writer)
//     and the data plane (compiled snapshot, listener, upstream transports)
//     in one process, plus what only a test holds: the controller-runtime
//     client the benchmark creates objects with (no cache), the probe HTTP
//     client, the backend HTTP server, the test PKI and the testing
//     framework. Those are small next to the provider's caches, so the
//     figure slightly overstates the controller's footprint. etcd and
//     kube-apiserver are separate processes and are not counted.
//
// ns/op is the time of samplesPerOp create-to-200 intervals (including
// the Create calls); the cleanup between samples is not timed. allocs/op
// and B/op count every goroutine of the process, the provider's included.
//
// The envtest client configuration allows 1,000 QPS, far above a deployed
// controller's default client rate limit, so bulk status writes finish
// faster here than they would in a cluster. It is a benchmark, not a test:
// it runs only with -bench (make bench), never in make test.
func BenchmarkRouteProgramming(b *testing.B) {
	w := newWorld(b)
	w.gatewayClass(b, className, controllerName)
	// No leader election: this provider is the leader and writes status,
	// as the one replica of a deployment would.
	p, m := w.provider(b, controllerName, nil)
	p.Lead(b.Context())
	w.metrics = m

	w.namespace(b, benchNS)
	w.create(b, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: benchNS, Name: "serving"},
		Type:       corev1.SecretTypeTLS,
		Data:       map[string][]byte{corev1.TLSCertKey: w.serving.CertPEM, corev1.TLSPrivateKeyKey: w.serving.KeyPEM},
	}, &gatewayv1.Gateway{
		ObjectMeta: metav1.ObjectMeta{Namespace: benchNS, Name: "gw"},
		Spec: gatewayv1.GatewaySpec{
			GatewayClassName: className,
			Listeners: []gatewayv1.Listener{{
				Name: "https", Port: benchPort, Protocol: gatewayv1.HTTPSProtocolType,
				TLS: &gatewayv1.ListenerTLSConfig{CertificateRefs: []gatewayv1.SecretObjectReference{{Name: "serving"}}},
			}},
		},
	})
	w.backend(b, benchNS, "echo")

	bench := &routeBench{w: w, p: p, c: w.client(nil, benchAddr)}
	for _, n := range []int{1000, 5000} {
		b.Run(fmt.Sprintf("routes=%d", n), func(b *testing.B) { bench.run(b, n) })
	}
}

// routeBench is the state the sub-benchmarks share: one control plane,
// one provider, and the background routes created so far (the 5,000-route
// case adds 4,000 to the 1,000 of the first).
type routeBench struct {
	w          *world
	p          *provider.Provider
	c          *http.Client
	background int // bg-0000 .. bg-<background-1> exist and serve
	measured   int // names of measured routes are never reused
}

func (r *routeBench) run(b *testing.B, others int) {
	r.ensureBackground(b, others)

	samples := make([]time.Duration, 0, b.N*samplesPerOp)
	b.ResetTimer()
	b.StopTimer()
	for range b.N {
		for range samplesPerOp {
			samples = append(samples, r.sample(b))
		}
	}

	slices.Sort(samples)
	b.ReportMetric(ms(percentile(samples, 0.50)), "p50-ms")
	b.ReportMetric(ms(percentile(samples, 0.99)), "p99-ms")
	b.ReportMetric(rssMiB(b), "rss-MiB")
	b.Logf("%d other routes: %d samples, min %.1fms, p50 %.1fms, p99 %.1fms, max %.1fms",
		others, len(samples), ms(samples[0]), ms(percentile(samples, 0.50)), ms(percentile(samples, 0.99)), ms(samples[len(samples)-1]))
}

// sample creates one route, times it to its first 200 and removes it
// again. Only the create-to-200 interval runs under the benchmark timer.
func (r *routeBench) sample(b *testing.B) time.Duration {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	path := fmt.Sprintf("/m-%05d", r.measured)
	route := pathRoute(benchNS, fmt.Sprintf("m-%05d", r.measured), path, "echo")
	r.measured++

	b.StartTimer()
	if err := r.w.c.Create(ctx, route); err != nil {
		b.Fatalf("create %s: %v", route.Name, err)
	}
	created := time.Now()
	d, err := r.firstOK(path, created, 30*time.Second)
	b.StopTimer()
	if err != nil {
		b.Fatalf("route %s never answered 200: %v", route.Name, err)
	}

	if err := r.w.c.Delete(ctx, route); err != nil {
		b.Fatalf("delete %s: %v", route.Name, err)
	}
	if err := r.until(path, 30*time.Second, func(code int) bool { return code == http.StatusNotFound }); err != nil {
		b.Fatalf("deleted route %s still served: %v", route.Name, err)
	}
	r.idle(b, sampleSettle)
	return d
}

// ensureBackground creates background routes up to n, waits until each
// one answers 200 and has its status written, then until the provider is
// idle.
func (r *routeBench) ensureBackground(b *testing.B, n int) {
	if r.background >= n {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	start := time.Now()

	// A few concurrent writers, as a kubectl apply of many objects or a
	// GitOps sync would make.
	names := make(chan int)
	errs := make(chan error, 1)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for i := range names {
				if err := r.w.c.Create(ctx, pathRoute(benchNS, bgName(i), bgPath(i), "echo")); err != nil {
					select {
					case errs <- fmt.Errorf("create %s: %w", bgName(i), err):
					default:
					}
					cancel()
				}
			}
		})
	}
	for i := r.background; i < n && ctx.Err() == nil; i++ {
		names <- i
	}
	close(names)
	wg.Wait()
	select {
	case err := <-errs:
		b.Fatal(err)
	default:
	}
	created := time.Since(start)

	for i := range n {
		if err := r.until(bgPath(i), 2*time.Minute, func(code int) bool { return code == http.StatusOK }); err != nil {
			b.Fatalf("background route %s: %v", bgName(i), err)
		}
	}
	served := time.Since(start)

	// eventually's 30s is too short for thousands of status writes.
	testwait.Until(b, 20*time.Minute, fmt.Sprintf("statuses of %d routes written", n), func() error {
		var list gatewayv1.HTTPRouteList
		if err := r.w.c.List(ctx, &list, client.InNamespace(benchNS)); err != nil {
			return err
		}
		done := 0
		for _, rt := range list.Items {
			for _, p := range rt.Status.Parents {
				if p.ControllerName == controllerName {
					done++
					break
				}
			}
		}
		if done < n {
			return fmt.Errorf("%d of %d", done, n)
		}
		return nil
	})
	r.idle(b, bulkSettle)
	r.background = n
	b.Logf("background: %d routes created in %v, all serving after %v, statuses written and provider idle after %v",
		n, created.Round(time.Millisecond), served.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
}

// idle waits until the provider has applied no new snapshot for quiet.
// Every applied translation has a new Last(), so an unchanged pointer means
// no run finished in that time.
func (r *routeBench) idle(b *testing.B, quiet time.Duration) {
	deadline := time.Now().Add(2 * time.Minute)
	last, since := r.p.Last(), time.Now()
	for time.Since(since) < quiet {
		if time.Now().After(deadline) {
			b.Fatalf("the provider never went idle for %v", quiet)
		}
		time.Sleep(10 * time.Millisecond)
		if cur := r.p.Last(); cur != last {
			last, since = cur, time.Now()
		}
	}
}

// firstOK probes path every pollEvery until it answers 200 and returns the
// time from since to that response.
func (r *routeBench) firstOK(path string, since time.Time, timeout time.Duration) (time.Duration, error) {
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	for {
		code, err := get(r.c, path)
		if code == http.StatusOK {
			return time.Since(since), nil
		}
		if time.Since(since) > timeout {
			return 0, fmt.Errorf("after %v: status %d (%v)", timeout, code, err)
		}
		<-tick.C
	}
}

// until probes path every pollEvery until ok(status).
func (r *routeBench) until(path string, timeout time.Duration, ok func(int) bool) error {
	deadline := time.Now().Add(timeout)
	for {
		code, err := get(r.c, path)
		if ok(code) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("after %v: status %d (%v)", timeout, code, err)
		}
		time.Sleep(pollEvery)
	}
}

// get GETs https://host/path and returns the status (0 on an error). It
// reads the body to the end, so the connection is kept alive.
func get(c *http.Client, path string) (int, error) {
	resp, err := c.Get("https://" + host + path)
	if err != nil {
		return 0, err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode, err
}

func bgName(i int) string { return fmt.Sprintf("bg-%04d", i) }
func bgPath(i int) string { return fmt.Sprintf("/bg-%04d", i) }

// percentile is the nearest-rank percentile of sorted samples.
func percentile(sorted []time.Duration, p float64) time.Duration {
	i := int(float64(len(sorted))*p+0.999999) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// rssMiB is this process's resident set size after a garbage collection,
// from VmRSS in /proc/self/status.
func rssMiB(b *testing.B) float64 {
	runtime.GC()
	f, err := os.Open("/proc/self/status")
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			if err != nil {
				b.Fatalf("VmRSS %q: %v", rest, err)
			}
			return float64(kb) / 1024
		}
	}
	b.Fatal("no VmRSS in /proc/self/status")
	return 0
}
