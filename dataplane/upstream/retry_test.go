package upstream

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/certgate/certgate/dataplane/snapshot"
)

// failingThen answers status for the first n requests, then 200 with the
// request body echoed.
func failingThen(n int64, status int) (http.HandlerFunc, *atomic.Int64) {
	var seen atomic.Int64
	return func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if seen.Add(1) <= n {
			w.WriteHeader(status)
			_, _ = w.Write([]byte("busy"))
			return
		}
		_, _ = w.Write(body)
	}, &seen
}

func plainUpstream(t *testing.T, eps ...snapshot.Endpoint) *Upstream {
	t.Helper()
	return compile(t, &snapshot.Backend{Name: "ns/svc:80", Endpoints: eps})
}

func retryPolicy(attempts int, backoff time.Duration, codes ...int) *RetryPolicy {
	return NewRetryPolicy(&snapshot.Retry{Attempts: attempts, Backoff: backoff, Codes: codes}, snapshot.Timeouts{})
}

func TestRetriesListedStatusUntilSuccess(t *testing.T) {
	h, seen := failingThen(2, http.StatusServiceUnavailable)
	be := startBackend(t, h, nil)
	u := plainUpstream(t, be.endpoint())
	code, body, err := roundTrip(u, retryPolicy(2, 0, 503), newRequest(t, http.MethodPost, "/", "payload"))
	if err != nil || code != 200 || body != "payload" {
		t.Fatalf("got %d %q %v, want 200 with the body replayed", code, body, err)
	}
	if seen.Load() != 3 {
		t.Fatalf("backend saw %d attempts, want 3", seen.Load())
	}
	if be.conns.Load() != 1 {
		t.Fatalf("discarded responses were not drained: %d connections", be.conns.Load())
	}
}

func TestLastAttemptResponseIsReturned(t *testing.T) {
	h, seen := failingThen(10, http.StatusServiceUnavailable)
	be := startBackend(t, h, nil)
	code, body, err := roundTrip(plainUpstream(t, be.endpoint()), retryPolicy(2, 0, 503), newRequest(t, http.MethodGet, "/", ""))
	if err != nil || code != 503 || body != "busy" || seen.Load() != 3 {
		t.Fatalf("got %d %q %v after %d attempts, want the third 503", code, body, err, seen.Load())
	}
}

func TestUnlistedStatusIsNotRetried(t *testing.T) {
	h, seen := failingThen(1, http.StatusInternalServerError)
	be := startBackend(t, h, nil)
	code, _, _ := roundTrip(plainUpstream(t, be.endpoint()), retryPolicy(2, 0, 503), newRequest(t, http.MethodGet, "/", ""))
	if code != 500 || seen.Load() != 1 {
		t.Fatalf("got %d after %d attempts, want 500 after 1", code, seen.Load())
	}
}

func TestRefusedEndpointIsRetriedOnTheNext(t *testing.T) {
	be := startBackend(t, okHandler, nil)
	u := plainUpstream(t, refusedEndpoint(t), be.endpoint())
	code, _, err := roundTrip(u, retryPolicy(1, 0), newRequest(t, http.MethodGet, "/", ""))
	if err != nil || code != 200 || be.calls.Load() != 1 {
		t.Fatalf("got %d %v with %d calls, want 200 from the second endpoint", code, err, be.calls.Load())
	}
}

func TestConnectionErrorWithoutRetriesFails(t *testing.T) {
	_, _, err := roundTrip(plainUpstream(t, refusedEndpoint(t)), retryPolicy(0, 0), newRequest(t, http.MethodGet, "/", ""))
	if err == nil {
		t.Fatal("request to a refused endpoint succeeded")
	}
}

func TestBodyThatCannotBeReplayedIsNotRetried(t *testing.T) {
	h, seen := failingThen(1, http.StatusServiceUnavailable)
	be := startBackend(t, h, nil)
	req := newRequest(t, http.MethodPost, "/", "payload")
	req.GetBody = nil // a streamed client body, as the proxy receives it
	code, _, err := roundTrip(plainUpstream(t, be.endpoint()), retryPolicy(3, 0, 503), req)
	if err != nil || code != 503 || seen.Load() != 1 {
		t.Fatalf("got %d %v after %d attempts, want the first 503 and no retry", code, err, seen.Load())
	}
}

func TestBackoffIsWaitedBetweenAttempts(t *testing.T) {
	h, seen := failingThen(10, http.StatusServiceUnavailable)
	be := startBackend(t, h, nil)
	const backoff = 100 * time.Millisecond
	start := time.Now()
	_, _, _ = roundTrip(plainUpstream(t, be.endpoint()), retryPolicy(2, backoff, 503), newRequest(t, http.MethodGet, "/", ""))
	if elapsed := time.Since(start); elapsed < 2*backoff || seen.Load() != 3 {
		t.Fatalf("3 attempts took %v (%d seen), want at least %v", elapsed, seen.Load(), 2*backoff)
	}
}

func TestNoRetryAfterContextEnds(t *testing.T) {
	h, seen := failingThen(10, http.StatusServiceUnavailable)
	be := startBackend(t, h, nil)
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	req := newRequest(t, http.MethodGet, "/", "").WithContext(ctx)
	start := time.Now()
	_, _, err := roundTrip(plainUpstream(t, be.endpoint()), retryPolicy(5, time.Second, 503), req)
	if !errors.Is(err, context.DeadlineExceeded) || seen.Load() != 1 || time.Since(start) > 500*time.Millisecond {
		t.Fatalf("got %v after %d attempts in %v, want the deadline during the first backoff", err, seen.Load(), time.Since(start))
	}
}

func TestAttemptTimeoutBoundsEachAttempt(t *testing.T) {
	var n atomic.Int64
	be := startBackend(t, func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			select { // the first attempt hangs past its timeout
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
			return
		}
		okHandler(w, r)
	}, nil)
	u := plainUpstream(t, be.endpoint())
	timeouts := snapshot.Timeouts{BackendRequest: 100 * time.Millisecond}

	start := time.Now()
	_, _, err := roundTrip(u, NewRetryPolicy(nil, timeouts), newRequest(t, http.MethodGet, "/", ""))
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > time.Second {
		t.Fatalf("got %v after %v, want the attempt timeout", err, time.Since(start))
	}
	n.Store(0)
	code, _, err := roundTrip(u, NewRetryPolicy(&snapshot.Retry{Attempts: 1}, timeouts), newRequest(t, http.MethodGet, "/", ""))
	if err != nil || code != 200 {
		t.Fatalf("got %d %v, want the timed-out attempt retried to 200", code, err)
	}
}

func TestAttemptTimeoutCoversTheResponseBody(t *testing.T) {
	be := startBackend(t, func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("start"))
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}, nil)
	req := newRequest(t, http.MethodGet, "/", "")
	res, err := Do(req, plainUpstream(t, be.endpoint()), NewRetryPolicy(nil, snapshot.Timeouts{BackendRequest: 100 * time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if _, err := io.ReadAll(res.Body); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("reading a stalled body ended with %v, want the attempt timeout", err)
	}
}

func TestNoEndpoints(t *testing.T) {
	req := newRequest(t, http.MethodPost, "/", "x")
	_, _, err := roundTrip(plainUpstream(t), nil, req)
	if !errors.Is(err, ErrNoEndpoints) || !strings.Contains(err.Error(), "ns/svc:80") {
		t.Fatalf("got %v, want ErrNoEndpoints naming the backend", err)
	}
}
