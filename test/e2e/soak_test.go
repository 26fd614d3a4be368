//go:build soak

package e2e_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"

	"github.com/certgate/certgate/api/v1alpha1"
	"github.com/certgate/certgate/internal/testpki"
)

// The soak (make soak; not part of make test): a controller and its data
// plane on envtest serve continuous traffic for CERTGATE_SOAK_DURATION
// (default 10m) while routes and ClientCertPolicies are created, edited
// and deleted without pause.
//
// What a request should get is known from the configuration at the time
// it is sent, except during the moment a change propagates. So:
//   - two stable routes (one open, one pinned) never change, and every
//     request to them is checked, all the time;
//   - each churned route goes through a cycle of changes; after each change
//     the test waits for the new outcome (a change that does not take
//     effect within 30s counts as unexpected), then checks a burst of
//     requests against it. Requests during the propagation itself are not
//     judged: their expected outcome is, honestly, either.
// At the end, with traffic stopped and idle connections closed, the
// process's goroutines and RSS must be back near what they were after the
// first cycle.

const soakSlots = 3

type soak struct {
	w                *world
	ns, addr         string
	pinned, stranger *http.Client
	sent, unexpected atomic.Int64
	cycles           atomic.Int64
	mu               sync.Mutex
	firstUnexpected  []string
	clients          []*http.Client
}

func TestSoak(t *testing.T) {
	duration := 10 * time.Minute
	if v := os.Getenv("CERTGATE_SOAK_DURATION"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("CERTGATE_SOAK_DURATION=%q: %v", v, err)
		}
		duration = d
	}
	w := newWorld(t)
	w.gatewayClass(t, className, controllerName)
	p, m := w.provider(t, controllerName, nil)
	p.Lead(t.Context())
	w.metrics = m
	s := &soak{w: w, ns: "soak", addr: "127.0.0.1:18464"}
	s.setUp(t)

	// One warm-up cycle per slot, then the baseline.
	s.runSlots(t, time.Now())
	goroutines, rss := s.baseline(t)
	t.Logf("baseline after warm-up: %d goroutines, RSS %d MiB", goroutines, rss>>20)

	end := time.Now().Add(duration)
	stable := []*load{
		startLoad("/stable (open)", s.client(nil), "/stable", http.StatusOK),
		startLoad("/pinned (pinned client)", s.client(w.gatewayCert), "/pinned", http.StatusOK),
		startLoad("/pinned (other client)", s.client(w.strangerCert), "/pinned", http.StatusForbidden),
	}
	start := time.Now()
	s.runSlots(t, end)
	var stableSent, stableBad int64
	for _, l := range stable {
		l.finish(t)
		stableSent += l.sent.Load()
		stableBad += l.bad.Load()
	}
	t.Logf("soak: %s, %d churn cycles (each: route created, policy created, pin added, pin removed, policy deleted, route deleted)",
		time.Since(start).Round(time.Second), s.cycles.Load())
	t.Logf("soak: stable routes %d requests, %d unexpected; churned routes %d checked requests, %d unexpected",
		stableSent, stableBad, s.sent.Load(), s.unexpected.Load())
	if stableBad+s.unexpected.Load() > 0 {
		t.Errorf("unexpected responses: %d on stable routes, %d on churned routes; first: %v", stableBad, s.unexpected.Load(), s.firstUnexpected)
	}
	s.checkBaseline(t, goroutines, rss)
}

// client is a client of the soak's listener presenting cert (nil: none),
// whose idle connections baseline closes.
func (s *soak) client(cert *testpki.Cert) *http.Client {
	c := s.w.client(cert, s.addr)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clients = append(s.clients, c)
	return c
}

// setUp creates the Gateway, backends, the two stable routes and the
// stable policy, and waits until they are served.
func (s *soak) setUp(t *testing.T) {
	w := s.w
	w.remove(t, w.app(t, s.ns, className, 18464, s.ns)) // the Gateway; its catch-all route goes
	w.create(t, pathRoute(s.ns, "stable", "/stable", "echo"), pathRoute(s.ns, "pinned", "/pinned", "echo"),
		policy(s.ns, "pinned", "pinned", v1alpha1.ClientCertPolicySpec{Pins: []v1alpha1.Pin{{SHA256: sha256Pin(w.gatewayCert)}}}))
	s.pinned, s.stranger = s.client(w.gatewayCert), s.client(w.strangerCert)
	waitCode(t, "the stable route", s.pinned, "/stable", http.StatusOK, 30*time.Second)
	waitCode(t, "the stable pinned route, other client", s.stranger, "/pinned", http.StatusForbidden, 30*time.Second)
}

// runSlots runs churn cycles on every slot until end (at least one each).
func (s *soak) runSlots(t *testing.T, end time.Time) {
	var wg sync.WaitGroup
	for i := range soakSlots {
		wg.Go(func() {
			for first := true; first || time.Now().Before(end); first = false {
				s.cycle(t, i)
				s.cycles.Add(1)
			}
		})
	}
	wg.Wait()
}

