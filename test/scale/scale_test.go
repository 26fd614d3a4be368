// Package scale_test measures how certgate's configuration path grows with
// the number of routes: BenchmarkStandaloneScale runs certgate standalone's
// file provider and data plane in a child process per size, so each size's
// resident set is its own.
package scale_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/certgate/certgate/internal/reexec"
)

// childEnv, set to a route count, makes the test binary the child that
// measures that size instead of running tests.
const childEnv = "CERTGATE_SCALE_CHILD"

// profileEnv names a directory where the child writes cpu.pprof (the
// edits, not the first apply: an edit is what a change costs) and
// heap.pprof (after the edits).
const profileEnv = "CERTGATE_SCALE_PROFILE"

// sizesEnv overrides the route counts, comma-separated; editsEnv the
// number of edits (100).
const (
	sizesEnv = "CERTGATE_SCALE_ROUTES"
	editsEnv = "CERTGATE_SCALE_EDITS"
)

func TestMain(m *testing.M) {
	if v := os.Getenv(childEnv); v != "" {
		n, err := strconv.Atoi(v)
		edits := defaultEdits
		if e := os.Getenv(editsEnv); e != "" && err == nil {
			edits, err = strconv.Atoi(e)
		}
		if err == nil {
			err = runChild(n, edits, os.Getenv(profileEnv))
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "scale child (%s routes): %v\n", v, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// BenchmarkStandaloneScale serves N generated HTTPRoutes (one hostname,
// two rules, one RequestHeaderModifier each, 100 routes per file) the way
// certgate standalone does, in a child process per N. Reported:
//
//   - first-ms: the first reload, from reading the directory to the
//     snapshot serving;
//   - edit-p50-ms, edit-p99-ms: 100 reloads (CERTGATE_SCALE_EDITS) after one route's file was
//     rewritten, each from the write to the new snapshot serving (the
//     watch that notices the change is not in it); edit-cpu-ms: the
//     process's CPU time per edit (user and system, every thread), which
//     waiting for a CPU on a busy machine does not inflate;
//   - rss-MiB, heap-MiB: VmRSS and the live heap after a collection,
//     after the first apply; edits-rss-MiB, edits-heap-MiB: the same after
//     the 100 edits; settled-rss-MiB: VmRSS once the runtime has returned
//     the free heap of that collection (settledRSS); peak-rss-MiB: VmHWM,
//     the most the process held at any moment of the run.
//
// Every edit is checked with a request through the data plane.
func BenchmarkStandaloneScale(b *testing.B) {
	for _, n := range sizes(b) {
		b.Run(fmt.Sprintf("routes=%d", n), func(b *testing.B) {
			var r result
			for range b.N {
				r = child(b, n)
			}
			b.ReportMetric(r.FirstMS, "first-ms")
			b.ReportMetric(r.EditP50MS, "edit-p50-ms")
			b.ReportMetric(r.EditP99MS, "edit-p99-ms")
			b.ReportMetric(r.EditCPUMS, "edit-cpu-ms")
			b.ReportMetric(r.FirstRSSMiB, "rss-MiB")
			b.ReportMetric(r.FirstHeap, "heap-MiB")
			b.ReportMetric(r.EditsRSSMiB, "edits-rss-MiB")
			b.ReportMetric(r.EditsHeap, "edits-heap-MiB")
			b.ReportMetric(r.SettledMiB, "settled-rss-MiB")
			b.ReportMetric(r.PeakRSSMiB, "peak-rss-MiB")
		})
	}
}

func sizes(b *testing.B) []int {
	v := os.Getenv(sizesEnv)
	if v == "" {
		return []int{1000, 10000, 50000}
	}
	var out []int
	for _, f := range strings.Split(v, ",") {
		n, err := strconv.Atoi(f)
		if err != nil {
			b.Fatalf("%s: %q is not a number", sizesEnv, f)
		}
		out = append(out, n)
	}
	return out
}

// child runs the test binary as the child for n routes and decodes what
// it prints.
func child(b *testing.B, n int) result {
	b.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%d", childEnv, n))
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, os.Stderr
	code, err := reexec.Run(cmd, "scale child")
	if err != nil || code != 0 {
		b.Fatalf("child for %d routes: exit %d, %v", n, code, err)
	}
	var r result
	if err := json.Unmarshal([]byte(out.String()), &r); err != nil {
		b.Fatalf("child for %d routes printed %q: %v", n, out.String(), err)
	}
	return r
}
