package dataplane

import (
	"context"
	"io"
	"mime"
	"net"
	"net/http"
	"net/textproto"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/http/httpguts"

	"github.com/certgate/certgate/dataplane/clientcert"
	"github.com/certgate/certgate/dataplane/metrics"
	"github.com/certgate/certgate/dataplane/router"
	"github.com/certgate/certgate/dataplane/snapshot"
	"github.com/certgate/certgate/dataplane/upstream"
)

// The direct path carries the most common request, a GET, HEAD or
// OPTIONS without a body to an HTTP/1.1 backend, plaintext or TLS, without
// httputil.ReverseProxy: the proxy's profile showed its per-request copy
// of the request and of every header, and the transport's own
// serialisation of that copy, costing more than the rest of the proxying.
// Here the client's header is turned into the upstream one in place (it
// is not read again once the request is forwarded) and written straight
// onto a pooled backend connection; the response is read by net/http's
// parser and its header moved, not copied, to the client's response.
//
// What reaches the backend is byte for byte what the reverse proxy sends
// for the same request (TestDirectPathSendsWhatTheReverseProxySends), and
// the response the client gets is the same too: the same hop-by-hop
// fields are dropped, X-Forwarded-* set, filters and client certificate
// headers applied in the same order. Everything else takes the reverse
// proxy: bodies, upgrades, retries, mirrors, a filter that adds a
// Connection or Upgrade field, h2c backends.

// directTarget is a backend of a rule whose simple requests take the
// direct path.
type directTarget struct {
	upstream *upstream.Upstream
	attempt  time.Duration
	record   *metrics.BackendRecorder
	backend  *snapshot.Backend
}

// newDirectTarget returns the direct path to u for a rule with policy,
// or nil when the rule's requests need the reverse proxy: a backend
// other than HTTP/1.1 (h2c), or a rule that retries.
func newDirectTarget(u *upstream.Upstream, policy *upstream.RetryPolicy, record *metrics.BackendRecorder, b *snapshot.Backend) *directTarget {
	if !u.Direct() || !policy.SendsOnce() {
		return nil
	}
	// A copy: the reverse proxy's Upstream gets a measured Transport.
	direct := *u
	return &directTarget{upstream: &direct, attempt: policy.AttemptTimeout(), record: record, backend: b}
}

// takesDirect reports whether the rule lets its simple requests take the
// direct path: no mirror (it needs a copy of the request), and no filter
// that adds a field the direct path leaves to the reverse proxy.
func takesDirect(rule *ruleConfig) bool {
	return len(rule.mirrors) == 0 && !rule.filters.SetsRequestHeader("Connection") && !rule.filters.SetsRequestHeader("Upgrade")
}

// directFor returns the direct path to t for r on rule, or nil when r
// takes the reverse proxy.
func (t *backendTarget) directFor(rule *ruleConfig, r *http.Request) *directTarget {
	if t.direct == nil || !rule.direct || !simpleRequest(r) {
		return nil
	}
	return t.direct
}

// simpleRequest reports whether r is one the direct path carries: a GET,
// HEAD or OPTIONS without a body that asks for no protocol upgrade.
func simpleRequest(r *http.Request) bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
	default:
		return false
	}
	_, upgrade := r.Header["Upgrade"]
	return r.ContentLength == 0 && !upgrade
}

// directExchange is one request on the direct path.
type directExchange struct {
	w    http.ResponseWriter
	head upstream.Head
	// url is the upstream request's, for the filters and the target.
	url url.URL
	// Backing arrays of the X-Forwarded-* values, so setting them costs
	// no allocation of its own.
	forwardedFor, forwardedHost, forwardedProto [1]string
}

// forwardDirect proxies r, a simple request of a rule that takes the
// direct path, to t under the rule's timeouts.
func (d *Dataplane) forwardDirect(st *requestState, t *directTarget, w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	for _, timeout := range [...]time.Duration{st.rule.timeouts.Request, t.attempt} {
		if timeout > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, timeout)
			defer cancel()
		}
	}
	x := &st.direct
	x.w = w
	x.prepare(st, r)
	res, err := d.sendDirect(ctx, st, t, &x.head)
	if err != nil {
		d.upstreamFailed(t.backend, nil, w, r.WithContext(ctx), err)
		return
	}
	if err := st.rule.filters.ModifyBackendResponse(res); err != nil {
		_ = res.Body.Close()
		d.upstreamFailed(t.backend, nil, w, r.WithContext(ctx), err)
		return
	}
	d.respondDirect(w, res)
}

