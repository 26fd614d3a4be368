package main

import (
	"context"
	"crypto/tls"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// mode is how a scenario uses connections.
type mode int

const (
	keepAlive        mode = iota // one connection per worker, reused
	fullHandshake                // a new connection and a full handshake per request
	resumedHandshake             // a new connection per request, resuming the TLS session
)

// counters are what the workers of one measurement add up.
type counters struct {
	ok, failed, newConns, resumed atomic.Int64
}

// throughput is the outcome of one measurement.
type throughput struct {
	ok, failed int64
	cpu        time.Duration
	// perCPUSecond is requests per CPU-second of the measured process tree.
	perCPUSecond float64
	// resumedShare is the share of new connections that resumed a session.
	resumedShare float64
}

// measure runs workers against t for warm+dur and counts only the requests
// and the CPU time of pid's process tree during dur.
// When during is not nil it is called as the measured window opens, and
// what it returns as the window closes.
func measure(m *material, t target, md mode, workers int, warm, dur time.Duration, pid int, during func() func()) (throughput, error) {
	var cache tls.ClientSessionCache
	if md == resumedHandshake {
		cache = tls.NewLRUClientSessionCache(workers * 4)
	}
	var tlsConf *tls.Config
	if t.sni != "" {
		var err error
		if tlsConf, err = clientTLS(m, t, cache); err != nil {
			return throughput{}, err
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	var cs counters
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() { defer wg.Done(); work(ctx, newConn(t, tlsConf, md == keepAlive), &cs) }()
	}
	time.Sleep(warm)
	ok0, failed0, cpu0 := cs.ok.Load(), cs.failed.Load(), treeCPU(pid)
	new0, res0 := cs.newConns.Load(), cs.resumed.Load()
	stop := func() {}
	if during != nil {
		stop = during()
	}
	time.Sleep(dur)
	stop()
	ok1, failed1, cpu1 := cs.ok.Load(), cs.failed.Load(), treeCPU(pid)
	new1, res1 := cs.newConns.Load(), cs.resumed.Load()
	cancel()
	wg.Wait()
	r := throughput{ok: ok1 - ok0, failed: failed1 - failed0, cpu: cpu1 - cpu0}
	if r.cpu > 0 {
		r.perCPUSecond = float64(r.ok) / r.cpu.Seconds()
	}
	if n := new1 - new0; n > 0 {
		r.resumedShare = float64(res1-res0) / float64(n)
	}
	return r, nil
}

func work(ctx context.Context, c *conn, cs *counters) {
	defer c.close()
	for ctx.Err() == nil {
		fresh := c.c == nil
		resumed, err := c.do()
		if fresh {
			cs.newConns.Add(1)
			if resumed {
				cs.resumed.Add(1)
			}
		}
		if err != nil {
			cs.failed.Add(1)
			time.Sleep(time.Millisecond)
			continue
		}
		cs.ok.Add(1)
	}
}

// latencies sends rate requests per second for dur over keep-alive
// connections and returns the p50 and p99 of the time from each request's
// scheduled start to its answer, so a stalled proxy is charged for every
// request it delayed.
func latencies(m *material, t target, rate int, dur time.Duration) (p50, p99 time.Duration, failed int64, err error) {
	tlsConf, err := clientTLSIf(m, t)
	if err != nil {
		return 0, 0, 0, err
	}
	const workers = 16
	due := make(chan time.Time, rate)
	results := make(chan []time.Duration, workers)
	var fails atomic.Int64
	for range workers {
		go func() { results <- paced(newConn(t, tlsConf, true), due, &fails) }()
	}
	interval := time.Second / time.Duration(rate)
	start := time.Now()
	for i := 0; time.Since(start) < dur; i++ {
		next := start.Add(time.Duration(i) * interval)
		time.Sleep(time.Until(next))
		due <- next
	}
	close(due)
	var all []time.Duration
	for range workers {
		all = append(all, <-results...)
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	if len(all) == 0 {
		return 0, 0, fails.Load(), nil
	}
	return all[len(all)/2], all[len(all)*99/100], fails.Load(), nil
}

func paced(c *conn, due <-chan time.Time, fails *atomic.Int64) []time.Duration {
	defer c.close()
	var out []time.Duration
	for at := range due {
		fresh := c.c == nil
		if _, err := c.do(); err != nil {
			fails.Add(1)
			continue
		}
		// A connection's first request pays for its handshake: not a
		// steady-state latency.
		if !fresh {
			out = append(out, time.Since(at))
		}
	}
	return out
}

func clientTLSIf(m *material, t target) (*tls.Config, error) {
	if t.sni == "" {
		return nil, nil
	}
	return clientTLS(m, t, nil)
}
