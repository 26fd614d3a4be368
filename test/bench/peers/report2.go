package main

import (
	"bytes"
	"fmt"
	"strings"
	"time"
)

// ratioTable: certgate's figure divided by each peer's, per scenario.
func (env *runEnv) ratioTable(b *bytes.Buffer, res *results) {
	var others []string
	for _, p := range res.peers {
		if p.name != "certgate" {
			others = append(others, p.name)
		}
	}
	if len(res.tp["http"]["certgate"]) == 0 || len(others) == 0 {
		return
	}
	fmt.Fprintf(b, "## certgate ÷ peer\n\ncertgate's median divided by the peer's: above 1.00× certgate serves more per CPU-second.\n\n")
	fmt.Fprintf(b, "| scenario | %s |\n|---|%s\n", strings.Join(others, " | "), strings.Repeat("---|", len(others)))
	for _, s := range scenarios() {
		cg := medianOf(res.tp[s.id]["certgate"], func(t throughput) float64 { return t.perCPUSecond })
		cells := make([]string, len(others))
		for i, o := range others {
			peer := medianOf(res.tp[s.id][o], func(t throughput) float64 { return t.perCPUSecond })
			cells[i] = "—"
			if peer > 0 && cg > 0 {
				cells[i] = fmt.Sprintf("%.2f×", cg/peer)
			}
		}
		fmt.Fprintf(b, "| %s | %s |\n", s.title, strings.Join(cells, " | "))
	}
	b.WriteString("\n")
}

func (env *runEnv) latencyTable(b *bytes.Buffer, res *results) {
	fmt.Fprintf(b, "## Added latency at a fixed rate\n\n")
	fmt.Fprintf(b, "%d requests per second for %v over 16 keep-alive mTLS connections on the pinned route "+
		"(the direct row: to the backend's mTLS listener), timed from each request's scheduled start so that a stall is "+
		"charged to every request it delays; a connection's first request (its handshake) is left out. Added = peer − direct. "+
		"Medians over rounds of each round's percentile. On a busy machine the p99 is made of scheduling stalls "+
		"of the load generator and the backend as much as of the proxy: a negative added p99 means the direct run "+
		"met worse stalls than the peer's.\n\n", env.tm.rate, env.tm.latency)
	fmt.Fprintf(b, "| | p50 | p99 | added p50 | added p99 | p99 ÷ nginx's | failed |\n|---|---|---|---|---|---|---|\n")
	direct50 := medianDur(res.lat[directName], func(l latency) time.Duration { return l.p50 })
	direct99 := medianDur(res.lat[directName], func(l latency) time.Duration { return l.p99 })
	nginx99 := medianDur(res.lat["nginx"], func(l latency) time.Duration { return l.p99 })
	for _, c := range columns(res) {
		ls := res.lat[c]
		if len(ls) == 0 {
			continue
		}
		p50 := medianDur(ls, func(l latency) time.Duration { return l.p50 })
		p99 := medianDur(ls, func(l latency) time.Duration { return l.p99 })
		var failed int64
		for _, l := range ls {
			failed += l.failed
		}
		vsNginx := "—"
		if nginx99 > 0 && c != directName {
			vsNginx = fmt.Sprintf("%.2f×", float64(p99)/float64(nginx99))
		}
		added50, added99 := "—", "—"
		if c != directName {
			added50, added99 = fmtDur(p50-direct50), fmtDur(p99-direct99)
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s | %d |\n", c, fmtDur(p50), fmtDur(p99), added50, added99, vsNginx, failed)
	}
	b.WriteString("\n")
}

func medianDur(ls []latency, f func(latency) time.Duration) time.Duration {
	return time.Duration(medianOf(ls, func(l latency) float64 { return float64(f(l)) }))
}

func fmtDur(d time.Duration) string { return fmt.Sprintf("%d µs", d.Microseconds()) }

func (env *runEnv) churnTable(b *bytes.Buffer, res *results) {
	fmt.Fprintf(b, "## Route changes under traffic\n\n")
	fmt.Fprintf(b, "%d changes, each a new route `/churn-N` (with an `X-Churn: N` response header), %v apart, while four "+
		"keep-alive clients (Go's net/http, which retries a request whose idle connection the server closed first) "+
		"send `GET /` without pause on the HTTP listener. Failed = transport error or a status other than 200. "+
		"One run per peer, after the rounds. How each peer applies a change: certgate rewrites a file of its "+
		"`--config` folder (watched with inotify; reloaded once it has stayed unchanged for 10 ms); nginx `SIGHUP` (`nginx -s reload`); HAProxy `SIGUSR2` to the master "+
		"(master-worker mode, as `systemctl reload haproxy`; a signal that arrives while the master re-executes itself is merged or lost: see the last column); Caddy `POST /load` on the admin API (what `caddy reload` does); Traefik rewrites "+
		"the file its file provider watches.\n\n", env.tm.changes, env.tm.changeEvery)
	fmt.Fprintf(b, "Changes stop after %v: a peer whose change takes longer than the interval makes fewer. "+
		"Every change reloads the whole configuration of the peer, the 10,000 pins included.\n\n", churnBudget)
	fmt.Fprintf(b, "| peer | changes made | requests | failed | change errors | time between changes | last change served after |\n|---|---|---|---|---|---|---|\n")
	for _, p := range res.peers {
		r, ok := res.churn[p.name]
		if !ok {
			continue
		}
		served := r.lastServed.Round(time.Millisecond).String()
		if !r.served {
			served = "not within 15 s"
		}
		errs := fmt.Sprint(r.changeErrors)
		if r.firstError != "" {
			errs += " (first: " + strings.ReplaceAll(r.firstError, "|", "/") + ")"
		}
		fmt.Fprintf(b, "| %s | %d | %d | %d | %s | %v | %s |\n", p.name, r.changes, r.requests, r.failed, errs, r.period.Round(10*time.Microsecond), served)
	}
	b.WriteString("\n")
}

func (env *runEnv) pinningSection(b *bytes.Buffer, res *results) {
	fmt.Fprintf(b, "## What each peer checks on the pinned routes\n\n")
	fmt.Fprintf(b, "The job: accept on `/pinned` only a client certificate that chains to the bench CA **and** whose "+
		"SHA-256 is the pinned one; on `/pinned10k` the same with 10,000 pins (9,999 that match no certificate).\n\n")
	for _, p := range res.peers {
		fmt.Fprintf(b, "- **%s**: %s.\n", p.name, p.pinning)
	}
	b.WriteString("\n")
}
