//go:build soak

package e2e_test

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/certgate/certgate/test/envtest"
)

// apiServerOutage is how long TestAPIServerStoppedForAMinute keeps the
// kube-apiserver down.
const apiServerOutage = 60 * time.Second

// TestAPIServerStoppedForAMinute: with traffic flowing, a route is added
// and served, the kube-apiserver process is stopped for a minute and then
// started again with the same flags and certificates. Traffic is served
// from the last snapshot throughout (no request fails); a route added after
// the API server returns is served and gets status.
func TestAPIServerStoppedForAMinute(t *testing.T) {
	w := newWorld(t)
	w.gatewayClass(t, className, controllerName)
	p, m := w.provider(t, controllerName, nil)
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

	restart := stopAPIServer(t)
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
func stopAPIServer(t *testing.T) (restart func() time.Time) {
	t.Helper()
	root, err := envtest.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	pid, args := childProcess(t, filepath.Join(envtest.BinDir(root), "kube-apiserver"))
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

// childProcess finds this process's child running binary and returns its
// pid and command line.
func childProcess(t *testing.T, binary string) (int, []string) {
	t.Helper()
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		cmdline, err := os.ReadFile(d + "/cmdline")
		if err != nil || !bytes.HasPrefix(cmdline, []byte(binary+"\x00")) {
			continue
		}
		stat, _ := os.ReadFile(d + "/stat")
		// stat is "pid (comm) state ppid ..."; comm may hold spaces.
		fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
		if len(fields) > 1 && fields[1] == strconv.Itoa(os.Getpid()) {
			pid, _ := strconv.Atoi(filepath.Base(d))
			return pid, strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00")
		}
	}
	t.Fatalf("no child process runs %s", binary)
	return 0, nil
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

// waitBody polls path until it answers 200 with body in its body, and
// returns how long that took.
func waitBody(t *testing.T, what string, c *http.Client, path, body string, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		code, got, err := getBody(c, path)
		if code == http.StatusOK && strings.Contains(got, body) {
			return time.Since(start)
		}
		if time.Since(start) > within {
			t.Fatalf("%s: %s answers %d %q (%v) after %s, want 200 with %q", what, path, code, got, err, within, body)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
