package node

import (
	"context"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// minimumGrace is what a container still gets between SIGTERM and SIGKILL
// when its preStop hook used up the grace period, as a kubelet gives.
const minimumGrace = 2 * time.Second

// terminate is a deleted Pod's way out, in a kubelet's order. Its
// containers get their preStop hooks, SIGTERM and the grace period
// (stopPod, on a goroutine of its own), and meanwhile the Pod's status is
// still written: a readiness probe that fails during the shutdown takes
// the Pod out of its Services' serving endpoints, so that kube-proxy
// does not fall back on it. Once every container has exited, the status
// saying so (not ready, terminated) is written, and only then is the
// network torn down: until then the Pod's address answers whatever
// kube-proxy still sends it. Last, the Pod object is deleted.
func (a *Agent) terminate(ctx context.Context, pod *corev1.Pod, st *podState) (time.Duration, error) {
	if st != nil {
		if st.terminated == nil {
			st.terminated = make(chan struct{})
			a.Log.Info("terminating", "pod", st.key, "grace", terminationGrace(pod))
			go a.stopPod(pod, st)
		}
		status := pod.Status.DeepCopy()
		if st.netns != "" && len(st.containers) == len(pod.Spec.Containers) {
			a.runningStatus(pod, st, status)
		}
		if err := a.putStatus(ctx, pod, status); err != nil {
			return 0, err
		}
		select {
		case <-st.terminated:
		default:
			return time.Second, nil
		}
		a.teardownSandbox(st)
	}
	uid := pod.UID
	err := a.Client.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{
		GracePeriodSeconds: new(int64), Preconditions: &metav1.Preconditions{UID: &uid},
	})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return 0, fmt.Errorf("deleting pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	a.Log.Info("deleted", "pod", pod.Namespace+"/"+pod.Name)
	return 0, nil
}

// stopPod stops every container of a deleted Pod at once: its preStop
// hook, then SIGTERM, then SIGKILL at the end of the grace period (which
// the hook's time counts against). It closes st.terminated when all have
// exited.
func (a *Agent) stopPod(pod *corev1.Pod, st *podState) {
	deadline := time.Now().Add(terminationGrace(pod))
	var wg sync.WaitGroup
	for i := range pod.Spec.Containers {
		spec := &pod.Spec.Containers[i]
		c := st.containers[spec.Name]
		if c == nil {
			continue
		}
		wg.Go(func() {
			c.hold()
			a.preStop(c, spec, st, deadline)
			c.stop(max(time.Until(deadline), minimumGrace))
		})
	}
	wg.Wait()
	close(st.terminated)
	a.queue.Add(st.key)
}

// preStop runs the container's preStop hook, if it has one and runs,
// until it ends or the deadline comes: exec and httpGet as the probes
// run them, sleep, and the deprecated tcpSocket (a connection).
func (a *Agent) preStop(c *container, spec *corev1.Container, st *podState, deadline time.Time) {
	if spec.Lifecycle == nil || spec.Lifecycle.PreStop == nil {
		return
	}
	l := c.running()
	if l == nil {
		return
	}
	h := spec.Lifecycle.PreStop
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	start := time.Now()
	var err error
	if h.Sleep != nil {
		sleep(ctx, time.Duration(h.Sleep.Seconds)*time.Second)
	} else {
		p := &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: h.Exec, HTTPGet: h.HTTPGet, TCPSocket: h.TCPSocket}}
		err = a.check(ctx, p, spec, st, l)
	}
	a.Log.Info("preStop hook", "pod", st.key, "container", c.name, "took", time.Since(start).Round(time.Millisecond), "err", err)
}

// terminationGrace is how long a deleted Pod's containers get between the
// start of their termination and SIGKILL, as a kubelet decides it: the
// deletion's grace period, else the Pod's terminationGracePeriodSeconds,
// else 30 s.
func terminationGrace(pod *corev1.Pod) time.Duration {
	switch {
	case pod.DeletionGracePeriodSeconds != nil:
		return time.Duration(*pod.DeletionGracePeriodSeconds) * time.Second
	case pod.Spec.TerminationGracePeriodSeconds != nil:
		return time.Duration(*pod.Spec.TerminationGracePeriodSeconds) * time.Second
	}
	return 30 * time.Second
}
