package e2e_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/certgate/certgate/controllers/kubernetes/leader"
)

// replica is one certgate process of the leader test: a provider with its
// own data plane on its own address, and an elector that can be stopped
// on its own.
type replica struct {
	name, address string
	elector       *leader.Elector
	stop          context.CancelFunc
}

func (w *world) replica(t *testing.T, name, address, controller, ns, lease string) *replica {
	t.Helper()
	p, _ := w.provider(t, controller, func(*gatewayv1.Gateway) (string, bool) { return address, true })
	el, err := leader.NewElector(w.env.Config, leader.ElectorOptions{
		Namespace: ns, Name: lease, Identity: name, OnLeading: p.Lead,
		// Short timings keep the test fast; the logic is the same.
		LeaseDuration: 3 * time.Second, RenewDeadline: 2 * time.Second, RetryPeriod: 200 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { el.Run(ctx); close(done) }()
	t.Cleanup(func() { stop(); <-done })
	return &replica{name: name, address: address, elector: el, stop: stop}
}

// hammer sends requests to every client until stopped and counts the
// ones that did not get 200.
type hammer struct {
	sent, failed atomic.Int64
	mu           sync.Mutex
	firstFailure string
	stop         chan struct{}
	wg           sync.WaitGroup
}

func startHammer(clients ...*http.Client) *hammer {
	h := &hammer{stop: make(chan struct{})}
	for _, c := range clients {
		h.wg.Go(func() { h.loop(c) })
	}
	return h
}

func (h *hammer) loop(c *http.Client) {
	for {
		select {
		case <-h.stop:
			return
		default:
		}
		code, err := status(c)
		h.sent.Add(1)
		if code != http.StatusOK {
			h.failed.Add(1)
			h.mu.Lock()
			if h.firstFailure == "" {
				h.firstFailure = fmt.Sprintf("got %d (%v)", code, err)
			}
			h.mu.Unlock()
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (h *hammer) finish() { close(h.stop); h.wg.Wait() }

// The lease is deleted, then the leader stops renewing it, while clients
// send requests to both replicas' data planes: no request fails, and the
// new leader writes status.
func (w *world) testLeaseLossKeepsServingAndStatusMovesToNewLeader(t *testing.T) {
	const (
		ns, class, lease = "leader", "certgate-leader", "certgate-leader"
		controller       = "certgate.dev/leader-test"
		port             = 18446
	)
	w.namespace(t, ns)
	w.gatewayClass(t, class, controller)
	a := w.replica(t, "replica-a", "127.0.0.2", controller, ns, lease)
	eventually(t, "replica-a leads", func() error { return leading(a) })
	b := w.replica(t, "replica-b", "127.0.0.3", controller, ns, lease)
	w.app(t, ns, class, port, ns)
	eventually(t, "the leader's address in Gateway status", func() error { return w.gatewayReady(t, ns, a.address) })

	ca, cb := w.client(nil, hostPort(a.address, port)), w.client(nil, hostPort(b.address, port))
	wantStatus(t, "replica-a's data plane", ca, http.StatusOK)
	wantStatus(t, "replica-b's data plane", cb, http.StatusOK)
	h := startHammer(ca, cb)

	w.remove(t, &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: lease}})
	var leader *replica
	eventually(t, "one replica holds the recreated lease", func() error {
		var err error
		leader, err = w.soleLeader(t, ns, lease, a, b)
		return err
	})

	// The leader stops renewing; the other must take over status writing.
	leader.stop()
	next := map[*replica]*replica{a: b, b: a}[leader]
	eventually(t, next.name+" leads after "+leader.name+" stops", func() error { return leading(next) })
	w.create(t, &gatewayv1.HTTPRoute{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "after-handover"},
		Spec: gatewayv1.HTTPRouteSpec{
			CommonRouteSpec: gatewayv1.CommonRouteSpec{ParentRefs: []gatewayv1.ParentReference{{Name: "gw"}}},
			Hostnames:       []gatewayv1.Hostname{"later.example.test"},
			Rules: []gatewayv1.HTTPRouteRule{{BackendRefs: []gatewayv1.HTTPBackendRef{{BackendRef: gatewayv1.BackendRef{
				BackendObjectReference: gatewayv1.BackendObjectReference{Name: "echo", Port: ptr.To(gatewayv1.PortNumber(80))},
			}}}}},
		},
	})
	eventually(t, "the new leader writes a new route's status", func() error {
		return w.routeCondition(t, ns, "after-handover", controller, "ResolvedRefs", metav1.ConditionTrue, "ResolvedRefs")
	})
	eventually(t, "the new leader writes its address", func() error { return w.gatewayReady(t, ns, next.address) })
	time.Sleep(500 * time.Millisecond) // traffic after the handover, too

	h.finish()
	t.Logf("%d requests to both data planes during the lease loss and handover, %d failed", h.sent.Load(), h.failed.Load())
	if h.failed.Load() != 0 || h.sent.Load() < 20 {
		t.Errorf("%d of %d requests failed (first: %s); want none of at least 20", h.failed.Load(), h.sent.Load(), h.firstFailure)
	}
}

func leading(r *replica) error {
	if !r.elector.Leading() {
		return fmt.Errorf("%s does not lead", r.name)
	}
	return nil
}

// soleLeader returns the one replica that leads and holds the lease.
func (w *world) soleLeader(t *testing.T, ns, lease string, rs ...*replica) (*replica, error) {
	l := &coordinationv1.Lease{}
	if err := w.c.Get(ctx(t), types.NamespacedName{Namespace: ns, Name: lease}, l); err != nil {
		return nil, err
	}
	var leaders []*replica
	for _, r := range rs {
		if r.elector.Leading() {
			leaders = append(leaders, r)
		}
	}
	if len(leaders) != 1 || l.Spec.HolderIdentity == nil || *l.Spec.HolderIdentity != leaders[0].name {
		return nil, fmt.Errorf("%d replicas lead; the lease holder is %v", len(leaders), ptr.Deref(l.Spec.HolderIdentity, ""))
	}
	return leaders[0], nil
}
