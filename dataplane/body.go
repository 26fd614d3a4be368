package dataplane

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// defaultBodyIdleTimeout is how long a request body may stay silent
// before the gateway gives up on it. It bounds the upstream connection a
// stalled upload holds, not the length of an upload: every read that
// brings data restarts it.
const defaultBodyIdleTimeout = 30 * time.Second

// clientBody is a request body on its way upstream. When reading it from
// the client fails — malformed chunked coding, an HTTP/2 body shorter than
// its content-length, a client that stays silent longer than the idle
// timeout — it aborts the upstream request, so the backend sees a broken
// request and never a complete one with a truncated body, and it keeps the
// failure so the client is answered 400 or 408 rather than 502.
type clientBody struct {
	io.ReadCloser
	rc    *http.ResponseController
	idle  time.Duration
	abort context.CancelFunc
	err   atomic.Pointer[error]

	// mu guards done: once the handler has returned, the response
	// controller belongs to the connection's next request (HTTP/1) or to
	// nobody (HTTP/2), and the transport's goroutine may still be reading.
	mu   sync.Mutex
	done bool
}

// Read reads from the client under the idle timeout. A failure sticks: a
// body read again (the real request after a mirror's copy) fails again.
func (b *clientBody) Read(p []byte) (int, error) {
	if err := b.failure(); err != nil {
		return 0, err
	}
	if b.idle > 0 {
		// The deadline is armed only while a read waits for the client:
		// a backend that is slow to take the body is not the client's
		// stall. Cleared, the connection's reads (the next request, a
		// disconnect) go on under the server's own deadlines.
		b.setReadDeadline(time.Now().Add(b.idle))
		defer b.setReadDeadline(time.Time{})
	}
	n, err := b.ReadCloser.Read(p)
	if err != nil && !errors.Is(err, io.EOF) && b.err.CompareAndSwap(nil, &err) {
		b.abort()
	}
	return n, err
}

func (b *clientBody) setReadDeadline(t time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.done {
		_ = b.rc.SetReadDeadline(t)
	}
}

// finish is called as the handler returns. A read still waiting keeps the
// deadline it has, which bounds it.
func (b *clientBody) finish() {
	if b == nil {
		return
	}
	b.mu.Lock()
	b.done = true
	b.mu.Unlock()
}

// failure is the error that ended the body early, or nil.
func (b *clientBody) failure() error {
	if b == nil {
		return nil
	}
	if err := b.err.Load(); err != nil {
		return *err
	}
	return nil
}

// failureStatus is the answer to a request whose body failed.
func (b *clientBody) failureStatus() int {
	if errors.Is(b.failure(), os.ErrDeadlineExceeded) {
		return http.StatusRequestTimeout
	}
	return http.StatusBadRequest
}

// hasBody reports whether r carries a request body at all.
func hasBody(r *http.Request) bool {
	return r.Body != nil && r.Body != http.NoBody && r.ContentLength != 0
}
