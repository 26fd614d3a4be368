//go:build soak

package e2e_test

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/certgate/certgate/controllers/kubernetes/provider"
)

// apiServerOutage is how long TestAPIServerStoppedForAMinute keeps the
// kube-apiserver down.
const apiServerOutage = 60 * time.Second

// TestAPIServerStoppedForAMinute: with traffic flowing, a route is added
// and served, the kube-apiserver process is stopped for a minute and then
// started again with the same flags and certificates. Traffic is served
// from the last snapshot throughout (no request fails); a route added after
// the API server returns is served and gets status. When the API server
// then goes again, the provider stops within shutdownBound: its informers
// do not sleep out the reconnection back-off the outage has grown.
func TestAPIServerStoppedForAMinute(t *testing.T) {
	w := newWorld(t)
	w.gatewayClass(t, className, controllerName)
	p, m, stop := w.runProvider(t, w.env.Config, provider.Options{ControllerName: controllerName})
	p.Lead(t.Context())
	w.metrics = m
	const ns, addr = "outage", "127.0.0.1:18457"
	w.app(t, ns, className, 18457, ns)
	// The routes added around the outage go to their own backends, whose
	// answers say which route served a request (the first route, to echo,
	// matches every path).
	w.backend(t, ns, "before")
	w.backend(t, ns, "after")
	c := w.client(nil, addr)
	waitBody(t, "the first route", c, "/", "ok from outage/echo", 30*time.Second)

	w.create(t, pathRoute(ns, "before", "/before", "before"))
	took := waitBody(t, "the route added before the outage", c, "/before", "ok from outage/before", 30*time.Second)
	t.Logf("route added before the outage served after %s", took.Round(time.Millisecond))
	root := startLoadBody("/ during the outage", w.client(nil, addr), "/", http.StatusOK, "ok from outage/echo")
	before := startLoadBody("/before during the outage", w.client(nil, addr), "/before", http.StatusOK, "ok from outage/before")

	restart := stopAPIServer(t, w)
	t.Logf("kube-apiserver stopped; waiting %s", apiServerOutage)
	time.Sleep(apiServerOutage)
	restarted := restart()
	waitAPIServer(t, w)
	t.Logf("kube-apiserver answering again %s after its restart", time.Since(restarted).Round(time.Millisecond))

	w.create(t, pathRoute(ns, "after", "/after", "after"))
	took = waitBody(t, "the route added after the outage", c, "/after", "ok from outage/after", 2*time.Minute)
	t.Logf("route added after the outage served %s after its creation, %s after the restart", took.Round(time.Millisecond), time.Since(restarted).Round(time.Millisecond))
	root.finish(t)
	before.finish(t)
	if root.bad.Load()+before.bad.Load() > 0 {
		t.Errorf("%d requests failed while the API server was down; want 0", root.bad.Load()+before.bad.Load())
	}
	eventually(t, "the route added after the outage Accepted", func() error {
		return w.routeCondition(t, ns, "after", controllerName, "ResolvedRefs", metav1.ConditionTrue, "ResolvedRefs")
	})

	// The API server goes again, as at the end of a control-plane
	// restart, with the informers' reconnection back-off grown by the
	// outage: the provider still stops in bounded time.
	terminateAPIServer(t, w)
	wantStopWithin(t, stop, shutdownBound)
}

// terminateAPIServer sends w's kube-apiserver SIGTERM, as a control-plane
// restart does, and returns once it refuses connections, and its watches
// have had 2 s to end and the informers to start reconnecting. (It may
// take more than a minute to exit.)
func terminateAPIServer(t *testing.T, w *world) {
	t.Helper()
	pid, _ := apiServerProcess(t, w)
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(w.env.Config.Host)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "the stopped kube-apiserver refusing connections", func() error {
		c, err := net.DialTimeout("tcp", u.Host, time.Second)
		if err != nil {
			return nil
		}
		_ = c.Close()
		return fmt.Errorf("%s still accepts connections", u.Host)
	})
	time.Sleep(2 * time.Second)
}

// waitAPIServer waits up to two minutes for the API server to answer.
func waitAPIServer(t *testing.T, w *world) {
	t.Helper()
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(200 * time.Millisecond) {
		err := w.c.Get(ctx(t), types.NamespacedName{Name: "outage"}, &corev1.Namespace{})
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the kube-apiserver does not answer after its restart: %v", err)
		}
	}
}

// stopAPIServer kills envtest's kube-apiserver process (the test binary's
// child running .cache/kube/bin/kube-apiserver; SIGKILL, as a crash or a
// lost node would: SIGTERM makes it drain for longer than the test waits)
// and returns a function
// that starts it again with the same command line, environment and
// working directory, so the same certificates and port, and returns when
// it started it. The restarted process is
// stopped at the test's cleanup, before envtest stops the rest.
func stopAPIServer(t *testing.T, w *world) (restart func() time.Time) {
	t.Helper()
	pid, args := apiServerProcess(t, w)
	env, _ := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
	dir, _ := os.Readlink(fmt.Sprintf("/proc/%d/cwd", pid))
	proc, _ := os.FindProcess(pid)
	if err := proc.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitGone(t, pid)
	return func() time.Time {
		start := time.Now()
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Env, cmd.Dir = strings.Split(strings.TrimRight(string(env), "\x00"), "\x00"), dir
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Signal(syscall.SIGTERM); _ = cmd.Wait() })
		return start
	}
}

func waitGone(t *testing.T, pid int) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		// envtest waits for its child, so the process goes; a zombie ("Z")
		// has stopped serving too.
		if err != nil || strings.Contains(string(stat), ") Z ") {
			return
		}
	}
	t.Fatalf("kube-apiserver %d did not stop", pid)
}
