package upstream

import (
	"net/http"

	"github.com/certgate/certgate/dataplane/snapshot"
)

// Upstream is a backend compiled for requests: where to connect and how.
// It is immutable once built and shared by every request of the snapshot.
type Upstream struct {
	// Name is the backend's "namespace/service:port", for errors and logs.
	Name string
	// Scheme is "https" for a backend with TLS and "http" otherwise. Do
	// sets it on every attempt, so a TLS backend can never be reached in
	// plaintext by a Director that forgot it.
	Scheme string
	// Transport carries the requests. For a pooled backend it is shared
	// with every snapshot that has the same TLS identity.
	Transport http.RoundTripper
	// Endpoints picks the address of each attempt.
	Endpoints *Endpoints
}

// Upstream compiles b: its pooled transport (marked as used, see
// Transport), its endpoints and its scheme. Errors are Transport's. A
// backend whose Invalid is set should not be compiled; it answers 500.
func (p *Pool) Upstream(b *snapshot.Backend) (*Upstream, error) {
	t, err := p.Transport(b)
	if err != nil {
		return nil, err
	}
	scheme := "http"
	if b.TLS != nil {
		scheme = "https"
	}
	return &Upstream{Name: b.Name, Scheme: scheme, Transport: t, Endpoints: NewEndpoints(b.Endpoints)}, nil
}
