package cluster_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"

	"github.com/certgate/certgate/internal/testwait"
	"github.com/certgate/certgate/test/cluster"
)

// TestReadinessGatesEndpointSlice: a Pod whose readiness probe fails is in
// its Service's EndpointSlice as not ready, and becomes ready there when
// the probe passes, and not ready again when it fails (an exec probe on a
// file the test creates and removes).
func TestReadinessGatesEndpointSlice(t *testing.T) {
	c := cluster.Current(t)
	cs := clientset(t, c)
	ctx := context.Background()
	ns := "readiness"
	namespace(t, cs, ns)
	flag := filepath.Join(t.TempDir(), "ready")
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "gated", Labels: map[string]string{"app": "gated"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name: "echo", Image: echoImage,
			ReadinessProbe: &corev1.Probe{PeriodSeconds: 1, FailureThreshold: 1,
				ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"test", "-e", flag}}}},
		}}},
	}
	if _, err := cs.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().Services(ns).Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "gated"},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "gated"},
			Ports: []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(3000)}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	endpoint := func(want bool) func() error {
		return func() error { return podEndpoint(cs, ns, "gated", want) }
	}
	testwait.Until(t, 2*time.Minute, "the running Pod in the EndpointSlice, not ready", endpoint(false))
	p, err := cs.CoreV1().Pods(ns).Get(ctx, "gated", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if st := p.Status.ContainerStatuses; len(st) != 1 || st[0].State.Running == nil || st[0].Ready {
		t.Fatalf("container status %+v, want running and not ready", st)
	}
	if err := os.WriteFile(flag, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	testwait.Until(t, time.Minute, "the endpoint ready once the probe passes", endpoint(true))
	if err := os.Remove(flag); err != nil {
		t.Fatal(err)
	}
	testwait.Until(t, time.Minute, "the endpoint not ready again once the probe fails", endpoint(false))
}

// podEndpoint checks that the Service named like the Pod lists the Pod's
// endpoint with the ready condition want.
func podEndpoint(cs kubernetes.Interface, ns, name string, want bool) error {
	l, err := cs.DiscoveryV1().EndpointSlices(ns).List(context.Background(),
		metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=" + name})
	if err != nil {
		return err
	}
	for _, s := range l.Items {
		for _, e := range s.Endpoints {
			if e.TargetRef != nil && e.TargetRef.Name == name && e.Conditions.Ready != nil && *e.Conditions.Ready == want {
				return nil
			}
		}
	}
	return fmt.Errorf("no endpoint of Pod %s with ready=%v in %+v", name, want, l.Items)
}

// TestLivenessProbeRestartsContainer: a container whose liveness probe
// fails its threshold is killed and restarted (restartCount), and its last
// termination says why; a startup probe that never passes does the same,
// and holds liveness and readiness off meanwhile.
func TestLivenessProbeRestartsContainer(t *testing.T) {
	c := cluster.Current(t)
	cs := clientset(t, c)
	ctx := context.Background()
	ns := "liveness"
	namespace(t, cs, ns)
	grace := int64(1)
	closed := corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(3999)}}
	mk := func(name string, startup, liveness *corev1.Probe) *corev1.Pod {
		return &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: corev1.PodSpec{TerminationGracePeriodSeconds: &grace, Containers: []corev1.Container{{
				Name: "echo", Image: echoImage, StartupProbe: startup, LivenessProbe: liveness,
			}}},
		}
	}
	pods := map[string]string{
		"liveness": "liveness probe failed",
		"startup":  "startup probe failed",
	}
	for _, p := range []*corev1.Pod{
		mk("liveness", nil, &corev1.Probe{ProbeHandler: closed, PeriodSeconds: 1, FailureThreshold: 2}),
		mk("startup", &corev1.Probe{ProbeHandler: closed, PeriodSeconds: 1, FailureThreshold: 3}, nil),
	} {
		if _, err := cs.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for name, why := range pods {
		testwait.Until(t, 2*time.Minute, "Pod "+name+" restarted by its probe", func() error {
			p, err := cs.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			if len(p.Status.ContainerStatuses) != 1 {
				return fmt.Errorf("status %+v", p.Status)
			}
			st := p.Status.ContainerStatuses[0]
			last := st.LastTerminationState.Terminated
			if st.RestartCount < 1 || last == nil || !strings.Contains(last.Message, why) {
				return fmt.Errorf("restartCount %d, last termination %+v", st.RestartCount, last)
			}
			if name == "startup" && (st.Ready || (st.Started != nil && *st.Started)) {
				return fmt.Errorf("started %v ready %v before its startup probe passed", *st.Started, st.Ready)
			}
			return nil
		})
	}
}
