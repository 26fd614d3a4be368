package upstream

import (
	"crypto/sha256"
	"encoding/binary"
	"hash"
	"net/http"
	"sync"

	"github.com/certgate/certgate/dataplane/snapshot"
)

// Pool owns the upstream transports of one data plane for its whole life.
//
// It works by mark and sweep: every Transport (or Upstream) call marks the
// transport it returns as used by the snapshot being compiled; Sweep, called
// once that snapshot is live, retires every transport not marked since the
// previous Sweep. Compile and Sweep must therefore not interleave between
// two snapshots; Dataplane.Apply serialises them. A compile that fails is
// never followed by a Sweep, so the transports it created live until the
// next successful Apply's Sweep drops them; that costs memory for one
// cycle, never correctness.
//
// A Pool is safe for concurrent use.
type Pool struct {
	mu sync.Mutex
	// gen is the generation being compiled: the number of Sweeps so far.
	gen     uint64
	entries map[poolKey]*pooled
}

// poolKey is what decides whether two backends may share connections. The
// endpoints are not part of it: an http.Transport pools connections per
// address already, and a scaled Service must keep its warm connections.
type poolKey struct {
	backend  string
	protocol snapshot.AppProtocol
	// tls is a digest of the whole BackendTLS, key material included, so a
	// rotated certificate or CA is a different identity. Zero for plaintext.
	tls [sha256.Size]byte
}

type pooled struct {
	transport pooledTransport
	// gen is the newest generation that asked for this transport.
	gen uint64
}

// NewPool returns an empty Pool.
func NewPool() *Pool {
	return &Pool{entries: map[poolKey]*pooled{}}
}

// Transport returns the transport for b, creating it on first use, and
// marks it as used by the snapshot being compiled. The same backend with
// the same protocol and TLS identity gets the same transport, so a snapshot
// that changes something else keeps its warm connections.
//
// An error means b's TLS material is unusable (bad PEM, a key that does not
// match its certificate); it names the backend and the field, and the
// snapshot should be rejected.
func (p *Pool) Transport(b *snapshot.Backend) (http.RoundTripper, error) {
	t, err := p.transport(b)
	if err != nil {
		return nil, err
	}
	return t, nil
}

// pooledTransport is an *http.Transport, or a *directTransport in front
// of one.
type pooledTransport interface {
	http.RoundTripper
	CloseIdleConnections()
}

func (p *Pool) transport(b *snapshot.Backend) (pooledTransport, error) {
	key := poolKey{backend: b.Name, protocol: b.AppProtocol, tls: tlsIdentity(b.TLS)}
	p.mu.Lock()
	defer p.mu.Unlock()
	if e, ok := p.entries[key]; ok {
		e.gen = p.gen
		return e.transport, nil
	}
	t, err := newTransport(b)
	if err != nil {
		return nil, err
	}
	p.entries[key] = &pooled{transport: t, gen: p.gen}
	return t, nil
}

// Sweep retires every transport the snapshot compiled since the previous
// Sweep did not ask for, and returns how many it retired. Call it after
// that snapshot has been swapped in.
//
// A retired transport closes its idle connections now. Requests in flight
// on it are not interrupted: they finish, and their connections are closed
// by the transport's idle timeout, since nothing picks them again.
func (p *Pool) Sweep() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	retired := 0
	for key, e := range p.entries {
		if e.gen != p.gen {
			if d, ok := e.transport.(*directTransport); ok {
				d.retire()
			} else {
				e.transport.CloseIdleConnections()
			}
			delete(p.entries, key)
			retired++
		}
	}
	p.gen++
	return retired
}

// Close closes the idle connections of every transport, for shutdown.
// The Pool stays usable.
func (p *Pool) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, e := range p.entries {
		e.transport.CloseIdleConnections()
	}
}

// Len returns the number of transports the pool holds.
func (p *Pool) Len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.entries)
}

// tlsIdentity digests everything in t that changes how a connection is
// made or judged. Each field is length-prefixed so that no two different
// configurations can produce the same byte stream.
func tlsIdentity(t *snapshot.BackendTLS) [sha256.Size]byte {
	var sum [sha256.Size]byte
	if t == nil {
		return sum
	}
	h := sha256.New()
	field(h, t.ServerName)
	field(h, boolString(t.UseSystemRoots))
	for _, ca := range t.CACertificates {
		field(h, "ca")
		field(h, string(ca.PEM))
	}
	for _, san := range t.SubjectAltNames {
		field(h, string(san.Type))
		field(h, san.Value)
	}
	if c := t.ClientCertificate; c != nil {
		field(h, "client")
		field(h, string(c.CertPEM))
		field(h, string(c.Key.Bytes()))
	}
	h.Sum(sum[:0])
	return sum
}

func field(h hash.Hash, s string) {
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(s)))
	h.Write(n[:])
	h.Write([]byte(s))
}

func boolString(b bool) string {
	if b {
		return "true"
	}
	return "false"
}
