package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

var runSeq int

// startPeer configures and starts p on fresh ports and waits until it
// serves every listener.
func (env *runEnv) startPeer(p *resolved) (*peerRun, error) {
	ps, err := freePorts(4)
	if err != nil {
		return nil, err
	}
	runSeq++
	dir := filepath.Join(env.workDir, fmt.Sprintf("%s-%d", strings.ToLower(p.name), runSeq))
	if err := os.MkdirAll(filepath.Join(dir, "tmp"), 0o755); err != nil {
		return nil, err
	}
	r := &peerRun{env: env, p: p.peer, name: p.name, bin: p.binPath, dir: dir,
		port: ports{HTTP: ps[0], HTTPS: ps[1], MTLS: ps[2], Admin: ps[3], BackendHTTP: env.backendHTTP, BackendTLS: env.backendTLS}}
	cmd, err := p.start(r)
	if err != nil {
		return nil, fmt.Errorf("%s: start: %w", p.name, err)
	}
	r.cmd = cmd
	if err := r.waitReady(); err != nil {
		r.stop()
		return nil, err
	}
	return r, nil
}

func (r *peerRun) stop() {
	stopGroup(r.cmd)
	if r.log != nil {
		_ = r.log.Close()
	}
}

// roundOrder is the order of one round: the peers, then the backend alone
// (nil), rotated by the round.
func roundOrder(runs []*peerRun, round int) []*peerRun {
	all := append(append([]*peerRun{}, runs...), nil)
	k := round % len(all)
	return append(all[k:], all[:k]...)
}

// measureScenario measures s on every peer of the round and on the backend
// alone, one after the other in the round's order.
func (env *runEnv) measureScenario(res *results, s scenario, order []*peerRun) error {
	for _, r := range order {
		if r == nil {
			if s.direct == nil {
				continue
			}
			if err := env.record(res, s, directName, *s.direct(env), env.backend.Process.Pid); err != nil {
				return fmt.Errorf("direct: %s: %w", s.id, err)
			}
			continue
		}
		if err := env.record(res, s, r.name, s.target(env, r.port), r.cmd.Process.Pid); err != nil {
			return fmt.Errorf("%s: %s: %w", r.name, s.id, err)
		}
	}
	return nil
}

// measureLatency measures the added latency on every peer of the round
// and on the backend alone.
func (env *runEnv) measureLatency(res *results, order []*peerRun) error {
	for _, r := range order {
		t, name := *env.directTLS(), directName
		if r != nil {
			t, name = env.mtlsTarget(r.port.MTLS, "/pinned"), r.name
		}
		if err := env.recordLatency(res, name, t); err != nil {
			return fmt.Errorf("%s: latency: %w", name, err)
		}
	}
	return nil
}

func (env *runEnv) record(res *results, s scenario, name string, t target, pid int) error {
	tp, err := measure(env.mat, t, s.mode, s.workers, env.tm.warm, env.tm.measure, pid, env.perfRecord(name, s.id, len(res.tp[s.id][name]), pid))
	if err != nil {
		return err
	}
	if tp.ok == 0 {
		return fmt.Errorf("no request succeeded (%d failed)", tp.failed)
	}
	if res.tp[s.id] == nil {
		res.tp[s.id] = map[string][]throughput{}
	}
	res.tp[s.id][name] = append(res.tp[s.id][name], tp)
	fmt.Printf("%-18s %-13s %9.0f /CPU-s  %7d ok %5d failed  cpu %5.2fs  resumed %.2f\n",
		name, s.id, tp.perCPUSecond, tp.ok, tp.failed, tp.cpu.Seconds(), tp.resumedShare)
	return nil
}

func (env *runEnv) recordLatency(res *results, name string, t target) error {
	p50, p99, failed, err := latencies(env.mat, t, env.tm.rate, env.tm.latency)
	if err != nil {
		return err
	}
	res.lat[name] = append(res.lat[name], latency{p50: p50, p99: p99, failed: failed})
	fmt.Printf("%-18s latency       p50 %v  p99 %v  failed %d\n", name, p50.Round(time.Microsecond), p99.Round(time.Microsecond), failed)
	return nil
}

// perfRecord returns what records the measured window of scenario with
// perf into env.perfDir, or nil when no profile was asked for: everything
// on the proxy's CPU, which is every process of a peer (nginx's and
// HAProxy's workers too), or the backend's pid for the direct row.
func (env *runEnv) perfRecord(name, scenario string, round, pid int) func() func() {
	if env.perfDir == "" {
		return nil
	}
	return func() func() {
		out := filepath.Join(env.perfDir, fmt.Sprintf("%s-%s-%d.data", name, scenario, round))
		which := []string{"-C", strconv.Itoa(proxyCPU)}
		if name == directName {
			which = []string{"-p", strconv.Itoa(pid)}
		}
		cmd := exec.Command("perf", append([]string{"record", "-e", "cpu-clock", "-g", "-q", "-o", out}, which...)...)
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			fmt.Fprintln(os.Stderr, "perf:", err)
			return func() {}
		}
		return func() {
			_ = cmd.Process.Signal(os.Interrupt)
			_ = cmd.Wait()
		}
	}
}
