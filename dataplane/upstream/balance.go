package upstream

import (
	"math/rand/v2"
	"net"
	"slices"
	"strconv"
	"sync/atomic"

	"github.com/certgate/certgate/dataplane/snapshot"
)

// Endpoints picks a backend's endpoints in turn. Addresses are joined into
// "host:port" once, when the snapshot is compiled (IPv6 bracketed), so a
// pick is an atomic increment and an index: no lock, no allocation.
type Endpoints struct {
	addrs []string
	next  atomic.Uint64
}

// NewEndpoints compiles a backend's endpoints, in order.
func NewEndpoints(eps []snapshot.Endpoint) *Endpoints {
	addrs := make([]string, len(eps))
	for i, ep := range eps {
		addrs[i] = net.JoinHostPort(ep.Address, strconv.Itoa(int(ep.Port)))
	}
	return &Endpoints{addrs: addrs}
}

// Pick returns the next endpoint's "host:port", or false when the backend
// has none. Concurrent callers share one counter, so each endpoint gets an
// equal share of picks however requests interleave. The first pick is the
// first endpoint.
func (e *Endpoints) Pick() (string, bool) {
	if len(e.addrs) == 0 {
		return "", false
	}
	n := e.next.Add(1) - 1
	return e.addrs[n%uint64(len(e.addrs))], true
}

// Len returns the number of endpoints.
func (e *Endpoints) Len() int { return len(e.addrs) }

// Weighted chooses among a rule's backends in proportion to their weights.
// Cumulative weights are computed once; a pick is one random number and a
// binary search, without allocation. Randomness (math/rand/v2's
// per-goroutine-safe global source) rather than a shared counter spreads
// concurrent requests without contention, and over many requests the split
// converges on the weights.
type Weighted struct {
	// cum[i] is the sum of the weights of the first i+1 backends with a
	// positive weight; index[i] is that backend's position in the rule.
	cum   []uint64
	index []int
}

// NewWeighted compiles a rule's backends. Pick returns positions in this
// slice. Backends with weight 0 (or below) are never chosen.
func NewWeighted(backends []snapshot.WeightedBackend) *Weighted {
	w := &Weighted{}
	var total uint64
	for i, b := range backends {
		if b.Weight <= 0 {
			continue
		}
		total += uint64(b.Weight)
		w.cum = append(w.cum, total)
		w.index = append(w.index, i)
	}
	return w
}

// Pick returns the position of the chosen backend, or -1 when every weight
// is zero (the rule then answers 500, as Gateway API requires).
func (w *Weighted) Pick() int {
	switch len(w.cum) {
	case 0:
		return -1
	case 1:
		return w.index[0] // the common case: no random number needed
	}
	r := rand.Uint64N(w.cum[len(w.cum)-1])
	// The chosen backend is the first whose cumulative weight exceeds r.
	i, _ := slices.BinarySearch(w.cum, r+1)
	return w.index[i]
}
