package scale_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/certgate/certgate/controllers/files"
	"github.com/certgate/certgate/dataplane"
	"github.com/certgate/certgate/dataplane/metrics"
	"github.com/certgate/certgate/internal/runtimeconfig"
)

// defaultEdits is how many one-route edits a run applies after the first
// apply, unless editsEnv says otherwise.
const defaultEdits = 100

// result is what one child run measures; the parent reports it.
type result struct {
	Routes      int     `json:"routes"`
	FirstMS     float64 `json:"firstMS"`
	EditP50MS   float64 `json:"editP50MS"`
	EditP99MS   float64 `json:"editP99MS"`
	EditCPUMS   float64 `json:"editCPUMS"`
	FirstRSSMiB float64 `json:"firstRSSMiB"`
	FirstHeap   float64 `json:"firstHeapMiB"`
	EditsRSSMiB float64 `json:"editsRSSMiB"`
	EditsHeap   float64 `json:"editsHeapMiB"`
	SettledMiB  float64 `json:"settledRSSMiB"`
	PeakRSSMiB  float64 `json:"peakRSSMiB"`
}

// runChild is the child process: it serves n generated routes the way
// certgate standalone does (files.Provider and a real data plane on a
// loopback socket), applies them, then edits one route at a time, and
// prints a result as JSON. Each edit is checked over HTTP: the edited
// route answers with its new header value.
func runChild(n, edits int, profileDir string) error {
	// The runtime defaults certgate's main sets: the figures are certgate's.
	runtimeconfig.Apply()
	if profileDir != "" {
		runtime.MemProfileRate = heapSampleRate
	}
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, r.Header.Get("X-Version"))
	}))
	defer backend.Close()
	port, err := freePort()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "certgate-scale-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cfg, err := writeConfig(dir, n, port, backend.Listener.Addr().(*net.TCPAddr).Port)
	if err != nil {
		return err
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	dp := dataplane.New(dataplane.Options{Metrics: metrics.New(), Log: quiet})
	p := files.New(files.Options{Dir: dir, Dataplane: dp, Log: quiet})
	r := &result{Routes: n}
	start := time.Now()
	if err := p.Reload(); err != nil {
		return fmt.Errorf("first apply: %w", err)
	}
	r.FirstMS = ms(time.Since(start))
	r.FirstHeap, r.FirstRSSMiB = memory()
	c := &checker{base: fmt.Sprintf("http://127.0.0.1:%d", port)}
	if err := c.served(cfg, 0); err != nil {
		return err
	}
	stopCPU, err := startCPUProfile(profileDir)
	if err != nil {
		return err
	}
	cpu0 := cpuTime()
	took, err := editEach(p, cfg, c, edits)
	if err != nil {
		return err
	}
	// The checking requests are in it too; they are small next to a reload.
	r.EditCPUMS = ms(cpuTime()-cpu0) / float64(edits)
	stopCPU()
	r.EditP50MS, r.EditP99MS = ms(percentile(took, 0.50)), ms(percentile(took, 0.99))
	r.EditsHeap, r.EditsRSSMiB = memory()
	r.SettledMiB, r.PeakRSSMiB = settledRSS(), procStatusMiB("VmHWM:")
	if err := writeHeapProfile(profileDir); err != nil {
		return err
	}
	// The provider lives as long as certgate standalone does: what it
	// keeps between reloads is part of the heap measured.
	runtime.KeepAlive(dp)
	runtime.KeepAlive(p)
	return json.NewEncoder(os.Stdout).Encode(r)
}

// editEach edits routes spread over the configuration one at a time and
// times each reload, from the moment the file is written to the moment
// the data plane serves the new snapshot. What notices a change
// (files.Watch: an inotify event, then files.Settle) is not in it: see
// docs/benchmarks.md.
func editEach(p *files.Provider, cfg *config, c *checker, edits int) ([]time.Duration, error) {
	took := make([]time.Duration, 0, edits)
	for e := range edits {
		i := (e * 7919) % cfg.n
		if err := cfg.edit(i); err != nil {
			return nil, err
		}
		start := time.Now()
		if err := p.Reload(); err != nil {
			return nil, fmt.Errorf("edit %d: %w", e, err)
		}
		took = append(took, time.Since(start))
		if err := c.served(cfg, i); err != nil {
			return nil, err
		}
	}
	slices.Sort(took)
	return took, nil
}

// checker asks the data plane for a route's current header value.
type checker struct {
	base string
	c    http.Client
}

func (c *checker) served(cfg *config, i int) error {
	req, err := http.NewRequest(http.MethodGet, c.base+"/api", nil)
	if err != nil {
		return err
	}
	req.Host = fmt.Sprintf("r%d.example.com", i)
	resp, err := c.c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if want := fmt.Sprintf("api-%d", cfg.versions[i]); resp.StatusCode != http.StatusOK || string(body) != want {
		return fmt.Errorf("route %d: %d %q, want 200 %q", i, resp.StatusCode, body, want)
	}
	return nil
}

// memory returns the live heap after a collection and the resident set
// size (VmRSS), in MiB.
func memory() (heap, rss float64) {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return float64(ms.HeapAlloc) / (1 << 20), vmRSS()
}

// cpuTime is the CPU time this process has used, every thread and the
// garbage collector included: on a machine shared with other work, a
// figure that waiting for a CPU does not inflate.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// settledRSS is VmRSS once the runtime's scavenger has returned the free
// heap the last collection left above its goal: what an idle process
// settles at. memory's collection stands in for the one the runtime
// forces after two minutes without one. The scavenger returns a few MiB a
// second, so this waits until VmRSS has dropped by less than 1 MiB over 3
// seconds, a minute at most.
func settledRSS() float64 {
	samples := []float64{vmRSS()}
	for range 60 {
		time.Sleep(time.Second)
		samples = append(samples, vmRSS())
		if n := len(samples); n > 3 && samples[n-4]-samples[n-1] < 1 {
			break
		}
	}
	return samples[len(samples)-1]
}

func vmRSS() float64 { return procStatusMiB("VmRSS:") }

// procStatusMiB reads a field of /proc/self/status given in kB, in MiB.
func procStatusMiB(field string) float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), field); ok {
			kb, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			return float64(kb) / 1024
		}
	}
	return 0
}

func startCPUProfile(dir string) (stop func(), err error) {
	if dir == "" {
		return func() {}, nil
	}
	f, err := os.Create(filepath.Join(dir, "cpu.pprof"))
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); _ = f.Close() }, nil
}

// heapSampleRate is the heap profile's sampling interval in bytes: fine
// enough that the profile of a few hundred KiB of compiled configuration
// per structure is not one or two samples of Go's default 512 KiB.
const heapSampleRate = 4096

func writeHeapProfile(dir string) error {
	if dir == "" {
		return nil
	}
	f, err := os.Create(filepath.Join(dir, "heap.pprof"))
	if err != nil {
		return err
	}
	defer f.Close()
	return pprof.WriteHeapProfile(f)
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// percentile is the nearest-rank percentile of sorted samples.
func percentile(sorted []time.Duration, p float64) time.Duration {
	i := int(float64(len(sorted))*p+0.999999) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
