package dataplane

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httputil"
	"time"

	"github.com/certgate/certgate/dataplane/filter"
	"github.com/certgate/certgate/dataplane/snapshot"
	"github.com/certgate/certgate/dataplane/upstream"
)

const (
	// maxMirrorBody is the largest request body copied to mirrors. A larger
	// body, or one of unknown length, would have to be held in memory
	// whole before the real request could go on; such requests are not
	// mirrored.
	maxMirrorBody = 64 << 10
	// mirrorTimeout bounds a mirrored request; nobody waits for its answer.
	mirrorTimeout = 30 * time.Second
)

// mirrorTarget is one RequestMirror filter with its proxy.
type mirrorTarget struct {
	mirror filter.Mirror
	proxy  *httputil.ReverseProxy
}

func (d *Dataplane) compileMirror(m filter.Mirror) (*mirrorTarget, error) {
	b := m.Backend
	u, err := d.upstream.Upstream(&b)
	if err != nil {
		return nil, err
	}
	rt := &upstream.RetryTransport{Upstream: u, Policy: upstream.NewRetryPolicy(nil, snapshot.Timeouts{})}
	return &mirrorTarget{mirror: m, proxy: d.reverseProxy(rt, &b)}, nil
}

// mirror sends copies of r to the rule's mirrors that sample it, without
// waiting for them. The copies carry the same path and filters as the
// request itself.
func (d *Dataplane) mirror(st *requestState, r *http.Request) {
	var body []byte
	for _, m := range st.rule.mirrors {
		if !m.mirror.Sample() {
			continue
		}
		if body == nil {
			var ok bool
			if body, ok = bufferBody(r); !ok {
				return
			}
		}
		copied := *st
		ctx, cancel := context.WithTimeout(context.WithValue(context.WithoutCancel(r.Context()), stateKey{}, &copied), mirrorTimeout)
		out := r.Clone(ctx)
		out.Body = io.NopCloser(bytes.NewReader(body))
		go func() {
			defer cancel()
			m.proxy.ServeHTTP(discardWriter{header: http.Header{}}, out)
		}()
	}
}

// bufferBody reads a small request body into memory and gives r a replay
// of it, so that both r and its mirrors can send it.
func bufferBody(r *http.Request) ([]byte, bool) {
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
		return []byte{}, true
	}
	if r.ContentLength < 0 || r.ContentLength > maxMirrorBody {
		return nil, false
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxMirrorBody))
	if err != nil {
		return nil, false
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	return body, true
}

// discardWriter swallows a mirror's response.
type discardWriter struct{ header http.Header }

func (w discardWriter) Header() http.Header         { return w.header }
func (w discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w discardWriter) WriteHeader(int)             {}
