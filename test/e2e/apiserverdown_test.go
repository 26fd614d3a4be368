package e2e_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/certgate/certgate/controllers/kubernetes/provider"
	"github.com/certgate/certgate/test/envtest"
)

// shutdownBound is how long a provider without a shutdown delay may take
// to return from Start once its context ends, whatever the API server is
// doing. Stopping needs no answer from it: the informers, the status
// writer and the debouncer only have to notice that their context ended.
const shutdownBound = 5 * time.Second

// TestShutdownBoundedWhileAPIServerFrozen: a provider stops in bounded
// time, and cleanly (Start returns nil: no runnable outlived the manager's
// grace), while the kube-apiserver is stopped with SIGSTOP, so that
// connections are accepted and nothing is answered, and a status write
// waits on it (this replica became the leader after the freeze, with
// statuses to write). Its data plane serves from the last snapshot all
// along. TestAPIServerStoppedForAMinute (make soak) checks the same after
// an outage, with the API server gone.
func TestShutdownBoundedWhileAPIServerFrozen(t *testing.T) {
	w, p, stop := shutdownWorld(t, "frozen", 18482)
	freezeAPIServer(t, w)
	p.Lead(t.Context())
	eventually(t, "a status write sent to the frozen API server", func() error {
		if !strings.Contains(w.logs.String(), "writing status") {
			return fmt.Errorf("no status write yet")
		}
		return nil
	})
	wantStatus(t, "a client while the API server is frozen", w.client(nil, "127.0.0.1:18482"), http.StatusOK)
	wantStopWithin(t, stop, shutdownBound)
}

// shutdownWorld starts a control plane of its own and a provider (not
// leading) serving a route to a backend in namespace ns on port, and
// returns once the route is served.
func shutdownWorld(t *testing.T, ns string, port int32) (*world, *provider.Provider, func() error) {
	t.Helper()
	w := newWorld(t)
	w.gatewayClass(t, className, controllerName)
	p, _, stop := w.runProvider(t, w.env.Config, provider.Options{ControllerName: controllerName})
	w.app(t, ns, className, port, ns)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	waitBody(t, "the route", w.client(nil, addr), "/", "ok from "+ns+"/echo", 30*time.Second)
	return w, p, stop
}

// wantStopWithin stops the provider and fails the test unless Start
// returns nil within bound.
func wantStopWithin(t *testing.T, stop func() error, bound time.Duration) {
	t.Helper()
	start := time.Now()
	errc := make(chan error, 1)
	go func() { errc <- stop() }()
	select {
	case err := <-errc:
		t.Logf("provider stopped in %s", time.Since(start).Round(time.Millisecond))
		if err != nil {
			t.Fatalf("provider Start: %v", err)
		}
	case <-time.After(bound):
		t.Fatalf("the provider did not stop within %s of its context ending", bound)
	}
}

// freezeAPIServer stops w's kube-apiserver process with SIGSTOP (its
// sockets stay open, the kernel still accepts connections, nothing
// answers) and continues it at the test's cleanup, which runs before the
// provider's: envtest must be able to stop it.
func freezeAPIServer(t *testing.T, w *world) {
	t.Helper()
	pid, _ := apiServerProcess(t, w)
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGCONT) })
}

// apiServerProcess finds w's kube-apiserver, the test binary's child
// running .cache/kube/bin/kube-apiserver with w's port (tests running in
// parallel each have their own), and returns its pid and command line.
func apiServerProcess(t *testing.T, w *world) (int, []string) {
	t.Helper()
	root, err := envtest.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(w.env.Config.Host)
	if err != nil {
		t.Fatal(err)
	}
	return childProcess(t, filepath.Join(envtest.BinDir(root), "kube-apiserver"), "--secure-port="+u.Port())
}

// childProcess finds this process's child running binary with arg among
// its arguments and returns its pid and command line.
func childProcess(t *testing.T, binary, arg string) (int, []string) {
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
		args := strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00")
		if len(fields) > 1 && fields[1] == strconv.Itoa(os.Getpid()) && slices.Contains(args, arg) {
			pid, _ := strconv.Atoi(filepath.Base(d))
			return pid, args
		}
	}
	t.Fatalf("no child process runs %s %s", binary, arg)
	return 0, nil
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
