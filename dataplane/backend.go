package dataplane

import (
	"context"
	"errors"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"time"

	"github.com/certgate/certgate/dataplane/clientcert"
	"github.com/certgate/certgate/dataplane/metrics"
	"github.com/certgate/certgate/dataplane/router"
	"github.com/certgate/certgate/dataplane/snapshot"
	"github.com/certgate/certgate/dataplane/upstream"
)

// backendSet is a rule's backends, compiled; shared by every rule with
// the same backends, retry and timeouts (see share.go).
type backendSet struct {
	// id is the identity of the setSource it was compiled from.
	id identity
	// backends are the rule's backends, for Explain to name them. Every
	// rule that shares the set has equal ones; a compiled rule keeps no
	// link to its snapshot rule, so a route reused from the serving
	// snapshot (reuse.go) does not keep that snapshot's rules alive.
	backends []snapshot.WeightedBackend
	weighted *upstream.Weighted
	// targets parallel the rule's backends; nil for an invalid one.
	targets []*backendTarget
}

// pick chooses the backend of one request, or nil when the rule has no
// valid backend to send it to (the request then gets 500).
func (s *backendSet) pick() *backendTarget {
	i := s.weighted.Pick()
	if i < 0 {
		return nil
	}
	return s.targets[i]
}

// backendTarget is one backend with the reverse proxy that sends requests
// to it, shared by every rule that sends to it with the same retry and
// timeouts (see share.go).
type backendTarget struct {
	// id is the identity of source.
	id     identity
	source *targetSource
	proxy  *httputil.ReverseProxy
	// direct is set when the proxy's simple requests can take the direct
	// path instead (see forwardDirect).
	direct *directTarget
}

func (d *Dataplane) compileBackends(id identity, src *setSource) (*backendSet, error) {
	set := &backendSet{id: id, backends: src.Backends, weighted: upstream.NewWeighted(src.Backends)}
	for i := range src.Backends {
		b := &src.Backends[i].Backend
		if b.Invalid != "" {
			set.targets = append(set.targets, nil)
			continue
		}
		t, err := d.targetOf(&targetSource{Backend: *b, Retry: src.Retry, Timeouts: src.Timeouts})
		if err != nil {
			return nil, err
		}
		set.targets = append(set.targets, t)
	}
	return set, nil
}

// measuredTransport records every attempt the retry transport makes with
// it, retries included, each with its own status and time to headers.
type measuredTransport struct {
	rt     http.RoundTripper
	record *metrics.BackendRecorder
}

func (t *measuredTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	start := time.Now()
	res, err := t.rt.RoundTrip(req)
	code := 0
	if err == nil {
		code = res.StatusCode
	}
	t.record.Attempt(code, err != nil, time.Since(start))
	return res, err
}

// proxyBuffers lends the copy buffers of response bodies, so proxying a
// body does not allocate 32 KiB per request.
// The pool holds array pointers: putting a slice would allocate its
// header on every Put.
var proxyBuffers = bufferPool{pool: sync.Pool{New: func() any { return new([proxyBufferSize]byte) }}}

const proxyBufferSize = 32 << 10

type bufferPool struct{ pool sync.Pool }

func (p *bufferPool) Get() []byte { return p.pool.Get().(*[proxyBufferSize]byte)[:] }

// Put takes back a buffer Get lent; anything else is dropped.
func (p *bufferPool) Put(b []byte) {
	if cap(b) >= proxyBufferSize {
		p.pool.Put((*[proxyBufferSize]byte)(b[:proxyBufferSize]))
	}
}

// reverseProxy builds the proxy for one backend. The upstream transport
// chooses the endpoint and scheme of each attempt; the URL set here only
// carries the path and query.
func (d *Dataplane) reverseProxy(rt http.RoundTripper, b *snapshot.Backend) *httputil.ReverseProxy {
	return &httputil.ReverseProxy{
		Rewrite:        rewrite,
		Transport:      rt,
		ModifyResponse: modifyResponse,
		ErrorHandler:   d.proxyError(b),
		BufferPool:     &proxyBuffers,
		ErrorLog:       d.proxyLog,
	}
}

// rewrite builds the upstream request from the incoming one. httputil
// has already removed hop-by-hop headers (RFC 9110 section 7.6.1), with
// those the client's Connection header named, and any Forwarded and
// X-Forwarded-* headers from out: what rewrite sets, a client cannot
// remove.
func rewrite(pr *httputil.ProxyRequest) {
	st := stateOf(pr.In.Context())
	out := pr.Out
	// The path sent is the normalised path the route matched: a request
	// cannot match one route and reach the backend as another.
	out.URL = &url.URL{Scheme: "http", Host: "upstream", RawQuery: pr.In.URL.RawQuery}
	router.SetEscapedPath(out.URL, st.info.Path)
	out.Host = pr.In.Host
	// X-Forwarded-For: the client's chain, then the address this gateway
	// saw. X-Forwarded-Proto and -Host describe the request as received.
	if prior, ok := pr.In.Header["X-Forwarded-For"]; ok {
		out.Header["X-Forwarded-For"] = prior
	}
	pr.SetXForwarded()
	st.rule.filters.ModifyRequest(out, st.info)
	// The certificate headers are set last, after the filters too: only
	// certgate says what certificate a client presented.
	if st.identity == nil {
		clientcert.StripClientHeaders(out.Header)
		return
	}
	clientcert.Forward(out.Header, st.rule.requirement.Forward(), st.identity)
}

// modifyResponse applies the rule's response filters to a backend's
// response and notes the endpoint that answered.
func modifyResponse(res *http.Response) error {
	st := stateOf(res.Request.Context())
	if res.Request.URL != nil {
		st.upstream = res.Request.URL.Host
	}
	return st.rule.filters.ModifyBackendResponse(res)
}

// proxyError answers a request the backend could not: 504 when the
// request's time ran out, 503 when the backend has no endpoints, 502
// otherwise. A failed TLS handshake is counted with its reason.
func (d *Dataplane) proxyError(b *snapshot.Backend) func(http.ResponseWriter, *http.Request, error) {
	return func(w http.ResponseWriter, r *http.Request, err error) {
		d.upstreamFailed(b, stateOf(r.Context()).body, w, r, err)
	}
}

// upstreamFailed answers a request whose upstream exchange failed with
// err, before any of the response was written; r's context is the one the
// exchange ran under, body the request's (nil without one).
func (d *Dataplane) upstreamFailed(b *snapshot.Backend, body *clientBody, w http.ResponseWriter, r *http.Request, err error) {
	if reason := upstream.TLSErrorReason(err); reason != "" {
		d.opts.Metrics.BackendTLSErrors.WithLabelValues(b.Namespace, b.Service, reason).Inc()
	}
	if body.failure() != nil {
		// The client's body broke, not the backend: the upstream
		// request was aborted and the connection cannot carry
		// another request.
		if r.ProtoMajor == 1 {
			w.Header().Set("Connection", "close")
		}
		answer(w, body.failureStatus())
		return
	}
	switch {
	case errors.Is(err, context.Canceled) && r.Context().Err() != nil:
		// The client went away; nobody reads an answer.
		w.WriteHeader(499)
	case errors.Is(err, context.DeadlineExceeded):
		answer(w, http.StatusGatewayTimeout)
	case errors.Is(err, upstream.ErrNoEndpoints):
		answer(w, http.StatusServiceUnavailable)
	default:
		d.log.Debug("upstream request failed", "backend", b.Name, "error", err)
		answer(w, http.StatusBadGateway)
	}
}
