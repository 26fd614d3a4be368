package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// churnBudget bounds the time spent making changes: a peer whose reload
// takes a second would otherwise need a quarter of an hour for 1,000.
const churnBudget = 40 * time.Second

// churnResult is one peer's run of route changes under traffic.
type churnResult struct {
	requests, failed int64
	// changes made: fewer than asked when applying them took longer than
	// churnBudget.
	changes      int
	changeErrors int
	firstError   string
	// period is the measured time between changes (a change that takes
	// longer than the interval delays the next one).
	period time.Duration
	// lastServed is how long after the last change its route answered 200.
	lastServed time.Duration
	served     bool
}

// churnPeer makes env.tm.changes route changes, env.tm.changeEvery apart,
// while four keep-alive clients send GET / without pause, and counts the
// requests that did not get a 200. The clients are net/http's, which
// retries a request whose reused connection the server closed before
// answering, as browsers and most HTTP clients do.
func (env *runEnv) churnPeer(p *resolved) (churnResult, error) {
	r, err := env.startPeer(p)
	if err != nil {
		return churnResult{}, err
	}
	defer r.stop()
	var res churnResult
	var requests, failed atomic.Int64
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	client := churnClient()
	url := "http://127.0.0.1:" + strconv.Itoa(r.port.HTTP) + "/"
	for range 4 {
		wg.Add(1)
		go func() { defer wg.Done(); churnTraffic(ctx, client, url, &requests, &failed) }()
	}
	time.Sleep(500 * time.Millisecond)
	start := time.Now()
	for i := 1; i <= env.tm.changes && time.Since(start) < churnBudget; i++ {
		res.changes = i
		time.Sleep(time.Until(start.Add(time.Duration(i-1) * env.tm.changeEvery)))
		if err := p.change(r, i); err != nil {
			res.changeErrors++
			if res.firstError == "" {
				res.firstError = err.Error()
			}
		}
	}
	last := time.Now()
	res.period = last.Sub(start) / time.Duration(res.changes)
	mark := strconv.Itoa(res.changes)
	res.lastServed, res.served = waitRoute(client, "http://127.0.0.1:"+strconv.Itoa(r.port.HTTP)+"/churn-"+mark, mark, last)
	time.Sleep(time.Second)
	cancel()
	wg.Wait()
	res.requests, res.failed = requests.Load(), failed.Load()
	fmt.Printf("%-18s churn         %d changes every %v: %d requests, %d failed, %d change errors, last change served after %v\n",
		p.name, res.changes, res.period.Round(time.Microsecond), res.requests, res.failed, res.changeErrors, res.lastServed.Round(time.Millisecond))
	return res, nil
}

func churnClient() *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConnsPerHost: 8,
	}}
}

func churnTraffic(ctx context.Context, client *http.Client, url string, requests, failed *atomic.Int64) {
	for ctx.Err() == nil {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		req.Host = httpHost
		resp, err := client.Do(req)
		if ctx.Err() != nil {
			return
		}
		requests.Add(1)
		if err != nil {
			failed.Add(1)
			continue
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			failed.Add(1)
		}
	}
}

// waitRoute polls url until it answers 200 with the X-Churn header the
// last change's route adds (the default route answers every path too), for
// at most 15 s.
func waitRoute(client *http.Client, url, mark string, since time.Time) (time.Duration, bool) {
	for time.Since(since) < 15*time.Second {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		req.Host = httpHost
		if resp, err := client.Do(req); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK && resp.Header.Get("X-Churn") == mark {
				return time.Since(since), true
			}
		}
		time.Sleep(2 * time.Millisecond)
	}
	return time.Since(since), false
}