// sendDirect makes the one attempt, counted in the backend's metrics as
// the reverse proxy's attempts are, and notes the endpoint that answered.
func (d *Dataplane) sendDirect(ctx context.Context, st *requestState, t *directTarget, head *upstream.Head) (*http.Response, error) {
	addr, err := t.upstream.Pick()
	if err != nil {
		return nil, err
	}
	start := time.Now()
	res, err := t.upstream.SendDirect(ctx, addr, head)
	code := 0
	if err == nil {
		code = res.StatusCode
		st.upstream = addr
		dropHopByHop(res.Header)
	}
	t.record.Attempt(code, err != nil, time.Since(start))
	return res, err
}

// prepare turns r's header into the upstream request's, in the order the
// reverse proxy applies its steps (see rewrite): hop-by-hop fields and
// the client's Forwarded and X-Forwarded-* go, "TE: trailers" stays,
// X-Forwarded-For, -Host and -Proto are set, then the rule's filters run
// and the client certificate headers are set last.
func (x *directExchange) prepare(st *requestState, r *http.Request) {
	h := r.Header
	priorFor, hadFor := h["X-Forwarded-For"]
	trailers := httpguts.HeaderValuesContainsToken(h["Te"], "trailers")
	dropHopByHop(h)
	if trailers {
		h.Set("Te", "trailers")
	}
	for _, name := range [...]string{"Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto"} {
		delete(h, name)
	}
	if hadFor {
		h["X-Forwarded-For"] = priorFor
	}
	x.setForwarded(h, r)
	x.url.RawQuery = r.URL.RawQuery
	router.SetEscapedPath(&x.url, st.info.Path)
	x.head = upstream.Head{Request: r, Host: r.Host, Header: h, Informational: x}
	if st.rule.filters.ModifiesRequest() {
		out := &http.Request{Header: h, Host: r.Host, URL: &x.url}
		st.rule.filters.ModifyRequest(out, st.info)
		x.head.Host = out.Host
	}
	// What url.RequestURI would give, without joining the two.
	x.head.Target, x.head.Query = x.url.EscapedPath(), x.url.RawQuery
	if x.head.Target == "" {
		x.head.Target = "/"
	}
	if st.identity == nil {
		clientcert.StripClientHeaders(h)
	} else {
		clientcert.Forward(h, st.rule.requirement.Forward(), st.identity)
	}
}

// setForwarded sets X-Forwarded-For (the client's chain, then the address
// this gateway saw), X-Forwarded-Host and X-Forwarded-Proto (the request
// as received), as httputil.ProxyRequest.SetXForwarded does.
func (x *directExchange) setForwarded(h http.Header, r *http.Request) {
	if client, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		if prior := h["X-Forwarded-For"]; len(prior) > 0 {
			client = strings.Join(prior, ", ") + ", " + client
		}
		x.forwardedFor[0] = client
		h["X-Forwarded-For"] = x.forwardedFor[:]
	} else {
		delete(h, "X-Forwarded-For")
	}
	x.forwardedHost[0] = r.Host
	h["X-Forwarded-Host"] = x.forwardedHost[:]
	x.forwardedProto[0] = "http"
	if r.TLS != nil {
		x.forwardedProto[0] = "https"
	}
	h["X-Forwarded-Proto"] = x.forwardedProto[:]
}

// Informational passes a 1xx response on to the client, as the reverse
// proxy does: its fields are sent with it and then cleared from the
// response header, which 1xx responses do not do on their own.
func (x *directExchange) Informational(code int, h http.Header) error {
	dst := x.w.Header()
	for name, values := range h {
		dst[name] = append(dst[name], values...)
	}
	x.w.WriteHeader(code)
	clear(dst)
	return nil
}

// hopByHop are the fields that describe one connection, not the message
// (RFC 9110 section 7.6.1), with the older ones RFC 2616 listed; the
// reverse proxy drops the same.
var hopByHop = [...]string{
	"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization",
	"Te", "Trailer", "Transfer-Encoding", "Upgrade",
}

// dropHopByHop removes the fields Connection names and the hop-by-hop
// fields from h.
func dropHopByHop(h http.Header) {
	for _, f := range h["Connection"] {
		for name := range strings.SplitSeq(f, ",") {
			if name = textproto.TrimString(name); name != "" {
				h.Del(name)
			}
		}
	}
	if len(h) > len(hopByHop) {
		for _, name := range hopByHop {
			delete(h, name)
		}
		return
	}
	// A header with fewer fields than the list is cheaper to walk than
	// the list is to delete: no hashing of names that are not there.
	for name := range h {
		if isHopByHop(name) {
			delete(h, name)
		}
	}
}

