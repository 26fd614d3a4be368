package upstream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"time"

	"github.com/certgate/certgate/dataplane/snapshot"
)

// ErrNoEndpoints is returned for a backend without endpoints; the proxy
// answers 503.
var ErrNoEndpoints = errors.New("backend has no endpoints")

// maxDrain bounds how much of a discarded response is read so that its
// connection can be reused; a larger body is cheaper to abandon with its
// connection than to download.
const maxDrain = 64 << 10

// RetryPolicy is a rule's retry policy and per-attempt timeout, compiled.
// The zero value sends each request once, with no per-attempt timeout.
type RetryPolicy struct {
	retries        int
	backoff        time.Duration
	codes          []int
	attemptTimeout time.Duration
}

// NewRetryPolicy compiles a rule's Retry (nil: no retries) and the
// BackendRequest timeout, which bounds each attempt. The rule's Request
// timeout bounds the whole exchange, retries and the response body
// included; the proxy applies it to the request context, and Do never
// retries once that context is done.
func NewRetryPolicy(r *snapshot.Retry, t snapshot.Timeouts) *RetryPolicy {
	p := &RetryPolicy{attemptTimeout: t.BackendRequest}
	if r != nil {
		p.retries = max(r.Attempts, 0)
		p.backoff = r.Backoff
		p.codes = slices.Clone(r.Codes)
	}
	return p
}

// SendsOnce reports whether p never retries.
func (p *RetryPolicy) SendsOnce() bool { return p.retries == 0 }

// AttemptTimeout is the BackendRequest timeout, 0 for none.
func (p *RetryPolicy) AttemptTimeout() time.Duration { return p.attemptTimeout }

// RetryTransport is an http.RoundTripper that sends each request to one
// Upstream under one RetryPolicy. It is meant as the Transport of the
// httputil.ReverseProxy compiled for one backend of one rule.
type RetryTransport struct {
	// Upstream is the backend; each attempt picks one of its endpoints.
	Upstream *Upstream
	// Policy is the rule's; nil is not allowed (use &RetryPolicy{}).
	Policy *RetryPolicy
}

// RoundTrip implements http.RoundTripper with Do.
func (t *RetryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	return Do(req, t.Upstream, t.Policy)
}

// Do sends req to u, retrying as p says. Each attempt picks its own
// endpoint from u.Endpoints and uses u.Scheme; req's URL host and scheme
// are ignored and req is not modified.
//
// What is retried, up to p's number of retries, waiting its backoff in
// between:
//   - every failure that produced no response: refused or timed-out dial,
//     TLS failure, connection reset or closed before the response headers,
//     an attempt that hit its BackendRequest timeout. A reset may come
//     after the backend saw the request, so a non-idempotent request can
//     reach a backend twice; that is what the rule's retry policy asks for
//     (Gateway API: connection errors are retried), as in Envoy.
//   - a response whose status is one of the policy's codes. It is drained
//     (up to 64 KiB) and closed. The last attempt's response is returned
//     as it is, whatever its status.
//
// Nothing is retried when the body cannot be sent again (a body without
// GetBody), or once req's context is done. The error returned is the last
// attempt's, or the context's if it ended during a backoff.
func Do(req *http.Request, u *Upstream, p *RetryPolicy) (*http.Response, error) {
	if u.Endpoints.Len() == 0 {
		closeBody(req)
		return nil, fmt.Errorf("upstream %s: %w", u.Name, ErrNoEndpoints)
	}
	ctx := req.Context()
	replayable := req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
	for attempt := 0; ; attempt++ {
		res, err := send(req, u, p, attempt)
		if !p.retry(ctx, attempt, replayable, res, err) {
			return res, err
		}
		if res != nil {
			discard(res)
		}
		if err := sleep(ctx, p.backoff); err != nil {
			return nil, err
		}
	}
}

// retry decides whether the outcome of attempt calls for another one.
func (p *RetryPolicy) retry(ctx context.Context, attempt int, replayable bool, res *http.Response, err error) bool {
	if attempt >= p.retries || !replayable || ctx.Err() != nil {
		return false
	}
	return err != nil || slices.Contains(p.codes, res.StatusCode)
}

// send makes one attempt on a fresh endpoint, under the per-attempt
// timeout.
func send(req *http.Request, u *Upstream, p *RetryPolicy, attempt int) (*http.Response, error) {
	addr, _ := u.Endpoints.Pick()
	ctx, cancel := attemptContext(req.Context(), p.attemptTimeout)
	out := req.WithContext(ctx) // shallow: headers are shared, never written
	url := *req.URL
	url.Scheme, url.Host = u.Scheme, addr
	out.URL = &url
	if attempt > 0 && req.Body != nil && req.Body != http.NoBody {
		body, err := req.GetBody()
		if err != nil {
			cancel()
			return nil, fmt.Errorf("upstream %s: replaying the request body: %w", u.Name, err)
		}
		out.Body = body
	}
	res, err := u.Transport.RoundTrip(out)
	if err != nil {
		cancel()
		return nil, err
	}
	if p.attemptTimeout <= 0 {
		return res, nil // no attempt context to release
	}
	return withCancel(res, cancel), nil
}

// attemptContext bounds one attempt. Without a timeout the request's own
// context is used as is, which costs nothing.
func attemptContext(parent context.Context, timeout time.Duration) (context.Context, context.CancelFunc) {
	if timeout <= 0 {
		return parent, func() {}
	}
	return context.WithTimeout(parent, timeout)
}

// withCancel ties the attempt's context to the response body: the timeout
// keeps bounding the body until the proxy closes it. A 101 Switching
// Protocols response is the exception: its body is the upgraded
// connection, which the transport no longer watches the context for and
// which httputil.ReverseProxy needs as an io.ReadWriteCloser, so the
// context is released now and the WebSocket lives as long as the client's
// request does.
func withCancel(res *http.Response, cancel context.CancelFunc) *http.Response {
	if res.StatusCode == http.StatusSwitchingProtocols {
		cancel()
		return res
	}
	res.Body = &cancelOnClose{ReadCloser: res.Body, cancel: cancel}
	return res
}

// cancelOnClose releases an attempt's context when its body is closed.
type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelOnClose) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

// discard drains and closes a response that will not be returned, so its
// connection goes back to the pool.
func discard(res *http.Response) {
	_, _ = io.CopyN(io.Discard, res.Body, maxDrain)
	_ = res.Body.Close()
}

// sleep waits d, or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// closeBody closes a request body that will never be sent, as a
// RoundTripper must.
func closeBody(req *http.Request) {
	if req.Body != nil {
		_ = req.Body.Close()
	}
}
