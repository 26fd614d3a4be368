package clientcert

import (
	"crypto/tls"
	"crypto/x509"
	"sync"
	"sync/atomic"
	"time"

	"github.com/certgate/certgate/dataplane/pin"
)

// Peer is what the client presented on one connection: the leaf, the rest
// of the chain, and the leaf's fingerprints, computed once. A Peer is safe
// for concurrent use by the requests of an HTTP/2 connection.
type Peer struct {
	tls           bool
	leaf          *x509.Certificate
	intermediates []*x509.Certificate
	fingerprints  pin.Fingerprints
	// uris are the leaf's URI SANs as text, so a SAN check per request
	// does not format URLs.
	uris []string

	verifications verifications
	headers       forwardHeaders
}

// NewPeer describes what a connection presented. A nil state (plain HTTP)
// gives a Peer without TLS, for which every requirement fails with
// ReasonNoTLS; a state without certificates gives a Peer without a
// certificate (ReasonMissing). The state's certificates are not verified
// here; each Requirement does that against its own CAs.
func NewPeer(state *tls.ConnectionState) *Peer {
	if state == nil {
		return &Peer{}
	}
	p := &Peer{tls: true}
	if len(state.PeerCertificates) == 0 {
		return p
	}
	p.leaf = state.PeerCertificates[0]
	p.intermediates = state.PeerCertificates[1:]
	p.fingerprints = pin.Of(p.leaf)
	for _, u := range p.leaf.URIs {
		p.uris = append(p.uris, u.String())
	}
	return p
}

// TLS reports whether the connection is TLS.
func (p *Peer) TLS() bool { return p != nil && p.tls }

// Leaf returns the presented leaf certificate, or nil.
func (p *Peer) Leaf() *x509.Certificate {
	if p == nil {
		return nil
	}
	return p.leaf
}

// Fingerprints returns the leaf's fingerprints, computed once in NewPeer,
// and false without a certificate. The access log's certificate hash should
// come from here rather than be hashed again. It returns a copy, so no
// caller can change what the next pin check sees.
func (p *Peer) Fingerprints() (pin.Fingerprints, bool) {
	if p.Leaf() == nil {
		return pin.Fingerprints{}, false
	}
	return p.fingerprints, true
}

// validAt reports whether t is inside the leaf's validity period.
func (p *Peer) validAt(t time.Time) bool {
	return !t.Before(p.leaf.NotBefore) && !t.After(p.leaf.NotAfter)
}

// Conn caches the Peer of one connection. Keep one per connection (for
// example from http.Server.ConnContext); the zero value is ready to use.
type Conn struct {
	peer atomic.Pointer[Peer]
	mu   sync.Mutex
}

// Peer returns the connection's Peer, built from state on the first call;
// later calls return the same *Peer and ignore their state, which is the
// same connection's. Requests of one HTTP/2 connection call it
// concurrently; exactly one of them computes the fingerprints.
func (c *Conn) Peer(state *tls.ConnectionState) *Peer {
	// The atomic load is the per-request path: no lock, no allocation.
	if p := c.peer.Load(); p != nil {
		return p
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if p := c.peer.Load(); p != nil {
		return p
	}
	p := NewPeer(state)
	c.peer.Store(p)
	return p
}