// cycle takes slot i's route and policy through every kind of change, and
// after each checks both clients' answers.
func (s *soak) cycle(t *testing.T, i int) {
	name, path := fmt.Sprintf("churn-%d", i), fmt.Sprintf("/churn-%d", i)
	gw, other := sha256Pin(s.w.gatewayCert), sha256Pin(s.w.strangerCert)
	steps := []struct {
		what            string
		change          func(context.Context) error
		pinned, strange int
	}{
		{"route created", func(c context.Context) error { return s.w.c.Create(c, pathRoute(s.ns, name, path, "echo")) }, 200, 200},
		{"policy created", func(c context.Context) error {
			return s.w.c.Create(c, policy(s.ns, name, name, v1alpha1.ClientCertPolicySpec{Pins: []v1alpha1.Pin{{SHA256: gw}}}))
		}, 200, 403},
		{"pin added", func(c context.Context) error { return s.setPins(c, name, gw, other) }, 200, 200},
		{"pin removed", func(c context.Context) error { return s.setPins(c, name, other) }, 403, 200},
		{"policy deleted", func(c context.Context) error {
			return s.w.c.Delete(c, policy(s.ns, name, name, v1alpha1.ClientCertPolicySpec{}))
		}, 200, 200},
		{"route deleted", func(c context.Context) error { return s.w.c.Delete(c, pathRoute(s.ns, name, path, "echo")) }, 404, 404},
	}
	for _, st := range steps {
		// A context per change, not ctx(t): the soak makes thousands of
		// changes, and each ctx(t) holds a timer and a cleanup until the
		// test ends, which the RSS check would count.
		c, cancel := context.WithTimeout(context.Background(), time.Minute)
		err := st.change(c)
		cancel()
		if err != nil {
			s.fail(fmt.Sprintf("%s %s: %v", name, st.what, err))
			continue
		}
		s.converge(name+" "+st.what, path, st.pinned, st.strange)
	}
}

// setPins replaces the pins of policy name.
func (s *soak) setPins(c context.Context, name string, pins ...string) error {
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		p := &v1alpha1.ClientCertPolicy{}
		if err := s.w.c.Get(c, types.NamespacedName{Namespace: s.ns, Name: name}, p); err != nil {
			return err
		}
		p.Spec.Pins = nil
		for _, pin := range pins {
			p.Spec.Pins = append(p.Spec.Pins, v1alpha1.Pin{SHA256: pin})
		}
		return s.w.c.Update(c, p)
	})
}

// converge waits up to 30s for both clients to get their answers at path,
// then checks 20 more requests of each.
func (s *soak) converge(what, path string, pinned, stranger int) {
	deadline := time.Now().Add(30 * time.Second)
	for {
		a, _ := get(s.pinned, path)
		b, _ := get(s.stranger, path)
		if a == pinned && b == stranger {
			break
		}
		if time.Now().After(deadline) {
			s.fail(fmt.Sprintf("%s: not in effect after 30s: %s answers %d and %d, want %d and %d", what, path, a, b, pinned, stranger))
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	for range 20 {
		for _, c := range []struct {
			client *http.Client
			want   int
		}{{s.pinned, pinned}, {s.stranger, stranger}} {
			s.sent.Add(1)
			if got, err := get(c.client, path); got != c.want {
				s.fail(fmt.Sprintf("%s: %s answered %d (%v), want %d", what, path, got, err, c.want))
			}
		}
	}
}

func (s *soak) fail(what string) {
	s.unexpected.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.firstUnexpected) < 5 {
		s.firstUnexpected = append(s.firstUnexpected, what)
	}
}

// baseline closes idle client connections, collects garbage and returns
// the goroutine count and RSS once they have settled.
func (s *soak) baseline(t *testing.T) (goroutines int, rss int64) {
	s.mu.Lock()
	for _, c := range s.clients {
		c.CloseIdleConnections()
	}
	s.mu.Unlock()
	time.Sleep(3 * time.Second) // idle server-side connections and timers end
	// The providers' debug log is the test's, and grows with every change.
	s.w.logs.Reset()
	runtime.GC()
	debug.FreeOSMemory()
	return runtime.NumGoroutine(), residentBytes(t)
}

// checkBaseline: goroutines within 10 and RSS within 25% (and at least
// 16 MiB, the heap's natural swing) of the baseline.
func (s *soak) checkBaseline(t *testing.T, goroutines int, rss int64) {
	// The stable loads' clients are gone with their loads; their idle
	// connections close with the server's idle timeout or here.
	var g int
	var r int64
	for range 10 {
		if g, r = s.baseline(t); g <= goroutines+10 {
			break
		}
	}
	t.Logf("after the soak: %d goroutines (baseline %d), RSS %d MiB (baseline %d MiB)", g, goroutines, r>>20, rss>>20)
	if g > goroutines+10 {
		t.Errorf("goroutines %d after the soak, baseline %d: a leak", g, goroutines)
	}
	if limit := max(rss+rss/4, rss+16<<20); r > limit {
		t.Errorf("RSS %d MiB after the soak, baseline %d MiB", r>>20, rss>>20)
	}
}

// residentBytes is this process's VmRSS.
func residentBytes(t *testing.T) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[0] == "VmRSS:" {
			kb, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmRSS in /proc/self/status")
	return 0
}
