package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"sort"
	"strings"
	"time"
)

// writeReport writes the document: machine, versions, method, one table
// per kind of figure, each peer's ratio to certgate.
func (env *runEnv) writeReport(res *results) error {
	var b bytes.Buffer
	env.header(&b, res)
	env.throughputTable(&b, res)
	env.ratioTable(&b, res)
	env.latencyTable(&b, res)
	env.churnTable(&b, res)
	env.pinningSection(&b, res)
	env.methodSection(&b)
	if err := os.WriteFile(env.out, b.Bytes(), 0o644); err != nil {
		return err
	}
	fmt.Println("wrote", env.out)
	return nil
}

func (env *runEnv) header(b *bytes.Buffer, res *results) {
	fmt.Fprintf(b, "# Benchmarks against peers\n\n")
	fmt.Fprintf(b, "Written by `make bench-peers` (`test/bench/peers`); do not edit by hand.\n")
	fmt.Fprintf(b, "The hand-written benchmarks of `make bench` are in [benchmarks.md](benchmarks.md).\n\n")
	if env.quick {
		fmt.Fprintf(b, "**Quick run (`-quick`): one round, short measurements. Not for comparison.**\n\n")
	}
	fmt.Fprintf(b, "Run %s, %d round(s), %s.\n\n", res.started.UTC().Format("2006-01-02 15:04 MST"), env.rounds, res.finished.Sub(res.started).Round(time.Second))
	fmt.Fprintf(b, "| machine | |\n|---|---|\n")
	fmt.Fprintf(b, "| CPU | %s, %s CPUs |\n", cpuModel(), strings.TrimSpace(cmdOut("nproc", "--all")))
	fmt.Fprintf(b, "| kernel | %s |\n", strings.TrimSpace(cmdOut("uname", "-sr")))
	fmt.Fprintf(b, "| Go (certgate, Caddy, Traefik, load generator, backend) | %s |\n", runtime.Version())
	fmt.Fprintf(b, "| OpenSSL (nginx, HAProxy) | %s |\n\n", strings.TrimSpace(cmdOut("openssl", "version")))
	fmt.Fprintf(b, "| peer | version | from |\n|---|---|---|\n")
	for _, p := range res.peers {
		fmt.Fprintf(b, "| %s | `%s` | %s |\n", p.name, p.versionLine, p.source)
	}
	for _, s := range res.skipped {
		fmt.Fprintf(b, "| %s | **not run** | %s |\n", strings.SplitN(s, ":", 2)[0], strings.TrimSpace(strings.SplitN(s, ":", 2)[1]))
	}
	b.WriteString("\n")
}

func cpuModel() string {
	data, _ := os.ReadFile("/proc/cpuinfo")
	for _, line := range strings.Split(string(data), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

func cmdOut(name string, args ...string) string {
	out, _ := exec.Command(name, args...).Output()
	return string(out)
}

// columns are the peers in the order of the tables, then the direct row's
// column.
func columns(res *results) []string {
	var out []string
	for _, p := range res.peers {
		out = append(out, p.name)
	}
	return append(out, directName)
}

func (env *runEnv) throughputTable(b *bytes.Buffer, res *results) {
	cols := columns(res)
	fmt.Fprintf(b, "## Requests per proxy CPU-second\n\n")
	fmt.Fprintf(b, "Median of %d round(s); higher is better. The direct column is per *backend* CPU-second "+
		"(the load generator straight to the backend's plain or mTLS listener), the ceiling of a proxy that costs nothing. "+
		"A mark after a figure: † pinned rows on a peer that verifies the CA but cannot pin; "+
		"‡ fewer than 90 %% of new connections resumed; ✗ failed requests during the measurement.\n\n", env.rounds)
	fmt.Fprintf(b, "| scenario | %s |\n|---|%s\n", strings.Join(cols, " | "), strings.Repeat("---|", len(cols)))
	for _, s := range scenarios() {
		cells := make([]string, len(cols))
		for i, c := range cols {
			cells[i] = env.cell(res, s, c)
		}
		fmt.Fprintf(b, "| %s | %s |\n", s.title, strings.Join(cells, " | "))
	}
	b.WriteString("\n")
}

func (env *runEnv) cell(res *results, s scenario, col string) string {
	runs := res.tp[s.id][col]
	if len(runs) == 0 {
		return "—"
	}
	out := fmtCount(medianOf(runs, func(t throughput) float64 { return t.perCPUSecond }))
	if s.pinned && col != directName && !peerByName(res, col).canPin {
		out += " †"
	}
	if s.mode == resumedHandshake && medianOf(runs, func(t throughput) float64 { return t.resumedShare }) < 0.9 {
		out += " ‡"
	}
	var failed int64
	for _, r := range runs {
		failed += r.failed
	}
	if failed > 0 {
		out += fmt.Sprintf(" ✗%d", failed)
	}
	return out
}

func peerByName(res *results, name string) *resolved {
	for _, p := range res.peers {
		if p.name == name {
			return p
		}
	}
	return &resolved{peer: &peer{}}
}

func medianOf[T any](xs []T, f func(T) float64) float64 {
	vs := make([]float64, len(xs))
	for i, x := range xs {
		vs[i] = f(x)
	}
	sort.Float64s(vs)
	if len(vs) == 0 {
		return 0
	}
	if len(vs)%2 == 1 {
		return vs[len(vs)/2]
	}
	return (vs[len(vs)/2-1] + vs[len(vs)/2]) / 2
}

func fmtCount(v float64) string {
	if v >= 10000 {
		return fmt.Sprintf("%.1fk", v/1000)
	}
	n := int(v + 0.5)
	if n >= 1000 {
		return fmt.Sprintf("%d,%03d", n/1000, n%1000)
	}
	return fmt.Sprint(n)
}
