package cluster

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/reexec"
)

// inClusterEnv marks a test binary re-executed inside the cluster's
// network namespace; its value is the cluster's state directory.
const inClusterEnv = "CERTGATE_CLUSTER_STATE"

// testNamePrefix names the clusters RunTests starts: certgate-test-<pid>.
const testNamePrefix = "certgate-test-"

// RunTests is for the TestMain of a package whose tests need the local
// cluster:
//
//	func TestMain(m *testing.M) { os.Exit(cluster.RunTests(m, cluster.Config{})) }
//
// In the test process it starts a cluster of its own (named
// certgate-test-<pid>, state in .cache/cluster-test/<name>), re-executes the
// test binary inside the cluster's network namespace to run the tests,
// then always tears the cluster down and checks that nothing is left: no
// network namespace, no process, no mount. Inside, the tests reach the
// cluster through Current. Clusters of earlier test processes that died
// without tearing down are removed first.
func RunTests(m *testing.M, c Config) int {
	Main()
	if os.Getenv(inClusterEnv) != "" {
		return m.Run()
	}
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "FAIL: the local cluster tests must run as root (network namespaces), as CI does")
		return 1
	}
	if c.Name == "" {
		c.Name = testNamePrefix + strconv.Itoa(os.Getpid())
	}
	if err := c.Defaults(); err != nil {
		fmt.Fprintln(os.Stderr, "FAIL: cluster:", err)
		return 1
	}
	if c.StateDir == filepath.Join(c.RepoRoot, ".cache", "cluster") {
		c.StateDir = filepath.Join(c.RepoRoot, ".cache", "cluster-test", c.Name)
	}
	reapStale(c.RepoRoot)

	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	t0 := time.Now()
	err := Up(ctx, &c)
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "FAIL: starting the local cluster:", err)
		return 1
	}
	fmt.Printf("cluster %s up in %v (state and logs: %s)\n", c.Name, time.Since(t0).Round(100*time.Millisecond), c.StateDir)

	code := runInside(&c)

	// Everything that ran in the cluster's namespaces must be gone after Down.
	var pids []int
	names, _ := clusterNetNS(&c)
	for _, n := range names {
		p, _ := NetNSPids(n)
		pids = append(pids, p...)
	}
	t1 := time.Now()
	if err := Down(&c); err != nil {
		fmt.Fprintln(os.Stderr, "FAIL: tearing down the local cluster:", err)
		code = 1
	}
	if left := Leftovers(&c, pids); len(left) > 0 {
		fmt.Fprintf(os.Stderr, "--- FAIL: teardown left behind:\n\t%s\n", strings.Join(left, "\n\t"))
		code = 1
	} else {
		fmt.Printf("cluster %s down in %v; nothing left behind (%d processes checked)\n", c.Name,
			time.Since(t1).Round(100*time.Millisecond), len(pids))
	}
	if code == 0 {
		_ = os.RemoveAll(c.StateDir)
	} else {
		fmt.Fprintf(os.Stderr, "cluster logs kept in %s\n", c.LogDir())
	}
	return code
}

// runInside re-executes the test binary, with the same arguments, in the
// cluster's network namespace, forwarding signals, and returns its exit
// code.
func runInside(c *Config) int {
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, "FAIL:", err)
		return 1
	}
	cmd := c.Command(exe, os.Args[1:]...)
	cmd.Env = append(os.Environ(), inClusterEnv+"="+c.StateDir)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	code, err := reexec.Run(cmd, "the tests in the cluster namespace")
	if err != nil {
		fmt.Fprintln(os.Stderr, "FAIL: running the tests in the cluster namespace:", err)
		return 1
	}
	return code
}

// Leftovers lists what a torn-down cluster left behind: its network
// namespaces, live processes among pids, and mounts of its namespaces.
func Leftovers(c *Config, pids []int) []string {
	var out []string
	if names, err := clusterNetNS(c); err != nil {
		out = append(out, "listing /run/netns: "+err.Error())
	} else {
		for _, n := range names {
			out = append(out, "network namespace "+n)
		}
	}
	for _, p := range pids {
		if alive(p) {
			cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", p))
			out = append(out, fmt.Sprintf("process %d: %s", p, strings.ReplaceAll(string(cmdline), "\x00", " ")))
		}
	}
	if mi, err := os.ReadFile("/proc/self/mountinfo"); err == nil {
		for _, l := range strings.Split(string(mi), "\n") {
			if strings.Contains(l, "/run/netns/"+c.Name) || strings.Contains(l, c.StateDir) {
				out = append(out, "mount: "+l)
			}
		}
	}
	return out
}

// reapStale tears down test clusters whose test process is gone.
func reapStale(repoRoot string) {
	ents, _ := os.ReadDir("/run/netns")
	re := regexp.MustCompile("^" + testNamePrefix + `(\d+)$`)
	for _, e := range ents {
		m := re.FindStringSubmatch(e.Name())
		if m == nil {
			continue
		}
		if pid, _ := strconv.Atoi(m[1]); alive(pid) {
			continue
		}
		c := &Config{Name: e.Name(), RepoRoot: repoRoot, StateDir: filepath.Join(repoRoot, ".cache", "cluster-test", e.Name())}
		if err := Down(c); err != nil {
			fmt.Fprintf(os.Stderr, "cluster: removing the stale test cluster %s: %v\n", e.Name(), err)
		} else {
			fmt.Fprintf(os.Stderr, "cluster: removed the stale test cluster %s\n", e.Name())
		}
	}
}

// Current is the cluster the test binary runs in (see RunTests). It fails
// the test outside one.
func Current(t testing.TB) *Config {
	t.Helper()
	dir := os.Getenv(inClusterEnv)
	if dir == "" {
		t.Fatal("not running inside a local cluster: the package's TestMain must call cluster.RunTests")
	}
	c, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
