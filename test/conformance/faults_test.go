//go:build conformance && soak

package conformance_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/testwait"
	"github.com/certgate/certgate/test/cluster"
)

// load sends the pinned client's requests to the Gateway without pause
// from a few workers, each on a new connection, and counts what fails.
type load struct {
	sent, failed atomic.Int64
	stop         chan struct{}
	wg           sync.WaitGroup
	mu           sync.Mutex
	samples      []string // the first failures
}

func startLoad(m *mission, workers int) *load {
	l := &load{stop: make(chan struct{})}
	hc := gatewayClient(m.pki, m.pki.pinned)
	for range workers {
		l.wg.Go(func() {
			for {
				select {
				case <-l.stop:
					return
				default:
				}
				code, _, err := get(hc, m.base+"/admin/load")
				l.sent.Add(1)
				if err == nil && code == http.StatusOK {
					continue
				}
				l.failed.Add(1)
				l.mu.Lock()
				if len(l.samples) < 5 {
					l.samples = append(l.samples, fmt.Sprintf("%s: status %d, %v", time.Now().Format("15:04:05.000"), code, err))
				}
				l.mu.Unlock()
			}
		})
	}
	return l
}

// finish stops the load and reports its figures; any failed request fails
// the test.
func (l *load) finish(t *testing.T, fault string, recovery time.Duration) {
	t.Helper()
	close(l.stop)
	l.wg.Wait()
	sent, failed := l.sent.Load(), l.failed.Load()
	t.Logf("FAULT %s: %d requests sent, %d failed, recovered in %v", fault, sent, failed, recovery.Round(100*time.Millisecond))
	if failed > 0 {
		t.Errorf("%s: %d of %d requests failed, want 0; first: %s", fault, failed, sent, strings.Join(l.samples, "; "))
	}
}

// certgatePods lists the release's Pods: name → "true" when ready and
// not terminating.
func certgatePods(c *cluster.Config) map[string]string {
	out := jsonpath(c, release.Namespace, "pods -l app.kubernetes.io/name=certgate",
		`{range .items[*]}{.metadata.name}={.status.containerStatuses[0].ready}/{.metadata.deletionTimestamp}{" "}{end}`)
	pods := map[string]string{}
	for _, f := range strings.Fields(out) {
		name, state, _ := strings.Cut(f, "=")
		pods[name] = fmt.Sprint(state == "true/")
	}
	return pods
}

// leader is the Pod holding the chart's Lease (identity "<pod>_<random>").
func leader(c *cluster.Config) string {
	holder := jsonpath(c, release.Namespace, "lease/certgate-leader", "{.spec.holderIdentity}")
	name, _, _ := strings.Cut(holder, "_")
	return name
}

// TestFaults: the mission's traffic flows while certgate's Pods are
// disrupted the ways a cluster disrupts them; each fault counts the
// requests sent and failed (target 0) and the time until certgate is back
// to two ready replicas (and, after the leader's loss, a new leader).
func TestFaults(t *testing.T) {
	c := cluster.Current(t)
	m := setupMission(t, c)
	ctx := context.Background()
	recovered := func(gone string) error {
		pods := certgatePods(c)
		ready := 0
		for name, state := range pods {
			if state == "true" && name != gone {
				ready++
			}
		}
		if l := leader(c); ready != 2 || l == "" || l == gone || pods[l] != "true" {
			return fmt.Errorf("pods %v, leader %q", pods, l)
		}
		return nil
	}

	t.Run("LeaderPodDeleted", func(t *testing.T) {
		gone := leader(c)
		if gone == "" {
			t.Fatal("no leader holds lease/certgate-leader")
		}
		l := startLoad(m, 4)
		time.Sleep(2 * time.Second)
		t0 := time.Now()
		kubectl(t, c, "", "-n", release.Namespace, "delete", "pod", gone, "--wait=false")
		testwait.Until(t, 3*time.Minute, "a new leader and two ready Pods", func() error { return recovered(gone) })
		recovery := time.Since(t0)
		time.Sleep(2 * time.Second)
		l.finish(t, "leader Pod "+gone+" deleted", recovery)
	})

	t.Run("HelmUpgradeRollingUpdate", func(t *testing.T) {
		before := certgatePods(c)
		l := startLoad(m, 4)
		time.Sleep(2 * time.Second)
		t0 := time.Now()
		// A changed value changes the Pod template: every Pod is replaced.
		// The annotation differs on every run, so that -count=N rolls the
		// Pods N times.
		run := fmt.Sprintf("podAnnotations.faults-run=%d", time.Now().UnixNano())
		if err := cluster.UpgradeChart(ctx, c, release, "--set", "logLevel=debug", "--set-string", run); err != nil {
			t.Fatal(err)
		}
		testwait.Until(t, 3*time.Minute, "two new ready Pods", func() error {
			for name := range before {
				if _, ok := certgatePods(c)[name]; ok {
					return fmt.Errorf("pod %s of the old revision still there", name)
				}
			}
			return recovered("")
		})
		recovery := time.Since(t0)
		time.Sleep(2 * time.Second)
		l.finish(t, "helm upgrade --set logLevel=debug (rolling update)", recovery)
	})
}
