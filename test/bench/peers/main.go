// Command peers measures certgate standalone side by side with nginx,
// HAProxy, Caddy and Traefik on one machine, and writes
// docs/benchmarks-peers.md: `make bench-peers` (see that document for the
// method). It is a benchmark, not a test, and never gates CI.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"time"
)

// The proxy under test runs alone on proxyCPU; the load generator (this
// process) and the backend share loadCPU.
const (
	proxyCPU = 0
	loadCPU  = 1
)

// pinnedEnv marks the process that already runs on loadCPU.
const pinnedEnv = "CERTGATE_BENCH_PEERS_PINNED"

// runEnv is what every round shares: flags, key material, the backend.
type runEnv struct {
	out, certgate, baseline, toolsBin, workDir string
	// perfDir, when set, receives a `perf record -e cpu-clock -g` of every measured
	// window of a proxy: PEER-SCENARIO-ROUND.data.
	perfDir                 string
	rounds                  int
	quick, keep             bool
	only, scenarios         string
	tm                      timing
	mat                     *material
	backendHTTP, backendTLS int
	backend                 *exec.Cmd
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "backend" {
		if err := runBackend(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "backend:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench-peers:", err)
		os.Exit(1)
	}
}

func run() error {
	env := &runEnv{}
	flag.StringVar(&env.out, "out", "docs/benchmarks-peers.md", "the document to write")
	flag.StringVar(&env.certgate, "certgate", "bin/certgate", "the certgate binary under test")
	flag.StringVar(&env.baseline, "baseline", "", "a certgate binary built from another commit, measured as the peer certgate-baseline")
	flag.StringVar(&env.toolsBin, "tools-bin", ".cache/peers/bin", "where make bench-peers builds Caddy and Traefik")
	flag.IntVar(&env.rounds, "rounds", 3, "interleaved rounds; the figures are medians over them")
	flag.BoolVar(&env.quick, "quick", false, "one round, short measurements, 100 route changes: for development, not for the document")
	flag.StringVar(&env.only, "peers", "", "comma-separated peers to run (default all)")
	flag.StringVar(&env.scenarios, "scenarios", "", "comma-separated rows to measure, by id (http, https, mtls, full, resumed, backend-mtls, pins10k, latency, churn; default all): for development, not for the document")
	flag.StringVar(&env.perfDir, "perf", "", "record each proxy's measured windows with perf record -g into this folder (for profiling, not for the document)")
	flag.BoolVar(&env.keep, "keep", false, "keep the work folder (configurations, peer logs) and print its path")
	flag.Parse()
	if os.Getenv(pinnedEnv) == "" {
		// Once pinned, runtime.NumCPU counts the one CPU of the affinity mask.
		if runtime.NumCPU() < 2 {
			return fmt.Errorf("needs two CPUs (proxy on CPU %d, load and backend on CPU %d)", proxyCPU, loadCPU)
		}
		return reexecPinned()
	}
	env.tm = timing{warm: time.Second, measure: 4 * time.Second, latency: 6 * time.Second, rate: 200, changes: 1000, changeEvery: 10 * time.Millisecond}
	if env.quick {
		env.rounds = 1
		env.tm = timing{warm: 300 * time.Millisecond, measure: time.Second, latency: 2 * time.Second, rate: 200, changes: 100, changeEvery: 10 * time.Millisecond}
	}
	return env.runAll()
}

// reexecPinned runs this program again on loadCPU: taskset pins every
// thread the Go runtime will start, which the process cannot do for itself.
func reexecPinned() error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := exec.Command("taskset", append([]string{"-c", fmt.Sprint(loadCPU), self}, os.Args[1:]...)...)
	cmd.Env = append(os.Environ(), pinnedEnv+"=1")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	return cmd.Run()
}
