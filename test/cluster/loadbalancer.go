package cluster

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
)

// loadBalancer is the cluster's load-balancer loop, in the role MetalLB
// plays on a kind cluster: every Service of type LoadBalancer (without a
// spec.loadBalancerClass) gets one address from the pool in
// status.loadBalancer.ingress, and the address is added to the bridge so
// the cluster namespace owns it, as MetalLB's layer-2 mode answers ARP for
// it on a node. kube-proxy does the rest: it translates the address, once
// the status has it, to the Service's ready endpoints.
type loadBalancer struct {
	client kubernetes.Interface
	pool   netip.Prefix
	bridge string
	log    *slog.Logger
	lister corelisters.ServiceLister
	queue  workqueue.TypedRateLimitingInterface[string]
	// owner maps each address in use to its Service's key; only the single
	// worker touches it.
	owner map[netip.Addr]string
	// last is the address handed out last: the next search starts after
	// it, so a just-released address is not given to another Service while
	// kube-proxy may still translate it to the old Service's endpoints.
	last netip.Addr
}

func newLoadBalancer(cs kubernetes.Interface, pool, bridge string, log *slog.Logger) (*loadBalancer, error) {
	p, err := netip.ParsePrefix(pool)
	if err != nil || !p.Addr().Is4() {
		return nil, fmt.Errorf("load-balancer pool %q: want an IPv4 CIDR (%v)", pool, err)
	}
	return &loadBalancer{client: cs, pool: p.Masked(), bridge: bridge, log: log, owner: map[netip.Addr]string{}}, nil
}

// run serves Services until ctx ends.
func (l *loadBalancer) run(ctx context.Context) {
	l.queue = workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[string]())
	f := informers.NewSharedInformerFactory(l.client, 0)
	si := f.Core().V1().Services()
	add := func(obj any) {
		if key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj); err == nil {
			l.queue.Add(key)
		}
	}
	if _, err := si.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: add, UpdateFunc: func(_, o any) { add(o) }, DeleteFunc: add,
	}); err != nil {
		l.log.Error("watching Services", "err", err)
		return
	}
	l.lister = si.Lister()
	f.Start(ctx.Done())
	f.WaitForCacheSync(ctx.Done())
	go func() {
		<-ctx.Done()
		l.queue.ShutDown()
	}()
	for l.next(ctx) {
	}
}

func (l *loadBalancer) next(ctx context.Context) bool {
	key, quit := l.queue.Get()
	if quit {
		return false
	}
	defer l.queue.Done(key)
	if err := l.sync(ctx, key); err != nil {
		if ctx.Err() == nil {
			l.log.Warn("sync", "service", key, "err", err)
		}
		l.queue.AddRateLimited(key)
		return true
	}
	l.queue.Forget(key)
	return true
}

// sync gives a LoadBalancer Service its address, or releases the address
// of a Service that is gone or no longer one.
func (l *loadBalancer) sync(ctx context.Context, key string) error {
	ns, name, _ := cache.SplitMetaNamespaceKey(key)
	svc, err := l.lister.Services(ns).Get(name)
	if err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	if svc == nil || svc.Spec.Type != corev1.ServiceTypeLoadBalancer || svc.Spec.LoadBalancerClass != nil {
		l.release(key)
		return nil
	}
	addr, err := l.address(svc, key)
	if err != nil {
		return err
	}
	if err := ip("addr", "replace", addr.String()+"/32", "dev", l.bridge); err != nil {
		return err
	}
	vip := corev1.LoadBalancerIPModeVIP
	want := []corev1.LoadBalancerIngress{{IP: addr.String(), IPMode: &vip}}
	if len(svc.Status.LoadBalancer.Ingress) == 1 && svc.Status.LoadBalancer.Ingress[0].IP == addr.String() {
		return nil
	}
	upd := svc.DeepCopy()
	upd.Status.LoadBalancer.Ingress = want
	if _, err := l.client.CoreV1().Services(ns).UpdateStatus(ctx, upd, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("writing the load-balancer address: %w", err)
	}
	l.log.Info("assigned", "service", key, "address", addr)
	return nil
}

// address is the Service's address: the one it already has from the pool
// (kept across restarts of this loop), else the next free one after the
// last handed out, wrapping around, as cloud load balancers seldom give a
// released address again at once.
func (l *loadBalancer) address(svc *corev1.Service, key string) (netip.Addr, error) {
	for a, k := range l.owner {
		if k == key {
			return a, nil
		}
	}
	for _, in := range svc.Status.LoadBalancer.Ingress {
		if a, err := netip.ParseAddr(in.IP); err == nil && l.pool.Contains(a) && l.owner[a] == "" {
			l.owner[a] = key
			return a, nil
		}
	}
	// The network and broadcast addresses of the pool are not handed out.
	first := l.pool.Addr().Next()
	var usable []netip.Addr
	for a := first; l.pool.Contains(a.Next()); a = a.Next() {
		usable = append(usable, a)
	}
	start := 0
	for i, a := range usable {
		if a == l.last {
			start = i + 1
		}
	}
	for i := range usable {
		a := usable[(start+i)%len(usable)]
		if l.owner[a] == "" {
			l.owner[a], l.last = key, a
			return a, nil
		}
	}
	return netip.Addr{}, fmt.Errorf("no free address in the load-balancer pool %s", l.pool)
}

// release takes the Service's address off the bridge and frees it. The
// Service's status is not touched: the Service is gone or no longer of
// type LoadBalancer.
func (l *loadBalancer) release(key string) {
	for a, k := range l.owner {
		if k != key {
			continue
		}
		if err := ip("addr", "del", a.String()+"/32", "dev", l.bridge); err != nil &&
			!strings.Contains(err.Error(), "Cannot assign requested address") {
			l.log.Warn("removing a load-balancer address", "address", a, "err", err)
		}
		delete(l.owner, a)
		l.log.Info("released", "service", key, "address", a)
	}
}