// isHopByHop reports whether the canonical name is one of hopByHop.
func isHopByHop(name string) bool {
	return slices.Contains(hopByHop[:], name)
}

// respondDirect writes the backend's response to the client as the
// reverse proxy does: the header, trailers announced, the body streamed
// (flushed as it comes for a body of unknown length or an event stream),
// then the trailers. A body that fails midway aborts the client's
// response, as a half-sent answer cannot be told from a whole one.
func (d *Dataplane) respondDirect(w http.ResponseWriter, res *http.Response) {
	// On a panic too: a response abandoned halfway closes its connection.
	defer func() { _ = res.Body.Close() }()
	moveHeader(w.Header(), res.Header)
	announced := len(res.Trailer)
	if announced > 0 {
		names := make([]string, 0, announced)
		for name := range res.Trailer {
			names = append(names, name)
		}
		w.Header().Add("Trailer", strings.Join(names, ", "))
	}
	w.WriteHeader(res.StatusCode)
	if err := copyBody(w, res.Body, streams(res)); err != nil {
		d.log.Debug("proxying the response body failed", "error", err)
		panic(http.ErrAbortHandler)
	}
	_ = res.Body.Close() // now: it fills res.Trailer
	if len(res.Trailer) > 0 {
		// Chunked from here on, so a short body gets no Content-Length
		// that would leave no room for trailers.
		_ = http.NewResponseController(w).Flush()
	}
	if len(res.Trailer) == announced {
		addHeader(w.Header(), "", res.Trailer)
		return
	}
	addHeader(w.Header(), http.TrailerPrefix, res.Trailer)
}

// moveHeader adds the fields of src to dst, handing over src's value
// slices where dst has none of its own: src is not used again.
func moveHeader(dst, src http.Header) {
	for name, values := range src {
		if len(values) == 0 {
			continue
		}
		if prior, ok := dst[name]; ok {
			dst[name] = append(prior, values...)
		} else {
			dst[name] = values
		}
	}
}

// addHeader adds every value of src to dst, each name with prefix.
func addHeader(dst http.Header, prefix string, src http.Header) {
	for name, values := range src {
		for _, v := range values {
			dst.Add(prefix+name, v)
		}
	}
}

// streams reports whether a response body is passed on as it arrives
// rather than when the response writer's buffer fills: a Server-Sent
// Events stream, or a body of unknown length.
func streams(res *http.Response) bool {
	if res.ContentLength == -1 {
		return true
	}
	ct := firstValue(res.Header, "Content-Type")
	if !containsFold(ct, "text/event-stream") {
		return false // spares ParseMediaType's allocations on every response
	}
	media, _, _ := mime.ParseMediaType(ct)
	return media == "text/event-stream"
}

// containsFold reports whether s contains sub, ASCII case folded.
func containsFold(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(sub)], sub) {
			return true
		}
	}
	return false
}

// copyBody copies body to w through a pooled buffer. A streamed body is
// flushed after every write, and the header at once, from a timer, as
// the reverse proxy does: a first part of the body that comes at once
// goes out with the header.
func copyBody(w http.ResponseWriter, body io.Reader, stream bool) error {
	out := io.Writer(w)
	if f, ok := w.(http.Flusher); ok && stream {
		s := &streamWriter{w: w, f: f, pending: true}
		s.t = time.AfterFunc(0, s.delayedFlush)
		defer s.stop()
		out = s
	}
	buf := proxyBuffers.Get()
	defer proxyBuffers.Put(buf)
	for {
		n, rerr := body.Read(buf)
		if n > 0 {
			if _, err := out.Write(buf[:n]); err != nil {
				return err
			}
		}
		if rerr == io.EOF {
			return nil
		}
		if rerr != nil {
			return rerr
		}
	}
}

// streamWriter flushes every write, and the header from a timer unless a
// write came first.
type streamWriter struct {
	w io.Writer
	f http.Flusher
	// mu keeps the timer's flush apart from writes.
	mu      sync.Mutex
	pending bool
	t       *time.Timer
}

func (s *streamWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, err := s.w.Write(p)
	s.f.Flush()
	return n, err
}

func (s *streamWriter) delayedFlush() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pending {
		s.f.Flush()
		s.pending = false
	}
}

func (s *streamWriter) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pending = false
	s.t.Stop()
}
