package clientcert

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"sync"
	"sync/atomic"
	"time"

	"github.com/certgate/certgate/dataplane/pin"
)

// Peer is what a client presented: the leaf, the rest of the chain, and
// the leaf's fingerprints, computed once. The connections that present the
// same chain share one Peer (sharedPeers). A Peer is safe for concurrent
// use by the requests of all of them.
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

// Peer returns the connection's Peer, found or made for state's chain on
// the first call; later calls return the same *Peer and ignore their
// state, which is the same connection's. Requests of one HTTP/2 connection call it
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
	p := sharedPeers.peer(state)
	c.peer.Store(p)
	return p
}

// maxSharedPeers bounds the Peers kept for connections to come.
const maxSharedPeers = 1024

// sharedPeers lets the connections that present the same chain share one
// Peer: a client that reconnects, or resumes its TLS session, finds its
// fingerprints computed and its chain verified for each requirement, where
// verification (a signature check per certificate) is the costliest part
// of judging a new connection. A Peer depends on nothing but the chain:
// its verdicts are kept per requirement and hold only within the chain's
// validity period, so a configuration change (new requirements) or the
// passing of time is judged again, as on one long-lived connection.
var sharedPeers peerCache

type peerCache struct {
	mu    sync.Mutex
	peers map[[sha256.Size]byte]*Peer
}

// peer returns the shared Peer of the chain state presents, making it on
// first sight. Without a certificate there is nothing to share.
func (c *peerCache) peer(state *tls.ConnectionState) *Peer {
	if state == nil || len(state.PeerCertificates) == 0 {
		return NewPeer(state)
	}
	key := chainKey(state.PeerCertificates)
	c.mu.Lock()
	p, ok := c.peers[key]
	c.mu.Unlock()
	if ok {
		return p
	}
	p = NewPeer(state)
	c.mu.Lock()
	defer c.mu.Unlock()
	if prior, ok := c.peers[key]; ok {
		return prior
	}
	if c.peers == nil || len(c.peers) >= maxSharedPeers {
		// Starting over costs each client one verification.
		c.peers = make(map[[sha256.Size]byte]*Peer)
	}
	c.peers[key] = p
	return p
}

// chainKey identifies a presented chain: the SHA-256 of every
// certificate's DER, each after its length, so that no two chains share a
// key by where one certificate ends and the next begins.
func chainKey(certs []*x509.Certificate) [sha256.Size]byte {
	h := sha256.New()
	var n [4]byte
	for _, c := range certs {
		binary.BigEndian.PutUint32(n[:], uint32(len(c.Raw)))
		h.Write(n[:])
		h.Write(c.Raw)
	}
	var key [sha256.Size]byte
	h.Sum(key[:0])
	return key
}
