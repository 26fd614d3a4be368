package cluster_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"

	"github.com/certgate/certgate/internal/testwait"
	"github.com/certgate/certgate/test/cluster"
)

// TestPodDeletionIsGraceful: a deleted Pod goes the way a kubelet takes
// it. Its preStop hook runs first (here it fails the readiness probe, as
// a server that starts its shutdown does, then sleeps), and while it runs
// the Pod still serves on its address, and its status is still written:
// the EndpointSlice shows it terminating and no longer serving, so that
// kube-proxy sends it nothing, not even for want of other endpoints. Its
// last status, once its container has exited, says terminated and not
// ready. Its address is not given to the next Pod.
func TestPodDeletionIsGraceful(t *testing.T) {
	c := cluster.Current(t)
	cs := clientset(t, c)
	ctx := context.Background()
	ns := "graceful"
	namespace(t, cs, ns)
	flag := filepath.Join(t.TempDir(), "ready")
	leaving := leavingPod(flag)
	pods := runPods(t, cs, ns, nil, leaving)
	service(t, cs, ns, "leaving", corev1.ServiceTypeClusterIP)
	if err := os.WriteFile(flag, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	testwait.Until(t, time.Minute, "the Pod ready in the EndpointSlice", func() error { return podEndpoint(cs, ns, "leaving", true) })
	ip := pods["leaving"].Status.PodIP

	w, err := cs.CoreV1().Pods(ns).Watch(ctx, metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("metadata.name", "leaving").String()})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	deleted := time.Now()
	if err := cs.CoreV1().Pods(ns).Delete(ctx, "leaving", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	testwait.Until(t, 20*time.Second, "the endpoint terminating and not serving", func() error { return terminatingEndpoint(cs, ns) })
	if pod, err := echoedPod(clientIn("", nil), "http://"+net.JoinHostPort(ip, "3000")+"/"); err != nil || pod != "leaving" {
		t.Fatalf("%s after the deletion, during the preStop hook, the Pod does not serve on its address: %q, %v",
			time.Since(deleted).Round(time.Millisecond), pod, err)
	}
	last := lastStatus(t, w)
	if cs := last.ContainerStatuses; len(cs) != 1 || cs[0].State.Terminated == nil || cs[0].Ready {
		t.Errorf("the Pod's last status %+v, want its container terminated and not ready", cs)
	}
	if took := time.Since(deleted); took < 8*time.Second {
		t.Errorf("the Pod was gone %s after its deletion, before its 8 s preStop hook ended", took)
	}
	next := runPods(t, cs, ns, nil, echoPod("next", nil, nil))
	if got := next["next"].Status.PodIP; got == ip {
		t.Errorf("the next Pod got the deleted Pod's address %s", ip)
	}
}

// leavingPod is an echo-basic Pod, ready while flag exists, whose preStop
// hook removes flag and sleeps 8 s, in a 20 s grace period.
func leavingPod(flag string) *corev1.Pod {
	p := echoPod("leaving", map[string]string{"app": "echo"}, &corev1.Probe{PeriodSeconds: 1, FailureThreshold: 1,
		ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"test", "-e", flag}}}})
	p.Spec.TerminationGracePeriodSeconds = new(int64(20))
	p.Spec.Containers[0].Lifecycle = &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{
		Exec: &corev1.ExecAction{Command: []string{"sh", "-c", "rm -f " + flag + " && sleep 8"}},
	}}
	p.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 3000, Protocol: corev1.ProtocolTCP}}
	return p
}

// terminatingEndpoint checks that the EndpointSlice of Service "leaving"
// lists the leaving Pod as terminating, neither ready nor serving.
func terminatingEndpoint(cs kubernetes.Interface, ns string) error {
	l, err := cs.DiscoveryV1().EndpointSlices(ns).List(context.Background(),
		metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=leaving"})
	if err != nil {
		return err
	}
	for _, s := range l.Items {
		for _, e := range s.Endpoints {
			if e.TargetRef == nil || e.TargetRef.Name != "leaving" {
				continue
			}
			if c := e.Conditions; isTrue(c.Terminating) && !isTrue(c.Ready) && !isTrue(c.Serving) {
				return nil
			}
			return fmt.Errorf("endpoint conditions %+v", e.Conditions)
		}
	}
	return fmt.Errorf("no endpoint of the leaving Pod in %+v", l.Items)
}

func isTrue(b *bool) bool { return b != nil && *b }

// lastStatus follows the Pod's watch until its deletion and returns the
// status it had last.
func lastStatus(t *testing.T, w watch.Interface) corev1.PodStatus {
	t.Helper()
	timeout := time.After(time.Minute)
	var last corev1.PodStatus
	for {
		select {
		case ev, ok := <-w.ResultChan():
			if !ok {
				t.Fatal("the watch of the Pod ended before its deletion")
			}
			if p, isPod := ev.Object.(*corev1.Pod); isPod {
				last = p.Status
			}
			if ev.Type == watch.Deleted {
				return last
			}
		case <-timeout:
			t.Fatal("the Pod is still there a minute after its deletion")
		}
	}
}
