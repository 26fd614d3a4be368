package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// directName is the row of the load generator talking to the backend.
const directName = "direct to backend"

// results are every measurement of the run, by scenario and peer.
type results struct {
	peers    []*resolved
	skipped  []string
	tp       map[string]map[string][]throughput
	lat      map[string][]latency
	churn    map[string]churnResult
	started  time.Time
	finished time.Time
}

// resolved is a peer found on this machine, with its binary and version.
type resolved struct {
	*peer
	binPath, versionLine string
}

type latency struct {
	p50, p99 time.Duration
	failed   int64
}

func (env *runEnv) runAll() error {
	work, err := os.MkdirTemp("", "certgate-bench-peers-")
	if err != nil {
		return err
	}
	if env.keep {
		fmt.Println("work folder:", work)
	} else {
		defer func() { _ = os.RemoveAll(work) }()
	}
	env.workDir = work
	if err := env.setup(); err != nil {
		return err
	}
	defer stopGroup(env.backend)
	res := &results{tp: map[string]map[string][]throughput{}, lat: map[string][]latency{}, churn: map[string]churnResult{}, started: time.Now()}
	env.resolve(res)
	for round := range env.rounds {
		if err := env.round(res, round); err != nil {
			return err
		}
	}
	for _, p := range res.peers {
		if p.change != nil && env.measures("churn") {
			r, err := env.churnPeer(p)
			if err != nil {
				return err
			}
			res.churn[p.name] = r
		}
	}
	res.finished = time.Now()
	return env.writeReport(res)
}

// setup issues the key material and starts the backend on loadCPU.
func (env *runEnv) setup() error {
	matDir := filepath.Join(env.workDir, "material")
	if err := os.MkdirAll(matDir, 0o755); err != nil {
		return err
	}
	if env.perfDir != "" {
		if err := os.MkdirAll(env.perfDir, 0o755); err != nil {
			return err
		}
	}
	m, err := issueMaterial(matDir, 9999)
	if err != nil {
		return err
	}
	env.mat = m
	ps, err := freePorts(2)
	if err != nil {
		return err
	}
	env.backendHTTP, env.backendTLS = ps[0], ps[1]
	self, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := pinned(loadCPU, self, "backend", "-dir", matDir,
		"-http", "127.0.0.1:"+strconv.Itoa(ps[0]), "-tls", "127.0.0.1:"+strconv.Itoa(ps[1]))
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	env.backend = cmd
	if line, _ := bufio.NewReader(stdout).ReadString('\n'); strings.TrimSpace(line) != "ready" {
		return fmt.Errorf("backend did not start: %q", line)
	}
	return nil
}

// resolve finds every peer's binary; a missing one is reported in the
// document with how to install it, not silently dropped.
func (env *runEnv) resolve(res *results) {
	all := []*peer{certgatePeer(), nginxPeer(), haproxyPeer(), caddyPeer(), traefikPeer()}
	if env.baseline != "" {
		all = append(all, baselinePeer())
	}
	for _, p := range all {
		if env.only != "" && !containsFold(strings.Split(env.only, ","), p.name) {
			continue
		}
		bin, err := p.bin(env)
		if err != nil {
			res.skipped = append(res.skipped, fmt.Sprintf("%s: %v. %s", p.name, err, p.source))
			fmt.Println("skipped:", err)
			continue
		}
		if abs, err := filepath.Abs(bin); err == nil {
			bin = abs
		}
		res.peers = append(res.peers, &resolved{peer: p, binPath: bin, versionLine: p.version(bin)})
	}
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(strings.TrimSpace(x), s) {
			return true
		}
	}
	return false
}

// round runs every scenario once on every peer and on the backend alone.
// It starts every peer first (idle, they share the proxy's CPU without
// using it) and then measures scenario by scenario, each on every peer in
// turn, so that the figures of one row are taken seconds apart rather
// than a minute: the machine's speed drifts over a minute by more than
// most differences between the peers. The order is rotated by round so
// that no peer always runs first (or last).
func (env *runEnv) round(res *results, round int) error {
	runs := make([]*peerRun, 0, len(res.peers))
	defer func() {
		for _, r := range runs {
			r.stop()
		}
	}()
	for _, p := range res.peers {
		r, err := env.startPeer(p)
		if err != nil {
			return err
		}
		runs = append(runs, r)
	}
	order := roundOrder(runs, round)
	for _, s := range scenarios() {
		if !env.measures(s.id) {
			continue
		}
		if err := env.measureScenario(res, s, order); err != nil {
			return err
		}
	}
	if !env.measures("latency") {
		return nil
	}
	return env.measureLatency(res, order)
}

// measures reports whether the row id is among those -scenarios asks for.
func (env *runEnv) measures(id string) bool {
	return env.scenarios == "" || containsFold(strings.Split(env.scenarios, ","), id)
}
